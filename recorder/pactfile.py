"""Interactions -> a Pact document (V4 by default, V3 on request) and the provider-state hints.

Output is deterministic: interactions sorted by (path template, method, status), keys sorted,
no timestamps, so re-recording the same traffic gives the same bytes.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import yaml

from recorder import __version__
from recorder.headers import MULTI_VALUE
from recorder.infer import NO_BODY, Interaction, Message

SPECS = {"v4": "4.0", "v3": "3.0.0"}


def pact_document(
    consumer: str, provider: str, interactions: list[Interaction], spec: str = "v4", diagnostics: dict | None = None
) -> dict:
    render = _v4_interaction if spec == "v4" else _v3_interaction
    return {
        "consumer": {"name": consumer},
        "provider": {"name": provider},
        "interactions": [render(i) for i in sorted(interactions, key=lambda i: i.key)],
        "metadata": {
            "pactSpecification": {"version": SPECS[spec]},
            "pactRecorder": {"version": __version__, **({"diagnostics": diagnostics} if diagnostics else {})},
        },
    }


def dumps(document: dict) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"


def _common(i: Interaction) -> dict[str, Any]:
    out: dict[str, Any] = {"description": i.description}
    if i.state is not None:
        state: dict[str, Any] = {"name": i.state.name}
        if i.state.params:
            state["params"] = i.state.params_dict
        out["providerStates"] = [state]
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
    out["request"] = _request(i, _v4_headers(i.request.headers), _v4_body(i.request))
    out["response"] = _response(i, _v4_headers(i.response.headers), _v4_body(i.response))
    text = [f"Inferred by pact-recorder from {i.exchanges} recorded exchange(s)."] + i.notes
    out["comments"] = {"text": text, "pactRecorder": provenance(i)}
    if i.tests:
        out["comments"]["testname"] = i.tests[0]
    return out


def provenance(i: Interaction) -> dict[str, Any]:
    """Why each matcher was chosen (and the marker that this interaction was generated)."""
    return {
        "generatedBy": f"pact-recorder {__version__}",
        "endpoint": f"{i.key.method} {i.key.template}",
        "exchanges": i.exchanges,
        "evidence": i.evidence,
        **({"tests": i.tests} if i.tests else {}),
    }


def evidence_sidecar(consumer: str, provider: str, interactions: list[Interaction]) -> dict[str, Any]:
    """V3 has no comments: the same provenance goes into a file beside the pact, by description."""
    return {
        "consumer": consumer,
        "provider": provider,
        "interactions": {i.description: provenance(i) | {"notes": i.notes} for i in interactions},
    }


def _v4_headers(headers: dict[str, str]) -> dict[str, list[str]]:
    # The core splits actual values of known multi-value headers on commas; expected values must match.
    return {k: [p.strip() for p in v.split(",")] if k.lower() in MULTI_VALUE else [v] for k, v in headers.items()}


def _v4_body(m: Message) -> dict[str, Any]:
    if m.body is NO_BODY:
        return {}
    ctype = m.headers.get("Content-Type", "application/json")
    return {"body": {"content": m.body, "contentType": ctype, "encoded": False}}


def _v3_interaction(i: Interaction) -> dict[str, Any]:
    out = _common(i)
    out["request"] = _request(i, i.request.headers, _v3_body(i.request))
    out["response"] = _response(i, i.response.headers, _v3_body(i.response))
    return out


def _v3_body(m: Message) -> dict[str, Any]:
    return {} if m.body is NO_BODY else {"body": m.body}


def states_hints(consumer: str, provider: str, interactions: list[Interaction]) -> str:
    """Every provider state a verification needs, once: its params, the interactions that need it, the
    data the provider must hold (the recorded response, redacted) and where recorded values came from."""
    states: dict[str, dict[str, Any]] = {}
    for i in sorted(interactions, key=lambda i: i.key):
        if i.state is None:
            continue
        entry = states.setdefault(
            i.state.name, {"name": i.state.name, "params": i.state.params_dict, "interactions": []}
        )
        entry["interactions"].append(i.description)
        if 200 <= i.status < 300 and i.recorded_body is not None and ("data" not in entry or i.method == "GET"):
            entry["data"] = i.recorded_body  # a read shows the data best; any success response will do
        for param, origin in sorted(i.derived_from.items()):
            note = f"{param} {origin}; this state lets the interaction be verified on its own"
            if note not in entry.setdefault("notes", []):
                entry["notes"].append(note)
    doc = {"consumer": consumer, "provider": provider, "states": [states[name] for name in sorted(states)]}
    header = (
        f"# Provider states needed to verify the pact between {consumer} and {provider}.\n"
        "# Written by pact-recorder. For each state: its params, the interactions that need it, and the\n"
        "# data the provider must hold (the recorded response). `pact-recorder states scaffold PACT`\n"
        "# turns this into a Python module of state handlers.\n"
    )
    return header + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, default_flow_style=False, width=100)
