"""Provider states set up from the recording: `verify --states-from-recording`.

The verifier asks for each state of an interaction in turn (outermost first) and then sends the
interaction's request. For each state this sends the recorded requests that made it (its setup in the
states file) to the provider, so a provider started empty verifies with no state code written by hand.

Values the provider generates (ids, ETags, cursors) differ on every run. Each step says where its
response carried such values (`capture`); the fresh provider's value found there replaces the recorded
one in every later step and in the state's params, which the verifier puts into the interaction's
request through its ProviderState generators:

    step 4: POST /records -> {"data": {"id": "9f2c..."}}   fresh provider: {"data": {"id": "17ab..."}}
    state "record exists" {record: "9f2c..."}  answers   {"record": "17ab..."}
    GET /records/${record}                      is sent   GET /records/17ab...

Between interactions the provider is emptied: by the reset request the recording holds (a suite's
flush, rule `provider-reset`), by `--reset-url`, or else by deleting what the setups created.
"""

from __future__ import annotations

import base64
import http.client
import itertools
import json
import os
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from recorder.capture.kept_bodies import bodies_dir
from recorder.infer.variety import looks_random
from recorder.pact.source import states_file
from recorder.secrets.fill import Secrets, fill_step, issued_credentials
from recorder.secrets.redact import PLACEHOLDER
from recorder.states.handed_out import words
from recorder.states.memory import CREATE
from recorder.states.provider_states import (
    CHANGED_STATE,
    CHOSEN_STATE,
    FOUND_STATES,
    MADE_STATE,
    SENT_STATE,
    VALUES_STATE,
)
from recorder.values import READ, body_operation, clock_now, leaves, refused_in_body, value_at, xml_rebound
from recorder.words import NAMING_KEY

TIMEOUT = 30
# States whose setups replay writes found by value: one refused again (what an earlier interaction made and
# nothing here can delete, a collection another state of the interaction made) may have done its work.
BEST_EFFORT = (SENT_STATE, MADE_STATE, CHANGED_STATE)
REFUSED_AS_TAKEN = (400, 409, 422)  # what a create of a name that is taken is answered
RENAME_TRIES = 6  # names of a refused create tried fresh one at a time (then all of them at once)
MAX_REDIRECTS = 5
UNAVAILABLE_WAITS = (0.2, 0.5, 1.0)  # seconds before each new try of a request answered 503 (at most)
# A DELETE refused for the resource's state: a lease, a lock, a condition, or forbidden while it is in use
# (an enabled domain must be disabled first: the consumer's own later write does it).
HELD = frozenset({403, 409, 412, 423})
MAX_UNLOCKING = 5  # the consumer's later writes of a resource an undo sends to free it (at most)


@dataclass
class RecordedStates:
    """A states file as written by the recorder: states by (name, params), numbered steps, reset."""

    states: dict[tuple[str, str], dict]
    steps: dict[int, dict]
    reset: int | None
    bodies: Path | None = None  # where the request bodies over --max-body were kept (capture.kept_bodies)

    @classmethod
    def load(cls, path: Path) -> RecordedStates:
        """A states file given by name, its kept bodies beside it."""
        return cls.from_doc(states_file(path), bodies_dir(path))

    @classmethod
    def from_doc(cls, doc: dict, bodies: Path | None = None) -> RecordedStates:
        steps = {int(n): s for n, s in (doc.get("steps") or {}).items()}
        states = {(s["name"], _canonical(s.get("params") or {})): s for s in doc.get("states", [])}
        return cls(states, steps, doc.get("reset"), bodies)

    @cached_property
    def in_order(self) -> list[dict]:
        """The steps in the order they were recorded (by number)."""
        return [step for _, step in sorted(self.steps.items())]

    def kept_body(self, step: dict) -> Path | None:
        """The file of a step's body kept beside the states file; None when it is not there."""
        kept = self.bodies / step["body_sha256"] if self.bodies else None
        return kept if kept and kept.is_file() else None

    def find(self, name: str, params: dict) -> dict | None:
        if (found := self.states.get((name, _canonical(params)))) is not None:
            return found
        same = [s for (n, _), s in self.states.items() if n == name]
        return same[0] if len(same) == 1 else None


# A protocol's own word, not a name: three or more dotted lower-case words (`m.login.password`), or an
# upper-case constant of two or more words (`ACTIVE_ONLY`, `EXPECTED_START_TIME_DESC`).
_PROTOCOL_WORD = re.compile(r"^(?:[a-z][a-z_]*(?:\.[a-z][a-z_]*){2,}|[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)$")


def _chosen_name(value: str) -> bool:
    """A name a consumer would choose (a key, a bucket, a file): a word with letters, no path, nothing
    random-looking (an id, a digest: content-addressed names cannot change), no namespaced protocol word."""
    plain = 2 <= len(value) <= 100 and any(c.isalpha() for c in value) and not set(value) & set("/ :")
    return plain and not looks_random(value) and not _PROTOCOL_WORD.match(value) and PLACEHOLDER not in value


def words_and_names(requests: Iterable[dict]) -> tuple[set[str], set[str]]:
    """Among recorded requests (setup steps, or the pact's requests written as steps are): (the protocol's own
    words, the names requests use elsewhere). Names used elsewhere: in a path or a query, or under more than
    one field (an account's name a login sends again as `user`, a model's name a read asks for by `?name=`).
    The protocol's own words: strings that two or more distinct successful POSTs sent under the same field
    (`"kind": "Native"` of two zones, `"preset": "public_chat"` of two rooms), and that no request uses elsewhere."""
    requests = list(requests)
    bodies = [(st["path"], _fields_sent(st)) for st in requests]
    distinct = {
        (st["path"], tuple(sorted(fields)))  # (a pact's JSON keys are sorted)
        for st, (_, fields) in zip(requests, bodies, strict=True)
        if acts_as(st) == "POST" and 200 <= st.get("status", 0) < 300 and not st.get("like")
    }
    sent = Counter(pair for _, fields in distinct for pair in set(fields))
    fields_of: dict[str, set[str]] = {}
    for _, fields in bodies:
        for name, value in fields:
            fields_of.setdefault(value, set()).add(name)
    named = {v for v, fields in fields_of.items() if len(fields) > 1}
    for st in requests:
        named |= {unquote(p) for p in _WORDS.split(st["path"]) if p} | {str(v) for _, v in st.get("query", [])}
    return {value for (_, value), n in sent.items() if n >= 2} - named, named


_WORDS = re.compile(r"[/@:#!]+")  # what separates the names in a path (`/rooms/!id:host`, `/@alice:host`)


def acts_as(step: dict) -> str:
    """The method a recorded request means: the one a POST tunnelled (`as`), else the one it was sent with."""
    return step.get("as") or step["method"]


def _fields_sent(step: dict) -> list[tuple[str, str]]:
    """The (field name, string) pairs a step sent in its JSON or form body."""
    if "json" in step:
        return [(str(at[-1]) if at else "", v) for at, v in leaves(step["json"]) if isinstance(v, str)]
    if "text" in step and _form(dict(step.get("headers", []))):
        return parse_qsl(step["text"], keep_blank_values=True)
    return []


def _retry_after(response: Response) -> float:
    """The seconds a 503's Retry-After asks for (a number; anything else: no wait of its own)."""
    value = next((v for k, v in response.headers if k.lower() == "retry-after"), "")
    return float(value) if value.strip().isdigit() else float("inf")


def _form(headers: dict[str, str]) -> bool:
    return any(k.lower() == "content-type" and "x-www-form-urlencoded" in v.lower() for k, v in headers.items())


def _canonical(params: dict) -> str:
    return json.dumps(params, sort_keys=True, default=str)


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def value_at(self, at: list) -> str | None:
        """The value at a place in this answer (recorder.values.value_at)."""
        return value_at(at, self.headers, self.json(), self.body)

    @property
    def went_through(self) -> bool:
        """2xx, and no refusal in its body (RPC-style APIs answer one 200 with `{"error": ...}`)."""
        return 200 <= self.status < 300 and not refused_in_body(self.json())


@dataclass
class StateCalls:
    """The verifier's state-change calls, grouped per interaction (its setups, then its teardowns),
    with what went wrong with each state: it reports the interactions with states in the same order."""

    groups: list[tuple[list[str], dict[str, str]]] = field(default_factory=list)
    _dirty: bool = False

    def track(self, state: str, action: str) -> bool:
        """Note one call; True when it is the first setup of another interaction."""
        if action == "teardown":
            self._dirty = True
            return False
        new = self._dirty or not self.groups
        if new:
            self.groups.append(([], {}))
            self._dirty = False
        if state:
            self.groups[-1][0].append(state)
        return new

    def failed(self, state: str, problem: str) -> None:
        if not self.groups:
            self.groups.append(([state], {}))
        self.groups[-1][1].setdefault(state, problem)


@dataclass
class Setup:
    """Runs setups against the provider and remembers what the fresh provider handed out."""

    recorded: RecordedStates
    provider_url: str
    secrets: Secrets = field(default_factory=Secrets)
    reset_url: str | None = None
    accounts: dict[str, list[dict]] = field(default_factory=dict)  # user -> the secret entries of its credentials
    restart: Callable[[], None] | None = None  # --reset-command: start the provider afresh
    bindings: dict[str, str] = field(default_factory=dict)  # recorded value -> the fresh provider's
    # (recorded value, what it is of) -> the fresh provider's: a user's id 2 and a post's id 2 apart, for the
    # params whose names say what they are of (`postId`)
    kinds: dict[tuple[str, str], str] = field(default_factory=dict)
    current: dict[str, str] = field(default_factory=dict)  # this interaction's state params: recorded -> fresh
    _changing: bool = False  # in a state change (what is sent now is a setup's)
    issued: dict[str, str] = field(default_factory=dict)  # secret name -> what the fresh provider handed out
    calls: StateCalls = field(default_factory=StateCalls)
    _ran: set[int] = field(default_factory=set)
    # Steps that went through in this verification, by what their path makes, while nothing removed it:
    # one refused again (a table that already exists: nothing here can delete it) made its state already.
    _made: dict[int, str] = field(default_factory=dict)
    _made_values: dict[int, dict[str, str]] = field(default_factory=dict)  # what each of those handed out then
    _undo_ids: dict[int, str] = field(default_factory=dict)  # step -> the id its `undo` sends (what it made)
    problems: dict[tuple, str] = field(default_factory=dict)  # resets and undos that failed, said once each
    rebuilt: list[dict] = field(default_factory=list)  # entries of user:token credentials around issued tokens
    _touched: set[str] = field(default_factory=set)  # recorded paths made or asked absent since the last undo
    # A name the consumer chose for what it created and the undo could not delete (`leftovers`) is fresh
    # in a later interaction where it collides, or in each one whose states name it with --fresh-names
    # (`renamed`: recorded -> fresh), given to the verifier as a state param like any generated value.
    fresh_names: bool = False
    # How the consumer deleted what it made (path -> query and headers of a DELETE it sent that succeeded): an
    # undo deletes the same way (a container deleted with `?restype=container`, a blob with its snapshots).
    deletes: dict[str, tuple[list, list]] = field(default_factory=dict)
    # ...and where it deleted by a POST that tunnels DELETE (path -> that request without its credentials): an undo
    # is sent the same way, with the credentials of what made the thing, in its body as in its headers.
    tunnels: dict[str, dict] = field(default_factory=dict)
    leftovers: set[str] = field(default_factory=set)
    took: dict[str, int] = field(default_factory=dict)  # a leftover a setup's POST took -> that step's number
    renamed: dict[str, str] = field(default_factory=dict)
    shared: set[str] = field(default_factory=set)  # the protocol's own words, never renamed (see words_and_names)
    named: set[str] = field(default_factory=set)  # values requests use as names elsewhere (see words_and_names)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def change(self, state: str, params: dict, action: str) -> dict:
        """One call of the verifier's state-change protocol; returns the values for the generators."""
        with self.lock:
            first = not self.calls.groups
            self._changing = True
            try:
                if self.calls.track(state, action):
                    self._next_interaction(first)
                return self._setup(state, params) if state and action != "teardown" else {}
            except (OSError, http.client.HTTPException) as e:
                self.calls.failed(state, f"the provider could not be reached for its setup: {e}")
                return {}
            finally:
                self._changing = False

    def rebound(self, body: bytes) -> bytes:
        """A request body the verifier sends (not a setup's), where no generator reaches: an XML body's ids that
        are this interaction's state params as recorded, as the fresh provider has them (`xml_rebound`)."""
        if self._changing or not self.current or body.lstrip()[:1] != b"<":
            return body
        try:
            return xml_rebound(body.decode("utf-8"), self.current).encode("utf-8")
        except UnicodeDecodeError:
            return body

    def finish(self) -> None:
        """After the last interaction, delete what it and its setups made, as between interactions, where
        nothing else empties the provider: a verification leaves the provider as it found it."""
        with self.lock:
            if self.calls.groups and not self._resets:
                self._undo()

    def _next_interaction(self, first: bool) -> None:
        if not first:  # the provider starts empty
            if self._resets or self.fresh_names:
                self._made.clear()
            if self.restart is not None:
                self.restart()
            elif self.reset_url:
                self._said("the reset", "POST", self.reset_url, self._send_url("POST", self.reset_url))
            elif self.recorded.reset is not None:
                step = self.recorded.steps[self.recorded.reset]
                self._said("the recorded reset", step["method"], step["path"], self._send(step))
            else:
                self._undo()
        self.bindings.clear()
        self.kinds.clear()
        self.current.clear()
        self.renamed.clear()
        self.issued.clear()
        self._ran.clear()

    @property
    def _resets(self) -> bool:
        """Is the provider emptied between interactions (a restart, a reset request)?"""
        return self.restart is not None or bool(self.reset_url) or self.recorded.reset is not None

    def _setup(self, name: str, params: dict) -> dict:
        entry = self.recorded.find(name, params)
        if entry is None:
            self.calls.failed(name, "no such state in the states file (was the pact edited, or recorded again since?)")
            return {}
        absent = entry.get("absent")
        if name == CHOSEN_STATE:  # (where a name is taken: the names among the values a call chose)
            self._rename(
                {k: v for k, v in params.items() if (v in self.named or NAMING_KEY.search(k)) and self._taken(v)}
            )
        elif (absent or entry.get("setup")) and self.fresh_names and name not in FOUND_STATES:
            self._rename(params)
        if absent and self.recorded.reset is None and not self.reset_url:
            near = self._near(absent)
            credentials = self._credentials_near(absent)
            gone = self._delete(absent, *self._deletion(absent, credentials), near and self._filled(near))
            self._forget_made(absent)
            leftover = unquote(absent.rstrip("/").rsplit("/", 1)[-1])
            refused = not (200 <= gone.status < 300 or gone.status in (404, 410))
            if refused and self._created(absent) and (self.fresh_names or leftover in self.leftovers):
                self.leftovers.add(leftover)  # what an earlier interaction left and nothing deletes: fresh from now on
                self._rename(params)
        if absent:  # the interaction itself may make it
            self._touched.add(absent.rstrip("/"))
        problem = self._run_steps(name, entry)
        if problem and name not in FOUND_STATES and self._rename(params):
            # A name an earlier interaction left behind is taken (a creation refused): fresh, once more.
            self._ran -= set(entry.get("setup", []))
            problem = self._run_steps(name, entry)
        if problem:
            self.calls.failed(name, problem)
        now = time.time()
        clock = {param: clock_now(c["kind"], c["offset"], now) for param, c in (entry.get("clock") or {}).items()}
        rebuilt = issued_credentials(self.rebuilt, self.issued)
        given = {k: self._bound_as(k, v) for k, v in params.items()}
        self.current |= {str(v): str(given[k]) for k, v in params.items() if isinstance(v, str | int) and given[k] != v}
        return given | clock | self.issued | rebuilt

    def _run_steps(self, name: str, entry: dict) -> str | None:
        """Send the state's setup steps not sent yet for this interaction; what went wrong, if anything."""
        for number in entry.get("setup", []):
            if number in self._ran:
                continue
            self._ran.add(number)
            step = self.recorded.steps[number]
            if size := step.get("unrecorded_body_bytes"):
                return (
                    f"setup step {number} ({step['method']} {step['path']}) cannot be sent: its body ({size} bytes) "
                    "was larger than --max-body when recorded and streamed past (text is never kept that size: "
                    "it could not be redacted); record again with a larger --max-body to set this state up"
                )
            if "body_sha256" in step and self.recorded.kept_body(step) is None:
                return (
                    f"setup step {number} ({step['method']} {step['path']}) cannot be sent: its body was kept as "
                    f"{step['body_sha256']} in {self.recorded.bodies}, which is not there (copy that folder beside "
                    "the states file)"
                )
            self._touched |= {step["path"].rstrip("/"), *(step[k] for k in ("creates", "named") if step.get(k))}
            fresh = self._send(step)
            # (a copy of the step that made a sibling, for an item never seen made, needs that very name)
            like = bool(step.get("like"))
            # A name an earlier interaction took and nothing frees is made afresh under a fresh name; not what this
            # step made earlier in this verification (still there, with the values it handed out then), unless
            # this interaction renamed what it was made with (a fresh account is in no room an old one made), nor
            # what a dependency's setup (best effort) finds there unless the step hands out what later ones send
            # (a registration's token, a room's id: only a creation that goes through hands them out).
            # (an RPC-style API, GraphQL, refuses with 200 and an error in the body)
            refused = fresh.status in REFUSED_AS_TAKEN or 200 <= fresh.status < 300 and not fresh.went_through
            taken = refused and 200 <= step.get("status", 0) < 300 and not like
            if taken and number in self._made and not step.get("issues") and not self.renamed:
                self.bindings |= self._made_values.get(number, {})
            elif taken and (name not in BEST_EFFORT or step.get("issues") or step.get("capture")):
                fresh = self._sent_renamed(step, fresh.status) or fresh
            if fresh.went_through:
                if (undo := step.get("undo")) and (made := self._made_as(undo["id"], fresh)) is not None:
                    self._undo_ids[number] = made  # (its own answer's: a user and a post may share a recorded id)
                self._made[number] = (step.get("creates") or step["path"]).rstrip("/")
                self._made_values[number] = {
                    str(c["value"]): self._bound(str(c["value"])) for c in step.get("capture", [])
                }
                if acts_as(step) == "POST" and not self._resets and not like:  # chosen names stay taken
                    # (what its naming fields sent: a configuration's words are no names, `"space": "l2"`)
                    names = {v for k, v in _fields_sent(step) if NAMING_KEY.search(k) and self._renameable(v)}
                    self.leftovers |= names
                    self.took |= {v: number for v in names if v not in self.took}
            elif like or name == VALUES_STATE and acts_as(step) in READ:
                pass  # the provider may hold it already (data no recorded request made); a read's values stay
            elif 200 <= step.get("status", 200) < 300 and number not in self._made and name not in BEST_EFFORT:
                refused = " with a refusal in its body" if 200 <= fresh.status < 300 else ""
                return (
                    f"setup step {number} ({step['method']} {step['path']}) answered {fresh.status}{refused}, "
                    f"recorded {step.get('status')}: {fresh.body[:200].decode('utf-8', 'replace')}"
                )  # the steps after it build on it
        return None

    # -- sending a step with the fresh provider's values --------------------------------------------

    def _send(self, step: dict) -> Response:
        step = fill_step(step, self.secrets, self.issued)
        path = self._bound_path(step["path"])
        query = [(k, str(self._bound_as(k, v))) for k, v in step.get("query", [])]
        target = path + ("?" + urlencode(query) if query else "")
        headers = {k: self._bound_text(v) for k, v in step.get("headers", [])}
        body = b""
        if "json" in step:
            body = json.dumps(self._bound_json(step["json"])).encode()
        elif "text" in step and _form(headers):
            body = self._bound_form(step["text"]).encode()
        elif "text" in step:
            body = self._bound_text(xml_rebound(step["text"], self.bindings)).encode()
        elif "base64" in step:
            body = base64.b64decode(step["base64"])
        elif "body_sha256" in step:
            body = kept.read_bytes() if (kept := self.recorded.kept_body(step)) else b""
        fresh = self._request(step["method"], target, headers, body)
        self._learn(step, fresh)
        for issue in step.get("issues", []):
            if issue["at"][0] in ("body", "text") and not 200 <= fresh.status < 300:
                continue  # (an error page is no token; a cookie a redirect sets is)
            if (value := fresh.value_at(issue["at"])) is not None:
                self.issued[issue["secret"]] = value
        return fresh

    def _undo(self) -> None:
        """Nothing empties the provider: delete every resource the recording created (setups and
        interactions may both have made them), innermost first, each with the credentials that made
        it; resources made without credentials (accounts) last, since the others need them. What an operation
        made (named inside the request, or a function the path names: no path names what it made) is deleted
        first, newest first, as the consumer deleted such a thing (the step's `undo`)."""
        for number in sorted(self._undo_ids, reverse=True):
            undo, bindings, kinds = self.recorded.steps[number]["undo"], self.bindings, self.kinds
            recorded = str(undo["id"]["value"])  # (this step's id, whatever other things had the same one)
            self.bindings = bindings | {recorded: self._undo_ids.pop(number)}
            self.kinds = {k: v for k, v in kinds.items() if k[0] != recorded}
            try:
                gone = self._send(undo)
            finally:
                self.bindings, self.kinds = bindings, kinds
            if gone.went_through:
                self._made.pop(number, None)
            else:
                self._said("the undo", undo["method"], undo["path"], gone)
        made: dict[str, dict] = {}
        for step in self.recorded.in_order:
            path = step["path"].rstrip("/")
            filled = fill_step(step, self.secrets, self.issued)
            signed = any(h[0].lower() == "authorization" for h in filled["headers"])
            if acts_as(step) in CREATE and 200 <= step.get("status", 0) < 300:
                made.setdefault(path, filled)
            for item in (step.get("creates"), step.get("named")):  # a POST that made an item (by id, by name)
                if item:
                    made.setdefault(item, filled | {"path": item})
            if path in made and signed:
                made[path] = filled  # deleting takes credentials even where creating did not (accounts)
        # Only what this provider may hold since the last undo: the setups run and what the interactions
        # asked absent (and so could make). Deleting all the recording made, each time, grows with
        # interactions x resources (CouchDB's suite: 94,498 DELETEs answered 404 in one verify).
        made = {p: step for p, step in made.items() if p in self._touched}
        self._touched.clear()
        accounts = {p for p in made if p.rsplit("/", 1)[-1] in self.accounts}
        order = sorted(made, key=lambda p: (p in accounts, -p.count("/"), p))
        for path in order:
            headers = {k: self._bound_text(v) for k, v in made[path]["headers"] if k.lower() != "content-type"}
            target, headers = self._deletion(made[path]["path"], headers)
            gone = self._delete(path, target, headers, made[path])
            if gone.status == 405 and (outer := self._deleted_around(path)) is not None:
                # Not deletable by itself (a file of an upload): what holds it is, as the consumer deleted it.
                gone = self._delete(outer, *self._deletion(outer, headers), made[path])
            if gone.status in (401, 403) and path in accounts and (own := self._own_credentials(path)):
                # Whoever made an account may not delete it (made without credentials): the account may.
                gone = self._request("DELETE", target, headers | own, b"")
            if 200 <= gone.status < 300 or gone.status in (404, 410):
                self._forget_made(path)  # (one still there, a container that holds what no setup made, stays made)
            else:
                self._said("the undo", "DELETE", made[path]["path"], gone)
                if made[path].get("status") == 201:  # (a toggle a PUT answered 200 is no name taken)
                    self.leftovers.add(unquote(path.rsplit("/", 1)[-1]))

    def _delete(self, path: str, target: str, headers: dict[str, str], maker: dict | None = None) -> Response:
        """DELETE `target` (as the consumer deleted, see _deleting: `maker` is the filled step that made it, whose
        body's credentials a tunnelled delete sends); refused for the resource's state (a lease or a lock an
        interaction took), once more after each of the consumer's own later writes of it in recorded order (the
        release it sent), until one goes through."""
        gone = self._deleting(path, target, headers, maker)
        later = (
            step
            for step in self.recorded.in_order
            if step["path"].rstrip("/") == path.rstrip("/")
            and acts_as(step) not in READ | {"DELETE"}
            and step.get("status") != 201  # (not what made it, or made a lock)
        )
        for step in itertools.islice(later, MAX_UNLOCKING) if gone.status in HELD else ():
            self._send(step)
            gone = self._deleting(path, target, headers, maker)
            if gone.status not in HELD:
                break
        return gone

    def _deleting(self, path: str, target: str, headers: dict[str, str], maker: dict | None) -> Response:
        """One DELETE of `target`, or the POST that tunnels it where the consumer deleted that way: its headers and
        body as recorded, the credentials those of `maker` (redacted body fields it sent, filled)."""
        if (way := self._tunnel(path)) is None:
            return self._request("DELETE", target, headers, b"")
        target = target.partition("?")[0] + (f"?{urlencode(way['query'])}" if way.get("query") else "")
        sent = {k: self._bound_text(v) for k, v in way["headers"] if k.lower() not in {h.lower() for h in headers}}
        body = b""
        if isinstance(way.get("json"), dict):
            own = _body_credentials(maker) if maker is not None else {}
            body = json.dumps(self._bound_json(way["json"] | own)).encode()
        elif "text" in way:
            body = self._bound_text(way["text"]).encode()
        return self._request(way["method"], target, headers | sent, body)

    def _tunnel(self, path: str) -> dict | None:
        """How the consumer deleted `path` by a tunnelled POST: that very request, else (an API that deletes only
        that way) the one of the nearest path (a sibling: the same collection); None for a plain DELETE."""
        path = path.rstrip("/")
        if path in self.tunnels or not self.tunnels or path in self.deletes:
            return self.tunnels.get(path)
        if self.deletes:
            return None
        near = max(self.tunnels, key=lambda p: (len(os.path.commonpath([p, path])), p))
        return self.tunnels[near]

    def _deleted_around(self, path: str) -> str | None:
        """The innermost resource holding `path` that the consumer deleted in the recording."""
        holders = [p for p in self.deletes if path.startswith(p.rstrip("/") + "/")]
        return max(holders, key=len, default=None)

    def _deletion(self, path: str, headers: dict[str, str]) -> tuple[str, dict[str, str]]:
        """The target and headers of a DELETE of `path` with `headers` (its credentials), as the consumer deleted
        it (its query, and the headers it sent that `headers` has not)."""
        query, sent = self.deletes.get(path.rstrip("/"), ([], []))
        target = self._bound_path(path) + (f"?{urlencode(query)}" if query else "")
        have = {k.lower() for k in headers}
        return target, {k: self._bound_text(v) for k, v in sent if k.lower() not in have} | headers

    def _own_credentials(self, path: str) -> dict[str, str]:
        """The credentials of the account at `path`, which deleting it may take: its Basic password, or a
        token its login handed out, logging in again when no setup of this interaction did."""
        for entry in self.accounts.get(path.rsplit("/", 1)[-1], []):
            if entry.get("issued") and entry["secret"] not in self.issued:
                for step in self.recorded.in_order:
                    if any(i["secret"] == entry["secret"] for i in step.get("issues", [])):
                        self._send(step)
                        break
            if (value := self.secrets.value(entry, issued=self.issued)) is not None:
                return {entry["key"]: value}
        return {}

    def _credentials_near(self, path: str) -> dict[str, str]:
        """The credential headers of the last recorded step on `path` or on a container of it, filled: the
        DELETE that clears the way for an interaction needs them as much as the interaction (a signed store)."""
        if (near := self._near(path)) is None:
            return {}
        names = {str(e["key"]).lower() for e in near.get("secrets", []) if e.get("in") == "header"}
        filled = fill_step(near, self.secrets, self.issued)
        return {k: self._bound_text(v) for k, v in filled["headers"] if k.lower() in names}

    def _near(self, path: str) -> dict | None:
        """The last recorded step on `path` or on the nearest container of it."""
        path, near, length = path.rstrip("/"), None, -1
        for step in self.recorded.in_order:
            at = step["path"].rstrip("/")
            if (path == at or path.startswith(at + "/")) and len(at) >= length:
                near, length = step, len(at)
        return near

    def _filled(self, step: dict) -> dict:
        return fill_step(step, self.secrets, self.issued)

    def _rename(self, params: dict) -> bool:
        """Fresh names, for this interaction, for the leftovers among a state's params that the consumer
        chose (`_renameable`). True when it named one afresh."""
        fresh = [v for v in params.values() if isinstance(v, str) and v in self.leftovers and self._renameable(v)]
        self.renamed |= {v: self._fresh(v) for v in fresh}
        return bool(fresh)

    def _taken(self, value: str) -> bool:
        """Is a name a setup's POST took still taken? A call that handed out credentials (a registration, or
        a login of an account the provider starts with) is sent once more: a login goes through again (its
        account's name is no name to make afresh), a registration of a taken name is refused."""
        number = self.took.get(value)
        if number is None or not self.recorded.steps[number].get("issues"):
            return True
        if 200 <= self._send(self.recorded.steps[number]).status < 300:
            self.leftovers.discard(value)
            return False
        return True

    def _renameable(self, value: str) -> bool:
        """A name the consumer chose, not renamed yet: not a number, an id or a digest, not a value the provider
        handed out (the setup fetches those fresh anyway), not an account (its credentials name it)."""
        return (
            value not in self.renamed
            and _chosen_name(value)
            and value not in self.handed_out
            and value not in self.users
            and value not in self.shared
        )

    def _fresh(self, name: str) -> str:
        """The name with this interaction's number in its first part: before the first dot (a file's extension,
        a domain's other labels: `notes.txt` -> `notes-7.txt`, `test.org.` -> `test-7.org.`)."""
        stem, dot, rest = name.partition(".")
        suffix = f"-{len(self.calls.groups)}"
        return f"{stem}{suffix}{dot}{rest}" if stem else name + suffix

    def _sent_renamed(self, step: dict, refused: int) -> Response | None:
        """A POST refused as if a name it chose in its body were taken, sent again with fresh names for this
        interaction (as `_rename` gives a state's params): each name alone first, what naming fields sent before
        the rest, since the others may be the protocol's own words (`"preset": "public_chat"`), then all of them
        but those refused otherwise when renamed alone (an enum's value); the first answer that is a success,
        else None (the refusal as it came stands)."""
        fields = _fields_sent(step) if acts_as(step) == "POST" else []
        # (what a naming field sent first: a configuration's words may come before the name in the body)
        names = list(dict.fromkeys(v for _, v in sorted(fields, key=lambda f: not NAMING_KEY.search(f[0]))))
        names = [v for v in names if self._renameable(v)]
        for v in names[:RENAME_TRIES]:
            self.renamed[v] = self._fresh(v)
            answer = self._send(step)
            if answer.went_through:
                return answer
            del self.renamed[v]
            if answer.status != refused:  # refused otherwise: no name of its choosing (an enum's value)
                names.remove(v)
        if len(names) > 1:
            self.renamed |= {v: self._fresh(v) for v in names}
            if (answer := self._send(step)).went_through:
                return answer
            for v in names:
                del self.renamed[v]
        return None

    def _created(self, path: str) -> bool:
        """Did the recording create `path` (a write answered 201 Created)?"""
        return any(
            st["path"].rstrip("/") == path.rstrip("/") and st.get("status") == 201
            for st in self.recorded.steps.values()
        )

    @cached_property
    def users(self) -> set[str]:
        """The accounts the recording's credentials name."""
        entries = [e for step in self.recorded.steps.values() for e in step.get("secrets", [])]
        return {str(e["user"]) for e in entries if "user" in e} | set(self.accounts)

    @cached_property
    def handed_out(self) -> set[str]:
        """Every value a setup step captures: the provider generated it."""
        return {str(c["value"]) for step in self.recorded.steps.values() for c in step.get("capture", [])}

    def _forget_made(self, path: str) -> None:
        gone = path.rstrip("/")
        self._made = {n: p for n, p in self._made.items() if p != gone and not p.startswith(gone + "/")}

    def _said(self, what: str, method: str, target: str, answer: Response) -> None:
        """Remember a reset or an undo the provider refused (once per request and status): every
        interaction after it starts from what the ones before left."""
        if not 200 <= answer.status < 300 and len(self.problems) < 50:
            text = " ".join(answer.body[:200].decode("utf-8", "replace").split())
            self.problems.setdefault(
                (what, method, target, answer.status),
                f"{what} {method} {target} answered {answer.status}: {text} (the interactions after it start "
                "from what the ones before left; --reset-url or --reset-command can empty the provider, and "
                "--fresh-names gives each interaction fresh names for what it makes)",
            )

    def _learn(self, step: dict, fresh: Response) -> None:
        for capture in step.get("capture", []):
            value = fresh.value_at(capture["at"])
            recorded = str(capture["value"])
            if value is not None and value != recorded:
                self.bindings[recorded] = value
            if value is not None:
                # what it is of: the keys it was under (`user_id`), else what the step made (`createPost`); the
                # first step that handed it out in this interaction made it (a later listing may name an older
                # thing of the same title)
                keys = " ".join(k for k in capture["at"][1:] if isinstance(k, str))
                of = words(keys) or words(f"{step['path']} {body_operation(step.get('json'))}")
                self.kinds = {(recorded, word): value for word in of} | self.kinds

    def _made_as(self, made: dict, fresh: Response) -> str | None:
        """What a step made, as its `undo` names it: the id its answer handed out, or the name it sent (as sent
        now: fresh where this interaction renamed it)."""
        if made["at"][0] == "sent":
            return str(self._bound(made["value"]))
        return fresh.value_at(made["at"])

    def _bound_as(self, param: str, value: Any) -> Any:
        """A state's param as the fresh provider has it: of what the param's name says it is of, where the
        recording handed out that value for several things."""
        fresh = next((self.kinds[k] for w in sorted(words(param)) if (k := (str(value), w)) in self.kinds), None)
        if fresh is None:
            return self._bound(value)
        return int(fresh) if isinstance(value, int) and fresh.lstrip("-").isdigit() else fresh

    def _bound(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self._bound(v) for v in value]
        fresh = self.bindings.get(str(value), self.renamed.get(value) if isinstance(value, str) else None)
        if fresh is None and isinstance(value, str):  # a URI built around a long id (`.../RUN_ID/artifacts`)
            for recorded, bound in self.bindings.items():
                if len(recorded) >= 16 and recorded in value:
                    value = value.replace(recorded, bound)
            return value
        if fresh is None:
            return value
        return int(fresh) if isinstance(value, int) and fresh.lstrip("-").isdigit() else fresh

    def _bound_path(self, path: str) -> str:
        return "/".join(
            quote(fresh, safe="") if (fresh := self._bound(unquote(s))) != unquote(s) else s for s in path.split("/")
        )

    def _bound_text(self, text: str) -> str:
        for recorded, fresh in self.bindings.items():
            if len(recorded) >= 4 and recorded in text:
                text = text.replace(recorded, fresh)
        for recorded, fresh in self.renamed.items():  # a name as a whole word only (not in user10, a .v1+json)
            text = re.sub(rf"(?<![\w.+-]){re.escape(recorded)}(?![\w.+-])", lambda _, f=fresh: f, text)
        return text

    def _bound_form(self, text: str) -> str:
        """A form body with fresh values in its fields (short ones too: `prevIndex=12`), as sent when none is."""
        fields = parse_qsl(text, keep_blank_values=True)
        bound = [(k, str(self._bound(v))) for k, v in fields]
        return urlencode(bound) if bound != fields else self._bound_text(text)

    def _bound_json(self, value: Any, key: str = "") -> Any:
        """A JSON body with the fresh provider's values, each of what its key says it is of (`post_id`)."""
        if isinstance(value, dict):
            return {k: self._bound_json(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [self._bound_json(v, key) for v in value]
        if isinstance(value, bool) or value is None:
            return value
        return self._bound_as(key, value)

    # -- HTTP -------------------------------------------------------------------------------------------

    def _send_url(self, method: str, url: str) -> Response:
        parts = urlsplit(url)
        return self._request(method, parts.path + (f"?{parts.query}" if parts.query else ""), {}, b"", url)

    def _request(self, method: str, target: str, headers: dict[str, str], body: bytes, url: str = "") -> Response:
        """Send one request, following redirects as the consumer's client did (the recording holds the
        path the consumer asked for): 307/308 keep the method and body, 301/302/303 turn a write into a GET."""
        parts = urlsplit(url or self.provider_url)
        base = "" if url else parts.path.rstrip("/")
        target = base + target
        for _ in range(MAX_REDIRECTS + 1):
            response = self._once(parts, method, target, headers, body)
            for wait in UNAVAILABLE_WAITS if response.status == 503 else ():  # busy for now: as clients do, again
                time.sleep(min(_retry_after(response), wait))
                if (response := self._once(parts, method, target, headers, body)).status != 503:
                    break
            location = dict((k.lower(), v) for k, v in response.headers).get("location")
            if response.status not in (301, 302, 303, 307, 308) or not location:
                return response
            moved = urlsplit(location)
            target = (moved.path or "/") + (f"?{moved.query}" if moved.query else "")
            if response.status in (301, 302, 303) and method not in ("GET", "HEAD"):
                method, body = "GET", b""
        return response

    @staticmethod
    def _once(parts, method: str, target: str, headers: dict[str, str], body: bytes) -> Response:
        conn_type = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        conn = conn_type(parts.hostname, parts.port, timeout=TIMEOUT)
        try:
            conn.request(method, target, body=body or None, headers=headers)
            resp = conn.getresponse()
            return Response(resp.status, resp.getheaders(), resp.read())
        finally:
            conn.close()


def redacted_body_keys(step: dict) -> set[str]:
    """The top-level JSON body fields of a recorded request that the recording redacted: its credentials as data
    (an app's key, a session token)."""
    return {e["key"][0] for e in step.get("secrets", []) if e.get("in") == "body" and len(e.get("key") or ()) == 1}


def _body_credentials(step: dict) -> dict[str, Any]:
    """A (filled) step's credentials sent as top-level JSON body fields, with their values."""
    body = step.get("json")
    return {k: body[k] for k in redacted_body_keys(step) if k in body} if isinstance(body, dict) else {}
