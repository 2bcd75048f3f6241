"""A first load through Magento's import in the deployed stack: with the import settings in the
stack's secret, the updater Lambda names each new product's images by presigned SigV4 links to
named copies in the stack's bucket, and Magento (the emulator) downloads them from ministack's
S3 while it imports the rows. The deployed role may make and sign those copies, and the
bucket's lifecycle rule expires them.

The same sample also goes, in this process, through the per-product path (one save and one
upload each) into a second emulator: both stores must end with the same galleries.

The emulator is shared with the other deployed tests of the session, so every item number, URL
key and image file here carries the prefix `IMP-` (see `prefixed_sample` in conftest.py).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from cpsync.aws import DynamoState
from cpsync.image_mirror import ImageMirror
from cpsync.image_source import FolderImages, S3Images
from cpsync.magento.image_links import S3_PREFIX
from cpsync.magento.media import tag_of
from cpsync.runtime import Runtime
from cpsync.settings import load_settings
from cpsync_emulator import EmulatorConfig, imports, running_emulator
from cpsync_emulator.server import EmulatorHandle

STACK = "cpsync-e2e-import"
BUCKET = "cpsync-e2e-import-images"
PREFIX = "shop-2/ItemImages/"
MARK = "IMP-"
#: What an operator puts in the stack's secret for a first load through the import: auto (the
#: default) with a low minimum, and few image links per request so the rows go in several files.
#: Child SKUs without "|", so grid parents are imported too, not saved after their children.
IMPORT_SETTINGS = {
    "magento_import": "auto",
    "magento_import_min": 10,
    "magento_import_images": 12,
    "grid_sku_separator": "-",
}


@pytest.fixture
def downloads() -> Iterator[list[httpx.Response]]:
    """Every answer the emulator's import got when it downloaded an image URL of a row.

    The emulator's own download client, with a hook that keeps each answer: the downloads
    themselves are real HTTP requests to ministack.
    """
    seen: list[httpx.Response] = []
    recording = httpx.Client(
        timeout=10.0, follow_redirects=True, event_hooks={"response": [seen.append]}
    )
    previous, imports._client = imports._client, recording
    try:
        yield seen
    finally:
        imports._client = previous
        recording.close()


def _galleries(emulator: EmulatorHandle) -> dict[str, list[dict[str, Any]]]:
    """Gallery of every `IMP-` product, each file named by its content tag: the names differ by
    Magento's random part on an imported image, and entry ids by the order of creation."""
    return {
        sku: [
            {k: v for k, v in e.items() if k not in ("id", "file", "label")}
            | {"label": e.get("label") or None, "tag": tag_of(e["file"])}
            for e in sorted(product.get("media_gallery_entries", []), key=lambda e: e["position"])
        ]
        for sku, product in emulator.store.products_by_sku().items()
        if sku.startswith(MARK)
    }


def _per_product_load(db: Path, images: Path, state: Path) -> dict[str, list[dict[str, Any]]]:
    """The galleries the per-product path makes of the sample: import off, one upload each."""
    with running_emulator(EmulatorConfig()) as store:
        runtime = Runtime(
            load_settings(
                counterpoint_url=f"sqlite:///{db}",
                images_dir=images,
                state_url=f"sqlite:///{state}/state.db",
                blobs_dir=state / "blobs",
                magento_url=store.url,
                magento_token=store.token,
                magento_import="off",
                grid_sku_separator=IMPORT_SETTINGS["grid_sku_separator"],
            )
        )
        try:
            for task in ("image_changes", "items"):
                runtime.task(task).run()
                runtime.updater.drain(max_wait_seconds=30)
            assert runtime.queue.dead_letters() == []
        finally:
            runtime.close()
        assert store.stats()["requests"].get("import.json", 0) == 0
        return _galleries(store)


def test_a_deployed_first_load_imports_galleries_magento_downloads_from_presigned_s3_links(
    ministack: Any, emulator: EmulatorHandle, tmp_path: Path, downloads: list[httpx.Response]
) -> None:
    # GIVEN the store's images mirrored into an S3 prefix, and what the per-product path makes
    db, _ = ministack.prefixed_sample(tmp_path / "cp", MARK)
    s3 = ministack.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    folder = tmp_path / "cp" / "ItemImages"
    mirrored = ImageMirror(
        FolderImages(folder), S3Images(BUCKET, PREFIX, s3), tmp_path / "mirror.json"
    ).run()
    assert len(mirrored.uploaded) > 30 and not mirrored.failed
    expected = _per_product_load(db, folder, tmp_path / "saves")
    assert sum(len(g) for g in expected.values()) > 30
    folder.rename(tmp_path / "cp" / "not-mounted")  # the stack reads S3 only

    # AND the stack deployed with the import settings in its secret
    outputs = ministack.deploy(
        emulator, tmp_path, stack=STACK, parameters={"ImagesDir": f"s3://{BUCKET}/{PREFIX}"}
    )
    secrets = ministack.client("secretsmanager")
    secret = json.loads(secrets.get_secret_value(SecretId=outputs["SecretArn"])["SecretString"])
    secret |= {"magento_token": emulator.token, "counterpoint_url": f"sqlite:///{db}"}
    secrets.put_secret_value(
        SecretId=outputs["SecretArn"], SecretString=json.dumps(secret | IMPORT_SETTINGS)
    )
    lam = ministack.client("lambda")
    before = emulator.stats()["requests"]

    def invoke(function: str) -> dict[str, Any]:
        answer = lam.invoke(FunctionName=outputs[function], Payload=b'{"manual": true}')
        result: dict[str, Any] = json.loads(answer["Payload"].read())
        assert "FunctionError" not in answer, result
        return result

    # WHEN Image Changes and Items run, and the updater Lambda drains their Changes
    assert invoke("ImageChangesFunctionName")["ran"]
    assert invoke("ItemsFunctionName")["queued"] > 10

    def loaded() -> bool:
        return _galleries(emulator) == expected

    ministack.wait_for(loaded, 180, "the updater Lambda to import the products with galleries")

    # THEN every image reached Magento as a download of a presigned link to the stack's bucket
    bucket = outputs["BlobBucketName"]
    ours = [r for r in downloads if urlsplit(str(r.url)).path.startswith(f"/{bucket}/")]
    tags = {e["tag"] for gallery in expected.values() for e in gallery}
    assert None not in tags
    assert {urlsplit(str(r.url)).path.split("/")[-2][:12] for r in ours} == tags
    for answer in ours:
        url = urlsplit(str(answer.url))
        assert f"{url.scheme}://{url.netloc}" == ministack.url
        digest, name = url.path.removeprefix(f"/{bucket}/{S3_PREFIX}").split("/")
        query = parse_qs(url.query)
        assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"] and "X-Amz-Signature" in query
        assert query["X-Amz-Expires"] == ["3600"]  # CPSYNC_MAGENTO_IMPORT_IMAGE_MINUTES
        assert answer.status_code == 200
        assert hashlib.sha256(answer.content).hexdigest() == digest  # the blob's own bytes
        assert tag_of(name) == digest[:12]
    # AND the gallery files are those downloads, not uploads: Magento's import adds 16 random
    # characters to a downloaded file's name (per product: the emulator's request counts are
    # shared with the other stacks of the session, whose updaters may still be at work)
    files = [
        e["file"]
        for sku, product in emulator.store.products_by_sku().items()
        if sku.startswith(MARK)
        for e in product["media_gallery_entries"]
    ]
    assert all(re.search(r"-cp[0-9a-f]{12}_[a-z0-9]{16}(_\d+)?\.\w+$", f) for f in files), files
    imported = emulator.stats()["requests"].get("import.json", 0) - before.get("import.json", 0)
    assert imported >= 3  # a probe, then files of at most 12 image links each
    # AND the copies are under the prefix the bucket's lifecycle rule expires after a day (read
    # from the template as CloudFormation processed it: ministack does not apply bucket lifecycles)
    copies = s3.list_objects_v2(Bucket=bucket, Prefix=S3_PREFIX)["KeyCount"]
    assert copies == len({urlsplit(str(r.url)).path for r in ours})
    cfn = ministack.client("cloudformation")
    processed = cfn.get_template(StackName=STACK, TemplateStage="Processed")["TemplateBody"]
    rules = processed["Resources"]["BlobBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    assert {
        "Id": "import-media-after-a-day",
        "Status": "Enabled",
        "Prefix": S3_PREFIX,
        "ExpirationInDays": 1,
    } in [dict(r) for r in rules]
    # AND the updater's role may read the blobs, make the copies and sign links to them (IAM's
    # own simulation of the deployed role), and no more than that
    role = lam.get_function(FunctionName=outputs["UpdaterFunctionName"])["Configuration"]["Role"]
    iam = ministack.client("iam")
    copy = f"arn:aws:s3:::{bucket}/{S3_PREFIX}{'0' * 64}/name-cp000000000000.jpg"
    for action, resource, decision in (
        ("s3:GetObject", f"arn:aws:s3:::{bucket}/{'0' * 64}", "allowed"),  # the blob
        ("s3:PutObject", copy, "allowed"),  # CopyObject writes the named copy
        ("s3:GetObject", copy, "allowed"),  # HEAD, and the presigned GET Magento sends
        ("s3:ListBucket", f"arn:aws:s3:::{bucket}", "allowed"),  # a missing copy: 404, not 403
        ("s3:DeleteObject", copy, "implicitDeny"),
    ):
        (found,) = iam.simulate_principal_policy(
            PolicySourceArn=role, ActionNames=[action], ResourceArns=[resource]
        )["EvaluationResults"]
        assert (action, found["EvalDecision"]) == (action, decision), resource
    # AND nothing is left to send or parked
    assert invoke("ImagesFunctionName")["queued"] == 0
    state = DynamoState(outputs["StateTableName"], ministack.client("dynamodb"))
    assert state.get_docs("queue_error") == {}
    dead = ministack.client("sqs").receive_message(QueueUrl=outputs["DeadLetterQueueUrl"])
    assert dead.get("Messages", []) == []
