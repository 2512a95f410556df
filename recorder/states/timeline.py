"""The recording as a sequence: what each request needed before it ran, and how to make that again.

A verifier replays every interaction alone against a provider started empty, so each one must say
which resources it needs (and which it needs absent), and how to create them. The recording knows:
every exchange's preconditions are the effects of the exchanges before it.

    PUT  /stores/main                    201   store main did not exist; now it does (step 1)
    POST /stores/main/records            201   {"id": "9f2c"}: record 9f2c created (step 2)
    GET  /stores/main/records/9f2c       200   needs store main (step 1) and record 9f2c (step 2);
                                               9f2c came from step 2's response, so a fresh provider's
                                               id is used in its place

`Timeline.before(exchange)` answers for one exchange (asked for the example of each interaction), here;
`Timeline.apply(exchange)` adds its effects (recorder.states.effects) to what the recording remembers
(recorder.states.memory), which is bounded by the resources touched (each keeps the steps since its latest
creation, at most MAX_HISTORY) and by a fixed number of remembered values.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote, unquote

from recorder.model import NO_BODY, Exchange
from recorder.states.effects import Effects
from recorder.states.handed_out import about as handed_about
from recorder.states.handed_out import needles, words
from recorder.states.memory import (
    COMMON,
    CREATE,
    MAKERS_MAX,
    UPDATE,
    WORD,
    Resource,
    call_key,
    id_like,
    path_named,
    sent_values,
    shared_depth,
    within,
)
from recorder.states.steps import Step, made_it, step_exchange, step_request_values
from recorder.urls import resolve
from recorder.values import (
    READ,
    Location,
    body_operation,
    body_values,
    clock_values,
    created_child,
    leaves,
    norm,
    query_and_body,
    request_operation,
    request_values,
    response_names,
    segments,
    xml_names,
)
from recorder.words import NAMING_KEY, singular

MAX_NAMED = 10  # resources a request names outside its own path that its states make
DEPENDENCIES_MAX = 30  # steps a request's values bring in (with what those steps send in turn)
ACTED_MAX = 6  # the latest calls on a handed-out id a call on it is set up with (see Timeline.acted_on)
_PARTS = re.compile(r"[/:?&=,;@#\s]+")  # what separates the parts of a URI or a list in one value
_EXTENSION = re.compile(r"\.[A-Za-z0-9]{1,5}$")


@dataclass(frozen=True)
class Need:
    """One provider state an exchange needs: `kind` is exists | absent | list | values | sent | made."""

    kind: str
    levels: tuple[tuple[str, str], ...]  # (resource kind, path segment) from the outermost resource in
    steps: tuple[Step, ...] = ()
    data: Any = None
    seed: bool = False  # exists without a step that makes it: data the provider must already hold
    values: tuple[tuple[str, str], ...] = ()  # for kind values: (param, recorded value)
    noun: str = ""  # for kind list: what the listed items are (records)
    path: str = ""  # the resource (for kind list: the collection; for absent: what a setup deletes)
    clock: tuple[tuple[str, str, float], ...] = ()  # for kind values: (param, kind, offset) taken from the clock


@dataclass
class Preconditions:
    needs: list[Need]
    uses: dict[Location, tuple[str, str]]  # request location -> (param, recorded value)

    def named(self, words: dict[str, str]) -> Preconditions:
        """The same, each resource that its path gave no word (an item, a file, a collection) named by the
        word the API's bodies use for it (recorder.states.own_words), in the states and in their params."""
        levels = {level for need in self.needs for level in need.levels}
        renamed: dict[tuple[str, str], str] = {}
        taken = {name for name, _ in levels}
        for name, segment in sorted(levels, key=lambda level: _level_order(level[0])):
            if _UNNAMED.match(name) and (word := words.get(unquote(segment))):
                taken.discard(name)
                renamed[(name, segment)] = _unique(_param_name(word), taken)
        if not renamed:
            return self

        def rename(pairs: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
            return tuple((renamed.get((name, value), name), value) for name, value in pairs)

        needs = [replace(n, levels=rename(n.levels), values=rename(n.values)) for n in self.needs]
        uses = {where: (renamed.get(use, use[0]), use[1]) for where, use in self.uses.items()}
        return Preconditions(needs, uses)


_BARE_IDS = frozenset({"id", "ids", "uuid"})  # keys that say a value is an id, not of what
_UNNAMED = re.compile(r"^(item|file|collection)(_\d+)?$")  # the kinds Timeline._kind gives


def _level_order(name: str) -> tuple[str, int]:
    """item before item_2 before item_10: renamed outermost first, as they were named."""
    base, _, n = name.rpartition("_")
    return (base, int(n)) if n.isdigit() and base else (name, 1)


class Timeline(Effects):
    """The recording as a sequence: `apply` each exchange (effects), ask `before` what one needed."""

    # -- what an exchange needed ---------------------------------------------------------------------

    def before(self, ex: Exchange, params: frozenset[int] = frozenset()) -> Preconditions:
        """What `ex` needed: `params` are the positions of its path's segments that the endpoint made
        parameters (an id there names a resource even if the recording never wrote it)."""
        self.handed.look_into(ex)
        path, method, status = norm(ex.path), ex.acts_as, ex.status
        by_query = any(v in self.handed for _, v in ex.query)
        chain = self._chain(path, method, status, params, by_query, self._reads_item(ex, path))
        if request_operation(ex):  # the operation is in the request (GraphQL, a statement): its path is no resource
            chain = [p for p in chain if p != path]
        levels = self._levels(chain)
        needs: list[Need] = []
        for prefix, level_path in zip(chain, levels, strict=True):
            exists = self._existed(prefix, ex, target=prefix == path)
            if exists is None:
                break
            if exists is False:
                needs.append(Need("absent", level_path, path=prefix))
                break
            need, res = self._exists(prefix, level_path), self.resources.get(prefix)
            unwritten = res is None or res.exists is None or res.exists and not res.history  # (or only read)
            if not need.steps and unwritten and (made := self._makers(prefix, within=prefix != path)):
                need = replace(need, steps=made, seed=False)
            needs.append(need)
        needs += self._destination(ex, chain, levels[-1] if levels else ())
        if method == "POST" and 200 <= status < 300 and (child := self._named_child(ex)) is not None:
            # made under a name it chose: that name was free (a fresh provider may hold it from an earlier
            # interaction; the setup deletes it, and the next undo what the interaction made)
            needs.append(Need("absent", self._levels([*chain, child])[-1], path=child))
        # What a container holds is part of its state for a read of it, and for a DELETE of it (refused
        # while it holds items, done when it is empty).
        reads = method in READ and 200 <= status < 300
        listing = self._children(path, levels[-1] if levels else ()) if reads or method == "DELETE" else None
        if listing is None and reads:
            listing = self._named_below(ex, path, levels[-1] if levels else ())
        if listing is None and 200 <= status < 300:
            listing = self._listed(ex, path, chain, levels)
        needs = self._named(ex, path, chain, listing) + needs
        setups = [*needs, *([listing] if listing else [])]
        sources = [(ex.secrets, ex), *((s.secrets, step_exchange(s)) for n in setups for s in n.steps)]
        accounts, logins = self._credentials(sources, chain)
        needs = _containers_first(_in_recorded_order(accounts + needs + ([logins] if logins else [])))
        resources = [n for n in needs if n.path]
        if listing is not None and (not resources or resources[-1].kind == "exists"):
            needs.append(listing)
        uses, clocks = self._uses(ex, chain, levels)
        # A call whose path names no known resource (RPC style: `/runs/search`, `/torrents/bottomPrio`) is about
        # what its values name.
        rpc_style = not chain
        if derived := [use for where, use in uses.items() if not _names_resource(where, chain)]:
            covered = {s for need in needs for s in need.steps}
            about = {value: handed_about(ex, where) for where, (_, value) in uses.items()}
            steps = self.handed.producers([value for _, value in derived], covered, about)
            # A read runs where it ran in the recording, among the writes of the resource it read: an
            # ETag read before an update must come out stale again. A read of something this
            # interaction does not set up could not be replayed: its values stay as recorded; but a read of
            # what no recorded request wrote (a provider's built-in data: a type registered at start, with
            # a new id in every server) is replayed for its values (a setup goes on where it fails). A read
            # of a resource within one it sets up (a design document in a database) makes what it read
            # first, as it was then.
            # A write that handed a value out (a POST answered with an upload id) is replayed for it.
            loose = []
            for step in steps:
                into = max(
                    (
                        k
                        for k, n in enumerate(needs)
                        if n.path and n.kind != "absent" and within(norm(step.path), n.path)
                    ),
                    key=lambda k: len(needs[k].path),
                    default=None,
                )
                if into is not None:
                    read = self.resources.get(norm(step.path))
                    made = [s for s in read.history if s.seq < step.seq] if read and read.exists else []
                    merged = sorted({*needs[into].steps, *made, step}, key=lambda s: s.seq)
                    needs[into] = replace(needs[into], steps=tuple(merged))
                elif step.acts_as not in READ or self._never_written(step.path):
                    loose.append(step)
            loose += self._fed_since(ex, [value for _, value in derived], {*covered, *steps})
            if rpc_style:
                loose += self._acted_on_since(ex, [value for _, value in derived], {*covered, *steps, *loose})
            needs.append(
                Need(
                    "values", (), tuple(sorted(loose, key=lambda s: s.seq)), values=tuple(derived), clock=tuple(clocks)
                )
            )
        # (what a request answered 404 named is gone: a value it sends names nothing to make first)
        if status not in (404, 410) and (sent := self._sent_before(ex, {s for need in needs for s in need.steps})):
            # set up where the recording made it: before what was made after it (a collection made in the
            # database a POST named in its body)
            last = max(s.seq for s in sent.steps)
            at = next((k for k, n in enumerate(needs) if n.steps and max(s.seq for s in n.steps) > last), len(needs))
            needs.insert(at, sent)
        # In RPC style a POST answers like a read (a search sent as one), and when a call answered otherwise
        # before, the writes since then that named nothing (a preference set) decided it.
        answers = reads or rpc_style and method == "POST" and 200 <= status < 300
        if answers and listing is None and (made := self._made_listed(ex, {s for need in needs for s in need.steps})):
            needs.append(made)
        if made := self._unnamed_made(ex):  # it lists what uploads that named nothing made
            needs.append(made)
        if rpc_style and (changed := self._changed_since(ex)):
            needs.append(changed)
        if rpc_style and method == "POST" and 200 <= status < 300 and (chosen := self._chosen(ex, uses)):
            needs.append(chosen)
        needs = [
            replace(n, steps=self._prerequisites(n)) if n.kind != "absent" and n.steps else n
            for n in (self._fed_into(n, ex) for n in needs)
        ]
        # What must be absent is made by no other need's setup (a write that handed out a value the request
        # sends back, and made the very thing this request makes)
        if absent := {n.path for n in needs if n.kind == "absent"}:
            needs = [n if n.kind == "absent" else replace(n, steps=_not_making(n.steps, absent)) for n in needs]
        own = dict(levels[-1]) if levels else {}
        return Preconditions(_apart(needs, own, own | {param: value for param, value in uses.values()}), uses)

    def _writer(self, value: str, path: str, before: int, way: tuple) -> Step | None:
        """The write before step `before` that first sent `value` to the place nearest `path` (a manifest's
        blob uploaded into its own repository, not another's); none for a request that sends it `way` (its
        method, where in the request) as that write did, to a place of its own: it makes what the value names
        there itself (an RPC over one URL sends a name to the same place, and uses what the first made)."""
        makers = self.written.get(value, [])
        place = path.rpartition("/")[0]
        if not makers or makers[0][1] == way and place not in {p for w, _, p in makers if w.seq < before}:
            return None
        return _nearest([w for w, _, _ in makers if w.seq < before], path)

    def _named_by(self, value: str, where: Location, step: Step) -> Step | None:
        """The write before `step` that first sent `value` under the same key (`name` to `/models/create`, then
        to `/versions/create`), nearest its path: what it made is what the name means. A name sent under
        another key is another thing's (an address banned, an address subscribed)."""
        same = [w for w, way, _ in self.written.get(value, []) if w.seq < step.seq and way[1][-1] == where[-1]]
        return _nearest(same, norm(step.path))

    def _never_written(self, path: str) -> bool:
        """Did no recorded request write the resource at `path` (or anything it is within)?"""
        segs = segments(norm(path))
        prefixes = ["/" + "/".join(segs[: i + 1]) for i in range(len(segs))]
        return not any((res := self.resources.get(p)) is not None and res.history for p in prefixes)

    def _makers(self, path: str, within: bool) -> tuple[Step, ...]:
        """What makes a resource no recorded write made itself: the write that handed its name out; else the
        write that sent its name (a database a POST to /databases named in its body, written into at
        /databases/NAME/...), a copy of the write that made a sibling of it (see analogues; one that held items
        where the request is `within` it), and the writes below it (an upload to .../a/file, which may make it)."""
        if made := self._made_as(path):
            return (made,)
        if made := self._defined_elsewhere(path):
            return made
        name = unquote(segments(path)[-1]) if segments(path) else ""
        named = self._writer(name, path, self.seq + 1, ()) if name in self.written else None
        if named is not None and norm(named.path) != path.rpartition("/")[0]:
            named = None  # (only a write to its container names it: an address banned is no list's member)
        found = (named, self.makers.like(path, holding=within), *self.below.get(path, ()))
        return tuple(dict.fromkeys(s for s in found if s is not None))

    def _defined_elsewhere(self, path: str) -> tuple[Step, ...]:
        """What made a container no write made itself, named by what a POST elsewhere defined under that name
        (objects POSTed to `/classes/Note` once `POST /schemas/Note` defined the class: see Effects.defined)."""
        segs = segments(path)
        name = unquote(segs[-1]) if segs else ""
        if path in self.resources or name not in self.defined:
            return ()
        return tuple(sorted(self._made_named(name, path, self.seq + 1), key=lambda s: s.seq))

    def _made_as(self, path: str) -> Step | None:
        """The successful write whose answer handed out the last segment of `path`: what it made, named
        there by that id (a silence a POST to /silences answered with, read at /silence/ID)."""
        segs = segments(path)
        name = unquote(segs[-1]) if segs else ""
        step = self.handed.producer(name, words(segs[-2]) if len(segs) > 1 else frozenset()) if id_like(name) else None
        return step if step is not None and made_it(step) else None

    def _made_named(self, name: str, path: str, before: int) -> set[Step]:
        """What made the existing resource nearest `path` whose own name is `name`, before step `before`."""
        found = [res for p in self.by_name.get(name, ()) if (res := self.resources.get(p)) and res.exists]
        res = max(found, key=lambda r: shared_depth(r.path, path), default=None)
        return {s for s in res.history if s.seq < before} if res is not None else set()

    def _fed_into(self, need: Need, ex: Exchange) -> Need:
        """The need of a resource the request acts on or within, with the writes elsewhere that put something
        into it by its name since it was made (a message published with the queue's name as its routing
        key, then read from the queue): a read of it answers with what they put there."""
        if need.kind != "exists" or not need.steps or not need.path or not within(norm(ex.path), need.path):
            return need
        made = max(s.seq for s in need.steps)
        fed = [
            s
            for s in self.fed.get(unquote(need.path.rsplit("/", 1)[-1]), ())
            if made < s.seq and not s.creates and not within(norm(s.path), need.path)
        ]
        return replace(need, steps=(*need.steps, *fed)) if fed else need

    def _fed_since(self, ex: Exchange, values: list[str], covered: set[Step]) -> list[Step]:
        """The writes that put into what a handed-out handle names, since the response that handed it out,
        what this response answers with (a message sent to a queue by its URL, then received from it)."""
        fed: set[Step] = set()
        for value in values:
            if (producer := self.handed.producer(value)) is None:
                continue
            for step in self.fed.get(value, ()):
                if producer.seq < step.seq and step not in covered and _answers_with(ex, step, value):
                    fed.add(step)
        return sorted(fed, key=lambda s: s.seq)

    def _made_listed(self, ex: Exchange, covered: set[Step]) -> Need | None:
        """A read that answers with values successful writes handed out (the uploads in progress, listed by
        the ids their creations answered with) needs those writes replayed: the provider holds what they made."""
        found: dict[Step, tuple[str, str]] = {}
        values = body_values(ex)  # (a header, an ETag, is about the resource read)
        if request_operation(ex):  # a read by operation (SHOW DATABASES) lists names operations sent, short ones too
            values |= {("body", *at): str(v) for at, v in leaves(ex.response_json)}  # (leaves is bounded)
        for where, value in values.items():
            producer = self.handed.producer(value, handed_about(ex, where)) or self._operation_named(value)
            if producer is not None and producer not in covered and made_it(producer):
                found.setdefault(producer, (str(where[-1]), value))
        if not found:
            return None
        return Need("made", (), tuple(sorted(found, key=lambda s: s.seq)), values=tuple(sorted(set(found.values()))))

    def _operation_named(self, value: str) -> Step | None:
        """The first successful write that named `value` inside an operation it sent (`CREATE DATABASE "metrics"`,
        a GraphQL mutation's variables): no path names what it made, so a read that answers with the name
        needs it."""
        return next((w for w, _, _ in self.written.get(value, ()) if request_operation(step_exchange(w))), None)

    def _sent_before(self, ex: Exchange, covered: set[Step]) -> Need | None:
        """Values the request sends that earlier successful writes sent too (CreateQueue's QueueName in a
        later SendMessage, a database a write made in `?db=`): those writes, and what their own values
        needed in turn, as the setup of `values sent by earlier requests`."""
        # A path names what a write made under a name it sent in its body (`{"table": "events"}`, then
        # GET /data/events.json): its segments count too, without a format suffix.
        # (a file's name whole, as an upload sent it, else without its suffix)
        named = {
            ("path", i): u if u in self.written else _EXTENSION.sub("", u)
            for i, u in enumerate(unquote(s) for s in segments(ex.path))
        }
        # A known resource's own name is its resource's state already (its creation, its absence). A value taken
        # from the clock is now + its offset at verify time, whatever an earlier request sent in the same second.
        clocked = {where for where, *_ in clock_values(ex)}
        sent = {
            where: v
            for where, v in (sent_values(ex) | named).items()
            if self.written.get(v) and v not in self.by_name and where not in clocked
        }
        steps: set[Step] = set()
        target = norm(ex.path)
        method = ex.acts_as
        by_operation = bool(request_operation(ex))
        # (not for an id a response handed out before any request sent it, a torrent's hash a listing gave,
        # which a delete then sent: its state is what handed it out)
        queue = [
            w
            for where, v in sent.items()
            if (v not in self.handed or v in self.handed.sent)
            and (w := self._writer(v, target, self.seq + 1, _way(v, method, where)))
        ]
        while queue and len(steps) < DEPENDENCIES_MAX:
            step = queue.pop()
            # (what was written to its own target is its own states, unless the operation is in the request)
            if step in steps or segments(target) and within(norm(step.path), target) and not by_operation:
                continue
            steps.add(step)
            for where, value in sent_values(step_exchange(step)).items():
                if writer := self._writer(value, norm(step.path), step.seq, _way(value, step.acts_as, where)):
                    queue.append(writer)
        if not (steps - covered):
            return None
        segs = segments(ex.path)

        def label(where: Location) -> str:  # a path's value is named after the segment before it (package)
            return _param_name(singular(segs[where[1] - 1])) if where[0] == "path" and where[1] else str(where[-1])

        values = tuple(sorted({(label(where), v) for where, v in sent.items()}))
        return Need("sent", (), tuple(sorted(steps - covered, key=lambda s: s.seq)), values=values)

    def _prerequisites(self, need: Need) -> tuple[Step, ...]:
        """A need's steps, and before them what they need in turn: the steps that handed out a value they send
        (the upload id of a multipart upload's parts) or first sent a name they send (the blobs a manifest
        lists), and what made the containers they write into that are not the resource's own (those are
        states of their own: a file copied from /a/f needs /a made before its PUT can be replayed), as the
        recording had them then."""
        steps, wanted = need.steps, set(need.steps)
        queue = list(steps)
        while queue and len(wanted) < DEPENDENCIES_MAX + len(steps):  # what those need in turn, too
            step = queue.pop()
            # Its containers and a copy's source as they were made then (not the resource's own chain: those
            # are states of their own), and the steps that handed out a value it sends.
            found = {s for s in step.after if not within(need.path, norm(s.creates or s.path))}
            # the login that handed out a token it sends,
            found |= {
                i for e in map(dict, step.secrets) if e.get("issued") and (i := self._issuer(e["secret"], step.seq))
            }
            for where, value in step_request_values(step).items():
                if (producer := self.handed.producer(value)) is None or producer.seq >= step.seq:
                    continue
                # (an id in a path that the producer made there is that resource's own state; one it handed out
                # for something else, a run's id in an artifact's path, comes from replaying it first)
                if where[0] != "path" or not within(norm(step.path), norm(producer.creates or producer.path)):
                    found.add(producer)
            # and the writes that first sent an id it sends, or made the resource it names (the blobs and the
            # manifests an index lists by digest), or first sent a name it sends under a name's key (a model's,
            # in the creation of its version; any other word two writes send, a key's value, is no dependency
            # a setup may fail on)
            for where, value in sent_values(step_exchange(step)).items():
                if id_like(value):
                    if writer := self._writer(value, norm(step.path), step.seq, (step.acts_as, where)):
                        found.add(writer)
                    else:
                        found |= self._made_named(value, norm(step.path), step.seq)
                elif NAMING_KEY.search(str(where[-1])) and (writer := self._named_by(value, where, step)):
                    found.add(writer)
            # and what made a resource it names by its path in its query or body (an index's base `user/dev`)
            found |= {
                s for p in self._paths_sent(step_exchange(step)) for s in self.resources[p].history if s.seq < step.seq
            }
            queue += found - wanted
            wanted |= found
        return steps if len(wanted) == len(steps) else tuple(sorted(wanted, key=lambda s: s.seq))

    def _destination(self, ex: Exchange, chain: list[str], own: tuple) -> list[Need]:
        """What a COPY or a MOVE needed of its Destination (WebDAV, CouchDB): what the recording knows of
        it, else what the status says (201: it was not there, and a setup deletes it; 204, overwritten;
        409 or 412, refused: it was); and what it is within.
        Its params are named apart from the request's own (`own` levels): the states of one interaction
        share their params, and the request's path is made from them."""
        destination = ex.request_header("destination")
        if ex.method.upper() not in ("COPY", "MOVE") or not destination or ex.status not in (201, 204, 409, 412):
            return []
        dest = norm(resolve(ex.path, destination))
        if dest in chain:
            return []
        *outer, (_, name) = self._levels(self._chain(dest, "PUT", 201, frozenset()))[-1]
        level = (*(p if p in own else (f"destination_{p[0]}", p[1]) for p in outer), ("destination", name))
        within = [  # named apart too: the request's own states name its path
            replace(n, levels=tuple(p if p in own else (f"destination_{p[0]}", p[1]) for p in n.levels))
            for n in self._all_within([self._container(dest.rpartition("/")[0] or "/")], chain)
        ]
        res = self.resources.get(dest)
        if not (res.exists if res is not None and res.exists is not None else ex.status != 201):
            return [*within, Need("absent", level, path=dest)]
        return [*within, self._exists(dest, level)]

    def _exists(self, path: str, level: tuple) -> Need:
        """That the resource at `path` exists: made by its steps since its latest creation, else seed data."""
        res = self.resources.get(path)
        steps = tuple(res.history) if res and res.exists else ()
        return Need("exists", level, steps, res.data if res else None, seed=not steps, path=path)

    def _named(self, ex: Exchange, path: str, chain: list[str], listing: Need | None) -> list[Need]:
        """Resources the request names by their name outside their own path: npm's
        `/-/package/NAME/dist-tags` reads what `PUT /NAME` made, `?owner=alice` needs alice (and a request
        sent as alice what is named alice nearest to it: her permissions on its vhost), a scoped
        name written as two segments (`/@scope/name/-/name-1.0.tgz` reads `PUT /@scope%2fname`), and
        those a successful read answered with (a search, a user's starred packages). A name is looked up
        among all resources: the existing ones nearest the request's path count (at most MAX_NAMED)."""
        parts = [unquote(s) for s in segments(path)]
        values = set(query_and_body(ex).values()) | set(parts) | {f"{a}/{b}" for a, b in itertools.pairwise(parts)}
        values |= {str(user) for e in ex.secrets if (user := dict(e).get("user"))}  # its grants, found by name
        if ex.acts_as in READ and 200 <= ex.status < 300:
            values |= response_names(ex.response_json)
        listed = set(dict(listing.values)["ids"]) if listing else set()
        named = self._named_elsewhere(path, values - listed) | self._header_paths(ex.request_headers)
        named |= self._paths_sent(ex)
        named = {p for p in named if p not in chain and not within(path, p) and not within(p, path)}
        if ex.acts_as not in READ:  # an item a write to its collection names in its body (a create refused 409)
            named |= self._items_named(path, set(query_and_body(ex).values()) - listed)
        nearest = sorted(named, key=lambda p: (-shared_depth(p, path), p))
        return self._all_within(nearest[:MAX_NAMED], chain)

    def _paths_sent(self, ex: Exchange) -> set[str]:
        """Existing resources a request's query or body values name by their path from the provider's root: a
        URL, an absolute path, or one without its leading slash (`{"bases": "user/dev"}`). (A path relative to the
        request's own, a document's `_design/test` in a bulk write, is an item of its container: `_listed`.)"""
        found = set()
        for sent in query_and_body(ex).values():
            if len(sent) > 1000:
                continue
            # (a value may be a setting, `bases=user/mirror`, or a list of them)
            for value in {sent, *sent.rpartition("=")[2].split(",")} if "/" in sent.strip("/") else ():
                path = path_named(value)
                if (res := self.resources.get(path)) is not None and res.exists and path != norm(ex.path):
                    found.add(path)
        return found

    def _items_named(self, path: str, values: set[str]) -> set[str]:
        """The existing items right below `path` whose own name is one of `values`."""
        base = path.rstrip("/") + "/"
        candidates = {norm(base + v) for v in values if len(v) >= 3 and "/" not in v}
        candidates |= {norm(base + quote(v, safe="")) for v in values if len(v) >= 3}
        return {p for p in candidates if (res := self.resources.get(p)) is not None and res.exists}

    def _named_below(self, ex: Exchange, path: str, levels: tuple) -> Need | None:
        """The resources below `path`, at any depth, that a read of it names by their path from it: an
        object store lists `api/hello.txt` of a bucket in an XML <Key>, as JSON as well as XML."""
        names = response_names(ex.response_json) if ex.response_json is not NO_BODY else xml_names(ex.response_body)
        base = path.rstrip("/") + "/"
        kids = [
            res
            for name in sorted(names)
            if (res := self.resources.get(norm(base + name.lstrip("/")))) is not None and res.exists
        ]
        # A name that ends in a slash is a prefix (a listing's CommonPrefixes, a folder no write made
        # itself): what the first write below it made, if it is still there, makes the listing name it.
        for name in [n for n in sorted(names) if n.endswith("/") and len(n) > 1][:MAX_NAMED]:
            below = self.implicit.get(norm(base + name.strip("/")))
            made = self.resources.get(norm(below.creates or below.path)) if below is not None else None
            if made is not None and made.exists and made not in kids:
                kids.append(made)
        if not kids:
            return None
        steps = [s for res in kids for s in res.history]
        return _list_need(path, levels, kids, steps, path in self.resources or path in self.slashed)

    def _listed(self, ex: Exchange, path: str, chain: list[str], levels: list) -> Need | None:
        """The items of a resource the request is within that its response names, when the request is
        no list of its own: CouchDB answers `GET /db/_all_docs`, a view (`/db/_design/d/_view/v`) and a
        query sent as a POST (`/db/_temp_view`, `/db/_find`) with documents of `/db`. The innermost such
        resource whose items the response names; short names too (`"id": "1"`), since only its own count.
        A container no request wrote itself, made by writes below it, counts its items at any depth (a
        registry's `/v2/NAME/tags/list` names the tags PUT as `/v2/NAME/manifests/TAG`)."""
        names = response_names(ex.response_json, short=True) if ex.response_json is not NO_BODY else set()
        if not names:
            return None
        segs = segments(path)
        made_below = [
            prefix
            for n in range(len(segs) - 1, 0, -1)
            if (prefix := "/" + "/".join(segs[:n])) in self.implicit and prefix not in chain
        ]
        containers = [*zip(chain, levels, strict=True), *((p, None) for p in made_below)]
        for container, level in sorted(containers, key=lambda c: -len(segments(c[0]))):  # innermost first
            if container == path:
                continue
            kids = {
                p: res
                for name in names
                for p in self.by_name.get(name, ())
                if (p.rpartition("/")[0] == container if level is not None else within(p, container))
                and p != container and p not in chain and (res := self.resources.get(p)) is not None and res.exists
            }  # fmt: skip
            if kids:
                steps = {s for res in kids.values() for s in res.history}
                level = level if level is not None else self._levels([container])[0]
                return _list_need(container, level, list(kids.values()), steps, True)
        return None

    def _credentials(self, sources: list[tuple[tuple, Exchange]], chain: list[str]) -> tuple[list[Need], Need | None]:
        """The accounts whose credentials the requests `sources` send ((secrets, request) of the request, or of
        a setup step it needs): made earlier by a request that sent the same password, or that handed out the
        token it sends. A token that a request which made nothing handed out (a login) comes from sending that
        request again, and that request's own credentials count too (a token an earlier login handed out:
        that login, too). (the needs of the accounts outside `chain`, the need of the logins)"""
        entries = [(dict(e), ex) for secrets, ex in sources for e in secrets]
        logins: set[Step] = set()
        queue = list(entries)
        while queue and len(logins) < DEPENDENCIES_MAX:  # a login sent with the token an earlier one handed out
            e, ex = queue.pop()
            step = self._issuer(e["secret"]) if e.get("issued") and not self._owner(e, ex) else None
            if step is not None and step not in logins:
                logins.add(step)
                login = step_exchange(step)
                queue += [(dict(x), login) for x in step.secrets]
                entries += [(dict(x), login) for x in step.secrets]
        owners = sorted({o for e, ex in entries if (o := self._owner(e, ex)) and o not in chain})
        # an account a call made (no path names it), for the logins and requests that send its password
        logins |= {
            made
            for e, ex in entries
            if e.get("in") in ("body", "form", "multipart")
            and (made := self.registered.get(e["secret"])) is not None
            and self._owner(e, ex) is None
            and made.path != ex.path
        }
        login = Need("values", (), tuple(sorted(logins, key=lambda s: s.seq))) if logins else None
        return self._all_within(list(reversed(owners)), chain), login

    def _issuer(self, secret: str, before: int | None = None) -> Step | None:
        """The latest step (before step `before`) whose response handed the secret out (the login a token
        came from: a later login may hand the same one out again)."""
        steps = self.issuers.get(secret, ())
        return next((s for s in reversed(steps) if before is None or s.seq < before), None)

    def _all_within(self, paths: list[str], chain: list[str]) -> list[Need]:
        """`_exists_within` of each path, but for the request's own chain (its needs say that)."""
        return [n for p in paths for n in self._exists_within(p) if n.path not in chain]

    def _exists_within(self, path: str) -> list[Need]:
        """The states that a known, existing resource outside the request's own path exists, and the
        known resources it is within, outermost first (a collection named elsewhere needs its bucket)."""
        res = self.resources.get(path)
        if res is None or not res.exists:
            return []
        chain = self._chain(path, "GET", 200, frozenset())
        out = []
        for prefix, levels in zip(chain, self._levels(chain), strict=True):
            if (known := self.resources.get(prefix)) is not None and known.exists:
                out.append(self._exists(prefix, levels))
        return out

    def _owner(self, entry: dict, ex: Exchange) -> str | None:
        """The account a credential that `ex` sends belongs to: of those made with it, the one named like its
        user or named by the request (a login's `user` field), else the latest, but not one beside the
        request's own target (another account made with the same password is no owner of this one's)."""
        made = self.owners.get(entry["secret"], [])
        names = {entry.get("user"), *query_and_body(ex).values(), *map(unquote, segments(norm(ex.path)))}
        if named := [p for p in made if unquote(p.rsplit("/", 1)[-1]) in names]:
            return named[-1]
        parent = norm(ex.path).rpartition("/")[0]
        return next((p for p in reversed(made) if p.rpartition("/")[0] != parent), None)

    def _chain(
        self,
        path: str,
        method: str,
        status: int,
        params: frozenset[int],
        by_query: bool = False,
        item_read: bool = False,
    ) -> list[str]:
        """The resources a path names, outermost first: known resources (written, or an id segment) that
        are prefixes of it, and the path itself when the request acts on it as one item (not a word that
        no write made, asked about an id in its query: an RPC-style `/runs/get?run_id=ID`; `item_read`: a
        read of an item no request made, see _reads_item)."""
        segs, ok = segments(path), 200 <= status < 300
        prefixes = ["/" + "/".join(segs[: i + 1]) for i in range(len(segs))]
        # (and a container like the items the recording made that held items, that held one then or now)
        held = [p for p in prefixes[:-1] if self.makers.knows(p, holding=True) and (ok or p in self.implicit)]
        chain = [p for i, p in enumerate(prefixes[:-1]) if p in self.resources or i in params or p in held]
        if not prefixes:
            return chain
        acts_on_item = (
            path in self.resources
            or path in self.implicit
            and not self._children(path, ())  # written below, and no list
            or len(segs) - 1 in params
            or method in CREATE | UPDATE | {"DELETE"}
            or status in (404, 410, 409, 412)
            or item_read
        )
        if method == "POST":  # a POST acts on what is below its path: the path is its container
            return chain + [path] if path in self.resources or self._defined_elsewhere(path) else chain
        if by_query and path not in self.resources and WORD.match(unquote(segs[-1])):
            return chain
        # A write to a path named by a value a response handed out, that is no resource the recording knows,
        # acts on what handed it out (npm's PUT /pkg/-rev/REV updates /pkg): no item of its own.
        if method in CREATE | UPDATE and path not in self.resources and self.handed.producer(unquote(segs[-1])):
            return chain
        return chain + [path] if acts_on_item else chain

    def _levels(self, chain: list[str]) -> list[tuple[tuple[str, str], ...]]:
        """For each resource of the chain, its (kind, segment) levels from the outermost one. The kind
        is the collection word before it (`stores` -> store); where there is none (WebDAV's
        /user1/calendar/event.ics), what it is: a collection (requested with a trailing slash), a file
        (a name with an extension), or an item. Never a recorded value."""
        out, levels, taken = [], [], {}
        previous_end = 0
        for prefix in chain:
            segs = segments(prefix)
            word = segs[-2] if len(segs) - previous_end >= 2 else None
            if word and WORD.match(word):
                base = _param_name(singular(word))
            else:
                base = self._kind(prefix)
                self.own_words.ask(unquote(segs[-1]))  # a body may say what it is (see Preconditions.named)
            n = taken.get(base, 0) + 1
            taken[base] = n
            # The segment as sent (still percent-encoded): a generated path puts the param back as it is.
            levels = [*levels, (base if n == 1 else f"{base}_{n}", segs[-1])]
            out.append(tuple(levels))
            previous_end = len(segs)
        return out

    def _kind(self, path: str) -> str:
        if path in self.slashed:
            return "collection"
        name = unquote(path.rsplit("/", 1)[-1])
        return "file" if "." in name.strip(".") and WORD.match(name.rpartition(".")[2]) else "item"

    def _existed(self, path: str, ex: Exchange, target: bool) -> bool | None:
        method, status = ex.acts_as, ex.status
        if target and method == "POST" and path not in self.resources:
            return True  # the container it writes into, defined elsewhere (see _defined_elsewhere)
        if target:
            if method in CREATE and 200 <= status < 300:
                # Made by it, unless the recording saw it there before (a second version, an overwrite):
                # known by the sequence, not the status (an object store answers a creation with 200).
                # But where the provider answered a creation in the same container 201, a 200 or 204
                # says the PUT replaced what was there (made by a side effect of another write, or seed).
                seen = bool((res := self.resources.get(path)) and res.exists)
                return seen or method == "PUT" and status != 201 and path.rpartition("/")[0] in self.put_created_201
            if status in (404, 410) or status == 412 and ex.request_header("if-match") == "*":
                return False  # gone, or refused for want of any version of it (If-Match: *)
            if method == "DELETE" and 200 <= status < 300 or status in (409, 412) or status == 304:
                return True
        res = self.resources.get(path)
        if not target and (200 <= status < 300 or status == 304):
            return True  # the request went through it: whatever the timeline missed, it was there
        if res is not None and res.exists is not None:
            return res.exists
        if target and not (200 <= status < 300 or status == 304):
            # refused for another reason (400, 401, 403): the recording cannot tell, unless a write below
            # it made it (a key written into a directory that a write of the directory's own path meets)
            return True if path in self.implicit else None
        return True  # never written: there before the recording (seed data), or an outer resource

    def _children(self, path: str, levels: tuple) -> Need | None:
        base = path.rstrip("/") + "/"
        kids = [r for p, r in self.resources.items() if p.startswith(base) and "/" not in p[len(base) :] and r.exists]
        if not kids:
            return None
        steps = [s for r in kids for s in r.history]
        return _list_need(path, levels, kids, steps, path in self.resources or path in self.slashed)

    def _uses(
        self, ex: Exchange, chain: list[str], levels: list
    ) -> tuple[dict[Location, tuple[str, str]], list[tuple[str, str, float]]]:
        """Where the request carries a state param: the segments of the resources its path names,
        values an earlier response handed out (ids, ETags, cursors), and values taken from the clock
        (with their kind and offset), each named after where it is."""
        names = levels[-1] if levels else ()
        out: dict[Location, tuple[str, str]] = {
            ("path", len(segments(prefix)) - 1): level for prefix, level in zip(chain, names, strict=False)
        }
        taken = {name for name, _ in names}
        segs = segments(ex.path)

        # (an `id` inside an operation about one kind of thing is of that thing: `postId` in `deletePost(id:)`)
        nouns = sorted(words(request_operation(ex)))

        def name_for(where: Location) -> str:
            if where[0] == "path":
                word = singular(segs[where[1] - 1]) if where[1] > 0 else "item"
            else:
                word = where[1].lower() if where[0] == "header" else str(where[-1])
                word = f"{nouns[0]}_{word}" if word in _BARE_IDS and len(nouns) == 1 else word
            return _unique(_param_name(word), taken)

        for where, value in request_values(ex).items():
            if where in out:
                continue
            if value in self.handed:
                out[where] = (name_for(where), value)
            elif where[0] != "path" and (inner := self._handed_inside(value)) is not None:
                out[where] = (name_for(where), inner)  # a URI built around an id (`.../RUN_ID/artifacts/model`)
        clocks = []
        for where, value, kind, offset in clock_values(ex):
            if where not in out:
                out[where] = (name := name_for(where), value)
                clocks.append((name, kind, offset))
        return out, clocks

    def _handed_inside(self, value: str) -> str | None:
        """A long id a response handed out that `value` carries between separators, not as all of it."""
        return next((part for part in _PARTS.split(value) if len(part) >= 16 and part in self.handed), None)

    def _chosen(self, ex: Exchange, uses: dict[Location, tuple[str, str]]) -> Need | None:
        """The names an RPC-style call chose itself (`{"name": "alpha"}` to `/experiments/create`): body, form or
        query values with letters that no earlier write sent, no response handed out and no resource has, not
        ids, not its operation. No path names what it made, so no undo frees them: a verification gives them
        fresh values where an earlier interaction's setup took them, as state params its request gets through
        generators (added to `uses`)."""
        if created_child(ex) is not None:  # what it made has a path: its name is that resource's
            return None
        taken, found = {name for name, _ in uses.values()}, []
        operation = body_operation(ex.request_json)
        for where, value in sent_values(ex).items():
            if where[0] == "multipart":  # (no generator reaches into a multipart part)
                continue
            if where in uses or value in self.written or value in self.handed or value in self.by_name:
                continue
            if id_like(value) or value == operation or not any(c.isalpha() for c in value):
                continue
            uses[where] = (name := _unique(_param_name(str(where[-1])), taken), value)
            found.append((name, value))
        return Need("chosen", (), (), values=tuple(found)) if found else None

    def _acted_on_since(self, ex: Exchange, values: list[str], covered: set[Step]) -> list[Step]:
        """For a call on handed-out ids in RPC style (no path names a resource): what the calls since each id was
        last handed out did to it (a tag set, a delete before a restore), replayed in order: the latest ACTED_MAX,
        and older ones that also sent another value this call sends (the tag's key a delete of it names)."""
        sent = {v for v in query_and_body(ex).values() if len(v) >= 3 and v.lower() not in COMMON}
        found: set[Step] = set()
        for value in values:
            since = producer.seq if (producer := self.handed.producer(value)) is not None else 0
            calls = [c for c in self.acted_on.get(value, ()) if c.seq > since and c not in covered]
            found |= set(calls[-ACTED_MAX:])
            found |= {c for c in calls if (sent - {value}) & set(query_and_body(step_exchange(c)).values())}
        return sorted(found, key=lambda s: s.seq)

    def _unnamed_made(self, ex: Exchange) -> Need | None:
        """The writes `_unnamed_makers` finds, as a need: a setup that replays the call, or needs what it
        answered, makes them first."""
        makers, new = self._unnamed_makers(ex)
        return Need("made", (), makers, values=(new,)) if makers else None

    def _changed_since(self, ex: Exchange) -> Need | None:
        """The same call answered otherwise the time before (200, now 409 "queueing must be enabled"): the
        writes since then that made nothing they named (a preference set) changed what decides it."""
        seq, status = self.last_call.get(call_key(ex), (0, ex.status))
        if status == ex.status:
            return None
        writes = [w for w in self.unnamed if w.seq > seq][-MAKERS_MAX:]
        if not writes:
            return None
        return Need(
            "changed", (), tuple(writes), values=(("writes", ", ".join(f"{w.method} {w.path}" for w in writes)),)
        )


def _not_making(steps: tuple[Step, ...], paths: set[str]) -> tuple[Step, ...]:
    """The steps that make none of `paths`."""
    return tuple(
        s
        for s in steps
        if not ({s.creates, s.named} & paths or s.acts_as in CREATE and norm(s.path) in paths and made_it(s))
    )


def _nearest(writers: list[Step], path: str) -> Step | None:
    """The write whose path shares the most with `path` (the first of those)."""
    return max(writers, key=lambda w: (shared_depth(norm(w.path), path), -w.seq), default=None)


def _way(value: str, method: str, where: Location) -> tuple:
    """How a request sends a value, for `Timeline._writer`: an id sent as its first writer sent it, to another
    place, is made there anew (a blob of one digest uploaded into a second repository); a name is what the
    first writer made (a model's name in the creation of its version, `/models/create`, `/versions/create`)."""
    return (method, where) if id_like(value) else ()


def _unique(base: str, taken: set[str]) -> str:
    """`base`, or `base_2`, `base_3`, ... whichever is not taken yet; taken from now on."""
    name, n = base, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    taken.add(name)
    return name


def _list_need(path: str, level: tuple, kids: list[Resource], steps, is_resource: bool) -> Need:
    """That the items `kids` of `path` exist, made by `steps`."""
    return Need(
        "list",
        level,
        tuple(sorted(steps, key=lambda s: s.seq)),
        values=(("ids", tuple(sorted(unquote(segments(r.path)[-1]) for r in kids))),),
        noun=_plural(path, is_resource),
        path=path,
    )


def _answers_with(ex: Exchange, step: Step, handle: str) -> bool:
    """Does `ex`'s response hold a value (other than `handle`) that `step` sent in its query or body?"""
    sent = {v for v in query_and_body(step_exchange(step)).values() if len(v) >= 4 and v != handle}
    return any(n in ex.response_body for v in sent for n in needles(v))


def _plural(path: str, is_resource: bool) -> str:
    """What a list lists: its collection word (records), or items when it is a resource (a calendar)."""
    word = unquote(segments(path)[-1]) if segments(path) else ""
    return word if word and WORD.match(word) and not is_resource else "items"


def _apart(needs: list[Need], own: dict[str, str], generated: dict[str, str]) -> list[Need]:
    """The request's own path params keep their names (its path is generated from them); a resource named
    elsewhere whose params would take one of those names with another value (a grant `/grants/shop/alice`
    beside the queue `/queues/shop/orders`, both "shop") takes a name of its own (`shop_2`). So does a value
    that only says what earlier writes made or sent, where the request's generators use its name for another
    (`id` of the user it updates, `id` of a post the answer lists): the verifier merges every state's values."""
    out = []
    for need in needs:
        if need.kind in ("made", "sent", "changed") and any(generated.get(k, v) != v for k, v in need.values):
            taken = {*generated, *(k for k, _ in need.values)}
            values = tuple((_unique(k, taken) if generated.get(k, v) != v else k, v) for k, v in need.values)
            need = replace(need, values=values)
        if need.path and any(own.get(name, value) != value for name, value in need.levels):
            taken, levels = set(own), []
            for name, value in need.levels:
                if own.get(name, value) != value:
                    name = next(f"{name}_{n}" for n in itertools.count(2) if f"{name}_{n}" not in taken)
                taken.add(name)
                levels.append((name, value))
            need = replace(need, levels=tuple(levels))
        out.append(need)
    return out


def _in_recorded_order(needs: list[Need]) -> list[Need]:
    """The needs whose setups replay recorded steps in the order the recording made what they make (their
    last step: the consumer's order worked; a queue named by value is made after the vhost it lives in, a
    login after its account), each need without steps kept right after the one before it (an absent
    target last)."""
    keys, key = [], -1
    for need in needs:
        if need.steps:
            key = max(s.seq for s in need.steps)
        keys.append(key)
    return [n for _, _, n in sorted(zip(keys, range(len(needs)), needs, strict=True), key=lambda t: t[:2])]


def _containers_first(needs: list[Need]) -> list[Need]:
    """The needs, each resource once (an account can also be the container of a resource named
    elsewhere), with every resource's container before it (a document named in a response is set up
    after its database); otherwise in the order given."""
    out: list[Need] = []
    for need in needs:
        if need.path and any(n.path == need.path for n in out):
            continue
        inside = next(
            (
                k
                for k, n in enumerate(out)
                if need.path and n.path and n.path != need.path and within(n.path, need.path)
            ),
            None,
        )
        out.insert(len(out) if inside is None else inside, need)
    return out


def _names_resource(where: Location, chain: list[str]) -> bool:
    return where[0] == "path" and any(len(segments(p)) - 1 == where[1] for p in chain)


def _param_name(word: str) -> str:
    parts = [p for p in re.split(r"[^0-9A-Za-z]+", word) if p] or ["value"]
    name = parts[0].lower() + "".join(p.capitalize() for p in parts[1:])
    return name if not name[0].isdigit() else f"v{name}"
