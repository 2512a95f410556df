"""A redirected request is recorded as the consumer sent it, with the response it finally got.

The select rule `followed-redirects` leaves 3xx exchanges out (the Pact verifier follows redirects, so
it would fail them). Recording the follow-up request alone loses what the consumer really asks: it
calls `POST /users`, is sent on to `/users/`, and a mock serving a pact of `/users/` only answers its
real request with "request not expected". So a skipped redirect waits here for the request its
Location names, and that request's response is paired with the consumer's original request:

    POST /users -> 308 Location: /users/      (waits)
    POST /users/ -> 201 {"id": 1}             -> recorded as POST /users -> 201 {"id": 1}

The verifier sends `POST /users`, follows the 308 and checks the 201. Chains (a -> b -> c) pair c's
response with a. Waiting redirects are bounded (the oldest are dropped: their consumer never followed).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import replace
from urllib.parse import parse_qsl, urljoin, urlsplit

from recorder.model import Exchange

WAITING_MAX = 1_000
_REDIRECTS = frozenset({301, 302, 303, 307, 308})

Target = tuple[str, str, tuple[tuple[str, str], ...]]  # host, path as sent, query pairs


def target(sent: Exchange) -> Target | None:
    """Where a redirect sends the consumer (its Location resolved against the request); None when
    the exchange is no redirect. The host is the request's: a Location often names the host the
    consumer sees (a reverse proxy's, ours), and the follow-up reaches the provider through us anyway."""
    location = sent.response_header("location")
    if sent.status not in _REDIRECTS or not location:
        return None
    url = urlsplit(urljoin(f"http://provider{sent.path}", location))
    return sent.host.lower(), url.path or "/", tuple(parse_qsl(url.query, keep_blank_values=True))


class Redirects:
    """Redirects waiting for the request that follows them, by where they send the consumer."""

    def __init__(self, limit: int = WAITING_MAX):
        self.limit = limit
        self._waiting: OrderedDict[Target, Exchange] = OrderedDict()

    def remember(self, original: Exchange, sent: Exchange) -> None:
        """`sent` was a redirect the rules skip: the next request to its target continues `original`
        (the consumer's own request; `sent` itself unless `sent` already followed a redirect)."""
        if (where := target(sent)) is None:
            return
        self._waiting[where] = original
        self._waiting.move_to_end(where)
        if len(self._waiting) > self.limit:
            self._waiting.popitem(last=False)

    def original(self, ex: Exchange) -> Exchange:
        """The consumer's original request with `ex`'s response when `ex` follows a redirect; else `ex`."""
        first = self._waiting.pop((ex.host.lower(), ex.path, ex.query), None)
        if first is None:
            return ex
        return replace(
            first,
            status=ex.status,
            response_headers=ex.response_headers,
            response_body=ex.response_body,
            streamed=tuple(s for s, m in (("request", first), ("response", ex)) if s in m.streamed),
            redirected=ex.path,
        )
