"""From exchanges to interactions: one Observation per interaction key.

An Observation is updated by every exchange of its interaction and keeps only what inference needs:
a typical exchange as the example (the first of the most common kind of request, by the headers it
sent: examples are real values, and the same traffic always picks the same one), a count, up to three
recorded responses for the self-check, and merged shapes (genson, with evidence) of the query, the
request headers and the JSON bodies. Memory grows with the number of interactions, not with traffic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from recorder.formats import multipart
from recorder.formats.digests import named_digest
from recorder.infer.endpoints import PathRules, path_regex, to_endpoint
from recorder.infer.headers import HeaderPolicy
from recorder.infer.matchers import Echo, child_path, infer_body
from recorder.infer.sampling import Sampling
from recorder.infer.shapes import branch, lessons, relaxed, shape_builder, types_of
from recorder.infer.variety import HeaderVariety
from recorder.infer.xmlbody import xml_contract
from recorder.model import NO_BODY, Binary, Endpoint, Exchange, Headers, InteractionKey, Sample, json_body, samples_kept
from recorder.pattern import escape
from recorder.rules import FieldRule, Ruleset, endpoint_matches
from recorder.secrets.fill import credentials_param
from recorder.secrets.redact import PLACEHOLDER
from recorder.states.provider_states import ProviderState, echoed_params, param_value, states_for
from recorder.states.timeline import Location, Preconditions
from recorder.values import RPC_METHOD_PATH, body_operation, clock_regex, clock_values, request_values

_INTEGER = re.compile(r"^-?[0-9]+$")
_STRICT_ENUM_MAX = 10


@dataclass
class Message:
    """One side of an interaction, independent of the Pact spec version it will be written in."""

    headers: dict[str, str]
    body: Any = NO_BODY
    rules: dict[str, Any] = field(default_factory=dict)  # category -> rules ("path" has no key level)
    generators: dict[str, Any] = field(default_factory=dict)
    body_type: str = ""  # the media type of a body sent without a Content-Type, as sniffed
    exact: bool = False  # a JSON body kept as the text sent (the request names its digest)


@dataclass
class Interaction:
    key: InteractionKey
    description: str
    states: list[ProviderState]
    method: str
    path: str
    query: dict[str, list[str]]
    request: Message
    status: int
    response: Message
    exchanges: int
    notes: list[str]
    evidence: dict[str, dict] = field(default_factory=dict)  # "response.body" -> JSONPath -> facts
    recorded_body: Any = None  # the example response as recorded (redacted): the data a state needs
    uses: dict = field(default_factory=dict)  # request location -> (state param, recorded value)
    secrets: tuple = ()  # where the example request's redacted values were, named (see redact)
    tests: list[str] = field(default_factory=list)  # the tests that made its exchanges
    samples: list[Sample] = field(default_factory=list)  # recorded responses the pact is checked against
    distinct: int = 0  # how many of its exchanges differed (a suite run twice repeats them all)


class Context:
    """The rules, compiled once per recording, that every observation needs."""

    def __init__(self, rules: Ruleset):
        self.rules = rules
        self.paths = PathRules(rules)
        self.headers = HeaderPolicy(rules, self.paths)
        self.variety = HeaderVariety(rules.formats)  # header values pooled over the whole recording

    def overrides(self, method: str, template: str, side: str) -> dict[str, FieldRule]:
        """Field rules for one endpoint and side; for the same path a later rule wins."""
        return {
            f.path: f
            for f in self.rules.fields
            if f.side == side and (f.endpoint is None or endpoint_matches(f.endpoint, method, template))
        }


_TEXT_TYPES = re.compile(r"^(text/[^;]+|application/(xml|[^;]+\+xml|x-www-form-urlencoded))\s*(;.*)?$", re.I)
TEXT_EXAMPLE_MAX = 16 * 1024


def _text_body(body: bytes, content_type: str | None) -> str | None:
    """A small UTF-8 body of a text content type, as text; None for anything else."""
    if not content_type or not _TEXT_TYPES.match(content_type) or len(body) > TEXT_EXAMPLE_MAX:
        return None
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return None


_XML = re.compile(r"^application/(xml|[^;]+\+xml)\b|^text/xml\b", re.I)
XML_CONTENT_TYPE_ONLY = (
    "XML, checked by its content type only: it does not parse, or names too many distinct elements "
    "to be a contract anyone reads"
)
XML_BY_STRUCTURE = (
    "XML: the recorded elements must be there (empty ones, values written as element names, need not), "
    "every text and attribute by type; no rule for the whole body (the core would hold every repeated "
    "element to the first one)"
)
FILE_PART_MAX = 64 * 1024


def _upload(body: bytes, mark: str, content_type: str, notes: list[str]) -> Any:
    """A multipart request body as sent (its boundary is the Content-Type's), file parts bounded."""
    try:
        data, cut = multipart.bounded(body, mark, FILE_PART_MAX)
    except ValueError as e:
        notes.append(f"request body ({content_type}, {len(body)} bytes) recorded without its content: {e}")
        return NO_BODY
    notes += [f"request body: {c} (the provider gets a shorter file)" for c in cut]
    notes.append(f"request body ({content_type}) kept as sent: parts {', '.join(multipart.names(data, content_type))}")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return Binary(data)


# The media types the Pact core reads as JSON: application/json, application/*+json (pact_models).
_CORE_JSON = re.compile(r"^application/(json|[^;]*\+json)\s*(;|$)", re.I)
_KEYS_CHECKED = "its top-level keys must be there, anything else goes"


def _core_reads_json(content_type: str | None) -> bool:
    return content_type is None or bool(_CORE_JSON.match(content_type))


def _keys_matcher(value: Any) -> dict[str, str]:
    """A regex on the text of a JSON document: every top-level key of an object present, in any order."""
    keys = sorted(value) if isinstance(value, dict) else []
    ahead = "".join(f'(?=[\\s\\S]*"{escape(k)}"\\s*:)' for k in keys)
    return {"match": "regex", "regex": f"^{ahead}[\\s\\S]*$"}


def _as_sent(body: bytes) -> tuple[Any, str]:
    """A request body no content type explains: as text (XML sniffed by its first character), else bytes."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return Binary(body), "application/octet-stream"
    return text, "application/xml" if text.lstrip().startswith("<") else "text/plain"


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


def key_of(exchange: Exchange, endpoint: Endpoint, headers: HeaderPolicy) -> InteractionKey:
    query = ",".join(sorted({k for k, _ in exchange.query}))
    body = shape_signature(exchange.request_json)
    if fields := form_fields(exchange.request_body, exchange.request_header("content-type")):
        body = "form:" + ",".join(fields)
    # A conditional request (If-Match, If-None-Match, ...) is another interaction than a plain one: its
    # outcome depends on what the provider holds, and its header must be sent.
    operation = headers.operation(exchange.request_headers) or body_operation(exchange.request_json)
    conditions = ",".join(sorted({k.lower() for k, _ in exchange.request_headers if k.lower().startswith("if-")}))
    parts = (
        f"op:{operation}" if operation else "",
        f"query:{query}" if query else "",
        f"body:{body}" if body else "",
        f"if:{conditions}" if conditions else "",
    )
    shape = ";".join(p for p in parts if p)
    return InteractionKey(endpoint.template, exchange.method.upper(), exchange.status, shape)


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

    def to_interaction(self, pooled: dict | None = None) -> Interaction:
        """`pooled`: the response body shape of this endpoint and status over the whole recording (see
        pooled_responses)."""
        ex, evidence = self.example, {}
        notes = [
            f"{side} body streamed through unrecorded {n} time(s): larger than the body size limit "
            "(--max-body); recorded by content type only"
            for side, n in self.streamed.items()
            if n
        ]
        if note := self.sampling.note(self.distinct):
            notes.append(note)
        if ex.redirected:
            notes.append(
                f"the consumer's request was redirected to {ex.redirected}: the response is the one it finally "
                "got (the verifier follows the redirect)"
            )
        request = self._message("request", ex.request_headers, ex.request_body, notes, evidence)
        # A provider that echoes request headers (httpbin's /headers, debug endpoints) can echo back
        # only what the contract's request sends: the verifier's client sends no Connection, say.
        echo = (
            frozenset(name.lower() for name, _ in ex.request_headers),
            frozenset(h.lower() for h in request.headers),
        )
        response = self._message(
            "response", ex.response_headers, ex.response_body, notes, evidence, echo, ex.request_headers, pooled
        )
        if self.endpoint.params:
            request.rules["path"] = [{"match": "regex", "regex": path_regex(self.endpoint)}]
        request.generators |= request_generators(ex, self.pre.uses)
        for kind, generators in issued_generators(ex).items():
            if kind == "path":  # a token in the path: its segment, in whatever expression the path has
                parts = request.generators.get("path", {}).get("expression", ex.path).split("/")
                for index, name in generators.items():
                    parts[index + (1 if ex.path.startswith("/") else 0)] = f"${{{name}}}"
                request.generators["path"] = _expression("") | {"expression": "/".join(parts)}
            else:
                if kind == "header":  # under the header's name as the contract spells it
                    names = {h.lower(): h for h in request.headers}
                    generators = {names.get(k.lower(), k): g for k, g in generators.items()}
                request.generators[kind] = {**request.generators.get(kind, {}), **generators}
        _keep_digested(ex, request, notes)
        query: dict[str, list[str]] = {}
        for name, value in ex.query:
            query.setdefault(name, []).append(value)
        if rules := self._value_rules("query", strict=True, evidence=evidence):
            request.rules["query"] = rules
        _clock_rules(ex, self.pre.uses, request, evidence)
        recorded = ex.response_json
        recorded = None if recorded is NO_BODY else recorded
        path_params = {name: param_value(value) for where, (name, value) in self.pre.uses.items() if where[0] == "path"}
        for at, (param, data_type) in echoed_params(response.body, path_params).items():
            # Expected-response generators are not applied by the verifier, but a mock or stub uses them.
            response.generators.setdefault("body", {})[at] = {
                "type": "ProviderState",
                "expression": f"${{{param}}}",
                "dataType": data_type,
            }
        return Interaction(
            key=self.key,
            description=self._description(),
            states=states_for(
                self.pre, self.endpoint, self.key.method, self.key.status, recorded, self.ctx.rules.states
            ),
            method=ex.method,
            path=ex.path,
            query=query,
            request=request,
            status=ex.status,
            response=response,
            exchanges=self.count,
            distinct=self.distinct,
            notes=notes,
            evidence=evidence,
            recorded_body=recorded,
            uses=dict(self.pre.uses),
            secrets=ex.secrets,
            tests=sorted(self.tests),
            samples=list(self.samples),
        )

    def _description(self) -> str:
        return f"{self.key.method} {self.key.template} returns {self.key.status}"

    def _message(
        self,
        side: str,
        headers: Headers,
        body: bytes,
        notes: list[str],
        evidence: dict,
        echo: Echo | None = None,
        request: Headers = (),
        pooled_body: dict | None = None,
    ) -> Message:
        varying = self._value_rules(f"{side}.headers", strict=side == "request", evidence=evidence)
        kept = self._kept_headers(side, self.ctx.headers.kept(headers, side, request), evidence)
        msg = Message(headers=kept)
        seen = {k: branch(n, "string").get("x-distinct", []) for k, n in self._header_nodes(side).items()}
        chosen = self.ctx.headers.matchers(kept, side, seen)
        for name, value in kept.items():
            if name not in chosen and (pooled := self.ctx.variety.matcher(side, name, value)) is not None:
                chosen[name] = ([pooled[0]], pooled[1])
        header_rules = {k: v for k, v in varying.items() if k in kept} | {k: m for k, (m, _) in chosen.items()}
        for name, (_, why) in chosen.items():
            evidence.setdefault(f"{side}.headers", {}).setdefault(name, {})["by"] = why
        if header_rules:
            msg.rules["header"] = dict(sorted(header_rules.items()))
        value = json_body(body, kept.get("Content-Type"))
        if value is not NO_BODY and not _core_reads_json(kept.get("Content-Type")):
            # JSON under a media type the Pact core does not read as JSON (application/x-amz-json-1.0): it
            # would compare the bytes. The body goes in as the text it was, checked for its top-level keys.
            msg.body, msg.rules["body"] = body.decode("utf-8", "replace"), {"$": [_keys_matcher(value)]}
            notes.append(f"{side} body ({kept['Content-Type']}): JSON the Pact core reads as text: {_KEYS_CHECKED}")
        elif value is not NO_BODY:
            overrides = self.ctx.overrides(self.key.method, self.key.template, side)
            if side == "request" and body_operation(value):  # the operation is what the request asks: as sent
                overrides = {
                    RPC_METHOD_PATH: FieldRule("operation", RPC_METHOD_PATH, "equality", side=side)
                } | overrides
            schema = self.shapes[f"{side}.body"].to_schema()
            example, rules, facts = infer_body(
                relaxed(schema, pooled_body) if pooled_body else schema,
                value,
                self.ctx.rules,
                overrides,
                echo,
                side == "request",
            )
            msg.body = example
            if rules:
                msg.rules["body"] = rules
            evidence[f"{side}.body"] = facts
        elif body and side == "request" and (mark := multipart.boundary(kept.get("Content-Type"))) is not None:
            msg.body = _upload(body, mark, kept["Content-Type"], notes)
        elif body and _XML.search(kept.get("Content-Type", "")) and _text_body(body, kept["Content-Type"]):
            # The core matches XML element by element: a `$` type rule makes every repeated element
            # match the first one (a multistatus fails against its own bytes), and the example alone
            # pins every value. A request must still send its body; a response keeps its structure.
            text = _text_body(body, kept["Content-Type"])
            if side == "request":
                msg.body = text
                notes.append(f"request body ({kept['Content-Type']}) kept as sent, matched as XML by equality")
            elif (contract := xml_contract(text, self._other_texts(body, kept["Content-Type"]))) is not None:
                msg.body, msg.rules["body"] = contract
                evidence["response.body"] = {"$": {"by": XML_BY_STRUCTURE}}
                notes.append(f"response body ({kept['Content-Type']}): {XML_BY_STRUCTURE}")
            else:
                evidence["response.body"] = {"$": {"by": XML_CONTENT_TYPE_ONLY}}
                notes.append(f"response body ({kept['Content-Type']}): {XML_CONTENT_TYPE_ONLY}")
        elif body and (text := _text_body(body, kept.get("Content-Type"))) is not None:
            # Form and text bodies go in as they were recorded (redacted): the verifier must send the
            # request's, and a response's is some text of its content type (both verified with the core).
            msg.body = text
            msg.rules["body"] = {"$": [{"match": "type"}]}
            notes.append(f"{side} body ({kept['Content-Type']}) kept as a text example, matched by type only")
        elif body and side == "request" and len(body) <= FILE_PART_MAX:
            # Whatever it is (XML without a Content-Type, bytes): the provider needs it, as it was sent.
            msg.body, msg.body_type = _as_sent(body)
            notes.append(
                f"request body ({kept.get('Content-Type', 'no content type')}, {len(body)} bytes) kept as sent"
            )
        elif body:
            notes.append(
                f"{side} body ({kept.get('Content-Type', 'no content type')}, {len(body)} bytes) "
                "recorded without its content: only JSON, form and text bodies are inferred"
            )
        return msg

    def _other_texts(self, body: bytes, content_type: str) -> tuple[str, ...]:
        """The other recorded responses' bodies of the same kind, as text (the bounded samples)."""
        texts = (_text_body(s.body, content_type) for s in self.samples if s.body != body and 200 <= s.status < 300)
        return tuple(t for t in texts if t is not None)

    def _header_nodes(self, side: str) -> dict[str, dict]:
        return self.shapes[f"{side}.headers"].to_schema().get("properties", {})

    def _kept_headers(self, side: str, kept: dict[str, str], evidence: dict) -> dict[str, str]:
        """A response's headers that every exchange had; a request's that most exchanges sent (the
        example's value, or the first one seen when the example did not send it)."""
        schema = self.shapes[f"{side}.headers"].to_schema()
        if side == "response":
            return {k: v for k, v in kept.items() if k in set(schema.get("required", ()))}
        present, total, out = schema.get("x-present", {}), schema.get("x-samples", 0), {}
        for name, n in present.items():
            if 2 * n <= total:
                continue
            out[name] = kept.get(name) or branch(schema["properties"][name], "string").get("x-example")
            if name not in kept:
                by = f"sent by {n} of {total} exchanges, not by the example: the first value seen"
                evidence.setdefault("request.headers", {}).setdefault(name, {})["example"] = by
        return {k: v for k, v in sorted(out.items()) if isinstance(v, str)}

    def _value_rules(self, name: str, strict: bool, evidence: dict) -> dict[str, list[dict]]:
        """Matchers for query parameters or header values that varied between exchanges."""
        schema = self.shapes[name].to_schema()
        out, facts = {}, {}
        for key, node in schema.get("properties", {}).items():
            if "array" in types_of(node):  # query values come as lists
                node = branch(node, "array").get("items", {})
            matcher, by = self._string_matcher(branch(node, "string"), strict)
            if matcher is not None:
                out[key] = [matcher]
            distinct = node.get("x-distinct", [])
            facts[key] = {
                "by": by,
                "samples": node.get("x-samples", 0),
                "distinct": f">{len(distinct)}" if node.get("x-distinct-overflow") else len(distinct),
            }
        if facts:
            evidence[name] = facts
        return out

    def _string_matcher(self, node: dict, strict: bool) -> tuple[dict | None, str]:
        distinct, overflow = node.get("x-distinct", []), node.get("x-distinct-overflow", False)
        if PLACEHOLDER in distinct:
            return {"match": "regex", "regex": "^.+$"}, "redacted secret: any value"
        if len(distinct) <= 1 and not overflow:
            return None, "one value seen: exact"
        fmt = next((f for f in self.ctx.rules.formats if f.name in node.get("x-formats", ())), None)
        if fmt is not None:
            return {"match": "regex", "regex": fmt.regex}, f"format {fmt.name}"
        if all(_INTEGER.match(v) for v in distinct):
            return {"match": "regex", "regex": "^-?[0-9]+$"}, "integers"
        if strict and not overflow and len(distinct) <= _STRICT_ENUM_MAX:
            return {"match": "regex", "regex": "^(" + "|".join(escape(v) for v in distinct) + ")$"}, "values seen"
        return {"match": "regex", "regex": "^.*$"}, "many values"


def _expression(name: str) -> dict[str, str]:
    return {"type": "ProviderState", "expression": f"${{{name}}}", "dataType": "STRING"}


def request_generators(ex: Exchange, uses: dict[Location, tuple[str, str]]) -> dict[str, Any]:
    """ProviderState generators for every place of the request that carries a state param: the
    verifier puts the fresh provider's values there (ids it generated, ETags, cursors)."""
    out: dict[str, Any] = {}
    segments = ex.path.split("/")
    offset = 1 if ex.path.startswith("/") else 0
    if any(where[0] == "path" for where in uses):
        for where, (name, _) in uses.items():
            if where[0] == "path":
                segments[where[1] + offset] = f"${{{name}}}"
        out["path"] = _expression("") | {"expression": "/".join(segments)}
    sent = request_values(ex) if uses else {}
    for where, (name, value) in sorted(uses.items(), key=lambda kv: str(kv[0])):
        # a value that carries the param inside it (a URI around an id) keeps the rest of its text
        inside = (recorded := sent.get(where)) is not None and recorded != value and value in recorded
        around = {"expression": recorded.replace(value, f"${{{name}}}", 1), "dataType": "STRING"} if inside else {}
        if where[0] == "query":
            out.setdefault("query", {})[where[1]] = _expression(name) | around
        elif where[0] == "header" and (recorded := ex.request_header(where[1])) is not None:
            as_sent = next(k for k, _ in ex.request_headers if k.lower() == where[1].lower())  # one name, one line
            out.setdefault("header", {})[as_sent] = _expression(name) | {
                "expression": recorded.replace(value, f"${{{name}}}", 1)
            }
        elif where[0] == "body" and (at := _json_path(where[1:])) is not None:
            kind = "INTEGER" if isinstance(_at(ex.request_json, where[1:]), int) else "STRING"
            out.setdefault("body", {})[at] = _expression(name) | {"dataType": kind} | around
        elif where[0] == "form" and (at := _json_path(where[1:])) is not None:  # the core fills form fields too
            out.setdefault("body", {})[at] = _expression(name) | around
    return out


def issued_generators(ex: Exchange) -> dict[str, dict]:
    """Secrets a response handed out earlier (a login's token) come from the state's setup, which
    sends that request again: a ProviderState generator puts the fresh one in."""
    out: dict[str, dict] = {}
    for entry in ex.secrets:
        e = dict(entry)
        if not e.get("issued"):
            continue
        text = e.get("prefix", "") + f"${{{e['secret']}}}"
        if "user" in e:
            text = f"${{{credentials_param(e)}}}"
        if cookies := e.get("cookies"):
            text = "; ".join(f"{cookie}=${{{secret}}}" for cookie, secret in cookies)
        expression = _expression(e["secret"]) | {"expression": text}
        if e["in"] == "path":
            out.setdefault("path", {})[e["key"]] = e["secret"]
        elif e["in"] == "header":
            out.setdefault("header", {})[e["key"]] = expression
        elif e["in"] == "query":
            out.setdefault("query", {})[e["key"]] = expression
        elif e["in"] == "body" and (at := _json_path(tuple(e["key"]))) is not None:
            out.setdefault("body", {})[at] = expression
    return out


def _keep_digested(ex: Exchange, request: Message, notes: list[str]) -> None:
    """A JSON request body whose digest the request names (or its response: a content-addressed store
    answers with the digest of what it stored) goes out as the text sent, matchers beside it: written anew
    (or with generated values in it) it would no longer hash to that digest."""
    if request.body is NO_BODY or isinstance(request.body, (str, Binary)):
        return
    places = [ex.path, *(v for _, v in (*ex.query, *ex.request_headers, *ex.response_headers))]
    if (algorithm := named_digest(ex.request_body, places)) is None:
        return
    request.body, request.exact = ex.request_body.decode("utf-8"), True
    if request.generators.pop("body", None):
        notes.append("request body: no values generated into it (its digest would change)")
    notes.append(f"request body kept byte for byte: the exchange names its {algorithm} digest")


def _clock_rules(ex: Exchange, uses: dict[Location, tuple[str, str]], request: Message, evidence: dict) -> None:
    """A value the consumer took from its clock is sent as now (+ the recorded offset) by the verifier;
    the mock must accept whatever moment the consumer sends, in the recorded kind."""
    for where, _, kind, _ in clock_values(ex):
        if where not in uses:
            continue
        category, at = (where[0], where[1]) if where[0] in ("query", "header") else ("body", _json_path(where[1:]))
        if at is None:
            continue
        request.rules.setdefault(category, {})[at] = [{"match": "regex", "regex": clock_regex(kind)}]
        side = {"query": "query", "header": "request.headers", "body": "request.body"}[category]
        evidence.setdefault(side, {}).setdefault(at, {})["by"] = f"taken from the clock ({kind}): any moment"


def _json_path(keys: tuple) -> str | None:
    path: str | None = "$"
    for key in keys:
        path = f"{path}[{key}]" if isinstance(key, int) else child_path(path, key)
        if path is None:
            return None
    return path


def _at(value: Any, keys: tuple) -> Any:
    for key in keys:
        value = value[key]
    return value


def observation(
    ctx: Context, observations: dict[InteractionKey, Observation], exchange: Exchange
) -> tuple[Observation, dict[str, str]]:
    """The observation of an exchange's interaction (created on first sight; the response is not looked
    at), and the exchange's own path parameter values."""
    endpoint, values = to_endpoint(exchange.path, ctx.paths)
    key = key_of(exchange, endpoint, ctx.headers)
    if (obs := observations.get(key)) is None:
        obs = observations[key] = Observation(ctx, key, endpoint, values, len(observations))
    return obs, values


def pooled_responses(observations: list[Observation]) -> dict[InteractionKey, dict]:
    """For each observation whose endpoint (method, path template) and status has two or more with a JSON
    response body, their body shapes merged: what the whole recording shows of which keys are always there."""
    groups: dict[tuple[str, str, int], list[tuple[Observation, dict]]] = {}
    for obs in sorted(observations, key=lambda o: o.order):
        if types_of(schema := obs.shapes["response.body"].to_schema()):
            groups.setdefault((obs.key.method, obs.key.template, obs.key.status), []).append((obs, schema))
    out = {}
    for group in groups.values():
        if len(group) >= 2:
            builder = shape_builder(group[0][0].ctx.rules)
            for _, schema in group:
                builder.add_schema(schema)
            out |= dict.fromkeys((obs.key for obs, _ in group), builder.to_schema())
    return out
