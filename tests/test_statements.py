"""A query language in one parameter (issue 24, item 8): one interaction per kind of statement, the statement
matched by its shape, and what a statement names (`CREATE DATABASE "metrics"`, then `?db=metrics`) set up
before the requests that name it. Shown by a minimal provider in the manner of InfluxDB 1.x's `/query`,
recorded through `pact-recorder record` and verified from empty with `--states-from-recording`."""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qsl, quote, urlsplit

import pytest

from recorder.formats import statements
from tests.test_first_contact import Provider, first_contact, green, send, verify_against


class Statements(Provider):
    """`/query?q=STATEMENT` (reads by GET, the rest by POST) over databases; `POST /write?db=` takes points."""

    def do_GET(self):  # noqa: N802
        self.answer()

    def do_POST(self):  # noqa: N802
        self.answer()

    def answer(self):
        url = urlsplit(self.path)
        params = dict(parse_qsl(url.query))
        if "x-www-form-urlencoded" in (self.headers.get("Content-Type") or ""):  # statements as a form, too
            params |= dict(parse_qsl(self.body().decode()))
        if "json" in (self.headers.get("Content-Type") or ""):  # ... and as JSON: {"stmt": "..."}
            params["q"] = json.loads(self.body())["stmt"]
        databases = self.store.setdefault("databases", {})
        if url.path == "/write":
            if params.get("db") not in databases:
                return self.send_json(404, {"error": f"database not found: {params.get('db')}"})
            databases[params["db"]].append(self.body().decode())
            return self.send_bytes(204)
        statement = params.get("q", "")
        if m := re.fullmatch(r'(CREATE|DROP) DATABASE "?(\w+)"?', statement):
            if m[1] == "CREATE":
                databases.setdefault(m[2], [])
            else:
                databases.pop(m[2], None)
            return self.send_json(200, {"results": [{"statement_id": 0}]})
        if m := re.fullmatch(r"CREATE USER (\w+) WITH PASSWORD '([^']*)'", statement):
            self.store.setdefault("users", {})[m[1]] = m[2]
            return self.send_json(200, {"results": [{"statement_id": 0}]})
        if statement == "SHOW DATABASES":
            names = [[n] for n in sorted(databases)]
            return self.send_json(200, {"results": [{"series": [{"name": "databases", "values": names}]}]})
        if statement.startswith("SELECT"):
            if params.get("db") not in databases:
                return self.send_json(200, {"results": [{"error": f"database not found: {params.get('db')}"}]})
            points = databases[params["db"]]
            return self.send_json(200, {"results": [{"series": [{"name": "cpu", "values": [[len(points)]]}]}]})
        self.send_json(400, {"error": f"error parsing query: {statement}"})


SELECT_MEAN = "SELECT mean(value) FROM cpu WHERE host = 'a' AND time > now() - 1h"
SELECT_LAST = "SELECT last(value) FROM cpu LIMIT 5"


def query(url: str, method: str, statement: str, db: str = "") -> int:
    target = f"/query?{'db=' + db + '&' if db else ''}q={quote(statement)}"
    return send(url, method, target)[0]


def exercise(url: str) -> None:
    assert query(url, "POST", 'CREATE DATABASE "metrics"') == 200
    assert query(url, "GET", "SHOW DATABASES") == 200
    assert send(url, "POST", "/write?db=metrics", b"cpu,host=a value=0.5")[0] == 204
    assert query(url, "GET", SELECT_MEAN, db="metrics") == 200
    assert query(url, "GET", SELECT_LAST, db="metrics") == 200
    assert query(url, "POST", 'DROP DATABASE "metrics"') == 200


@pytest.fixture
def recorded(tmp_path):
    return first_contact(tmp_path, Statements, exercise)


def test_each_kind_of_statement_is_an_interaction_and_the_pact_verifies_from_empty(recorded):
    pact, result = recorded
    assert sorted(i["description"] for i in pact["interactions"]) == [
        "GET /query returns 200 (SELECT; query db, q)",
        "GET /query returns 200 (SHOW DATABASES; query q)",
        "POST /query returns 200 (CREATE DATABASE; query q)",
        "POST /query returns 200 (DROP DATABASE; query q)",
        "POST /write returns 204",
    ]
    assert green(result), result.stdout + result.stderr


def test_a_statement_is_matched_by_its_shape(recorded):
    pact, _ = recorded
    select = next(i for i in pact["interactions"] if "(SELECT" in i["description"])
    (matcher,) = select["request"]["matchingRules"]["query"]["q"]["matchers"]
    shape = re.compile(matcher["regex"])
    assert shape.match(SELECT_MEAN) and shape.match(SELECT_LAST)
    assert shape.match("SELECT mean(value)  FROM cpu WHERE host = 'web-7' AND time > now() - 30m")
    assert not shape.match("SELECT mean(value) FROM mem WHERE host = 'a' AND time > now() - 1h")
    assert not shape.match("DROP DATABASE metrics")


@pytest.mark.parametrize("sent_as", ["query", "form", "json"])
def test_a_password_a_statement_sets_never_reaches_disk_and_verify_puts_it_back(tmp_path, sent_as):
    statement = "CREATE USER reader WITH PASSWORD 's3cret-pw-77'"

    def exercise(url):
        if sent_as == "query":
            assert query(url, "POST", statement) == 200
        elif sent_as == "form":
            form = {"Content-Type": "application/x-www-form-urlencoded"}
            assert send(url, "POST", "/query", f"q={quote(statement)}".encode(), form)[0] == 200
        else:
            body = json.dumps({"stmt": statement}).encode()
            assert send(url, "POST", "/query", body, {"Content-Type": "application/json"})[0] == 200

    pact, result = first_contact(tmp_path, Statements, exercise, "--secret", "password=s3cret-pw-77")
    assert not [p for p in (tmp_path / "pacts").rglob("*") if p.is_file() and b"s3cret-pw-77" in p.read_bytes()]
    (create,) = pact["interactions"]
    if sent_as == "query":
        assert create["request"]["query"]["q"] == ["CREATE USER reader WITH PASSWORD '<redacted>'"]
    assert green(result), result.stdout + result.stderr
    provider = Statements.fresh()
    assert green(verify_against(tmp_path, provider, "--secret", "password=s3cret-pw-77"))
    assert provider.store["users"] == {"reader": "s3cret-pw-77"}  # the statement as the consumer sent it


@pytest.mark.unit
def test_statements_are_told_from_words():
    assert (
        statements.kind('CREATE RETENTION POLICY "rp" ON "db" DURATION 1d REPLICATION 1') == "CREATE RETENTION POLICY"
    )
    assert statements.kind("show measurements on metrics") == "SHOW MEASUREMENTS"
    assert statements.kind("select 1") == "SELECT"
    for words in ("update readme", "show me", "select shoes", "with love", "Drop it"):
        assert statements.kind(words) == "", words
    assert statements.found_in((("q", "update readme"), ("sql", "SELECT * FROM t")), None) == (
        "query",
        "sql",
        "SELECT * FROM t",
    )
    assert statements.found_in((("title", "SELECT * FROM t"),), None) is None  # (only where statements are sent)
    assert statements.subject('CREATE DATABASE "metrics"') == "metrics"
    assert statements.subject("SELECT mean(value) FROM cpu WHERE host = 'a'") == "cpu"
