"""A tiny JSON document store (in the manner of Kinto or CouchDB): the stateful example provider.

    python -m examples.docstore.provider [--port 5002] [--flush] [--break rename-field|drop-etag|status-201-as-200]

Listens on 127.0.0.1 only and prints `listening on http://127.0.0.1:PORT` once it accepts connections.
It starts empty and keeps everything in memory.

    PUT    /accounts/{name}                 {"password"} 201 created; 200 replaced by that account itself
    GET    /accounts/{name}                 200; 403 for another account
    DELETE /accounts/{name}                 200 {"deleted": true, ...}, with the account's stores
    PUT    /stores/{s}                      201 / 200 (a store belongs to the account that created it)
    PUT    /stores/{s}/collections/{c}      201 / 200; 404 when the store does not exist
    PUT    /stores/{s}/collections/{c}/records/{id}    201 / 200, the client chooses the id
    POST   /stores/{s}/collections/{c}/records         201, a generated UUID, Location
    GET    /stores/{s}/collections/{c}/records         {"data": [...]}, ?limit=N&_token=CURSOR;
                                                        Total-Records, Next-Page (a full URL) headers
    GET | PATCH (merge) | DELETE  on a store, a collection or a record: 200, or 404
    POST   /__flush__                       202: forget everything (only with --flush)

Every call except creating an account needs HTTP Basic auth of an existing account (401 with
WWW-Authenticate otherwise) and another account's store answers 403. Stores, collections, records
and accounts carry `last_modified` (epoch milliseconds, strictly increasing) and `ETag:
"<last_modified>"`; writes honour If-Match and If-None-Match (412), reads honour If-None-Match (304).
`--break` makes the provider break its contract, so tests can check that verification goes red.
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import uuid
from http.server import ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlencode

from examples import jsonserver
from examples.docstore.store import KINDS, Docstore, Node, make_cursor, read_cursor
from examples.jsonserver import JsonHandler

BREAKS = ("rename-field", "drop-etag", "status-201-as-200")
DEFAULT_LIMIT, MAX_LIMIT = 25, 100
NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
ACCOUNT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")
ROUTES = (
    ("flush", re.compile(r"/__flush__"), ("POST",)),
    ("account", re.compile(r"/accounts/([^/]+)"), ("GET", "PUT", "DELETE")),
    ("records", re.compile(r"/stores/([^/]+)/collections/([^/]+)/records"), ("GET", "POST")),
    (
        "item",
        re.compile(r"/stores/([^/]+)(?:/collections/([^/]+)(?:/records/([^/]+))?)?"),
        ("GET", "PUT", "PATCH", "DELETE"),
    ),
)


class Answer(Exception):
    """The response, raised from wherever a check decides it (401, 403, 404, 412 ...)."""

    def __init__(self, status: int, body: dict | None, headers: dict | None = None):
        super().__init__(status)
        self.status, self.body, self.headers = status, body, headers or {}


def not_found(kind: str, ident: str) -> Answer:
    return Answer(404, {"error": "not found", "resource": kind, "id": ident})


def etag_in(header: str, etag: str) -> bool:
    """Whether an If-Match / If-None-Match value names `etag` (or is `*`)."""
    tags = [t.strip().removeprefix("W/") for t in header.split(",")]
    return "*" in tags or etag in tags


def make_handler(db: Docstore, breaking: str | None = None, flush: bool = False):
    class Handler(JsonHandler):
        server_version = "docstore/1.0"
        sys_version = ""

        def do_GET(self):
            self.dispatch()

        do_PUT = do_POST = do_PATCH = do_DELETE = do_GET

        def dispatch(self) -> None:
            n = int(self.headers.get("Content-Length") or 0)
            self.raw = self.rfile.read(n) if n else b""  # read first: the connection may be reused
            path, _, query = self.path.partition("?")
            try:
                route, keys = self.route(path)
                with db.lock:
                    answer = getattr(self, route)(keys, parse_qs(query))
            except Answer as a:
                answer = a
            self.reply(answer)

        def route(self, path: str) -> tuple[str, tuple[str, ...]]:
            for name, pattern, methods in ROUTES:
                if (m := pattern.fullmatch(path)) and (name != "flush" or flush):
                    if self.command not in methods:
                        raise Answer(405, {"error": "method not allowed"}, {"Allow": ", ".join(methods)})
                    keys = tuple(unquote(g) for g in m.groups() if g is not None)
                    valid = ACCOUNT if name == "account" else NAME
                    if bad := [k for k in keys if not valid.fullmatch(k)]:
                        raise Answer(400, {"error": "invalid name", "name": bad[0]})
                    return name, keys
            raise Answer(404, {"error": "not found", "path": path})

        def reply(self, a: Answer) -> None:
            status = 200 if a.status == 201 and breaking == "status-201-as-200" else a.status
            headers = {k: v for k, v in a.headers.items() if not (k == "ETag" and breaking == "drop-etag")}
            if a.body is not None:
                return self.send_json(status, a.body, headers)
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            if status != 304:
                self.send_header("Content-Length", "0")
            self.end_headers()

        # requests' parts

        def json_object(self) -> dict:
            try:
                data = json.loads(self.raw) if self.raw else {}
            except ValueError:
                data = None
            if not isinstance(data, dict):
                raise Answer(400, {"error": "invalid body", "detail": "expected a JSON object"})
            return data

        def user(self) -> str | None:
            """The authenticated account; None without credentials; 401 for wrong ones."""
            header = self.headers.get("Authorization")
            if header is None:
                return None
            scheme, _, encoded = header.partition(" ")
            try:
                name, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
            except ValueError:
                name = password = ""
            if scheme.lower() != "basic" or not db.check_password(name, password):
                raise self.unauthorised("wrong credentials")
            return name

        def require_user(self) -> str:
            if (name := self.user()) is None:
                raise self.unauthorised("credentials required")
            return name

        @staticmethod
        def unauthorised(detail: str) -> Answer:
            return Answer(
                401, {"error": "unauthorized", "detail": detail}, {"WWW-Authenticate": 'Basic realm="docstore"'}
            )

        def preconditions(self, etag: str | None) -> None:
            """412 when If-Match names another version (or nothing exists), or If-None-Match the current one."""
            if_match, if_none = self.headers.get("If-Match"), self.headers.get("If-None-Match")
            if (if_match is not None and (etag is None or not etag_in(if_match, etag))) or (
                if_none is not None and etag is not None and etag_in(if_none, etag)
            ):
                raise Answer(412, {"error": "precondition failed"})

        def current(self, body: dict, etag: str) -> Answer:
            """A representation, or 304 when a GET's If-None-Match names it."""
            if self.command == "GET" and etag_in(self.headers.get("If-None-Match") or "", etag):
                return Answer(304, None, {"ETag": etag})
            return Answer(200, body, {"ETag": etag})

        def render(self, node: Node, depth: int) -> dict:
            body = node.body()
            if breaking == "rename-field" and depth == 3:
                body["modified"] = body.pop("last_modified")
            return body

        # routes

        def flush(self, keys, query) -> Answer:
            db.flush()
            return Answer(202, {})

        def account(self, keys, query) -> Answer:
            (name,) = keys
            existing = db.accounts.get(name)
            if self.command == "PUT":
                return self.put_account(name, existing)
            if self.require_user() != name:
                raise Answer(403, {"error": "forbidden", "resource": "account", "id": name})
            if self.command == "GET":
                return self.current(existing.body(), existing.etag)
            self.preconditions(existing.etag)
            return Answer(200, {"deleted": True, "id": name, "last_modified": db.delete_account(name)})

        def put_account(self, name: str, existing) -> Answer:
            password = self.json_object().get("password")
            if not isinstance(password, str) or not password:
                raise Answer(400, {"error": "invalid body", "detail": "password: a non-empty string is required"})
            user = self.user()
            if existing is not None and user is None:
                raise self.unauthorised("credentials required to replace an account")
            if existing is not None and user != name:
                raise Answer(403, {"error": "forbidden", "resource": "account", "id": name})
            self.preconditions(existing and existing.etag)
            account, created = db.put_account(name, password)
            return Answer(201 if created else 200, account.body(), {"ETag": account.etag})

        def reach(self, keys: tuple[str, ...], user: str, depth: int) -> None:
            """403 when the store is another account's; 404 naming the first of keys[:depth] missing."""
            _, found = db.lookup(keys)
            if found and db.get(keys[:1]).owner != user:
                raise Answer(403, {"error": "forbidden", "resource": "store", "id": keys[0]})
            if found < depth:
                raise not_found(KINDS[found], keys[found])

        def item(self, keys, query) -> Answer:
            user = self.require_user()
            self.reach(keys, user, len(keys) - 1)
            node, depth = db.get(keys), len(keys)
            etag = node and node.etag
            if self.command == "GET":
                if node is None:
                    raise not_found(KINDS[depth - 1], keys[-1])
                return self.current(self.render(node, depth), etag)
            data = self.json_object() if self.command in ("PUT", "PATCH") else None
            self.preconditions(etag)
            if self.command == "PUT":
                node, created = db.put(keys, data, owner=user if depth == 1 else None)
                return Answer(201 if created else 200, self.render(node, depth), {"ETag": node.etag})
            if node is None:
                raise not_found(KINDS[depth - 1], keys[-1])
            if self.command == "PATCH":
                node = db.patch(keys, data)
                return Answer(200, self.render(node, depth), {"ETag": node.etag})
            return Answer(200, {"deleted": True, "id": keys[-1], "last_modified": db.delete(keys)})

        def records(self, keys, query) -> Answer:
            self.reach(keys, self.require_user(), 2)
            if self.command == "POST":
                rid = str(uuid.uuid4())
                node, _ = db.put((*keys, rid), self.json_object())
                location = f"/stores/{keys[0]}/collections/{keys[1]}/records/{rid}"
                return Answer(201, self.render(node, 3), {"ETag": node.etag, "Location": location})
            limit, after = self.paging(query)
            nodes, more, total = db.page(keys, limit, after)
            headers = {"Total-Records": str(total)}
            if more:
                host = self.headers.get("Host") or f"127.0.0.1:{self.server.server_address[1]}"
                cursor = urlencode({"limit": limit, "_token": make_cursor(nodes[-1].id)})
                headers["Next-Page"] = f"http://{host}{self.path.partition('?')[0]}?{cursor}"
            collection = db.get(keys)
            answer = self.current({"data": [self.render(n, 3) for n in nodes]}, f'"{collection.children_modified}"')
            answer.headers.update(headers)
            return answer

        @staticmethod
        def paging(query: dict) -> tuple[int, str | None]:
            try:
                limit = int(query.get("limit", [DEFAULT_LIMIT])[-1])
            except ValueError:
                limit = 0
            if not 1 <= limit <= MAX_LIMIT:
                raise Answer(400, {"error": "invalid limit", "detail": f"an integer from 1 to {MAX_LIMIT}"})
            try:
                return limit, read_cursor(query["_token"][-1]) if "_token" in query else None
            except ValueError as e:
                raise Answer(400, {"error": "invalid token", "detail": str(e)}) from None

    return Handler


def make_server(port: int = 0, breaking: str | None = None, flush: bool = False) -> ThreadingHTTPServer:
    db = Docstore()
    server = jsonserver.make_server(make_handler(db, breaking, flush), port)
    server.db = db
    return server


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=5002)
    ap.add_argument("--flush", action="store_true", help="enable POST /__flush__, which forgets everything")
    ap.add_argument("--break", dest="breaking", choices=BREAKS)
    args = ap.parse_args()
    jsonserver.serve_forever(make_server(args.port, args.breaking, args.flush))


if __name__ == "__main__":
    main()
