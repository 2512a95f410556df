"""The consumer of the document store: a small client, and the story it runs.

    python -m examples.docstore.consumer http://127.0.0.1:5002

The provider must be empty (a fresh one, or one flushed with POST /__flush__): the story creates its
account first. `exercise` follows Next-Page links exactly as the server gives them, so it runs as well
through a reverse proxy that keeps the Host header (as `pact-recorder record` does).
"""

from __future__ import annotations

import base64
import json
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message
from typing import Any, NamedTuple
from urllib.parse import quote, urlsplit

ALICE = ("alice", "alice-s3cret")
BOB = ("bob", "bob-s3cret")
ORDERS = (("tea", 2), ("coffee", 1), ("milk", 3))


class Response(NamedTuple):
    status: int
    headers: Message
    body: Any


class DocstoreError(Exception):
    """A status the call did not expect; subclasses for the ones callers handle."""

    def __init__(self, method: str, url: str, response: Response):
        super().__init__(f"{method} {url} answered {response.status}: {response.body}")
        self.status, self.body = response.status, response.body


class Unauthorized(DocstoreError):
    pass


class Forbidden(DocstoreError):
    pass


class NotFound(DocstoreError):
    pass


class PreconditionFailed(DocstoreError):
    pass


ERRORS = {401: Unauthorized, 403: Forbidden, 404: NotFound, 412: PreconditionFailed}


@dataclass(frozen=True)
class Doc:
    """A store, collection, record or account as the server sent it, with its version."""

    body: dict
    etag: str | None
    location: str | None = None

    @property
    def id(self) -> str:
        return self.body["id"]

    @property
    def last_modified(self) -> int:
        return self.body["last_modified"]


@dataclass(frozen=True)
class Step:
    method: str
    target: str
    status: int

    def __str__(self) -> str:
        return f"{self.method} {self.target} -> {self.status}"


class DocstoreClient:
    """Calls the document store as `auth` (name, password); every call is logged in `steps`."""

    def __init__(self, base_url: str, auth: tuple[str, str] | None = None, steps: list[Step] | None = None):
        self.base_url = base_url.rstrip("/")
        self.auth = auth
        self.steps = steps if steps is not None else []

    def as_user(self, auth: tuple[str, str] | None) -> DocstoreClient:
        """The same server and log, other credentials."""
        return DocstoreClient(self.base_url, auth, self.steps)

    def call(self, method: str, target: str, body: dict | None = None, headers: dict | None = None, ok=(200,)):
        """Send; a status in `ok` gives the Response, any other raises the DocstoreError for it."""
        url = target if "://" in target else self.base_url + target
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(url, data=data, method=method, headers={"Accept": "application/json"})
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if self.auth:
            token = base64.b64encode(":".join(self.auth).encode()).decode()
            req.add_header("Authorization", f"Basic {token}")
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                response = Response(resp.status, resp.headers, json.loads(resp.read() or b"null"))
        except urllib.error.HTTPError as e:
            response = Response(e.code, e.headers, json.loads(e.read() or b"null"))
        parts = urlsplit(url)
        self.steps.append(Step(method, parts.path + (f"?{parts.query}" if parts.query else ""), response.status))
        if response.status not in ok:
            raise ERRORS.get(response.status, DocstoreError)(method, url, response)
        return response

    def _doc(self, response: Response) -> Doc:
        return Doc(response.body, response.headers.get("ETag"), response.headers.get("Location"))

    # accounts

    def create_account(self, name: str, password: str) -> Doc:
        """Create the account, or (authenticated as it) change its password."""
        return self._doc(self.call("PUT", f"/accounts/{quote(name)}", {"password": password}, ok=(200, 201)))

    def get_account(self, name: str) -> Doc:
        return self._doc(self.call("GET", f"/accounts/{quote(name)}"))

    # stores and collections

    def put(self, path: str, data: dict | None = None) -> tuple[Doc, bool]:
        """Create or replace the store/collection at `path`; whether it was created."""
        response = self.call("PUT", path, data or {}, ok=(200, 201))
        return self._doc(response), response.status == 201

    def get(self, path: str) -> Doc | None:
        response = self.call("GET", path, ok=(200, 404))
        return self._doc(response) if response.status == 200 else None

    def delete(self, path: str, if_match: str | None = None) -> dict:
        return self.call("DELETE", path, headers={"If-Match": if_match} if if_match else None).body

    # records

    def create_record(self, records: str, data: dict) -> Doc:
        """POST into `records` (a collection's /records path): the server chooses the id."""
        return self._doc(self.call("POST", records, data, ok=(201,)))

    def put_record(self, path: str, data: dict, if_match: str | None = None, only_new: bool = False):
        """Create or replace with the id in `path`; `only_new` (If-None-Match: *) never replaces."""
        headers = {"If-Match": if_match} if if_match else {}
        if only_new:
            headers["If-None-Match"] = "*"
        response = self.call("PUT", path, data, headers, ok=(200, 201))
        return self._doc(response), response.status == 201

    def get_record(self, path: str, cached: Doc | None = None) -> Doc | None:
        """The record, None when there is none; with `cached`, that copy when it is still current (304)."""
        headers = {"If-None-Match": cached.etag} if cached else None
        response = self.call("GET", path, headers=headers, ok=(200, 304, 404))
        if response.status == 304:
            return cached
        return self._doc(response) if response.status == 200 else None

    def patch_record(self, path: str, changes: dict, if_match: str | None = None) -> Doc:
        return self._doc(self.call("PATCH", path, changes, {"If-Match": if_match} if if_match else None))

    def pages(self, records: str, limit: int) -> Iterator[tuple[list[dict], int]]:
        """Each page of records and the Total-Records header, following Next-Page as given."""
        target: str | None = f"{records}?limit={limit}"
        while target:
            response = self.call("GET", target)
            yield response.body["data"], int(response.headers["Total-Records"])
            target = response.headers.get("Next-Page")

    def flush(self) -> None:
        self.call("POST", "/__flush__", ok=(202,))


@dataclass
class Story:
    """What `exercise` did: each request with its status, and what the paginated list returned."""

    steps: list[Step]
    stored: list[str] = field(default_factory=list)
    """Ids of the records in the collection when it was listed."""
    listed: list[str] = field(default_factory=list)
    """Ids in the order the pages gave them."""
    pages: int = 0

    def __iter__(self) -> Iterator[str]:
        return (str(step) for step in self.steps)


def expect(error: type[DocstoreError], call, *args, **kwargs) -> DocstoreError:
    """Run a call the story expects to fail with `error`; anything else is a broken contract."""
    try:
        call(*args, **kwargs)
    except error as e:
        return e
    raise AssertionError(f"expected {error.__name__} from {call.__name__}{args}")


def exercise(base_url: str) -> Story:
    """The consumer's story against an empty provider; raises when the provider answers otherwise."""
    anonymous = DocstoreClient(base_url)
    alice = anonymous.as_user(ALICE)
    story = Story(anonymous.steps)
    anonymous.create_account(*ALICE)  # 201
    alice.create_account(*ALICE)  # 200: replaced by the account itself
    alice.get_account(ALICE[0])

    alice.put("/stores/main", {"title": "Main store"})  # 201
    alice.get("/stores/main")
    expect(NotFound, alice.put, "/stores/archive/collections/orders", {"title": "Orders"})
    orders = "/stores/main/collections/orders"
    alice.put(orders, {"title": "Orders"})  # 201
    alice.get(orders)

    records = f"{orders}/records"
    created = [alice.create_record(records, {"item": item, "qty": qty}) for item, qty in ORDERS]
    alice.get_record(created[0].location)
    r1, r2 = f"{records}/r1", f"{records}/r2"
    alice.put_record(r1, {"item": "sugar", "qty": 1})  # 201
    alice.put_record(r1, {"item": "sugar", "qty": 1})  # 200: the same request, now a replace
    alice.put_record(r2, {"item": "flour", "qty": 1}, only_new=True)  # 201
    expect(PreconditionFailed, alice.put_record, r2, {"item": "flour", "qty": 1}, only_new=True)

    read = alice.get_record(r1)
    updated = alice.patch_record(r1, {"qty": 2}, if_match=read.etag)
    assert updated.last_modified > read.last_modified and updated.body["qty"] == 2
    expect(PreconditionFailed, alice.patch_record, r1, {"qty": 3}, if_match=read.etag)  # stale version
    assert alice.get_record(r1, cached=updated) is updated  # 304

    story.stored = sorted([d.id for d in created] + ["r1", "r2"])
    for data, _total in alice.pages(records, limit=2):
        story.pages += 1
        story.listed += [r["id"] for r in data]

    alice.delete(r1)
    assert alice.get_record(r1) is None  # 404 now
    expect(NotFound, alice.delete, r1)

    anonymous.create_account(*BOB)  # a second account, which may not write in alice's store
    expect(Forbidden, alice.as_user(BOB).put, "/stores/main/collections/notes", {"title": "Notes"})
    alice.delete(orders)
    assert alice.get(orders) is None
    expect(Unauthorized, alice.as_user((ALICE[0], "wrong-password")).get, "/stores/main")
    return story


if __name__ == "__main__":
    for line in exercise(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:5002"):
        print(line)
