"""Every relative link in README.md and docs/ points at a file (and heading) in the repository."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[2]
# pages that come with their own part of the project (the configuration reference is generated
# from the config model): a link to one is checked once the page exists
COMPANION_PAGES = frozenset(
    {"docs/configuration.md", "docs/catalog-import.md", "docs/api.md", "docs/experiments.md"}
)
INLINE = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$", re.MULTILINE)
FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.MULTILINE | re.DOTALL)
CODE = re.compile(r"`[^`\n]*`")
EXTERNAL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:|//)", re.IGNORECASE)


def markdown_files(root: Path = ROOT) -> list[Path]:
    files = [root / "README.md", *sorted((root / "docs").rglob("*.md"))]
    return [f for f in files if f.is_file()]


def links(text: str) -> list[str]:
    """Link targets of a markdown text, leaving out code blocks and inline code."""
    text = CODE.sub("", FENCE.sub("", text))
    return INLINE.findall(text) + REFERENCE.findall(text)


def slug(heading: str) -> str:
    """A heading's anchor as GitHub makes it: lower case, punctuation dropped, spaces to -."""
    text = re.sub(r"[`*]|\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip()).lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    out = set()
    for line in FENCE.sub("", path.read_text(encoding="utf-8")).splitlines():
        m = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if m:
            base = slug(m.group(1))
            n = seen.get(base, 0)
            seen[base] = n + 1
            out.add(base if n == 0 else f"{base}-{n}")
    return out


def broken_links(source: Path, root: Path = ROOT) -> list[str]:
    """What is wrong with each relative link of `source`: outside the repository, no such file,
    or no such heading. External links (a scheme such as https: or mailto:) are not checked;
    `file:` links are refused."""
    problems = []
    for target in links(source.read_text(encoding="utf-8")):
        if target.lower().startswith("file:"):
            problems.append(f"{target}: a file: link points outside the repository")
            continue
        if EXTERNAL.match(target):
            continue
        path_part, _, anchor = target.partition("#")
        if path_part.startswith("/"):
            problems.append(f"{target}: an absolute path; link relative to the page")
            continue
        resolved = (source.parent / unquote(path_part)).resolve() if path_part else source
        try:
            rel = resolved.relative_to(root.resolve()).as_posix()
        except ValueError:
            problems.append(f"{target}: outside the repository")
            continue
        if not resolved.exists():
            if rel not in COMPANION_PAGES:
                problems.append(f"{target}: no such file {rel}")
            continue
        if anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            problems.append(f"{target}: no heading #{anchor} in {rel}")
    return problems


@pytest.mark.parametrize("page", markdown_files(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_relative_links_resolve(page: Path) -> None:
    assert broken_links(page) == []


def test_the_check_catches_each_kind_of_broken_link(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "model.md").write_text("# The demand model\n\n## Cold start\n")
    page = tmp_path / "README.md"
    page.write_text(
        "[ok](docs/model.md) [ok](docs/model.md#cold-start) [ok](#top) [web](https://example.org)\n"
        "[missing](docs/nothing.md) [heading](docs/model.md#warm-start) [up](../elsewhere.md)\n"
        "[abs](/etc/passwd) [file](file:///tmp/x) `[code](docs/ignored.md)`\n"
        "# Top\n```\n[fenced](docs/also-ignored.md)\n```\n[ref]: docs/gone.md\n"
    )
    assert broken_links(page, tmp_path) == [
        "docs/nothing.md: no such file docs/nothing.md",
        "docs/model.md#warm-start: no heading #warm-start in docs/model.md",
        "../elsewhere.md: outside the repository",
        "/etc/passwd: an absolute path; link relative to the page",
        "file:///tmp/x: a file: link points outside the repository",
        "docs/gone.md: no such file docs/gone.md",
    ]


def test_anchors_follow_github_slugs(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "# Install (make, or pip)\n## `stream_items`\n## What comes out\n## What comes out\n"
    )
    assert anchors(page) == {
        "install-make-or-pip",
        "stream_items",
        "what-comes-out",
        "what-comes-out-1",
    }
