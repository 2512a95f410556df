"""multipart/form-data bodies, read and written back byte for byte.

A provider parses an upload by the boundary its Content-Type header names, so a recorded upload is
kept as it was sent (same boundary, same part headers) and only a part's content is ever changed: a
secret field redacted or filled, a file part cut to a size bound.

    >>> body = b'--b\\r\\nContent-Disposition: form-data; name="q"\\r\\n\\r\\nada\\r\\n--b--\\r\\n'
    >>> [(p.name, p.content) for p in parse(body, "b")]
    [('q', b'ada')]
    >>> build(parse(body, "b"), "b") == body
    True

The standard library's email parser is not used: it rewrites line endings and headers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

_BOUNDARY = re.compile(r'boundary=(?:"([^"]+)"|([^;\s]+))', re.I)
_PARAM = re.compile(rb'(?i)\b(name|filename)="([^"]*)"')
_TYPE = re.compile(rb"(?im)^content-type:\s*([^\r\n]+)")


@dataclass(frozen=True)
class Part:
    head: bytes  # the part's header lines as sent, without the blank line that ends them
    content: bytes

    def _param(self, key: bytes) -> str | None:
        found = {k.lower(): v for k, v in _PARAM.findall(self.head)}
        value = found.get(key)
        return None if value is None else value.decode("utf-8", "replace")

    @property
    def name(self) -> str:
        return self._param(b"name") or ""

    @property
    def filename(self) -> str | None:
        """The file name of a file part; None for a plain form field."""
        return self._param(b"filename")

    @property
    def content_type(self) -> str | None:
        m = _TYPE.search(self.head)
        return m.group(1).decode("latin-1").strip() if m else None


def boundary(content_type: str | None) -> str | None:
    """The boundary of a multipart/form-data Content-Type; None for any other content type."""
    if not content_type or not content_type.lower().startswith("multipart/form-data"):
        return None
    m = _BOUNDARY.search(content_type)
    return (m.group(1) or m.group(2)) if m else None


def parse(body: bytes, boundary: str) -> list[Part]:
    """The parts of a multipart body; ValueError when it is not one made with this boundary."""
    delimiter = b"--" + boundary.encode("latin-1")
    chunks = body.split(b"\r\n" + delimiter)
    first = chunks[0]
    if not first.startswith(delimiter) or len(chunks) < 2 or not chunks[-1].startswith(b"--"):
        raise ValueError("not a multipart body with this boundary")
    parts = []
    for chunk in [first[len(delimiter) :], *chunks[1:-1]]:
        head, sep, content = chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        if not sep:
            raise ValueError("a part without the blank line that ends its headers")
        parts.append(Part(head, content))
    return parts


def build(parts: list[Part], boundary: str) -> bytes:
    """The body made of `parts`, with CRLF line ends as browsers and HTTP clients send it."""
    delimiter = b"--" + boundary.encode("latin-1")
    out = b"".join(delimiter + b"\r\n" + p.head + b"\r\n\r\n" + p.content + b"\r\n" for p in parts)
    return out + delimiter + b"--\r\n"


def names(body: bytes | str, content_type: str | None) -> list[str]:
    """The part names of a multipart body, sorted; [] for anything else."""
    b = boundary(content_type)
    if b is None or not body:
        return []
    try:
        return sorted({p.name for p in parse(body.encode("utf-8") if isinstance(body, str) else body, b)})
    except ValueError:
        return []


def with_content(body: bytes, boundary: str, name: str, old: bytes, new: bytes) -> bytes:
    """The body with the first part called `name` whose content is `old` holding `new` instead."""
    parts = parse(body, boundary)
    for i, p in enumerate(parts):
        if p.name == name and p.content == old:
            parts[i] = replace(p, content=new)
            return build(parts, boundary)
    return body


def bounded(body: bytes, boundary: str, limit: int) -> tuple[bytes, list[str]]:
    """The body with file parts larger than `limit` bytes cut to it, and what was cut (for the notes):
    a provider parsing the upload still gets every part, by name, with its content type."""
    parts, cut = parse(body, boundary), []
    for i, p in enumerate(parts):
        if p.filename is not None and len(p.content) > limit:
            cut.append(f"file part {p.name!r} ({p.filename}, {len(p.content)} bytes) cut to its first {limit} bytes")
            parts[i] = replace(p, content=p.content[:limit])
    return (build(parts, boundary) if cut else body), cut
