"""From exchanges to the evidence of each interaction: one Observation per interaction key (recorder.infer.render
turns it into the interaction the pact holds).

An Observation is updated by every exchange of its interaction and keeps only what inference needs:
a typical exchange as the example (the first of the most common kind of request, by the headers it
sent: examples are real values, and the same traffic always picks the same one), a count, up to three
recorded responses for the self-check, and merged shapes (genson, with evidence) of the query, the
request headers and the JSON bodies. Memory grows with the number of interactions, not with traffic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from recorder.formats import graphql, multipart
from recorder.infer.endpoints import PathRules, to_endpoint
from recorder.infer.headers import HeaderPolicy
from recorder.infer.operations import OperationNames
from recorder.infer.sampling import Sampling
from recorder.infer.shapes import lessons, shape_builder, types_of
from recorder.infer.variety import HeaderVariety
from recorder.model import NO_BODY, Binary, Endpoint, Exchange, InteractionKey, Sample, samples_kept
from recorder.rules import FieldRule, Ruleset, endpoint_matches, operation_matches
from recorder.states.timeline import Preconditions
from recorder.values import named_operation, operation_inside, refused_in_body


class Context:
    """The rules, compiled once per recording, that every observation needs."""

    def __init__(self, rules: Ruleset):
        self.rules = rules
        self.paths = PathRules(rules)
        self.headers = HeaderPolicy(rules, self.paths)
        self.variety = HeaderVariety(rules.formats)  # header values pooled over the whole recording
        self.operations = OperationNames(rules)  # parameters whose value names the operation (`?action=`)

    def overrides(self, key: InteractionKey, side: str) -> dict[str, FieldRule]:
        """Field rules for one interaction and side; for the same path a later rule wins."""
        method, template, operation = key.method, key.template, key_operation(key)
        return {
            f.path: f
            for f in self.rules.fields
            if f.side == side
            and (f.endpoint is None or endpoint_matches(f.endpoint, method, template))
            and (f.operation is None or operation_matches(f.operation, operation))
        }


def key_operation(key: InteractionKey) -> str:
    """The operation an interaction's requests ask for inside them (GraphQL, JSON-RPC, a statement, a parameter's
    value: `action=query list=allpages`), else ""."""
    shape = key.body_shape
    if shape.startswith("graphql:"):
        return shape.removeprefix("graphql:").partition(";")[0]
    return " ".join(p for p in (key_part(key, "op"), key_part(key, "named")) if p)


def key_part(key: InteractionKey, kind: str) -> str:
    """One part of a key's shape: `as` (the method a POST tunnelled), `op` (the operation named inside the request),
    `named` (by parameters' values), `outcome` (`error`: refused in its body), `query`, `body`, `if`; "" when it has
    none."""
    if key.body_shape.startswith("graphql:"):
        return ""
    return next((p.partition(":")[2] for p in key.body_shape.split(";") if p.partition(":")[0] == kind), "")


def shape_signature(value: Any) -> str:
    """The key structure of a request body: requests whose bodies have other keys are other interactions."""
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}:{shape_signature(v)}" for k, v in sorted(value.items())) + "}"
    if isinstance(value, list):
        return "[]"
    return "" if value is NO_BODY else type(value).__name__


def form_fields(body: Any, content_type: str | None) -> list[str]:
    """The field names of a form or multipart body (bytes or text), sorted; [] for anything else."""
    if isinstance(body, Binary):
        body = body.data
    if multipart.boundary(content_type) is not None and isinstance(body, (bytes, str)):
        return multipart.names(body, content_type)
    if not body or "x-www-form-urlencoded" not in (content_type or "").lower():
        return []
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
    return sorted({name for name, _ in parse_qsl(text, keep_blank_values=True)})


def key_of(exchange: Exchange, endpoint: Endpoint, ctx: Context) -> InteractionKey:
    headers, method, status = ctx.headers, exchange.method.upper(), exchange.status
    if operation := graphql.operation(exchange.request_json) or graphql.operation(dict(exchange.query)):
        # One interaction per GraphQL operation, whatever variables it sent; an answer with `errors` is another, and
        # so is one whose root fields came back null (GraphQL's not found: `{"data": {"Post": null}}`).
        response = exchange.response_json if isinstance(exchange.response_json, dict) else {}
        data = response.get("data") if isinstance(response.get("data"), dict) else {}
        nulls = ",".join(sorted(k for k, v in data.items() if v is None))
        outcome = (";errors" if response.get("errors") else "") + (f";null:{nulls}" if nulls else "")
        return InteractionKey(endpoint.template, method, status, f"graphql:{operation}{outcome}")
    query = ",".join(sorted({k for k, _ in exchange.query}))
    body = shape_signature(exchange.request_json)
    if fields := form_fields(exchange.request_body, exchange.request_header("content-type")):
        body = "form:" + ",".join(fields)
    # A conditional request (If-Match, If-None-Match, ...) is another interaction than a plain one: its
    # outcome depends on what the provider holds, and its header must be sent.
    operation = headers.operation(exchange.request_headers) or operation_inside(exchange)  # JSON-RPC, statements
    conditions = ",".join(sorted({k.lower() for k, _ in exchange.request_headers if k.lower().startswith("if-")}))
    named = named_operation(ctx.operations.of(exchange))  # `?action=query&list=allpages`: one interaction per operation
    # (an operation refused with 200 and `{"error": ...}` or a result code that is no success answers another shape:
    # another interaction, as GraphQL's; whether the operation is named by a parameter, a path word or nothing)
    refused = 200 <= status < 300 and refused_in_body(exchange.response_json)
    parts = (
        f"as:{exchange.meant}" if exchange.meant else "",  # a tunnelled GET and PUT may send bodies of one shape
        f"op:{operation}" if operation else "",
        f"named:{named}" if named else "",
        "outcome:error" if refused else "",
        f"query:{query}" if query else "",
        f"body:{body}" if body else "",
        f"if:{conditions}" if conditions else "",
    )
    shape = ";".join(p for p in parts if p)
    return InteractionKey(endpoint.template, method, status, shape)


DISTINCT_MAX = 2_000  # exchange digests remembered per interaction (~180 KB), to count identical ones once
KINDS_MAX = 8  # kinds of request (header sets) remembered per interaction; later ones only count


@dataclass
class Kind:
    """Requests of an interaction that sent the same headers: the first of them, and how many."""

    exchange: Exchange
    pre: Preconditions = field(default_factory=lambda: Preconditions([], {}))  # what `exchange` needed
    count: int = 1


class Observation:
    """Everything seen of one interaction so far."""

    def __init__(
        self,
        ctx: Context,
        key: InteractionKey,
        endpoint: Endpoint,
        values: dict[str, str],
        order: int = 0,
    ):
        self.ctx, self.key, self.endpoint, self.values = ctx, key, endpoint, values
        self.order = order  # when it was first seen: the earliest of merged observations gives the example
        self.count = 0
        # The kinds of request seen, by the set of headers they sent: how many, the first of each and
        # what it needed (set by the pipeline). The example is the first of the most common kind.
        self.kinds: dict[frozenset[str], Kind] = {}
        self.new_kind: Kind | None = None  # the kind the last exchange started, if it started one
        self.tests: set[str] = set()  # the tests whose exchanges this interaction was inferred from
        self.shapes = {
            name: shape_builder(ctx.rules)
            for name in ("query", "request.headers", "request.body", "response.headers", "response.body")
        }
        self.unparsed = {"request": 0, "response": 0}
        self.streamed = {"request": 0, "response": 0}
        self.samples: list[Sample] = []
        self.seen: set[int] = set()  # digests of the distinct exchanges (see _first_of_its_like)
        self.distinct = 0
        self.sampling = Sampling()  # which response bodies are read (see recorder.infer.sampling)

    @property
    def typical(self) -> Kind:
        return max(self.kinds.values(), key=lambda k: k.count)  # ties: the earliest

    @property
    def example(self) -> Exchange:
        return self.typical.exchange

    @property
    def pre(self) -> Preconditions:
        return self.typical.pre

    def reads_response(self, exchange: Exchange) -> bool:
        """Should this exchange's response body be read, when it may be left unread (recorder.infer.sampling)?
        Always for a kind of request not seen before: it may become the example."""
        names = frozenset(k.lower() for k in self.ctx.headers.kept(exchange.request_headers, "request"))
        return (names not in self.kinds and len(self.kinds) < KINDS_MAX) or self.sampling.reads_next()

    def add(self, exchange: Exchange, read_response: bool = True) -> None:
        """`read_response=False`: the response body is left unread (see recorder.infer.sampling), only counted."""
        self.count += 1
        sent = self.ctx.headers.kept(exchange.request_headers, "request")
        self.new_kind = self._count_kind(frozenset(k.lower() for k in sent), Kind(exchange))
        for side in exchange.streamed:
            self.streamed[side] += 1
        # Which headers most requests send is a count over all the traffic, repeats included.
        self.shapes["request.headers"].add_object(sent)
        answered = self.ctx.headers.kept(exchange.response_headers, "response", exchange.request_headers)
        if not self._first_of_its_like(exchange, sent, answered):
            return  # the same exchange again (a suite run twice): no new evidence, counted once
        if not read_response:
            self.sampling.unread += 1
        elif "response" not in exchange.streamed:  # a body streamed past unrecorded is no sample of it
            sample = Sample(exchange.status, exchange.response_headers, exchange.response_body)
            self.samples = samples_kept(self.samples, sample)
        self.ctx.variety.see("request", sent)
        self.ctx.variety.see("response", answered)
        query: dict[str, list[str]] = {}
        for k, v in exchange.query:
            query.setdefault(k, []).append(v)
        self.shapes["query"].add_object(query)
        self.shapes["response.headers"].add_object(answered)
        self._add_body("request", exchange.request_body, exchange.request_json)
        if read_response:
            before = lessons()
            self._add_body("response", exchange.response_body, exchange.response_json)
            if exchange.response_json is not NO_BODY:
                self.sampling.learned(lessons() != before)

    def _add_body(self, side: str, body: bytes, value: Any) -> None:
        if value is NO_BODY:
            self.unparsed[side] += bool(body)
        else:
            self.shapes[f"{side}.body"].add_object(value)

    def _count_kind(self, names: frozenset[str], kind: Kind) -> Kind | None:
        """Count `kind`'s requests under the headers they sent; it, when it is a new kind kept."""
        if (known := self.kinds.get(names)) is not None:
            known.count += kind.count
            return None
        if len(self.kinds) >= KINDS_MAX:
            return None
        self.kinds[names] = kind
        return kind

    def _first_of_its_like(self, exchange: Exchange, sent: dict[str, str], answered: dict[str, str]) -> bool:
        """False for an exchange identical to one seen before, in all the contract looks at (the
        request, the status, the kept headers, the bodies); the first DISTINCT_MAX are remembered."""
        # Python's own hash (64 bits; the digests never leave this process): every body goes through here,
        # and it is twice as fast as hashlib's fastest.
        ex = exchange
        digest = hash((ex.method, ex.path, ex.query, tuple(sorted(sent.items())), ex.request_body, ex.status,
                       tuple(sorted(answered.items())), ex.response_body))  # fmt: skip
        if digest in self.seen:
            return False
        if len(self.seen) < DISTINCT_MAX:
            self.seen.add(digest)
        self.distinct += 1
        return True

    @classmethod
    def merged(cls, observations: list[Observation]) -> Observation:
        """A new observation of everything in `observations` (first one first); they stay unchanged."""
        first = observations[0]
        out = cls(first.ctx, first.key, first.endpoint, first.values, first.order)
        for obs in observations:
            out.count += obs.count
            out.distinct += obs.distinct
            out.sampling.unread += obs.sampling.unread
            for names, kind in obs.kinds.items():
                out._count_kind(names, Kind(kind.exchange, kind.pre, kind.count))
            for name, builder in out.shapes.items():
                builder.add_schema(obs.shapes[name].to_schema())
            out.tests |= obs.tests
            for sample in obs.samples:
                out.samples = samples_kept(out.samples, sample)
            for side, n in obs.unparsed.items():
                out.unparsed[side] += n
                out.streamed[side] += obs.streamed[side]
        return out


def observation(
    ctx: Context, observations: dict[InteractionKey, Observation], exchange: Exchange
) -> tuple[Observation, dict[str, str]]:
    """The observation of an exchange's interaction (created on first sight; the response is not looked
    at), and the exchange's own path parameter values."""
    endpoint, values = to_endpoint(exchange.path, ctx.paths)
    key = key_of(exchange, endpoint, ctx)
    if (obs := observations.get(key)) is None:
        obs = observations[key] = Observation(ctx, key, endpoint, values, len(observations))
    return obs, values


def pooled_responses(observations: list[Observation]) -> dict[InteractionKey, dict]:
    """For each observation whose endpoint (method, path template) and status has two or more with a JSON
    response body, their body shapes merged: what the whole recording shows of which keys are always there."""
    groups: dict[tuple[str, str, str, int, str, str], list[tuple[Observation, dict]]] = {}
    for obs in sorted(observations, key=lambda o: o.order):
        if types_of(schema := obs.shapes["response.body"].to_schema()):
            # (an RPC answers every operation at one URL, GraphQL, JSON-RPC, SOAP: an operation's answers are its own,
            # and its refusals' theirs)
            key = obs.key
            operation = key.body_shape if key.body_shape.startswith("graphql:") else key_operation(key)
            group = (key.method, key_part(key, "as"), key.template, key.status, operation, key_part(key, "outcome"))
            groups.setdefault(group, []).append((obs, schema))
    out = {}
    for group in groups.values():
        if len(group) >= 2:
            builder = shape_builder(group[0][0].ctx.rules)
            for _, schema in group:
                builder.add_schema(schema)
            out |= dict.fromkeys((obs.key for obs, _ in group), builder.to_schema())
    return out
