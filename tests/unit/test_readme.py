"""The README documents every setting (a setting nobody can find does not exist)."""

from __future__ import annotations

from pathlib import Path

from cpsync.settings import Settings

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_setting_is_in_the_readme_with_its_variable() -> None:
    text = README.read_text()
    missing = [n for n in Settings.model_fields if f"`CPSYNC_{n.upper()}`" not in text]
    assert missing == []


def test_the_quick_start_is_the_two_make_commands() -> None:
    text = README.read_text()
    assert "make demo" in text and "make test" in text
