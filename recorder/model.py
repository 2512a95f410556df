"""Plain frozen values that flow through the pipeline.

Only `capture` builds an `Exchange` from mitmproxy objects; everything after it works on these values
and never sees mitmproxy.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from recorder.formats import json_text

NO_BODY: Any = type("NoBody", (), {"__repr__": lambda self: "NO_BODY"})()
"""Marks a body that is absent or not JSON (and a message recorded without a body)."""


# Labels that say nothing of the format: the content decides. Browsers' SDKs send JSON as text/plain so that no
# CORS pre-flight is needed (the session token and the password inside it); HAR exports leave Content-Type out.
UNTYPED = ("text/plain", "application/octet-stream")
PLACEHOLDER = "<redacted>"  # what a redacted secret is written as (recorder.secrets.redact)


def untyped(content_type: str | None) -> bool:
    """Is the Content-Type one of the UNTYPED labels (the body's content says what it is)?"""
    return (content_type or "").lower().startswith(UNTYPED)


def json_body(body: bytes, content_type: str | None) -> Any:
    """The parsed body when it is JSON (by content type and by content), else NO_BODY. A body without a
    content type, or with one of the UNTYPED labels, is sniffed."""
    if not body:
        return NO_BODY
    if "json" not in (content_type or "").lower():
        if content_type and not untyped(content_type):
            return NO_BODY
        if body.lstrip()[:1] not in (b"{", b"["):
            return NO_BODY
    try:
        return json_text.loads(body)
    except (ValueError, UnicodeDecodeError):
        return NO_BODY


@dataclass(frozen=True)
class Binary:
    """A body example that is not UTF-8 text (an upload with a binary file part): V4 writes it base64."""

    data: bytes


Headers = tuple[tuple[str, str], ...]
"""Header pairs in the order they were seen; names keep their case, duplicates are kept."""


@dataclass(frozen=True)
class Exchange:
    """One request and the response the provider gave to it, bodies already decoded.

    `request_json` / `response_json` are the bodies parsed once (cached): NO_BODY when not JSON."""

    method: str
    path: str  # without the query string, as sent on the wire (percent-encoding kept)
    query: tuple[tuple[str, str], ...]
    request_headers: Headers
    request_body: bytes
    status: int
    response_headers: Headers
    response_body: bytes
    host: str = ""  # the provider's host, for selection rules
    streamed: tuple[str, ...] = ()  # "request"/"response": bodies streamed past unrecorded (too large)
    kept_body: str = ""  # the SHA-256 of a streamed request body kept beside the states file (capture.kept_bodies)
    secrets: tuple = ()  # where the request's redacted values were, each with a name (see redact)
    issued: tuple = ()  # where the response handed out secrets (a login's token), each with its name
    redirected: str = ""  # the path the provider redirected this request to (see redirects)
    # (query | form | multipart, name, value) of the parameters whose values name the operation the request asks
    # for (`?action=query&list=allpages`: the rules' `operations`), found by the pipeline after redaction
    operation_params: tuple[tuple[str, str, str], ...] = ()
    # the method a POST carried as the one it means (`X-HTTP-Method-Override: PUT`, a body's `_method: "DELETE"`:
    # the rules' method_override), found by the pipeline; the request stays as sent
    meant: str = ""

    @property
    def acts_as(self) -> str:
        """The method the request means, upper case: what it did to the provider (a read, an update, a delete)."""
        return self.meant or self.method.upper()

    @cached_property
    def request_json(self) -> Any:
        return json_body(self.request_body, self.request_header("content-type"))

    @cached_property
    def response_json(self) -> Any:
        return json_body(self.response_body, self.response_header("content-type"))

    def request_header(self, name: str) -> str | None:
        return header_value(self.request_headers, name)

    def response_header(self, name: str) -> str | None:
        return header_value(self.response_headers, name)


def header_value(headers: Headers, name: str) -> str | None:
    """The first value of a header, looked up case-insensitively."""
    lname = name.lower()
    return next((v for k, v in headers if k.lower() == lname), None)


@dataclass(frozen=True, slots=True)
class Segment:
    """One segment of a path template: a literal, or a parameter with what detected it."""

    text: str  # the literal text, or the parameter name
    kind: str | None = None  # None for a literal; the detector ("integer", "uuid", ...) for a parameter
    regex: str = ""  # for a parameter: what the contract accepts in this segment
    numeric: bool = False  # for a parameter: provider states carry its value as a number
    suffix: str = ""  # a leaf parameter's extension (`{id}.ics`): other extensions, other endpoints

    @property
    def is_param(self) -> bool:
        return self.kind is not None


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A path template such as /users/{id}, with the values one exchange had for its parameters."""

    segments: tuple[Segment, ...]
    trailing_slash: bool = False

    @property
    def template(self) -> str:
        parts = [f"{{{s.text}}}{s.suffix}" if s.is_param else s.text for s in self.segments]
        return "/" + "/".join(parts) + ("/" if self.trailing_slash and parts else "")

    @property
    def params(self) -> tuple[Segment, ...]:
        return tuple(s for s in self.segments if s.is_param)


@dataclass(frozen=True, slots=True, order=True)
class InteractionKey:
    """What makes two exchanges the same interaction: method, path template, status and the shape of
    the request body (the Pact core rejects request bodies with keys the contract does not name, so
    requests with different key sets need interactions of their own)."""

    template: str
    method: str
    status: int
    body_shape: str = ""


SAMPLES = 3  # recorded responses per interaction: the example, the first that differs, the last


@dataclass(frozen=True)
class Sample:
    """One recorded (redacted) response, replayed to the verifier as the provider sent it."""

    status: int
    headers: Headers
    body: bytes


def samples_kept(kept: list[Sample], sample: Sample) -> list[Sample]:
    """The bounded samples of an interaction after one more response: the first, the first that
    differs from it, and the latest other one (the same traffic keeps the same samples)."""
    if sample in kept:
        return kept
    if len(kept) < SAMPLES - 1:
        return [*kept, sample]
    return [*kept[: SAMPLES - 1], sample]
