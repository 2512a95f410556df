"""Interactions -> a Pact document (V4 by default, V3 on request) and the provider-state hints.

Output is deterministic: interactions sorted by (path template, method, status), keys sorted,
no timestamps, so re-recording the same traffic gives the same bytes.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import yaml

from recorder import __version__
from recorder.formats.digests import named_digest
from recorder.infer.headers import MULTI_VALUE
from recorder.infer.observation import key_operation, key_part
from recorder.infer.render import NO_BODY, Interaction, Message
from recorder.model import Binary, json_body
from recorder.states.provider_states import ProviderState
from recorder.states.steps import Step, step_request_values
from recorder.states.undoers import Undoers

SPECS = {"v4": "4.0", "v3": "3.0.0"}
REACHED_AT = "providerReachedAt"  # pactRecorder metadata: the provider's host:port as the consumer reached it
STATES, EVIDENCE = "states", "evidence"
"""pactRecorder metadata a pact carries for its verification: the states document (what the states file
beside it shows as YAML) and, in a V3 pact (no comments), each interaction's evidence by description."""


def pact_document(
    consumer: str,
    provider: str,
    interactions: list[Interaction],
    spec: str = "v4",
    diagnostics: dict | None = None,
    reached: Sequence[str] = (),
    carried: dict | None = None,
) -> dict:
    """`reached`: the provider's address as the consumer reached it, where requests name it in a URL.
    `carried`: what a verification needs from the recording (STATES, EVIDENCE), kept in the pact's metadata so that
    the pact alone, fetched from a broker, verifies as it does beside its files."""
    render = _v4_interaction if spec == "v4" else _v3_interaction
    ours = {"version": __version__, **({"diagnostics": diagnostics} if diagnostics else {}), **(carried or {})}
    return {
        "consumer": {"name": consumer},
        "provider": {"name": provider},
        "interactions": [render(i) for i in sorted(interactions, key=lambda i: i.key)],
        "metadata": {
            "pactSpecification": {"version": SPECS[spec]},
            "pactRecorder": ours | ({REACHED_AT: list(reached)} if reached else {}),
        },
    }


def meta(document: dict) -> dict:
    """What pact-recorder wrote in a pact's metadata."""
    return (document.get("metadata") or {}).get("pactRecorder") or {}


def carried_evidence(document: dict) -> dict[str, dict]:
    """Each interaction's evidence by description: its V4 comments, else what a V3 pact carries."""
    found = {
        i.get("description", ""): e
        for i in document.get("interactions", [])
        if isinstance(e := (i.get("comments") or {}).get("pactRecorder"), dict)
    }
    return found or {d: e for d, e in (meta(document).get(EVIDENCE) or {}).items() if isinstance(e, dict)}


def reached_at(document: dict) -> list[str]:
    return [a for a in meta(document).get(REACHED_AT) or [] if isinstance(a, str)]


def dumps(document: dict) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"


def _common(i: Interaction) -> dict[str, Any]:
    out: dict[str, Any] = {"description": i.description}
    if i.states:
        out["providerStates"] = [
            {"name": st.name, **({"params": st.params_dict} if st.params else {})} for st in i.states
        ]
    return out


def _request(i: Interaction, headers: dict, body: dict) -> dict[str, Any]:
    req: dict[str, Any] = {"method": i.method, "path": i.path}
    if i.query:
        req["query"] = i.query
    return req | _message_parts(i.request, headers, body)


def _response(i: Interaction, headers: dict, body: dict) -> dict[str, Any]:
    return {"status": i.status} | _message_parts(i.response, headers, body)


def _message_parts(m: Message, headers: dict, body: dict) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if headers:
        out["headers"] = headers
    out |= body
    if m.rules:
        out["matchingRules"] = {cat: _groups(cat, rules) for cat, rules in m.rules.items()}
    if m.generators:
        out["generators"] = m.generators
    return out


def _groups(category: str, rules: Any) -> dict:
    """Rules -> the core's {"matchers": [...], "combine": ...} groups. A list means AND; a group that
    already says how to combine (OR for nullable fields) stays as it is. (The core silently drops a
    rule written as a bare list.)"""
    if category == "path":
        return _group(rules)
    return {key: _group(matchers) for key, matchers in rules.items()}


def _group(matchers: list | dict) -> dict:
    return matchers if isinstance(matchers, dict) else {"matchers": matchers, "combine": "AND"}


def interaction_key(i: Interaction) -> str:
    k = i.key
    return hashlib.sha256(f"{k.method} {k.template} {k.status} {k.body_shape}".encode()).hexdigest()[:16]


def _v4_interaction(i: Interaction) -> dict[str, Any]:
    out = {"type": "Synchronous/HTTP", "key": interaction_key(i), "pending": False} | _common(i)
    out["request"] = _request(i, _v4_request_headers(i.request.headers), _v4_body(i.request))
    out["response"] = _response(i, _v4_headers(i.response.headers), _v4_body(i.response))
    distinct = f" ({n} distinct)" if (n := _repeats_left(i)) else ""
    text = [f"Inferred by pact-recorder from {i.exchanges} recorded exchange(s){distinct}."] + i.notes
    out["comments"] = {"text": text, "pactRecorder": provenance(i)}
    if i.tests:
        out["comments"]["testname"] = i.tests[0]
    return out


def provenance(i: Interaction) -> dict[str, Any]:
    """Why each matcher was chosen (and the marker that this interaction was generated)."""
    return {
        "generatedBy": f"pact-recorder {__version__}",
        "endpoint": f"{i.key.method} {i.key.template}",
        **({"operation": op} if (op := key_operation(i.key)) else {}),  # named inside the request (GraphQL, RPC)
        **({"as": meant} if (meant := key_part(i.key, "as")) else {}),  # the method a POST tunnelled
        "exchanges": i.exchanges,
        **({"distinct": n} if (n := _repeats_left(i)) else {}),
        "evidence": i.evidence,
        **({"tests": i.tests} if i.tests else {}),
        **({"secrets": [dict(s) for s in i.secrets]} if i.secrets else {}),
        # the answer as recorded where the contract left keys out (a null, an array or null): what `replay` serves,
        # since a client may need every key it asked for (a GraphQL cache, an introspecting client)
        **({"recorded": i.recorded_body} if _left_out(i.response.body, i.recorded_body) else {}),
    }


def _left_out(example: Any, recorded: Any) -> bool:
    """Does the contract's example lack a key the recorded answer has, at any depth?"""
    if isinstance(recorded, dict):
        return not isinstance(example, dict) or any(
            k not in example or _left_out(example[k], v) for k, v in recorded.items()
        )
    if isinstance(recorded, list) and isinstance(example, list):
        return any(_left_out(e, r) for e, r in zip(example, recorded, strict=False))
    return False


def _repeats_left(i: Interaction) -> int | None:
    """How many of its exchanges differed, when some were repeats (said only then)."""
    return i.distinct if 0 < i.distinct < i.exchanges else None


def evidence_by_description(interactions: list[Interaction]) -> dict[str, Any]:
    """V3 has no comments: the same provenance, by description (in the pact's metadata and beside it)."""
    return {i.description: provenance(i) | {"notes": i.notes} for i in interactions}


def _v4_request_headers(headers: dict[str, str]) -> dict[str, list[str]]:
    # The verifier sends each value of a list as a header line of its own, and splits a plain string on
    # commas first: one value in a list is one line, as the consumer sent it (`Accept: a, b`).
    return {k: [v] for k, v in headers.items()}


def _v4_headers(headers: dict[str, str]) -> dict[str, list[str]]:
    # The core splits actual values of known multi-value headers on commas; expected values must match.
    return {k: [p.strip() for p in v.split(",")] if k.lower() in MULTI_VALUE else [v] for k, v in headers.items()}


def _v4_body(m: Message) -> dict[str, Any]:
    if m.body is NO_BODY:
        return {}
    ctype = m.body_type or m.headers.get("Content-Type") or "application/json"
    if isinstance(m.body, Binary):
        content = base64.b64encode(m.body.data).decode("ascii")
        return {"body": {"content": content, "contentType": ctype, "encoded": "base64"}}
    # "encoded": "json" makes the core send the text as it is; a JSON value it would write anew.
    return {"body": {"content": m.body, "contentType": ctype, "encoded": "json" if m.exact else False}}


def _v3_interaction(i: Interaction) -> dict[str, Any]:
    out = _common(i)
    out["request"] = _request(i, i.request.headers, _v3_body(i.request))
    out["response"] = _response(i, i.response.headers, _v3_body(i.response))
    return out


def _v3_body(m: Message) -> dict[str, Any]:
    # V3 bodies are JSON values or text: a binary example (an upload's file part) cannot be written.
    return {} if m.body is NO_BODY or isinstance(m.body, Binary) else {"body": m.body}


def states_document(
    consumer: str,
    provider: str,
    interactions: list[Interaction],
    reset: Step | None = None,
    undoers: Undoers | None = None,
) -> dict[str, Any]:
    """Every provider state a verification needs, once per name and params: the interactions that need
    it, its setup (the recorded requests that make it, numbered in `steps`), and the data the provider
    held. `verify --states-from-recording` runs the setups; `states scaffold` turns them into code."""
    states: dict[tuple, dict[str, Any]] = {}
    chosen: dict[tuple, ProviderState] = {}
    for i in sorted(interactions, key=lambda i: i.key):
        for st in i.states:
            if st.identity not in states:
                states[st.identity] = {"name": st.name, "params": st.params_dict, "interactions": []}
            if st.identity not in chosen or len(st.steps) > len(chosen[st.identity].steps):
                chosen[st.identity] = st  # the latest history of a resource makes its earlier versions too
            states[st.identity]["interactions"].append(i.description)
    numbers = step_numbers([s for st in chosen.values() for s in st.steps] + ([reset] if reset else []))
    undos = {s: found for s in numbers if undoers is not None and (found := undoers.undo(s)) is not None}
    used = used_values(interactions, numbers) | {value for *_, value in undos.values()}
    for identity, entry in states.items():
        st = chosen[identity]
        if st.steps:
            entry["setup"] = [numbers[s] for s in st.steps]
        if st.seed:
            entry["seed"] = "no recorded request makes this: the provider must hold it before verifying"
        if st.delete:
            entry["absent"] = st.delete
        if st.clock:  # a verification sends now + offset, in the kind recorded
            entry["clock"] = {param: {"kind": kind, "offset": offset} for param, kind, offset in st.clock}
        if st.data is not None:
            entry["data"] = st.data
    doc: dict[str, Any] = {"consumer": consumer, "provider": provider}
    if reset is not None:
        doc["reset"] = numbers[reset]
    doc["states"] = [states[k] for k in sorted(states, key=lambda k: (k[0], json.dumps(k[1], default=str)))]
    doc["steps"] = {n: step_document(s, used) for s, n in numbers.items()}
    for s, (undo, at, value) in undos.items():  # how the consumer deleted such a thing (no path names it)
        written = step_document(replace(undo, produced={}, issued=()), set())
        doc["steps"][numbers[s]]["undo"] = written | {"id": {"at": _listed(at), "value": value}}
    return doc


def states_hints(states: dict[str, Any]) -> str:
    """The states document as the file beside the pact shows it (YAML, with a header that says what it is)."""
    consumer, provider = states["consumer"], states["provider"]
    header = (
        f"# Provider states needed to verify the pact between {consumer} and {provider}.\n"
        "# Written by pact-recorder. For each state: its params, the interactions that need it, its setup\n"
        "# (recorded requests, numbered in `steps`, that make it through the provider's own API) and the\n"
        "# data the provider held. `pact-recorder verify PACT --states-from-recording` runs the setups;\n"
        "# `pact-recorder states scaffold PACT` writes them as a Python module to edit.\n"
    )
    params = {p for st in states["states"] for p in st.get("params") or {}}
    header += "".join(line for name, line in _COUNTED_PARAMS if name in params)
    return header + yaml.dump(states, Dumper=HINTS_DUMPER, sort_keys=False, allow_unicode=True, width=100)


# What the params the recorder adds to tell states apart mean, said in the header where a state has one.
_COUNTED_PARAMS = (
    ("version", "# `version: N`: the resource as N writes left it (an ETag of an earlier version is stale).\n"),
    (
        "variant",
        "# `variant: N`: the Nth way the recording made the same state (created empty in one test, holding\n"
        "# data in another); each variant's setup makes it that way.\n",
    ),
)


# The hints hold each example's data (tens of KB for a list): libyaml writes them ten times as fast as
# PyYAML's own emitter, which folds long quoted strings elsewhere; both load to the same document.
HINTS_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def step_numbers(steps: list[Step]) -> dict[Step, int]:
    """Steps numbered 1.. in recorded order (the same traffic always gives the same numbers)."""
    return {s: n for n, s in enumerate(sorted(set(steps), key=lambda s: (s.seq, s.path, s.body)), 1)}


def used_values(interactions: list[Interaction], steps: dict[Step, int]) -> set[str]:
    """Recorded values that a request sends again: what a setup must learn the fresh provider's value of."""
    used = {value for i in interactions for _, value in i.uses.values()}
    for step in steps:
        used |= set(step_request_values(step).values())
    return used


def step_document(step: Step, used: set[str]) -> dict[str, Any]:
    out: dict[str, Any] = {"method": step.method, "path": step.path}
    if step.meant:
        out["as"] = step.meant  # a POST that tunnels this method: sent as recorded, undone as what it did
    if step.query:
        out["query"] = [[k, v] for k, v in step.query]
    if step.headers:
        out["headers"] = [[k, v] for k, v in step.headers]
    places = [step.path, *(v for _, v in (*step.query, *step.headers)), *step.produced.values()]
    out |= body_document(step.body, step.content_type, places)
    if step.kept:
        out["body_sha256"] = step.kept  # its bytes beside the states file, in CONSUMER-PROVIDER.bodies/
    elif step.unrecorded:
        out["unrecorded_body_bytes"] = step.unrecorded
    out["status"] = step.status
    if step.creates:
        out["creates"] = step.creates
    if step.named:
        out["named"] = step.named
    if step.like:
        out["like"] = step.like  # made as the recording made that sibling: the provider may hold it already
    if capture := [{"at": _listed(at), "value": v} for at, v in step.produced.items() if v in used]:
        out["capture"] = capture
    if step.secrets:
        out["secrets"] = [dict(s) for s in step.secrets]
    if step.issued:
        out["issues"] = [dict(s) for s in step.issued]
    return out


def _listed(at: tuple) -> list:
    """A location as YAML and JSON write it (an item of a list by its key: a list too)."""
    return [list(k) if isinstance(k, tuple) else k for k in at]


def body_document(body: bytes, content_type: str | None, places: Sequence[str] = ()) -> dict[str, Any]:
    """A setup step's body: JSON as a value (the setup binds fresh values into it), but as the text sent
    when the exchange names its digest (`places`: its path, query and header values, what its response
    handed out)."""
    if not body:
        return {}
    value = json_body(body, content_type)
    if value is not NO_BODY and named_digest(body, places) is None:
        return {"json": value}
    try:
        return {"text": body.decode("utf-8")}
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(body).decode("ascii")}
