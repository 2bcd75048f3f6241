"""Direct-mode images in the deployed stack: the store's folder mirrored into an S3 prefix by
`cpsync`'s own mirror, the stack deployed with `ImagesDir` pointing at it, the Image Changes and
Items functions invoked in ministack, and the galleries in the Magento emulator.

The emulator is shared with the other deployed tests of the session, so every item number,
URL key and image file here carries the prefix `S3-` (see `prefixed_sample` in conftest.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cpsync.image_mirror import ImageMirror
from cpsync.image_source import FolderImages, S3Images
from cpsync_emulator.server import EmulatorHandle

STACK = "cpsync-e2e-images"
BUCKET = "cpsync-e2e-store-images"
PREFIX = "shop-1/ItemImages/"
MARK = "S3-"


def _gallery(emulator: EmulatorHandle, sku: str) -> list[dict[str, Any]]:
    product = emulator.store.find_by_sku(sku) or {}
    return sorted(product.get("media_gallery_entries", []), key=lambda e: e["position"])


def test_the_deployed_image_functions_read_a_mirrored_s3_prefix_into_magento_galleries(
    ministack: Any, emulator: EmulatorHandle, tmp_path: Path
) -> None:
    db, info = ministack.prefixed_sample(tmp_path / "cp", MARK)
    s3 = ministack.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    mirror = ImageMirror(
        FolderImages(tmp_path / "cp" / "ItemImages"),
        S3Images(BUCKET, PREFIX, s3),
        tmp_path / "mirror.json",
    )
    mirrored = mirror.run()
    assert len(mirrored.uploaded) > 30 and not mirrored.failed
    assert mirror.run().uploaded == []  # a second mirror sends nothing
    (tmp_path / "cp" / "ItemImages").rename(tmp_path / "cp" / "not-mounted")  # S3 only now

    outputs = ministack.deploy(
        emulator, tmp_path, stack=STACK, parameters={"ImagesDir": f"s3://{BUCKET}/{PREFIX}"}
    )
    secrets = ministack.client("secretsmanager")
    secret = json.loads(secrets.get_secret_value(SecretId=outputs["SecretArn"])["SecretString"])
    secret |= {"magento_token": emulator.token, "counterpoint_url": f"sqlite:///{db}"}
    secrets.put_secret_value(SecretId=outputs["SecretArn"], SecretString=json.dumps(secret))
    lam = ministack.client("lambda")

    def invoke(function: str) -> dict[str, Any]:
        answer = lam.invoke(FunctionName=outputs[function], Payload=b'{"manual": true}')
        result: dict[str, Any] = json.loads(answer["Payload"].read())
        assert "FunctionError" not in answer, result
        return result

    found = invoke("ImageChangesFunctionName")
    assert found["ran"], found
    assert any(info.special["corrupt_image"] in e for e in found["errors"]), found
    assert invoke("ItemsFunctionName")["queued"] > 10

    slash = MARK + info.special["slash_item"]  # S3-MUG/12: its main image and two extras
    custom = MARK + info.special["custom_image_item"]

    def galleries_up() -> bool:
        return len(_gallery(emulator, slash)) == 3 and bool(_gallery(emulator, custom))

    ministack.wait_for(galleries_up, 180, "the updater Lambda to write the galleries")
    main = _gallery(emulator, slash)[0]
    assert main["types"] == ["image", "small_image", "thumbnail"]
    assert "s3-mug_12" in main["file"]
    assert "catalog-hero-01" in _gallery(emulator, custom)[0]["file"]
