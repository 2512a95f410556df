"""What each exchange did to what the recording remembers: resources made, changed and deleted, values
written, ids acted on (`Timeline.apply`)."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from recorder.model import NO_BODY, Exchange
from recorder.states.memory import (
    ACCOUNTS_MAX,
    CREATE,
    FED_MAX,
    ISSUERS_MAX,
    MAKERS_MAX,
    MAX_HISTORY,
    MAX_RESOURCES,
    MAX_WRITTEN,
    UPDATE,
    WORD,
    WRITERS_MAX,
    Memory,
    Resource,
    call_key,
    id_like,
    sent_values,
)
from recorder.states.steps import Step, step_exchange
from recorder.urls import resolve
from recorder.values import (
    READ,
    bulk_ids,
    created_child,
    mentioned_paths,
    norm,
    only_reads,
    query_and_body,
    refused_in_body,
    request_operation,
    segments,
)


class Effects(Memory):
    """The memory, kept up to date: `apply` each exchange in recorded order."""

    def _acted(self, step: Step, ex: Exchange) -> bool:
        """Remember a successful write among the calls on each id it sent back that a response handed out
        before (not a read sent as a POST: it answered with data); whether it sent one."""
        acted, reads = False, _answers_data(ex)
        for value in dict.fromkeys(query_and_body(ex).values()):
            if (producer := self.handed.producer(value)) is not None and producer.seq < step.seq:
                acted = True
                if not reads and "/" not in value:  # (a handle with a path, a queue's URL, is fed: _fed_since)
                    self.acted_on.setdefault(value, deque(maxlen=FED_MAX)).append(step)
                    self.acted_on.move_to_end(value)
        while len(self.acted_on) > MAX_WRITTEN:
            self.acted_on.popitem(last=False)
        return acted

    def _acted_below(self, path: str) -> Resource | None:
        """The existing resource a POST to one of its actions changed (`/collections/ID/add`,
        `/flow_runs/ID/set_state`: a word right below it that made nothing of its own): its setup sends it."""
        parent, _, word = path.rpartition("/")
        res = self.resources.get(parent)
        return res if res is not None and res.exists and WORD.match(unquote(word)) else None

    def _bound(self) -> None:
        for store in (self.resources, self.implicit, self.below):
            while len(store) > MAX_RESOURCES:
                del store[next(iter(store))]

    def _made_then(self, ex: Exchange) -> tuple[Step, ...]:
        """What made the existing containers of an exchange's path and the resources its headers and path
        name elsewhere, as the recording has them now: a setup that replays the exchange later needs them
        made first."""
        path = norm(ex.path)
        segs = segments(path)
        paths = ["/" + "/".join(segs[:n]) for n in range(1, len(segs))]
        # (of its own name, only what `_named_like` finds: the resource it makes may not be there yet)
        named = self._named_elsewhere(path, {unquote(s) for s in segs[:-1]})
        paths += sorted(self._header_paths(ex.request_headers) | named)
        return tuple(s for p in paths if (res := self.resources.get(p)) is not None and res.exists for s in res.history)

    def _relisted(self, ex: Exchange, values: list[str]) -> None:
        """Ids with a history of calls that a response named again unasked (a listing, not a read of that id):
        made again by the writes that named nothing since the last of those calls (deleted, then uploaded
        again), if there were any; their history starts over from those writes."""
        asked = {*query_and_body(ex).values(), *(unquote(s) for s in segments(ex.path))}
        for value in values:
            if value not in asked and (remade := [w for w in self.unnamed if w.seq > self.acted_on[value][-1].seq]):
                self.acted_on[value] = deque(remade[-MAKERS_MAX:], maxlen=FED_MAX)

    def _resource(self, path: str) -> Resource:
        """The resource at `path`, made known (and findable by its name) on first sight."""
        if (res := self.resources.get(path)) is None:
            res = self.resources[path] = Resource(path)
            name = unquote(segments(path)[-1]) if segments(path) else ""
            if name and len(self.by_name) < MAX_RESOURCES:
                self.by_name.setdefault(name, set()).add(path)
        return res

    @staticmethod
    def _trim(history: list[Step]) -> list[Step]:
        return history if len(history) <= MAX_HISTORY else [history[0], *history[-(MAX_HISTORY - 1) :]]

    def _wrote(self, step: Step) -> None:
        """Remember the write that first sent a value: the one that made what the value names (later ones
        only use it), and after it those that sent it the same way (the same method, the same place in the
        request) to another place (a blob of one digest uploaded into a second repository). A value its own
        path names is that resource's, the timeline's already."""
        own = {unquote(s) for s in segments(step.path)}
        ex = step_exchange(step)
        sent = sent_values(ex)
        place = norm(step.path).rpartition("/")[0]
        for where, value in sent.items():
            if value in own:
                continue
            makers = self.written.setdefault(value, [])
            way = (step.acts_as, where)
            if (
                not makers
                or len(makers) < WRITERS_MAX
                and makers[0][1] == way
                and place not in {p for _, _, p in makers}
            ):
                makers.append((step, way, place))
        named = sent.values()
        # A publish to it, a message sent into it: by a name, or by a handle an earlier response handed out
        # (a queue's URL).
        handles = [v for v in query_and_body(ex).values() if v in self.handed and "/" in v]
        for value in dict.fromkeys([*named, *handles]) if step.acts_as == "POST" and step.status != 201 else ():
            if value not in own:
                self.fed.setdefault(value, deque(maxlen=FED_MAX)).append(step)
                self.fed.move_to_end(value)
        while len(self.written) > MAX_WRITTEN:
            self.written.popitem(last=False)
        while len(self.fed) > MAX_WRITTEN:
            self.fed.popitem(last=False)

    def keeps_data(self, path: str) -> bool:
        """Does a successful read of `path` tell the states what a resource holds?"""
        return path in self.resources

    def apply(self, ex: Exchange, redact: Callable[[tuple, Any], Any] | None = None) -> Step:
        """Take what an exchange did; `redact`: its response body was left unread and unredacted
        (recorder.infer.sampling, only for reads that `keeps_data` says no to): it is looked into only when a
        later request sends a value that no response read is known to have handed out (`HandedOut.look_into`),
        and every value taken from it is redacted then."""
        self.seq += 1
        self.own_words.look_into(ex)
        if ex.path.endswith("/") and len(ex.path) > 1 and len(self.slashed) < MAX_RESOURCES:
            self.slashed.add(norm(ex.path))
        unnamed, _ = self._unnamed_makers(ex)
        step = self.handed.step(self.seq, ex, redact)
        step.after = self._made_then(ex) + unnamed
        key = call_key(ex)
        self.last_call.pop(key, None)
        self.last_call[key] = (self.seq, ex.status)
        if len(self.last_call) > MAX_RESOURCES:
            self.last_call.popitem(last=False)
        path, method, ok = norm(ex.path), ex.acts_as, 200 <= ex.status < 300
        if again := [v for v in step.produced.values() if v in self.acted_on]:
            self._relisted(ex, again)
        sends_handed, reads = False, only_reads(ex)
        if ok and not reads and refused_in_body(ex.response_json):  # a write refused with 200: it made nothing
            ok = False
        if ok and not reads:
            self._wrote(step)
            self.undoers.see(step, ex, self.handed, self.written)
            sends_handed = self._acted(step, ex)
            segs = segments(path)
            for i in range(1, len(segs)):
                self.implicit.setdefault(prefix := "/" + "/".join(segs[:i]), step)
                if method != "DELETE":
                    self.below[prefix] = self._trim([*self.below.get(prefix, ()), step])
        if not ok:
            if ex.status in (404, 410) and (res := self.resources.get(path)) is not None:
                res.exists = False
            return step
        rpc = bool(request_operation(ex))  # a call to an RPC endpoint (GraphQL too): its path is no resource
        # (a call that sent an id handed out before acted on what it names: it made nothing new)
        names_nothing = not step.produced and not ex.issued and not rpc and not sends_handed
        if method == "POST" and names_nothing and created_child(ex) is None:
            self.unnamed.append(step)
        if rpc:
            pass
        elif method in CREATE:
            if method == "PUT" and ex.status == 201 and len(self.put_created_201) < MAX_RESOURCES:
                self.put_created_201.add(path.rpartition("/")[0])
            res = self._resource(path)
            # A 201 for something that exists (npm publishing a second version) adds to it.
            res.history = [step] if not res.exists else self._trim(res.history + [step])
            res.exists, res.data = True, _data(ex, res.data)
            self.makers.see(step, ex, path)
        elif method in ("COPY", "MOVE") and (destination := ex.request_header("destination")):
            # WebDAV and CouchDB: the Destination (a URL, or a name relative to the request's) is made
            # from the source; a setup makes the source, then copies it.
            source = self.resources.get(path)
            res = self._resource(norm(resolve(ex.path, destination)))
            res.history = self._trim([*(source.history if source and source.exists else []), step])
            res.exists, res.data = True, _data(ex, res.data)
            if method == "MOVE" and source is not None:
                source.exists, source.history = False, []
        elif method in UPDATE or method == "POST" and path in self.resources and created_child(ex) is None:
            res = self._resource(path)
            res.history = self._trim(res.history + [step])
            res.exists, res.data = True, _data(ex, res.data)
        elif method == "POST" and path not in self.resources and created_child(ex) is None and _names_itself(ex):
            # A POST to a path never seen whose body names it too (`POST /schemas/Note` with `"className":
            # "Note"`) defined the thing of that name: there, and wherever that name is used as a container.
            res = self._resource(path)
            res.history, res.exists, res.data = [step], True, _data(ex, None)
            self.makers.see(step, ex, path)
            if len(self.defined) < MAX_RESOURCES:
                self.defined.add(unquote(segments(path)[-1]))
        elif method == "POST" and (child := created_child(ex)) is not None:
            res = self._resource(child)
            res.history, res.exists, res.data = [step], True, _data(ex, None)
            step.creates = child
            self.makers.see(step, ex, child)
            if (alias := self._named_child(ex)) not in (None, child):  # known by its id and by its name
                res = self._resource(alias)
                res.history, res.exists = [step], True
                step.named = alias
        elif method == "POST" and (owner := self._acted_below(path)) is not None:
            owner.history = self._trim(owner.history + [step])
        elif method == "POST":
            made_in_bulk = [f"{self._container(path)}/{i}" for i in bulk_ids(ex)]  # CouchDB's _bulk_docs
            for mentioned in mentioned_paths(ex) + made_in_bulk:  # a batch: it may have made them
                res = self._resource(mentioned)
                res.history = self._trim(res.history + [step]) if res.exists else [step]
                res.exists = True
        elif method == "DELETE":
            for p, res in self.resources.items():  # (a DELETE of a whole list is no resource itself)
                if p == path or p.startswith(path.rstrip("/") + "/"):
                    res.exists, res.history = False, []
        elif method in READ and ((res := self.resources.get(path)) is not None or self._reads_item(ex, path)):
            res = res or self._resource(path)
            res.exists = True
            res.data = _data(ex, res.data)
        self._bound()
        made = None if rpc else path if method in CREATE | UPDATE else created_child(ex) if method == "POST" else None
        for entry in ex.issued:
            issuers = self.issuers.setdefault(dict(entry)["secret"], [])
            issuers[:] = [*issuers[-(ISSUERS_MAX - 1) :], step]
        issued = [(("in", "issued"), ("secret", dict(e)["secret"])) for e in ex.issued]
        for entry in [*ex.secrets, *issued] if made else ():
            if dict(entry).get("in") in ("body", "form", "multipart", "issued"):
                owners = self.owners.setdefault(dict(entry)["secret"], [])
                owners[:] = [p for p in owners if p != made][-50:] + [made]
        for entry in ex.secrets if not made and not reads and len(self.registered) < ACCOUNTS_MAX else ():
            if dict(entry).get("in") in ("body", "form", "multipart"):
                self.registered.setdefault(dict(entry)["secret"], step)
        return step

    def forget_all(self, step: Step) -> None:
        """A reset request (a test suite's flush): nothing exists after it."""
        self.reset = step
        self.implicit.clear()
        self.below.clear()
        for res in self.resources.values():
            res.exists, res.history = False, []


def _answers_data(ex: Exchange) -> bool:
    """Did the response answer with data (a read sent as a POST), not only that it was done (`{}`, `Ok.`)?"""
    if ex.response_json is not NO_BODY:
        return ex.response_json not in ({}, [], None)
    return len(ex.response_body.strip()) > 16


def _data(ex: Exchange, otherwise: Any) -> Any:
    """What a response says a resource holds (its JSON body), else `otherwise`: parsed only where a
    resource's data is kept, never for a body left unread."""
    return ex.response_json if ex.response_json is not NO_BODY else otherwise


def _names_itself(ex: Exchange) -> bool:
    """Does the request's body or query send the last segment of its path (a name, not an id) as a value?"""
    segs = segments(norm(ex.path))
    name = unquote(segs[-1]) if segs else ""
    return bool(name) and not id_like(name) and name in query_and_body(ex).values()
