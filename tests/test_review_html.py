"""The HTML review renders in headless Chromium: the page loads, the tables are there, nothing is cut off.

Chromium comes from Debian's packages (.ci/run installs it); without it this test is skipped locally,
and fails under CI, where it must run.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from recorder.review import load_review, render_html
from tests.test_review import pact  # noqa: F401 - the fixture

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

# Appended to a copy of the report by this test only: marks every element wider than its box.
CHECK = """<script>
const cut = [...document.querySelectorAll('table, td, th, h1, h2, p')]
  .filter(e => e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflow !== 'visible').length;
const wide = document.documentElement.scrollWidth > window.innerWidth;
document.body.setAttribute('data-check', `tables=${document.querySelectorAll('table').length} cut=${cut} wide=${wide}`);
</script>"""


def test_the_html_review_renders_in_headless_chromium(pact, tmp_path):  # noqa: F811
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed: .ci/run installs it from Debian's packages")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    page = tmp_path / "review.html"
    page.write_text(render_html(load_review(pact)).replace("</body>", CHECK + "</body>"))
    shot = tmp_path / "review.png"
    common = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--window-size=1280,2000",
    ]
    dom = subprocess.run([*common, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120)
    assert 'data-check="tables=2 cut=0 wide=false"' in dom.stdout, dom.stdout[-2000:] + dom.stderr[-2000:]
    subprocess.run([*common, f"--screenshot={shot}", page.as_uri()], capture_output=True, timeout=120)
    assert shot.stat().st_size > 10_000  # a real rendering, not a blank page
