"""The layers `make build` made (.aws-sam/build), checked before they are deployed.

Under `make e2e-aws` (it builds first). Each function is imported from its built folder and
layers on python3.12 (.venv-ministack's, isolated from its site-packages; boto3 from there, as
the Lambda runtime brings it): it must start, and every module it loads from the layers must
come with bytecode that Python uses as it is (unchecked-hash), so a cold start compiles nothing.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest


def _bench() -> object:
    """bench/cold_start.py: its runner imports a function the way the benchmark does."""
    path = Path(__file__).resolve().parents[2] / "bench" / "cold_start.py"
    spec = importlib.util.spec_from_file_location("bench_cold_start", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


bench = _bench()
BUILD, FUNCTIONS, LAYERS = bench.BUILD, bench.FUNCTIONS, bench.LAYERS  # type: ignore[attr-defined]
Runner = bench.Runner  # type: ignore[attr-defined]

UNCHECKED_HASH = 0b01  # PEP 552 flags: hash-based, source not checked


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


@pytest.fixture(scope="module")
def runner() -> Any:
    assert (BUILD / "CpsyncLayer" / "python").is_dir(), "run `make build`"
    scratch = Path(tempfile.mkdtemp(prefix="cpsync-layers-"))
    return Runner(str(bench.MINISTACK_PYTHON), bench.runtime_dir(scratch), BUILD)  # type: ignore[attr-defined]


def test_the_core_layer_is_under_50_mb_and_leaves_the_rest_to_its_layers() -> None:
    core = BUILD / "CpsyncLayer" / "python"
    assert _size(core.parent) < 50_000_000
    present = {p.name for p in core.iterdir()}
    assert {"boto3", "botocore", "urllib3", "s3transfer", "rich", "pygments", "PIL"} & present == (
        set()
    )
    assert not any(name.startswith("pymssql") for name in present)
    assert (BUILD / "MssqlLayer" / "python" / "pymssql").is_dir()
    assert (BUILD / "ImagingLayer" / "python" / "PIL").is_dir()


@pytest.mark.parametrize("layer", list(LAYERS.values()))
def test_the_bytecode_of_each_layer_is_for_python_3_12_and_never_checked(layer: str) -> None:
    pycs = list((BUILD / layer / "python").rglob("*.cpython-312.pyc"))
    assert pycs
    flags = {int.from_bytes(p.read_bytes()[4:8], "little") for p in pycs}
    assert flags == {UNCHECKED_HASH}
    assert not list((BUILD / layer / "python").rglob("*.cpython-311.pyc"))


@pytest.mark.parametrize("function", FUNCTIONS)
def test_a_function_starts_from_its_layers_and_compiles_nothing(runner: Any, function: str) -> None:
    code = (
        f"import app; {bench.first_call(function)}\n"  # type: ignore[attr-defined]
        "import importlib.util, json\n"
        f"built = {str(BUILD)!r}\n"
        "files = [getattr(m, '__file__', None) or '' for m in list(sys.modules.values())]\n"
        "mine = [f for f in files if f.startswith(built) and f.endswith('.py')]\n"
        "import os\n"
        "print(json.dumps([len(mine), [f for f in mine"
        " if not os.path.exists(importlib.util.cache_from_source(f))]]))\n"
    )
    loaded, without_bytecode = json.loads(runner.run(function, code, []).stdout.splitlines()[-1])
    assert loaded > 100
    # The function's own app.py is in its code folder (Lambda compiles that one file).
    assert [f for f in without_bytecode if not f.endswith("/app.py")] == []
