"""mitmproxy flows -> Exchange values: the only module of the core that reads mitmproxy objects."""

from __future__ import annotations

from pathlib import Path

from mitmproxy import http, io
from mitmproxy.flow import Flow

from recorder.capture.parts import Parts, exchange_from_parts
from recorder.model import Exchange

KEPT_BODY = "pact_kept_body"  # flow metadata: the SHA-256 of a streamed request body kept (capture.kept_bodies)


def flow_parts(flow: object) -> Parts | str:
    """The raw parts of the exchange a flow holds, or the reason it cannot be recorded."""
    if not isinstance(flow, http.HTTPFlow):
        return f"not HTTP ({type(flow).__name__})"
    if flow.websocket is not None:
        return "websocket (Pact cannot describe it)"
    if flow.response is None:
        return f"no response from the provider ({flow.error.msg if flow.error else 'unknown error'})"
    rq, rs = flow.request, flow.response
    # A body larger than --max-body was streamed through untouched and is not in the flow (None).
    streamed = tuple(side for side, m in (("request", rq), ("response", rs)) if m.stream or m.raw_content is None)
    return (rq.method, rq.path, rq.headers.fields, rq.raw_content, rs.status_code, rs.headers.fields, rs.raw_content,
            rq.host, rq.authority, streamed, flow.metadata.get(KEPT_BODY, ""))  # fmt: skip


def state_parts(state: dict) -> Parts | str:
    """flow_parts of the flow a .mitm file's (migrated) state describes, without building the flow: that
    is half of what reading a flow costs (tests/test_capture.py proves the parts the same)."""
    rq, rs = state.get("request"), state.get("response")
    if state.get("type") != "http" or state.get("websocket") is not None or rs is None:
        return flow_parts(Flow.from_state(state))  # what flow_parts says why (or an error), the slow way
    authority = rq["authority"]
    try:
        authority = authority.decode("idna")  # as Request.authority reads it
    except UnicodeError:
        authority = authority.decode("utf8", "surrogateescape")
    streamed = tuple(side for side, m in (("request", rq), ("response", rs)) if m["content"] is None)
    return (
        rq["method"].decode("utf-8", "surrogateescape").upper(),
        rq["path"].decode("utf-8", "surrogateescape"),
        tuple(map(tuple, rq["headers"])),
        rq["content"],
        rs["status_code"],
        tuple(map(tuple, rs["headers"])),
        rs["content"],
        rq["host"],
        authority,
        streamed,
        (state.get("metadata") or {}).get(KEPT_BODY, ""),
    )


def to_exchange(flow: object) -> Exchange | str:
    """The exchange a flow holds, or the reason it cannot be recorded."""
    parts = flow_parts(flow)
    return parts if isinstance(parts, str) else exchange_from_parts(parts)


def redacted_copy(flow: http.HTTPFlow, kept: Exchange) -> http.HTTPFlow:
    """A copy of the flow carrying only what was kept: what --save-flows writes (secrets never do)."""
    copy = flow.copy()
    if kept.redirected:  # the consumer's own request, which the recording pairs with this response
        copy.request.method, copy.request.path = kept.method, kept.path
    copy.request.headers = _headers(kept.request_headers)
    copy.request.query = list(kept.query)
    copy.response.headers = _headers(kept.response_headers)
    for message, side, body in (
        (copy.request, "request", kept.request_body),
        (copy.response, "response", kept.response_body),
    ):
        if side not in kept.streamed:
            message.content = body
    return copy


def _headers(pairs) -> http.Headers:
    headers = http.Headers()
    for name, value in pairs:
        headers.add(name, value)
    return headers


class FlowSaver:
    """Appends (redacted) flows to a .mitm file, flushed after each one, so that a recording can be
    re-inferred later with other rules (`pact-recorder infer FILE.mitm`)."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.file = open(path, "wb")  # noqa: SIM115 - kept open for the whole recording, closed in done
        self.writer = io.FlowWriter(self.file)

    def add(self, flow: http.HTTPFlow) -> None:
        self.writer.add(flow)
        self.file.flush()

    def close(self) -> None:
        self.file.close()
