"""mitmproxy flows -> Exchange values: the only module of the core that reads mitmproxy objects."""

from __future__ import annotations

from urllib.parse import urlsplit

from mitmproxy import http

from recorder.model import Exchange
from recorder.pipeline import Recording


def to_exchange(flow: object) -> Exchange | str:
    """The exchange a flow holds, or the reason it cannot be recorded."""
    if not isinstance(flow, http.HTTPFlow):
        return f"not HTTP ({type(flow).__name__})"
    if flow.websocket is not None:
        return "websocket (Pact cannot describe it)"
    if flow.response is None:
        return f"no response from the provider ({flow.error.msg if flow.error else 'unknown error'})"
    rq, rs = flow.request, flow.response
    # A body larger than --max-body was streamed through untouched and is not in the flow (None).
    streamed = tuple(side for side, m in (("request", rq), ("response", rs)) if m.stream or m.raw_content is None)
    return Exchange(
        method=rq.method.upper(),
        path=urlsplit(rq.path).path or "/",
        query=tuple(rq.query.items(multi=True)),
        request_headers=_real_headers(rq.headers),
        request_body=rq.get_content(strict=False) or b"",
        status=rs.status_code,
        response_headers=_real_headers(rs.headers),
        response_body=rs.get_content(strict=False) or b"",
        host=rq.pretty_host,
        streamed=streamed,
    )


def _real_headers(headers: http.Headers) -> tuple[tuple[str, str], ...]:
    """Header pairs without HTTP/2 pseudo-headers (:authority, :path, ...), which Chrome's HAR export
    lists among the headers and which no request can carry."""
    return tuple((k, v) for k, v in headers.items(multi=True) if not k.startswith(":"))


def record_flow(recording: Recording, flow: object) -> Exchange | None:
    """Feed one flow to a recording; the exchange as kept (redacted), or None when it was skipped."""
    result = to_exchange(flow)
    if isinstance(result, str):
        recording.skip(result)
        return None
    return recording.add(result)


def redacted_copy(flow: http.HTTPFlow, kept: Exchange) -> http.HTTPFlow:
    """A copy of the flow carrying only what was kept: what --save-flows writes (secrets never do)."""
    copy = flow.copy()
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
