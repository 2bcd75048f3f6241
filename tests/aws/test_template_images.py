"""template.yaml's direct-mode images: the `ImagesDir` parameter reaches every function as
`CPSYNC_IMAGES_DIR`, and the task functions may read exactly that prefix (checked offline on the
template as SAM translates it, with the intrinsic functions evaluated for sample values)."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Any

import pytest

from cpsync.image_source import parse_s3_url

ROOT = Path(__file__).resolve().parents[2]
IMAGE_FUNCTIONS = ["ImageChangesFunction", "ImagesFunction"]


@pytest.fixture(scope="module")
def cfn() -> dict[str, Any]:
    spec = importlib.util.spec_from_file_location("translate", ROOT / "tools/translate_template.py")
    assert spec and spec.loader
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return dict(tool.translate(tool.load_template(ROOT / "template.yaml")))


def _evaluate(node: Any, params: dict[str, str], conditions: dict[str, bool]) -> Any:
    """The few intrinsics the images statements use, as CloudFormation evaluates them."""
    if isinstance(node, list):
        out = [_evaluate(n, params, conditions) for n in node]
        return [n for n in out if n is not _NO_VALUE]
    if not isinstance(node, dict):
        return node
    if set(node) == {"Ref"}:
        return _NO_VALUE if node["Ref"] == "AWS::NoValue" else params.get(node["Ref"], node)
    if set(node) == {"Fn::If"}:
        name, yes, no = node["Fn::If"]
        return _evaluate(yes if conditions[name] else no, params, conditions)
    if set(node) == {"Fn::Split"}:
        sep, text = node["Fn::Split"]
        return _evaluate(text, params, conditions).split(sep)
    if set(node) == {"Fn::Select"}:
        index, items = node["Fn::Select"]
        return _evaluate(items, params, conditions)[index]
    if set(node) == {"Fn::Sub"} and isinstance(node["Fn::Sub"], list):
        text, values = node["Fn::Sub"]
        names = {**params, **{k: _evaluate(v, params, conditions) for k, v in values.items()}}
        return re.sub(r"\$\{([\w:]+)\}", lambda m: str(names.get(m.group(1), m.group(0))), text)
    return {k: _evaluate(v, params, conditions) for k, v in node.items()}


_NO_VALUE = object()


def _image_statements(cfn: dict[str, Any], images_dir: str) -> list[dict[str, Any]]:
    policy = cfn["Resources"]["TaskAccessPolicy"]["Properties"]["PolicyDocument"]
    params = {"ImagesDir": images_dir, "AWS::Partition": "aws"}
    statements = _evaluate(policy["Statement"], params, {"HasImagesDir": bool(images_dir)})
    return [s for s in statements if "Images" in s["Sid"]]


def test_the_images_dir_parameter_reaches_the_image_functions(cfn: dict[str, Any]) -> None:
    assert cfn["Parameters"]["ImagesDir"]["Default"] == ""
    for name in IMAGE_FUNCTIONS:
        variables = cfn["Resources"][name]["Properties"]["Environment"]["Variables"]
        assert variables["CPSYNC_IMAGES_DIR"] == {"Ref": "ImagesDir"}
        role = cfn["Resources"][f"{name}Role"]["Properties"]
        assert {"Ref": "TaskAccessPolicy"} in role["ManagedPolicyArns"]


def test_given_an_s3_prefix_then_the_tasks_may_read_that_prefix_and_list_its_bucket(
    cfn: dict[str, Any],
) -> None:
    url = "s3://store-images/shop-1/ItemImages/"
    bucket, prefix = parse_s3_url(url)  # what the functions will read

    statements = {s["Sid"]: s for s in _image_statements(cfn, url)}

    assert statements["ReadImages"]["Action"] == "s3:GetObject"
    assert statements["ReadImages"]["Resource"] == f"arn:aws:s3:::{bucket}/{prefix}*"
    assert statements["ListImages"]["Action"] == "s3:ListBucket"
    assert statements["ListImages"]["Resource"] == f"arn:aws:s3:::{bucket}"


def test_given_no_prefix_then_the_tasks_get_no_image_access(cfn: dict[str, Any]) -> None:
    assert _image_statements(cfn, "") == []


@pytest.mark.parametrize(
    ("value", "taken"),
    [
        ("", True),
        ("s3://store-images/ItemImages/", True),
        ("s3://store-images/", True),
        ("s3://store-images/a/b/", True),
        ("s3://store-images/ItemImages", False),  # "ItemImages*" would also grant ItemImages2/
        ("s3://store-images/*/", False),
        ("/mnt/ItemImages", False),
        ("s3://Store_Images/x/", False),
    ],
)
def test_the_parameter_takes_only_an_s3_prefix_ending_in_a_slash(
    cfn: dict[str, Any], value: str, taken: bool
) -> None:
    pattern = cfn["Parameters"]["ImagesDir"]["AllowedPattern"]
    assert bool(re.fullmatch(pattern, value)) is taken
