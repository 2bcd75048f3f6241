"""A process without Pillow (in AWS: a function without the imaging layer) stops image work
with a reason and marks no image file bad, so every file syncs once Pillow is there."""

from __future__ import annotations

import sys

import pytest

from cpsync.errors import ConfigurationError
from cpsync.runtime import Runtime
from cpsync.tasks.image_changes import SCAN_DOC


def _without_pillow(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "PIL", None)  # `import PIL` raises ImportError
    monkeypatch.delitem(sys.modules, "cpsync.imaging", raising=False)


def test_image_changes_without_pillow_stops_naming_the_layer_and_marks_no_file_bad(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    _without_pillow(monkeypatch)
    with pytest.raises(ConfigurationError, match=r"without Pillow .* needs the imaging layer"):
        runtime.task("image_changes").run()
    assert runtime.state.get_docs(SCAN_DOC) == {}  # no file is remembered as bad

    monkeypatch.undo()  # Pillow is back: the next run prepares every file
    again = runtime.task("image_changes").run()
    prepared = [d for d in runtime.state.get_docs(SCAN_DOC).values() if "digest" in d]
    assert len(prepared) > 10
    assert not [e for e in again.errors if "Pillow" in e.message]


def test_items_without_pillow_still_sync_and_leave_their_images_to_image_changes(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _without_pillow(monkeypatch)
    result = runtime.task("items").run()
    assert result.queued > 10 and result.failed == []
    assert "images of new items are not looked up in this run" in caplog.text
    assert runtime.state.get_docs(SCAN_DOC) == {}
