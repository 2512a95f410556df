"""The HTML review page as a reviewer uses it, in a real browser: Debian's Chromium (`make setup` installs
it) driven by Playwright, which never downloads a browser of its own. The page of a recorded pact shows its
summary, narrows to a search, folds an interaction, takes a decision on a field and saves the decisions
file, which `pact-recorder review --decisions --write-rules` turns into the rule asked for.

A screenshot of the page is left in the test's tmp_path (REVIEW_SCREENSHOT=FILE copies it out to look at).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from playwright.sync_api import Page, expect, sync_playwright

from recorder.cli.commands import main
from recorder.tools.review import flagged, load_review
from recorder.tools.review_page import page_context, render_html
from tests.conftest import cli
from tests.test_review import (
    pact,  # noqa: F401 - the fixture: a recorded pact with every kind of flag
    threatened_pact,
)

CHROMIUM = "/usr/bin/chromium"
# Headless on a closed network: no sandbox (root), no background connections (python.md, this machine).
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
USERS = "GET /users/{id} returns 200"


@pytest.fixture
def browser_page(tmp_path) -> Iterator[Page]:
    """A page in headless Chromium at 1280 px, with downloads allowed; the browser is closed after."""
    assert Path(CHROMIUM).is_file(), "chromium is missing: `make setup` installs it from Debian's packages"
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            tmp_path / "profile",  # a new, empty profile
            executable_path=CHROMIUM,
            headless=True,
            args=FLAGS,
            viewport={"width": 1280, "height": 900},
            accept_downloads=True,
        )
        context.set_default_timeout(15_000)  # what a page this size needs, many times over
        try:
            errors: list[str] = []
            page = context.new_page()
            page.on("pageerror", lambda e: errors.append(str(e)))
            yield page
            assert errors == [], errors  # the page's script ran without an error
        finally:
            context.close()


def test_a_reviewer_searches_folds_decides_and_downloads_the_decisions(pact, tmp_path, browser_page):  # noqa: F811
    html = tmp_path / "review.html"
    cli("review", str(pact), "--format", "html", "--out", str(html), check=True)
    model = load_review(pact)
    page = browser_page
    page.goto(html.as_uri())

    summary = page.locator("#summary")
    expect(summary).to_be_visible()
    expect(summary.locator("div", has_text="Fields flagged").locator("dd")).to_have_text(str(flagged(model)))
    expect(page.locator("#shown")).to_have_text("3 of 3 interactions shown")
    layout = page.evaluate(
        """() => ({
        wide: document.documentElement.scrollWidth > window.innerWidth,
        dangling: [...document.querySelectorAll('a[href^="#"]')]
            .filter(a => !document.getElementById(a.hash.slice(1))).length})"""
    )
    assert layout == {"wide": False, "dangling": 0}  # nothing cut off at 1280 px, every link leads somewhere

    # The table of contents groups by resource, with counts.
    expect(page.locator("#toc .resource")).to_have_count(3)
    users_toc = page.locator("#toc .resource", has_text="GET /users/{id}")
    expect(users_toc).to_contain_text("1, 1 flagged")
    expect(users_toc.locator("a")).to_have_text("returns 200")  # the group heading says the rest
    users_toc.locator("a").click()
    expect(page.locator("details.interaction", has_text=USERS)).to_be_in_viewport()

    # Search narrows the list and the table of contents; clearing it brings them back.
    page.fill("#search", "reports")
    expect(page.locator("details.interaction:visible")).to_have_count(1)
    expect(page.locator("details.interaction:visible summary")).to_contain_text("GET /reports/{id} returns 200")
    expect(page.locator("#toc .resource:visible")).to_have_count(1)
    expect(page.locator("#shown")).to_have_text("1 of 3 interactions shown")
    page.fill("#search", "$.status")  # a field's path finds its interaction
    expect(page.locator("details.interaction:visible summary")).to_contain_text(USERS)
    page.fill("#search", "")
    expect(page.locator("details.interaction:visible")).to_have_count(3)

    # Flagged only: the unflagged interaction and every unflagged row go.
    page.check("#flagged-only")
    expect(page.locator("details.interaction:visible")).to_have_count(2)
    expect(page.locator("tbody tr:visible")).to_have_count(flagged(model))
    page.uncheck("#flagged-only")

    # Flagged interactions start open; a click on the heading folds one and opens it again.
    users = page.locator("details.interaction", has_text=USERS)
    status_row = users.locator("tr", has_text="response $.status")
    expect(status_row).to_be_visible()
    unflagged = page.locator("details.interaction", has_text="GET /reports/{id} returns 200")
    expect(unflagged.locator("table")).to_be_hidden()
    users.locator("summary").click()
    expect(status_row).to_be_hidden()
    users.locator("summary").click()
    expect(status_row).to_be_visible()
    page.click('#toc a[title="GET /reports/{id} returns 200"]')  # a link opens what it leads to
    expect(unflagged.locator("table")).to_be_visible()

    # Two decisions: an enum, and a regex with its pattern; the page counts them.
    status_row.locator("select.decision").select_option("enum")
    kind_row = users.locator("tr", has_text="response $.kind")
    kind_row.locator("select.decision").select_option("regex")
    kind_row.locator("input.pattern").fill("^user$")
    expect(page.locator("#made")).to_have_text("2 decisions")
    page.reload()  # the browser keeps a review half done
    expect(status_row.locator("select.decision")).to_have_value("enum")
    expect(kind_row.locator("input.pattern")).to_have_value("^user$")
    expect(page.locator("#made")).to_have_text("2 decisions")

    shot = tmp_path / "review.png"
    page.evaluate("window.scrollTo(0, 0)")  # the sticky bar where a reviewer first sees it
    page.screenshot(path=shot, full_page=True)
    assert shot.stat().st_size > 10_000  # a real rendering, not a blank page
    if keep := os.environ.get("REVIEW_SCREENSHOT"):
        shutil.copy(shot, keep)

    with page.expect_download() as download:
        page.click("#download")
    assert download.value.suggested_filename == "web-api.decisions.json"
    decisions = tmp_path / download.value.suggested_filename
    download.value.save_as(decisions)
    assert json.loads(decisions.read_text()) == {USERS: {"$.kind": "regex:^user$", "$.status": "enum"}}

    rules = tmp_path / "reviewed.yaml"
    cli("review", str(pact), "--decisions", str(decisions), "--write-rules", str(rules), check=True)
    written = {r["path"]: r for r in yaml.safe_load(rules.read_text())["fields"]}
    assert written == {
        "$.kind": {
            "name": "get-users-id-kind",
            "endpoint": "GET /users/{id}",
            "side": "response",
            "path": "$.kind",
            "match": "regex",
            "regex": "^user$",
        },
        "$.status": {
            "name": "get-users-id-status",
            "endpoint": "GET /users/{id}",
            "side": "response",
            "path": "$.status",
            "match": "enum",
        },
    }


def hand_written(tmp_path: Path, change=None) -> dict:
    """The review model of tests/test_review.py's hand-written pact with every threat to verification."""
    doc = threatened_pact()
    if change:
        change(doc)
    path = tmp_path / "web-api.json"
    path.write_text(json.dumps(doc))
    return load_review(path)


@pytest.mark.unit
def test_the_same_pact_gives_the_same_page_byte_for_byte(tmp_path):
    first, again = render_html(hand_written(tmp_path)), render_html(hand_written(tmp_path))
    assert first == again


@pytest.mark.unit
def test_threats_come_first_with_where_they_are_and_their_fix(tmp_path):
    model = hand_written(tmp_path)
    context = page_context(model)
    assert [(t["severity"], t["title"][:30], t["count"]) for t in context["threat_classes"]] == [
        ("fails", "the same request in the same p", 2),
        ("fails", "a resource named in the path, ", 1),
        ("fails", "secrets the recording redacted", 2),
        ("hollow", "a response body of which the c", 1),
        ("may fail", "response headers pinned to a v", 1),
    ]
    page = render_html(model)
    threats = page[page.index('id="threats"') : page.index("</section>")]
    assert '<a href="#i3">GET /stores/{id} returns 200</a>' in threats
    assert "pact-recorder verify PACT --header &#39;Authorization: VALUE&#39;" in threats
    assert '<span class="severity may-fail">may fail</span>' in threats and "about X-Rate-Limit (1)" in threats
    assert [r["endpoint"] for r in context["resources"]] == ["GET /stores/main", "GET /stores/x"]
    assert [len(r["interactions"]) for r in context["resources"]] == [3, 1]


@pytest.mark.unit
def test_the_summary_says_how_to_verify_and_a_pact_with_no_threat_says_so(tmp_path):
    def calm(doc):
        doc["interactions"] = doc["interactions"][2:3]  # the 304 alone: no threat

    page = render_html(hand_written(tmp_path, calm))
    assert "<dt>Interactions</dt><dd>1</dd>" in page and "<dt>Threats: fails</dt><dd>0</dd>" in page
    assert "<dt>Exchanges</dt>" not in page  # a hand-written pact says nothing of them
    assert "Verify with <code>pact-recorder verify PACT --provider-url URL</code>." in page
    assert "No threats to verification found." in page


@pytest.mark.unit
def test_what_the_pact_says_is_escaped(tmp_path):
    def hostile(doc):
        doc["interactions"][2]["description"] = "<img src=x onerror=alert(1)>"

    page = render_html(hand_written(tmp_path, hostile))
    assert "<img" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page


@pytest.mark.unit
def test_decisions_saved_as_json_are_read_as_json(tmp_path, capsys):
    """What YAML would misread: a description over 1024 characters, a line separator (U+2028) in one."""
    long, odd = "GET /stores/main returns 200 " + "x" * 1100, "GET /stores/main returns 401\u2028(twice)"

    def describe(doc):
        doc["interactions"][0]["description"], doc["interactions"][1]["description"] = long, odd

    hand_written(tmp_path, describe)
    decisions = tmp_path / "web-api.decisions.json"
    decisions.write_text(json.dumps({long: {"$.items": "type"}, odd: {"$.error": "regex:^.+$"}}, ensure_ascii=False))
    rules = tmp_path / "reviewed.yaml"
    argv = ["review", str(tmp_path / "web-api.json"), "--decisions", str(decisions), "--write-rules", str(rules)]
    assert main(argv) == 0, capsys.readouterr().err
    written = yaml.safe_load(rules.read_text())["fields"]
    assert [(r["path"], r["match"], r.get("regex")) for r in written] == [
        ("$.items", "type", None),
        ("$.error", "regex", "^.+$"),
    ]
