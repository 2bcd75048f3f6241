"""The documentation: README and docs/ links resolve, and the configuration page is the code's.

A setting nobody can find does not exist, and a link that leads nowhere loses the reader.
"""

from __future__ import annotations

import re
from pathlib import Path

from cpsync.settings import SECTIONS, Settings, markdown

ROOT = Path(__file__).resolve().parents[2]
CONFIGURATION = ROOT / "docs" / "configuration.md"
REGENERATE = ".venv/bin/python -m cpsync.settings --markdown > docs/configuration.md"

_FENCE = re.compile(r"^```.*?^```", re.S | re.M)
_CODE = re.compile(r"`[^`\n]*`")
_LINK = re.compile(r"\]\(([^)\s]+)\)|<img [^>]*src=\"([^\"]+)\"")


def _pages() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def _anchors(text: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes, -N repeats."""
    seen: dict[str, int] = {}
    found = set()
    for line in _FENCE.sub("", text).splitlines():
        if not line.startswith("#"):
            continue
        title = line.lstrip("#").strip().lower()
        slug = "".join(c for c in title if c.isalnum() or c in " -_").replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        found.add(slug if n == 0 else f"{slug}-{n}")
    return found


def broken_links(page: Path) -> list[str]:
    """Relative links and anchors of a Markdown page that lead nowhere."""
    text = page.read_text(encoding="utf-8")
    prose = _CODE.sub("", _FENCE.sub("", text))
    broken = []
    for match in _LINK.finditer(prose):
        target = match.group(1) or match.group(2)
        if re.match(r"^[a-z]+:", target):
            continue  # https:, mailto:
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            broken.append(f"{page.name}: {target} (no such file)")
        elif anchor and anchor not in _anchors(file.read_text(encoding="utf-8")):
            broken.append(f"{page.name}: {target} (no such heading in {file.name})")
    return broken


def test_every_relative_link_and_anchor_in_the_docs_resolves() -> None:
    broken = [b for page in _pages() for b in broken_links(page)]
    assert broken == []


def test_every_citation_of_the_reference_pages_names_a_heading_they_have() -> None:
    # Code and docs cite facts as docs/reference/<page>.md#<anchor>; a renamed heading breaks them.
    cited = re.compile(r"docs/reference/(\w+)\.md#([a-z0-9-]+)")
    anchors = {
        page.stem: _anchors(page.read_text(encoding="utf-8"))
        for page in (ROOT / "docs" / "reference").glob("*.md")
    }
    sources = [ROOT / "README.md", *(ROOT / "docs").rglob("*.md")]
    for folder in ("layers", "dev", "bench", "tests", "functions"):
        sources += [p for p in (ROOT / folder).rglob("*") if p.suffix in (".py", ".md")]
    broken = [
        f"{path.relative_to(ROOT)}: {match.group(0)}"
        for path in sources
        for match in cited.finditer(path.read_text(encoding="utf-8"))
        if match.group(2) not in anchors.get(match.group(1), set())
    ]
    assert broken == []


def test_given_a_link_to_a_missing_heading_then_it_is_reported(tmp_path: Path) -> None:
    # GIVEN a page linking to a heading it has and to one it lacks, and to a missing file
    page = tmp_path / "page.md"
    page.write_text("# Title\n\n## Sign-in, limits\n\n[a](#sign-in-limits) [b](#nope) [c](x.md)\n")
    # WHEN its links are checked THEN the two broken ones are named
    assert broken_links(page) == [
        "page.md: #nope (no such heading in page.md)",
        "page.md: x.md (no such file)",
    ]


def test_the_configuration_page_is_generated_from_the_settings() -> None:
    assert CONFIGURATION.read_text(encoding="utf-8") == markdown(), (
        f"docs/configuration.md differs from Settings; regenerate it: {REGENERATE}"
    )


def test_every_setting_is_in_one_section_in_the_order_settings_declares_them() -> None:
    listed = [name for section in SECTIONS for name in section.fields]
    assert listed == list(Settings.model_fields), (
        "a field of Settings is in no section: declare it in the mixin of its section "
        "(layers/cpsync/cpsync/settings/<section>.py)"
    )


def test_every_setting_has_a_description_and_its_variable_on_the_page() -> None:
    text = CONFIGURATION.read_text(encoding="utf-8")
    undocumented = [n for n, f in Settings.model_fields.items() if not f.description]
    missing = [n for n in Settings.model_fields if f"`CPSYNC_{n.upper()}`" not in text]
    assert (undocumented, missing) == ([], [])


def test_the_readme_fits_two_screens_and_starts_with_the_two_make_commands() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(text.encode()) < 16_000
    assert "make demo" in text and "make test" in text
