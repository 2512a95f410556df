"""Provider states from the recorded sequence: generic names, params with parent context, outcome-aware,
setups made of recorded requests, and generators for values the provider generated."""

from __future__ import annotations

import base64
import json

import pytest
import yaml

from recorder.model import Exchange
from recorder.record.pipeline import Recording, Settings
from recorder.rules import StateRule, defaults
from recorder.states.timeline import Timeline

UUID = "9f2c1a7e-aaaa-bbbb-cccc-123456789012"
RECORD = f"/stores/main/collections/orders/records/{UUID}"


def ex(method, path, status, req=None, resp=None, response_headers=(), request_headers=(), query=()):
    json_header = (("Content-Type", "application/json"),)
    return Exchange(
        method,
        path,
        tuple(query),
        (json_header if req is not None else ()) + tuple(request_headers),
        json.dumps(req).encode() if req is not None else b"",
        status,
        json_header + tuple(response_headers),
        json.dumps(resp).encode() if resp is not None else b"",
        host="127.0.0.1",
    )


def etag(n):
    return (("ETag", f'"{n}"'),)


def basic(user, password):
    return (("Authorization", "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()),)


ALICE = basic("alice", "s3cret-pw")
STORY = [
    ex("POST", "/__flush__", 202),
    ex("PUT", "/accounts/alice", 201, {"password": "s3cret-pw"}, {"id": "alice"}),
    ex(
        "PUT",
        "/stores/main",
        201,
        {"data": {}},
        {"data": {"id": "main", "last_modified": 1700000000001}},
        etag(1700000000001),
        ALICE,
    ),
    ex("PUT", "/stores/main/collections/orders", 201, {"data": {}}, {"data": {"id": "orders"}}, (), ALICE),
    ex(
        "POST",
        "/stores/main/collections/orders/records",
        201,
        {"data": {"n": 1}},
        {"data": {"id": UUID, "n": 1, "last_modified": 1700000000003}},
        etag(1700000000003),
        ALICE,
    ),
    ex("GET", RECORD, 200, None, {"data": {"id": UUID, "n": 1}}, etag(1700000000003), ALICE),
    ex(
        "PUT",
        RECORD,
        200,
        {"data": {"n": 2}},
        {"data": {"id": UUID, "n": 2}},
        etag(1700000000004),
        ALICE + (("If-Match", '"1700000000003"'),),
    ),
    ex(
        "PUT",
        RECORD,
        412,
        {"data": {"n": 3}},
        {"error": "precondition failed"},
        (),
        ALICE + (("If-Match", '"1700000000003"'),),
    ),
    ex("DELETE", RECORD, 200, None, {"data": {"deleted": True}}, (), ALICE),
    ex("GET", RECORD, 404, None, {"error": "not found"}, (), ALICE),
    ex("PUT", "/stores/main/collections/orders", 200, {"data": {"x": 1}}, {"data": {"id": "orders"}}, (), ALICE),
]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    out = tmp_path_factory.mktemp("states")
    rec = Recording(Settings("web", "store", out))
    for exchange in STORY:
        rec.add(exchange)
    rec.write()
    pact = json.loads((out / "web-store.json").read_text())
    hints = yaml.safe_load((out / "web-store.states.yaml").read_text())
    by_description = {i["description"]: i for i in pact["interactions"]}
    return by_description, hints


def states_of(interaction, variants=False):
    """(name, params) of each state; `variant` (which way the recording made it) only when asked."""
    return [
        (s["name"], {k: v for k, v in s.get("params", {}).items() if variants or k != "variant"})
        for s in interaction.get("providerStates", [])
    ]


def test_nested_literal_resources_get_generic_names_with_parent_params(recorded):
    pact, _ = recorded
    assert states_of(pact["PUT /stores/main/collections/orders returns 201"]) == [
        ("account exists", {"account": "alice"}),
        ("store exists", {"store": "main"}),
        ("collection does not exist", {"collection": "orders", "store": "main"}),
    ]
    names = [name for i in pact.values() for name, _ in states_of(i)]
    assert not any(UUID in n or "main" in n or "alice" in n for n in names), names


def test_create_exists_and_not_found_are_told_apart(recorded):
    pact, _ = recorded
    assert states_of(pact["PUT /stores/main returns 201"])[-1] == ("store does not exist", {"store": "main"})
    assert states_of(pact["PUT /stores/main/collections/orders returns 200"])[-1][0] == "collection exists"
    record = {"store": "main", "collection": "orders", "record": UUID}
    assert states_of(pact["GET /stores/main/collections/orders/records/{id} returns 200"])[-1] == (
        "record exists",
        record,
    )
    assert states_of(pact["GET /stores/main/collections/orders/records/{id} returns 404"])[-1] == (
        "record does not exist",
        record,
    )
    # A create in a collection needs the collection, and nothing of the item it creates.
    assert [n for n, _ in states_of(pact["POST /stores/main/collections/orders/records returns 201"])] == [
        "account exists",
        "store exists",
        "collection exists",
    ]


def test_the_same_request_with_other_outcomes_never_shares_its_states(recorded):
    pact, _ = recorded
    ok = pact["PUT /stores/main/collections/orders/records/{id} returns 200"]
    stale = pact["PUT /stores/main/collections/orders/records/{id} returns 412"]
    assert states_of(ok, variants=True) != states_of(stale, variants=True)
    assert ("record exists", {"store": "main", "collection": "orders", "record": UUID, "version": 2}) in states_of(
        stale
    )


def test_values_the_provider_generated_reach_the_request_through_generators(recorded):
    pact, _ = recorded
    generators = pact["PUT /stores/main/collections/orders/records/{id} returns 200"]["request"]["generators"]
    assert generators["path"]["expression"] == "/stores/${store}/collections/${collection}/records/${record}"
    assert generators["header"]["If-Match"]["expression"] == '"${ifMatch}"'
    assert generators["header"]["If-Match"]["type"] == "ProviderState"


def test_setups_are_the_recorded_requests_that_made_each_state(recorded):
    _, hints = recorded
    steps = hints["steps"]
    records = [s for s in hints["states"] if s["name"] == "record exists" and "version" not in s["params"]]
    made = sorted([(steps[n]["method"], steps[n]["path"], steps[n]["status"]) for n in r["setup"]] for r in records)
    # Made two ways, so two variants: the create alone, and the create then the read whose ETag the
    # interaction's If-Match sends (where it ran: before any update).
    create = ("POST", "/stores/main/collections/orders/records", 201)
    assert made == [[create], [create, ("GET", RECORD, 200)]]
    assert sorted(r["params"]["variant"] for r in records) == [1, 2]
    capture = steps[records[0]["setup"][0]]["capture"]
    assert {"at": ["body", "data", "id"], "value": UUID} in capture
    assert steps[hints["reset"]]["path"] == "/__flush__"


def test_secrets_are_named_and_credentials_are_rebuilt_from_the_password_the_recording_set(recorded):
    pact, hints = recorded
    account = next(s for s in hints["states"] if s["name"] == "account exists")
    create = hints["steps"][account["setup"][0]]
    assert create["json"] == {"password": "<redacted>"}
    assert create["secrets"] == [{"in": "body", "key": ["password"], "secret": "password"}]
    comments = pact["PUT /stores/main returns 201"]["comments"]["pactRecorder"]
    assert comments["secrets"] == [{"in": "header", "key": "Authorization", "secret": "password", "user": "alice"}]


def test_nothing_secret_reaches_the_files(recorded, tmp_path):
    rec = Recording(Settings("web", "store", tmp_path))
    for exchange in STORY:
        rec.add(exchange)
    rec.write()
    for path in tmp_path.iterdir():
        text = path.read_text()
        assert "s3cret-pw" not in text and base64.b64encode(b"alice:s3cret-pw").decode() not in text, path


@pytest.mark.unit
def test_rules_name_states_by_template(tmp_path):
    rules = defaults()
    rules = type(rules)(
        **{**rules.__dict__, "states": (StateRule("named", "GET /users/{id}", "a user with id {user} exists", "2xx"),)}
    )
    rec = Recording(Settings("web", "users", tmp_path, rules=rules))
    rec.add(ex("GET", "/users/5", 200, None, {"id": 5}))
    rec.add(ex("GET", "/users/6", 404, None, {"error": "x"}))
    by_status = {i.status: i.states for i in rec.interactions()}
    assert [(s.name, s.params_dict) for s in by_status[200]] == [("a user with id 5 exists", {"user": 5})]
    assert [s.name for s in by_status[404]] == ["user does not exist"]


@pytest.mark.unit
def test_a_list_of_data_that_was_there_before_the_recording_names_its_items(tmp_path):
    rec = Recording(Settings("web", "users", tmp_path))
    rec.add(ex("GET", "/users", 200, None, {"items": [{"id": 1}, {"id": 2}]}))
    (interaction,) = rec.interactions()
    assert [(s.name, s.params_dict, s.seed) for s in interaction.states] == [("users exist", {"ids": [1, 2]}, True)]


@pytest.mark.unit
def test_the_same_request_and_states_with_other_outcomes_are_said_to_be_indistinguishable(tmp_path):
    rec = Recording(Settings("web", "search", tmp_path))
    rec.add(ex("POST", "/search", 200, {"q": "tea"}, {"hits": []}))
    rec.add(ex("POST", "/search", 429, {"q": "tea"}, {"error": "slow down"}))
    notes = {i.status: i.notes for i in rec.interactions()}
    assert any("recorded with another outcome ('POST /search returns 429')" in n for n in notes[200])
    assert rec.diagnostics()["ambiguous"] == [["POST /search returns 200", "POST /search returns 429"]]
    assert "cannot tell apart (same request, same states, other outcomes)" in rec.summary()


def _states_by_description(rec: Recording) -> dict[str, list]:
    return {i.description: [(s.name, s.params_dict) for s in i.states] for i in rec.interactions()}


@pytest.mark.unit
def test_resources_a_read_answered_with_are_states_of_it(tmp_path):
    """A search or a user's starred list answers with what the recording made: a fresh provider
    must have made it too."""
    rec = Recording(Settings("cli", "registry", tmp_path))
    rec.add(ex("PUT", "/packages/left-pad", 201, {"name": "left-pad"}, {"ok": True}))
    rec.add(ex("GET", "/search", 200, None, {"objects": [{"package": {"name": "left-pad"}}]}, query=(("q", "pad"),)))
    states = _states_by_description(rec)["GET /search returns 200"]
    assert ("package exists", {"package": "left-pad"}) in states


@pytest.mark.unit
def test_a_name_written_as_two_segments_finds_what_was_made_under_its_encoded_name(tmp_path):
    rec = Recording(Settings("cli", "registry", tmp_path))
    rec.add(ex("PUT", "/@team%2futil", 201, {"name": "@team/util"}, {"ok": True}))
    rec.add(ex("GET", "/@team/util/-/util-1.0.0.tgz", 200, None, {"tarball": True}))
    (download,) = [s for d, s in _states_by_description(rec).items() if d.startswith("GET /@team/util")]
    assert [name for name, _ in download] == ["item exists"]


@pytest.mark.unit
def test_a_resource_named_outside_the_path_needs_what_it_is_within(tmp_path):
    rec = Recording(Settings("web", "store", tmp_path))
    rec.add(ex("PUT", "/buckets/archive", 201, {}, {"id": "archive"}))
    rec.add(ex("PUT", "/buckets/archive/collections/old-orders", 201, {}, {"id": "old-orders"}))
    rec.add(ex("POST", "/copy", 200, {"to": "old-orders"}, {"copied": 3}))
    assert _states_by_description(rec)["POST /copy returns 200"] == [
        ("bucket exists", {"bucket": "archive"}),
        ("collection exists", {"bucket": "archive", "collection": "old-orders"}),
    ]


@pytest.mark.unit
def test_a_post_to_a_known_container_needs_it(tmp_path):
    rec = Recording(Settings("cli", "docs", tmp_path))
    rec.add(ex("PUT", "/library", 201, {}, {"ok": True}))
    rec.add(ex("POST", "/library", 201, {"title": "Dune"}, {"ok": True, "id": "dune"}))
    rec.add(ex("POST", "/gone", 404, {"title": "Dune"}, {"error": "not_found"}))
    states = _states_by_description(rec)
    assert states["POST /library returns 201"] == [("item exists", {"item": "library"})]


@pytest.mark.unit
def test_the_items_a_response_names_of_a_resource_the_request_is_within_are_set_up_after_it(tmp_path):
    """CouchDB answers /db/_all_docs, views and queries sent as a POST with the documents of /db: they are
    its items, short names too, and among the same names elsewhere only the request's own count."""
    rec = Recording(Settings("cli", "docs", tmp_path))
    for db in ("/library", "/archive"):
        rec.add(ex("PUT", db, 201, {}, {"ok": True}))
        for doc in ("dune", "1", "2"):
            rec.add(ex("PUT", f"{db}/{doc}", 201, {"title": doc}, {"ok": True}))
    rec.add(ex("DELETE", "/library/2", 200, None, {"ok": True}))
    rows = {"rows": [{"id": "dune"}, {"id": "1"}, {"id": "_design/x"}]}
    rec.add(ex("GET", "/library/_all_docs", 200, None, rows))
    rec.add(ex("POST", "/library/_temp_view", 200, {"map": "function(doc) {emit(doc.title)}"}, rows))
    rec.add(ex("PUT", "/library/dune", 201, {"title": "Dune", "_rev": "1-a"}, {"ok": True, "id": "dune"}))
    states = _states_by_description(rec)
    update = states["PUT /library/dune returns 201 (body _rev, title)"]
    assert not any(name == "items exist" for name, _ in update)  # it names itself: that is its own state
    for description in ("GET /library/_all_docs returns 200", "POST /library/_temp_view returns 200"):
        assert states[description] == [
            ("item exists", {"item": "library"}),
            ("items exist", {"item": "library", "ids": [1, "_design/x", "dune"]}),  # (as the response lists them)
        ], description


@pytest.mark.unit
def test_what_a_bulk_write_made_exists_for_later_requests(tmp_path):
    rec = Recording(Settings("cli", "docs", tmp_path))
    rec.add(ex("PUT", "/library", 201, {}, {"ok": True}))
    docs = {"docs": [{"_id": "dune"}, {"_id": "emma"}]}
    rec.add(ex("POST", "/library/_bulk_docs", 201, docs, [{"ok": True, "id": "dune"}, {"ok": True, "id": "emma"}]))
    rec.add(ex("PUT", "/library/dune", 409, {"title": "Dune"}, {"error": "conflict"}))
    (conflict,) = [i for i in rec.interactions() if i.description == "PUT /library/dune returns 409"]
    dune = conflict.states[-1]
    assert (dune.name, dune.params_dict) == ("item exists", {"item": "library", "item_2": "dune"})
    assert [(s.method, s.path) for s in dune.steps][-1] == ("POST", "/library/_bulk_docs")  # made by it, no seed


@pytest.mark.unit
def test_a_copy_makes_its_destination(tmp_path):
    rec = Recording(Settings("cli", "docs", tmp_path))
    rec.add(ex("PUT", "/library", 201, {}, {"ok": True}))
    rec.add(ex("PUT", "/library/dune", 201, {"title": "Dune"}, {"ok": True}))
    rec.add(ex("COPY", "/library/dune", 201, None, {"ok": True}, request_headers=(("Destination", "dune-copy"),)))
    rec.add(ex("GET", "/library/dune-copy", 200, None, {"title": "Dune"}))
    (read,) = [i for i in rec.interactions() if i.description == "GET /library/dune-copy returns 200"]
    copy = read.states[-1]
    assert copy.params_dict.items() >= {"item": "library", "item_2": "dune-copy"}.items()
    assert [(s.method, s.path) for s in copy.steps] == [("PUT", "/library/dune"), ("COPY", "/library/dune")]


@pytest.mark.unit
def test_a_copy_needs_its_destination_as_the_recording_knew_it(tmp_path):
    """Absent for a new copy, there for an overwrite (CouchDB's `Destination: b?rev=...` answered 201 too)
    or a refusal; its params named apart from the request's own, which the request's path is made from."""

    def copy_states(status: int, destination: str, existing: bool) -> list:
        rec = Recording(Settings("cli", "docs", tmp_path))
        rec.add(ex("PUT", "/library", 201, {}, {"ok": True}))
        for doc in ("dune", "copy") if existing else ("dune",):
            rec.add(ex("PUT", f"/library/{doc}", 201, {"title": doc}, {"ok": True}))
        rec.add(ex("COPY", "/library/dune", status, None, {}, request_headers=(("Destination", destination),)))
        (copy,) = [i for i in rec.interactions() if i.description.startswith("COPY")]
        return copy.states

    destination = {"item": "library", "destination": "copy"}
    new = copy_states(201, "copy", existing=False)
    assert (new[-1].name, new[-1].params_dict) == ("destination does not exist", destination)
    for states in (copy_states(201, "copy?rev=1-a", existing=True), copy_states(409, "copy", existing=True)):
        assert (states[-1].name, states[-1].params_dict) == ("destination exists", destination)
        assert [(s.method, s.path) for s in states[-1].steps] == [("PUT", "/library/copy")]
        assert states[-2].params_dict == {"item": "library", "item_2": "dune"}


@pytest.mark.unit
def test_a_read_whose_value_a_request_sends_is_replayed_after_what_it_read_is_made(tmp_path):
    """CouchDB-Python reads a design document for its `_rev`, then sends that rev in a bulk write to the
    database: the database's setup makes the document (as it was when read) before reading it again."""
    rec = Recording(Settings("cli", "docs", tmp_path))
    rec.add(ex("PUT", "/library", 201, {}, {"ok": True}))
    rec.add(ex("PUT", "/library/_design/test", 201, {"views": {}}, {"ok": True, "rev": "1-5a9c3f"}))
    rec.add(ex("GET", "/library/_design/test", 200, None, {"_id": "_design/test", "_rev": "1-5a9c3f"}))
    rec.add(ex("PUT", "/library/_design/test", 201, {"views": {"v": {}}}, {"ok": True, "rev": "2-77e0b1"}))
    docs = {"docs": [{"_id": "_design/test", "_rev": "1-5a9c3f", "_deleted": True}]}
    rec.add(ex("POST", "/library/_bulk_docs", 201, docs, [{"id": "_design/test", "error": "conflict"}]))
    (bulk,) = [i for i in rec.interactions() if i.description.startswith("POST /library/_bulk_docs")]
    library = next(s for s in bulk.states if s.params_dict.get("item") == "library")
    assert [(s.method, s.path, s.seq) for s in library.steps] == [
        ("PUT", "/library", 1),
        ("PUT", "/library/_design/test", 2),  # what the read read, as it was then (not its update, step 4)
        ("GET", "/library/_design/test", 3),
    ]


@pytest.mark.unit
def test_a_login_makes_nothing_its_session_is_made_by_logging_in_as_the_account_made_before(tmp_path):
    """A POST answered 200 with a session cookie (CouchDB's `/_session`, whose answer names the user) is a
    login, no creation: what needs the session needs the account, then the login."""
    rec = Recording(Settings("cli", "docs", tmp_path))
    user = {"name": "foo", "password": "s3cr3t-Pa55", "type": "user"}
    rec.add(ex("PUT", "/_users/org.couchdb.user:foo", 201, user, {"ok": True, "id": "org.couchdb.user:foo"}))
    login = {"name": "foo", "password": "s3cr3t-Pa55"}
    cookie = (("Set-Cookie", "AuthSession=Zm9vOjY1; Path=/; HttpOnly"),)
    rec.add(ex("POST", "/_session", 200, login, {"ok": True, "name": "foo", "roles": []}, response_headers=cookie))
    session = {"ok": True, "userCtx": {"name": "foo", "roles": []}}
    rec.add(ex("GET", "/_session", 200, None, session, request_headers=(("Cookie", "AuthSession=Zm9vOjY1"),)))
    states = {i.description: i.states for i in rec.interactions()}["GET /_session returns 200"]
    assert [[(s.method, s.path) for s in state.steps] for state in states] == [
        [("PUT", "/_users/org.couchdb.user:foo")],
        [("POST", "/_session")],
    ]


@pytest.mark.unit
def test_a_list_made_by_an_accounts_requests_needs_the_account_first(tmp_path):
    rec = Recording(Settings("cli", "notes", tmp_path))
    rec.add(ex("PUT", "/users/alice", 201, {"password": "s3cr3t-Pa55"}, {"ok": True}))
    basic = (("Authorization", "Basic " + base64.b64encode(b"alice:s3cr3t-Pa55").decode()),)
    rec.add(ex("POST", "/notes", 201, {"text": "hi"}, {"id": "n1"}, request_headers=basic))
    rec.add(ex("GET", "/notes", 200, None, [{"id": "n1", "text": "hi"}]))
    states = {i.description: i.states for i in rec.interactions()}["GET /notes returns 200"]
    assert [(s.name, [(t.method, t.path) for t in s.steps]) for s in states] == [
        ("user exists", [("PUT", "/users/alice")]),
        ("notes exist", [("POST", "/notes")]),
    ]


@pytest.mark.unit
def test_calls_to_an_rpc_endpoint_make_no_resource_of_its_path_or_of_the_id_they_echo():
    timeline = Timeline()
    for method in ("aria2.tellActive", "aria2.pauseAll"):
        call = {"jsonrpc": "2.0", "id": -1, "method": method, "params": []}
        timeline.apply(ex("POST", "/jsonrpc", 200, call, {"id": -1, "jsonrpc": "2.0", "result": []}))
    assert timeline.resources == {}


def test_the_review_says_how_verify_leaves_the_provider_between_interactions(tmp_path):
    """A recording that holds the consumer's own reset: the review names it (and without one, what verify does)."""
    from recorder.tools.review import load_review, render_text

    rec = Recording(Settings("web", "store", tmp_path))
    for exchange in STORY:
        rec.add(exchange)
    rec.write()
    text = render_text(load_review(tmp_path / "web-store.json"), width=400)
    assert "Between interactions: the recording's own reset request (POST /__flush__) empties the provider" in text
