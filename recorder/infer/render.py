"""From an observation to the interaction the pact holds: its request and response rendered as messages
(JSON with matchers, multipart, XML, text, bytes as sent), with generators, notes and evidence."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from recorder.formats import graphql, multipart, statements
from recorder.formats.digests import named_digest
from recorder.infer.endpoints import path_regex
from recorder.infer.matchers import Echo, child_path, infer_body
from recorder.infer.observation import Observation, key_part
from recorder.infer.shapes import branch, relaxed, types_of
from recorder.infer.xmlbody import xml_contract
from recorder.model import NO_BODY, Binary, Exchange, Headers, InteractionKey, Sample, json_body, untyped
from recorder.pattern import escape
from recorder.rules import FieldRule
from recorder.secrets.fill import credentials_param
from recorder.secrets.redact import PLACEHOLDER
from recorder.states.provider_states import ProviderState, echoed_params, param_value, states_for
from recorder.states.timeline import Location
from recorder.values import (
    STATEMENT_SUBJECT,
    body_operation_key,
    clock_regex,
    clock_values,
    request_operation,
    request_values,
    statement_of,
)


@dataclass
class Message:
    """One side of an interaction, independent of the Pact spec version it will be written in."""

    headers: dict[str, str]
    body: Any = NO_BODY
    rules: dict[str, Any] = field(default_factory=dict)  # category -> rules ("path" has no key level)
    generators: dict[str, Any] = field(default_factory=dict)
    body_type: str = ""  # the media type the core reads the body as, where the Content-Type does not say (sniffed)
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


def interaction(obs: Observation, pooled: dict | None = None, words: dict[str, str] | None = None) -> Interaction:
    """`pooled`: the response body shape of this endpoint and status over the whole recording (see
    pooled_responses); `words`: what the API's bodies call the values its paths name (states.own_words)."""
    ex, evidence = obs.example, {}
    pre = obs.pre.named(words or {})
    notes = [
        f"{side} body streamed through unrecorded {n} time(s): larger than the body size limit "
        "(--max-body); recorded by content type only"
        for side, n in obs.streamed.items()
        if n
    ]
    if note := obs.sampling.note(obs.distinct):
        notes.append(note)
    if ex.redirected:
        notes.append(
            f"the consumer's request was redirected to {ex.redirected}: the response is the one it finally "
            "got (the verifier follows the redirect)"
        )
    request = _message(obs, "request", ex.request_headers, ex.request_body, notes, evidence)
    # A provider that echoes request headers (httpbin's /headers, debug endpoints) can echo back
    # only what the contract's request sends: the verifier's client sends no Connection, say.
    echo = (
        frozenset(name.lower() for name, _ in ex.request_headers),
        frozenset(h.lower() for h in request.headers),
    )
    response = _message(
        obs, "response", ex.response_headers, ex.response_body, notes, evidence, echo, ex.request_headers, pooled
    )
    if obs.endpoint.params:
        request.rules["path"] = [{"match": "regex", "regex": path_regex(obs.endpoint)}]
    request.generators |= request_generators(ex, pre.uses)
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
    if rules := _value_rules(obs, "query", strict=True, evidence=evidence):
        request.rules["query"] = rules
    if (found := statement_of(ex)) is not None and found[0] == "query":  # a statement in a parameter: by its shape
        request.rules.setdefault("query", {})[found[1]] = [{"match": "regex", "regex": _statement_regex(obs, found)}]
    _pin_operation(obs, ex, request, evidence)
    if graphql.request_of(gql := dict(ex.query)) is not None:  # GraphQL over GET: the query text by its tokens
        request.rules.setdefault("query", {})["query"] = [
            {"match": "regex", "regex": graphql.query_regex(gql["query"])}
        ]
    _clock_rules(ex, pre.uses, request, evidence)
    recorded = ex.response_json
    recorded = None if recorded is NO_BODY else recorded
    path_params = {name: param_value(value) for where, (name, value) in pre.uses.items() if where[0] == "path"}
    for at, (param, data_type) in echoed_params(response.body, path_params).items():
        # Expected-response generators are not applied by the verifier, but a mock or stub uses them.
        response.generators.setdefault("body", {})[at] = {
            "type": "ProviderState",
            "expression": f"${{{param}}}",
            "dataType": data_type,
        }
    return Interaction(
        key=obs.key,
        description=_description(obs),
        states=states_for(
            pre, obs.endpoint, obs.key.method, obs.key.status, recorded, obs.ctx.rules.states, request_operation(ex)
        ),
        method=ex.method,
        path=ex.path,
        query=query,
        request=request,
        status=ex.status,
        response=response,
        exchanges=obs.count,
        distinct=obs.distinct,
        notes=notes,
        evidence=evidence,
        recorded_body=recorded,
        uses=dict(pre.uses),
        secrets=ex.secrets,
        tests=sorted(obs.tests),
        samples=list(obs.samples),
    )


def _description(obs: Observation) -> str:
    key = obs.key
    # (a POST that tunnels another method says which: `POST /classes/Note/{id} (as PUT) returns 200`)
    head = f"{key.method} {key.template}" + (f" (as {meant})" if (meant := key_part(key, "as")) else "")
    if key.body_shape.startswith("graphql:"):  # `POST /graphql query Post returns 200 with errors, Post null`
        operation, *outcome = key.body_shape.removeprefix("graphql:").split(";")
        said = ["errors" if o == "errors" else f"{o.removeprefix('null:')} null" for o in outcome]
        return f"{head} {operation} returns {key.status}" + (f" with {', '.join(said)}" if said else "")
    refused = " with error" if key_part(key, "outcome") else ""
    if named := key_part(key, "named"):  # `GET /api.php action=query list=allpages returns 200 with error`
        return f"{head} {named} returns {key.status}{refused}"
    return f"{head} returns {key.status}{refused}"  # `POST /api/getText returns 200 with error`


def _message(
    obs: Observation,
    side: str,
    headers: Headers,
    body: bytes,
    notes: list[str],
    evidence: dict,
    echo: Echo | None = None,
    request: Headers = (),
    pooled_body: dict | None = None,
) -> Message:
    varying = _value_rules(obs, f"{side}.headers", strict=side == "request", evidence=evidence)
    kept = _kept_headers(obs, side, obs.ctx.headers.kept(headers, side, request), evidence)
    msg = Message(headers=kept)
    seen = {k: branch(n, "string").get("x-distinct", []) for k, n in _header_nodes(obs, side).items()}
    chosen = obs.ctx.headers.matchers(kept, side, seen)
    for name, value in kept.items():
        if name not in chosen and (pooled := obs.ctx.variety.matcher(side, name, value)) is not None:
            chosen[name] = ([pooled[0]], pooled[1])
    header_rules = {k: v for k, v in varying.items() if k in kept} | {k: m for k, (m, _) in chosen.items()}
    for name, (_, why) in chosen.items():
        evidence.setdefault(f"{side}.headers", {}).setdefault(name, {})["by"] = why
    if header_rules:
        msg.rules["header"] = dict(sorted(header_rules.items()))
    value = json_body(body, kept.get("Content-Type"))
    if value is not NO_BODY and side == "request" and untyped(kept.get("Content-Type")):
        # JSON sent under a label that says nothing (text/plain: a browser SDK's): the core reads it as JSON
        # (the body's own media type), so that the fresh provider's values are generated into it; the
        # header goes out as the consumer sent it.
        msg.body_type = "application/json"
    if value is not NO_BODY and not msg.body_type and not _core_reads_json(kept.get("Content-Type")):
        # JSON under a media type the Pact core does not read as JSON (application/x-amz-json-1.0): it
        # would compare the bytes. The body goes in as the text it was, checked for its top-level keys.
        msg.body, msg.rules["body"] = body.decode("utf-8", "replace"), {"$": [_keys_matcher(value)]}
        notes.append(f"{side} body ({kept['Content-Type']}): JSON the Pact core reads as text: {_KEYS_CHECKED}")
    elif value is not NO_BODY:
        overrides = obs.ctx.overrides(obs.key, side)
        if side == "request" and graphql.request_of(value) is not None:  # what the request asks: its operation
            overrides = _graphql_rules(value, side) | overrides
        elif (
            side == "request"
            and (found := statements.found_in((), value)) is not None
            and (at := child_path("$", found[1]))
        ):
            regex = _statement_regex(obs, found)
            overrides = {at: FieldRule("statement", at, "regex", side=side, regex=regex)} | overrides
        elif side == "request" and (key := body_operation_key(value)):  # the operation is what it asks: as sent
            at = child_path("$", key)
            overrides = {at: FieldRule("operation", at, "equality", side=side)} | overrides
        if side == "request" and (meant := key_part(obs.key, "as")) and isinstance(value, dict):
            overrides = _tunnel_rules(value, meant, obs.ctx.rules.method_override.fields) | overrides
        schema = obs.shapes[f"{side}.body"].to_schema()
        example, rules, facts = infer_body(
            relaxed(schema, pooled_body) if pooled_body else schema,
            value,
            obs.ctx.rules,
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
        elif (contract := xml_contract(text, _other_texts(obs, body, kept["Content-Type"]))) is not None:
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
        notes.append(f"request body ({kept.get('Content-Type', 'no content type')}, {len(body)} bytes) kept as sent")
    elif body:
        notes.append(f"{side} body ({kept.get('Content-Type', 'no content type')}, {len(body)} bytes) {UNREAD_BODY}")
    return msg


def _tunnel_rules(body: dict, meant: str, fields: frozenset[str]) -> dict[str, FieldRule]:
    """The body field that says which method a POST means, as sent: a request meaning another is another
    interaction's."""
    return {
        at: FieldRule("method meant", at, "equality", side="request")
        for name, v in body.items()
        if name in fields and isinstance(v, str) and v.upper() == meant and (at := child_path("$", name))
    }


OPERATION_BY = "names the operation: as sent"


def _pin_operation(obs: Observation, ex: Exchange, request: Message, evidence: dict) -> None:
    """The parameters that name the interaction's operation (`?action=query`, a form's `Action=...`) are matched
    by equality: a request for another operation is another interaction's. (A multipart body goes as sent.)"""
    for where, name, _ in obs.ctx.operations.of(ex):
        if where == "query":
            request.rules.setdefault("query", {})[name] = [{"match": "equality"}]
            evidence.setdefault("query", {}).setdefault(name, {})["by"] = OPERATION_BY
        elif where == "form" and isinstance(request.body, str) and (at := child_path("$", name)):
            request.rules.setdefault("body", {})[at] = [{"match": "equality"}]
            evidence.setdefault("request.body", {}).setdefault(at, {})["by"] = OPERATION_BY


def _graphql_rules(request: dict, side: str) -> dict[str, FieldRule]:
    """A GraphQL request's query text matched by its tokens, its operation name as sent."""
    rules = {
        "$.query": FieldRule(
            "graphql query", "$.query", "regex", side=side, regex=graphql.query_regex(request["query"])
        )
    }
    if "operationName" in request:
        rules["$.operationName"] = FieldRule("graphql operation", "$.operationName", "equality", side=side)
    return rules


def _statement_regex(obs: Observation, found: tuple[str, str, str]) -> str:
    """The shapes of the statements this interaction sent where `found` is (the query parameter or body field),
    as far as the distinct values seen list them."""
    where, name, text = found
    schema = obs.shapes["query" if where == "query" else "request.body"].to_schema()
    node = schema.get("properties", {}).get(name, {})
    if "array" in types_of(node):  # query values come as lists
        node = branch(node, "array").get("items", {})
    node = branch(node, "string")
    seen = [v for v in node.get("x-distinct", []) if isinstance(v, str) and statements.kind(v)]
    return statements.regex([text, *seen], node.get("x-distinct-overflow", False))


def _other_texts(obs: Observation, body: bytes, content_type: str) -> tuple[str, ...]:
    """The other recorded responses' bodies of the same kind, as text (the bounded samples)."""
    texts = (_text_body(s.body, content_type) for s in obs.samples if s.body != body and 200 <= s.status < 300)
    return tuple(t for t in texts if t is not None)


def _header_nodes(obs: Observation, side: str) -> dict[str, dict]:
    return obs.shapes[f"{side}.headers"].to_schema().get("properties", {})


def _kept_headers(obs: Observation, side: str, kept: dict[str, str], evidence: dict) -> dict[str, str]:
    """A response's headers that every exchange had; a request's that most exchanges sent (the
    example's value, or the first one seen when the example did not send it)."""
    schema = obs.shapes[f"{side}.headers"].to_schema()
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


def _value_rules(obs: Observation, name: str, strict: bool, evidence: dict) -> dict[str, list[dict]]:
    """Matchers for query parameters or header values that varied between exchanges."""
    schema = obs.shapes[name].to_schema()
    out, facts = {}, {}
    for key, node in schema.get("properties", {}).items():
        if "array" in types_of(node):  # query values come as lists
            node = branch(node, "array").get("items", {})
        matcher, by = _string_matcher(obs, branch(node, "string"), strict)
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


_INTEGER = re.compile(r"^-?[0-9]+$")
_STRICT_ENUM_MAX = 10


def _string_matcher(obs: Observation, node: dict, strict: bool) -> tuple[dict | None, str]:
    distinct, overflow = node.get("x-distinct", []), node.get("x-distinct-overflow", False)
    if PLACEHOLDER in distinct:
        return {"match": "regex", "regex": "^.+$"}, "redacted secret: any value"
    if len(distinct) <= 1 and not overflow:
        return None, "one value seen: exact"
    fmt = next((f for f in obs.ctx.rules.formats if f.name in node.get("x-formats", ())), None)
    if fmt is not None:
        return {"match": "regex", "regex": fmt.regex}, f"format {fmt.name}"
    if all(_INTEGER.match(v) for v in distinct):
        return {"match": "regex", "regex": "^-?[0-9]+$"}, "integers"
    if strict and not overflow and len(distinct) <= _STRICT_ENUM_MAX:
        return {"match": "regex", "regex": "^(" + "|".join(escape(v) for v in distinct) + ")$"}, "values seen"
    return {"match": "regex", "regex": "^.*$"}, "many values"


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


UNREAD_BODY = "recorded without its content: only JSON, form and text bodies are inferred"
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
        if where[-1] == STATEMENT_SUBJECT:  # the name a statement is about: inside the statement's text
            where = where[:-1]
            recorded = found[2] if (found := statement_of(ex)) is not None else None
        else:
            recorded = sent.get(where)
        # a value that carries the param inside it (a URI around an id) keeps the rest of its text
        inside = recorded is not None and recorded != value and value in recorded
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
        elif e["in"] in ("body", "form"):  # a JSON body's place, or a form field's (the core fills those too)
            keys = tuple(e["key"]) if e["in"] == "body" else (e["key"],)
            if (at := _json_path(keys)) is not None:
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
