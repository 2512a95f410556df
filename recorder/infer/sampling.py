"""Bounded evidence: once the shape of an interaction's responses has settled, only some are read.

Reading a response body (redacting every value, merging it into the shape) costs the recording process
about a millisecond per 15 KB of JSON, and a settled shape learns nothing from most bodies: ids and
timestamps differ in every response, but past the distinct-values cap a new one is only counted. So
after SETTLED distinct responses in a row that taught the shape nothing (`shapes.lessons`: no new key,
type, format ruled out, distinct value or shorter array), one response body in STRIDE is read, then
half as many after each read that taught nothing (down to one in MAX_STRIDE); one that teaches
something makes every body read again until the shape settles anew.

    >>> s = Sampling()
    >>> for _ in range(SETTLED):
    ...     s.learned(False)
    >>> [s.reads_next() for _ in range(STRIDE)].count(True)
    1
    >>> s.learned(False)
    >>> [s.reads_next() for _ in range(2 * STRIDE)].count(True)
    1

What is never sampled (the pipeline decides, see `Recording.add`): requests (the contract's requests are
what a Pact mock must accept), the responses of writes (the provider states are made from them), a
read of a resource the states keep the data of, a request of a kind not seen before (it may become the
example), and anything when the exchanges are kept (--save-flows). An unread body is counted and
hashed, and kept in memory only for the states' timeline (the latest 16 MB, see Timeline._look_into):
nothing of it reaches a file but the ids the timeline takes from it, each checked by the redactor first.
A shape that saw only some bodies says so in the pact's notes.
"""

from __future__ import annotations

from dataclasses import dataclass

SETTLED = 32  # distinct responses in a row that taught the shape nothing: it has settled
STRIDE = 8  # once settled, one response body in STRIDE is read...
MAX_STRIDE = 64  # ...then fewer, while what is read teaches nothing


@dataclass
class Sampling:
    quiet: int = 0  # distinct responses read in a row that taught the shape nothing
    since: int = 0  # responses offered since the shape settled
    unread: int = 0  # distinct responses whose body was not read

    def reads_next(self) -> bool:
        """Should the next response body be read (the pipeline asks only for bodies it may leave unread)?"""
        if self.quiet < SETTLED:
            return True
        self.since += 1
        if self.since < self.stride:
            return False
        self.since = 0
        return True

    @property
    def stride(self) -> int:
        """One body in `stride` is read: STRIDE once settled, twice as few after each read that taught
        nothing, down to one in MAX_STRIDE."""
        return min(STRIDE << min(self.quiet - SETTLED, 8), MAX_STRIDE)

    def learned(self, anything: bool) -> None:
        """A distinct response body was read; did the shape learn `anything` from it?"""
        if anything:
            self.quiet = self.since = 0
        else:
            self.quiet += 1

    def note(self, distinct: int) -> str | None:
        """What the pact says when some bodies were left unread."""
        if not self.unread:
            return None
        return (
            f"response body shape read from {distinct - self.unread} of {distinct} distinct responses: after "
            f"{SETTLED} in a row taught it nothing new, one in {STRIDE} was read, and fewer (down to one in "
            f"{MAX_STRIDE}) while they taught nothing"
        )
