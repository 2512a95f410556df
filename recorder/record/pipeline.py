"""The one pipeline behind every front door (live addon, `record`, `infer`).

    exchange -> redact -> endpoint -> observation  ...  interactions -> pact + hints -> files

`Recording.add` is cheap and called once per exchange; `Recording.write` builds and writes the
files and can be called as often as needed (on shutdown, on a command, periodically).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path

from recorder.capture.redirects import Redirects
from recorder.capture.selection import is_reset, skip_reason
from recorder.files import beside, pact_file, write_atomic
from recorder.infer.collapse import collapse, operations_as_data
from recorder.infer.observation import Context, Observation, form_fields, key_part, observation, pooled_responses
from recorder.infer.operations import with_method_meant
from recorder.infer.render import Interaction, interaction
from recorder.model import Exchange, InteractionKey
from recorder.pact import selfcheck
from recorder.pact.core_parser import check, offending_interactions
from recorder.pact.diff import diff
from recorder.pact.diff import render as render_diff
from recorder.pact.document import (
    EVIDENCE,
    REACHED_AT,
    SPECS,
    STATES,
    dumps,
    evidence_by_description,
    meta,
    pact_document,
    reached_at,
    states_document,
    states_hints,
)
from recorder.rules import Ruleset, defaults
from recorder.secrets.redact import Redactor
from recorder.states.timeline import Timeline
from recorder.urls import urls_on
from recorder.values import READ, norm


@dataclass(frozen=True)
class Settings:
    consumer: str
    provider: str
    out_dir: Path
    spec: str = "v4"
    rules: Ruleset = field(default_factory=defaults)
    merge: bool = False  # keep what the existing pact has that this recording did not see (and hand-written ones)
    pending: bool = False  # mark newly inferred interactions pending (V4)
    self_check: bool = True  # verify the pact against its own recorded responses before writing it
    sample: bool = True  # once a read's response shape has settled, read only some bodies (recorder.infer.sampling)

    def __post_init__(self) -> None:
        if self.spec not in SPECS:
            raise ValueError(f"spec: expected one of {', '.join(SPECS)}, got {self.spec!r}")
        for role, name in (("consumer", self.consumer), ("provider", self.provider)):
            if not name or any(c in name for c in "/\\\0"):
                raise ValueError(f"{role} {name!r}: must be a non-empty name without '/' (it is used in the file name)")

    @property
    def pact_path(self) -> Path:
        return pact_file(self.out_dir, self.consumer, self.provider)

    @property
    def hints_path(self) -> Path:
        return beside(self.pact_path, "states")

    @property
    def evidence_path(self) -> Path:
        """V3 pacts have no comments; their evidence goes here."""
        return beside(self.pact_path, "evidence")


MAX_TESTS = 20  # tests remembered per interaction, as evidence


class Recording:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.context = Context(settings.rules)
        self.observations: dict[InteractionKey, Observation] = {}
        self.timeline = Timeline()
        self.redirects = Redirects()
        self.redactor = Redactor(settings.rules, self.context.headers.secret)
        self.seen = 0
        self.skipped: Counter[str] = Counter()
        self.changes = None  # with --merge/--pending: what this write changed in the existing pact
        self.ambiguous: list[list[str]] = []  # interactions the recording cannot tell apart
        self.loosened = 0  # interactions the self-check had to loosen (see selfcheck)
        self.self_checked: set[str] = set()  # checks that passed in an earlier write
        self.held: int | None = None  # interactions the pact written last holds (siblings collapsed, merged)
        self.reached: set[str] = set()  # the provider's address as the consumer reached it, where requests name it

    def add(self, exchange: Exchange, source: str | None = None, keep: bool = False) -> Exchange | None:
        """Record one exchange (`source`: the test that made it, kept as evidence); returns it as kept
        (redacted), or None when the rules skip it. `keep`: the caller keeps the exchange (--save-flows),
        so its response body is read, whatever recorder.infer.sampling says."""
        sent, exchange = exchange, self.redirects.original(exchange)
        if (rule := is_reset(self.settings.rules, exchange)) is not None:
            # A request that empties the provider (a suite's flush) is no contract: it is how a
            # verification can start each interaction from nothing.
            self.timeline.forget_all(self.timeline.apply(self.redactor.exchange(exchange)))
            self.skip(f"a reset of the provider (select rule {rule!r}): kept as the states' reset")
            return None
        if (reason := skip_reason(self.settings.rules, self.context.operations.named_in(exchange))) is not None:
            self.redirects.remember(exchange, sent)
            self.skip(reason)
            return None
        self.seen += 1
        exchange = self.redactor.request(exchange)
        exchange = self.context.operations.annotate(exchange)  # (after redaction: what it names may be written)
        exchange = with_method_meant(exchange, self.settings.rules.method_override)
        host = exchange.request_header("host")
        if host is not None and host not in self.reached and _names_own_url(exchange, host):
            self.reached.add(host)
        obs, values = observation(self.context, self.observations, exchange)
        read = keep or not self._may_leave_unread(exchange) or obs.reads_response(exchange)
        exchange = self.redactor.response(exchange, body=read)
        obs.add(exchange, read)
        if source is not None and len(obs.tests) < MAX_TESTS:
            obs.tests.add(source)
        if obs.new_kind is not None:  # a possible example: what it needed, as the recording stood then
            params = frozenset(i for i, s in enumerate(obs.endpoint.segments) if s.is_param)
            obs.new_kind.pre = self.timeline.before(exchange, params)
        if read:
            self.timeline.apply(exchange)
            return exchange
        # An unread body was not redacted: the few values the states take from it are checked one by one,
        # and the caller gets the exchange without it.
        self.timeline.apply(exchange, redact=self.redactor.leaf)
        return replace(exchange, response_body=b"")

    def _may_leave_unread(self, exchange: Exchange) -> bool:
        """A read's response body may be left unread (recorder.infer.sampling, unless --read-every-body), unless
        the states keep what it says of a resource; a write's never: the provider states are made from it."""
        method = exchange.acts_as
        return self.settings.sample and method in READ and not self.timeline.keeps_data(norm(exchange.path))

    def skip(self, reason: str) -> None:
        """Count traffic that reached us but is not recorded, with the reason a user would want."""
        self.seen += 1
        self.skipped[reason] += 1

    def interactions(self) -> list[Interaction]:
        rules = self.settings.rules
        paths = self.context.paths
        guessed = frozenset(d.name for d, _ in paths.detectors if d.after_literal)
        observations = collapse(operations_as_data(self.observations), rules.sibling_collapse, paths.never, guessed)
        pooled = pooled_responses(list(observations.values()))
        words = self.timeline.own_words.found
        interactions = [interaction(obs, pooled.get(key), words) for key, obs in observations.items()]
        interactions.sort(key=lambda i: i.key)
        _make_descriptions_unique(interactions)
        _number_variants(interactions)
        self.ambiguous = _note_ambiguous(interactions)
        return interactions

    def write(self) -> tuple[Path, ...] | None:
        """Write the pact and the hints; None, writing nothing, when nothing was recorded (an empty
        pact would only replace a good one). The Pact core must accept the pact first: a file it
        would reject never replaces a good one (that would be our bug, reported as a RuntimeError)."""
        if not self.observations:
            return None
        s = self.settings
        interactions = self.interactions()
        if s.self_check:
            render = partial(pact_document, s.consumer, s.provider, spec=s.spec)
            self.loosened = selfcheck.check(interactions, render, self.self_checked)
        states = states_document(s.consumer, s.provider, interactions, self.timeline.reset, self.timeline.undoers)
        carried = {STATES: states} | ({EVIDENCE: evidence_by_description(interactions)} if s.spec == "v3" else {})
        document = pact_document(
            s.consumer, s.provider, interactions, s.spec, self.diagnostics(), sorted(self.reached), carried
        )
        previous = _existing(s.pact_path) if (s.merge or s.pending) else None
        if s.merge and previous is not None:
            document = merged(previous, document)
        if s.pending:
            mark_pending(document, previous)
        self.changes = diff(previous, document) if previous is not None else None
        text = dumps(document)
        self.held = len(document["interactions"])
        try:
            check(document, text)
        except ValueError as e:
            rejected = s.pact_path.with_suffix(".rejected.json")
            write_atomic(rejected, text)  # redacted like everything else: safe to attach to a bug report
            culprits = ", ".join(repr(d) for d in offending_interactions(document)) or "none alone"
            raise RuntimeError(
                f"pact-recorder bug: {s.pact_path} not written, {e}; offending interaction(s): "
                f"{culprits}. The rejected file is {rejected}: please report it."
            ) from None
        write_atomic(s.pact_path, text)
        write_atomic(s.hints_path, states_hints(states))  # the readable views of what the pact carries
        if s.spec == "v4":
            return s.pact_path, s.hints_path
        evidence = {"consumer": s.consumer, "provider": s.provider, "interactions": carried[EVIDENCE]}
        write_atomic(s.evidence_path, dumps(evidence))
        return s.pact_path, s.hints_path, s.evidence_path

    def write_and_report(self) -> str:
        """Write the files and say what happened, for the end of a run."""
        written = self.write()
        if written is not None and self.changes is not None:
            return "\n".join(
                [
                    self.summary(),
                    *(f"Wrote {p}" for p in written),
                    render_diff(self.changes, "the previous pact", "this one").rstrip(),
                ]
            )
        if written is None:
            return f"{self.summary()}\nNothing was recorded, so no pact was written: {self.likely_cause()}."
        return "\n".join([self.summary(), *(f"Wrote {p}" for p in written)])

    def likely_cause(self) -> str:
        """Why a run recorded nothing, as far as the counts tell."""
        if self.seen == 0:
            return "no traffic reached the recorder (is the consumer pointed at the listening address?)"
        if len(self.skipped) == 1:
            (reason,) = self.skipped
            if reason.startswith("no response from the provider"):
                return "the provider never answered (is --target right, and is the provider running?)"
            if reason == "excluded by select rule 'server-errors'":
                return "every response was a 5xx, which the select rule 'server-errors' excludes"
            return f"every exchange was skipped: {reason}"
        return "every exchange was skipped (see the reasons above)"

    def diagnostics(self) -> dict:
        """The run's account as data (seen, recorded, skipped by reason, redacted by where)."""
        return {
            "seen": self.seen,
            "recorded": self.seen - sum(self.skipped.values()),
            "skipped": dict(sorted(self.skipped.items())),
            "redacted": dict(sorted(self.redactor.found.items())),
            **({"ambiguous": self.ambiguous} if self.ambiguous else {}),
            **({"loosenedBySelfCheck": self.loosened} if self.loosened else {}),
        }

    def summary(self) -> str:
        recorded = self.seen - sum(self.skipped.values())
        held = self.held if self.held is not None else len(self.observations)
        lines = [f"{self.seen} exchange(s) seen, {recorded} recorded into {held} interaction(s)"]
        lines += [f"  skipped {n}: {reason}" for reason, n in sorted(self.skipped.items())]
        if found := self.redactor.found:
            where = ", ".join(f"{w} ({n})" for w, n in sorted(found.items()))
            lines.append(f"  redacted {sum(found.values())} secret value(s): {where}")
        for group in self.ambiguous:
            lines.append(f"  cannot tell apart (same request, same states, other outcomes): {'; '.join(group)}")
        if self.loosened:
            lines.append(
                f"  self-check: {self.loosened} interaction(s) failed against their own recorded responses; "
                "what failed was left out (see their notes)"
            )
        return "\n".join(lines)


def record_flow(recording: Recording, flow: object, keep: bool = False) -> Exchange | None:
    """Feed one flow to a recording; the exchange as kept (redacted), or None when it was skipped.
    `keep`: the caller keeps it (--save-flows), every body read (see Recording.add)."""
    from recorder.capture.flows import to_exchange  # mitmproxy: not in the recording process

    result = to_exchange(flow)
    if isinstance(result, str):
        recording.skip(result)
        return None
    return recording.add(result, keep=keep)


def _number_variants(interactions: list[Interaction]) -> None:
    """A state the recording made in different ways at different times (a bucket created empty in one
    test, with data in another) is one state per way, told apart by a `variant` param: a setup can only
    make one of them."""
    ways: dict[tuple, list[tuple[int, ...]]] = {}
    for i in interactions:
        for st in i.states:
            recipe = tuple(s.seq for s in st.steps)
            if recipe not in (known := ways.setdefault(st.identity, [])):
                known.append(recipe)
    for i in interactions:
        for k, st in enumerate(i.states):
            if len(known := ways[st.identity]) > 1:
                variant = known.index(tuple(s.seq for s in st.steps)) + 1
                i.states[k] = replace(st, params=tuple(sorted((*st.params, ("variant", variant)))))


def _note_ambiguous(interactions: list[Interaction]) -> list[list[str]]:
    """Interactions whose requests are the same and whose states are the same too, yet whose outcomes
    differ: no verification can pass them all. Each says so; the groups are returned for the account."""
    groups: dict[str, list[Interaction]] = {}
    for i in interactions:
        # Redacted values read alike, yet a verifier fills them from other secrets (a good and a bad password).
        secrets = sorted(json.dumps(e, sort_keys=True) for e in i.secrets)
        request = (
            i.method,
            i.path,
            sorted(i.query.items()),
            sorted(i.request.headers.items()),
            repr(i.request.body),
            secrets,
        )
        states = [st.identity for st in i.states]
        groups.setdefault(repr((request, states)), []).append(i)
    same = [g for g in groups.values() if len(g) > 1]
    for group in same:
        for i in group:
            others = ", ".join(repr(o.description) for o in group if o is not i)
            i.notes.append(
                f"the same request in the same provider states was recorded with another outcome ({others}): "
                "the recording cannot tell them apart, so a verification can pass only one of them"
            )
    return [[i.description for i in g] for g in same]


def _make_descriptions_unique(interactions: list[Interaction]) -> None:
    """Interactions that differ only in their request's shape say how: `... (query page)`, `... #2`."""
    by_description: dict[str, list[Interaction]] = {}
    for i in interactions:
        by_description.setdefault(i.description, []).append(i)
    for description, same in by_description.items():
        if len(same) == 1:
            continue
        seen: set[str] = set()
        for n, i in enumerate(same, 1):
            parts = [
                key_part(i.key, "op"),
                f"query {', '.join(sorted(i.query))}" if i.query else "",
                f"body {', '.join(sorted(i.request.body))}" if isinstance(i.request.body, dict) else "",
                f"form {', '.join(fields)}"
                if (fields := form_fields(i.request.body, i.request.headers.get("Content-Type")))
                else "",
                ", ".join(sorted(h for h in i.request.headers if h.lower().startswith("if-"))),
            ]
            label = "; ".join(p for p in parts if p) or "no query or body"
            label = label if label not in seen else f"{label} #{n}"
            seen.add(label)
            i.description = f"{description} ({label})"


def _existing(path: Path) -> dict | None:
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        raise RuntimeError(f"{path}: the existing pact is not JSON; move it away or leave out --merge") from None


def generated(interaction: dict) -> bool:
    """Interactions pact-recorder wrote carry its marker; anything else was written or edited by hand."""
    return bool((interaction.get("comments") or {}).get("pactRecorder", {}).get("generatedBy"))


def _names_own_url(ex: Exchange, authority: str) -> bool:
    """Does a request value (a header other than Host, a query value, the body) hold a URL of the provider
    as the consumer reached it (a copy's source, WebDAV's Destination, a link sent back)? Verify sends the
    verified provider's address there instead (recorder.verify.provider_relay)."""
    urls = urls_on([authority])
    values = [v for k, v in ex.request_headers if k.lower() != "host"] + [v for _, v in ex.query]
    if authority.partition(":")[0].encode() in ex.request_body:
        values.append(ex.request_body.decode("latin-1"))
    return any(urls.search(v) for v in values)


def merged(previous: dict, document: dict) -> dict:
    """The new document, plus every interaction of the previous one it does not replace: hand-written ones
    always (never changed), generated ones that this recording did not see again."""
    fresh = {i["description"] for i in document["interactions"]}
    kept = [i for i in previous.get("interactions", []) if not generated(i) or i.get("description") not in fresh]
    hand = {i["description"] for i in kept if not generated(i)}
    ours = [i for i in document["interactions"] if i["description"] not in hand]
    out = {**document, "interactions": sorted(ours + kept, key=lambda i: str(i.get("description")))}
    if reached := sorted(set(reached_at(previous)) | set(reached_at(document))):
        out["metadata"] = {**document["metadata"], "pactRecorder": {**meta(document), REACHED_AT: reached}}
    return out


def mark_pending(document: dict, previous: dict | None) -> None:
    """Newly inferred interactions are pending (a provider build does not fail on them until reviewed);
    ones the previous pact had keep its pending flag."""
    before = {i.get("description"): i for i in (previous or {}).get("interactions", [])}
    for i in document["interactions"]:
        if generated(i):
            i["pending"] = before[i["description"]].get("pending", False) if i["description"] in before else True
