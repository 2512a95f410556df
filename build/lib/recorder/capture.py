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
    return Exchange(
        method=rq.method.upper(),
        path=urlsplit(rq.path).path or "/",
        query=tuple(rq.query.items(multi=True)),
        request_headers=tuple(rq.headers.items(multi=True)),
        request_body=rq.get_content(strict=False) or b"",
        status=rs.status_code,
        response_headers=tuple(rs.headers.items(multi=True)),
        response_body=rs.get_content(strict=False) or b"",
    )


def record_flow(recording: Recording, flow: object) -> None:
    """Feed one flow to a recording: recorded, or skipped with its reason."""
    result = to_exchange(flow)
    if isinstance(result, str):
        recording.skip(result)
    else:
        recording.add(result)
