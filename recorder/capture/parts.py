"""A captured exchange's raw parts -> Exchange: what the recording process does first with each.

The proxy's hook (capture.flows.flow_parts) and the reader of a .mitm file (capture.flows.state_parts) take what
recording needs of a flow without decoding anything; this decodes it, in the recording process, which
imports only this much of mitmproxy (its start is on the way of every `infer`).
"""

from __future__ import annotations

from functools import lru_cache

from mitmproxy.net import encoding
from mitmproxy.net.http import url

from recorder.model import Exchange
from recorder.urls import split_target

# (method, path, request header fields, raw request body, status, response header fields, raw response
# body, host, authority, the sides streamed past unrecorded[, the SHA-256 of a streamed request body kept]):
# header fields and bodies as bytes.
Parts = tuple


def exchange_from_parts(parts: Parts) -> Exchange:
    method, path, rq_fields, rq_raw, status, rs_fields, rs_raw, host, authority, streamed, *kept = parts
    rq_headers, rs_headers = _real_headers(rq_fields), _real_headers(rs_fields)
    # mitmproxy's Request.pretty_host, done here: parsing the authority is costly for the proxy's hook.
    if authority := authority or _joined(rq_headers, "host"):
        host = _host(authority)
    path, query = split_target(path)
    return Exchange(
        method=method.upper(),
        path=path,
        query=tuple(url.decode(query)),
        request_headers=rq_headers,
        request_body=_decoded(rq_raw, rq_headers),
        status=status,
        response_headers=rs_headers,
        response_body=_decoded(rs_raw, rs_headers),
        host=host,
        streamed=streamed,
        kept_body=kept[0] if kept else "",
    )


def _real_headers(fields: tuple[tuple[bytes, bytes], ...]) -> tuple[tuple[str, str], ...]:
    """Header pairs as mitmproxy's Headers reads them, without HTTP/2 pseudo-headers (:authority, :path,
    ...), which Chrome's HAR export lists among the headers and which no request can carry."""
    return tuple(
        (k.decode("utf-8", "surrogateescape"), v.decode("utf-8", "surrogateescape"))
        for k, v in fields
        if not k.startswith(b":")
    )


def _joined(headers: tuple[tuple[str, str], ...], name: str) -> str | None:
    """A header's values joined with ', ', as mitmproxy's Headers.get gives them."""
    values = [v for k, v in headers if k.lower() == name]
    return ", ".join(values) if values else None


@lru_cache(maxsize=1024)
def _host(authority: str) -> str:
    return url.parse_authority(authority, check=False)[0]  # (an API has a few: remembered)


def _decoded(raw: bytes | None, headers: tuple[tuple[str, str], ...]) -> bytes:
    """The body without its Content-Encoding; as it came when that cannot be undone (as mitmproxy does)."""
    if not raw:
        return b""
    if ce := _joined(headers, "content-encoding"):
        try:
            content = encoding.decode(raw, ce)
        except ValueError:
            return raw
        return content if isinstance(content, bytes) else raw
    return raw
