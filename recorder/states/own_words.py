"""What an API calls the values its paths name, in its own words: a state about `/user65/dev` reads `index
exists {user: user65, index: dev}`, not `item exists {item: user65, item_2: dev}`, when a body said so.

A path with no collection word before a value (`/{bucket}/{key}`, `/{user}/{index}`) gives the value no kind of
its own (see Timeline._levels: an item, a file, a collection). The bodies often name it: the field that carries
it (`"username": "user65"`, `"bucketName": ...`), the object that holds it under a naming field (`"users":
[{"name": "user65"}]`, `<Bucket><Name>test</Name>`), or the map it is a key of (`"indexes": {"dev": ...}`).
The first body to name a value gives its word; states are named with the words when the pact is written, so a
body seen after the value was first requested counts too.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET  # noqa: N817 (the usual name)
from typing import Any

from recorder.model import NO_BODY, Exchange
from recorder.words import singular

MAX_ASKED = 10_000  # values asked about, named or not (memory stays bounded on any traffic)
MAX_BODY = 256 * 1024  # larger bodies are not read for words
# Containers that say nothing of what they hold.
GENERIC = frozenset(
    {
        *("result", "results", "data", "items", "item", "value", "values", "entries", "entry", "list"),
        *("objects", "object", "content", "contents", "response", "body", "payload", "hits", "rows", "row"),
        *("elements", "element", "nodes", "node", "children", "resources", "resource"),
    }
)
_NAMING = re.compile(r"^(name|id|key|slug|uid|uuid|identifier)$", re.I)  # the field that names its object
_OWN_NAMING = re.compile(r"^([A-Za-z]{2,}?)[_-]?(name|id|key|slug)$", re.I)  # `username`, `bucketName`, `user_id`
_WORD = re.compile(r"^[A-Za-z][A-Za-z_-]+$")


class OwnWords:
    """Values a path named with no word for them (`ask`), and the word each body that names one gives it."""

    def __init__(self) -> None:
        self.asked: set[str] = set()
        self.found: dict[str, str] = {}  # value -> the API's word for it (singular)

    def ask(self, value: str) -> None:
        if value not in self.found and len(self.asked) + len(self.found) < MAX_ASKED:
            self.asked.add(value)

    def look_into(self, ex: Exchange) -> None:
        """Read the exchange's bodies for the values asked about."""
        if not self.asked:
            return
        for body, raw, content_type in (
            (ex.request_json, ex.request_body, ex.request_header("content-type")),
            (ex.response_json, ex.response_body, ex.response_header("content-type")),
        ):
            if len(raw) > MAX_BODY:
                continue
            if body is not NO_BODY:
                self._json(body, "")
            elif "xml" in (content_type or "").lower():
                self._xml(raw)

    def _name(self, value: Any, word: str) -> None:
        if isinstance(value, str) and value in self.asked and _WORD.match(word or "") and word.lower() not in GENERIC:
            self.asked.discard(value)
            self.found[value] = singular(word)

    def _json(self, node: Any, container: str) -> None:
        """`container`: the key that holds `node` (a list's elements share their list's)."""
        if isinstance(node, list):
            for item in node:
                self._json(item, container)
        elif isinstance(node, dict):
            for key, value in node.items():
                self._name(key, container)  # a map keyed by the value
                if _NAMING.match(key):
                    self._name(value, container)
                elif own := _OWN_NAMING.match(key):
                    self._name(value, own.group(1))
                self._json(value, key)

    def _xml(self, raw: bytes) -> None:
        try:
            root = ET.fromstring(raw)
        except ET.ParseError:
            return
        for parent in root.iter():
            for child in parent:
                tag = child.tag.rpartition("}")[2]
                if _NAMING.match(tag):
                    self._name((child.text or "").strip(), parent.tag.rpartition("}")[2])
                elif own := _OWN_NAMING.match(tag):
                    self._name((child.text or "").strip(), own.group(1))
