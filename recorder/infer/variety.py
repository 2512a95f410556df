"""Evidence pooled across the recording: which header values are ids, not constants.

One interaction often sees a header once (a request id in every response, an SDK's invocation id in
every request), and its one value would be pinned, although the recording as a whole shows the value
is new in (nearly) every exchange. Such a header, and any value that looks random on its own (a UUID,
long hex, a token: a server instance's id is constant for one server's life and new for the next), is
matched by its format in every interaction that has it; a value that never varied and looks like a
word stays pinned.

    >>> looks_random("3fa85f64-5717-4562-b3fc-2c963f66afa6"), looks_random("application/json")
    (True, False)
    >>> looks_random("TX4K7ZCX5ZRD6V3F0PLE"), looks_random("nginx/1.25.3")
    (True, False)
    >>> looks_random("f1c9d11bd06952c"), looks_random("deadbeefcafe"), looks_random("202612061900")
    (True, False, False)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from recorder.rules import Format

MIN_SEEN = 3  # exchanges with the header before its variety counts
FRESH_SHARE = 0.8  # "nearly every exchange": at least this share of them sent a value not seen before
VALUES_MAX = 512  # distinct values remembered per header (by hash); later ones count as new
EXAMPLES_MAX = 16  # values kept per header to tell its format
NAMES_MAX = 1024  # header names tracked per side

_TOKEN = re.compile(r"^[A-Za-z0-9+/=_-]{16,}$")
_DIGIT, _LETTER = re.compile(r"[0-9]"), re.compile(r"[A-Za-z]")
_HEX = re.compile(r"^[0-9a-fA-F]{16,}$")
# A 64-bit id written without its leading zeros (1 in 16 is 15 digits long), in lower case with both
# digits and letters: a word or a number is no such thing.
_SHORT_HEX = re.compile(r"^(?=(?:[a-f]*[0-9]){2})(?=(?:[0-9]*[a-f]){2})[0-9a-f]{12,15}$")
_INTEGER = re.compile(r"^-?[0-9]+$")


def looks_random(value: str) -> bool:
    """A value no person chose: long hex (12 to 15 digits when it mixes digits and letters), or a 16+
    character token mixing at least three digits and three letters (UUIDs included); a product name, a
    media type or a version is no such thing."""
    compact = value.replace("-", "")
    if _HEX.match(compact) or _SHORT_HEX.match(value):
        return True
    return bool(_TOKEN.match(value)) and len(_DIGIT.findall(value)) >= 3 and len(_LETTER.findall(value)) >= 3


@dataclass
class _Seen:
    count: int = 0  # exchanges that had the header
    fresh: int = 0  # of those, how many had a value not seen before
    hashes: set[int] = field(default_factory=set)
    examples: list[str] = field(default_factory=list)


class HeaderVariety:
    """Per side and header name over the whole recording: how often its value was new."""

    def __init__(self, formats: tuple[Format, ...]):
        self.formats = formats
        self._seen: dict[tuple[str, str], _Seen] = {}

    def see(self, side: str, headers: dict[str, str]) -> None:
        for name, value in headers.items():
            seen = self._seen.get((side, name))
            if seen is None:
                if len(self._seen) >= 2 * NAMES_MAX:
                    continue
                seen = self._seen[(side, name)] = _Seen()
            seen.count += 1
            digest = hash(value)
            if digest not in seen.hashes:
                seen.fresh += 1
                if len(seen.hashes) < VALUES_MAX:
                    seen.hashes.add(digest)
                if len(seen.examples) < EXAMPLES_MAX:
                    seen.examples.append(value)

    def matcher(self, side: str, name: str, value: str) -> tuple[dict, str] | None:
        """A format matcher for `name`'s value when the recording shows it is an id, and why; None to pin it."""
        seen = self._seen.get((side, name))
        if seen is not None and seen.count >= MIN_SEEN and seen.fresh >= FRESH_SHARE * seen.count:
            values = [value, *seen.examples]
            why = f"a new value in {seen.fresh} of {seen.count} exchanges of the recording"
        elif looks_random(value):
            values, why = [value], "looks random (an id), though it did not vary"
        else:
            return None
        regex, kind = self._regex(values)
        return {"match": "regex", "regex": regex}, f"{why}: {kind}"

    def _regex(self, values: list[str]) -> tuple[str, str]:
        """The narrowest description every value fits: a format of the rules, an integer, hex, a token."""
        for fmt in self.formats:
            if all(re.search(fmt.regex, v) for v in values):
                return fmt.regex, f"format {fmt.name}"
        if all(_INTEGER.match(v) for v in values):
            return "^-?[0-9]+$", "integers"
        if all(_HEX.match(v) or _SHORT_HEX.match(v) for v in values):
            return "^[0-9a-fA-F]+$", "hex"
        if all(_TOKEN.match(v) for v in values):
            return "^[A-Za-z0-9+/=_-]+$", "tokens"
        return "^.+$", "any value"
