"""First contact (issue 22): behaviours real APIs have, each shown by a minimal provider.

Every test records a consumer through `pact-recorder record` (the real proxy), then verifies the pact
with the real Pact core against the same provider started afresh and EMPTY, with
`--states-from-recording` and nothing else, as the README says a user would. Nothing here branches on
a product: each provider is the smallest one with the behaviour.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import os
import re
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from contextlib import contextmanager
from email.utils import formatdate, parsedate_to_datetime
from functools import partial
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlencode, urlsplit
from xml.etree import ElementTree

import pytest
import yaml
from azure.core.pipeline import PipelineContext, PipelineRequest
from azure.core.rest import HttpRequest
from azure.storage.blob._shared.authentication import SharedKeyCredentialPolicy
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from examples.jsonserver import JsonHandler, serving
from recorder.pact.core_match import CoreMatcher
from tests.conftest import CLI, PACT_NAME, cli, record_through, recorder_args


class Provider(JsonHandler):
    """A provider whose state is per server (`fresh()` makes a new one): `self.store` is what it holds."""

    store: dict
    lock: threading.Lock

    @classmethod
    def fresh(cls) -> type[Provider]:
        return type(cls.__name__, (cls,), {"store": {}, "lock": threading.Lock()})

    def body(self) -> bytes:
        """The request's body (read once: a subclass may look at it before its parent handles the request)."""
        if getattr(self, "_read", None) is None or self._read[0] is not self.raw_requestline:
            n = int(self.headers.get("Content-Length") or 0)
            self._read = (self.raw_requestline, self.rfile.read(n) if n else b"")
        return self._read[1]

    def send_bytes(self, status: int, body: bytes = b"", headers: dict | None = None) -> None:
        self.send_response(status)
        for k, v in {"Content-Length": str(len(body)), **(headers or {})}.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)


def send(url: str, method: str, target: str, body: bytes = b"", headers: dict | None = None):
    """One request as a client sends it: the target exactly as given (`//a` stays `//a`)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.request(method, target, body=body or None, headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


@contextmanager
def provider_serving(provider: type[Provider]):
    with serving(provider.fresh()) as url:
        yield url


def first_contact(tmp_path: Path, provider: type[Provider], exercise: Callable[[str], None], *verify: str):
    """Record `exercise(url)` through the recorder in front of `provider`, then verify the pact against a
    fresh, empty `provider` with --states-from-recording (and `verify`). (the pact, verify's output)."""
    out = tmp_path / "pacts"
    with provider_serving(provider) as url:
        record_through(recorder_args(url, out), exercise)
    pact = out / PACT_NAME
    return json.loads(pact.read_text()), verify_against(tmp_path, provider.fresh(), *verify)


def verify_against(tmp_path: Path, provider: type[Provider], *verify: str):
    """Verify the pact `first_contact` recorded against `provider` as it is (a fresh one: `X.fresh()`, which
    the caller may look into afterwards) with --states-from-recording (and `verify`); verify's output."""
    with serving(provider) as url:
        return cli(
            "verify", str(tmp_path / "pacts" / PACT_NAME), "--provider-url", url, "--states-from-recording", *verify
        )


def green(result) -> bool:
    return result.returncode == 0 and "the pact verified" in result.stdout


def red_in_one_interaction(tmp_path: Path, broken: type[Provider], named: str) -> None:
    """Verify the recorded pact against `broken`: it fails, in exactly one interaction, the one `named`."""
    result = verify_against(tmp_path, broken.fresh())
    assert result.returncode == 1, result.stdout + result.stderr
    failed = [line for line in result.stdout.splitlines() if line.strip().startswith("FAIL")]
    assert len(failed) == 1 and named in failed[0], result.stdout


# -- paths exactly as sent --------------------------------------------------------------------------


class Query(Provider):
    """A query API that, like many, reads `//api/v1/query` as `/api/v1/query` (a client base URL ending in /)."""

    def do_GET(self):  # noqa: N802
        path = self.path.partition("?")[0]
        if [s for s in path.split("/") if s] == ["api", "v1", "query"]:
            return self.send_json(200, {"status": "success", "data": {"result": []}})
        self.send_json(404, {"error": f"no route {path}"})

    do_POST = do_GET  # noqa: N815


def test_a_path_sent_with_a_double_slash_is_recorded_as_sent_and_verifies(tmp_path):
    def exercise(url):
        assert send(url, "GET", "//api/v1/query?query=up")[0] == 200
        assert (
            send(url, "POST", "//api/v1/query", b"query=up", {"Content-Type": "application/x-www-form-urlencoded"})[0]
            == 200
        )

    pact, result = first_contact(tmp_path, Query, exercise)
    assert {i["request"]["path"] for i in pact["interactions"]} == {"//api/v1/query"}
    assert green(result), result.stdout + result.stderr


# -- values taken from the clock --------------------------------------------------------------------


class Samples(Provider):
    """A metrics store that holds only what it sampled, by the second, since it started: a window (`start`,
    `end`) or a moment (`time`) before its start reads nothing. Reads go as GETs or as POSTs (a long query),
    their values in the query."""

    started: int

    @classmethod
    def fresh(cls) -> type[Provider]:
        made = super().fresh()
        made.started = int(time.time())
        return made

    def do_GET(self):  # noqa: N802
        path, _, query = self.path.partition("?")
        sent, now = dict(parse_qsl(query)), time.time()
        if path in ("/series", "/query_range"):
            seen = int(float(sent["end"])) >= self.started and float(sent["start"]) <= now + 60
            return self.send_json(200, {"data": [{"__name__": sent.get("query", "up")}] if seen else []})
        if path == "/query":
            at = float(sent["time"])
            result = [{"metric": {"__name__": "up"}, "value": [at, "1"]}] if self.started <= int(at) <= now + 60 else []
            return self.send_json(200, {"data": {"result": result}})
        self.send_json(404, {"error": f"no route {path}"})

    do_POST = do_GET  # noqa: N815


def test_a_window_in_epoch_seconds_with_a_fraction_is_taken_from_the_clock(tmp_path):
    def exercise(url):
        now = time.time()  # sent as str(float), as Python clients send datetime.timestamp()
        status, _, body = send(url, "GET", f"/series?start={now - 3600}&end={now}")
        assert status == 200 and json.loads(body)["data"]

    pact, result = first_contact(tmp_path, Samples, exercise)
    assert green(result), result.stdout + result.stderr
    (series,) = pact["interactions"]
    assert set(series["request"]["generators"]["query"]) == {"start", "end"}


def test_a_clock_value_an_earlier_post_sent_in_the_same_second_is_still_taken_from_the_clock(tmp_path):
    def exercise(url):
        now = int(time.time())
        status, _, body = send(url, "POST", f"/query_range?query=up&start={now - 600}&end={now}")
        assert status == 200 and json.loads(body)["data"]
        status, _, body = send(url, "POST", f"/query?query=up&time={now}")  # the same second as `end`
        assert status == 200 and json.loads(body)["data"]["result"]

    pact, result = first_contact(tmp_path, Samples, exercise)
    assert green(result), result.stdout + result.stderr
    (query,) = [i for i in pact["interactions"] if i["request"]["path"] == "/query"]
    assert all("time" not in s.get("params", {}) for s in query["providerStates"] if "sent" in s["name"])


# -- ids in headers ---------------------------------------------------------------------------------


class Ids(Provider):
    """A new request id in every response, and this server instance's own ids (constant for its life, new
    for the next one; a 64-bit one written without its leading zeros, 15 hex digits); each path is read
    once, so no interaction alone sees either vary."""

    def do_GET(self):  # noqa: N802
        if "instance" not in self.store:
            self.store["instance"], self.store["cluster"] = uuid.uuid4().hex, uuid.uuid4().hex[:11] + "a1b2"
        headers = {
            "X-Op-Id": str(uuid.uuid4()),
            "X-Server-Instance": self.store["instance"],
            "X-Cluster-Id": self.store["cluster"],
        }
        self.send_json(200, {"path": self.path}, headers)


class Refusing(Provider):
    def do_GET(self):  # noqa: N802
        self.send_json(403, {"message": "Not a file"})


def test_a_header_new_in_every_response_and_a_random_looking_one_are_matched_by_format(tmp_path):
    def exercise(url):
        for name in ("a", "b", "c", "d"):
            assert send(url, "GET", f"/things/{name}/summary")[0] == 200

    pact, result = first_contact(tmp_path, Ids, exercise)
    for i in pact["interactions"]:
        rules = i["response"]["matchingRules"]["header"]
        assert rules["X-Op-Id"]["matchers"][0]["regex"].startswith("^[0-9a-fA-F]{8}-")
        assert rules["X-Server-Instance"]["matchers"] == [{"match": "regex", "regex": "^[0-9a-fA-F]+$"}]
        assert rules["X-Cluster-Id"]["matchers"] == [{"match": "regex", "regex": "^[0-9a-fA-F]+$"}]
    assert green(result), result.stdout + result.stderr

    # A 403 to a request that carried no credentials is refused for something else: no hint about them.
    with provider_serving(Refusing) as url:
        refused = cli("verify", str(tmp_path / "pacts" / PACT_NAME), "--provider-url", url)
    assert "expected 200 but was 403" in refused.stdout
    assert "unauthorised" not in refused.stdout


# -- creations known by the sequence ----------------------------------------------------------------


class Objects(Provider):
    """An object store: a PUT makes a bucket or an object and answers 200 (not 201), an object needs its
    bucket, a bucket with objects cannot be deleted (409) and an empty one can (204)."""

    def do_PUT(self):  # noqa: N802
        bucket, _, key = self.path.strip("/").partition("/")
        data = self.body()
        with self.lock:
            if not key:
                if bucket in self.store:
                    return self.send_json(409, {"error": "BucketAlreadyOwnedByYou"})
                self.store[bucket] = {}
                return self.send_bytes(200)
            if bucket not in self.store:
                return self.send_json(404, {"error": "NoSuchBucket"})
            if source := self.headers.get("X-Copy-Source"):  # a copy of another object, named by its path
                from_bucket, _, from_key = source.strip("/").partition("/")
                if from_key not in self.store.get(from_bucket, {}):
                    return self.send_json(404, {"error": "NoSuchKey"})
                data = self.store[from_bucket][from_key]
            self.store[bucket][key] = data
        self.send_bytes(200, headers={"ETag": f'"{len(data)}"'})

    def do_GET(self):  # noqa: N802
        bucket, _, key = self.path.strip("/").partition("/")
        objects = self.store.get(bucket)
        if objects is None:
            return self.send_json(404, {"error": "NoSuchBucket"})
        if not key:
            return self.send_json(200, {"keys": sorted(objects)})
        if key not in objects:
            return self.send_json(404, {"error": "NoSuchKey"})
        self.send_bytes(200, objects[key], {"Content-Type": "application/octet-stream"})

    def do_DELETE(self):  # noqa: N802
        bucket, _, key = self.path.strip("/").partition("/")
        with self.lock:
            objects = self.store.get(bucket)
            if objects is None:
                return self.send_json(404, {"error": "NoSuchBucket"})
            if key:
                objects.pop(key, None)
            elif objects:
                return self.send_json(409, {"error": "BucketNotEmpty"})
            else:
                del self.store[bucket]
        self.send_bytes(204)


def test_a_write_answered_200_to_a_path_never_seen_is_a_creation_and_its_setup_makes_it(tmp_path):
    def exercise(url):
        assert send(url, "PUT", "/photos")[0] == 200
        assert send(url, "PUT", "/photos/cat.txt", b"meow", {"Content-Type": "text/plain"})[0] == 200
        assert send(url, "GET", "/photos/cat.txt")[2] == b"meow"
        assert send(url, "GET", "/photos")[0] == 200

    pact, result = first_contact(tmp_path, Objects, exercise)
    assert green(result), result.stdout + result.stderr


class Bindings(Provider):
    """A POST makes an item keyed by its body's routing key, quoted twice, and answers 201 with a Location
    relative to the posted path (`orders/us.%2523`, which replaces its last segment); the item is deleted
    at that path, 404 once gone."""

    def do_POST(self):  # noqa: N802
        key = quote(quote(json.loads(self.body())["routing"], safe=""), safe="")
        with self.lock:
            self.store[f"{self.path}/{key}"] = True
        self.send_bytes(201, headers={"Location": f"{self.path.rsplit('/', 1)[1]}/{key}"})

    def do_DELETE(self):  # noqa: N802
        with self.lock:
            found = self.store.pop(self.path, None)
        self.send_bytes(204 if found else 404)


def test_an_item_a_post_made_at_a_relative_location_is_set_up_by_that_post(tmp_path):
    def exercise(url):
        answer = send(url, "POST", "/bindings/orders", json.dumps({"routing": "us.#"}).encode())
        assert answer[0] == 201
        assert send(url, "DELETE", "/bindings/orders/" + answer[1]["Location"].split("/")[1])[0] == 204

    pact, result = first_contact(tmp_path, Bindings, exercise)
    assert green(result), result.stdout + result.stderr
    states = yaml.safe_load(next((tmp_path / "pacts").glob("*.states.yaml")).read_text())["states"]
    assert [s.get("setup") for s in states if s["name"] == "order exists"] == [[1]], states


class KeyTree(Provider):
    """Keys as a tree: writing `a/b` makes the directory `a`, which a write of its own refuses (403)."""

    def do_PUT(self):  # noqa: N802
        key, value = self.path.removeprefix("/keys/"), self.body().decode()
        with self.lock:
            if any(k.startswith(key + "/") for k in self.store):
                return self.send_json(403, {"message": "Not a file", "key": key})
            self.store[key] = value
        self.send_json(201, {"key": key, "value": value})


def test_a_write_refused_because_a_write_below_it_made_it_a_directory_is_set_up_with_that_write(tmp_path):
    def exercise(url):
        assert send(url, "PUT", "/keys/config/colour", b"blue")[0] == 201
        assert send(url, "PUT", "/keys/config", b"flat")[0] == 403

    pact, result = first_contact(tmp_path, KeyTree, exercise)
    refused = next(i for i in pact["interactions"] if i["response"]["status"] == 403)
    assert [s["name"] for s in refused["providerStates"]] == ["key exists"]
    assert green(result), result.stdout + result.stderr


class Packages(Provider):
    """A package is made by a PUT of its name and changed by a PUT guarded by the revision a read handed out
    (`/NAME/-rev/REV`, 409 when stale); a DELETE of that path removes the whole package, as npm registries do."""

    def do_PUT(self):  # noqa: N802
        name, _, rev = self.path.strip("/").partition("/-rev/")
        with self.lock:
            current = self.store.get(name)
            if not rev:
                if current is not None:
                    return self.send_json(409, {"error": "package exists"})
                self.store[name] = {"rev": f"1-{uuid.uuid4().hex[:16]}", **json.loads(self.body())}
                return self.send_json(201, {"ok": True})
            if current is None:
                return self.send_json(404, {"error": "no such package"})
            if current["rev"] != rev:
                return self.send_json(409, {"error": "stale revision"})
            n = int(rev.partition("-")[0]) + 1
            self.store[name] = {**json.loads(self.body()), "rev": f"{n}-{uuid.uuid4().hex[:16]}"}
        self.send_json(201, {"ok": True})

    def do_GET(self):  # noqa: N802
        if (found := self.store.get(self.path.strip("/"))) is None:
            return self.send_json(404, {"error": "no such package"})
        self.send_json(200, found)

    def do_DELETE(self):  # noqa: N802
        with self.lock:
            self.store.pop(self.path.strip("/").partition("/-rev/")[0], None)
        self.send_json(200, {"ok": True})


def test_a_write_to_a_path_named_by_a_revision_a_read_handed_out_changes_what_it_read(tmp_path):
    def exercise(url):
        json_type = {"Content-Type": "application/json"}
        assert send(url, "PUT", "/left-pad", json.dumps({"latest": "1.0.0"}).encode(), json_type)[0] == 201
        rev = json.loads(send(url, "GET", "/left-pad")[2])["rev"]
        assert send(url, "PUT", f"/left-pad/-rev/{rev}", json.dumps({"latest": "1.1.0"}).encode(), json_type)[0] == 201

    pact, result = first_contact(tmp_path, Packages, exercise)
    (update,) = [i for i in pact["interactions"] if "/-rev/" in i["request"]["path"]]
    assert not [s for s in update["providerStates"] if s["name"].endswith("does not exist")]
    assert green(result), result.stdout + result.stderr


class Spaces(Provider):
    """Creations answer 201, updates 204 (as RFC 9110 asks of a PUT). Making a space grants its maker
    access to it as a side effect, so the first PUT of that grant updates it (where another grant's was
    answered 201)."""

    def do_PUT(self):  # noqa: N802
        kind, space, *who = self.path.strip("/").split("/")
        with self.lock:
            if kind == "spaces":
                self.store[space] = {"admin": "all"}
                return self.send_bytes(201)
            if space not in self.store:
                return self.send_json(404, {"error": "no such space"})
            known = who[0] in self.store[space]
            self.store[space][who[0]] = json.loads(self.body())["level"]
        self.send_bytes(204 if known else 201)

    def do_DELETE(self):  # noqa: N802
        kind, space, *who = self.path.strip("/").split("/")
        with self.lock:
            self.store.get(space, {}).pop(who[0], None) if who else self.store.pop(space, None)
        self.send_bytes(204)


def test_a_put_answered_204_by_a_provider_that_answers_creations_201_updated_what_was_there(tmp_path):
    def exercise(url):
        assert send(url, "PUT", "/spaces/shop")[0] == 201
        grant = json.dumps({"level": "read"}).encode()
        assert send(url, "PUT", "/grants/shop/bob", grant, {"Content-Type": "application/json"})[0] == 201
        assert send(url, "PUT", "/grants/shop/admin", grant, {"Content-Type": "application/json"})[0] == 204

    pact, result = first_contact(tmp_path, Spaces, exercise)
    update = next(i for i in pact["interactions"] if i["request"]["path"] == "/grants/shop/admin")
    assert not any("does not exist" in s["name"] for s in update["providerStates"]), update["providerStates"]
    assert green(result), result.stdout + result.stderr


class Grants(Provider):
    """Users and spaces live apart; a grant `/grants/SPACE/USER` needs both, linked by name, not by path, and
    lets its user make queues in the space whose names match it (`{"configure": "^orders"}`), as that user."""

    def do_PUT(self):  # noqa: N802
        kind, name, *who = self.path.strip("/").split("/")
        body = json.loads(self.body() or b"{}")
        with self.lock:
            if kind == "queues":
                user, _, password = base64.b64decode(self.headers.get("Authorization", " ").split()[-1]).partition(b":")
                allowed = self.store.get("grants", {}).get(f"{name}/{user.decode()}", "^$")
                if self.store.get("users", {}).get(user.decode()) != password.decode() or not re.match(allowed, who[0]):
                    return self.send_json(401, {"error": "access refused"})
            elif kind == "grants":
                if name not in self.store.get("spaces", {}) or who[0] not in self.store.get("users", {}):
                    return self.send_json(400, {"error": "no such space or user"})
                self.store.setdefault("grants", {})[f"{name}/{who[0]}"] = body.get("configure", ".*")
                return self.send_bytes(201)
            self.store.setdefault(kind, {})["/".join([name, *who])] = body.get("password")
        self.send_bytes(201)

    def do_GET(self):  # noqa: N802
        self.send_json(200, {"grants": sorted(self.store.get("grants", ()))})

    def do_DELETE(self):  # noqa: N802
        kind, name, *who = self.path.strip("/").split("/")
        with self.lock:
            self.store.get(kind, {}).pop("/".join([name, *who]), None)
        self.send_bytes(204)


def test_a_resource_named_by_another_ones_name_in_its_path_is_set_up_after_it(tmp_path):
    def exercise(url):
        assert send(url, "PUT", "/users/alice")[0] == 201
        assert send(url, "PUT", "/spaces/shop")[0] == 201
        assert send(url, "PUT", "/grants/shop/alice")[0] == 201
        assert json.loads(send(url, "GET", "/grants")[2]) == {"grants": ["shop/alice"]}

    pact, result = first_contact(tmp_path, Grants, exercise)
    assert green(result), result.stdout + result.stderr


def test_a_grant_its_credentials_need_keeps_its_params_apart_from_the_request_s_own(tmp_path):
    def exercise(url):
        json_type = {"Content-Type": "application/json"}
        assert send(url, "PUT", "/users/alice", json.dumps({"password": "s3cret"}).encode(), json_type)[0] == 201
        assert send(url, "PUT", "/spaces/shop")[0] == 201
        assert (
            send(url, "PUT", "/grants/shop/alice", json.dumps({"configure": "^orders"}).encode(), json_type)[0] == 201
        )
        alice = {"Authorization": "Basic " + base64.b64encode(b"alice:s3cret").decode()}
        assert send(url, "PUT", "/queues/shop/orders.eu", headers=alice)[0] == 201

    pact, result = first_contact(tmp_path, Grants, exercise)
    (queue,) = [i for i in pact["interactions"] if i["request"]["path"].startswith("/queues/")]
    # The grant /grants/shop/alice and the queue /queues/shop/orders.eu both name a resource in "shop": the
    # queue's path is generated from its own param, which the grant's may not take.
    params = [p for st in queue["providerStates"] for p in st.get("params", {}).items()]
    assert len(dict(params)) == len(set(params)), params
    assert green(result), result.stdout + result.stderr


class Topics(Provider):
    """Messages are published to one endpoint, routed by a queue's name in the body, and read from the queue."""

    def do_PUT(self):  # noqa: N802
        with self.lock:
            self.store[self.path.rsplit("/", 1)[-1]] = []
        self.send_bytes(201)

    def do_POST(self):  # noqa: N802
        message = json.loads(self.body())
        with self.lock:
            routed = message["routing_key"] in self.store
            if routed:
                self.store[message["routing_key"]].append(message["payload"])
        self.send_json(200, {"routed": routed})

    def do_GET(self):  # noqa: N802
        queue = self.path.strip("/").split("/")[1]
        if queue not in self.store:
            return self.send_json(404, {"error": "no such queue"})
        self.send_json(200, [{"payload": p} for p in self.store[queue]])


def test_a_read_answers_with_what_writes_elsewhere_put_into_it_by_its_name(tmp_path):
    def exercise(url):
        assert send(url, "PUT", "/queues/jobs")[0] == 201
        for payload in ("first", "second"):
            message = json.dumps({"routing_key": "jobs", "payload": payload}).encode()
            assert json.loads(send(url, "POST", "/publish", message)[2]) == {"routed": True}
        assert len(json.loads(send(url, "GET", "/queues/jobs/messages")[2])) == 2

    pact, result = first_contact(tmp_path, Topics, exercise)
    assert green(result), result.stdout + result.stderr


class Blobs(Provider):
    """Content-addressed, in repositories: a blob goes up in two steps (POST for an upload URL with a token,
    PUT to it with its digest); a manifest lists its blobs by digest (an index lists manifests), is refused
    while one is unknown to its own repository, and is answered with the digest of the bytes it was sent as."""

    def do_POST(self):  # noqa: N802
        repo, upload, token = self.path.split("/")[1], uuid.uuid4().hex, uuid.uuid4().hex
        with self.lock:
            self.store.setdefault("uploads", {})[upload] = token
        self.send_bytes(202, headers={"Location": f"/{repo}/blobs/uploads/{upload}?_state={token}"})

    def do_PUT(self):  # noqa: N802
        path, _, query = self.path.partition("?")
        repo, args, data = path.split("/")[1], dict(parse_qsl(query)), self.body()
        blobs = self.store.setdefault(("blobs", repo), {})
        with self.lock:
            if "/blobs/uploads/" in path:
                if self.store.get("uploads", {}).pop(path.rsplit("/", 1)[-1], None) != args.get("_state"):
                    return self.send_json(404, {"error": "BLOB_UPLOAD_INVALID"})
                blobs[args["digest"]] = data
                return self.send_bytes(201, headers={"Location": f"/{repo}/blobs/{args['digest']}"})
            listed = json.loads(data)
            known = [*blobs, *(k.rpartition("/")[2] for k in self.store if str(k).startswith(f"/{repo}/manifests/"))]
            if any(item["digest"] not in known for item in listed.get("layers", listed.get("manifests"))):
                return self.send_json(400, {"error": "MANIFEST_BLOB_UNKNOWN"})
            self.store[path] = data
        self.send_bytes(201, headers={"Docker-Content-Digest": "sha256:" + hashlib.sha256(data).hexdigest()})

    def do_GET(self):  # noqa: N802
        repo = self.path.split("/")[1]
        if self.path == f"/{repo}/tags/list":  # the tags the manifests were PUT by
            tags = sorted(k.rpartition("/")[2] for k in self.store if isinstance(k, str) and k.startswith(f"/{repo}/"))
            return self.send_json(200, {"name": repo, "tags": tags}) if tags else self.send_json(404, {})
        if (data := self.store.get(self.path)) is None:
            return self.send_json(404, {"error": "MANIFEST_UNKNOWN"})
        self.send_bytes(200, data, {"Content-Type": "application/json"})


def push(url: str, repo: str, layers: tuple[bytes, ...]) -> None:
    """Upload the layers into `repo`, then a manifest that lists them by digest, and read it back."""
    digests = []
    for data in layers:
        location = send(url, "POST", f"/{repo}/blobs/uploads/")[1]["Location"]
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        assert send(url, "PUT", f"{location}&digest={digest}", data)[0] == 201
        digests.append(digest)
    manifest = json.dumps({"layers": [{"digest": d} for d in digests]}).encode()
    assert send(url, "PUT", f"/{repo}/manifests/v1", manifest, {"Content-Type": "application/json"})[0] == 201
    assert send(url, "GET", f"/{repo}/manifests/v1")[0] == 200


def test_a_manifest_listing_its_blobs_by_digest_is_set_up_after_their_uploads(tmp_path):
    pact, result = first_contact(tmp_path, Blobs, lambda url: push(url, "app", (b"layer one", b"layer two")))
    assert green(result), result.stdout + result.stderr


def test_a_list_at_another_path_than_the_writes_that_fill_it_is_set_up_with_them(tmp_path):
    def exercise(url):
        push(url, "app", (b"layer one",))
        assert json.loads(send(url, "GET", "/app/tags/list")[2]) == {"name": "app", "tags": ["v1"]}

    pact, result = first_contact(tmp_path, Blobs, exercise)
    (tags,) = [i for i in pact["interactions"] if i["request"]["path"] == "/app/tags/list"]
    assert tags["providerStates"][-1]["params"]["ids"] == ["v1"]
    assert green(result), result.stdout + result.stderr


def test_an_index_listing_manifests_by_digest_is_set_up_after_the_manifests_put_at_their_digests(tmp_path):
    def exercise(url):
        digests = []
        for layer in (b"amd64 layer", b"arm64 layer"):
            push(url, "app", (layer,))
            manifest = send(url, "GET", "/app/manifests/v1")[2]
            digest = "sha256:" + hashlib.sha256(manifest).hexdigest()
            assert (
                send(url, "PUT", f"/app/manifests/{digest}", manifest, {"Content-Type": "application/json"})[0] == 201
            )
            digests.append(digest)
        index = json.dumps({"manifests": [{"digest": d} for d in digests]}).encode()
        assert send(url, "PUT", "/app/manifests/latest", index, {"Content-Type": "application/json"})[0] == 201
        assert send(url, "GET", "/app/manifests/latest")[2] == index

    pact, result = first_contact(tmp_path, Blobs, exercise)
    assert green(result), result.stdout + result.stderr


def test_a_blob_uploaded_into_two_repositories_is_set_up_in_the_manifest_s_own(tmp_path):
    def exercise(url):
        push(url, "app", (b"base layer",))
        push(url, "tools", (b"base layer", b"tool layer"))

    pact, result = first_contact(tmp_path, Blobs, exercise)
    states = yaml.safe_load((tmp_path / "pacts" / PACT_NAME.replace(".json", ".states.yaml")).read_text())
    tools = [st for st in states["states"] if any(i.split()[1].startswith("/tools/") for i in st["interactions"])]
    # What the second repository's interactions need is made in it: its manifest lists the shared layer, which
    # goes up into the second repository too, not only into the first.
    assert {states["steps"][n]["path"].split("/")[1] for st in tools for n in st.get("setup", [])} == {"tools"}
    assert green(result), result.stdout + result.stderr


def test_a_container_that_holds_items_is_a_state_apart_from_an_empty_one(tmp_path):
    def exercise(url):
        assert send(url, "PUT", "/photos")[0] == 200
        assert send(url, "PUT", "/photos/cat.txt", b"meow", {"Content-Type": "text/plain"})[0] == 200
        assert send(url, "DELETE", "/photos")[0] == 409
        assert send(url, "DELETE", "/photos/cat.txt")[0] == 204
        assert send(url, "DELETE", "/photos")[0] == 204

    pact, result = first_contact(tmp_path, Objects, exercise)
    assert green(result), result.stdout + result.stderr


# -- headers as sent --------------------------------------------------------------------------------


class Calendar(Provider):
    """Reads only the first Accept line (as many servers do), and honours If-Match / If-None-Match: *."""

    def do_GET(self):  # noqa: N802
        if "text/calendar" not in (self.headers.get_all("Accept") or [""])[0]:
            return self.send_json(406, {"error": "not acceptable"})
        if self.path not in self.store:
            return self.send_json(404, {"error": "no such event"})
        self.send_bytes(200, self.store[self.path], {"Content-Type": "text/calendar"})

    def do_PUT(self):  # noqa: N802
        data = self.body()
        with self.lock:
            there = self.path in self.store
            if self.headers.get("If-None-Match") == "*" and there or self.headers.get("If-Match") == "*" and not there:
                return self.send_json(412, {"error": "precondition failed"})
            self.store[self.path] = data
        self.send_bytes(204 if there else 201)

    def do_DELETE(self):  # noqa: N802
        with self.lock:
            there = self.store.pop(self.path, None) is not None
        self.send_bytes(204 if there else 404)


EVENT = b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"


def test_a_header_sent_as_one_line_stays_one_line_and_conditional_writes_are_interactions_of_their_own(tmp_path):
    def exercise(url):
        calendar = {"Content-Type": "text/calendar"}
        assert send(url, "PUT", "/cal/a.ics", EVENT, calendar)[0] == 201
        assert send(url, "PUT", "/cal/a.ics", EVENT, calendar)[0] == 204
        assert send(url, "PUT", "/cal/a.ics", EVENT, {**calendar, "If-None-Match": "*"})[0] == 412
        assert send(url, "PUT", "/cal/b.ics", EVENT, {**calendar, "If-Match": "*"})[0] == 412
        assert send(url, "GET", "/cal/a.ics", headers={"Accept": "text/xml, text/calendar"})[0] == 200

    pact, result = first_contact(tmp_path, Calendar, exercise)
    get = next(i for i in pact["interactions"] if i["request"]["method"] == "GET")
    assert get["request"]["headers"]["Accept"] == ["text/xml, text/calendar"]
    conditional = [
        i for i in pact["interactions"] if {"If-Match", "If-None-Match"} & set(i["request"].get("headers", {}))
    ]
    assert len(conditional) == 2
    assert green(result), result.stdout + result.stderr


# -- computed credentials ---------------------------------------------------------------------------

KEY_ID, KEY = "AKIDPACTRECORDER", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
_SIGV4 = re.compile(
    r"AWS4-HMAC-SHA256 Credential=([^/]+)/[0-9]{8}/([^/]+)/([^/]+)/aws4_request, SignedHeaders=([^,]+), Signature=(\w+)"
)


def signed_headers(method: str, url: str, body: bytes = b"", headers: dict | None = None) -> dict:
    """What an SDK sends: the request signed with AWS Signature V4 by botocore, for service `kv`."""
    request = AWSRequest(method=method, url=url, data=body, headers=headers or {})
    SigV4Auth(Credentials(KEY_ID, KEY), "kv", "eu-west-1").add_auth(request)
    return dict(request.headers.items())


class SignedStore(Provider):
    """A key-value store that answers only requests signed with its key (403 otherwise)."""

    def authentic(self, body: bytes) -> bool:
        m = _SIGV4.match(self.headers.get("Authorization", ""))
        if not m or m[1] != KEY_ID:
            return False
        names = m[4].split(";")
        request = AWSRequest(
            method=self.command, url=f"http://{self.headers['Host']}{self.path}", data=body,
            headers={n: self.headers[n] for n in names},
        )  # fmt: skip
        request.context["timestamp"] = self.headers["X-Amz-Date"]
        signer = SigV4Auth(Credentials(KEY_ID, KEY), m[3], m[2])
        expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
        return hmac.compare_digest(expected, m[5])

    def handle_signed(self):
        body = self.body()
        if not self.authentic(body):
            return self.send_json(403, {"error": "SignatureDoesNotMatch"})
        with self.lock:
            if self.command == "PUT":
                self.store[self.path] = json.loads(body)
                return self.send_json(200, {"stored": self.path})
        if self.path not in self.store:
            return self.send_json(404, {"error": "NoSuchKey"})
        self.send_json(200, self.store[self.path])

    do_GET = do_PUT = handle_signed  # noqa: N815


ACCOUNT, ACCOUNT_KEY = "devstoreaccount1", base64.b64encode(b"pact-recorder test account key!!").decode()


def shared_key_headers(method: str, url: str, body: bytes = b"", headers: dict | None = None) -> dict:
    """What a storage SDK sends: the request dated and signed with the account's Shared Key (the SDK's signer)."""
    dated = {"x-ms-date": formatdate(usegmt=True), "x-ms-version": "2025-01-05", **(headers or {})}
    request = HttpRequest(method, url, headers=dated | ({"Content-Length": str(len(body))} if body else {}))
    SharedKeyCredentialPolicy(ACCOUNT, ACCOUNT_KEY).on_request(PipelineRequest(request, PipelineContext(None)))
    return {k: v for k, v in request.headers.items() if k != "Content-Length"}


class SharedKeyStore(SignedStore):
    """The same store, for requests signed with a storage account's Shared Key, dated within 15 minutes."""

    def authentic(self, body: bytes) -> bool:
        received = {k.lower(): v for k, v in self.headers.items()}
        signature, date = received.pop("authorization", ""), received.get("x-ms-date", "")
        if not date or parsedate_to_datetime(date).timestamp() < time.time() - 900:
            return False
        expected = shared_key_headers(self.command, f"http://{received['host']}{self.path}", body, received)
        return hmac.compare_digest(next(v for k, v in expected.items() if k.lower() == "authorization"), signature)


@pytest.mark.parametrize(
    ("store", "sign", "name", "environment"),
    [
        (SignedStore, signed_headers, "aws_secret_access_key", {"AWS_SECRET_ACCESS_KEY": KEY}),
        (SharedKeyStore, shared_key_headers, "storage_account_key", {"AZURE_STORAGE_KEY": ACCOUNT_KEY}),
    ],
)
def test_requests_signed_with_a_key_need_the_key_once_and_are_signed_afresh_at_verify_time(
    tmp_path, store, sign, name, environment
):
    def exercise(url):
        for item in ("a", "b", "c"):
            body = json.dumps({"name": item}).encode()
            headers = sign("PUT", f"{url}/items/{item}", body, {"Content-Type": "application/json"})
            assert send(url, "PUT", f"/items/{item}", body, headers)[0] == 200
            assert send(url, "GET", f"/items/{item}", headers=sign("GET", f"{url}/items/{item}"))[0] == 200
        assert send(url, "GET", "/items/zzz", headers=sign("GET", f"{url}/items/zzz"))[0] == 404

    out = tmp_path / "pacts"
    with provider_serving(store) as url:
        record_through(recorder_args(url, out), exercise)
    pact = out / PACT_NAME
    assert "Signature=" not in pact.read_text() and not {KEY, ACCOUNT_KEY} & set(
        re.findall(r"[\w/+=]{20,}", pact.read_text())
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "AZURE_"))}
    with provider_serving(store) as url:
        args = [CLI, "verify", str(pact), "--provider-url", url, "--states-from-recording"]
        without = subprocess.run(args, capture_output=True, text=True, env=env, timeout=120)
        keyed = subprocess.run(args, capture_output=True, text=True, env={**env, **environment}, timeout=120)
    assert without.returncode == 2
    needs = [line for line in without.stderr.splitlines() if line.startswith("  ")]
    assert len(needs) == 1 and needs[0].startswith(f"  {name}: needed by "), without.stderr
    assert next(iter(environment)) in needs[0]
    assert green(keyed), keyed.stdout + keyed.stderr


class DigestStore(Provider):
    """A key-value store behind HTTP Digest auth (RFC 7616, MD5, qop=auth): every request without a valid answer
    is challenged (401) with a nonce signed by a secret the server draws when it starts, so no answer the
    recording holds is valid on another server; `bob` may only read (403 on a write)."""

    USERS = {"alice": "4lice-digest-pw", "bob": "b0b-digest-pw"}
    REALM = "store"

    @classmethod
    def fresh(cls) -> type[Provider]:
        return type(cls.__name__, (cls,), {"store": {}, "lock": threading.Lock(), "secret": os.urandom(16)})

    def nonce(self) -> str:
        stamp = str(time.time())
        return f"{stamp}:{hmac.new(self.secret, stamp.encode(), 'sha256').hexdigest()}"

    def user(self) -> str | None:
        """The user whose Digest answer this request carries, if it is valid for a nonce of this server's."""
        value = self.headers.get("Authorization", "")
        if not value.startswith("Digest "):
            return None
        f = urllib.request.parse_keqv_list(urllib.request.parse_http_list(value[7:]))
        stamp, _, mac = f.get("nonce", "").partition(":")
        if not hmac.compare_digest(mac, hmac.new(self.secret, stamp.encode(), "sha256").hexdigest()):
            return None
        password = self.USERS.get(f.get("username", ""))
        if password is None:
            return None

        def h(text: str) -> str:
            return hashlib.md5(text.encode()).hexdigest()

        a1, a2 = h(f"{f['username']}:{self.REALM}:{password}"), h(f"{self.command}:{f.get('uri', '')}")
        want = h(f"{a1}:{f['nonce']}:{f.get('nc')}:{f.get('cnonce')}:{f.get('qop')}:{a2}")
        return f["username"] if hmac.compare_digest(want, f.get("response", "")) else None

    def handle_digest(self):
        body = self.body()
        if (user := self.user()) is None:
            challenge = f'Digest realm="{self.REALM}", nonce="{self.nonce()}", algorithm="MD5", qop="auth"'
            return self.send_bytes(401, b"", {"WWW-Authenticate": challenge, "Content-Type": "text/plain"})
        with self.lock:
            if self.command in ("PUT", "DELETE") and user != "alice":
                return self.send_json(403, {"error": "read only"})
            if self.command == "PUT":
                self.store[self.path] = json.loads(body)
                return self.send_json(200, {"stored": self.path})
            if self.command == "DELETE" and self.store.pop(self.path, None) is not None:
                return self.send_bytes(204)
        if self.path not in self.store:
            return self.send_json(404, {"error": "no such item"})
        self.send_json(200, self.store[self.path])

    do_GET = do_PUT = do_DELETE = handle_digest  # noqa: N815


def digest_answer(user: str, password: str, method: str, uri: str, challenge: str) -> str:
    """A Digest answer to `challenge` as a client that keeps the nonce computes it (RFC 7616, MD5, qop=auth)."""
    f = urllib.request.parse_keqv_list(urllib.request.parse_http_list(challenge.partition(" ")[2]))

    def h(text: str) -> str:
        return hashlib.md5(text.encode()).hexdigest()

    a1, a2, nc, cnonce = h(f"{user}:{f['realm']}:{password}"), h(f"{method}:{uri}"), "00000001", "0a4f113b"
    response = h(f"{a1}:{f['nonce']}:{nc}:{cnonce}:auth:{a2}")
    return (
        f'Digest username="{user}", realm="{f["realm"]}", nonce="{f["nonce"]}", uri="{uri}", response="{response}", '
        f'qop=auth, nc={nc}, cnonce="{cnonce}", algorithm=MD5'
    )


def digest_client(url: str, user: str) -> urllib.request.OpenerDirector:
    """What a client of a Digest server does: challenged first, it answers with the password (urllib's handler)."""
    passwords = urllib.request.HTTPPasswordMgrWithDefaultRealm()
    passwords.add_password(None, url, user, DigestStore.USERS[user])
    return urllib.request.build_opener(urllib.request.ProxyHandler({}), urllib.request.HTTPDigestAuthHandler(passwords))


def test_digest_answers_need_each_account_s_password_once_and_answer_the_verified_provider_s_challenges(tmp_path):
    """...and an answer the provider refused when recorded (a wrong password) is refused again: sent with a made-up
    password, never answered with the account's."""

    def status(opener, method: str, target: str, body: dict | None = None) -> int:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(target, data=data, method=method, headers={"Content-Type": "application/json"})
        try:
            with opener.open(request, timeout=30) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code

    def exercise(url):
        alice, bob = digest_client(url, "alice"), digest_client(url, "bob")
        for item in ("a", "b", "c"):
            assert status(alice, "PUT", f"{url}/items/{item}", {"name": item}) == 200
            assert status(alice, "GET", f"{url}/items/{item}") == 200
        assert status(bob, "GET", f"{url}/items/a") == 200
        assert status(bob, "PUT", f"{url}/items/d", {"name": "d"}) == 403
        assert status(alice, "GET", f"{url}/items/zzz") == 404
        # a script that reuses the nonce it was given, with a wrong password: refused (401), and so in the pact
        challenge = send(url, "GET", "/items/a")[1]["WWW-Authenticate"]
        wrong = digest_answer("alice", "not-her-password", "DELETE", "/items/a", challenge)
        assert send(url, "DELETE", "/items/a", headers={"Authorization": wrong})[0] == 401

    out = tmp_path / "pacts"
    with provider_serving(DigestStore) as url:
        record_through(recorder_args(url, out), exercise)
    pact = out / PACT_NAME
    text = pact.read_text() + (out / PACT_NAME.replace(".json", ".states.yaml")).read_text()
    assert "response=" not in text and not any(pw in text for pw in DigestStore.USERS.values())
    with provider_serving(DigestStore) as url:
        args = [CLI, "verify", str(pact), "--provider-url", url, "--states-from-recording"]
        without = subprocess.run(args, capture_output=True, text=True, timeout=120)
        given = [f"--secret=password={DigestStore.USERS['alice']}", f"--secret=password_2={DigestStore.USERS['bob']}"]
        answered = subprocess.run([*args, *given], capture_output=True, text=True, timeout=120)
    assert without.returncode == 2
    needs = sorted(line.split(":")[0].strip() for line in without.stderr.splitlines() if line.startswith("  "))
    assert needs == ["password", "password_2"], without.stderr
    assert "'alice'" in without.stderr and "'bob'" in without.stderr and "Digest" in without.stderr
    assert green(answered), answered.stdout + answered.stderr


# -- resources named in a header --------------------------------------------------------------------


class Dav(Provider):
    """WebDAV's core: collections (MKCOL) hold files; COPY takes an absolute Destination on this server's
    own host (502 otherwise, as servers compare it with Host) into a collection that must exist."""

    def parent_exists(self, path: str) -> bool:
        parent = path.rstrip("/").rpartition("/")[0]
        return parent == "" or parent + "/" in self.store

    def do_MKCOL(self):  # noqa: N802
        with self.lock:
            if self.path in self.store or not self.parent_exists(self.path):
                return self.send_bytes(405 if self.path in self.store else 409)
            self.store[self.path] = None
        self.send_bytes(201)

    def do_PUT(self):  # noqa: N802
        data = self.body()
        with self.lock:
            if not self.parent_exists(self.path):
                return self.send_bytes(409)
            there = self.path in self.store
            self.store[self.path] = data
        self.send_bytes(204 if there else 201)

    def do_GET(self):  # noqa: N802
        data = self.store.get(self.path)
        if data is None:
            return self.send_bytes(404)
        self.send_bytes(200, data, {"Content-Type": "text/plain"})

    def do_COPY(self):  # noqa: N802
        destination = urlsplit(self.headers.get("Destination", ""))
        if destination.netloc != self.headers.get("Host"):
            return self.send_bytes(502)
        with self.lock:
            if self.store.get(self.path) is None:
                return self.send_bytes(404)
            if not self.parent_exists(destination.path):
                return self.send_bytes(409)
            there = destination.path in self.store
            self.store[destination.path] = self.store[self.path]
        self.send_bytes(204 if there else 201)

    def do_DELETE(self):  # noqa: N802
        with self.lock:
            gone = [p for p in self.store if p == self.path or p.startswith(self.path.rstrip("/") + "/")]
            for p in gone:
                del self.store[p]
        self.send_bytes(204 if gone else 404)


def test_a_copy_to_a_url_of_the_provider_is_set_up_with_its_source_and_destination_collections(tmp_path):
    def exercise(url):
        host = urlsplit(url).netloc
        assert send(url, "MKCOL", "/a/")[0] == 201
        assert send(url, "PUT", "/a/f.txt", b"hello", {"Content-Type": "text/plain"})[0] == 201
        assert send(url, "MKCOL", "/b/")[0] == 201
        assert send(url, "COPY", "/a/f.txt", headers={"Destination": f"http://{host}/b/f.txt"})[0] == 201
        assert send(url, "GET", "/b/f.txt")[2] == b"hello"

    pact, result = first_contact(tmp_path, Dav, exercise)
    assert green(result), result.stdout + result.stderr


class Linked(Provider):
    """Takes URLs of itself in requests, as object stores and hypermedia APIs do: a copy whose source URL it
    fetches (502 when it cannot), a link in a JSON body and a `?of=URL` query it checks against its own
    host and store (400 otherwise)."""

    def own(self, url: str) -> bool:
        parts = urlsplit(url)
        return parts.netloc == self.headers.get("Host") and parts.path in self.store

    def do_PUT(self):  # noqa: N802
        data, source = self.body(), self.headers.get("Copy-Source")
        if source is not None:
            try:
                with urllib.request.urlopen(source, timeout=10) as answer:
                    data = answer.read()
            except OSError:
                return self.send_bytes(502)
        with self.lock:
            self.store[self.path] = data
        self.send_bytes(201)

    def do_GET(self):  # noqa: N802
        path, _, query = self.path.partition("?")
        if path == "/links":
            return self.send_bytes(200 if self.own(dict(parse_qsl(query)).get("of", "")) else 400)
        data = self.store.get(path)
        self.send_bytes(404) if data is None else self.send_bytes(200, data, {"Content-Type": "text/plain"})

    def do_POST(self):  # noqa: N802
        link = json.loads(self.body()).get("target", "")
        self.send_json(201 if self.own(link) else 400, {"target": link})

    def do_DELETE(self):  # noqa: N802
        with self.lock:
            gone = self.store.pop(self.path, None)
        self.send_bytes(404 if gone is None else 204)


def test_a_url_of_the_provider_as_the_consumer_reached_it_names_the_verified_provider(tmp_path):
    def exercise(url):
        assert send(url, "PUT", "/a.txt", b"hello", {"Content-Type": "text/plain"})[0] == 201
        assert send(url, "PUT", "/b.txt", headers={"Copy-Source": f"{url}/a.txt"})[0] == 201
        assert send(url, "GET", "/b.txt")[2] == b"hello"
        link = json.dumps({"target": f"{url}/a.txt"}).encode()
        assert send(url, "POST", "/links", link, {"Content-Type": "application/json"})[0] == 201
        assert send(url, "GET", "/links?of=" + quote(f"{url}/b.txt", safe=""))[0] == 200

    pact, result = first_contact(tmp_path, Linked, exercise)
    assert green(result), result.stdout + result.stderr
    reached = pact["metadata"]["pactRecorder"]["providerReachedAt"]
    assert len(reached) == 1 and reached[0].startswith("127.0.0.1:"), reached
    # the contract asks for the source's path on whatever host the consumer reaches: a re-recording through
    # another port, or the consumer against a mock, sends the same contract
    copy = next(i for i in pact["interactions"] if "Copy-Source" in i["request"].get("headers", {}))
    rule = copy["request"]["matchingRules"]["header"]["Copy-Source"]["matchers"]
    assert rule == [{"match": "regex", "regex": r"^https?://[^/]+/a\.txt$"}], rule


class Batches(Provider):
    """Takes a batch of records as JSON (400 without one)."""

    def do_POST(self):  # noqa: N802
        try:
            records = json.loads(self.body())["records"]
        except (ValueError, KeyError):
            return self.send_json(400, {"error": "no records"})
        self.send_json(201, {"added": len(records)})


def test_a_request_body_over_max_body_is_said_at_verify_time_not_sent_empty_silently(tmp_path):
    out = tmp_path / "pacts"
    batch = json.dumps({"records": [{"id": i, "text": "x" * 40} for i in range(100)]}).encode()  # ~6 KB
    with provider_serving(Batches) as url:
        record_through(
            recorder_args(url, out, "--max-body", "1k"),
            lambda u: send(u, "POST", "/batches", batch, {"Content-Type": "application/json"}),
        )
    result = verify_against(tmp_path, Batches.fresh())
    notes = [line for line in result.stdout.splitlines() if line.startswith("  NOTE")]
    assert notes == [
        "  NOTE  'POST /batches returns 201': its request body was larger than --max-body when recorded and is not "
        "in the pact, so the verifier sent none (record again with a larger --max-body)"
    ], result.stdout


def test_a_reset_the_provider_refuses_is_said_once_with_its_answer(tmp_path):
    def exercise(url):
        assert send(url, "PUT", "/photos")[0] == 200
        assert send(url, "PUT", "/photos/cat.txt", b"meow", {"Content-Type": "text/plain"})[0] == 200
        assert send(url, "GET", "/photos/cat.txt")[0] == 200

    out = tmp_path / "pacts"
    with provider_serving(Objects) as url:
        record_through(recorder_args(url, out), exercise)
    with provider_serving(Objects) as url:
        reset = f"{url}/admin/reset"
        result = cli(
            "verify", str(out / PACT_NAME), "--provider-url", url, "--states-from-recording", "--reset-url", reset
        )
    notes = [line for line in result.stdout.splitlines() if line.startswith("  NOTE")]
    assert len(notes) == 1 and notes[0].startswith(f"  NOTE  the reset POST {reset} answered 501: <!DOCTYPE"), notes


# -- request bodies as sent -------------------------------------------------------------------------


class XmlQueries(Provider):
    """Reads an XML request body whatever its Content-Type says (none, or a form's), 400 when it does
    not parse: what object stores and WebDAV servers do."""

    def do_POST(self):  # noqa: N802
        try:
            root = ElementTree.fromstring(self.body())
        except ElementTree.ParseError:
            return self.send_json(400, {"error": "MalformedXML"})
        self.send_json(200, {"root": root.tag, "keys": [k.text for k in root.iter("Key")]})


def test_a_request_body_without_a_content_type_or_under_a_wrong_one_is_sent_as_it_was(tmp_path):
    query = b"<?xml version='1.0' encoding='utf-8'?><Delete><Object><Key>a b</Key></Object></Delete>"

    def exercise(url):
        assert send(url, "POST", "/photos?delete", query)[0] == 200
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        assert send(url, "POST", "/search", b"<?xml version='1.0'?><Find><Key>x</Key></Find>", form)[0] == 200

    pact, result = first_contact(tmp_path, XmlQueries, exercise)
    bodies = {i["request"]["path"]: i["request"]["body"] for i in pact["interactions"]}
    assert bodies["/photos"]["content"] == query.decode()
    assert bodies["/search"]["content"] == "<?xml version='1.0'?><Find><Key>x</Key></Find>"
    assert green(result), result.stdout + result.stderr


# -- operations named in a header -------------------------------------------------------------------


class Rpc(Provider):
    """An RPC over one URL: the operation is named in X-Amz-Target, the bodies of two have the same keys."""

    def do_POST(self):  # noqa: N802
        args = json.loads(self.body())
        match self.headers.get("X-Amz-Target", "").rpartition(".")[2]:
            case "Add":
                return self.send_json(200, {"sum": args["a"] + args["b"]})
            case "Multiply":
                return self.send_json(200, {"product": args["a"] * args["b"]})
        self.send_json(400, {"__type": "UnknownOperationException"})


def test_operations_named_in_a_header_are_interactions_of_their_own(tmp_path):
    def exercise(url):
        for op in ("Add", "Multiply"):
            headers = {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": f"Calc_2024.{op}"}
            assert send(url, "POST", "/", json.dumps({"a": 3, "b": 4}).encode(), headers)[0] == 200

    pact, result = first_contact(tmp_path, Rpc, exercise)
    targets = sorted(i["request"]["headers"]["X-Amz-Target"] for i in pact["interactions"])
    assert targets == [["Calc_2024.Add"], ["Calc_2024.Multiply"]]
    assert {i["description"] for i in pact["interactions"]} == {
        "POST / returns 200 (Calc_2024.Add)",
        "POST / returns 200 (Calc_2024.Multiply)",
    }
    assert green(result), result.stdout + result.stderr


class JsonRpc(Provider):
    """JSON-RPC over one URL: the operation is the body's `method`; `add` hands out an id that `tell` and
    `remove` take among their `params`."""

    def do_POST(self):  # noqa: N802
        call = json.loads(self.body())
        params, answer = call["params"], {"jsonrpc": "2.0", "id": call["id"]}
        with self.lock:
            match call["method"]:
                case "dl.add":
                    gid = uuid.uuid4().hex[:16]
                    self.store[gid] = {"uri": params[0], "status": "active"}
                    return self.send_json(200, answer | {"result": gid})
                case "dl.tell" if params[0] in self.store:
                    return self.send_json(200, answer | {"result": {"gid": params[0], **self.store[params[0]]}})
                case "dl.list":
                    return self.send_json(200, answer | {"result": [{"gid": g, **d} for g, d in self.store.items()]})
                case "dl.remove" if params[0] in self.store:
                    del self.store[params[0]]
                    return self.send_json(200, answer | {"result": "OK"})
        self.send_json(400, answer | {"error": {"code": 1, "message": "not found"}})


def test_operations_named_in_a_json_rpc_body_are_interactions_of_their_own(tmp_path):
    def exercise(url):
        def call(method, *params):
            body = json.dumps({"jsonrpc": "2.0", "id": -1, "method": method, "params": list(params)}).encode()
            return json.loads(send(url, "POST", "/jsonrpc", body, {"Content-Type": "application/json"})[2])

        gid = call("dl.add", "http://127.0.0.1:9/file.iso")["result"]
        assert call("dl.tell", gid)["result"]["status"] == "active"
        assert [d["gid"] for d in call("dl.list")["result"]] == [gid]
        assert call("dl.remove", gid)["result"] == "OK"

    pact, result = first_contact(tmp_path, JsonRpc, exercise)
    assert sorted(i["description"] for i in pact["interactions"]) == [
        "POST /jsonrpc returns 200 (dl.add; body id, jsonrpc, method, params)",
        "POST /jsonrpc returns 200 (dl.list; body id, jsonrpc, method, params)",
        "POST /jsonrpc returns 200 (dl.remove; body id, jsonrpc, method, params)",
        "POST /jsonrpc returns 200 (dl.tell; body id, jsonrpc, method, params)",
    ]
    rules = [i["request"]["matchingRules"]["body"]["$.method"] for i in pact["interactions"]]
    assert all(r["matchers"] == [{"match": "equality"}] for r in rules), rules
    states = {s["name"] for i in pact["interactions"] for s in i.get("providerStates", [])}
    # the URL is no resource of its own: what the calls need is what earlier calls handed out
    assert states == {"values handed out by earlier responses", "what earlier writes handed out exists"}, states
    assert green(result), result.stdout + result.stderr


class Commands(Provider):
    """A command envelope over one URL: the operation is the body's `command`, beside the `service` it is for and,
    for some, its `arguments`; every answer is a list of results answered 200 whatever they say (1 an error, 2 a
    command the service does not know, 3 nothing found)."""

    def do_POST(self):  # noqa: N802
        call = json.loads(self.body())
        args = call.get("arguments", {})
        with self.lock:
            match call["command"]:
                case "version-get":
                    answer = {"result": 0, "text": "2.2.0"}
                case "status-get":
                    answer = self.status()
                case "item-add" if args.get("name") in self.store:
                    answer = {"result": 1, "text": "item already exists"}
                case "item-add":
                    self.store[args["name"]] = args.get("value", "")
                    answer = {"result": 0, "text": f"item {args['name']} added"}
                case "item-get" if args.get("name") in self.store:
                    answer = {"result": 0, "arguments": {"name": args["name"], "value": self.store[args["name"]]}}
                case "item-get":
                    answer = {"result": 3, "text": "no such item"}
                case other:
                    answer = {"result": 2, "text": f"'{other}' command not supported"}
        self.send_json(200, [answer])

    def status(self) -> dict:
        return {"result": 0, "arguments": {"pid": 4242, "uptime": 17}}


class CommandsWithoutStatus(Commands):
    """The same API where `status-get` is no command the service knows any more."""

    def status(self) -> dict:
        return {"result": 2, "text": "'status-get' command not supported"}


def command(url: str, operation: str, /, **arguments: str) -> dict:
    """One command in an envelope to `Commands`, as kea-shell sends it; the service's answer."""
    body = {"command": operation, "service": ["store"]} | ({"arguments": arguments} if arguments else {})
    answer = send(url, "POST", "/", json.dumps(body).encode(), {"Content-Type": "application/json"})
    return json.loads(answer[2])[0]


def test_operations_named_in_a_command_envelope_are_interactions_whose_answers_are_checked(tmp_path):
    def exercise(url):
        call = partial(command, url)
        assert call("version-get")["text"] == "2.2.0"
        assert call("status-get")["arguments"]["uptime"] == 17
        assert call("item-add", name="alpha", value="one")["result"] == 0
        assert call("item-get", name="alpha")["arguments"]["value"] == "one"

    pact, result = first_contact(tmp_path, Commands, exercise)
    by = {i["description"]: i for i in pact["interactions"]}
    assert sorted(by) == [
        "POST / returns 200 (item-add; body arguments, command, service)",
        "POST / returns 200 (item-get; body arguments, command, service)",
        "POST / returns 200 (status-get; body command, service)",
        "POST / returns 200 (version-get; body command, service)",
    ], sorted(by)
    rules = [i["request"]["matchingRules"]["body"]["$.command"] for i in pact["interactions"]]
    assert all(r["matchers"] == [{"match": "equality"}] for r in rules), rules
    # each command's answer is its own: the status's arguments are in every answer it gave
    status = by["POST / returns 200 (status-get; body command, service)"]["response"]["body"]["content"]
    assert status == [{"result": 0, "arguments": {"pid": 4242, "uptime": 17}}], status
    assert green(result), result.stdout + result.stderr
    # a provider that no longer knows one command breaks that command's interaction, and only it
    red_in_one_interaction(tmp_path, CommandsWithoutStatus, "status-get")


class CommandsReadOnly(Commands):
    """The same API refusing every addition, answered 200 as ever: `[{"result": 1, "text": "read-only"}]`."""

    def do_POST(self):  # noqa: N802
        if json.loads(self.body())["command"] == "item-add":
            return self.send_json(200, [{"result": 1, "text": "the store is read-only"}])
        super().do_POST()


def test_an_outcome_code_answered_200_is_part_of_the_contract_and_a_refusal_an_interaction_of_its_own(tmp_path):
    def exercise(url):
        call = partial(command, url)
        assert call("item-add", name="alpha", value="one")["result"] == 0
        assert call("item-add", name="alpha", value="two")["result"] == 1  # it exists
        assert call("item-get", name="alpha")["arguments"]["value"] == "one"
        assert call("item-get", name="beta")["result"] == 3  # nothing found

    pact, result = first_contact(tmp_path, Commands, exercise)
    by = {i["description"]: i for i in pact["interactions"]}
    assert sorted(by) == [
        "POST / returns 200 (item-add; body arguments, command, service)",
        "POST / returns 200 (item-get; body arguments, command, service)",
        "POST / returns 200 with error (item-add; body arguments, command, service)",
        "POST / returns 200 with error (item-get; body arguments, command, service)",
    ], sorted(by)
    outcomes = [
        ("item-add", "", 0),
        ("item-add", " with error", 1),
        ("item-get", "", 0),
        ("item-get", " with error", 3),
    ]
    for operation, outcome, code in outcomes:
        answer = by[f"POST / returns 200{outcome} ({operation}; body arguments, command, service)"]["response"]
        assert answer["body"]["content"][0]["result"] == code, answer
        assert answer["matchingRules"]["body"]["$[*].result"]["matchers"] == [{"match": "equality"}], answer
    # the item read is set up by its addition, the refused addition too; a found item's answer keeps its arguments
    found = by["POST / returns 200 (item-get; body arguments, command, service)"]["response"]["body"]["content"]
    assert found == [{"result": 0, "arguments": {"name": "alpha", "value": "one"}}], found
    assert green(result), result.stdout + result.stderr
    # a provider that refuses every addition (200, result 1) is red where an addition succeeded
    refused = verify_against(tmp_path, CommandsReadOnly.fresh())
    assert refused.returncode == 1, refused.stdout + refused.stderr
    failed = [line for line in refused.stdout.splitlines() if line.strip().startswith(("FAIL", "STATE"))]
    assert any("(item-add; body" in line for line in failed), refused.stdout


# -- operations named in a parameter's value --------------------------------------------------------


class ActionApi(Provider):
    """One URL, the operation in a parameter's value: reads `GET /api?action=query&list=allpages` (or
    `list=recentchanges`) and `?action=parse&page=`, writes form POSTs `action=edit` and `action=delete`; each
    operation answers a shape of its own, refusals 200 with `{"error": ...}`."""

    revision = "revid"  # what a recent change calls its revision

    def do_GET(self):  # noqa: N802
        self.answer(dict(parse_qsl(urlsplit(self.path).query)))

    def do_POST(self):  # noqa: N802
        self.answer(dict(parse_qsl(self.body().decode())))

    def answer(self, params: dict[str, str]) -> None:
        with self.lock:
            pages, changes = self.store.setdefault("pages", {}), self.store.setdefault("changes", [])
            match params.get("action"), params.get("list"), params.get("title") or params.get("page"):
                case "query", "allpages", _:
                    found = [{"pageid": p["id"], "title": t} for t, p in sorted(pages.items())]
                    return self.send_json(200, {"batchcomplete": "", "query": {"allpages": found}})
                case "query", "recentchanges", _:
                    found = [{"type": kind, "title": t, self.revision: rev} for kind, t, rev in changes]
                    return self.send_json(200, {"batchcomplete": "", "query": {"recentchanges": found}})
                case "parse", _, title if title in pages:
                    text = pages[title]["text"]
                    return self.send_json(200, {"parse": {"title": title, "pageid": pages[title]["id"], "text": text}})
                case "edit", _, title if title:
                    self.store["rev"] = rev = self.store.get("rev", 0) + 1
                    page = pages.setdefault(title, {"id": len(pages) + 1})
                    page["text"] = params.get("text", "")
                    changes.append(("edit", title, rev))
                    answer = {"result": "Success", "pageid": page["id"], "title": title, "newrevid": rev}
                    return self.send_json(200, {"edit": answer})
                case "delete", _, title if title in pages:
                    del pages[title]
                    changes.append(("log", title, 0))
                    return self.send_json(200, {"delete": {"title": title, "reason": params.get("reason", "")}})
        self.send_json(200, {"error": {"code": "badvalue", "info": f"no such operation: {params}"}})


class ActionApiRenamed(ActionApi):
    """The same API whose recent changes call the revision `revision`: a breaking change of one operation."""

    revision = "revision"


def exercise_action_api(url: str) -> None:
    form = {"Content-Type": "application/x-www-form-urlencoded"}

    def call(method: str, **params: str) -> dict:
        if method == "GET":
            answered = send(url, "GET", "/api?" + urlencode(params))
        else:
            answered = send(url, "POST", "/api", urlencode(params).encode(), form)
        assert answered[0] == 200 and "error" not in (body := json.loads(answered[2])), answered
        return body

    for title in ("Alpha", "Beta"):
        assert call("POST", action="edit", title=title, text=f"About {title}")["edit"]["result"] == "Success"
    assert call("GET", action="parse", page="Alpha")["parse"]["title"] == "Alpha"
    assert [p["title"] for p in call("GET", action="query", list="allpages")["query"]["allpages"]] == ["Alpha", "Beta"]
    assert call("POST", action="delete", title="Beta", reason="done")["delete"]["title"] == "Beta"
    assert len(call("GET", action="query", list="recentchanges")["query"]["recentchanges"]) == 3


def test_operations_named_in_a_parameter_s_value_are_interactions_whose_answers_are_checked(tmp_path):
    pact, result = first_contact(tmp_path, ActionApi, exercise_action_api)
    by = {i["description"]: i for i in pact["interactions"]}
    assert sorted(by) == [
        "GET /api action=parse returns 200",
        "GET /api action=query list=allpages returns 200",
        "GET /api action=query list=recentchanges returns 200",
        "POST /api action=delete returns 200",
        "POST /api action=edit returns 200",
    ]
    # each operation's answer is its own, checked field by field (not `{}`, a shape pooled over the URL)
    changes = by["GET /api action=query list=recentchanges returns 200"]
    assert changes["response"]["body"]["content"]["query"]["recentchanges"][0]["revid"] == 1
    assert "$.query.recentchanges[*].revid" in changes["response"]["matchingRules"]["body"]
    assert by["POST /api action=edit returns 200"]["response"]["body"]["content"]["edit"]["result"] == "Success"
    # the operation is pinned: in the query, and in the form body
    assert changes["request"]["matchingRules"]["query"]["list"]["matchers"] == [{"match": "equality"}]
    delete = by["POST /api action=delete returns 200"]["request"]
    assert delete["matchingRules"]["body"]["$.action"]["matchers"] == [{"match": "equality"}]
    # judged by the core: a request for one operation is accepted by its interaction and by no other
    with CoreMatcher(pact["interactions"]) as match:
        accepting = match.accepting("GET", "/api", "action=query&list=allpages", {}, b"")
        assert [pact["interactions"][n]["description"] for n in accepting] == [
            "GET /api action=query list=allpages returns 200"
        ]
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        assert match.accepting("POST", "/api", "", form, b"action=edit&title=Beta&reason=done") == []
    assert green(result), result.stdout + result.stderr
    # a provider that renames a field one operation answers breaks that operation's interaction, and only it
    red_in_one_interaction(tmp_path, ActionApiRenamed, "list=recentchanges")


class ResultCodes(Provider):
    """RPC with the function as the path's last word (`POST /api/createNote`, `/api/getNote`, `/api/deleteNote`),
    parameters in form bodies, and every answer 200 in an envelope: `{"code": 0, "message": "ok", "data": ...}`,
    a refusal `{"code": 1, "message": "noteID does not exist", "data": null}`."""

    forgetful = False  # a broken provider: every note is refused to getNote and deleteNote

    def do_POST(self):  # noqa: N802
        params, function = dict(parse_qsl(self.body().decode())), self.path.rpartition("/")[2]
        with self.lock:
            if function == "createNote":
                self.store[note := f"n.{uuid.uuid4().hex[:12]}"] = params.get("text", "")
                return self.send_json(200, {"code": 0, "message": "ok", "data": {"noteID": note}})
            if (note := params.get("noteID")) in self.store and not self.forgetful:
                if function == "getNote":
                    text = self.store[note]
                    return self.send_json(200, {"code": 0, "message": "ok", "data": {"text": text, "size": len(text)}})
                if function == "deleteNote":
                    del self.store[note]
                    return self.send_json(200, {"code": 0, "message": "ok", "data": None})
        self.send_json(200, {"code": 1, "message": "noteID does not exist", "data": None})


class ResultCodesForgetful(ResultCodes):
    forgetful = True


def test_a_call_refused_with_200_and_a_result_code_is_an_interaction_apart_from_its_successes(tmp_path):
    def exercise(url):
        def call(function: str, **params: str) -> dict:
            form = {"Content-Type": "application/x-www-form-urlencoded"}
            status, _, body = send(url, "POST", f"/api/{function}", urlencode(params).encode(), form)
            assert status == 200, (status, body)
            return json.loads(body)

        note = call("createNote", text="first note")["data"]["noteID"]
        assert call("getNote", noteID=note)["data"]["text"] == "first note"
        assert call("getNote", noteID="n.000000000000")["code"] == 1
        assert call("deleteNote", noteID=note)["code"] == 0
        assert call("getNote", noteID=note)["message"] == "noteID does not exist"

    pact, result = first_contact(tmp_path, ResultCodes, exercise)
    by = {i["description"]: i for i in pact["interactions"]}
    assert sorted(by) == [
        "POST /api/createNote returns 200",
        "POST /api/deleteNote returns 200",
        "POST /api/getNote returns 200",
        "POST /api/getNote returns 200 with error",
    ]
    # the success's answer is its own, its data checked (not left out as "null or object" beside the refusals')
    got = by["POST /api/getNote returns 200"]["response"]
    assert got["body"]["content"]["data"]["text"] == "first note"
    assert "$.data.text" in got["matchingRules"]["body"]
    assert by["POST /api/getNote returns 200 with error"]["response"]["body"]["content"]["code"] == 1
    assert green(result), result.stdout + result.stderr
    # the success's result code is pinned (its refusals answer the same envelope with another code)
    assert by["POST /api/deleteNote returns 200"]["response"]["matchingRules"]["body"]["$.code"]["matchers"] == [
        {"match": "equality"}
    ]
    # a provider that refuses every call on a note with code 1 no longer verifies: the successes' interactions fail,
    # the read's for its data, the delete's (no data either way) for its code; the refusal's passes
    broken = verify_against(tmp_path, ResultCodesForgetful.fresh())
    failed = [line.split()[2] for line in broken.stdout.splitlines() if line.strip().startswith("FAIL")]
    assert broken.returncode == 1 and failed == ["/api/deleteNote", "/api/getNote"], broken.stdout
    assert "getNote returns 200 with error" in broken.stdout, broken.stdout


class NotesQuota(ResultCodes):
    """The same RPC holding at most two notes at a time (a third is refused with code 1), with `setNote`."""

    def do_POST(self):  # noqa: N802
        params, function = dict(parse_qsl(self.body().decode())), self.path.rpartition("/")[2]
        if function == "createNote" and len(self.store) >= 2:
            return self.send_json(200, {"code": 1, "message": "quota: two notes", "data": None})
        if function == "setNote" and params.get("noteID") in self.store:
            self.store[params["noteID"]] = params.get("text", "")
            return self.send_json(200, {"code": 0, "message": "ok", "data": None})
        super().do_POST()


def test_what_a_function_in_the_path_made_is_undone_as_the_consumer_deleted_such_a_thing(tmp_path):
    """The read's setup makes a note, the update's another: with the note the create interaction itself made,
    the quota is full unless the read's is gone. Only the consumer's own `deleteNote`, sent with the id that
    setup's note got, frees room (no path names a note, so no DELETE could)."""

    def exercise(url):
        def call(function: str, **params: str) -> dict:
            form = {"Content-Type": "application/x-www-form-urlencoded"}
            return json.loads(send(url, "POST", f"/api/{function}", urlencode(params).encode(), form)[2])

        first = call("createNote", text="first")["data"]["noteID"]
        assert call("getNote", noteID=first)["data"]["text"] == "first"
        second = call("createNote", text="second")["data"]["noteID"]
        assert call("setNote", noteID=second, text="2nd")["code"] == 0
        for note in (first, second):
            assert call("deleteNote", noteID=note)["code"] == 0

    _, result = first_contact(tmp_path, NotesQuota, exercise)
    assert green(result), result.stdout + result.stderr
    assert "deleteNote" in (tmp_path / "pacts" / PACT_NAME).with_suffix(".states.yaml").read_text().split("undo:")[1]


class ChosenNotes(NotesQuota):
    """The same, each note made under the id the consumer chose (`createNote noteID=alpha`)."""

    def do_POST(self):  # noqa: N802
        params, function = dict(parse_qsl(self.body().decode())), self.path.rpartition("/")[2]
        if function == "createNote" and len(self.store) < 2 and params.get("noteID") not in self.store:
            self.store[params["noteID"]] = params.get("text", "")
            return self.send_json(200, {"code": 0, "message": "ok", "data": None})
        super().do_POST()


def test_what_a_function_made_under_a_name_the_consumer_chose_is_undone_by_that_name(tmp_path):
    def exercise(url):
        def call(function: str, **params: str) -> dict:
            form = {"Content-Type": "application/x-www-form-urlencoded"}
            return json.loads(send(url, "POST", f"/api/{function}", urlencode(params).encode(), form)[2])

        assert call("createNote", noteID="alpha", text="first")["code"] == 0
        assert call("getNote", noteID="alpha")["data"]["text"] == "first"
        assert call("createNote", noteID="bravo", text="second")["code"] == 0
        assert call("setNote", noteID="bravo", text="2nd")["code"] == 0
        for note in ("alpha", "bravo"):
            assert call("deleteNote", noteID=note)["code"] == 0

    _, result = first_contact(tmp_path, ChosenNotes, exercise)
    assert green(result), result.stdout + result.stderr


class Services(Provider):
    """One URL, the service asked for in `?service=`: each answers an advertisement of its own, under a
    Content-Type of its own, in a binary format the recorder keeps only as its Content-Type."""

    def do_GET(self):  # noqa: N802
        service = dict(parse_qsl(urlsplit(self.path).query)).get("service", "")
        if service not in ("reader-pack", "writer-pack"):
            return self.send_bytes(403, b"no such service\n", {"Content-Type": "text/plain"})
        kind = self.kind(service)
        self.send_bytes(200, b"\x00\x01" + service.encode() + b"\x00", {"Content-Type": f"application/x-{kind}-ad"})

    def kind(self, service: str) -> str:
        return service


class ServicesMixedUp(Services):
    """The same URL answering every service with the reader's advertisement: what a writer reads is broken."""

    def kind(self, service: str) -> str:
        return "reader-pack"


def exercise_services(url: str) -> None:
    for service in ("reader-pack", "writer-pack", "reader-pack"):
        status, headers, _ = send(url, "GET", f"/repo/info?service={service}")
        assert status == 200 and headers["Content-Type"] == f"application/x-{service}-ad", (status, headers)


def test_the_service_a_query_parameter_names_is_an_operation_whose_answer_is_its_own(tmp_path):
    pact, result = first_contact(tmp_path, Services, exercise_services)
    assert sorted(i["description"] for i in pact["interactions"]) == [
        "GET /repo/info service=reader-pack returns 200",
        "GET /repo/info service=writer-pack returns 200",
    ]
    assert green(result), result.stdout + result.stderr
    # a provider that answers the writer with the reader's advertisement breaks the writer's interaction
    red_in_one_interaction(tmp_path, ServicesMixedUp, "service=writer-pack")


class Torrents(Provider):
    """An upload answered `Ok.` and nothing else: the item it made is named by the hash of what was
    uploaded, which only a later listing hands out; the item is then read by that hash in a form body."""

    def do_POST(self):  # noqa: N802
        body = self.body()
        with self.lock:
            if self.path == "/reset":  # (what a verify sends before each interaction: nothing is left over)
                self.store.clear()
                return self.send_bytes(204)
            if self.path == "/api/torrents/add":
                self.store[hashlib.sha1(body).hexdigest()] = len(body)
                return self.send_bytes(200, b"Ok.", {"Content-Type": "text/plain"})
            if self.path == "/api/torrents/info":
                return self.send_json(200, [{"hash": h, "size": n} for h, n in sorted(self.store.items())])
            found = self.store.get(dict(parse_qsl(body.decode()))["hash"])
            if found is not None and self.path == "/api/torrents/delete":
                del self.store[dict(parse_qsl(body.decode()))["hash"]]
                return self.send_bytes(200)
        if found is None:
            return self.send_bytes(404, b"Not Found", {"Content-Type": "text/plain"})
        self.send_json(200, {"files": [{"size": found}]})


def test_an_id_a_listing_hands_out_first_is_set_up_with_the_upload_beside_it_that_named_nothing(tmp_path):
    def exercise(url):
        assert send(url, "POST", "/reset")[0] == 204
        upload = b"d4:infod6:lengthi42e4:name8:file.isoee"
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        for again in (False, True):  # added, deleted by its hash, added again
            assert (
                send(url, "POST", "/api/torrents/add", upload, {"Content-Type": "application/x-bittorrent"})[0] == 200
            )
            (listed,) = json.loads(send(url, "POST", "/api/torrents/info")[2])
            if not again:
                assert send(url, "POST", "/api/torrents/delete", f"hash={listed['hash']}".encode(), form)[0] == 200
        assert send(url, "POST", "/api/torrents/files", f"hash={listed['hash']}".encode(), form)[0] == 200

    pact, result = first_contact(tmp_path, Torrents, exercise)
    assert green(result), result.stdout + result.stderr


class Preferences(Provider):
    """A global preference, set by a form POST answered with nothing, decides another call's outcome:
    moving an item in the queue is refused (409) while queueing is off."""

    def do_POST(self):  # noqa: N802
        body = dict(parse_qsl(self.body().decode()))
        with self.lock:
            if self.path == "/reset":
                self.store.clear()
                return self.send_bytes(204)
            if self.path == "/api/app/setPreferences":
                self.store.update(json.loads(body["json"]))
                return self.send_bytes(200)
        if not self.store.get("queueing_enabled", True):
            return self.send_bytes(409, b"Torrent queueing must be enabled", {"Content-Type": "text/plain"})
        self.send_bytes(200)


def test_a_call_answered_otherwise_after_a_preference_was_set_is_set_up_with_that_write(tmp_path):
    def exercise(url):
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        assert send(url, "POST", "/reset")[0] == 204
        assert send(url, "POST", "/api/torrents/bottomPrio", b"hashes=all", form)[0] == 200
        preferences = "json=" + quote(json.dumps({"queueing_enabled": False}))
        assert send(url, "POST", "/api/app/setPreferences", preferences.encode(), form)[0] == 200
        assert send(url, "POST", "/api/torrents/bottomPrio", b"hashes=all", form)[0] == 409

    pact, result = first_contact(tmp_path, Preferences, exercise)
    assert green(result), result.stdout + result.stderr
    refused = next(i for i in pact["interactions"] if i["response"]["status"] == 409)
    assert [s["name"] for s in refused["providerStates"]] == ["what earlier writes changed"], refused


class Tracking(Provider):
    """RPC-style paths, ids in JSON bodies and queries: an experiment's create hands out its id, a run's
    create sends that id in its body and hands out the run's and its artifact URI; a run is read by
    `?run_id=`, searched by a POST, deleted by a POST; a model version's source must lie under its run's
    artifact URI; artifacts are PUT under the run's id in their path (unchecked)."""

    artifacts: dict

    @classmethod
    def fresh(cls) -> type[Provider]:
        provider = super().fresh()
        provider.artifacts = {}
        return provider

    def do_POST(self):  # noqa: N802
        body = json.loads(self.body() or b"{}")
        with self.lock:
            if self.path == "/reset":
                self.store.clear()
                self.artifacts.clear()
                return self.send_bytes(204)
            if self.path == "/api/experiments/create":
                experiment = uuid.uuid4().hex[:8]
                self.store[experiment] = {"name": body["name"], "runs": {}}
                return self.send_json(200, {"experiment_id": experiment})
            if self.path == "/api/runs/delete":
                runs = [e["runs"] for e in self.store.values() if body["run_id"] in e["runs"]]
                if not runs:
                    return self.send_json(404, {"error_code": "RESOURCE_DOES_NOT_EXIST"})
                del runs[0][body["run_id"]]
                return self.send_json(200, {})
            if (experiment := self.store.get(body.get("experiment_id"))) is None:
                return self.send_json(404, {"error_code": "RESOURCE_DOES_NOT_EXIST"})
            if self.path == "/api/runs/search":  # a read sent as a POST, its query in the body
                return self.send_json(200, {"runs": [{"info": r} for r in experiment["runs"].values()]})
            if self.path == "/api/model-versions/create":  # its source must lie under the run's artifacts
                runs = [r for r in experiment["runs"].values() if body["source"].startswith(r["artifact_uri"] + "/")]
                if not runs:
                    return self.send_json(400, {"error_code": "INVALID_PARAMETER_VALUE"})
                return self.send_json(200, {"model_version": {"source": body["source"]}})
            run = uuid.uuid4().hex
            info = {"run_id": run, "experiment_id": body["experiment_id"], "artifact_uri": f"store:/{run}/artifacts"}
            experiment["runs"][run] = info
        self.send_json(200, {"run": {"info": info}})

    def do_PUT(self):  # noqa: N802
        with self.lock:
            self.artifacts[self.path] = self.body()
        self.send_bytes(200)

    def do_GET(self):  # noqa: N802
        if (artifact := self.artifacts.get(self.path)) is not None:
            return self.send_bytes(200, artifact, {"Content-Type": "text/plain"})
        run_id = dict(parse_qsl(urlsplit(self.path).query)).get("run_id")
        found = [e["runs"][run_id] for e in self.store.values() if run_id in e["runs"]]
        if not found:
            return self.send_json(404, {"error_code": "RESOURCE_DOES_NOT_EXIST"})
        self.send_json(200, {"run": {"info": found[0]}})


def test_ids_that_bodies_and_paths_send_an_id_inside_a_uri_and_what_a_post_search_answers_are_set_up(tmp_path):
    def exercise(url):
        assert send(url, "POST", "/reset")[0] == 204
        created = send(url, "POST", "/api/experiments/create", json.dumps({"name": "alpha"}).encode())
        experiment = json.loads(created[2])["experiment_id"]
        run = send(url, "POST", "/api/runs/create", json.dumps({"experiment_id": experiment}).encode())
        run_id = json.loads(run[2])["run"]["info"]["run_id"]
        assert send(url, "GET", f"/api/runs/get?run_id={run_id}")[0] == 200
        artifact = f"/api/artifacts/{experiment}/{run_id}/bundle/a.txt"
        assert send(url, "PUT", artifact, b"hello", {"Content-Type": "text/plain"})[0] == 200
        assert send(url, "GET", artifact)[2] == b"hello"
        version = {"experiment_id": experiment, "source": f"store:/{run_id}/artifacts/model"}
        assert send(url, "POST", "/api/model-versions/create", json.dumps(version).encode())[0] == 200
        search = send(url, "POST", "/api/runs/search", json.dumps({"experiment_id": experiment}).encode())
        assert [r["info"]["run_id"] for r in json.loads(search[2])["runs"]] == [run_id]
        assert send(url, "POST", "/api/runs/delete", json.dumps({"run_id": run_id}).encode())[0] == 200
        assert send(url, "GET", f"/api/runs/get?run_id={run_id}")[0] == 404

    pact, result = first_contact(tmp_path, Tracking, exercise)
    assert green(result), result.stdout + result.stderr
    # `/api/runs/get` is no item a state deletes first: the run its query names is what is gone.
    gone = next(i for i in pact["interactions"] if i["response"]["status"] == 404)
    assert not [s for s in gone["providerStates"] if s["name"].endswith("does not exist")], gone["providerStates"]


class Named(Provider):
    """Experiments created by a name in the body, which stays taken for good (no delete, no reset): a
    create of a taken name is refused (400); a tag is set on an experiment by the id its create handed out."""

    def do_POST(self):  # noqa: N802
        body = json.loads(self.body())
        with self.lock:
            if self.path == "/api/experiments/create":
                if body["name"] in {e["name"] for e in self.store.values()}:
                    return self.send_json(400, {"error_code": "RESOURCE_ALREADY_EXISTS"})
                self.store[experiment := uuid.uuid4().hex[:8]] = {"name": body["name"], "tags": {}}
                return self.send_json(200, {"experiment_id": experiment})
            if (found := self.store.get(body["experiment_id"])) is None:
                return self.send_json(404, {"error_code": "RESOURCE_DOES_NOT_EXIST"})
            found["tags"][body["key"]] = body["value"]
        self.send_json(200, {})


def create_and_tag(name: str, tag_call: str = "set-experiment-tag") -> Callable[[str], None]:
    """A consumer that creates an experiment by `name`, then tags it by the id its create handed out."""

    def exercise(url):
        created = send(url, "POST", "/api/experiments/create", json.dumps({"name": name}).encode())
        assert created[0] == 200
        tag = {"experiment_id": json.loads(created[2])["experiment_id"], "key": "team", "value": "search"}
        assert send(url, "POST", f"/api/experiments/{tag_call}", json.dumps(tag).encode())[0] == 200

    return exercise


def test_a_setup_create_refused_for_a_name_an_earlier_interaction_took_is_sent_again_with_a_fresh_name(tmp_path):
    pact, result = first_contact(tmp_path, Named, create_and_tag("harness-alpha"))
    assert green(result), result.stdout + result.stderr


def test_a_create_by_a_name_it_chooses_gets_a_fresh_one_where_an_earlier_setup_took_it(tmp_path):
    # RPC style, no reset, no delete: the tag's setup (verified first) creates "beta"; the create itself then
    # needs the name free.
    pact, result = first_contact(tmp_path, Named, create_and_tag("beta", "add-tag"))
    create = next(i for i in pact["interactions"] if i["request"]["path"].endswith("/create"))
    assert create["providerStates"] == [{"name": "the names it chooses are free", "params": {"name": "beta"}}]
    assert green(result), result.stdout + result.stderr


class Zones(Named):
    """The same with names that must stay domain names: a name that does not end in a dot is refused (422)."""

    def do_POST(self):  # noqa: N802
        if self.path.endswith("/create") and not json.loads(self.body())["name"].endswith("."):
            return self.send_json(422, {"error": "not a canonical domain name"})
        super().do_POST()


def test_a_fresh_name_keeps_the_form_of_the_name_it_replaces(tmp_path):
    pact, result = first_contact(tmp_path, Zones, create_and_tag("test-0704.org."))
    assert green(result), result.stdout + result.stderr


class Primaries(Provider):
    """REST: a zone is made by a POST answered 201 with the zone (its id), read at `/zones/ID`; an autoprimary
    is added by a POST answered 201 with nothing, and a second of the same is an error (500); a search
    answers 422 for an empty query."""

    def do_POST(self):  # noqa: N802
        body = json.loads(self.body())
        with self.lock:
            if self.path == "/api/autoprimaries":
                if body["ip"] in self.store.setdefault("primaries", set()):
                    return self.send_json(500, {"error": "already exists"})
                self.store["primaries"].add(body["ip"])
                return self.send_bytes(201)
            self.store.setdefault("zones", {})[body["name"]] = body
        self.send_json(201, {"id": body["name"], "kind": "Native"})

    def do_GET(self):  # noqa: N802
        if self.path.startswith("/api/search?"):
            q = dict(parse_qsl(urlsplit(self.path).query)).get("q", "")
            return self.send_json(200, []) if q else self.send_json(422, {"error": "empty query"})
        if (zone := self.store.get("zones", {}).get(self.path.rpartition("/")[2])) is None:
            return self.send_json(404, {"error": "no such zone"})
        self.send_json(200, zone)


class Taken(Primaries):
    """A zone's name is taken: a second create of it is refused (409)."""

    def do_POST(self):  # noqa: N802
        if self.path == "/api/zones" and json.loads(self.body())["name"] in self.store.get("zones", {}):
            return self.send_json(409, {"error": "conflict"})
        super().do_POST()


def test_a_write_that_named_nothing_is_no_setup_of_what_later_creations_made_themselves(tmp_path):
    def exercise(url):
        assert send(url, "GET", "/api/search?q=")[0] == 422
        primary = {"ip": "192.0.2.1", "nameserver": "ns.example.com"}
        assert send(url, "POST", "/api/autoprimaries", json.dumps(primary).encode())[0] == 201
        assert send(url, "GET", "/api/search?q=example")[0] == 200  # another query: no other answer to the same
        for zone in ("one.org.", "two.org."):
            assert send(url, "POST", "/api/zones", json.dumps({"name": zone}).encode())[0] == 201
            assert send(url, "GET", f"/api/zones/{zone}")[0] == 200

    pact, result = first_contact(tmp_path, Primaries, exercise)
    assert green(result), result.stdout + result.stderr


def test_a_create_refused_for_a_name_its_body_takes_again_is_set_up_with_that_item(tmp_path):
    def exercise(url):
        for status in (201, 409):
            assert send(url, "POST", "/api/zones", json.dumps({"name": "one.org."}).encode())[0] == status

    pact, result = first_contact(tmp_path, Taken, exercise)
    refused = next(i for i in pact["interactions"] if i["response"]["status"] == 409)
    assert [s["name"] for s in refused["providerStates"]] == ["zone exists"], refused["providerStates"]
    assert green(result), result.stdout + result.stderr


class Bases(Provider):
    """Indexes that inherit from others named by their path in the body (`{"bases": "ada/dev"}`, or a PATCH
    of settings `["bases=ada/dev,ada/mirror"]`): a base that does not exist is refused (400). No reset: a
    delete undoes an index."""

    def do_PATCH(self):  # noqa: N802
        settings = dict(item.partition("=")[::2] for item in json.loads(self.body()))
        self.body = lambda: json.dumps({"bases": settings.get("bases", "")}).encode()
        self.do_PUT()

    def do_PUT(self):  # noqa: N802
        bases = [b for b in json.loads(self.body()).get("bases", "").split(",") if b]
        with self.lock:
            if missing := [b for b in bases if "/" + b not in self.store]:
                return self.send_json(400, {"message": f"base index {missing[0]!r} does not exist"})
            self.store[self.path] = bases
        self.send_json(200, {"bases": bases})

    def do_GET(self):  # noqa: N802
        if self.path not in self.store:
            return self.send_json(404, {"message": "no such index"})
        self.send_json(200, {"bases": self.store[self.path]})

    def do_DELETE(self):  # noqa: N802
        with self.lock:
            found = self.store.pop(self.path, None)
        self.send_json(200 if found is not None else 404, {})


def test_a_resource_a_body_names_by_its_path_is_made_before_the_request_and_its_setup(tmp_path):
    def exercise(url):
        assert send(url, "PUT", "/ada/dev", b"{}")[0] == 200
        assert send(url, "PUT", "/ada/dev2", json.dumps({"bases": "ada/dev"}).encode())[0] == 200
        assert send(url, "GET", "/ada/dev2")[0] == 200
        assert send(url, "PUT", "/ada/mirror", b"{}")[0] == 200
        assert send(url, "PATCH", "/ada/dev2", json.dumps(["bases=ada/dev,ada/mirror"]).encode())[0] == 200

    pact, result = first_contact(tmp_path, Bases, exercise)
    assert green(result), result.stdout + result.stderr
    states = yaml.safe_load((tmp_path / "pacts" / PACT_NAME.replace(".json", ".states.yaml")).read_text())
    setups: dict[str, list[str]] = {}  # interaction -> the paths its states' setups write, in order
    for st in states["states"]:
        for i in st["interactions"]:
            setups.setdefault(i, []).extend(states["steps"][n]["path"] for n in st.get("setup", []))
    assert setups["GET /ada/dev2 returns 200"] == ["/ada/dev", "/ada/dev2"], setups
    assert setups["PUT /ada/dev2 returns 200"] == ["/ada/dev"], setups
    # a setting in a list (`bases=a,b`) names its resources too
    assert {"/ada/dev", "/ada/mirror"} <= set(setups["PATCH /ada/dev2 returns 200"]), setups


class Devices(Provider):
    """Connections keyed by the ids of the devices, and this instance's own id is new for every server."""

    def do_GET(self):  # noqa: N802
        me = self.store.setdefault("id", uuid.uuid4().hex.upper())
        self.send_json(200, {"connections": {me: {"connected": True, "address": "127.0.0.1:22000"}}, "myID": me})


def test_an_object_keyed_by_ids_is_a_map_whose_keys_match_by_their_format(tmp_path):
    def exercise(url):
        assert send(url, "GET", "/rest/system/connections")[0] == 200

    pact, result = first_contact(tmp_path, Devices, exercise)
    rules = pact["interactions"][0]["response"]["matchingRules"]["body"]
    assert [m["match"] for m in rules["$.connections"]["matchers"]] == ["eachKey", "eachValue"], rules
    assert green(result), result.stdout + result.stderr
    broken = verify_against(
        tmp_path, DevicesBroken.fresh()
    )  # a value that lost a field the contract holds is still red
    assert broken.returncode == 1 and "missing the following keys: connected" in broken.stdout, broken.stdout


class DevicesBroken(Provider):
    def do_GET(self):  # noqa: N802
        me = uuid.uuid4().hex.upper()
        self.send_json(200, {"connections": {me: {"address": "127.0.0.1:22000"}}, "myID": me})


class PackageIndex(Provider):
    """Uploads go to one URL as multipart/form-data (`name`, `version`, the file); a file is then read at
    `/packages/FILE` and listed at `/simple/NAME/`."""

    def do_POST(self):  # noqa: N802
        boundary = self.headers["Content-Type"].partition("boundary=")[2]
        parts = [chunk for chunk in self.body().split(b"--" + boundary.encode()) if b"Content-Disposition" in chunk]
        fields, files = {}, {}
        for part in parts:
            head, _, content = part.strip(b"\r\n").partition(b"\r\n\r\n")
            name = re.search(rb'name="([^"]+)"', head).group(1).decode()
            if filename := re.search(rb'filename="([^"]+)"', head):
                files[filename.group(1).decode()] = content
            else:
                fields[name] = content.decode()
        with self.lock:
            for filename, content in files.items():
                self.store[filename] = (fields["name"], content)
        self.send_bytes(200)

    def do_GET(self):  # noqa: N802
        file = self.path.removeprefix("/packages/")
        if file in self.store:
            return self.send_bytes(200, self.store[file][1], {"Content-Type": "application/octet-stream"})
        self.send_bytes(404, b"Not Found", {"Content-Type": "text/plain"})


def test_a_file_an_upload_named_in_a_multipart_part_is_set_up_by_that_upload(tmp_path):
    def exercise(url):
        boundary = "b0undary"
        body = "".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
            for k, v in ((":action", "file_upload"), ("name", "acme-greet"), ("version", "1.1.0"))
        ).encode()
        body += (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="content"; filename="acme_greet-1.1.0.tar.gz"'
                f"\r\nContent-Type: application/octet-stream\r\n\r\n"
            ).encode()
            + bytes(range(40))
            + f"\r\n--{boundary}--\r\n".encode()
        )
        headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        assert send(url, "POST", "/", body, headers)[0] == 200
        assert send(url, "GET", "/packages/acme_greet-1.1.0.tar.gz")[2] == bytes(range(40))

    pact, result = first_contact(tmp_path, PackageIndex, exercise)
    assert green(result), result.stdout + result.stderr
    read = next(i for i in pact["interactions"] if i["request"]["method"] == "GET")
    assert [s["name"] for s in read["providerStates"]] == ["values sent by earlier requests"], read


# -- a session id handed out in a header -------------------------------------------------------------


class Lifecycle(Provider):
    """RPC-style calls on experiments by the short id their create handed out: a tag is set and deleted
    (a delete of a tag it does not have is refused, 404); an experiment is deleted, then restored (a restore
    of one not deleted is refused, 404). No reset, no undo."""

    def do_POST(self):  # noqa: N802
        body = json.loads(self.body())
        with self.lock:
            if self.path == "/api/experiments/create":
                self.store[experiment := str(len(self.store) + 1)] = {"tags": {}, "deleted": False}
                return self.send_json(200, {"experiment_id": experiment})
            found = self.store.get(body["experiment_id"])
            action = self.path.rpartition("/")[2]
            if found is None or action == "delete-tag" and body["key"] not in found["tags"]:
                return self.send_json(404, {"error_code": "RESOURCE_DOES_NOT_EXIST"})
            if action == "restore" and not found["deleted"]:
                return self.send_json(404, {"error_code": "RESOURCE_DOES_NOT_EXIST"})
            if action == "set-tag":
                found["tags"][body["key"]] = body["value"]
            elif action == "delete-tag":
                del found["tags"][body["key"]]
            elif action in ("delete", "restore"):
                found["deleted"] = action == "delete"
        self.send_json(200, {})


def test_a_call_on_a_handed_out_id_is_set_up_with_what_earlier_calls_did_to_that_id(tmp_path):
    # RPC style: the id is the resource, and its history is the calls since its create that sent it.
    def exercise(url):
        def call(action: str, **body) -> int:
            return send(url, "POST", f"/api/experiments/{action}", json.dumps(body).encode())

        alpha = json.loads(call("create", name="alpha")[2])["experiment_id"]
        assert call("set-tag", experiment_id=alpha, key="priority", value="high")[0] == 200
        for n in range(8):  # later calls on the same id, which do not touch that tag
            assert call("set-tag", experiment_id=alpha, key=f"note{n}", value="x")[0] == 200
        assert call("delete-tag", experiment_id=alpha, key="priority")[0] == 200
        beta = json.loads(call("create", name="beta")[2])["experiment_id"]
        assert call("delete", experiment_id=beta)[0] == 200
        assert call("restore", experiment_id=beta)[0] == 200

    pact, result = first_contact(tmp_path, Lifecycle, exercise)
    assert green(result), result.stdout + result.stderr


class Handshake(Provider):
    """An RPC guarded against CSRF: a request without this server's session id (new for each server) is
    answered 409 with the id in a header, which the client sends back from then on."""

    session: str

    @classmethod
    def fresh(cls) -> type[Provider]:
        return type(cls.__name__, (super().fresh(),), {"session": uuid.uuid4().hex})

    def do_POST(self):  # noqa: N802
        call = json.loads(self.body())
        if self.headers.get("X-Session-Id") != self.session:
            return self.send_bytes(409, b"send the session id", {"X-Session-Id": self.session})
        self.send_json(200, self.answer(call))

    def answer(self, call: dict) -> dict:
        return {"result": "success", "method": call["method"]}


class ForgetfulHandshake(Handshake):
    def answer(self, call: dict) -> dict:
        return {"result": "success"}


def test_a_session_id_the_provider_hands_out_in_a_header_is_sent_fresh_at_verify_time(tmp_path):
    def exercise(url):
        session = ""
        for method in ("session-get", "torrent-get", "session-stats"):
            for _ in range(2):  # the client's own handshake: a 409 hands out the id to send
                sent = {"X-Session-Id": session} if session else {}
                status, headers, _ = send(url, "POST", "/rpc", json.dumps({"method": method}).encode(), sent)
                session = headers.get("X-Session-Id", session)
                if status == 200:
                    break

    pact, result = first_contact(tmp_path, Handshake, exercise)
    assert sorted(i["response"]["status"] for i in pact["interactions"]) == [200, 409]
    assert green(result), result.stdout + result.stderr
    broken = verify_against(tmp_path, ForgetfulHandshake.fresh())
    assert broken.returncode == 1 and "missing the following keys: method" in broken.stdout, broken.stdout


# -- values handed out in XML -----------------------------------------------------------------------


class Uploads(Provider):
    """Multipart uploads: the upload id is handed out in an XML answer; parts and the completion must
    send it back (404 NoSuchUpload otherwise)."""

    def do_POST(self):  # noqa: N802
        path, _, query = self.path.partition("?")
        body = self.body()
        with self.lock:
            if "uploads" in dict(parse_qsl(query, keep_blank_values=True)):  # ?uploads, or ?uploads=
                upload = uuid.uuid4().hex
                self.store[upload] = {}
                xml = f"<InitiateMultipartUploadResult><Key>{path}</Key><UploadId>{upload}</UploadId>"
                return self.send_bytes(200, (xml + "</InitiateMultipartUploadResult>").encode(), XML_TYPE)
            upload = dict(parse_qsl(query)).get("uploadId")
            if upload not in self.store or b"CompleteMultipartUpload" not in body:
                return self.send_bytes(404, b"<Error><Code>NoSuchUpload</Code></Error>", XML_TYPE)
            self.store[path] = b"".join(part for _, part in sorted(self.store.pop(upload).items()))
        self.send_bytes(
            200, f"<CompleteMultipartUploadResult><Key>{path}</Key></CompleteMultipartUploadResult>".encode(), XML_TYPE
        )

    def do_PUT(self):  # noqa: N802
        path, _, query = self.path.partition("?")
        args, data = dict(parse_qsl(query)), self.body()
        with self.lock:
            if args.get("uploadId") not in self.store:
                return self.send_bytes(404, b"<Error><Code>NoSuchUpload</Code></Error>", XML_TYPE)
            self.store[args["uploadId"]][int(args["partNumber"])] = data
        self.send_bytes(200, headers={"ETag": f'"{len(data)}"'})

    def do_GET(self):  # noqa: N802
        if self.path in ("/?uploads", "/?uploads="):  # the uploads in progress
            ids = [k for k, v in self.store.items() if isinstance(v, dict)]
            xml = "".join(f"<Upload><UploadId>{i}</UploadId></Upload>" for i in ids)
            return self.send_bytes(
                200, f"<ListMultipartUploadsResult>{xml}</ListMultipartUploadsResult>".encode(), XML_TYPE
            )
        if (data := self.store.get(self.path)) is None:
            return self.send_bytes(404, b"<Error><Code>NoSuchKey</Code></Error>", XML_TYPE)
        self.send_bytes(200, data, {"Content-Type": "application/octet-stream"})


XML_TYPE = {"Content-Type": "application/xml"}


def test_an_id_handed_out_in_an_xml_answer_is_fetched_fresh_where_later_requests_send_it(tmp_path):
    def exercise(url):
        answer = send(url, "POST", "/big.bin?uploads")[2]
        upload = ElementTree.fromstring(answer).findtext("UploadId")
        assert upload.encode() in send(url, "GET", "/?uploads")[2]  # a listing names it again: the POST made it
        assert send(url, "PUT", f"/big.bin?partNumber=1&uploadId={upload}", b"x" * 100)[0] == 200
        complete = b"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber></Part></CompleteMultipartUpload>"
        assert send(url, "POST", f"/big.bin?uploadId={upload}", complete)[0] == 200
        assert send(url, "GET", "/big.bin")[2] == b"x" * 100

    pact, result = first_contact(tmp_path, Uploads, exercise)
    assert green(result), result.stdout + result.stderr


class Silences(Provider):
    """Made by a POST to the collection, answered with only an id under a key of its own (`silenceID`), then
    read and deleted at a singular path by that id; an unknown id is a 500, as some APIs answer it."""

    def do_POST(self):  # noqa: N802
        silence = uuid.uuid4().hex
        with self.lock:
            self.store[silence] = json.loads(self.body())
        self.send_json(200, {"silenceID": silence})

    def do_GET(self):  # noqa: N802
        if (found := self.store.get(self.path.rpartition("/")[2])) is None:
            return self.send_json(404, {"error": "silence not found"})
        self.send_json(200, found)

    def do_DELETE(self):  # noqa: N802
        with self.lock:
            if self.store.pop(self.path.rpartition("/")[2], None) is None:
                return self.send_json(500, {"error": "silence not found"})
        self.send_bytes(200)


def test_an_item_named_by_the_id_a_write_handed_out_is_made_by_that_write(tmp_path):
    def exercise(url):
        made = [json.loads(send(url, "POST", "/api/silences", json.dumps({"comment": c}).encode())[2]) for c in "ab"]
        assert json.loads(send(url, "GET", f"/api/silence/{made[0]['silenceID']}")[2]) == {"comment": "a"}
        assert send(url, "DELETE", f"/api/silence/{made[1]['silenceID']}")[0] == 200

    pact, result = first_contact(tmp_path, Silences, exercise)
    assert green(result), result.stdout + result.stderr


# -- refused credentials stay refused ---------------------------------------------------------------

GOOD_TOKEN = "tok_5f3b1c9e7a2d4f6b8c0e1a3d5f7b9c1e"


class Tokens(Provider):
    """Tells tokens by their kind: a `tok_` token that is not its own is refused (401); anything else is
    no token at all, an anonymous request, forbidden (403)."""

    def do_POST(self):  # noqa: N802
        token = self.headers.get("Authorization", "").removeprefix("Bearer ")
        if token == GOOD_TOKEN:
            return self.send_json(201, {"created": True})
        if token.startswith("tok_"):
            return self.send_json(401, {"error": "invalid token"}, {"WWW-Authenticate": 'Bearer realm="api"'})
        self.send_json(403, {"error": "anonymous"})


def test_a_credential_the_provider_refused_is_refused_again_at_verify_time(tmp_path):
    def exercise(url):
        assert send(url, "POST", "/rows", b"{}", {"Authorization": f"Bearer {GOOD_TOKEN}"})[0] == 201
        assert send(url, "POST", "/rows", b"{}", {"Authorization": "Bearer tok_0000000000000000"})[0] == 401

    pact, result = first_contact(tmp_path, Tokens, exercise, "--header", f"Authorization: Bearer {GOOD_TOKEN}")
    refused = next(i for i in pact["interactions"] if i["response"]["status"] == 401)
    assert refused["request"]["headers"]["Authorization"] == ["Bearer tok_<redacted>"]
    assert refused["response"]["headers"]["Www-Authenticate"] == ['Bearer realm="api"']
    assert green(result), result.stdout + result.stderr


class TextTokens(Provider):
    """A login (Basic credentials) answers with a signed token as the whole text/plain body; every other call
    needs that token as a bearer token."""

    def do_GET(self):  # noqa: N802
        with self.lock:
            if self.path == "/v2/users/authenticate":
                if self.headers.get("Authorization") != "Basic " + base64.b64encode(b"author:author-Pass-3").decode():
                    return self.send_bytes(401)
                header = base64.urlsafe_b64encode(b'{"alg":"HS256"}').decode().rstrip("=")
                claims = base64.urlsafe_b64encode(json.dumps({"user": "author", "n": uuid.uuid4().hex}).encode())
                self.store[token := f"{header}.{claims.decode().rstrip('=')}.{uuid.uuid4().hex}"] = "author"
                return self.send_bytes(200, token.encode(), {"Content-Type": "text/plain"})
            if self.store.get(self.headers.get("Authorization", "").removeprefix("Bearer ")) is None:
                return self.send_json(401, {"error": "unauthorized"})
        self.send_json(200, {"user": "author"})


def test_a_token_a_login_answers_as_its_whole_text_body_is_fetched_fresh(tmp_path):
    def exercise(url):
        basic = {"Authorization": "Basic " + base64.b64encode(b"author:author-Pass-3").decode()}
        status, _, token = send(url, "GET", "/v2/users/authenticate", headers=basic)
        assert status == 200
        assert send(url, "GET", "/v2/users/check_credentials", headers={"Authorization": f"Bearer {token.decode()}"})[0]

    # Only the login's own credentials are asked for: the token comes from the login replayed.
    pact, result = first_contact(tmp_path, TextTokens, exercise)
    assert result.returncode == 2 and "authorization:" in result.stderr and "authorization_2" not in result.stderr
    basic = "authorization=Basic " + base64.b64encode(b"author:author-Pass-3").decode()
    assert green(result := verify_against(tmp_path, TextTokens.fresh(), "--secret", basic)), result.stdout


# -- credentials built from handed-out values -------------------------------------------------------


class Logins(Provider):
    """Accounts log in for a token (a new one each time); requests then send `X-Auth: base64(user:token)`."""

    def do_PUT(self):  # noqa: N802
        with self.lock:
            self.store.setdefault("users", {})[self.path.rpartition("/")[2]] = json.loads(self.body())["password"]
        self.send_json(201, {"created": self.path})

    def do_POST(self):  # noqa: N802
        login = json.loads(self.body())
        if self.store.get("users", {}).get(login["user"]) != login["password"]:
            return self.send_json(401, {"error": "bad password"})
        token = uuid.uuid4().hex
        self.store.setdefault("tokens", {})[token] = login["user"]
        self.send_json(200, {"result": {"password": token, "user": login["user"]}})

    def do_GET(self):  # noqa: N802
        try:
            user, _, token = base64.b64decode(self.headers.get("X-Auth", "")).decode().partition(":")
        except ValueError:
            user = token = ""
        if self.store.get("tokens", {}).get(token) != user or not user:
            return self.send_json(401, {"error": "log in first"})
        self.send_json(200, {"user": user, "private": True})


def test_a_token_a_login_handed_out_sent_back_as_base64_user_token_is_fetched_fresh(tmp_path):
    def exercise(url):
        assert send(url, "PUT", "/users/ada", json.dumps({"password": "s3cret-pw"}).encode())[0] == 201
        answer = send(url, "POST", "/login", json.dumps({"user": "ada", "password": "s3cret-pw"}).encode())
        token = json.loads(answer[2])["result"]["password"]
        auth = base64.b64encode(f"ada:{token}".encode()).decode()
        assert send(url, "GET", "/private", headers={"X-Auth": auth})[0] == 200

    pact, result = first_contact(tmp_path, Logins, exercise)
    assert green(result), result.stdout + result.stderr


class FormSessions(Provider):
    """Sessions handed out in a JSON answer (`{"sessionID": ...}`: a secret by its name) and sent back in form
    bodies, `POST /sessions/info` and `/sessions/end` (`sessionID=...`); one none handed out is refused, 404."""

    def do_POST(self):  # noqa: N802
        params = dict(parse_qsl(self.body().decode()))
        with self.lock:
            if self.path == "/sessions/create":
                self.store[session := f"s.{uuid.uuid4().hex}"] = params["user"]
                return self.send_json(200, {"sessionID": session})
            if (user := self.store.get(params.get("sessionID", ""))) is None:
                return self.send_json(404, {"error": "no such session"})
            if self.path == "/sessions/end":
                del self.store[params["sessionID"]]
            self.send_json(200, {"user": user})


def test_a_secret_a_response_handed_out_sent_back_in_a_form_field_is_fetched_fresh(tmp_path):
    handed_out = []

    def exercise(url):
        def call(path: str, **params: str) -> tuple[int, dict]:
            form = {"Content-Type": "application/x-www-form-urlencoded"}
            status, _, body = send(url, "POST", path, urlencode(params).encode(), form)
            return status, json.loads(body)

        status, made = call("/sessions/create", user="ada")
        handed_out.append(session := made["sessionID"])
        assert call("/sessions/info", sessionID=session) == (200, {"user": "ada"})
        assert call("/sessions/end", sessionID=session) == (200, {"user": "ada"})

    pact, result = first_contact(tmp_path, FormSessions, exercise)
    assert handed_out and handed_out[0] not in json.dumps(pact)  # redacted wherever it went
    by = {i["description"]: i for i in pact["interactions"]}
    for sent in ("POST /sessions/info returns 200", "POST /sessions/end returns 200"):
        generator = by[sent]["request"]["generators"]["body"]["$.sessionID"]
        assert generator["type"] == "ProviderState" and generator["expression"] == "${sessionid}", generator
    assert green(result), result.stdout + result.stderr


class ChainedLogins(Logins):
    """A login sent with the credentials of the one before it (a client that keeps its last X-Auth)."""

    def do_POST(self):  # noqa: N802
        if self.headers.get("X-Auth") and self.store.get("tokens", {}).get(self._token()) is None:
            return self.send_json(401, {"error": "stale credentials"})
        super().do_POST()

    def _token(self) -> str:
        try:
            return base64.b64decode(self.headers.get("X-Auth", "")).decode().partition(":")[2]
        except ValueError:
            return ""


def test_a_login_sent_with_the_token_an_earlier_login_handed_out_is_set_up_after_that_login(tmp_path):
    def exercise(url):
        for user in ("ada", "bob"):
            assert send(url, "PUT", f"/users/{user}", json.dumps({"password": f"{user}-pw"}).encode())[0] == 201
        auth = {}
        for user in ("ada", "bob"):
            login = json.dumps({"user": user, "password": f"{user}-pw"}).encode()
            token = json.loads(send(url, "POST", "/login", login, auth)[2])["result"]["password"]
            auth = {"X-Auth": base64.b64encode(f"{user}:{token}".encode()).decode()}
        assert send(url, "GET", "/private", headers=auth)[0] == 200

    pact, result = first_contact(tmp_path, ChainedLogins, exercise)
    assert green(result), result.stdout + result.stderr


class Administered(Logins):
    """The same, with an administrator the provider was started with (its password is the provider's)."""

    @classmethod
    def fresh(cls) -> type[Provider]:
        provider = super().fresh()
        provider.store["users"] = {"root": "r00t-pw"}
        return provider


def test_a_password_a_login_sent_before_the_recording_set_it_is_asked_for_not_made_up(tmp_path):
    def exercise(url):
        answer = send(url, "POST", "/login", json.dumps({"user": "root", "password": "r00t-pw"}).encode())
        token = json.loads(answer[2])["result"]["password"]
        auth = base64.b64encode(f"root:{token}".encode()).decode()
        assert send(url, "GET", "/private", headers={"X-Auth": auth})[0] == 200

    pact, asked = first_contact(tmp_path / "asked", Administered, exercise)
    assert asked.returncode == 2 and "--secret password=VALUE" in asked.stderr, asked.stdout + asked.stderr
    pact, result = first_contact(tmp_path / "given", Administered, exercise, "--secret", "password=r00t-pw")
    assert green(result), result.stdout + result.stderr


def test_a_password_a_login_sent_first_is_asked_for_even_where_a_later_write_set_it_again(tmp_path):
    # A suite that logs in as the administrator, then sets the same password again (a test of the password
    # change that puts it back): the write does not make it the recording's own.
    def exercise(url):
        for _ in range(2):
            answer = send(url, "POST", "/login", json.dumps({"user": "root", "password": "r00t-pw"}).encode())
            auth = base64.b64encode(f"root:{json.loads(answer[2])['result']['password']}".encode()).decode()
            assert send(url, "GET", "/private", headers={"X-Auth": auth})[0] == 200
            assert send(url, "PUT", "/users/root", json.dumps({"password": "r00t-pw"}).encode())[0] == 201

    pact, asked = first_contact(tmp_path / "asked", Administered, exercise)
    assert asked.returncode == 2 and "--secret password=VALUE" in asked.stderr, asked.stdout + asked.stderr
    pact, result = first_contact(tmp_path / "given", Administered, exercise, "--secret", "password=r00t-pw")
    assert green(result), result.stdout + result.stderr


class SelfOwned(Logins):
    """No reset, and an account is deleted only by its own login (`X-Auth` of that user); a name taken is
    refused again (409)."""

    def do_PUT(self):  # noqa: N802
        if self.path.rpartition("/")[2] in self.store.get("users", {}):
            return self.send_json(409, {"error": "user exists"})
        super().do_PUT()

    def do_DELETE(self):  # noqa: N802
        user = self.path.rpartition("/")[2]
        try:
            sent, _, token = base64.b64decode(self.headers.get("X-Auth", "")).decode().partition(":")
        except ValueError:
            sent = token = ""
        if sent != user or self.store.get("tokens", {}).get(token) != user:
            return self.send_json(403, {"error": "only the account itself may delete it"})
        with self.lock:
            self.store["users"].pop(user, None)
        self.send_json(200, {"deleted": user})


def test_an_account_only_its_own_login_can_delete_is_undone_after_that_login(tmp_path):
    def exercise(url):
        for user in ("ada", "bob"):
            assert send(url, "PUT", f"/users/{user}", json.dumps({"password": f"{user}-pw"}).encode())[0] == 201
            login = json.dumps({"user": user, "password": f"{user}-pw"}).encode()
            token = json.loads(send(url, "POST", "/login", login)[2])["result"]["password"]
            auth = {"X-Auth": base64.b64encode(f"{user}:{token}".encode()).decode()}
            assert send(url, "GET", "/private", headers=auth)[0] == 200
        assert send(url, "DELETE", "/users/bob", headers=auth)[0] == 200

    pact, result = first_contact(tmp_path, SelfOwned, exercise)
    assert "the undo" not in result.stdout
    assert green(result), result.stdout + result.stderr


class Tempauth(Provider):
    """A v1 login: `GET /auth/v1.0` with the account's key in `X-Auth-Key` answers a new token in the response
    headers `X-Auth-Token` and `X-Storage-Token`, which every later request sends back in its own (two lines of it are joined, as a
    WSGI server does, and refused)."""

    def do_GET(self):  # noqa: N802
        if self.path == "/auth/v1.0":
            if self.headers.get("X-Auth-Key") != "testing":
                return self.send_bytes(401)
            self.store.setdefault("tokens", set()).add(token := f"AUTH_tk{uuid.uuid4().hex}")
            headers = {"X-Auth-Token": token, "X-Storage-Token": token, "X-Storage-Url": "/v1/AUTH_test"}
            return self.send_bytes(200, headers=headers)
        if not self._authorised():
            return self.send_bytes(401)
        if self.path not in self.store:
            return self.send_bytes(404)
        etag = hashlib.md5(self.store[self.path]).hexdigest()
        if self.headers.get("If-Match", etag) != etag:
            return self.send_bytes(412)
        self.send_bytes(200, self.store[self.path], {"Content-Type": "text/plain", "ETag": etag})

    def do_PUT(self):  # noqa: N802
        if not self._authorised():
            return self.send_bytes(401)
        with self.lock:
            self.store[self.path] = self.body()
        self.send_bytes(201, headers={"ETag": hashlib.md5(self.store[self.path]).hexdigest()})

    def _authorised(self) -> bool:
        return ", ".join(self.headers.get_all("X-Auth-Token") or []) in self.store.get("tokens", ())


def test_a_token_a_login_hands_out_in_a_response_header_is_sent_fresh_in_one_header_line(tmp_path):
    def exercise(url):
        login = send(url, "GET", "/auth/v1.0", headers={"X-Auth-User": "test:tester", "X-Auth-Key": "testing"})
        auth = {"X-Auth-Token": login[1]["X-Auth-Token"]}
        assert send(url, "PUT", "/v1/AUTH_test/photos/a.txt", b"hello", auth)[0] == 201
        etag = send(url, "GET", "/v1/AUTH_test/photos/a.txt", headers=auth)[1]["ETag"]
        assert send(url, "GET", "/v1/AUTH_test/photos/a.txt", headers=auth | {"If-Match": etag})[2] == b"hello"

    pact, result = first_contact(tmp_path, Tempauth, exercise, "--secret", "x_auth_key=testing")
    assert "testing" not in json.dumps(pact)
    # The token is a secret the setup fetches fresh, never a state param (`<redacted>`) of its own.
    params = [s.get("params", {}) for i in pact["interactions"] for s in i.get("providerStates", [])]
    assert not [p for p in params if "<redacted>" in json.dumps(p)], params
    assert green(result), result.stdout + result.stderr


class Sessions(Logins):
    """A login answers with a session cookie; a logout ends that session, and a request sent with it after
    that is refused (401)."""

    def do_POST(self):  # noqa: N802
        if self.path == "/logout":
            with self.lock:
                self.store.get("sessions", set()).discard(self._session())
            return self.send_bytes(204)
        login = json.loads(self.body())
        if self.store.get("users", {}).get(login["user"]) != login["password"]:
            return self.send_json(401, {"error": "bad password"})
        session = uuid.uuid4().hex
        self.store.setdefault("sessions", set()).add(session)
        self.send_bytes(204, headers={"Set-Cookie": f"SID={session}; Path=/; HttpOnly"})

    def do_GET(self):  # noqa: N802
        if self._session() not in self.store.get("sessions", ()):
            return self.send_json(401, {"error": "log in first"})
        self.send_json(200, {"me": True})

    def _session(self) -> str:
        return self.headers.get("Cookie", "").removeprefix("SID=")


def test_a_session_sent_after_its_logout_is_refused_again_at_verify_time_not_fetched_fresh(tmp_path):
    def exercise(url):
        assert send(url, "PUT", "/users/ada", json.dumps({"password": "ada-pw"}).encode())[0] == 201
        answer = send(url, "POST", "/login", json.dumps({"user": "ada", "password": "ada-pw"}).encode())
        cookie = {"Cookie": answer[1]["Set-Cookie"].split(";")[0]}
        assert send(url, "GET", "/me", headers=cookie)[0] == 200
        assert send(url, "POST", "/logout", headers=cookie)[0] == 204
        assert send(url, "GET", "/me", headers=cookie)[0] == 401

    pact, result = first_contact(tmp_path, Sessions, exercise)
    assert green(result), result.stdout + result.stderr


class Indexes(Logins):
    """Accounts that share one password; an index below an account is made only with that account's login.
    A login while the account's token is valid answers that token again."""

    def do_POST(self):  # noqa: N802
        login = json.loads(self.body())
        if self.store.get("users", {}).get(login["user"]) != login["password"]:
            return self.send_json(401, {"error": "bad password"})
        tokens = self.store.setdefault("tokens", {})
        token = next((t for t, u in tokens.items() if u == login["user"]), None) or uuid.uuid4().hex
        tokens[token] = login["user"]
        self.send_json(200, {"result": {"password": token, "user": login["user"]}})

    def do_PUT(self):  # noqa: N802
        parts = self.path.strip("/").split("/")
        if len(parts) == 2:
            return super().do_PUT()
        try:
            user, _, token = base64.b64decode(self.headers.get("X-Auth", "")).decode().partition(":")
        except ValueError:
            user = token = ""
        if user != parts[1] or self.store.get("tokens", {}).get(token) != user:
            return self.send_json(403, {"error": "not yours"})
        with self.lock:
            self.store.setdefault("indexes", set()).add(self.path)
        self.send_json(201, {"created": self.path})

    def do_GET(self):  # noqa: N802
        if self.path in self.store.get("indexes", ()):
            return self.send_json(200, {"index": self.path})
        self.send_json(404, {"error": "no such index"})


def test_accounts_sharing_a_password_keep_their_own_logins_and_their_own_resources(tmp_path):
    # Whose login a request needs is told by the user it names, not by the password every account shares;
    # one user's `dev` is no state of another user's `dev`; and a setup step is sent after the login that
    # handed out its token, not a later one that handed it out again.
    def exercise(url):
        for user in ("ada", "bob", "cy"):
            assert send(url, "PUT", f"/users/{user}", json.dumps({"password": "same-pw"}).encode())[0] == 201
            login = json.dumps({"user": user, "password": "same-pw"}).encode()
            token = json.loads(send(url, "POST", "/login", login)[2])["result"]["password"]
            auth = {"X-Auth": base64.b64encode(f"{user}:{token}".encode()).decode()}
            assert send(url, "PUT", f"/users/{user}/dev", b"{}", auth)[0] == 201
            assert send(url, "POST", "/login", login)[0] == 200  # the same token again
        assert send(url, "GET", "/users/ada/dev")[0] == 200

    pact, result = first_contact(tmp_path, Indexes, exercise)
    assert green(result), result.stdout + result.stderr
    states = {i["description"]: [s["params"] for s in i["providerStates"]] for i in pact["interactions"]}
    assert states["PUT /users/ada returns 201"] == [{"user": "ada"}], states
    assert {"item": "dev", "user": "ada"} not in states["PUT /users/bob/dev returns 201"], states


# -- dependencies by shared value -------------------------------------------------------------------


class Queues(Provider):
    """A queue service over one URL: a queue is named in the body when made and when looked up; messages
    go to the URL its creation answered with."""

    def do_POST(self):  # noqa: N802
        args, op = json.loads(self.body()), self.headers.get("X-Amz-Target", "").rpartition(".")[2]
        queues = self.store.setdefault("queues", {})
        with self.lock:
            if op == "CreateQueue":
                queues[args["QueueName"]] = []
                return self.send_json(200, {"QueueUrl": f"http://{self.headers['Host']}/0001/{args['QueueName']}"})
            if op == "ListQueues":
                return self.send_json(200, {"QueueUrls": [f"http://{self.headers['Host']}/0001/{q}" for q in queues]})
            name = args.get("QueueName") or args.get("QueueUrl", "").rpartition("/")[2]
            if name not in queues:
                return self.send_json(400, {"__type": "QueueDoesNotExist"})
            if op == "GetQueueUrl":
                return self.send_json(200, {"QueueUrl": f"http://{self.headers['Host']}/0001/{name}"})
            if op == "ReceiveMessage":
                return self.send_json(200, {"Messages": [{"Body": queues[name].pop(0)}]} if queues[name] else {})
            queues[name].append(args["MessageBody"])
        self.send_json(200, {"MessageId": str(uuid.uuid4())})


def call(url: str, op: str, args: dict) -> dict:
    """One operation of the queue service, which must succeed: its answer."""
    headers = {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": f"Queues.{op}"}
    status, _, body = send(url, "POST", "/", json.dumps(args).encode(), headers)
    assert status == 200, body
    return json.loads(body)


def test_a_request_that_sends_a_name_an_earlier_write_sent_is_set_up_with_that_write(tmp_path):
    def exercise(url):
        call(url, "CreateQueue", {"QueueName": "nightly-jobs"})
        queue = call(url, "GetQueueUrl", {"QueueName": "nightly-jobs"})["QueueUrl"]
        assert call(url, "ListQueues", {})["QueueUrls"] == [queue]  # names it again: CreateQueue still made it
        call(url, "SendMessage", {"QueueUrl": queue, "MessageBody": "rebuild"})

    pact, result = first_contact(tmp_path, Queues, exercise)
    get_url = next(i for i in pact["interactions"] if "GetQueueUrl" in i["description"])
    assert [s["name"] for s in get_url["providerStates"]] == ["values sent by earlier requests"]
    # The queue URL the listing named again is still CreateQueue's: SendMessage's setup replays the creation.
    states = yaml.safe_load((tmp_path / "pacts" / PACT_NAME.replace(".json", ".states.yaml")).read_text())
    (send_state,) = [
        s for s in states["states"] if "POST / returns 200 (Queues.SendMessage)" in s["interactions"] and "setup" in s
    ]
    targets = [dict(states["steps"][n]["headers"])["X-Amz-Target"] for n in send_state["setup"]]
    assert targets == ["Queues.CreateQueue"]
    assert green(result), result.stdout + result.stderr


def test_a_read_by_a_handed_out_handle_is_set_up_with_the_writes_that_put_what_it_answers_there(tmp_path):
    def exercise(url):
        queue = call(url, "CreateQueue", {"QueueName": "nightly-jobs"})["QueueUrl"]
        for message in ("rebuild the index", "send the report"):
            call(url, "SendMessage", {"QueueUrl": queue, "MessageBody": message})
        assert call(url, "ReceiveMessage", {"QueueUrl": queue})["Messages"] == [{"Body": "rebuild the index"}]
        assert call(url, "ReceiveMessage", {"QueueUrl": queue, "WaitTimeSeconds": 1})["Messages"] == [
            {"Body": "send the report"}
        ]

    pact, result = first_contact(tmp_path, Queues, exercise)
    states = yaml.safe_load((tmp_path / "pacts" / PACT_NAME.replace(".json", ".states.yaml")).read_text())
    setups = {
        i: [states["steps"][n].get("json", {}).get("MessageBody") for n in st["setup"]]
        for st in states["states"]
        for i in st["interactions"]
        if "ReceiveMessage" in i
    }
    # Each receive is set up with the queue's creation and the one send whose message it answered with.
    assert sorted(setups.values()) == [[None, "rebuild the index"], [None, "send the report"]]
    assert green(result), result.stdout + result.stderr


class Databases(Provider):
    """Databases made by a POST to their list naming them in its body; a collection made in a database
    that does not exist is refused (400); deleting a database deletes what it holds. `POST /reset` empties it."""

    def do_POST(self):  # noqa: N802
        if self.path == "/reset":
            with self.lock:
                self.store.clear()
            return self.send_bytes(204)
        segs, name = self.path.strip("/").split("/"), json.loads(self.body())["name"]
        with self.lock:
            if segs == ["databases"]:
                self.store[name] = {}
                return self.send_json(200, {})
            if len(segs) != 3 or segs[1] not in self.store:
                return self.send_json(400, {"error": f"database {segs[1]} does not exist"})
            self.store[segs[1]][name] = str(uuid.uuid4())
            self.send_json(200, {"id": self.store[segs[1]][name], "name": name})

    def do_DELETE(self):  # noqa: N802
        with self.lock:
            found = self.store.pop(self.path.strip("/").split("/")[1], None)
        self.send_json(200 if found is not None else 404, {})


def test_a_write_into_what_a_request_named_in_its_body_is_set_up_after_that_request(tmp_path):
    def exercise(url):
        for target, name in (("/databases", "analytics"), ("/databases/analytics/collections", "events")):
            assert send(url, "POST", target, json.dumps({"name": name}).encode())[0] == 200
        assert send(url, "DELETE", "/databases/analytics")[0] == 200
        assert send(url, "POST", "/reset")[0] == 204  # (emptied before each interaction at verify time too)

    pact, result = first_contact(tmp_path, Databases, exercise)
    # The deletion's database exists once the POST that named it ran, then the collection made in it.
    assert green(result), result.stdout + result.stderr


class Registry(Provider):
    """Models and their versions over operation paths (`/api/models/create`, `/api/versions/get?name=&version=`),
    each naming the model in its body or query; a version of a model that does not exist is refused (404)."""

    def do_POST(self):  # noqa: N802
        if self.path == "/reset":
            with self.lock:
                self.store.clear()
            return self.send_bytes(204)
        args, models = json.loads(self.body()), self.store.setdefault("models", {})
        with self.lock:
            if self.path == "/api/models/create" and args["name"] not in models:
                models[args["name"]] = []
                return self.send_json(200, {"model": {"name": args["name"], "created": time.time_ns()}})
            if self.path == "/api/versions/create" and args["name"] in models:
                models[args["name"]].append(args["source"])
                version = {"name": args["name"], "version": str(len(models[args["name"]])), "source": args["source"]}
                return self.send_json(200, {"version": version})
        self.send_json(404, {"error_code": "RESOURCE_DOES_NOT_EXIST"})

    def _version(self, args: dict) -> int | None:
        versions, n = self.store.setdefault("models", {}).get(args["name"], []), int(args["version"])
        return n - 1 if 0 < n <= len(versions) and versions[n - 1] is not None else None

    def do_GET(self):  # noqa: N802
        path, _, query = self.path.partition("?")
        args, models = dict(parse_qsl(query)), self.store.setdefault("models", {})
        if path == "/api/models/get" and args["name"] in models:
            return self.send_json(200, {"model": {"name": args["name"], "versions": len(models[args["name"]])}})
        if path == "/api/versions/get" and (n := self._version(args)) is not None:
            return self.send_json(200, {"version": {**args, "source": models[args["name"]][n]}})
        self.send_json(404, {"error_code": "RESOURCE_DOES_NOT_EXIST"})

    def do_DELETE(self):  # noqa: N802
        args, models = json.loads(self.body()), self.store.setdefault("models", {})
        with self.lock:
            if self.path == "/api/versions/delete" and (n := self._version(args)) is not None:
                models[args["name"]][n] = None
                return self.send_json(200, {})
            if self.path == "/api/models/delete" and models.pop(args["name"], None) is not None:
                return self.send_json(200, {})
        self.send_json(404, {"error_code": "RESOURCE_DOES_NOT_EXIST"})


def test_operations_on_a_model_named_in_their_bodies_are_set_up_with_the_call_that_made_it(tmp_path):
    def call(url, method, target, body=None):
        headers = {"Content-Type": "application/json"} if body is not None else {}
        status, _, data = send(url, method, target, json.dumps(body).encode() if body is not None else b"", headers)
        return status, json.loads(data or b"{}")

    def exercise(url):
        assert call(url, "POST", "/api/models/create", {"name": "churn-model"})[0] == 200
        made = call(url, "POST", "/api/versions/create", {"name": "churn-model", "source": "runs:/abc/model"})
        version = made[1]["version"]["version"]
        assert call(url, "GET", f"/api/versions/get?name=churn-model&version={version}")[0] == 200
        assert call(url, "GET", "/api/models/get?name=churn-model")[0] == 200
        assert call(url, "DELETE", "/api/versions/delete", {"name": "churn-model", "version": version})[0] == 200
        assert call(url, "GET", f"/api/versions/get?name=churn-model&version={version}")[0] == 404
        assert call(url, "DELETE", "/api/models/delete", {"name": "churn-model"})[0] == 200
        assert call(url, "GET", "/api/models/get?name=churn-model")[0] == 404
        assert send(url, "POST", "/reset")[0] == 204  # (emptied before each interaction at verify time too)

    pact, result = first_contact(tmp_path, Registry, exercise)
    # A version's creation and its reads replay the model's creation first; the reads answered 404 after the
    # deletions make nothing the answer said was gone.
    states = {i["description"]: [s["name"] for s in i["providerStates"]] for i in pact["interactions"]}
    assert states["POST /api/versions/create returns 200"] == ["values sent by earlier requests"]
    assert "values sent by earlier requests" not in states["GET /api/models/get returns 404"]
    assert green(result), result.stdout + result.stderr


class AmzJson(Rpc):
    """The same RPC, answering in a JSON media type the Pact core reads as text (AWS's)."""

    def send_json(self, status, body, headers=None):
        self.send_bytes(
            status, json.dumps(body).encode(), {"Content-Type": "application/x-amz-json-1.0", **(headers or {})}
        )


def test_json_in_a_media_type_the_core_reads_as_text_keeps_a_contract_of_its_keys(tmp_path):
    def exercise(url):
        for op, a in (("Add", 1), ("Add", 2), ("Multiply", 3)):
            headers = {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": f"Calc_2024.{op}"}
            assert send(url, "POST", "/", json.dumps({"a": a, "b": 4}).encode(), headers)[0] == 200

    pact, result = first_contact(tmp_path, AmzJson, exercise)
    add = next(i for i in pact["interactions"] if "Add" in i["description"])
    assert add["response"]["matchingRules"]["body"]["$"]["matchers"][0]["regex"] == '^(?=[\\s\\S]*"sum"\\s*:)[\\s\\S]*$'
    assert green(result), result.stdout + result.stderr


# -- names the consumer generated -------------------------------------------------------------------


class Users(Provider):
    """Accounts at the root of the path (/<name>), each with a profile."""

    def do_PUT(self):  # noqa: N802
        with self.lock:
            there = self.path in self.store
            self.store[self.path] = json.loads(self.body())
        self.send_json(200 if there else 201, {"user": self.path.strip("/")})

    def do_GET(self):  # noqa: N802
        user, _, what = self.path.strip("/").partition("/")
        if "/" + user not in self.store:
            return self.send_json(404, {"error": "no such user"})
        self.send_json(200, {"user": user, **self.store["/" + user]} if not what else {"user": user, "profile": what})


def test_names_a_suite_generated_that_differ_only_in_their_numbers_are_one_endpoint(tmp_path):
    def exercise(url):
        for n in (54, 55, 61):
            assert send(url, "PUT", f"/user{n}", json.dumps({"email": f"u{n}@example.com"}).encode())[0] == 201
            assert send(url, "GET", f"/user{n}/profile")[0] == 200

    pact, result = first_contact(tmp_path, Users, exercise)
    assert sorted(i["description"] for i in pact["interactions"]) == [
        "GET /{id}/profile returns 200",
        "PUT /{id} returns 201",
    ]
    assert green(result), result.stdout + result.stderr


# -- XML lists stay checked -------------------------------------------------------------------------


class Listing(Provider):
    """Items listed in XML, two a page: a longer list says <Truncated>, a short one does not."""

    def do_PUT(self):  # noqa: N802
        with self.lock:
            self.store[self.path.rpartition("/")[2]] = self.body()
        self.send_bytes(200)

    def do_DELETE(self):  # noqa: N802
        with self.lock:
            gone = self.store.pop(self.path.rpartition("/")[2], None) is not None
        self.send_bytes(204 if gone else 404)

    def do_GET(self):  # noqa: N802
        keys = sorted(self.store)
        items = "".join(f"<Item><Key>{k}</Key><Size>{len(self.store[k])}</Size></Item>" for k in keys[:2])
        more = "<Truncated>true</Truncated>" if len(keys) > 2 else ""
        self.send_bytes(200, f"<List><Name>items</Name>{items}{more}</List>".encode(), XML_TYPE)


def test_an_xml_list_keeps_one_item_and_only_the_elements_every_response_had(tmp_path):
    def exercise(url):
        for key in ("a", "b", "c"):
            assert send(url, "PUT", f"/items/{key}", b"data")[0] == 200
        assert b"<Truncated>" in send(url, "GET", "/items")[2]
        for key in ("b", "c"):
            assert send(url, "DELETE", f"/items/{key}")[0] == 204
        assert b"<Truncated>" not in send(url, "GET", "/items")[2]

    pact, result = first_contact(tmp_path, Listing, exercise)
    listing = next(i for i in pact["interactions"] if i["request"]["method"] == "GET")
    assert (
        listing["response"]["body"]["content"]
        == "<List><Name>items</Name><Item><Key>a</Key><Size>4</Size></Item></List>"
    )
    assert "$['List']['Item']['Key']['#text']" in listing["response"]["matchingRules"]["body"]
    assert green(result), result.stdout + result.stderr


class Bucket(Provider):
    """Objects under keys with slashes, listed in XML by key, or by prefix with a delimiter."""

    def do_PUT(self):  # noqa: N802
        with self.lock:
            self.store[self.path.removeprefix("/b/")] = self.body()
        self.send_bytes(200)

    def do_GET(self):  # noqa: N802
        args = dict(parse_qsl(self.path.partition("?")[2]))
        keys = sorted(self.store)
        if "delimiter" in args:
            prefixes = sorted({k.split("/")[0] + "/" for k in keys if "/" in k})
            body = "".join(f"<CommonPrefixes><Prefix>{p}</Prefix></CommonPrefixes>" for p in prefixes)
        else:
            body = "".join(f"<Contents><Key>{k}</Key></Contents>" for k in keys)
        self.send_bytes(200, f"<ListBucketResult>{body}</ListBucketResult>".encode(), XML_TYPE)


def test_a_listing_that_names_items_below_it_by_their_path_sets_them_up(tmp_path):
    def exercise(url):
        assert send(url, "PUT", "/b/docs/a.txt", b"a")[0] == 200
        assert send(url, "PUT", "/b/docs/b.txt", b"b")[0] == 200
        assert b"<Key>docs/a.txt</Key>" in send(url, "GET", "/b")[2]

    pact, result = first_contact(tmp_path, Bucket, exercise)
    listing = next(i for i in pact["interactions"] if i["request"]["method"] == "GET")
    assert [s["name"] for s in listing["providerStates"]][-1].endswith("exist")
    assert green(result), result.stdout + result.stderr


def test_a_listing_that_names_prefixes_of_keys_sets_up_an_item_under_each(tmp_path):
    def exercise(url):
        for key in ("docs/a.txt", "docs/b.txt", "pics/cat.png"):
            assert send(url, "PUT", f"/b/{key}", key.encode())[0] == 200
        listing = send(url, "GET", "/b?delimiter=/")[2]
        assert b"<Prefix>docs/</Prefix>" in listing and b"<Prefix>pics/</Prefix>" in listing

    pact, result = first_contact(tmp_path, Bucket, exercise)
    listing = next(i for i in pact["interactions"] if i["request"]["method"] == "GET")
    assert listing["providerStates"][-1]["params"]["ids"] == ["a.txt", "cat.png"]
    assert green(result), result.stdout + result.stderr


def test_a_resource_a_request_header_names_by_its_path_is_set_up_first(tmp_path):
    def exercise(url):
        assert send(url, "PUT", "/photos")[0] == 200
        assert send(url, "PUT", "/photos/cat.txt", b"meow", {"Content-Type": "text/plain"})[0] == 200
        assert send(url, "PUT", "/photos/copy.txt", headers={"X-Copy-Source": "/photos/cat.txt"})[0] == 200
        assert send(url, "GET", "/photos/copy.txt")[2] == b"meow"
        assert send(url, "DELETE", "/photos/cat.txt")[0] == 204  # the source goes; the copy's setup still needs it
        assert send(url, "DELETE", "/photos/copy.txt")[0] == 204

    pact, result = first_contact(tmp_path, Objects, exercise)
    assert green(result), result.stdout + result.stderr


# -- request bodies byte for byte ----------------------------------------------------------------------


class Manifests(Provider):
    """A content-addressed store: a document is PUT under the sha256 of its bytes and refused when the bytes
    it gets hash to something else (JSON written anew, compact and with its keys sorted, does)."""

    def do_PUT(self):  # noqa: N802
        body, digest = self.body(), self.path.rsplit("/", 1)[-1]
        if digest != "sha256:" + hashlib.sha256(body).hexdigest():
            return self.send_json(400, {"errors": [{"code": "DIGEST_INVALID"}]})
        self.store[self.path] = body
        self.send_bytes(201, headers={"Docker-Content-Digest": digest})

    def do_GET(self):  # noqa: N802
        if (body := self.store.get(self.path)) is None:
            return self.send_json(404, {"errors": [{"code": "MANIFEST_UNKNOWN"}]})
        self.send_bytes(200, body, {"Content-Type": "application/json"})


def test_a_json_body_whose_digest_the_request_names_is_sent_byte_for_byte(tmp_path):
    def exercise(url):
        for name in ("one", "two"):
            doc = json.dumps({"schemaVersion": 2, "name": name, "layers": [{"size": 3}]}).encode()
            target = f"/v2/app/manifests/sha256:{hashlib.sha256(doc).hexdigest()}"
            assert send(url, "PUT", target, doc, {"Content-Type": "application/json"})[0] == 201
            assert send(url, "GET", target)[0] == 200

    pact, result = first_contact(tmp_path, Manifests, exercise)
    (put,) = [i for i in pact["interactions"] if i["request"]["method"] == "PUT"]
    assert put["request"]["body"]["encoded"] == "json"
    assert put["request"]["body"]["content"].startswith('{"schemaVersion": 2, "name": ')
    assert green(result), result.stdout + result.stderr


# -- counters handed out, sent back in a form --------------------------------------------------------


class Versioned(Provider):
    """A key-value store that gives every write an index from a counter whose start differs per server (its
    history); a write with `prevIndex` in its form body is refused (412) unless the key is at that index."""

    def do_PUT(self):  # noqa: N802
        form = dict(parse_qsl(self.body().decode()))
        with self.lock:
            self.store.setdefault("index", 3 + uuid.uuid4().int % 40)
            current = self.store.get(self.path)
            if "prevIndex" in form and (current is None or str(current["modifiedIndex"]) != form["prevIndex"]):
                return self.send_json(412, {"message": "Compare failed"})
            self.store["index"] += 1
            node = self.store[self.path] = {
                "key": self.path,
                "value": form["value"],
                "modifiedIndex": self.store["index"],
            }
        self.send_json(200 if current else 201, {"node": node})

    def do_DELETE(self):  # noqa: N802
        with self.lock:
            gone = self.store.pop(self.path, None)
        self.send_json(200 if gone else 404, {"node": {"key": self.path}})


def test_a_counter_a_write_handed_out_is_sent_back_fresh_from_a_form_body(tmp_path):
    form = {"Content-Type": "application/x-www-form-urlencoded"}

    def exercise(url):
        status, _, body = send(url, "PUT", "/v2/keys/foo", b"value=1", form)
        assert status == 201, body
        index = json.loads(body)["node"]["modifiedIndex"]
        assert send(url, "PUT", "/v2/keys/foo", f"value=2&prevIndex={index}".encode(), form)[0] == 200

    pact, result = first_contact(tmp_path, Versioned, exercise)
    update = next(i for i in pact["interactions"] if i["response"]["status"] == 200)
    assert update["request"]["generators"]["body"]["$.prevIndex"]["type"] == "ProviderState"
    assert green(result), result.stdout + result.stderr


# -- clearing the way with the recording's credentials ---------------------------------------------------


class Guarded(Provider):
    """Collections that need a token for every request, and a collection is deleted only when empty (409)."""

    def _allowed(self) -> bool:
        if self.headers.get("Authorization") == "Bearer s3cr3t":
            return True
        self.send_json(401, {"error": "unauthorized"})
        return False

    def do_MKCOL(self):  # noqa: N802
        if self._allowed():
            made = self.path not in self.store
            self.store.setdefault(self.path, True)
            self.send_bytes(201 if made else 405)

    def do_PROPFIND(self):  # noqa: N802
        if self._allowed():
            self.send_bytes(207 if self.path in self.store else 404)

    def do_DELETE(self):  # noqa: N802
        if not self._allowed():
            return
        if self.path not in self.store:
            return self.send_bytes(404)
        if any(p.startswith(self.path + "/") for p in self.store):
            return self.send_bytes(409)
        del self.store[self.path]
        self.send_bytes(204)


def test_what_an_interaction_needs_absent_is_deleted_with_the_recordings_credentials(tmp_path):
    token = {"Authorization": "Bearer s3cr3t"}

    def exercise(url):
        assert send(url, "MKCOL", "/b", headers=token)[0] == 201
        assert send(url, "PROPFIND", "/b/x", headers=token)[0] == 404
        assert send(url, "MKCOL", "/b/x", headers=token)[0] == 201

    _, result = first_contact(tmp_path, Guarded, exercise, "--header", "Authorization: Bearer s3cr3t")
    assert green(result), result.stdout + result.stderr


# -- a body too large to record ---------------------------------------------------------------------


class Files(Provider):
    def do_PUT(self):  # noqa: N802
        with self.lock:
            made = self.path not in self.store
            self.store[self.path] = self.body()
        self.send_bytes(201 if made else 200)

    def do_GET(self):  # noqa: N802
        if (data := self.store.get(self.path)) is None:
            return self.send_bytes(404)
        self.send_bytes(200, data, {"Content-Type": "application/octet-stream"})


def uploaded_over_max_body(tmp_path: Path, name: str, data: bytes, content_type: str):
    """Record a PUT of `data` past `--max-body 100k` and a GET of it, then verify from empty: (the pacts
    folder, verify's output)."""

    def exercise(url):
        assert send(url, "PUT", f"/files/{name}", data, {"Content-Type": content_type})[0] == 201
        assert send(url, "GET", f"/files/{name}")[2] == data

    out = tmp_path / "pacts"
    with provider_serving(Files) as url:
        record_through(recorder_args(url, out, "--max-body", "100k"), exercise)
    return out, verify_against(tmp_path, Files.fresh())


def test_a_binary_body_over_max_body_is_kept_beside_the_states_and_sent_by_the_setup(tmp_path):
    data = os.urandom(300_000)
    out, result = uploaded_over_max_body(tmp_path, "big.bin", data, "application/octet-stream")
    kept = out / (PACT_NAME.removesuffix(".json") + ".bodies") / hashlib.sha256(data).hexdigest()
    assert kept.read_bytes() == data  # content-addressed, beside the states file
    assert hashlib.sha256(data).hexdigest() in (out / PACT_NAME).with_suffix(".states.yaml").read_text()
    assert data.hex()[:64] not in (out / PACT_NAME).read_text()  # never inside the pact
    assert green(result), result.stdout + result.stderr


def test_a_text_body_over_max_body_is_never_kept_and_its_setup_says_so_plainly(tmp_path):
    data = b'{"password": "hunter2", "pad": "' + b"x" * 300_000 + b'"}'  # never redacted at that size
    out, result = uploaded_over_max_body(tmp_path, "big.json", data, "application/json")
    assert not any(b"hunter2" in f.read_bytes() for f in out.rglob("*") if f.is_file())
    assert result.returncode == 1
    assert (
        "setup step 1 (PUT /files/big.json) cannot be sent: its body (300034 bytes) was larger than --max-body when "
        "recorded and streamed past (text is never kept that size: it could not be redacted); record again with a "
        "larger --max-body" in result.stdout
    ), result.stdout


# -- a provider that cannot be emptied -------------------------------------------------------------------


class Permanent(Provider):
    """Things are made once and never deleted (405): a name taken is refused again (409)."""

    def do_PUT(self):  # noqa: N802
        if self.headers.get("Content-Type") != "application/vnd.alpha+json":  # a media type naming the thing
            return self.send_json(415, {"error": "unsupported media type"})
        with self.lock:
            if self.path in self.store:
                return self.send_json(409, {"error": f"{self.path} exists"})
            self.store[self.path] = json.loads(self.body() or b"{}")
        self.send_json(201, {"name": self.path.rsplit("/", 1)[-1]})

    def do_GET(self):  # noqa: N802
        if (thing := self.store.get(self.path)) is None:
            return self.send_json(404, {"error": "no such thing"})
        self.send_json(200, {"name": self.path.rsplit("/", 1)[-1], **thing})

    def do_DELETE(self):  # noqa: N802
        self.send_json(405, {"error": "things are forever"})


def test_a_name_an_earlier_interaction_left_taken_is_fresh_where_the_provider_cannot_be_emptied(tmp_path):
    made = {"Content-Type": "application/vnd.alpha+json"}  # the name inside another word: never renamed there

    def exercise(url):
        assert send(url, "GET", "/things/alpha")[0] == 404
        assert send(url, "PUT", "/things/alpha", b'{"colour": "red"}', made)[0] == 201
        assert send(url, "GET", "/things/alpha")[0] == 200
        assert send(url, "PUT", "/things/alpha", b'{"colour": "blue"}', made)[0] == 409

    # Each interaction needs /things/alpha made afresh or absent; the undo cannot delete it, so the
    # interactions after the first find it taken and get a fresh name, as they would with --fresh-names.
    for options in ((), ("--fresh-names",)):
        _, result = first_contact(tmp_path / "-".join(options or ("plain",)), Permanent, exercise, *options)
        assert "the undo DELETE /things/alpha answered 405" in result.stdout
        assert green(result), result.stdout + result.stderr


# -- keys an endpoint leaves out somewhere ----------------------------------------------------------


class Experiments(Provider):
    """A search API whose encoder leaves an empty list out (protobuf's JSON, Go's `omitempty`): an
    experiment made without tags has no `tags` key. Its store may hold experiments made elsewhere."""

    seeded: tuple = ()

    def do_POST(self):  # noqa: N802
        ask = json.loads(self.body() or b"{}")
        with self.lock:
            for name in self.seeded:
                self.store.setdefault(name, [])
            if self.path == "/experiments/create":
                self.store[ask["name"]] = ask.get("tags", [])
                return self.send_json(200, {"name": ask["name"]})
            found = [n for n in self.store if n.startswith(ask.get("prefix", ""))][: ask.get("limit", 100)]
        return self.send_json(
            200, {"experiments": [{"name": n} | ({"tags": t} if (t := self.store[n]) else {}) for n in found]}
        )


def test_a_key_some_responses_of_an_endpoint_leave_out_is_optional_in_every_interaction_of_it(tmp_path):
    def exercise(url):
        for body in (
            {"name": "vision-a", "tags": [{"key": "team", "value": "cv"}]},
            {"name": "ops-b"},
            {"prefix": "vision"},  # only the tagged one: this interaction alone would require tags
            {"limit": 10},  # both: the endpoint leaves tags out when there are none
        ):
            path = "/experiments/search" if "name" not in body else "/experiments/create"
            assert send(url, "POST", path, json.dumps(body).encode(), {"Content-Type": "application/json"})[0] == 200

    pact, result = first_contact(tmp_path, Experiments, exercise)
    assert green(result), result.stdout + result.stderr
    by_prefix = next(i for i in pact["interactions"] if "prefix" in i["request"]["body"]["content"])
    assert "$.experiments[*].tags" not in by_prefix["response"]["matchingRules"]["body"]
    assert "$.experiments[*].name" in by_prefix["response"]["matchingRules"]["body"]

    # A provider holding an untagged experiment made elsewhere that the search finds too still passes;
    # one that drops the names the consumer reads does not.
    Seeded = type("Seeded", (Experiments,), {"seeded": ("vision-z",)})
    result = verify_against(tmp_path, Seeded.fresh())
    assert green(result), result.stdout + result.stderr

    class Nameless(Experiments):
        def send_json(self, status, body, headers=None):
            if isinstance(body, dict) and "experiments" in body:
                body = {"experiments": [{"id": i} for i, _ in enumerate(body["experiments"])]}
            super().send_json(status, body, headers)

    result = verify_against(tmp_path, Nameless.fresh())
    assert not green(result) and "missing the following keys: name" in result.stdout, result.stdout


class TwoShapes(Provider):
    """A query API answering two shapes at one URL: an instant query's items hold one sample in `value`, a
    range query's (`query=up[5m]`) hold theirs in `values`."""

    def do_GET(self):  # noqa: N802
        sent = dict(parse_qsl(urlsplit(self.path).query))
        ranged = sent["query"].endswith("]")
        sample = {"values": [[1, "1"], [2, "1"]]} if ranged else {"value": [2, "1"]}
        kind = "matrix" if ranged else "vector"
        self.send_json(200, {"data": {"resultType": kind, "result": [{"metric": {"job": "a"}} | sample]}})


def query_both_shapes(url: str) -> None:
    """An instant query, then a range query, at the same URL."""
    assert send(url, "GET", "/query?query=up")[0] == 200
    assert send(url, "GET", f"/query?query={quote('up[5m]')}&step=15")[0] == 200


def test_a_key_one_shape_of_an_endpoint_holds_where_another_holds_a_rival_stays_in_the_contract(tmp_path):
    pact, result = first_contact(tmp_path, TwoShapes, query_both_shapes)
    assert green(result), result.stdout + result.stderr
    instant = next(i for i in pact["interactions"] if "step" not in i["request"]["query"])
    assert "value" in instant["response"]["body"]["content"]["data"]["result"][0]

    class Renamed(TwoShapes):  # the samples the consumer reads, under another name
        def send_json(self, status, body, headers=None):
            for item in body["data"]["result"]:
                item["sample"] = item.pop("value", None) or item.pop("values")
            super().send_json(status, body, headers)

    result = verify_against(tmp_path, Renamed.fresh())
    assert result.stdout.count("FAIL") == 2, result.stdout


def test_the_places_of_a_tuple_keep_their_own_types(tmp_path):
    pact, result = first_contact(tmp_path, TwoShapes, query_both_shapes)
    assert green(result), result.stdout + result.stderr

    class Retyped(TwoShapes):  # a sample's value sent as a number, not as the string the consumer parses
        def send_json(self, status, body, headers=None):
            for item in body["data"]["result"]:
                for pair in item.get("values") or [item["value"]]:
                    pair[1] = float(pair[1])
            super().send_json(status, body, headers)

    result = verify_against(tmp_path, Retyped.fresh())
    assert result.stdout.count("FAIL") == 2, result.stdout


class Runs(Provider):
    """Runs made by `POST /runs/create` have no start time (null) until `POST /runs/start`; a search lists
    them. Its store may hold runs made elsewhere, not started."""

    seeded: tuple = ()

    def do_POST(self):  # noqa: N802
        ask = json.loads(self.body() or b"{}")
        with self.lock:
            for name in self.seeded:
                self.store.setdefault(name, None)
            if self.path == "/runs/create":
                self.store[ask["name"]] = None
            elif self.path == "/runs/start":
                self.store[ask["name"]] = formatdate(usegmt=True)
            else:
                found = sorted(n for n in self.store if n.startswith(ask.get("prefix", "")))
                return self.send_json(200, {"runs": [{"name": n, "started": self.store[n]} for n in found]})
        return self.send_json(200, {"name": ask["name"]})


def test_a_scalar_some_responses_of_an_endpoint_hold_null_may_be_null_in_every_interaction_of_it(tmp_path):
    def exercise(url):
        for path, body in (
            ("/runs/create", {"name": "etl-a"}),
            ("/runs/start", {"name": "etl-a"}),
            ("/runs/create", {"name": "ops-b"}),
            ("/runs/search", {"prefix": "etl"}),  # only the started one: alone it would say "a string"
            ("/runs/search", {}),  # both: the endpoint answers null for a run not started
        ):
            assert send(url, "POST", path, json.dumps(body).encode(), {"Content-Type": "application/json"})[0] == 200

    pact, result = first_contact(tmp_path, Runs, exercise)
    assert green(result), result.stdout + result.stderr
    by_prefix = next(i for i in pact["interactions"] if "prefix" in i["request"]["body"]["content"])
    started = by_prefix["response"]["matchingRules"]["body"]["$.runs[*].started"]
    assert started["combine"] == "OR" and {"match": "null"} in started["matchers"], started

    # A provider whose search also finds a run made elsewhere, not started, still passes; one that
    # answers the start time as a number does not.
    Seeded = type("Seeded", (Runs,), {"seeded": ("etl-0",)})
    result = verify_against(tmp_path, Seeded.fresh())
    assert green(result), result.stdout + result.stderr

    class Numbered(Runs):
        def send_json(self, status, body, headers=None):
            for run in body.get("runs", []):
                run["started"] = 0 if run["started"] is None else 1
            super().send_json(status, body, headers)

    result = verify_against(tmp_path, Numbered.fresh())
    assert not green(result) and "started" in result.stdout, result.stdout


# -- data the recording never saw made ---------------------------------------------------------------


class ZoneStore(Provider):
    """Zones made by `POST /zones {"name": ...}` (201, Location), each holding metadata by kind. The
    recording's provider also holds a zone its suite's fixtures loaded with another tool (`seeded`)."""

    seeded: tuple = ()

    def do_POST(self):  # noqa: N802
        ask = json.loads(self.body() or b"{}")
        with self.lock:
            if ask["name"] in self.store:
                return self.send_json(409, {"error": "Conflict: zone exists"})
            self.store[ask["name"]] = {"kind": ask.get("kind", "Native"), "metadata": {}}
        self.send_json(201, {"id": ask["name"], "kind": ask.get("kind")}, {"Location": f"/zones/{ask['name']}"})

    def zone(self):
        with self.lock:
            for name in self.seeded:
                self.store.setdefault(name, {"kind": "Native", "metadata": {}})
        parts = self.path.split("/")
        return parts, self.store.get(parts[2]) if len(parts) > 2 else None

    def do_GET(self):  # noqa: N802
        parts, zone = self.zone()
        if zone is None:
            return self.send_json(404, {"error": "Could not find domain"})
        if len(parts) == 3:
            return self.send_json(200, {"name": parts[2], "kind": zone["kind"], "metadata": sorted(zone["metadata"])})
        self.send_json(200, [{"kind": k, "value": v} for k, v in sorted(zone["metadata"].items())])

    def do_PUT(self):  # noqa: N802
        parts, zone = self.zone()
        if zone is None:
            return self.send_json(404, {"error": "Could not find domain"})
        zone["metadata"][parts[4]] = json.loads(self.body())["value"]
        self.send_json(200, {"kind": parts[4], "value": zone["metadata"][parts[4]]})


def test_an_item_its_suite_loaded_outside_the_api_is_made_as_the_recording_made_its_siblings(tmp_path):
    def exercise(url):
        json_type = {"Content-Type": "application/json"}
        for method, target, body, status in (
            ("POST", "/zones", {"name": "test-1.org.", "kind": "Native"}, 201),
            ("PUT", "/zones/test-1.org./metadata/ALLOW", {"value": "x"}, 200),
            ("GET", "/zones/example.com.", None, 200),  # loaded by the suite's fixtures: no request made it
            ("PUT", "/zones/example.com./metadata/SOA-EDIT", {"value": "y"}, 200),
            ("GET", "/zones/example.com./metadata", None, 200),
        ):
            data = json.dumps(body).encode() if body else b""
            assert send(url, method, target, data, json_type if body else {})[0] == status, target

    out = tmp_path / "pacts"
    with provider_serving(type("Loaded", (ZoneStore,), {"seeded": ("example.com.",)})) as url:
        record_through(recorder_args(url, out), exercise)
    states = (out / PACT_NAME.replace(".json", ".states.yaml")).read_text()
    assert "like: /zones/test-1.org." in states
    result = verify_against(tmp_path, ZoneStore.fresh())  # started empty
    assert green(result), result.stdout + result.stderr
    # A provider that holds the item already (it loaded it too) refuses the copy: the setup goes on.
    result = verify_against(tmp_path, type("Loaded", (ZoneStore,), {"seeded": ("example.com.",)}).fresh())
    assert green(result), result.stdout + result.stderr


# -- accounts a call made, and the protocol's own words beside chosen names ----------------------------


class Chat(Provider):
    """Accounts made by `POST /register` (the password in the body; a token back), logins by `POST /login`, rooms
    made by `POST /createRoom` under an alias that stays taken for good. `type` and `preset` are the protocol's
    own words: any other value is refused (400), as a taken name is."""

    def do_POST(self):  # noqa: N802
        ask = json.loads(self.body() or b"{}")
        with self.lock:
            users, rooms = self.store.setdefault("users", {}), self.store.setdefault("rooms", {})
            if self.path == "/register":
                if ask.get("auth", {}).get("type") != "m.login.dummy" or ask["username"] in users:
                    return self.send_json(400, {"errcode": "M_USER_IN_USE"})
                users[ask["username"]] = ask["password"]
                return self.send_json(200, {"user_id": f"@{ask['username']}:local"})
            if self.path == "/login":
                if ask.get("type") != "m.login.password" or users.get(ask["user"]) != ask["password"]:
                    return self.send_json(403, {"errcode": "M_FORBIDDEN"})
                token = f"syt_{uuid.uuid4().hex}"
                self.store[token] = ask["user"]
                return self.send_json(200, {"access_token": token, "user_id": f"@{ask['user']}:local"})
            if self.store.get(self.headers.get("Authorization", "").removeprefix("Bearer ")) is None:
                return self.send_json(401, {"errcode": "M_UNKNOWN_TOKEN"})
            if ask.get("preset") not in ("public_chat", "private_chat") or ask["room_alias_name"] in rooms:
                return self.send_json(400, {"errcode": "M_ROOM_IN_USE"})
            rooms[ask["room_alias_name"]] = room = f"!{uuid.uuid4().hex[:12]}:local"
        self.send_json(200, {"room_id": room})

    def do_GET(self):  # noqa: N802
        user = self.store.get(self.headers.get("Authorization", "").removeprefix("Bearer "))
        if user is None:
            return self.send_json(401, {"errcode": "M_UNKNOWN_TOKEN"})
        self.send_json(200, {"user_id": f"@{user}:local"})


def test_a_login_needs_the_call_that_made_its_account_and_a_refused_create_renames_only_its_taken_name(tmp_path):
    def exercise(url):
        def post(path, body, token=None):
            auth = {"Authorization": f"Bearer {token}"} if token else {}
            return send(url, "POST", path, json.dumps(body).encode(), {"Content-Type": "application/json", **auth})

        assert post("/register", {"username": "alice", "password": "pw-1", "auth": {"type": "m.login.dummy"}})[0] == 200
        status, _, body = post("/login", {"type": "m.login.password", "user": "alice", "password": "pw-1"})
        token = json.loads(body)["access_token"]
        assert send(url, "GET", "/account/whoami", headers={"Authorization": f"Bearer {token}"})[0] == 200
        for alias in ("lobby", "lounge"):  # two public rooms: `public_chat` is no name either chose
            assert post("/createRoom", {"preset": "public_chat", "room_alias_name": alias}, token)[0] == 200

    pact, result = first_contact(tmp_path, Chat, exercise, "--secret", "password=pw-1")
    assert green(result), result.stdout + result.stderr


class Configured(Provider):
    """Collections made by name with a configuration of the protocol's own words (any other value: 422), a
    name taken for good (no DELETE: 409 again); files are made in one (`PUT /collections/NAME/FILE`)."""

    WORDS = {"space": "l2", "index": "hnsw", "dtype": "float32", "function": "default", "kind": "known", "mode": "fast"}

    def do_POST(self):  # noqa: N802
        ask = json.loads(self.body())
        with self.lock:
            if ask.get("configuration") != self.WORDS:
                return self.send_json(422, {"detail": "unknown variant"})
            if ask["name"] in self.store:
                return self.send_json(409, {"detail": "collection exists"})
            self.store[ask["name"]] = {}
        self.send_json(200, {"name": ask["name"]})

    def do_PUT(self):  # noqa: N802
        _, name, file = self.path.split("/")[1:]
        with self.lock:
            if name not in self.store:
                return self.send_json(404, {"detail": "no such collection"})
            self.store[name][file] = self.body()
        self.send_bytes(201)


def test_a_refused_create_renames_what_its_naming_field_sent_never_the_protocol_s_words(tmp_path):
    def exercise(url):
        for name in ("docs", "docs2"):
            body = json.dumps({"configuration": Configured.WORDS, "name": name}).encode()
            assert send(url, "POST", "/collections", body, {"Content-Type": "application/json"})[0] == 200
            assert send(url, "PUT", f"/collections/{name}/a.txt", b"a", {"Content-Type": "text/plain"})[0] == 201

    pact, result = first_contact(tmp_path, Configured, exercise)
    assert green(result), result.stdout + result.stderr


class Schemas(Provider):
    """Collections made by `POST /collections {"collection": NAME}` (answered with what was made) and known
    from then on by that name (`/collections/NAME`), items made in one (`POST /items/NAME`), as headless CMSs
    do; a name made twice is refused (400)."""

    def do_POST(self):  # noqa: N802
        ask = json.loads(self.body())
        with self.lock:
            if self.path == "/collections":
                if ask["collection"] in self.store:
                    return self.send_json(400, {"errors": [{"message": "already exists"}]})
                self.store[ask["collection"]] = []
                return self.send_json(200, {"data": {"name": ask["collection"], "meta": {"hidden": False}}})
            items = self.store.get(self.path.rpartition("/")[2])
            if items is None:
                return self.send_json(403, {"errors": [{"message": "forbidden"}]})
            items.append(ask)
        self.send_json(200, {"data": ask | {"id": len(items)}})

    def do_GET(self):  # noqa: N802
        name = self.path.rpartition("/")[2]
        if name not in self.store:
            return self.send_json(403, {"errors": [{"message": "forbidden"}]})
        self.send_json(200, {"data": {"collection": name, "count": len(self.store[name])}})

    def do_DELETE(self):  # noqa: N802
        with self.lock:
            gone = self.store.pop(self.path.rpartition("/")[2], None)
        self.send_bytes(204 if gone is not None else 404)


def test_a_create_under_a_name_it_chose_needs_it_free_and_the_verification_leaves_the_provider_as_it_was(tmp_path):
    def exercise(url):
        def post(path, body):
            return send(url, "POST", path, json.dumps(body).encode(), {"Content-Type": "application/json"})[0]

        assert post("/collections", {"collection": "articles"}) == 200
        assert post("/items/articles", {"title": "Hello"}) == 200
        assert send(url, "GET", "/collections/articles")[0] == 200
        assert send(url, "DELETE", "/collections/articles")[0] == 204

    pact, result = first_contact(tmp_path, Schemas, exercise)
    assert green(result), result.stdout + result.stderr
    # the create needs its name free (deleted first, undone after), and what the last interaction's setups
    # made is undone after it: the verification leaves the provider as it found it
    provider = Schemas.fresh()
    result = verify_against(tmp_path, provider)
    assert green(result), result.stdout + result.stderr
    assert provider.store == {}, provider.store


class Aliased(Provider):
    """Collections made by `POST /collections {"name": ...}`, answered with the id the server gives them
    beside the name; read by id, deleted by name (404 for none), a name made twice refused (409)."""

    def do_POST(self):  # noqa: N802
        name = json.loads(self.body())["name"]
        with self.lock:
            if name in self.store:
                return self.send_json(409, {"error": "exists"})
            self.store[name] = str(uuid.uuid4())
        self.send_json(200, {"id": self.store[name], "name": name})

    def do_GET(self):  # noqa: N802
        cid = self.path.rpartition("/")[2]
        name = next((n for n, i in self.store.items() if i == cid), None)
        self.send_json(404, {"error": "none"}) if name is None else self.send_json(200, {"id": cid, "name": name})

    def do_DELETE(self):  # noqa: N802
        with self.lock:
            gone = self.store.pop(self.path.rpartition("/")[2], None)
        self.send_json(404, {"error": "none"}) if gone is None else self.send_json(200, {})


def test_a_resource_made_with_an_id_and_a_name_it_was_sent_is_known_by_both(tmp_path):
    def exercise(url):
        body = json.dumps({"name": "docs"}).encode()
        cid = json.loads(send(url, "POST", "/collections", body, {"Content-Type": "application/json"})[2])["id"]
        assert send(url, "GET", f"/collections/{cid}")[0] == 200
        assert send(url, "DELETE", "/collections/docs")[0] == 200

    pact, result = first_contact(tmp_path, Aliased, exercise)
    assert green(result), result.stdout + result.stderr
    provider = Aliased.fresh()  # (deleted by the name it was made with: the verification leaves nothing)
    result = verify_against(tmp_path, provider)
    assert green(result), result.stdout + result.stderr
    assert provider.store == {}, provider.store


class Soapy(Provider):
    """One URL, the operation in the XML body, a password element in every request's header (WS-Security's
    UsernameToken), checked: a wrong one is a 401."""

    def do_POST(self):  # noqa: N802
        envelope = self.body().decode()
        if "<Password>shelf-Keeper-7</Password>" not in envelope:
            return self.send_bytes(401)
        answer = "<Envelope><Body><Pong/></Body></Envelope>" if "<Ping/>" in envelope else "<Envelope/>"
        self.send_bytes(200, answer.encode(), {"Content-Type": "text/xml"})


def test_a_password_an_xml_body_carries_is_redacted_and_asked_for_once(tmp_path):
    def exercise(url):
        for op in ("<Ping/>", "<Stat/>"):
            envelope = f"<Envelope><Header><Password>shelf-Keeper-7</Password></Header><Body>{op}</Body></Envelope>"
            assert send(url, "POST", "/", envelope.encode(), {"Content-Type": "text/xml"})[0] == 200

    pact, result = first_contact(tmp_path, Soapy, exercise)
    assert result.returncode == 2 and "password: needed by" in result.stderr, result.stderr
    assert not any("shelf-Keeper-7" in p.read_text() for p in (tmp_path / "pacts").glob("*.*") if p.is_file())
    result = verify_against(tmp_path, Soapy.fresh(), "--secret", "password=shelf-Keeper-7")
    assert green(result), result.stdout + result.stderr


class Pages(Provider):
    """Posts made by `POST /posts` with the next number as their id; listed a page at a time
    (`?_page=P&_limit=L`, json-server's parameters), never deleted."""

    def do_POST(self):  # noqa: N802
        with self.lock:
            self.store[len(self.store) + 1] = json.loads(self.body())
            post = {"id": len(self.store), **self.store[len(self.store)]}
        self.send_json(201, post)

    def do_GET(self):  # noqa: N802
        ask = dict(parse_qsl(urlsplit(self.path).query))
        page, limit = int(ask.get("_page", 1)), int(ask.get("_limit", 10))
        posts = [{"id": i, **p} for i, p in sorted(self.store.items())][(page - 1) * limit : page * limit]
        self.send_json(200, posts, {"X-Total-Count": str(len(self.store))})


def test_a_page_number_is_no_id_a_response_handed_out(tmp_path):
    def exercise(url):
        for title in ("a", "b", "c", "d"):
            body = json.dumps({"title": title}).encode()
            assert send(url, "POST", "/posts", body, {"Content-Type": "application/json"})[0] == 201
        assert len(json.loads(send(url, "GET", "/posts?_page=2&_limit=2")[2])) == 2

    pact, result = first_contact(tmp_path, Pages, exercise)
    listing = next(i for i in pact["interactions"] if i["request"]["method"] == "GET")
    assert "generators" not in listing["request"], listing["request"]  # `_page=2` is sent as recorded
    assert green(result), result.stdout + result.stderr


class BuiltInAdmin(Provider):
    """One account the provider starts with (its settings name it); `POST /auth/token` logs it in (403 for any
    other name or password), `POST /auth/revoke` ends a token."""

    def do_POST(self):  # noqa: N802
        ask = json.loads(self.body() or b"{}")
        with self.lock:
            if self.path == "/auth/token":
                if (ask.get("username"), ask.get("password")) != ("admin", "admin-Pass-91"):
                    return self.send_json(403, {"error": "unauthorized"})
                self.store[token := uuid.uuid4().hex] = "admin"
                return self.send_json(200, {"access_token": token, "token_type": "Bearer"})
            if self.store.pop(self.headers.get("Authorization", "").removeprefix("Bearer "), None) is None:
                return self.send_json(401, {"error": "unauthorized"})
        self.send_json(200, {})


def test_a_login_of_an_account_the_provider_starts_with_keeps_its_name(tmp_path):
    def exercise(url):
        login = json.dumps({"username": "admin", "password": "admin-Pass-91"}).encode()
        token = json.loads(send(url, "POST", "/auth/token", login)[2])["access_token"]
        assert send(url, "POST", "/auth/revoke", b"{}", {"Authorization": f"Bearer {token}"})[0] == 200

    # The revoke's setup logs in first (its token), then the login itself is verified: its name, which that
    # setup sent, is no name a creation took (the login goes through again), to be made fresh.
    pact, result = first_contact(tmp_path, BuiltInAdmin, exercise, "--secret", "password=admin-Pass-91")
    assert green(result), result.stdout + result.stderr


# -- secrets the provider masks ----------------------------------------------------------------------


class Vault(Provider):
    """Blocks of data stored by name; a write is answered with the block, its `data.value` masked, and a read
    shows it in clear only when asked to (`?include_secrets=true`), as secret stores do."""

    def do_POST(self):  # noqa: N802
        ask = json.loads(self.body())
        with self.lock:
            if ask["name"] in self.store:
                return self.send_json(409, {"detail": "Block already exists"})
            self.store[ask["name"]] = ask["data"]
        self.send_json(201, {"name": ask["name"], "data": {k: "********" for k in ask["data"]}})

    def do_GET(self):  # noqa: N802
        parts = urlsplit(self.path)
        data = self.store.get(parts.path.rpartition("/")[2])
        if data is None:
            return self.send_json(404, {"detail": "Block not found"})
        clear = "include_secrets=true" in parts.query
        self.send_json(
            200, {"name": parts.path.rpartition("/")[2], "data": data if clear else dict.fromkeys(data, "********")}
        )


def test_a_value_the_provider_masks_in_its_answer_is_a_secret_wherever_it_appears(tmp_path):
    def exercise(url):
        json_type = {"Content-Type": "application/json"}
        for value, status in (("wh-Pa55-harness-7f3c9e", 201), ("another-pass-2", 409)):
            body = json.dumps({"name": "warehouse", "data": {"value": value}}).encode()
            assert send(url, "POST", "/blocks", body, json_type)[0] == status
        assert send(url, "GET", "/blocks/warehouse?include_secrets=true")[0] == 200
        assert send(url, "GET", "/blocks/warehouse")[0] == 200

    pact, result = first_contact(tmp_path, Vault, exercise, "--secret", "value=wh-Pa55-harness-7f3c9e")
    written = "".join(p.read_text() for p in (tmp_path / "pacts").iterdir() if p.is_file())
    assert "wh-Pa55" not in written and "another-pass" not in written
    assert green(result), result.stdout + result.stderr


# -- undone as the consumer deleted it ----------------------------------------------------------------


class Containers(Provider):
    """Containers made by `PUT /NAME?restype=container` and deleted only by `DELETE /NAME?restype=container`
    (400 without: a DELETE of a path is a blob's), emptied first; a second create of one is refused (409)."""

    def target(self):
        parts = urlsplit(self.path)
        return parts.path.strip("/").partition("/"), "restype=container" in parts.query

    def do_PUT(self):  # noqa: N802
        (name, _, blob), container = self.target()
        data = self.body()
        with self.lock:
            if container:
                if name in self.store:
                    return self.send_json(409, {"code": "ContainerAlreadyExists"})
                self.store[name] = {}
                return self.send_bytes(201)
            if name not in self.store:
                return self.send_json(404, {"code": "ContainerNotFound"})
            self.store[name][blob] = data
        self.send_bytes(201)

    def do_GET(self):  # noqa: N802
        (name, _, blob), _ = self.target()
        if blob not in self.store.get(name, {}):
            return self.send_json(404, {"code": "BlobNotFound"})
        self.send_bytes(200, self.store[name][blob], {"Content-Type": "text/plain"})

    def do_DELETE(self):  # noqa: N802
        (name, _, blob), container = self.target()
        with self.lock:
            if not container and not blob:
                return self.send_json(400, {"code": "InvalidQueryParameterValue"})
            held = self.store.get(name)
            if held is None or blob and blob not in held:
                return self.send_json(404, {"code": "NotFound"})
            if blob:
                del held[blob]
            elif held:
                return self.send_json(409, {"code": "ContainerNotEmpty"})
            else:
                del self.store[name]
        self.send_bytes(202)


def test_an_undo_deletes_a_resource_as_the_consumer_deleted_it(tmp_path):
    def exercise(url):
        assert send(url, "PUT", "/photos?restype=container")[0] == 201
        assert send(url, "PUT", "/photos/cat.txt", b"meow", {"Content-Type": "text/plain"})[0] == 201
        assert send(url, "GET", "/photos/cat.txt")[0] == 200
        assert send(url, "DELETE", "/photos/cat.txt")[0] == 202
        assert send(url, "DELETE", "/photos?restype=container")[0] == 202

    pact, result = first_contact(tmp_path, Containers, exercise)
    assert green(result), result.stdout + result.stderr
    assert "NOTE" not in result.stdout  # every undo went through


class Leases(Provider):
    """Documents a client may lease (`PUT ?comp=lease` with `Lease-Action: acquire` and the lease id it
    proposes, 201; `release` with that id, 200): a leased document cannot be written or deleted (412)."""

    def do_PUT(self):  # noqa: N802
        path, _, query = self.path.partition("?")
        data, action, lease = self.body(), self.headers.get("Lease-Action"), self.headers.get("Lease-Id")
        with self.lock:
            doc = self.store.get(path)
            if query == "comp=lease":
                if doc is None:
                    return self.send_bytes(404)
                if action == "acquire" and doc["lease"] is None:
                    doc["lease"] = self.headers.get("Proposed-Lease-Id")
                    return self.send_bytes(201)
                if action == "release" and doc["lease"] == lease:
                    doc["lease"] = None
                    return self.send_bytes(200)
                return self.send_bytes(409)
            if doc is not None and doc["lease"] not in (None, lease):
                return self.send_bytes(412)
            self.store[path] = {"data": data, "lease": doc["lease"] if doc else None}
        self.send_bytes(204 if doc else 201)

    def do_GET(self):  # noqa: N802
        doc = self.store.get(self.path)
        if doc is None:
            return self.send_bytes(404)
        self.send_bytes(200, doc["data"], {"Content-Type": "text/plain"})

    def do_DELETE(self):  # noqa: N802
        with self.lock:
            doc = self.store.get(self.path)
            if doc is None:
                return self.send_bytes(404)
            if doc["lease"] is not None:
                return self.send_bytes(412)
            del self.store[self.path]
        self.send_bytes(204)


def test_an_undo_refused_for_a_lease_an_interaction_took_frees_it_as_the_consumer_did(tmp_path):
    lease = str(uuid.uuid4())

    def exercise(url):
        assert send(url, "PUT", "/docs/a.txt", b"one", {"Content-Type": "text/plain"})[0] == 201
        acquire = {"Lease-Action": "acquire", "Proposed-Lease-Id": lease}
        assert send(url, "PUT", "/docs/a.txt?comp=lease", headers=acquire)[0] == 201
        assert send(url, "PUT", "/docs/a.txt", b"two", {"Content-Type": "text/plain"})[0] == 412
        release = {"Lease-Action": "release", "Lease-Id": lease}
        assert send(url, "PUT", "/docs/a.txt?comp=lease", headers=release)[0] == 200
        assert send(url, "GET", "/docs/a.txt")[0] == 200
        assert send(url, "DELETE", "/docs/a.txt")[0] == 204
        assert send(url, "PUT", "/docs/a.txt", b"three", {"Content-Type": "text/plain"})[0] == 201

    pact, result = first_contact(tmp_path, Leases, exercise)
    assert green(result), result.stdout + result.stderr
    assert "NOTE" not in result.stdout  # every undo went through


class Vectors(Provider):
    """Collections made by `POST /collections` (answered with the id the server gives them); records go in
    through actions posted below one (`/collections/ID/add`, 201 with nothing, 400 for another dimension)
    and come back through another (`/collections/ID/get`), as vector stores' APIs do."""

    def do_POST(self):  # noqa: N802
        ask = json.loads(self.body() or b"{}")
        parts = self.path.strip("/").split("/")
        with self.lock:
            if parts == ["collections"]:
                cid = str(uuid.uuid4())
                self.store[cid] = {}
                return self.send_json(200, {"id": cid, "name": ask["name"]})
            held = self.store.get(parts[1]) if len(parts) == 3 else None
            if held is None:
                return self.send_json(404, {"error": "no such collection"})
            if parts[2] == "add":
                sizes = {len(v) for v in [*held.values(), *ask["embeddings"]]}
                if len(sizes) > 1:
                    return self.send_json(400, {"error": "dimension mismatch"})
                held.update(zip(ask["ids"], ask["embeddings"], strict=True))
                return self.send_json(201, {})
            ids = sorted(held)
        return self.send_json(200, {"ids": ids, "embeddings": [held[i] for i in ids]})


def test_an_action_posted_below_a_resource_is_part_of_its_setup(tmp_path):
    def call(url, path, body):
        return send(url, "POST", path, json.dumps(body).encode(), {"Content-Type": "application/json"})

    def exercise(url):
        cid = json.loads(call(url, "/collections", {"name": "docs"})[2])["id"]
        assert call(url, f"/collections/{cid}/add", {"ids": ["a", "b"], "embeddings": [[1, 2], [3, 4]]})[0] == 201
        assert call(url, f"/collections/{cid}/add", {"ids": ["c"], "embeddings": [[1, 2, 3]]})[0] == 400
        assert json.loads(call(url, f"/collections/{cid}/get", {})[2])["ids"] == ["a", "b"]

    pact, result = first_contact(tmp_path, Vectors, exercise)
    assert green(result), result.stdout + result.stderr


class Revisions(Provider):
    """Files uploaded into a package's revision; a file cannot be deleted by itself (405), a revision can, with
    its files."""

    def do_PUT(self):  # noqa: N802
        with self.lock:
            self.store[self.path] = self.body()
        self.send_bytes(201)

    def do_GET(self):  # noqa: N802
        if "/files/" not in self.path:  # a revision: there once its manifest is (uploaded last)
            files = {p.rpartition("/")[2] for p in self.store if p.startswith(self.path + "/files/")}
            return self.send_json(200, {"files": len(files)}) if "manifest" in files else self.send_json(404, {})
        found = self.store.get(self.path)
        self.send_bytes(200, found) if found is not None else self.send_json(404, {"error": "not found"})

    def do_DELETE(self):  # noqa: N802
        if "/files/" in self.path:
            return self.send_json(405, {"error": "delete the revision"})
        with self.lock:
            gone = [p for p in self.store if p.startswith(self.path + "/")]
            for p in gone:
                del self.store[p]
        self.send_bytes(200 if gone else 404)


def test_what_cannot_be_deleted_by_itself_is_undone_with_what_the_consumer_deleted_around_it(tmp_path):
    blobs = [b"# conanfile", b"# manifest"]
    first, last = (f"/pkgs/app/revisions/r1/files/{hashlib.sha1(b).hexdigest()}" for b in blobs)  # (no new names)

    def exercise(url):
        for path, blob in zip((first, last), blobs, strict=True):
            assert send(url, "PUT", path, blob)[0] == 201
        assert send(url, "GET", last)[0] == 200
        assert send(url, "DELETE", "/pkgs/app/revisions/r1")[0] == 200
        assert send(url, "GET", last)[0] == 404

    # Interactions verified before it made the last file; the 404 needs it gone: the undo deletes the revision.
    pact, result = first_contact(tmp_path, Revisions, exercise)
    assert green(result), result.stdout + result.stderr


def test_what_writes_below_a_path_made_is_set_up_with_all_of_them(tmp_path):
    def exercise(url):
        for name in ("sources", "conanfile", "manifest"):
            assert send(url, "PUT", f"/pkgs/app/revisions/r1/files/{name}", b"# " + name.encode())[0] == 201
        assert json.loads(send(url, "GET", "/pkgs/app/revisions/r1")[2]) == {"files": 3}

    pact, result = first_contact(tmp_path, Revisions, exercise)
    assert green(result), result.stdout + result.stderr


def test_a_file_is_no_state_of_a_file_of_the_same_name_in_another_package(tmp_path):
    def exercise(url):
        for package in ("alpha", "beta"):
            assert send(url, "PUT", f"/pkgs/{package}/revisions/r1/files/info.txt", package.encode())[0] == 201
        assert send(url, "GET", "/pkgs/beta/revisions/r1/files/info.txt")[2] == b"beta"

    pact, result = first_contact(tmp_path, Revisions, exercise)
    read = next(i for i in pact["interactions"] if i["request"]["method"] == "GET")
    assert [(s["name"], s["params"]) for s in read["providerStates"]] == [("file exists", {"file": "info.txt"})]
    assert green(result), result.stdout + result.stderr


# -- built-in data with new ids in every server ------------------------------------------------------


class Builtins(Provider):
    """Block types registered when the server starts, each with a new id in every server; documents are made
    by the id of their type (404 for an id this server never gave)."""

    def types(self) -> dict:
        with self.lock:
            return self.store.setdefault("types", {"secret": str(uuid.uuid4()), "json": str(uuid.uuid4())})

    def do_GET(self):  # noqa: N802
        slug = self.path.rpartition("/")[2]
        if slug not in self.types():
            return self.send_json(404, {"detail": "Block type not found"})
        self.send_json(200, {"id": self.types()[slug], "slug": slug})

    def do_POST(self):  # noqa: N802
        ask = json.loads(self.body())
        if ask["block_type_id"] not in self.types().values():
            return self.send_json(404, {"detail": f"Block type {ask['block_type_id']} not found"})
        self.send_json(201, {"id": str(uuid.uuid4()), "name": ask["name"], "block_type_id": ask["block_type_id"]})


def test_an_id_a_read_of_built_in_data_handed_out_is_fetched_from_the_provider_verified(tmp_path):
    def exercise(url):
        status, _, body = send(url, "GET", "/block_types/slug/secret")
        document = {"name": "warehouse", "block_type_id": json.loads(body)["id"]}
        assert send(url, "POST", "/block_documents", json.dumps(document).encode())[0] == 201

    pact, result = first_contact(tmp_path, Builtins, exercise)
    assert green(result), result.stdout + result.stderr


# -- a provider busy for a moment ---------------------------------------------------------------------


class Items(Provider):
    """Items made by `POST /items {"name": ...}` (201), read at `/items/NAME`."""

    def do_POST(self):  # noqa: N802
        name = json.loads(self.body())["name"]
        with self.lock:
            self.store[name] = {"name": name}
        self.send_json(201, self.store[name], {"Location": f"/items/{name}"})

    def do_GET(self):  # noqa: N802
        found = self.store.get(self.path.rpartition("/")[2])
        self.send_json(200, found) if found else self.send_json(404, {"detail": "not found"})


class BusyItems(Items):
    """The same, answering a write 503 (a database locked for a moment, as SQLite-backed servers do under
    their own background work) unless it is the same write tried again at once."""

    def do_POST(self):  # noqa: N802
        with self.lock:
            again, self.store["last"] = self.store.get("last") == self.body(), self.body()
        if not again:
            return self.send_json(503, {"detail": "database is locked"}, {"Retry-After": "0"})
        super().do_POST()


def test_a_setup_step_answered_503_is_sent_again_as_clients_do(tmp_path):
    def exercise(url):
        assert send(url, "POST", "/items", json.dumps({"name": "a"}).encode())[0] == 201
        assert send(url, "GET", "/items/a")[0] == 200

    out = tmp_path / "pacts"
    with provider_serving(Items) as url:
        record_through(recorder_args(url, out), exercise)
    result = verify_against(tmp_path, BusyItems.fresh())
    assert "PASS  GET /items/a returns 200" in result.stdout, result.stdout  # (the verifier's own POST tries once)


class Identity(Provider):
    """An identity API as OpenStack's: a login answered 201 that hands its token out in a response header
    (`X-Subject-Token`, sent back as `X-Auth-Token`) with an administrator's password the provider holds
    from the start, resources made by a POST answered with the resource in an envelope (`{"user": {...}}`,
    no Location), and a 401 whose `WWW-Authenticate` names the provider by the address it was reached at."""

    ADMIN = "adm1n-pw"

    def _token_user(self) -> str | None:
        return self.store.get("tokens", {}).get(self.headers.get("X-Auth-Token", ""))

    def _refuse(self) -> None:
        challenge = f'Keystone uri="http://{self.headers.get("Host")}/v3"'
        self.send_json(401, {"error": {"code": 401, "title": "Unauthorized"}}, {"WWW-Authenticate": challenge})

    def do_POST(self):  # noqa: N802
        body = json.loads(self.body() or b"{}")
        if self.path == "/v3/auth/tokens":
            user = body["auth"]["identity"]["password"]["user"]
            known = {"admin": self.ADMIN} | {u["name"]: u["password"] for u in self.store.get("users", {}).values()}
            if known.get(user["name"]) != user["password"]:
                return self._refuse()
            token = uuid.uuid4().hex
            self.store.setdefault("tokens", {})[token] = user["name"]
            return self.send_json(201, {"token": {"user": {"name": user["name"]}}}, {"X-Subject-Token": token})
        if self._token_user() is None:
            return self._refuse()
        if self.path == "/v3/users":
            user = body["user"] | {"id": uuid.uuid4().hex}
            self.store.setdefault("users", {})[user["id"]] = user
            return self.send_json(201, {"user": {k: v for k, v in user.items() if k != "password"}})
        self.send_json(404, {"error": {"code": 404}})

    def do_GET(self, changes: dict | None = None):  # noqa: N802
        if self._token_user() is None:
            return self._refuse()
        user = self.store.get("users", {}).get(self.path.removeprefix("/v3/users/"))
        if user is None:
            return self.send_json(404, {"error": {"code": 404, "title": "Not Found"}})
        user.update(changes or {})
        self.send_json(200, {"user": {k: v for k, v in user.items() if k != "password"}})

    def do_PATCH(self):  # noqa: N802
        self.do_GET(json.loads(self.body())["user"])


def test_a_login_answered_201_needs_its_password_and_a_resource_in_an_envelope_is_set_up_by_its_post(tmp_path):
    def login(url: str, name: str, password: str) -> str:
        auth = {
            "auth": {"identity": {"methods": ["password"], "password": {"user": {"name": name, "password": password}}}}
        }
        answer = send(url, "POST", "/v3/auth/tokens", json.dumps(auth).encode(), {"Content-Type": "application/json"})
        assert answer[0] == 201, answer
        return answer[1]["X-Subject-Token"]

    def exercise(url):
        for _ in range(2):  # a CLI logs in for every command
            token = login(url, "admin", Identity.ADMIN)
        headers = {"X-Auth-Token": token, "Content-Type": "application/json"}
        made = send(url, "POST", "/v3/users", json.dumps({"user": {"name": "alice", "password": "al1ce-pw"}}).encode(),
                    headers)  # fmt: skip
        user = json.loads(made[2])["user"]["id"]
        described = json.dumps({"user": {"description": "ops"}}).encode()
        assert send(url, "PATCH", f"/v3/users/{user}", described, headers)[0] == 200
        fresh = {"X-Auth-Token": login(url, "admin", Identity.ADMIN)}
        assert send(url, "GET", f"/v3/users/{user}", headers=fresh)[0] == 200
        assert send(url, "GET", f"/v3/users/{user}", headers={"X-Auth-Token": "expired"})[0] == 401

    doc, first = first_contact(tmp_path, Identity, exercise)
    # The administrator's password was held before the recording: verify asks for it, once, by name.
    assert first.returncode == 2, first.stdout + first.stderr
    assert "password: needed by" in first.stderr and "--secret password=VALUE" in first.stderr
    result = verify_against(tmp_path, Identity.fresh(), "--secret", f"password={Identity.ADMIN}")
    assert green(result), result.stdout + result.stderr
    refused = next(i for i in doc["interactions"] if i["response"]["status"] == 401)
    assert refused["response"]["matchingRules"]["header"]["Www-Authenticate"]["matchers"][0]["regex"].startswith(
        '^Keystone uri="https?://'
    )


class Roles(Provider):
    """Roles the provider holds from the start, under ids it makes up at each start and listed in an order
    of its own: a consumer picks one by its name and grants it; `admin` and `observer` cannot be granted."""

    REVERSED = False  # this start lists the roles the other way round

    @classmethod
    def fresh(cls, reversed_order: bool = False) -> type[Provider]:
        roles = {name: uuid.uuid4().hex for name in ("admin", "member", "observer", "reader")}
        return type(cls.__name__, (cls,), {"store": {"roles": roles}, "lock": threading.Lock(),
                                           "REVERSED": reversed_order})  # fmt: skip

    def do_GET(self):  # noqa: N802
        if self.path == "/roles":
            roles = [{"id": i, "name": n} for n, i in sorted(self.store["roles"].items(), reverse=self.REVERSED)]
            return self.send_json(200, {"roles": roles})
        self.send_json(200, {"grants": sorted(self.store.get("grants", []))})

    def do_PUT(self):  # noqa: N802
        role = self.path.removeprefix("/grants/")
        name = next((n for n, i in self.store["roles"].items() if i == role), None)
        if name in (None, "admin", "observer"):
            return self.send_json(403, {"error": f"cannot grant {name or role}"})
        self.store.setdefault("grants", []).append(name)
        self.send_bytes(204)


def test_an_id_taken_from_a_list_is_found_again_by_its_item_s_name_in_another_order(tmp_path):
    def exercise(url):
        roles = json.loads(send(url, "GET", "/roles")[2])["roles"]
        member = next(r["id"] for r in roles if r["name"] == "member")
        assert send(url, "PUT", f"/grants/{member}")[0] == 204
        assert json.loads(send(url, "GET", "/grants")[2]) == {"grants": ["member"]}

    first_contact(tmp_path, Roles, exercise)
    result = verify_against(tmp_path, Roles.fresh(reversed_order=True))  # member: 2nd recorded, 3rd now
    assert green(result), result.stdout + result.stderr


class Domains(Provider):
    """Domains by a name no two may share, deleted only once disabled (403 while enabled), and no reset:
    what one interaction's setup made must be undone before the next one makes it again."""

    def do_POST(self):  # noqa: N802
        name = json.loads(self.body())["domain"]["name"]
        if any(d["name"] == name for d in self.store.values()):
            return self.send_json(409, {"error": f"domain {name} exists"})
        domain = {"id": uuid.uuid4().hex, "name": name, "enabled": True}
        self.store[domain["id"]] = domain
        self.send_json(201, {"domain": domain})

    def do_GET(self):  # noqa: N802
        domain = self.store.get(self.path.removeprefix("/domains/"))
        self.send_json(200, {"domain": domain}) if domain else self.send_json(404, {"error": "no such domain"})

    def do_PATCH(self):  # noqa: N802
        domain = self.store.get(self.path.removeprefix("/domains/"))
        if domain is None:
            return self.send_json(404, {"error": "no such domain"})
        domain.update(json.loads(self.body())["domain"])
        self.send_json(200, {"domain": domain})

    def do_DELETE(self):  # noqa: N802
        domain = self.store.get(self.path.removeprefix("/domains/"))
        if domain is None:
            return self.send_json(404, {"error": "no such domain"})
        if domain["enabled"]:
            return self.send_json(403, {"error": "cannot delete a domain that is enabled: disable it first"})
        del self.store[domain["id"]]
        self.send_bytes(204)


def test_an_undo_refused_until_the_resource_is_disabled_sends_the_consumer_s_own_disabling_first(tmp_path):
    def exercise(url):
        headers = {"Content-Type": "application/json"}
        made = send(url, "POST", "/domains", json.dumps({"domain": {"name": "acme"}}).encode(), headers)
        domain = json.loads(made[2])["domain"]["id"]
        assert send(url, "GET", f"/domains/{domain}")[0] == 200
        assert send(url, "DELETE", f"/domains/{domain}")[0] == 403
        off = json.dumps({"domain": {"enabled": False}}).encode()
        assert send(url, "PATCH", f"/domains/{domain}", off, headers)[0] == 200
        assert send(url, "DELETE", f"/domains/{domain}")[0] == 204

    _, result = first_contact(tmp_path, Domains, exercise)
    assert green(result), result.stdout + result.stderr


# -- JSON whatever its label, the method a request asks for -------------------------------------------------


class Tunnelled(Provider):
    """A backend-as-a-service as browser SDKs talk to it: every call a POST whose `text/plain` body (no CORS
    pre-flight) is JSON carrying the method it asks for (`_method`), the app's master key, or the session token
    a login handed out (an account the provider holds from the start)."""

    MASTER, PASSWORD = "m4ster-k3y-of-the-app", "s3cret-Pass-word"

    def do_POST(self):  # noqa: N802
        body = json.loads(self.body() or b"{}")
        method, tokens = body.pop("_method", "POST"), self.store.setdefault("tokens", set())
        if self.path == "/config":
            if body.pop("_MasterKey", None) != self.MASTER:
                return self.send_json(403, {"error": "unauthorized"})
            self.store["config"] = body
            return self.send_json(200, {"result": True})
        if self.path == "/login":
            if (body.get("username"), body.get("password")) != ("ada", self.PASSWORD):
                return self.send_json(404, {"code": 101, "error": "invalid username/password"})
            tokens.add(token := f"r:{uuid.uuid4().hex}")
            return self.send_json(200, {"objectId": "u1", "sessionToken": token})
        if body.pop("_SessionToken", None) not in tokens:
            return self.send_json(400, {"code": 209, "error": "invalid session token"})
        notes = self.store.setdefault("notes", {})
        if self.path == "/classes/Note" and method == "POST":
            notes[oid := uuid.uuid4().hex[:10]] = body
            return self.send_json(201, {"objectId": oid})
        note = notes.get(self.path.removeprefix("/classes/Note/"))
        if note is None:
            return self.send_json(404, {"code": 101, "error": "object not found"})
        self.send_json(200, {"objectId": self.path.rsplit("/", 1)[1], **note})


def test_json_sent_as_text_plain_is_json_its_secrets_redacted_and_the_token_it_sends_back_fetched_fresh(tmp_path):
    def call(url: str, path: str, payload: dict) -> tuple[int, dict]:
        status, _, body = send(url, "POST", path, json.dumps(payload).encode(), {"Content-Type": "text/plain"})
        return status, json.loads(body)

    tokens = []

    def exercise(url):
        assert call(url, "/config", {"_MasterKey": Tunnelled.MASTER, "theme": "dark"}) == (200, {"result": True})
        status, user = call(url, "/login", {"username": "ada", "password": Tunnelled.PASSWORD})
        assert status == 200, user
        tokens.append(user["sessionToken"])
        status, note = call(url, "/classes/Note", {"title": "hello", "_SessionToken": user["sessionToken"]})
        assert status == 201, note
        read = {"_method": "GET", "_SessionToken": user["sessionToken"]}
        assert call(url, f"/classes/Note/{note['objectId']}", read)[0] == 200

    pact, result = first_contact(tmp_path, Tunnelled, exercise)
    written = "".join(p.read_text() for p in (tmp_path / "pacts").iterdir() if p.is_file())
    assert not {Tunnelled.PASSWORD, Tunnelled.MASTER, *tokens} & set(re.findall(r"[\w:-]+", written))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "--secret masterkey=VALUE" in result.stderr and "--secret password=VALUE" in result.stderr
    secrets = ("--secret", f"masterkey={Tunnelled.MASTER}", "--secret", f"password={Tunnelled.PASSWORD}")
    result = verify_against(tmp_path, Tunnelled.fresh(), *secrets)
    assert green(result), result.stdout + result.stderr
    (note,) = [i for i in pact["interactions"] if i["description"].startswith("POST /classes/Note returns")]
    assert note["request"]["headers"]["Content-Type"] == ["text/plain"]  # sent as the consumer sent it
    assert note["request"]["body"]["contentType"] == "application/json"  # read as what it is


class Classes(Provider):
    """Objects live in classes that a schema write defines elsewhere (`POST /schemas/NAME`, answered 200):
    `POST /classes/NAME` makes an object only once its class is defined."""

    def do_POST(self):  # noqa: N802
        kind, name = self.path.strip("/").split("/")[:2]
        body = json.loads(self.body() or b"{}")
        if kind == "schemas":
            self.store.setdefault("schemas", {})[name] = body.get("fields", {})
            return self.send_json(200, {"className": name, "fields": body.get("fields", {})})
        if name not in self.store.get("schemas", {}):
            return self.send_json(400, {"code": 119, "error": f"class {name} does not exist"})
        objects = self.store.setdefault("objects", {})
        objects[oid := uuid.uuid4().hex[:10]] = {"class": name, **body}
        self.send_json(201, {"objectId": oid})

    def do_GET(self):  # noqa: N802
        _, name, oid = self.path.strip("/").split("/")
        found = self.store.get("objects", {}).get(oid)
        if found is None or found["class"] != name:
            return self.send_json(404, {"code": 101, "error": "object not found"})
        self.send_json(200, {"objectId": oid, **{k: v for k, v in found.items() if k != "class"}})


def test_a_collection_named_by_a_write_elsewhere_is_set_up_with_that_write(tmp_path):
    def exercise(url):
        headers = {"Content-Type": "application/json"}
        fields = json.dumps({"className": "Note", "fields": {"title": {"type": "String"}}}).encode()
        assert send(url, "POST", "/schemas/Note", fields, headers)[0] == 200
        made = send(url, "POST", "/classes/Note", json.dumps({"title": "hello"}).encode(), headers)
        assert made[0] == 201, made
        assert send(url, "GET", f"/classes/Note/{json.loads(made[2])['objectId']}")[0] == 200

    _, result = first_contact(tmp_path, Classes, exercise)
    assert green(result), result.stdout + result.stderr


class Registrations(Provider):
    """A sign-up form that repeats the password in a confirmation field whose name says nothing (`retype`),
    with the moment the form was opened (`starttimestamp`), and a login by that password."""

    def do_POST(self):  # noqa: N802
        form, accounts = dict(parse_qsl(self.body().decode())), self.store.setdefault("accounts", {})
        if self.path == "/accounts":
            if form.get("password") != form.get("retype") or not form.get("starttimestamp", "").isdigit():
                return self.send_json(400, {"error": "the passwords differ"})
            accounts[form["username"]] = form["password"]
            return self.send_json(201, {"username": form["username"]})
        if accounts.get(form.get("username")) != form.get("password"):
            return self.send_json(403, {"error": "wrong password"})
        self.send_json(200, {"login": "Success"})


def test_a_secret_sent_again_under_a_name_that_says_nothing_is_redacted_there_too(tmp_path):
    password = "Pa55-w0rd-of-lovelace"

    def exercise(url):
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        form = {"username": "lovelace", "password": password, "retype": password, "starttimestamp": "20261207231501"}
        assert send(url, "POST", "/accounts", urlencode(form).encode(), headers)[0] == 201
        login = {"username": "lovelace", "password": password}
        assert send(url, "POST", "/login", urlencode(login).encode(), headers)[0] == 200

    pact, result = first_contact(tmp_path, Registrations, exercise)
    written = "".join(p.read_text() for p in (tmp_path / "pacts").iterdir() if p.is_file())
    assert password not in written and "20261207231501" in written  # a timestamp is no card number
    assert green(result), result.stdout + result.stderr


class Wiki(Provider):
    """A wiki that answers an edit refused for a bad token 200 with `{"error": ...}`, as it answers one that went
    through (RPC-style APIs do); pages written and read by title."""

    TOKEN = "edit-t0ken-of-the-wiki+\\"

    def do_PUT(self):  # noqa: N802
        form = dict(parse_qsl(self.body().decode()))
        if form.get("token") != self.TOKEN:
            return self.send_json(200, {"error": {"code": "badtoken", "info": "Invalid CSRF token."}})
        self.store[self.path] = form.get("text", "")
        self.send_json(200, {"edit": {"result": "Success"}})

    def do_GET(self):  # noqa: N802
        if self.path not in self.store:
            return self.send_json(404, {"error": {"code": "missingtitle"}})
        self.send_json(200, {"page": {"text": self.store[self.path]}})


def test_a_write_refused_with_200_and_an_error_in_its_body_makes_nothing_a_setup_would_send(tmp_path):
    def exercise(url):
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        refused = send(url, "PUT", "/pages/Foo", urlencode({"text": "hi", "token": "stale"}).encode(), headers)
        assert json.loads(refused[2])["error"]["code"] == "badtoken"
        edit = urlencode({"text": "hello", "token": Wiki.TOKEN}).encode()
        assert json.loads(send(url, "PUT", "/pages/Foo", edit, headers)[2]) == {"edit": {"result": "Success"}}
        assert send(url, "GET", "/pages/Foo")[0] == 200

    _, result = first_contact(tmp_path, Wiki, exercise, "--secret", "token=x", "--secret", f"token_2={Wiki.TOKEN}")
    assert green(result), result.stdout + result.stderr


# -- states named in the API's own words ----------------------------------------------------------------


class UserIndexes(Provider):
    """Users and their package indexes at `/{user}/{index}`, no collection word in the path: a user's answer
    names the user (`username`) and lists the indexes as a map keyed by their names."""

    def do_PUT(self):  # noqa: N802
        user, _, index = self.path.strip("/").partition("/")
        with self.lock:
            if not index:
                self.store[user] = {}
                return self.send_json(201, {"type": "userconfig", "result": {"username": user}})
            if user not in self.store:
                return self.send_json(404, {"message": "no such user"})
            self.store[user][index] = {"type": "stage", "bases": []}
        self.send_json(201, {"type": "indexconfig", "result": {"type": "stage"}})

    def do_GET(self):  # noqa: N802
        user, _, index = self.path.strip("/").partition("/")
        indexes = self.store.get(user)
        if indexes is None or index and index not in indexes:
            return self.send_json(404, {"message": "not found"})
        if index:
            return self.send_json(200, {"type": "indexconfig", "result": indexes[index]})
        self.send_json(200, {"type": "userconfig", "result": {"username": user, "indexes": indexes}})

    def do_DELETE(self):  # noqa: N802
        user, _, index = self.path.strip("/").partition("/")
        with self.lock:
            self.store.get(user, {}).pop(index, None)
        self.send_json(200, {"message": "deleted"})


def test_a_resource_its_path_gives_no_word_is_named_in_its_states_by_the_word_its_bodies_use(tmp_path):
    def exercise(url):
        assert send(url, "PUT", "/alice", b'{"email": "a@example.com"}', {"Content-Type": "application/json"})[0] == 201
        assert send(url, "PUT", "/alice/dev", b"{}", {"Content-Type": "application/json"})[0] == 201
        assert send(url, "GET", "/alice")[0] == 200  # lists the index under "indexes", after it was first used
        assert send(url, "GET", "/alice/dev")[0] == 200
        assert send(url, "DELETE", "/alice/dev")[0] == 200
        assert send(url, "GET", "/alice/dev")[0] == 404

    pact, result = first_contact(tmp_path, UserIndexes, exercise)
    assert green(result), result.stdout + result.stderr
    by_description = {i["description"]: i for i in pact["interactions"]}
    read = by_description["GET /alice/dev returns 200"]
    assert read["providerStates"] == [
        {"name": "user exists", "params": {"user": "alice"}},
        {"name": "index exists", "params": {"index": "dev", "user": "alice"}},
    ]
    assert read["request"]["generators"]["path"]["expression"] == "/${user}/${index}"
    assert by_description["GET /alice/dev returns 404"]["providerStates"][-1]["name"] == "index does not exist"


# -- methods tunnelled through a POST -----------------------------------------------------------------


class TunnelledNotes(Provider):
    """Notes behind a POST-only front (a browser SDK's: every call a POST with a text/plain JSON body): the method
    meant is the body's `_method` (GET, PUT, DELETE), none for a creation, and the app's key is in the body too;
    any other method is refused (405), a call without the key too (403). Ids are made up afresh by each server.
    `refused` counts those refusals."""

    KEY = "app-K3y-for-the-notes"
    refused: list

    @classmethod
    def fresh(cls) -> type[Provider]:
        return type(cls.__name__, (cls,), {"store": {}, "lock": threading.Lock(), "refused": []})

    def meant(self, body: dict) -> tuple[str, str | None]:
        """(the method meant, the app's key)."""
        return str(body.pop("_method", "POST")), body.pop("_ApiKey", None)

    def do_POST(self):  # noqa: N802
        body = json.loads(self.body() or b"{}")
        (meant, key), parts = self.meant(body), [s for s in self.path.split("/") if s]
        if key != self.KEY:
            self.refused.append(self.command)
            return self.send_json(403, {"error": "unauthorized"})
        with self.lock:
            match meant, parts:
                case "POST", ["notes"]:
                    note = {"id": str(uuid.uuid4()), "title": str(body.get("title", "")), "done": False}
                    self.store[note["id"]] = note
                    return self.send_json(201, note)
                case "GET", ["notes"]:
                    return self.send_json(200, {"results": list(self.store.values())})
                case "GET", ["notes", nid] if nid in self.store:
                    return self.send_json(200, self.store[nid])
                case "PUT", ["notes", nid] if nid in self.store:
                    self.store[nid] |= {k: v for k, v in body.items() if k in ("title", "done")}
                    return self.send_json(200, self.store[nid])
                case "DELETE", ["notes", nid] if nid in self.store:
                    del self.store[nid]
                    return self.send_json(200, {})
                case _, ["notes", _]:
                    return self.send_json(404, {"error": "no such note"})
        self.send_json(400, {"error": f"cannot {meant} {self.path}"})

    def do_GET(self):  # noqa: N802
        self.refused.append(self.command)
        self.send_json(405, {"error": "POST only"})

    do_PUT = do_DELETE = do_GET  # noqa: N815


class NotesByHeader(TunnelledNotes):
    """The same notes, the method meant in `X-HTTP-Method-Override` and the key in `X-Api-Key` (a JSON body
    carries only the fields)."""

    def meant(self, body: dict) -> tuple[str, str | None]:
        return self.headers.get("X-HTTP-Method-Override", "POST").upper(), self.headers.get("X-Api-Key")


class NotesBroken(TunnelledNotes):
    """The same notes, but a read answers `title` as a number: a contract that checks reads fails on it."""

    def send_json(self, status: int, body, headers: dict | None = None) -> None:
        if isinstance(body, dict) and "title" in body and status == 200:
            body = body | {"title": 7}
        super().send_json(status, body, headers)


def exercise_tunnelled(by_header: bool) -> Callable[[str], None]:
    def call(url: str, path: str, method: str, **fields):
        if by_header:
            headers = {"Content-Type": "application/json", "X-Api-Key": TunnelledNotes.KEY}
            headers |= {"X-HTTP-Method-Override": method} if method else {}
            return send(url, "POST", path, json.dumps(fields).encode(), headers)
        body = fields | {"_ApiKey": TunnelledNotes.KEY} | ({"_method": method} if method else {})
        return send(url, "POST", path, json.dumps(body).encode(), {"Content-Type": "text/plain"})

    def exercise(url: str) -> None:
        first = json.loads(call(url, "/notes", "", title="first")[2])["id"]
        second = json.loads(call(url, "/notes", "", title="second")[2])["id"]
        assert call(url, "/notes", "GET")[0] == 200
        assert json.loads(call(url, f"/notes/{first}", "GET")[2])["title"] == "first"
        assert json.loads(call(url, f"/notes/{first}", "PUT", title="renamed", done=True)[2])["done"] is True
        assert call(url, f"/notes/{second}", "DELETE")[0] == 200
        assert call(url, f"/notes/{second}", "GET")[0] == 404

    return exercise


@pytest.mark.parametrize("by_header", [False, True], ids=["body-field", "header"])
def test_a_method_tunnelled_through_a_post_is_read_as_that_method_by_the_states_and_the_undo(tmp_path, by_header):
    provider = NotesByHeader if by_header else TunnelledNotes
    key = (
        ("--header", f"X-Api-Key: {TunnelledNotes.KEY}") if by_header else ("--secret", f"apikey={TunnelledNotes.KEY}")
    )
    pact, result = first_contact(tmp_path, provider, exercise_tunnelled(by_header), *key)
    described = sorted(i["description"] for i in pact["interactions"])
    assert described == [
        "POST /notes (as GET) returns 200",
        "POST /notes returns 201",
        "POST /notes/{id} (as DELETE) returns 200",
        "POST /notes/{id} (as GET) returns 200",
        "POST /notes/{id} (as GET) returns 404",
        "POST /notes/{id} (as PUT) returns 200",
    ]
    by_description = {i["description"]: i for i in pact["interactions"]}
    states = {s["name"] for s in by_description["POST /notes/{id} (as PUT) returns 200"]["providerStates"]}
    assert "note exists" in states  # an update needs the note, made by the POST that created it
    gone = by_description["POST /notes/{id} (as GET) returns 404"]["providerStates"]
    assert "note does not exist" in {s["name"] for s in gone}  # the tunnelled DELETE removed it
    assert by_description["POST /notes/{id} (as DELETE) returns 200"]["request"]["method"] == "POST"  # as sent
    assert green(result), result.stdout + result.stderr

    # Every undo is sent as the consumer deleted, a POST that tunnels DELETE with the key that made the note: the
    # provider refuses none, and holds at most the note the creation's own interaction made (no state names it).
    fresh = provider.fresh()
    assert green(verify_against(tmp_path, fresh, *key))
    assert fresh.refused == [] and len(fresh.store) <= 1, (fresh.refused, fresh.store)
    assert not green(verify_against(tmp_path, NotesBroken.fresh(), *key))
