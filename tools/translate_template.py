"""Translate template.yaml with aws-sam-translator, so cfn-lint sees the real CloudFormation.

cfn-lint alone checks SAM resources only against SAM schemas and misses errors inside them
(a bad !Ref in a function, a misspelt FunctionResponseTypes); the translated template has
them as plain resources. Local CodeUri/ContentUri values become s3:// placeholders first.

    python tools/translate_template.py template.yaml build/template.cfn.json
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any


def load_template(path: Path) -> dict[str, Any]:
    """The template as a dict, with the CloudFormation short tags (!Ref, !Sub) understood."""
    from samtranslator.yaml_helper import yaml_parse

    return dict(yaml_parse(path.read_text()))


def translate(template: dict[str, Any]) -> dict[str, Any]:
    """The CloudFormation that SAM would deploy (no AWS call, no credentials)."""
    from samtranslator.translator.transform import transform

    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    tpl = json.loads(json.dumps(template))
    for name, resource in tpl.get("Resources", {}).items():
        props = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if isinstance(props.get(key), str) and not props[key].startswith("s3://"):
                props[key] = f"s3://artifacts/{name}.zip"
    return dict(transform(tpl, {}, SimpleNamespace(load=lambda: {})))


def main(argv: list[str]) -> int:
    source, target = Path(argv[1]), Path(argv[2])
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(translate(load_template(source)), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
