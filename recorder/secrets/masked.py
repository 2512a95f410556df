"""Secrets the provider itself says are secret: what a write sent and its answer shows masked.

A field called `value` or `data` is no secret by its name, but a provider that stores secrets answers the
write that sent one with the same object, the secret masked (`"********"`): that value is a secret, and so is
whatever the same request (method and path) sends at that place later, and the value wherever a response shows
it in clear again (a read asked to include secrets).

    >>> from recorder.model import Exchange
    >>> ex = Exchange("POST", "/blocks", (), (), b'{"name": "db", "data": {"value": "s3cr3t-pw"}}', 201, (),
    ...               b'{"id": 7, "name": "db", "data": {"value": "********"}}')
    >>> m = MaskedEchoes()
    >>> m.places(ex), m.secret("s3cr3t-pw"), m.secret("db")
    ({('data', 'value')}, True, False)
"""

from __future__ import annotations

import re
from typing import Any

from recorder.model import NO_BODY, Exchange
from recorder.values import leaves

# What a provider writes instead of a secret: a run of one masking character, or a word that says so.
_MASK = re.compile(r"^(?:([*•#xX])\1{2,}|<?\[?(?:hidden|redacted|masked|filtered|secret)\]?>?)$", re.I)
PLACES_MAX = 1_000  # requests (method and path) whose masked places are remembered
VALUES_MAX = 10_000  # masked values remembered
SHORTEST = 4  # a shorter value is no secret worth the name (and would be redacted wherever it appears)


class MaskedEchoes:
    def __init__(self) -> None:
        self._places: dict[tuple[str, str], set[tuple]] = {}  # (method, path) -> places in its JSON body
        self._values: set[str] = set()

    def places(self, ex: Exchange) -> set[tuple]:
        """The places (JSON paths as key tuples) in the request's body that hold a secret: what its response
        shows masked at the same place, and what earlier requests of the same method and path had masked."""
        key = (ex.method.upper(), ex.path)
        found = set(self._places.get(key, ()))
        if (sent := ex.request_json) is NO_BODY:  # (then the response is not parsed: a read's may be left unread)
            return found
        if (answer := ex.response_json) is NO_BODY or not isinstance(answer, (dict, list)):
            return found
        for at, value in leaves(sent):
            if isinstance(value, str) and len(value) >= SHORTEST and not _MASK.match(value):
                shown = _at(answer, at)
                if isinstance(shown, str) and _MASK.match(shown):
                    found.add(at)
                    if len(self._values) < VALUES_MAX:
                        self._values.add(value)
        if found and (key in self._places or len(self._places) < PLACES_MAX):
            self._places[key] = found
        return found

    def secret(self, value: Any) -> bool:
        """Is this a value some response masked?"""
        return isinstance(value, str) and value in self._values


def _at(body: Any, at: tuple) -> Any:
    for key in at:
        if isinstance(body, dict) and isinstance(key, str):
            body = body.get(key)
        elif isinstance(body, list) and isinstance(key, int) and key < len(body):
            body = body[key]
        else:
            return None
    return body
