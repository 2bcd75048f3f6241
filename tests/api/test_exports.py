"""The API package's declared surface (the AWS handler builds on `create_app`)."""

from __future__ import annotations

import cpsync.api


def test_the_api_package_exports_its_entry_points() -> None:
    assert sorted(cpsync.api.__all__) == [
        "EmbeddedScheduleMover",
        "ImageActions",
        "ScheduleMover",
        "create_app",
    ]
    assert callable(cpsync.api.create_app)
