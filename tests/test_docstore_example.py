"""The stateful docstore example: its provider as a process on a free port, its consumer's story, and
the provider's rules (auth, ETags, conditional requests, cursors, flush, --break) checked over HTTP."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from examples import procs
from examples.docstore.consumer import (
    ALICE,
    DocstoreClient,
    DocstoreError,
    NotFound,
    PreconditionFailed,
    Unauthorized,
    exercise,
)
from examples.docstore.provider import BREAKS
from tests.conftest import MITMDUMP, ROOT, record_through, recorder_args

STORY = [
    ("PUT", "/accounts/alice", 201),
    ("PUT", "/accounts/alice", 200),
    ("GET", "/accounts/alice", 200),
    ("PUT", "/stores/main", 201),
    ("GET", "/stores/main", 200),
    ("PUT", "/stores/archive/collections/orders", 404),
    ("PUT", "/stores/main/collections/orders", 201),
    ("GET", "/stores/main/collections/orders", 200),
    ("POST", "/stores/main/collections/orders/records", 201),
    ("POST", "/stores/main/collections/orders/records", 201),
    ("POST", "/stores/main/collections/orders/records", 201),
    ("GET", "/stores/main/collections/orders/records/{uuid}", 200),
    ("PUT", "/stores/main/collections/orders/records/r1", 201),
    ("PUT", "/stores/main/collections/orders/records/r1", 200),
    ("PUT", "/stores/main/collections/orders/records/r2", 201),
    ("PUT", "/stores/main/collections/orders/records/r2", 412),
    ("GET", "/stores/main/collections/orders/records/r1", 200),
    ("PATCH", "/stores/main/collections/orders/records/r1", 200),
    ("PATCH", "/stores/main/collections/orders/records/r1", 412),
    ("GET", "/stores/main/collections/orders/records/r1", 304),
    ("GET", "/stores/main/collections/orders/records?limit=2", 200),
    ("GET", "/stores/main/collections/orders/records?limit=2&_token={token}", 200),
    ("GET", "/stores/main/collections/orders/records?limit=2&_token={token}", 200),
    ("DELETE", "/stores/main/collections/orders/records/r1", 200),
    ("GET", "/stores/main/collections/orders/records/r1", 404),
    ("DELETE", "/stores/main/collections/orders/records/r1", 404),
    ("PUT", "/accounts/bob", 201),
    ("PUT", "/stores/main/collections/notes", 403),
    ("DELETE", "/stores/main/collections/orders", 200),
    ("GET", "/stores/main/collections/orders", 404),
    ("GET", "/stores/main", 401),
]
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def templated(target: str) -> str:
    return re.sub(r"_token=[\w-]+", "_token={token}", UUID.sub("{uuid}", target))


@pytest.fixture
def docstore() -> Iterator[callable]:
    """Start docstore providers as processes on free ports; every one is stopped at the end."""
    started: list[procs.Process] = []

    def start(*flags: str) -> str:
        started.append(
            procs.start(procs.python("-m", "examples.docstore.provider", "--port", "0", *flags), cwd=str(ROOT))
        )
        return started[-1].url

    yield start
    for p in started:
        assert p.stop() in (0, -15), p.output


def signed_up(url: str) -> DocstoreClient:
    """Alice's client on a provider where her account and an empty collection main/orders exist."""
    DocstoreClient(url).create_account(*ALICE)
    alice = DocstoreClient(url, ALICE)
    alice.put("/stores/main")
    alice.put("/stores/main/collections/orders")
    return alice


def test_the_story_gets_the_expected_status_for_each_request(docstore):
    story = exercise(docstore())
    assert [(s.method, templated(s.target), s.status) for s in story.steps] == STORY


def test_the_story_pages_through_every_record_once(docstore):
    story = exercise(docstore())
    assert story.pages == 3
    assert len(story.stored) == 5
    assert story.listed == story.stored  # in id order, each once


def test_the_story_runs_through_a_reverse_proxy_that_keeps_the_host(docstore, mitm_confdir):
    provider = docstore()
    args = [MITMDUMP, "--listen-host", "127.0.0.1", "--listen-port", "0", "--mode", f"reverse:{provider}"]
    args += ["--set", f"confdir={mitm_confdir}", "--set", "keep_host_header=true", "--set", "flow_detail=0"]
    proxy = procs.start(args, ready=procs.MITMDUMP_LISTENING)
    try:
        story = exercise(proxy.url)
        alice = DocstoreClient(proxy.url, ALICE)
        alice.put("/stores/main/collections/orders")
        for rid in ("a", "b"):
            alice.put_record(f"/stores/main/collections/orders/records/{rid}", {})
        next_page = alice.call("GET", "/stores/main/collections/orders/records?limit=1").headers["Next-Page"]
    finally:
        assert proxy.stop() == 0, proxy.output
    assert [(s.method, templated(s.target), s.status) for s in story.steps] == STORY
    assert urlsplit(next_page).netloc == urlsplit(proxy.url).netloc


def test_the_story_runs_through_pact_recorder_record(docstore, tmp_path):
    provider = docstore()
    args = recorder_args(provider, tmp_path, consumer="docstore-web", provider="docstore")
    record_through(args, exercise)
    pact = json.loads((tmp_path / "docstore-web-docstore.json").read_text())
    assert len(pact["interactions"]) > 10


def test_flush_empties_the_provider_only_when_enabled(docstore):
    with_flush = DocstoreClient(docstore("--flush"))
    exercise(with_flush.base_url)
    with pytest.raises(Unauthorized):  # alice exists: replacing her account needs her credentials
        exercise(with_flush.base_url)
    with_flush.flush()
    assert [s.status for s in exercise(with_flush.base_url).steps] == [s for *_, s in STORY]

    without = DocstoreClient(docstore())
    with pytest.raises(NotFound):
        without.flush()


def test_records_carry_increasing_last_modified_and_matching_etags(docstore):
    alice = signed_up(docstore())
    records = "/stores/main/collections/orders/records"
    docs = [alice.create_record(records, {"n": n}) for n in range(3)]
    docs.append(alice.put_record(f"{records}/r1", {"n": 3})[0])
    stamps = [d.body["last_modified"] for d in docs]
    assert stamps == sorted(set(stamps)) and all(isinstance(s, int) and s > 1_600_000_000_000 for s in stamps)
    assert [d.etag for d in docs] == [f'"{s}"' for s in stamps]
    assert all(UUID.fullmatch(d.id) and d.location == f"{records}/{d.id}" for d in docs[:3])
    patched = alice.patch_record(f"{records}/r1", {"n": None, "tags": ["x"]})
    assert patched.body == {"id": "r1", "tags": ["x"], "last_modified": patched.body["last_modified"]}
    assert patched.body["last_modified"] > stamps[-1]


def test_conditional_writes_and_reads(docstore):
    alice = signed_up(docstore())
    r1 = "/stores/main/collections/orders/records/r1"
    with pytest.raises(PreconditionFailed) as e:
        alice.put_record(r1, {}, if_match='"1"')  # If-Match on nothing
    assert e.value.body == {"error": "precondition failed"}
    doc, created = alice.put_record(r1, {"v": 1}, only_new=True)
    assert created
    assert alice.put_record(r1, {"v": 2}, if_match=doc.etag)[1] is False
    with pytest.raises(PreconditionFailed):
        alice.delete(r1, if_match=doc.etag)
    current = alice.get_record(r1)
    assert alice.call("GET", r1, headers={"If-None-Match": current.etag}, ok=(304,)).body is None
    assert alice.call("GET", r1, headers={"If-None-Match": '"1"'}).body["v"] == 2
    deleted = alice.delete(r1, if_match=current.etag)
    assert deleted == {"deleted": True, "id": "r1", "last_modified": deleted["last_modified"]}
    assert deleted["last_modified"] > current.last_modified


def test_auth_and_ownership(docstore):
    url = docstore()
    alice = signed_up(url)
    anonymous = DocstoreClient(url)
    for client in (anonymous, alice.as_user(("alice", "nope")), alice.as_user(("zed", "x"))):
        with pytest.raises(Unauthorized):
            client.get("/stores/main")
    response = anonymous.call("GET", "/stores/main", ok=(401,))
    assert response.headers["WWW-Authenticate"] == 'Basic realm="docstore"'
    anonymous.create_account("bob", "pw")
    bob = alice.as_user(("bob", "pw"))
    for method, path in (("GET", "/stores/main"), ("PUT", "/stores/main"), ("GET", "/stores/main/collections/x")):
        assert bob.call(method, path, {} if method == "PUT" else None, ok=(403,)).body["error"] == "forbidden"
    assert bob.call("GET", "/accounts/alice", ok=(403,)).status == 403
    assert bob.call("PUT", "/accounts/alice", {"password": "mine"}, ok=(403,)).status == 403
    assert anonymous.call("PUT", "/accounts/alice", {"password": "mine"}, ok=(401,)).status == 401


def test_not_found_names_the_missing_resource_and_deletes_cascade(docstore):
    alice = signed_up(docstore())
    alice.put_record("/stores/main/collections/orders/records/r1", {})
    missing = alice.call("GET", "/stores/nope/collections/orders/records/r1", ok=(404,)).body
    assert missing == {"error": "not found", "resource": "store", "id": "nope"}
    assert alice.call("GET", "/nowhere", ok=(404,)).body["error"] == "not found"
    assert alice.delete("/stores/main")["deleted"] is True
    alice.put("/stores/main")
    assert alice.get("/stores/main/collections/orders") is None
    assert alice.call("GET", "/stores/main/collections/orders/records", ok=(404,)).body["resource"] == "collection"


def test_pagination_headers_cursor_and_host(docstore):
    url = docstore()
    alice = signed_up(url)
    records = "/stores/main/collections/orders/records"
    for rid in ("a", "b", "c"):
        alice.put_record(f"{records}/{rid}", {})
    first = alice.call("GET", f"{records}?limit=2")
    assert first.headers["Total-Records"] == "3"
    next_page = urlsplit(first.headers["Next-Page"])
    assert (next_page.scheme, next_page.netloc, next_page.path) == ("http", urlsplit(url).netloc, records)
    again = alice.call("GET", f"{records}?limit=2").headers["Next-Page"]
    assert again != first.headers["Next-Page"]  # the cursor is salted: opaque, never the same twice
    elsewhere = alice.call("GET", f"{records}?limit=2", headers={"Host": "docs.example:8080"}).headers["Next-Page"]
    assert elsewhere.startswith(f"http://docs.example:8080{records}?limit=2&_token=")
    ids = [r["id"] for data, _ in alice.pages(records, limit=2) for r in data]
    assert ids == ["a", "b", "c"]
    assert alice.call("GET", f"{records}?limit=0", ok=(400,)).body["error"] == "invalid limit"
    assert alice.call("GET", f"{records}?_token=garbage", ok=(400,)).body["error"] == "invalid token"


@pytest.mark.parametrize("breaking", BREAKS)
def test_each_break_changes_what_the_consumer_sees(docstore, breaking):
    alice = signed_up(docstore("--break", breaking))
    response = alice.call("PUT", "/stores/main/collections/orders/records/r1", {"v": 1}, ok=(200, 201))
    broken = {
        "rename-field": "last_modified" not in response.body and "modified" in response.body,
        "drop-etag": "ETag" not in response.headers,
        "status-201-as-200": response.status == 200,
    }
    assert [name for name, seen in broken.items() if seen] == [breaking]
    with pytest.raises((DocstoreError, AssertionError, KeyError)):
        exercise(DocstoreClient(docstore("--break", breaking)).base_url)
