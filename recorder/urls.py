"""Request targets as the consumer sent them: `//api/v1/query` is a path, not a host.

`urllib.parse.urlsplit` reads a target that starts with `//` as a network location (`//api` becomes
the host `api`), so a client whose base URL ends in `/` would be recorded against the wrong path.
Targets are split here instead, and relative references resolved by hand (urljoin drops empty segments).

    >>> split_target("//api/v1/query?query=up")
    ('//api/v1/query', 'query=up')
    >>> split_target("http://127.0.0.1:8080//moto-api/reset")
    ('//moto-api/reset', '')
    >>> resolve("//dav/a/b.txt", "c.txt")
    '//dav/a/c.txt'
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import quote, urlsplit

_AUTHORITY_ENDS = r"(?![0-9A-Za-z.:_~-])"  # `host:80` is not the start of `host:8080`


def split_target(target: str) -> tuple[str, str]:
    """(path, query) of a request target in origin form (`/a?b`) or absolute form (`http://h/a?b`)."""
    head, _, query = target.partition("#")[0].partition("?")
    if "://" in head:
        parts = urlsplit(target)
        return parts.path or "/", parts.query
    return head or "/", query


def resolve(path: str, reference: str) -> str:
    """The path `reference` names (a URL, an absolute path or one relative to `path`), as sent."""
    if "://" in reference.partition("?")[0]:
        return urlsplit(reference).path or "/"
    ref = split_target(reference)[0] if reference else path
    if ref.startswith("/"):
        return ref
    kept: list[str] = []
    for segment in (path.rpartition("/")[0] + "/" + ref).split("/"):
        if segment == "..":
            if len(kept) > 1:
                kept.pop()
        elif segment != ".":
            kept.append(segment)
    return "/".join(kept) or "/"


def urls_on(authorities: Iterable[str]) -> re.Pattern[str]:
    """The scheme and authority of absolute URLs on these authorities (`host:port`), as typed or
    percent-encoded (a URL inside a query or form value)."""
    typed = "|".join(re.escape(a) for a in sorted(authorities))
    encoded = "|".join(re.escape(quote(a, safe="")) for a in sorted(authorities))
    return re.compile(rf"https?://(?:{typed}){_AUTHORITY_ENDS}|https?%3A%2F%2F(?:{encoded}){_AUTHORITY_ENDS}", re.I)


def rebased(text: str, urls: re.Pattern[str], origin: str) -> str:
    """`text` with the URLs `urls` finds moved to `origin` (`scheme://host:port`), encoded as they were."""
    return urls.sub(lambda m: origin if "://" in m.group(0) else quote(origin, safe=""), text)
