"""From exchanges to interactions: one Observation per (method, path template, status).

An Observation is updated by every exchange of its interaction and keeps only what inference needs:
the first exchange as the example (so examples are real values, and the same traffic always picks the
same one), a count, and the merged shapes of the JSON bodies. Memory grows with the number of
interactions, not with traffic.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from recorder import headers as hdr
from recorder.endpoints import path_regex, to_endpoint
from recorder.matchers import body_rules, example_body
from recorder.model import Endpoint, Exchange, InteractionKey
from recorder.shapes import ShapeBuilder
from recorder.states import ProviderState, path_expression, state_for

NO_BODY = object()
"""Marks a message recorded without a body (none was sent, or it was not JSON)."""


@dataclass
class Message:
    """One side of an interaction, independent of the Pact spec version it will be written in."""

    headers: dict[str, str]
    body: Any = NO_BODY
    rules: dict[str, Any] = field(default_factory=dict)  # category -> rules ("path" has no key level)
    generators: dict[str, Any] = field(default_factory=dict)


@dataclass
class Interaction:
    key: InteractionKey
    description: str
    state: ProviderState | None
    method: str
    path: str
    query: dict[str, list[str]]
    request: Message
    status: int
    response: Message
    exchanges: int
    notes: list[str]


def json_body(body: bytes, content_type: str | None) -> Any:
    """The parsed body when it is JSON (by content type and by content), else NO_BODY."""
    if not body or not content_type or "json" not in content_type.lower():
        return NO_BODY
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return NO_BODY


class Observation:
    """Everything seen of one interaction so far."""

    def __init__(self, key: InteractionKey, endpoint: Endpoint, values: dict[str, str], first: Exchange):
        self.key, self.endpoint, self.values, self.example = key, endpoint, values, first
        self.count = 0
        self.request_shape = ShapeBuilder()
        self.response_shape = ShapeBuilder()
        self.unparsed_bodies = {"request": 0, "response": 0}

    def add(self, exchange: Exchange) -> None:
        self.count += 1
        for side, body, ctype, shape in (
            ("request", exchange.request_body, exchange.request_header("content-type"), self.request_shape),
            ("response", exchange.response_body, exchange.response_header("content-type"), self.response_shape),
        ):
            value = json_body(body, ctype)
            if value is NO_BODY:
                self.unparsed_bodies[side] += bool(body)
            else:
                shape.add_object(value)

    def to_interaction(self) -> Interaction:
        ex, notes = self.example, []
        request = _message(ex.request_headers, ex.request_body, self.request_shape, hdr.REQUEST_NOISE, notes, "request")
        response = _message(
            ex.response_headers, ex.response_body, self.response_shape, hdr.RESPONSE_NOISE, notes, "response"
        )
        state = state_for(self.endpoint, self.values, self.key.status)
        if self.endpoint.params:
            request.rules["path"] = [{"match": "regex", "regex": path_regex(self.endpoint)}]
            request.generators["path"] = {
                "type": "ProviderState",
                "expression": path_expression(self.endpoint),
                "dataType": "STRING",
            }
        query: dict[str, list[str]] = {}
        for name, value in ex.query:
            query.setdefault(name, []).append(value)
        return Interaction(
            key=self.key,
            description=f"{self.key.method} {self.key.template} returns {self.key.status}",
            state=state,
            method=ex.method,
            path=ex.path,
            query=query,
            request=request,
            status=ex.status,
            response=response,
            exchanges=self.count,
            notes=notes,
        )


def _message(headers, body: bytes, shape: ShapeBuilder, noise, notes: list[str], side: str) -> Message:
    kept = hdr.kept(headers, noise)
    msg = Message(headers=kept)
    if rules := hdr.header_rules(kept):
        msg.rules["header"] = rules
    value = json_body(body, kept.get("Content-Type"))
    if value is not NO_BODY:
        schema = shape.to_schema()
        msg.body = example_body(schema, value)
        if rules := body_rules(schema, msg.body):
            msg.rules["body"] = rules
    elif body:
        notes.append(
            f"{side} body ({kept.get('Content-Type', 'no content type')}, {len(body)} bytes) "
            "not recorded: only JSON bodies are inferred so far"
        )
    return msg


def observe(observations: dict[InteractionKey, Observation], exchange: Exchange) -> None:
    """Add one exchange to the observation of its interaction, creating it on first sight."""
    endpoint, values = to_endpoint(exchange.path)
    key = InteractionKey(endpoint.template, exchange.method.upper(), exchange.status)
    if (obs := observations.get(key)) is None:
        obs = observations[key] = Observation(key, endpoint, values, exchange)
    obs.add(exchange)
