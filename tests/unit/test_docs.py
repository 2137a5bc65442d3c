"""The README is the front door: it names every folder and every document, and no link in it
or in ``docs/`` leads nowhere.

Links are checked the way GitHub renders them: a relative path must exist, and an anchor
must be the slug of a heading in the target file (lower case, punctuation dropped, spaces
to hyphens, ``-1`` for a repeated heading).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.support.paths import REPO_ROOT

README = REPO_ROOT / "README.md"
DOCS = sorted((REPO_ROOT / "docs").glob("*.md"))
#: Markdown read by people browsing the repository, whose links must resolve.
LINKED_PAGES = [README, REPO_ROOT / "tests" / "README.md", REPO_ROOT / "eval" / "README.md", *DOCS]

_FENCE = re.compile(r"^\s*(```|~~~)")
_LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


def _prose_lines(text: str) -> list[str]:
    """The lines outside fenced code blocks (a link or heading inside a fence is not one)."""
    lines, fenced = [], False
    for line in text.splitlines():
        if _FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            lines.append(line)
    return lines


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a heading."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link in a heading: its text
    text = text.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    found = set()
    for line in _prose_lines(path.read_text(encoding="utf-8")):
        match = _HEADING.match(line)
        if not match:
            continue
        slug = github_slug(match.group(2))
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    return found


def broken_links(page: Path) -> list[str]:
    """``target`` of every relative link in ``page`` whose file or anchor does not exist."""
    broken = []
    for line in _prose_lines(page.read_text(encoding="utf-8")):
        for target in _LINK.findall(line):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto:, ...
                continue
            path_part, _, anchor = target.partition("#")
            resolved = (page.parent / path_part).resolve() if path_part else page
            anchor_to_check = bool(anchor) and resolved.suffix == ".md"
            if not resolved.exists() or (anchor_to_check and anchor not in anchors(resolved)):
                broken.append(target)
    return broken


def test_the_slug_is_githubs() -> None:
    assert github_slug("Destroy, and what it costs") == "destroy-and-what-it-costs"
    assert github_slug("One lock: uv pip compile --generate-hashes, not uv.lock") == (
        "one-lock-uv-pip-compile---generate-hashes-not-uvlock"
    )
    assert github_slug("CPU smoke test: `make train-smoke`") == "cpu-smoke-test-make-train-smoke"


def test_a_broken_link_or_anchor_is_found(tmp_path: Path) -> None:
    (tmp_path / "other.md").write_text("# Title\n\n## A part\n\n## A part\n", encoding="utf-8")
    page = tmp_path / "page.md"
    page.write_text(
        "[ok](other.md#a-part) [second](other.md#a-part-1) [self](#here) [web](https://x.y/z)\n"
        "[gone](missing.md) [no anchor](other.md#nowhere) [third](other.md#a-part-2)\n"
        "```\n[in code](also-missing.md)\n```\n# Here\n",
        encoding="utf-8",
    )
    assert broken_links(page) == ["missing.md", "other.md#nowhere", "other.md#a-part-2"]


@pytest.mark.parametrize("page", LINKED_PAGES, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_every_relative_link_resolves(page: Path) -> None:
    assert broken_links(page) == []


@pytest.mark.parametrize("page", LINKED_PAGES, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_code_fences_are_closed(page: Path) -> None:
    """An unclosed fence turns the rest of the page into code."""
    fences = [line for line in page.read_text(encoding="utf-8").splitlines() if _FENCE.match(line)]
    assert len(fences) % 2 == 0


def test_the_readme_lists_every_document() -> None:
    readme = README.read_text(encoding="utf-8")
    missing = [doc.name for doc in DOCS if f"docs/{doc.name}" not in readme]
    assert missing == []


def _top_level_folders() -> set[str]:
    """The repository's own top-level folders: tracked ones, not build output or hidden."""
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True, check=True
    ).stdout.decode()
    return {
        name.split("/", 1)[0]
        for name in listed.split("\0")
        if "/" in name and not name.startswith(".")
    }


def test_the_readme_lists_every_top_level_folder_and_the_app_files() -> None:
    table = re.search(r"^## The repository\n(.*?)(?=^## )", README.read_text(), re.S | re.M)
    assert table, "README.md lost its '## The repository' table"
    named = set(re.findall(r"^\| `([^`]+?)/?` \|", table.group(1), re.M))
    assert _top_level_folders() | {"app.py", "cdk.json"} <= named
    assert {"agent_runtime", "stacks", "tests", "docs"} <= _top_level_folders()


def test_deploy_and_destroy_are_in_the_first_screenful_of_headings() -> None:
    headings = [line[3:] for line in _prose_lines(README.read_text()) if line.startswith("## ")]
    first = headings[:4]
    assert any(h.startswith("Deploy") for h in first), headings
    assert any(h.startswith("Destroy") for h in first), headings
