"""What responses handed out, remembered within bounds: the values a later request may send back.

Every response's ids, versions and tokens are remembered with the step whose response handed them out
(`values`), the values the consumer chose itself apart (`sent`); a response body left unread (recorder.infer.
sampling) is kept a while and searched only when a later request sends a value no read response handed
out. Memory is bounded: MAX_VALUES values, MAX_HELD values held by the steps kept alive, MAX_UNREAD_BYTES
of unread bodies, oldest forgotten first.
"""

from __future__ import annotations

import json
import re
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from recorder.model import Exchange
from recorder.secrets.redact import PLACEHOLDER
from recorder.states.steps import Step, made_it, step_exchange
from recorder.values import (
    READ,
    Location,
    body_values,
    header_values,
    request_operation,
    request_values,
    response_values,
    segments,
)
from recorder.words import singular

MAX_VALUES = 20_000  # server-generated values remembered, oldest forgotten first
# ...and the values that the steps those keep alive hold between them: with a request id in every
# response, each of thousands of steps lives on for one value while holding a hundred others.
MAX_HELD = 200_000
MAX_SHARED = 50_000  # places and values that the steps' produced values share (see HandedOut._shared)
# Response bodies left unread (recorder.infer.sampling), kept for the ids a later request may send: the latest
# MAX_UNREAD_BYTES of them (at most MAX_UNREAD), as values are kept. Searching them may cost what reading
# them would have (SCAN_FACTOR times their bytes, SCAN_MAX banked), and no more (HandedOut.look_into).
MAX_UNREAD_BYTES = 16 << 20
MAX_UNREAD = 20_000
SCAN_FACTOR = 8  # reading a byte of JSON costs the walk as much as searching eight, and more
SCAN_PER_BODY = 1024  # what a search's step from one body to the next costs, in bytes searched
SCAN_MAX = SCAN_FACTOR * MAX_UNREAD_BYTES
OTHERS_MAX = 4  # other writes remembered per value that handed out the same value (another collection's id 2)
MAX_OTHERS = 5_000  # values with such other writes remembered


class HandedOut:
    def __init__(self) -> None:
        self.values: OrderedDict[str, tuple[Step, Location]] = OrderedDict()
        self.sent: OrderedDict[str, None] = OrderedDict()  # values the consumer chose itself
        # value -> other successful writes that handed it out after the one in `values` (see producer)
        self.others: OrderedDict[str, list[Step]] = OrderedDict()
        self._shared_parts: dict = {}  # see _shared
        self._holds: dict[Step, int] = {}  # step -> how many of self.values it produced
        self._held = 0  # the values that those steps' `produced` hold between them
        self._unread: OrderedDict[Step, tuple[Exchange, Callable]] = OrderedDict()  # see step
        self._unread_bytes = 0
        self._scan_budget = 0
        self._looked_into: tuple[Exchange | None, list[str]] = (None, [])  # the latest exchange, what it missed

    def __contains__(self, value: str) -> bool:
        return value in self.values

    def producer(self, value: str, about: frozenset[str] = frozenset()) -> Step | None:
        """The step whose response handed `value` out (the latest, or the write that made it), if remembered.
        Where several writes handed out the same value (id 2 of a user, then of a post), the first whose words
        (path, operation, where in its answer the value was) name what the request is `about` (see `about`)."""
        found = self.values.get(value, (None,))[0]
        if found is not None and about and (others := self.others.get(value)):
            return next((s for s in (found, *others) if about & words_of(s)), found)
        return found

    def producers(
        self, values: list[str], exclude: set[Step], about: dict[str, frozenset[str]] | None = None
    ) -> list[Step]:
        """Steps whose responses handed out these values (reads, and writes that succeeded: an upload id a
        POST answered with), not already among `exclude`; `about`: what the request says each value is of."""
        found = []
        for value in values:
            step = self.producer(value, (about or {}).get(value, frozenset()))
            if step is None or step in exclude or step in found:
                continue
            if step.acts_as in READ or 200 <= step.status < 300:
                found.append(step)
        return sorted(found, key=lambda s: s.seq)

    def step(self, seq: int, ex: Exchange, redact: Callable[[tuple, Any], Any] | None) -> Step:
        """The step of an exchange, with what its response handed out remembered; `redact`: its response
        body was left unread and unredacted: it is looked into only when a later request sends a value that
        no response read is known to have handed out (`look_into`), and every value taken from it is
        redacted then."""
        for value in self.look_into(ex):
            self._remember(self.sent, value, None)
        share = self._shared
        found = response_values(ex) if redact is None else header_values(ex)
        # (a redacted value is no id: a token handed out as a secret is fetched fresh as one)
        kept = {share(w): share(v) for w, v in found.items() if v not in self.sent and PLACEHOLDER not in v}
        step = Step.of(seq, ex, kept)
        self._produced(step, step.produced)
        if redact is not None and ex.response_body:
            self._unread[step] = (ex, redact)
            self._unread_bytes += len(ex.response_body)
            self._scan_budget = min(self._scan_budget + SCAN_FACTOR * len(ex.response_body), SCAN_MAX)
            while self._unread_bytes > MAX_UNREAD_BYTES or len(self._unread) > MAX_UNREAD:
                _, (dropped, _) = self._unread.popitem(last=False)  # its ids are forgotten, as values are
                self._unread_bytes -= len(dropped.response_body)
        return step

    def _shared(self, part: Any) -> Any:
        """One object for equal places and values: a step lives as long as a value it alone produced is
        remembered (a request id, a timestamp), and with such values in every response thousands of steps
        live, each with the same places and mostly the same values as the others."""
        if (known := self._shared_parts.get(part)) is not None:
            return known
        if len(self._shared_parts) < MAX_SHARED:
            self._shared_parts[part] = part
        return part

    def look_into(self, ex: Exchange) -> list[str]:
        """The values `ex`'s request sends that no response is known to have handed out, after looking for
        each in the bodies left unread, newest first. Looking is a byte search; a body that holds the value
        is then read for its values (`_read_unread`), as it would have been when it came. The searches
        cost at most what reading the unread bodies would (SCAN_FACTOR): past that, all of them are read."""
        if self._looked_into[0] is ex:  # (before() and apply() of the same exchange)
            return self._looked_into[1]
        missing = [v for v in request_values(ex).values() if v not in self.values and v not in self.sent]
        taken: dict[Step, None] = {}
        for value in missing if self._unread else ():
            forms = needles(value)
            for step, (unread, _) in reversed(self._unread.items()):
                self._scan_budget -= len(unread.response_body) + SCAN_PER_BODY
                if self._scan_budget < 0:
                    break
                if step not in taken and any(n in unread.response_body for n in forms):
                    taken[step] = None
                    self._read_unread(step)
                    if value in self.values:
                        break
            if self._scan_budget < 0:
                for step in self._unread:
                    if step not in taken:
                        self._read_unread(step)
                taken = dict.fromkeys(self._unread)
                break
        for step in taken:
            unread, _ = self._unread.pop(step)
            self._unread_bytes -= len(unread.response_body)
        self._looked_into = (ex, [v for v in missing if v not in self.values])
        return self._looked_into[1]

    def _read_unread(self, step: Step) -> None:
        """Take the values of a body left unread, as apply would have (but not over a newer step's)."""
        ex, redact = self._unread[step]
        added = {}
        for where, value in body_values(ex, redact).items():
            if value in self.sent or ((known := self.values.get(value)) is not None and known[0].seq > step.seq):
                continue  # the consumer's own, or handed out again since (the latest counts)
            added[self._shared(where)] = self._shared(value)
        if step in self._holds:
            self._held += len(added)
        step.produced.update(added)
        self._produced(step, added)

    def _produced(self, step: Step, produced: dict[Location, str]) -> None:
        """Remember what a step's response handed out (`produced`, of its `produced`), within MAX_VALUES
        values and MAX_HELD values held by the steps kept alive, oldest forgotten first. A value a successful
        write handed out in its body stays that write's when later answers name it again (a listing of the
        uploads in progress, a queue's URL in a list of queues, whatever their method): a setup replays the
        write to make it. Any other value handed out again (an ETag read again) is the latest step's."""
        for where, value in produced.items():
            earlier = self.values.get(value)
            if earlier is not None and made_it(earlier[0]) and where[0] != "header":
                if made_it(step) and earlier[0] is not step:  # another thing made with the same id
                    others = self.others.setdefault(value, [])
                    if len(others) < OTHERS_MAX and step not in others:
                        others.append(step)
                    while len(self.others) > MAX_OTHERS:
                        self.others.popitem(last=False)
                continue
            if (earlier := self.values.pop(value, None)) is not None:
                self._release(earlier[0])
            self.values[value] = (step, where)
            if (holds := self._holds.get(step, 0)) == 0:
                self._held += len(step.produced)
            self._holds[step] = holds + 1
        while len(self.values) > MAX_VALUES or self._held > MAX_HELD:
            _, (oldest, _) = self.values.popitem(last=False)
            self._release(oldest)

    def _release(self, step: Step) -> None:
        if (n := self._holds[step] - 1) > 0:
            self._holds[step] = n
        else:
            del self._holds[step]
            self._held -= len(step.produced)

    @staticmethod
    def _remember(store: OrderedDict, key: str, value: Any) -> None:
        store[key] = value
        if len(store) > MAX_VALUES:
            store.popitem(last=False)


_GENERIC = frozenset(
    {
        *("id", "ids", "data", "query", "mutation", "subscription", "variable", "variables", "body", "create"),
        *("update", "delete", "remove", "get", "all", "item", "items", "api", "graphql", "input", "by", "one"),
        *("many", "list", "set", "add", "new", "result", "results", "value", "values", "node", "nodes", "edge"),
    }
)


def words(text: str) -> frozenset[str]:
    """What a name says it is about, in words: `createPost` -> {post}, `/api/users` -> {user}, `post_id` ->
    {post}; generic words (data, id, create, items, ...) left out."""
    parts = re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])", text)
    return frozenset(w for p in parts if (w := singular(p.lower())) not in _GENERIC and len(w) > 1)


def words_of(step: Step) -> frozenset[str]:
    """What a step made, in words: its path, its operation (`mutation createPost`), where its answer handed
    out values."""
    found = words(step.path) | words(request_operation(step_exchange(step)))
    for where in step.produced:
        found |= words(" ".join(str(k) for k in where[1:] if isinstance(k, str)))
    return found


def about(ex: Exchange, where: Location) -> frozenset[str]:
    """What a request says the value it sends at `where` is of: the collection a path names it in (`/posts/2`),
    else its operation (`query Post`) and the name it sends it under (`postId`)."""
    if where[0] == "path":
        segs = segments(ex.path)
        return words(segs[where[1] - 1]) if 0 < where[1] <= len(segs) else frozenset()
    return words(request_operation(ex)) | words(" ".join(str(k) for k in where[1:] if isinstance(k, str)))


def needles(value: str) -> tuple[bytes, ...]:
    """How a value may be written in a JSON body: as it is, escaped as JSON, and with JSON's optional
    escaped slash (PHP writes `\\/`)."""
    escaped = json.dumps(value)[1:-1].encode()
    return tuple(dict.fromkeys((value.encode("utf-8", "surrogatepass"), escaped, escaped.replace(b"/", b"\\/"))))
