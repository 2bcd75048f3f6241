"""The library as a contributor finds it: small modules, one AWS service per module, and the
import paths that handlers, tests and benchmarks use keep working after a split."""

from __future__ import annotations

from pathlib import Path

import cpsync.aws
import cpsync.embedded
import cpsync.ports
import cpsync.verify

LIBRARY = Path(__file__).resolve().parents[2] / "layers" / "cpsync" / "cpsync"


def _lines(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def test_no_library_module_is_over_600_lines() -> None:
    long = {str(p.relative_to(LIBRARY)): _lines(p) for p in LIBRARY.rglob("*.py")}
    assert {name: n for name, n in long.items() if n > 600} == {}


def test_the_split_modules_keep_their_old_import_paths() -> None:
    # Handlers, tests and other engineers' branches import these from the old places.
    from cpsync.magento.configurable import (
        ATTRIBUTE_DOC_KIND,
        OptionValues,
        build_child_payload,
        build_parent_payload,
        child_carried,
    )
    from cpsync.settings import DEMO_DIR, MIN_API_KEY_LENGTH, SECTIONS, Section, Settings

    assert (ATTRIBUTE_DOC_KIND, OptionValues.__module__) == (
        "attribute_option",
        "cpsync.magento.attribute_options",
    )
    assert {f.__module__ for f in (build_child_payload, build_parent_payload, child_carried)} == {
        "cpsync.magento.grid_payloads"
    }
    assert (DEMO_DIR.name, MIN_API_KEY_LENGTH, Section.__name__) == (".demo", 24, "Section")
    assert [n for s in SECTIONS for n in s.fields] == list(Settings.model_fields)


def test_each_aws_module_is_under_400_lines() -> None:
    sizes = {p.name: _lines(p) for p in (LIBRARY / "aws").glob("*.py")}
    assert {"sqs.py", "dynamodb.py", "s3.py", "scheduler.py", "__init__.py"} <= set(sizes)
    assert {name: n for name, n in sizes.items() if n >= 400} == {}


def test_the_split_packages_export_what_the_single_modules_did() -> None:
    assert sorted(cpsync.aws.__all__) == [
        "DynamoState",
        "EventBridgeScheduleMover",
        "MessageTooLarge",
        "S3Blobs",
        "SQS_MAX_BYTES",
        "SqsQueue",
        "blobs_from_settings",
        "client",
        "dead_letter_url_of",
        "queue_from_settings",
        "state_from_settings",
    ]
    assert sorted(cpsync.embedded.__all__) == [
        "LocalBlobs",
        "SqliteQueue",
        "SqliteState",
        "sqlite_engine",
    ]
    assert sorted(cpsync.verify.__all__) == [
        "Difference",
        "KIND_ORDER",
        "KindReport",
        "ReadOnlyState",
        "VERIFY_TASKS",
        "VerifyReport",
        "desired_changes",
        "verify",
    ]
    assert {"QueuePort", "StatePort", "BlobPort", "Space", "newest_per_record"} <= set(
        cpsync.ports.__all__
    )
    for package in (cpsync.aws, cpsync.embedded, cpsync.ports, cpsync.verify):
        missing = [n for n in package.__all__ if not hasattr(package, n)]
        assert missing == [], package.__name__
