"""The reference docs hold together: every relative link resolves, and every decision record is
listed in the decisions index (a record that is not listed is a record nobody finds)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted([*ROOT.glob("docs/**/*.md"), ROOT / "README.md", ROOT / "BENCHMARKS.md"])
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def relative_links(page: Path) -> list[str]:
    return [t for t in LINK.findall(page.read_text()) if not re.match(r"[a-z]+:", t)]


def test_links_are_found_in_a_page():
    page = ROOT / "docs" / "decisions" / "README.md"
    assert relative_links(page), "the link pattern finds nothing: the test below would pass on anything"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page):
    missing = [t for t in relative_links(page) if not (page.parent / t).exists()]
    assert not missing, f"{page.relative_to(ROOT)} links to missing files: {missing}"


def test_every_decision_record_is_in_the_index():
    index = (ROOT / "docs" / "decisions" / "README.md").read_text()
    records = sorted(p.name for p in (ROOT / "docs" / "decisions").glob("[0-9][0-9][0-9][0-9]-*.md"))
    assert records, "no decision records found"
    unlisted = [name for name in records if f"]({name})" not in index]
    assert not unlisted, f"decision records missing from docs/decisions/README.md: {unlisted}"
