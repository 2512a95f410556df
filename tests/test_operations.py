"""Operations named by a parameter's value (issues 22 and 24): `?action=query&list=allpages`, a form's
`Action=DescribeInstances`. Each operation is an interaction of its own, its value pinned; values that are data
never are. The pipeline on built exchanges (tests/test_first_contact.py records and verifies one for real)."""

from __future__ import annotations

import string
from dataclasses import replace
from pathlib import Path

import pytest

from recorder.record.pipeline import Recording, Settings
from recorder.rules import load
from tests.helpers import exchange

pytestmark = pytest.mark.unit  # no servers, no processes: `make check` runs it

FORM = (("Content-Type", "application/x-www-form-urlencoded"),)


def recording(tmp_path: Path, rules_yaml: str = "") -> Recording:
    rules = tmp_path / "rules.yaml"
    rules.write_text(rules_yaml)
    return Recording(Settings("web", "api", tmp_path / "out", rules=load([rules])))


def listing(name: str, *items: dict) -> dict:
    return {"batchcomplete": "", "query": {name: list(items)}}


def test_operations_named_in_query_values_are_interactions_of_their_own_with_their_own_answers(tmp_path):
    r = recording(tmp_path)
    pages = listing("allpages", {"pageid": 1, "title": "Alpha"})
    changes = listing("recentchanges", {"type": "edit", "title": "Alpha", "revid": 7})
    r.add(exchange("GET", "/api.php", 200, pages, query=(("action", "query"), ("list", "allpages"))))
    r.add(exchange("GET", "/api.php", 200, changes, query=(("action", "query"), ("list", "recentchanges"))))
    r.add(exchange("GET", "/api.php", 200, {"parse": {"title": "Alpha"}}, query=(("action", "parse"), ("page", "A"))))
    by = {i.description: i for i in r.interactions()}
    assert sorted(by) == [
        "GET /api.php action=parse returns 200",
        "GET /api.php action=query list=allpages returns 200",
        "GET /api.php action=query list=recentchanges returns 200",
    ]
    changes = by["GET /api.php action=query list=recentchanges returns 200"]
    # the answers are the operation's own: nothing pooled with the other operations' left out
    assert changes.response.body == changes.recorded_body
    assert "$.query.recentchanges[*].revid" in changes.response.rules["body"]
    # the value is pinned: a request for another operation never matches
    assert changes.request.rules["query"] == {"action": [{"match": "equality"}], "list": [{"match": "equality"}]}
    assert changes.evidence["query"]["list"]["by"] == "names the operation: as sent"


def test_an_operation_named_in_a_form_value_is_pinned_in_the_form_body(tmp_path):
    r = recording(tmp_path)
    for action, answer in (("DescribeInstances", {"instances": []}), ("RunInstances", {"instanceId": "i-1"})):
        body = f"Action={action}&Version=2016-11-15".encode()
        r.add(replace(exchange("POST", "/", 200, answer, request_headers=FORM), request_body=body))
    described = {i.description: i for i in r.interactions()}
    assert sorted(described) == [
        "POST / Action=DescribeInstances returns 200",
        "POST / Action=RunInstances returns 200",
    ]
    run = described["POST / Action=RunInstances returns 200"]
    assert run.request.body == "Action=RunInstances&Version=2016-11-15"
    assert run.request.rules["body"]["$.Action"] == [{"match": "equality"}]


def test_values_that_are_data_never_become_operations(tmp_path):
    r = recording(tmp_path)
    for n in range(90):  # a suite that reads 90 users: by names with digits, by ids, by uuids, in free text
        r.add(exchange("GET", "/api", 200, {"user": {"id": n}}, query=(("action", "user"), ("name", f"user{n}"))))
        r.add(exchange("GET", "/find", 200, {"id": n}, query=(("op", f"user{n}"),)))
        r.add(exchange("GET", "/find", 200, {"id": n}, query=(("op", str(n)),)))
        r.add(exchange("GET", "/find", 200, {"id": n}, query=(("op", f"a{n:07x}-1111-4222-8333-444455556666"),)))
        r.add(exchange("GET", "/find", 200, {"id": n}, query=(("op", f"find user {n}"),)))
    assert sorted((i.description, i.exchanges) for i in r.interactions()) == [
        ("GET /api action=user returns 200", 90),
        ("GET /find returns 200", 360),
    ]


def test_a_parameter_with_more_values_than_operations_have_is_data_and_its_interactions_merge_again(tmp_path):
    r = recording(tmp_path, "operations: {max_values: 5}\n")
    words = [a + b for a in string.ascii_lowercase[:4] for b in ("ax", "ey", "oz")]  # 12 names without digits
    for word in words:
        r.add(exchange("GET", "/tags", 200, {"tag": word}, query=(("cmd", word),)))
    r.add(exchange("GET", "/run", 200, {"ok": True}, query=(("cmd", "start"),)))
    (run, tags) = sorted(r.interactions(), key=lambda i: i.description)
    assert (run.description, tags.description, tags.exchanges) == ("GET /run returns 200", "GET /tags returns 200", 12)
    assert tags.request.rules["query"]["cmd"] == [{"match": "regex", "regex": "^.*$"}]  # many values: any


def test_which_parameters_name_operations_is_rules_data_a_rule_file_replaces(tmp_path):
    r = recording(tmp_path, "operations: {params: [kind]}\n")
    for kind in ("report", "summary"):
        r.add(exchange("GET", "/q", 200, {kind: 1}, query=(("kind", kind), ("action", "view"))))
    assert sorted(i.description for i in r.interactions()) == [
        "GET /q kind=report returns 200",
        "GET /q kind=summary returns 200",
    ]


def test_an_operation_refused_with_200_and_an_error_in_its_body_is_an_interaction_of_its_own(tmp_path):
    r = recording(tmp_path)
    for answer in ({"edit": {"result": "Success", "newrevid": 7}}, {"error": {"code": "badtoken", "info": "Invalid"}}):
        r.add(replace(exchange("POST", "/api.php", 200, answer, request_headers=FORM), request_body=b"action=edit&t=A"))
    by = {i.description: i for i in r.interactions()}
    assert sorted(by) == ["POST /api.php action=edit returns 200", "POST /api.php action=edit returns 200 with error"]
    # each its own answer, not the keys both share (none)
    assert by["POST /api.php action=edit returns 200"].response.body == {"edit": {"result": "Success", "newrevid": 7}}
    assert by["POST /api.php action=edit returns 200 with error"].response.body["error"]["code"] == "badtoken"


def test_select_rules_name_an_operation_named_by_a_parameter_s_value(tmp_path):
    r = recording(tmp_path, "select:\n  - {name: no-watchlist, operation: [list=watchlist, action=logout]}\n")
    for params in ("action=query&list=watchlist", "action=query&list=allpages", "action=logout"):
        r.add(exchange("GET", "/api.php", 200, {"ok": 1}, query=[tuple(p.split("=")) for p in params.split("&")]))
    assert [i.description for i in r.interactions()] == ["GET /api.php action=query list=allpages returns 200"]
    assert dict(r.skipped) == {"excluded by select rule 'no-watchlist'": 2}
