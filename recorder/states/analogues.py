"""Data the recording never saw made, made as it saw a sibling made.

A suite often reads items its fixtures put into the provider's store directly (a zone loaded with the
server's own tool, a user created in the database): no recorded request makes them, so a verification
from empty finds nothing. Where the recording made another item of the same collection by a request
that names the item (`PUT /zones/test-1`, or `POST /zones {"name": "test-1"}` that made
`/zones/test-1`), the same request with the other name makes this one:

    >>> from recorder.model import Exchange
    >>> made = Exchange("POST", "/zones", (), (("Content-Type", "application/json"),),
    ...                 b'{"name": "test-1.", "kind": "Native"}', 201, (), b"")
    >>> makers = Makers()
    >>> makers.see(Step.of(7, made, {}), made, "/zones/test-1.")
    >>> like = makers.like("/zones/example.com.")
    >>> like.body, like.creates, like.like
    (b'{"name": "example.com.", "kind": "Native"}', '/zones/example.com.', '/zones/test-1.')

A setup sends such a step and goes on whatever the answer (the provider may hold the item already).
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from urllib.parse import parse_qsl, unquote, urlencode

from recorder.model import Exchange
from recorder.states.steps import Step
from recorder.values import query_and_body

ITEMS_MAX = 10_000  # items whose maker is remembered
_FORM = re.compile(r"^application/x-www-form-urlencoded\b", re.I)
_JSON = re.compile(r"^application/([^;]*\+)?json\b", re.I)


class Makers:
    """Per collection, the first item a successful request made by naming it, and the first that then held
    items of its own (what a path through the collection needs: a zone that holds metadata, not a file)."""

    def __init__(self) -> None:
        self._by: dict[str, Step] = {}  # an item's path -> the step that made it by naming it
        self._first: dict[str, str] = {}  # a collection -> the first item made in it
        self._holding: dict[str, str] = {}  # a collection -> the first item made in it that held an item
        self._copies: dict[tuple[str, str], Step] = {}  # (item, sibling) -> the copy made (one step for both)

    def see(self, step: Step, ex: Exchange, made: str) -> None:
        """`step` (of exchange `ex`) made the item at `made`."""
        parent = made.rpartition("/")[0]
        named = unquote(made.rpartition("/")[2]) in query_and_body(ex).values() or made == step.path.rstrip("/")
        if parent and named and len(self._by) < ITEMS_MAX and made not in self._by:
            self._by[made] = step
            self._first.setdefault(parent, made)
        outer = parent.rpartition("/")[0]
        while outer:  # the items it is within, below their own collections, now hold one
            if outer in self._by:
                self._holding.setdefault(outer.rpartition("/")[0], outer)
            outer = outer.rpartition("/")[0]

    def knows(self, path: str, holding: bool = False) -> bool:
        """Did the recording make an item beside `path` by naming it (`holding`: one that held items)?"""
        return path.rpartition("/")[0] in (self._holding if holding else self._first)

    def like(self, path: str, holding: bool = False) -> Step | None:
        """A step that makes the item at `path` as the recording made a sibling of it (`holding`: one that held
        items); None where it made none, or the step cannot name this one."""
        parent, _, name = path.rpartition("/")
        made = (self._holding if holding else self._first).get(parent)
        if made is None or made == path:
            return None
        if (path, made) not in self._copies and len(self._copies) < ITEMS_MAX:
            self._copies[(path, made)] = _copy(self._by[made], made, path)
        return self._copies.get((path, made))


def _copy(step: Step, made: str, path: str) -> Step | None:
    """`step`, which made the item at `made`, written to make the one at `path` instead."""
    parent, _, name = path.rpartition("/")
    old, new = unquote(made.rpartition("/")[2]), unquote(name)
    query = tuple((k, new if v == old else v) for k, v in step.query)
    body = _renamed_body(step.body, step.content_type, old, new)
    by_path = step.path.rstrip("/") == made
    if not by_path and query == step.query and body == step.body:
        return None  # the name went in a way this cannot write again
    return replace(
        step,
        seq=step.seq + 0.5,  # right after the step it copies, apart from it
        path=f"{parent}/{name}" if by_path else step.path,
        query=query,
        body=body,
        produced={},
        issued=(),
        creates="" if by_path else path,
        like=made,
    )


def _renamed_body(body: bytes, content_type: str | None, old: str, new: str) -> bytes:
    """The body with every value `old` (a JSON string, a form field) written as `new`, the rest as sent."""
    if not body or not content_type:
        return body
    if _JSON.match(content_type):
        return body.replace(json.dumps(old).encode(), json.dumps(new).encode())
    if _FORM.match(content_type):
        fields = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        if any(v == old for _, v in fields):
            return urlencode([(k, new if v == old else v) for k, v in fields]).encode()
    return body
