"""The guide in docs/: it builds as a site with no warning, its command-line reference is the command
line's own help, and the README stays a short front door that links to it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from recorder.cli.reference import markdown

ROOT = Path(__file__).resolve().parent.parent


def test_the_guide_builds_as_a_site_with_no_warning(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "site" / "verify" / "index.html").is_file()


@pytest.mark.unit
def test_the_command_line_reference_is_what_the_command_line_prints():
    assert (ROOT / "docs" / "cli.md").read_text(encoding="utf-8") == markdown(), (
        "docs/cli.md is out of date: python -m recorder.cli.reference > docs/cli.md"
    )


@pytest.mark.unit
def test_the_readme_is_a_short_front_door_whose_links_lead_somewhere():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 300
    links = re.findall(r"\]\(([^)#]+)\)", readme)
    assert {f"docs/{p.name}" for p in (ROOT / "docs").glob("*.md")} - {"docs/index.md"} <= set(links)
    for link in links:
        assert (ROOT / link).exists(), f"README links {link}, which is not there"
