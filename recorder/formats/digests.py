"""Does a request name a digest of its own body?

Content-addressed APIs hash the bytes a client sends: a manifest PUT to `.../manifests/sha256:<hex>`, an
upload with `Content-MD5` or `?digest=sha256:<hex>`. Such a body must go out byte for byte: the Pact core
re-serialises a JSON body (compact, keys sorted), and the digest would no longer match.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable

ALGORITHMS = ("md5", "sha1", "sha256", "sha512")


def named_digest(body: bytes, places: Iterable[str]) -> str | None:
    """The algorithm whose digest of `body` (hex, or base64 with or without padding) one of `places`
    holds, else None."""
    if not body:
        return None
    text = "\n".join(places)
    lowered = text.lower()
    for name in ALGORITHMS:
        digest = hashlib.new(name, body).digest()
        b64 = base64.b64encode(digest).decode("ascii")
        urlsafe = base64.urlsafe_b64encode(digest).decode("ascii")
        if digest.hex() in lowered or any(form in text for form in (b64.rstrip("="), urlsafe.rstrip("="))):
            return name
    return None
