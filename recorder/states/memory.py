"""What the recording remembers of the traffic so far, bounded: the resources it wrote and read, the values
writes sent, what responses handed out, the calls made; and the questions both sides ask of it.

`effects.Effects` adds each exchange to it; `timeline.Timeline` works out from it what a request needed.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from recorder.model import Exchange
from recorder.secrets.redact import PLACEHOLDER
from recorder.states.analogues import Makers
from recorder.states.handed_out import HandedOut
from recorder.states.own_words import OwnWords
from recorder.states.steps import Step
from recorder.states.undoers import Undoers
from recorder.urls import resolve
from recorder.values import (
    READ,
    Location,
    created_child,
    in_list,
    named_child,
    norm,
    query_and_body,
    request_operation,
    response_values,
    segments,
)

CREATE = frozenset({"PUT", "MKCOL", "MKCALENDAR"})
UPDATE = frozenset({"PATCH", "PROPPATCH"})
MAX_HISTORY = 6  # steps kept per resource: its creation and the latest updates
MAX_RESOURCES = 50_000  # resources remembered, the ones touched longest ago forgotten first
WRITERS_MAX = 8  # places a value was first sent to remembered per value (see Memory.written)
FED_MAX = 20  # the latest writes that put something into a resource by its name, remembered per name
MAX_WRITTEN = 2_000  # values sent by successful writes remembered (see Memory.written), oldest forgotten first
ISSUERS_MAX = 4  # steps that handed out the same secret remembered per secret (see Memory.issuers)
UNNAMED_MAX = 16  # writes that named nothing they made remembered (see Memory.unnamed)
MAKERS_MAX = 4  # of those, the ones a call that hands out new ids needs at most
ACCOUNTS_MAX = 1_000  # accounts made by a call remembered (see Memory.registered)
WORD = re.compile(r"^[A-Za-z][A-Za-z_-]*$")  # a collection word (records, user-groups), not an id like user1
COMMON = frozenset({"true", "false", "null", "none", "json", "xml", "text", "html", "asc", "desc"})


@dataclass
class Resource:
    path: str
    exists: bool | None = None  # None: never written; seen or not, it was there before the recording
    history: list[Step] = field(default_factory=list)  # since its latest creation
    data: Any = None  # its latest representation seen in a 2xx response


class Memory:
    """The bounded records of the traffic so far, and the lookups both the effects and the needs use."""

    def __init__(self) -> None:
        self.resources: dict[str, Resource] = {}
        self.handed = HandedOut()  # what responses handed out, and the bodies left unread
        # Values a successful write first sent in its query or body (a queue's or a table's name, a user
        # name): a later request that sends one again depends on that write.
        # (the write, how it sent the value, the place it wrote to) for each place (see _wrote, _writer).
        self.written: OrderedDict[str, list[tuple[Step, tuple, str]]] = OrderedDict()
        self.fed: OrderedDict[str, deque[Step]] = OrderedDict()  # a name -> later writes that sent it (see _wrote)
        self.reset: Step | None = None
        self.seq = 0
        self.implicit: dict[str, Step] = {}  # path -> the first write below it (which may have made it)
        # path -> the writes below it (a revision registered once the last of its files is uploaded)
        self.below: dict[str, list[Step]] = {}
        self.put_created_201: set[str] = set()  # containers where a PUT that created answered 201 Created
        self.issuers: dict[str, list[Step]] = {}  # secret name -> the latest steps whose responses handed it out
        self.owners: dict[str, list[str]] = {}  # secret name -> the resources whose creation sent it (accounts)
        # secret name -> the first write that sent it in its body and made nothing a path names: an account made
        # by a call (`POST /register`), which a login with that password needs before it
        self.registered: dict[str, Step] = {}
        self.by_name: dict[str, set[str]] = {}  # a resource's own name (last segment) -> its paths
        self.makers = Makers()  # how the recording made an item of each collection (for items it never made)
        self.slashed: set[str] = set()  # paths requested with a trailing slash: collections (WebDAV)
        self.own_words = OwnWords()  # what the bodies call the values paths name with no word before them
        self.defined: set[str] = set()  # names a POST to /.../NAME that sent NAME defined (a class by its schema)
        # Writes that made something they did not name (answered with no id: `Ok.`), the latest few: a later
        # call beside them that is the first to hand out new ids (a list of uploaded torrents by the hash of
        # their files) lists what they made; a call answered otherwise after them may depend on what they
        # changed (see _unnamed_made, _changed_since).
        self.unnamed: deque[Step] = deque(maxlen=UNNAMED_MAX)
        # A handed-out id -> the successful writes since that sent it back (RPC style: `{"experiment_id": "3"}`
        # to `/experiments/delete`, then `/restore`): the id is the resource, and these are its history.
        self.acted_on: OrderedDict[str, deque[Step]] = OrderedDict()
        # the same call (method, path, query, body) -> (seq, status) of its latest time
        self.last_call: OrderedDict[tuple, tuple[int, int]] = OrderedDict()
        self.undoers = Undoers()  # how the consumer deleted what an operation inside the request made

    def _container(self, path: str) -> str:
        """The nearest known resource a path is within (`/db` for `/db/_bulk_docs`), else its parent."""
        segs = segments(path)
        prefixes = ["/" + "/".join(segs[:n]) for n in range(len(segs), 0, -1)]
        return next((p for p in prefixes if p in self.resources), path.rsplit("/", 1)[0] or "")

    def _header_paths(self, headers: tuple[tuple[str, str], ...]) -> set[str]:
        """Existing resources a request header names by their path (`x-amz-copy-source: /bucket/key`, with
        or without its leading slash) or URL (a copy's source on the provider)."""
        found = set()
        for _, value in headers:
            path = path_named(unquote(value)) if "/" in value and " " not in value else ""
            if (res := self.resources.get(path)) is not None and res.exists:
                found.add(path)
        return found

    def _named_child(self, ex: Exchange) -> str | None:
        """What a POST made, where the answer names it by a name the request sent (not an id it generated),
        unless the recording saw it there before."""
        if created_child(ex) is None or request_operation(ex) or (child := named_child(ex)) is None:
            return None  # (an RPC call's answer echoes the call's own id)
        if unquote(child.rpartition("/")[2]) not in sent_values(ex).values():
            return None  # a value shared by chance, or no name a path could hold (`Katherine Johnson`)
        return None if (res := self.resources.get(child)) is not None and res.exists else child

    def _named_elsewhere(self, path: str, values: set[str]) -> set[str]:
        """The existing resources outside `path` and its containers that `values` name: of those with one
        name, the nearest to `path` is the one it means (a name its own containers have is theirs); and
        those named like `path` itself (`_named_like`). Not what has the request's own name at its depth: that
        is one more of the same kind (a user's `dev` index, when the request is another user's)."""
        named = set()
        own, depth = unquote(path.rsplit("/", 1)[-1]), len(segments(path))
        for value in values:
            if len(value) < 3:  # (a short name is looked for only among a container's own items: _listed)
                continue
            found = [
                p
                for p in self.by_name.get(value, ())
                if (res := self.resources.get(p)) and res.exists and (value != own or len(segments(p)) != depth)
            ]
            closest = max((shared_depth(p, path) for p in found), default=0)
            named |= {p for p in found if shared_depth(p, path) == closest}
        return {p for p in named | self._named_like(path) if not within(path, p) and not within(p, path)}

    def _named_like(self, path: str) -> set[str]:
        """Existing resources of another kind named like `path` itself: a grant /perms/shop/alice needs the
        user alice, who sits in a collection of the API's own (nothing the recording made). Not a file of
        that name in another folder, nor a key of that name below its own container."""
        parent, _, own = path.rpartition("/")
        if len(own := unquote(own)) < 3:
            return set()
        folder = parent.rpartition("/")[2]  # (a package's `files/conaninfo.txt` is no other package's)
        return {
            p
            for p in self.by_name.get(own, ())
            if (res := self.resources.get(p)) and res.exists
            and p.rpartition("/")[0] not in self.resources and not within(p, parent or "/")
            and p.rpartition("/")[0].rpartition("/")[2] != folder
        }  # fmt: skip

    def _new_listed(self, ex: Exchange) -> list[tuple[str, str]]:
        """(name, value) of the ids `ex`'s response lists (as items of a list) that no response handed out and no
        request sent before."""
        handed, sent = self.handed.values, self.handed.sent
        return [
            (str(w[-1]), v) for w, v in response_values(ex).items() if v not in handed and v not in sent and in_list(w)
        ]

    def _reads_item(self, ex: Exchange, path: str) -> bool:
        """Is `ex` a successful read of an item of a collection the recording made items in by name, that
        names itself in its answer (a zone the suite's fixtures loaded outside the API: `{"name": ...}`), not a
        view of the collection (`/db/_all_docs`)?"""
        if ex.acts_as not in READ or not 200 <= ex.status < 300 or not self.makers.knows(path):
            return False
        body, name = ex.response_json, unquote(path.rpartition("/")[2])
        return isinstance(body, dict) and any(str(v) == name for v in body.values() if isinstance(v, (str, int)))

    def _unnamed_makers(self, ex: Exchange) -> tuple[tuple[Step, ...], tuple[str, str] | None]:
        """For a successful call that is the first to hand out some id: the writes beside it (in its container)
        since the same call before, that made something they did not name (answered `Ok.`). Its new ids are
        what they made: (those writes, the first new id listed), or ((), None)."""
        if not 200 <= ex.status < 300 or ex.status == 201 or not self.unnamed:
            return (), None
        path = norm(ex.path)
        before, parent = self.last_call.get(call_key(ex), (0, 0))[0], path.rpartition("/")[0]
        makers = [w for w in self.unnamed if w.seq > before and norm(w.path).rpartition("/")[0] == parent]
        # (ids listed, as items of a list: a single object with a new id is what the call made itself)
        if not makers or not (new := self._new_listed(ex)):
            return (), None
        return tuple(makers[-MAKERS_MAX:]), new[0]


def call_key(ex: Exchange) -> tuple:
    """What makes two requests the same call: a search by another query or a call with another body is not."""
    return ex.acts_as, norm(ex.path), tuple(sorted(ex.query)), hashlib.sha1(ex.request_body).digest()


def id_like(value: str) -> bool:
    """Long, with digits: an id or a digest, which two requests share only because one names the other."""
    return len(value) >= 16 and any(c.isdigit() for c in value)


def path_named(value: str) -> str:
    """The provider's path a value names: a URL's, an absolute path, or one without its leading slash."""
    return norm(resolve("/", value) if "://" in value else "/" + value.strip().partition("?")[0].lstrip("/"))


def sent_values(ex: Exchange) -> dict[Location, str]:
    """The query and body values that can name something (a name, an id): a value shared by chance (a
    flag, a small number, a common word, a principal listed in permissions) is no dependency."""
    return {
        where: v
        for where, v in query_and_body(ex).items()
        if len(v) >= 4
        and " " not in v
        and not (v.isdigit() and len(v) < 6)
        and v.lower() not in COMMON
        and PLACEHOLDER not in v  # a redacted secret: every one looks the same
        and "/" not in v  # a path or a URL names a resource: the timeline's already
        # an item of a list (members, grants) names nothing, unless it is an id (the blobs a manifest lists)
        and (not in_list(where) or id_like(v))
    }


def shared_depth(path: str, other: str) -> int:
    """How many leading segments two paths share."""
    pairs = zip(segments(path), segments(other), strict=False)
    return sum(1 for _ in itertools.takewhile(lambda pair: pair[0] == pair[1], pairs))


def within(path: str, resource: str) -> bool:
    return path == resource or path.startswith(resource.rstrip("/") + "/")
