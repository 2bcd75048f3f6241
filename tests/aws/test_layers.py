"""The layers of template.yaml: which function gets which, and what each layer installs.

The core layer (every function) holds the library and what every function imports; pymssql
(SQL Server layer) and Pillow (imaging layer) go only to the functions that use them, so the
updater and the API start without them and the core layer stays under 50 MB unzipped.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
TASKS = ["items", "categories", "category_items", "inventory", "prices", "image_changes", "images"]
PREPARES_IMAGES = {"items", "image_changes", "images"}  # Items: the images of new items


def _camel(name: str) -> str:
    return "".join(p.title() for p in name.split("_"))


@pytest.fixture(scope="module")
def layers_of() -> dict[str, set[str]]:
    """Function -> the logical ids of its layers, as CloudFormation gets them."""
    spec = importlib.util.spec_from_file_location("translate", ROOT / "tools/translate_template.py")
    assert spec and spec.loader
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    sam = dict(tool.load_template(ROOT / "template.yaml"))
    cfn: dict[str, Any] = dict(tool.translate(sam))
    names = [k for k, r in sam["Resources"].items() if r["Type"] == "AWS::Serverless::LayerVersion"]

    def logical(ref: dict[str, str]) -> str:  # the translator suffixes a hash to each version
        (name,) = [n for n in names if re.fullmatch(rf"{n}[0-9a-f]{{10}}", ref["Ref"])]
        return name

    return {
        k.removesuffix("Function"): {logical(ref) for ref in r["Properties"]["Layers"]}
        for k, r in cfn["Resources"].items()
        if r["Type"] == "AWS::Lambda::Function"
    }


@pytest.mark.parametrize("task", TASKS)
def test_a_task_function_gets_the_sql_server_layer_and_pillow_where_it_prepares_images(
    layers_of: dict[str, set[str]], task: str
) -> None:
    wanted = {"CpsyncLayer", "MssqlLayer"} | (
        {"ImagingLayer"} if task in PREPARES_IMAGES else set()
    )
    assert layers_of[_camel(task)] == wanted


def test_the_updater_and_the_api_get_the_core_layer_only(layers_of: dict[str, set[str]]) -> None:
    assert layers_of["Updater"] == {"CpsyncLayer"}
    assert layers_of["Api"] == {"CpsyncLayer"}
    assert len(layers_of) == len(TASKS) + 2


def _requirements(folder: str) -> set[str]:
    lines = (ROOT / "layers" / folder / "requirements.txt").read_text().splitlines()
    return {
        re.split(r"[<>=!~\[ ;]", line.strip(), maxsplit=1)[0].lower()
        for line in lines
        if line.strip() and not line.startswith("#")
    }


def test_the_core_layer_leaves_out_the_driver_pillow_rich_and_boto3() -> None:
    core = _requirements("cpsync")
    assert {"pymssql", "pillow", "rich", "boto3", "botocore"} & core == set()
    assert _requirements("mssql") == {"pymssql"}
    assert _requirements("imaging") == {"pillow"}
