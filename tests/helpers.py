"""Small builders for the values the pipeline works on."""

from __future__ import annotations

import json

from recorder.model import Exchange


def exchange(
    method="GET",
    path="/users/1",
    status=200,
    body=None,
    *,
    query=(),
    request_body=None,
    request_headers=(("Accept", "application/json"),),
    response_headers=None,
    raw_body: bytes | None = None,
) -> Exchange:
    rq_headers = tuple(request_headers)
    if request_body is not None:
        rq_headers += (("Content-Type", "application/json"),)
    rs_headers = (
        response_headers
        if response_headers is not None
        else ((("Content-Type", "application/json"),) if body is not None else ())
    )
    return Exchange(
        method=method,
        path=path,
        query=tuple(query),
        request_headers=rq_headers,
        request_body=json.dumps(request_body).encode() if request_body is not None else b"",
        status=status,
        response_headers=tuple(rs_headers),
        response_body=raw_body if raw_body is not None else json.dumps(body).encode() if body is not None else b"",
    )
