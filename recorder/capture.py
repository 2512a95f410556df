"""mitmproxy flows -> Exchange values: the only module of the core that reads mitmproxy objects."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from mitmproxy import http, io
from mitmproxy.net import encoding
from mitmproxy.net.http import url

from recorder.model import Exchange
from recorder.pipeline import Recording

# What recording needs of a flow, taken without decoding anything (a few microseconds): the proxy hands
# these to the recording process, which decodes them (exchange_from_parts) while the proxy goes on.
Parts = tuple


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
            rq.host, rq.authority, streamed)  # fmt: skip


def exchange_from_parts(parts: Parts) -> Exchange:
    method, path, rq_fields, rq_raw, status, rs_fields, rs_raw, host, authority, streamed = parts
    rq_headers, rs_headers = http.Headers(rq_fields), http.Headers(rs_fields)
    # mitmproxy's Request.pretty_host, done here: parsing the authority is costly for the proxy's hook.
    if authority := authority or rq_headers.get("host"):
        host = url.parse_authority(authority, check=False)[0]
    split = urlsplit(path)
    return Exchange(
        method=method.upper(),
        path=split.path or "/",
        query=tuple(url.decode(split.query)),
        request_headers=_real_headers(rq_headers),
        request_body=_decoded(rq_raw, rq_headers),
        status=status,
        response_headers=_real_headers(rs_headers),
        response_body=_decoded(rs_raw, rs_headers),
        host=host,
        streamed=streamed,
    )


def to_exchange(flow: object) -> Exchange | str:
    """The exchange a flow holds, or the reason it cannot be recorded."""
    parts = flow_parts(flow)
    return parts if isinstance(parts, str) else exchange_from_parts(parts)


def _real_headers(headers: http.Headers) -> tuple[tuple[str, str], ...]:
    """Header pairs without HTTP/2 pseudo-headers (:authority, :path, ...), which Chrome's HAR export
    lists among the headers and which no request can carry."""
    return tuple((k, v) for k, v in headers.items(multi=True) if not k.startswith(":"))


def _decoded(raw: bytes | None, headers: http.Headers) -> bytes:
    """The body without its Content-Encoding; as it came when that cannot be undone (as mitmproxy does)."""
    if not raw:
        return b""
    if ce := headers.get("content-encoding"):
        try:
            content = encoding.decode(raw, ce)
        except ValueError:
            return raw
        return content if isinstance(content, bytes) else raw
    return raw


def record_flow(recording: Recording, flow: object, keep: bool = False) -> Exchange | None:
    """Feed one flow to a recording; the exchange as kept (redacted), or None when it was skipped.
    `keep`: the caller keeps it (--save-flows), every body read (see Recording.add)."""
    result = to_exchange(flow)
    if isinstance(result, str):
        recording.skip(result)
        return None
    return recording.add(result, keep=keep)


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
