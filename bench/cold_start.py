"""Cold starts of the Lambda functions, from the built layers: `make build` first.

`python -m bench.cold_start [--runs 5] [--python PATH]` imports each `functions/<name>/app.py`
the way Lambda does: a fresh python3.12 per run (`.venv-ministack/bin/python`, made by
`make e2e-aws`, or `--python`), isolated from any site-packages, with the function's folder
and its layers from `.aws-sam/build/` on the path, and boto3 and its dependencies (which the
Lambda runtime brings) from `.venv-ministack`. `LAMBDA_TASK_ROOT` is set, so Powertools'
Tracer patches what it patches in Lambda. Timed, best of `--runs`:
- now: `import app`, then what the first invocation imports (the task class, the updater's
  writers, the API's app); no call reaches a service;
- no bytecode: the same from a copy of the layers without their bytecode, as the layer
  shipped before (every cold start compiled: /opt is read-only);
- old imports: bytecode, but also importing every task, writer, Pillow and X-Ray's
  `patch_all`, which the old wiring loaded in all nine functions;
- old imports, no bytecode: both, which is how the functions started before.
Also the modules loaded (now), the packages that take the most import time (summed self
time from `-X importtime`), and the size of each layer and each function's layers, unzipped.
Figures are printed and written to `bench/results/cold_start.json`, never asserted; the
target is under 0.5 s for "now" on this machine.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / ".aws-sam" / "build"
RESULTS = ROOT / "bench" / "results" / "cold_start.json"
MINISTACK_PYTHON = ROOT / ".venv-ministack" / "bin" / "python"
TASKS = ["items", "categories", "category_items", "inventory", "prices", "image_changes", "images"]
FUNCTIONS = [*TASKS, "updater", "api"]
LAYERS = {"core": "CpsyncLayer", "sql_server": "MssqlLayer", "imaging": "ImagingLayer"}
# What the Lambda python3.12 runtime has next to the handler: boto3 and its dependencies.
RUNTIME_PACKAGES = ["boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six", "urllib3"]
# What a first invocation imports beyond `import app` (the runtime wiring builds these).
FIRST_CALL = {
    "updater": "import aws_lambda_powertools.utilities.batch, cpsync.magento.products, "
    "cpsync.magento.categories, cpsync.magento.stock_price, cpsync.magento.media, "
    "cpsync.magento.bulk",
    "api": "import cpsync.api, mangum",
}
OLD_IMPORTS = (
    "import cpsync.tasks.categories, cpsync.tasks.items, cpsync.tasks.category_items, "
    "cpsync.tasks.inventory, cpsync.tasks.prices, cpsync.tasks.image_changes, "
    "cpsync.tasks.images, cpsync.imaging, cpsync.embedded, cpsync.counterpoint.connection, "
    "aws_lambda_powertools.utilities.batch, cpsync.magento.products, cpsync.magento.categories, "
    "cpsync.magento.stock_price, cpsync.magento.media, cpsync.magento.bulk; "
    "from aws_xray_sdk.core import patch_all; patch_all()"
)


def layers_of(function: str) -> list[str]:
    """The layers template.yaml gives the function (tests/aws/test_layers.py pins them)."""
    layers = ["core"]
    if function in TASKS:
        layers.append("sql_server")
    if function in ("items", "image_changes", "images"):
        layers.append("imaging")
    return layers


def first_call(function: str) -> str:
    return FIRST_CALL.get(function, f"from cpsync.tasks import TASKS; TASKS[{function!r}]")


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def runtime_dir(scratch: Path) -> Path:
    """boto3 and its dependencies alone, as the Lambda runtime has them (from .venv-ministack)."""
    site = next((ROOT / ".venv-ministack" / "lib").glob("python3.12/site-packages"))
    runtime = scratch / "runtime"
    runtime.mkdir()
    for name in RUNTIME_PACKAGES:
        for found in [*site.glob(name), *site.glob(f"{name}.py"), *site.glob(f"{name}-*-info")]:
            (runtime / found.name).symlink_to(found)
    return runtime


class Runner:
    """Fresh python3.12 processes importing one function from given layer folders."""

    def __init__(self, python: str, runtime: Path, layer_root: Path) -> None:
        self.python, self.runtime, self.layer_root = python, runtime, layer_root

    def run(
        self, function: str, code: str, flags: list[str], every_layer: bool = False
    ) -> subprocess.CompletedProcess[str]:
        folder = BUILD / f"{function.title().replace('_', '')}Function"
        layers = list(LAYERS) if every_layer else layers_of(function)
        path = [str(folder)] + [str(self.layer_root / LAYERS[la] / "python") for la in layers]
        path.append(str(self.runtime))
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LAMBDA_TASK_ROOT": str(folder),
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "POWERTOOLS_SERVICE_NAME": "cpsync",
        }
        prelude = f"import sys; sys.path[:0] = {path!r}; "
        return subprocess.run(
            [self.python, "-I", "-S", "-B", *flags, "-c", prelude + code],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )

    def timed(self, function: str, old: bool = False) -> dict[str, Any]:
        """Seconds for `import app` and for it plus the first call's imports; modules loaded.
        `old`: also what the old wiring imported (with every layer, as the one layer had)."""
        code = (
            "import time, json; t0 = time.perf_counter(); import app; "
            f"t1 = time.perf_counter(); {first_call(function)}; {OLD_IMPORTS if old else 'pass'}; "
            "t2 = time.perf_counter(); "
            "print(json.dumps([t1 - t0, t2 - t0, len(sys.modules)]))"
        )
        out = self.run(function, code, [], every_layer=old).stdout
        app_s, total_s, modules = json.loads(out.splitlines()[-1])
        return {"import_app_s": app_s, "first_call_s": total_s, "modules": modules}

    def heaviest(self, function: str, top: int = 4) -> list[tuple[str, float]]:
        """Packages by summed self import time (ms), from `-X importtime`."""
        code = f"import app; {first_call(function)}"
        stderr = self.run(function, code, ["-X", "importtime"]).stderr
        per_package: dict[str, int] = defaultdict(int)
        for line in stderr.splitlines():
            found = re.match(r"import time:\s+(\d+) \|\s+\d+ \|\s*([\w.]+)", line)
            if found:
                per_package[found.group(2).split(".")[0]] += int(found.group(1))
        ranked = sorted(per_package.items(), key=lambda kv: -kv[1])[:top]
        return [(name, round(us / 1000, 1)) for name, us in ranked]


def _best(runs: int, measure: Any) -> dict[str, Any]:
    figures = [measure() for _ in range(runs)]
    best = min(figures, key=lambda f: f["first_call_s"])
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in best.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="fresh processes per figure")
    parser.add_argument("--python", default=str(MINISTACK_PYTHON), help="a python3.12")
    args = parser.parse_args()
    if not (BUILD / "CpsyncLayer" / "python").is_dir():
        raise SystemExit("no built layers in .aws-sam/build: run `make build` first")
    if not MINISTACK_PYTHON.exists():
        raise SystemExit("boto3 for python3.12 comes from .venv-ministack: run `make e2e-aws`")
    with tempfile.TemporaryDirectory() as scratch:
        runtime = runtime_dir(Path(scratch))
        plain = Path(scratch) / "no-bytecode"
        for layer in LAYERS.values():  # the layers as they shipped before: no bytecode
            shutil.copytree(
                BUILD / layer, plain / layer, ignore=shutil.ignore_patterns("__pycache__")
            )
        built = Runner(args.python, runtime, BUILD)
        compiling = Runner(args.python, runtime, plain)
        rows = []
        for function in FUNCTIONS:
            row = {
                "function": function,
                "layers": layers_of(function),
                "now": _best(args.runs, lambda f=function: built.timed(f)),
                "no_bytecode": _best(args.runs, lambda f=function: compiling.timed(f)),
                "old_imports": _best(args.runs, lambda f=function: built.timed(f, old=True)),
                "old_imports_no_bytecode": _best(
                    args.runs, lambda f=function: compiling.timed(f, old=True)
                ),
                "heaviest_ms": built.heaviest(function),
                "layers_mb": round(
                    sum(_size(BUILD / LAYERS[la]) for la in layers_of(function)) / 1e6, 1
                ),
            }
            rows.append(row)
            print(
                f"{function:15} now {row['now']['first_call_s']:.3f} s"
                f" ({row['now']['modules']} modules, app {row['now']['import_app_s']:.3f} s)"
                f" | no bytecode {row['no_bytecode']['first_call_s']:.3f}"
                f" | old imports {row['old_imports']['first_call_s']:.3f}"
                f" | both {row['old_imports_no_bytecode']['first_call_s']:.3f}"
                f" | {', '.join(f'{n} {ms}' for n, ms in row['heaviest_ms'])}",
                flush=True,
            )
    layers_mb = {name: round(_size(BUILD / layer) / 1e6, 1) for name, layer in LAYERS.items()}
    print("layers, unzipped MB:", layers_mb)
    RESULTS.write_text(
        json.dumps({"runs": args.runs, "layers_mb": layers_mb, "functions": rows}, indent=1) + "\n"
    )


if __name__ == "__main__":
    main()
