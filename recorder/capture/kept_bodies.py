"""Request bodies over --max-body kept beside the states file, content-addressed, as they stream past.

mitmproxy streams a body larger than the limit through untouched (the recording sees none of it). A setup
that replays such a request (an 8 MB upload a later read needs) must send the same bytes, so the proxy
copies them to a file as they pass: `<pact folder>/<consumer>-<provider>.bodies/<sha256>`, never inside
the pact. Only binary bodies are kept: a text, JSON, XML or form body that size is never redacted, so
it may not reach disk (its state says it cannot be set up, as before).
"""

from __future__ import annotations

import codecs
import hashlib
import os
import tempfile
from pathlib import Path

from recorder.files import beside

TEXT_TYPES = ("text/", "json", "xml", "x-www-form-urlencoded", "multipart/", "yaml", "javascript")
SNIFFED = 512  # the first bytes looked at, for a body sent without a content type


def bodies_dir(states_file: Path) -> Path:
    """Where the bodies a states file's setups send are kept: beside it, named after it."""
    return beside(states_file, "bodies")


def binary(content_type: str | None) -> bool:
    """A content type that says the body is no text (None: the bytes decide, see BodyTee)."""
    return content_type is None or not any(t in content_type.lower() for t in TEXT_TYPES)


class BodyTee:
    """The stream callable mitmproxy calls with each chunk of a streamed request body and with b"" at its
    end: each chunk goes on unchanged and into a file, which is named by its SHA-256 at the end
    (`digest`). Nothing it does can break the traffic: on any error it stops keeping and says nothing."""

    def __init__(self, directory: Path, sniff: bool) -> None:
        self.directory = directory
        self.sniff = sniff  # no content type: dropped if it starts like text
        self.digest = ""
        self._hash = hashlib.sha256()
        self._file = None
        self._started = False

    def __call__(self, chunk: bytes) -> bytes:
        try:
            self._take(chunk)
        except Exception:  # a full disk, anything: the traffic goes on, the body is not kept
            self.abandon()
        return chunk

    def abandon(self) -> None:
        """Keep nothing of a body that did not end (the client went away) or could not be written."""
        if self._file is not None:
            self._file.close()
            Path(self._file.name).unlink(missing_ok=True)
            self._file = None

    def _take(self, chunk: bytes) -> None:
        if not self._started:
            self._started = True
            if self.sniff and _looks_like_text(chunk[:SNIFFED]):
                return
            self.directory.mkdir(parents=True, exist_ok=True)
            self._file = tempfile.NamedTemporaryFile(dir=self.directory, prefix=".part-", delete=False)  # noqa: SIM115
        if self._file is None:
            return
        if chunk:
            self._file.write(chunk)
            self._hash.update(chunk)
            return
        self._file.close()
        digest = self._hash.hexdigest()
        os.replace(self._file.name, self.directory / digest)  # the same bytes twice: one file
        self._file, self.digest = None, digest


def _looks_like_text(start: bytes) -> bool:
    try:
        return b"\0" not in start and bool(codecs.getincrementaldecoder("utf-8")().decode(start).strip())
    except UnicodeDecodeError:
        return False
