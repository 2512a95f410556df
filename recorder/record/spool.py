"""A bounded on-disk queue of exchanges, for when the recording process falls behind the traffic.

The proxy appends the messages it would have sent down the pipe (raw parts, nothing decoded: compact)
to chunk files in a private temporary folder, and hands each chunk to the recording process, which
reads it back in order and deletes it. Secrets never reach disk in the clear, not even here: every
record is encrypted (AES-GCM) with a key that only the two processes hold in memory; it is handed to
the child through their pipe and never written anywhere. A record is
`length (4 bytes) | nonce (12) | ciphertext`, so a chunk cut short by a kill -9 reads up to its last
whole record.
"""

from __future__ import annotations

import os
import shutil
import struct
import tempfile
from collections.abc import Iterator
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

CHUNK_BYTES = 4 << 20  # a chunk is handed over once this big: the drain's progress moves per chunk
_LENGTH = struct.Struct("!I")


def new_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


class Spool:
    """The proxy's end: appends messages to the open chunk, seals it for the child, keeps the bound."""

    def __init__(self, key: bytes, limit: int):
        self.folder = Path(tempfile.mkdtemp(prefix="pact-recorder-spool-"))  # mode 0700
        self.limit = limit
        self._aead = AESGCM(key)
        self._chunks = 0
        self._file = None
        self.open_bytes = 0  # in the open chunk
        self._sealed: list[tuple[Path, int]] = []  # handed over, maybe not read yet: (path, bytes)

    @property
    def is_open(self) -> bool:
        return self._file is not None

    def on_disk(self) -> int:
        """Bytes in chunks the child has not finished (it deletes each one it has read)."""
        self._sealed = [(p, n) for p, n in self._sealed if p.exists()]
        return sum(n for _, n in self._sealed) + self.open_bytes

    def busy(self) -> bool:
        """Is the child still reading a chunk handed over?"""
        if self._sealed and not self._sealed[-1][0].exists():
            self._sealed.clear()  # it reads them in order: every earlier one is gone too
        return bool(self._sealed)

    def append(self, message: bytes) -> bool:
        """Encrypt and append one message; False (nothing written) when the bound would be passed."""
        record = self._encrypted(message)
        looked = sum(n for _, n in self._sealed) + self.open_bytes  # as of the last look: the child only deletes
        if looked + len(record) > self.limit and self.on_disk() + len(record) > self.limit:
            return False
        if self._file is None:
            self._chunks += 1
            # Unbuffered: a record written is in the kernel's hands, and survives a kill -9 of the proxy.
            self._file = open(self.folder / f"{self._chunks:08d}.spool", "wb", buffering=0)  # noqa: SIM115
        self._file.write(record)
        self.open_bytes += len(record)
        return True

    def _encrypted(self, message: bytes) -> bytes:
        return encrypted(self._aead, message)

    def seal(self) -> str | None:
        """Close the open chunk and return its name for the child (None: nothing is open)."""
        if self._file is None:
            return None
        self._file.close()
        path = Path(self._file.name)
        self._sealed.append((path, self.open_bytes))
        self._file, self.open_bytes = None, 0
        return path.name

    def remove(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        shutil.rmtree(self.folder, ignore_errors=True)


def encrypted(aead: AESGCM, message: bytes) -> bytes:
    """One record: `length | nonce | ciphertext`."""
    nonce = os.urandom(12)
    data = aead.encrypt(nonce, message, None)
    return _LENGTH.pack(len(nonce) + len(data)) + nonce + data


def read_chunk(path: Path, key: bytes) -> Iterator[bytes]:
    """The messages of one chunk, in order; a record cut short (the proxy killed mid-write) ends it."""
    aead = AESGCM(key)
    with open(path, "rb") as f:
        while (message := read_record(f, aead)) is not None:
            yield message


def read_record(f, aead: AESGCM) -> bytes | None:
    """The message of the record at the file's position; None at the end or at a record cut short."""
    if len(head := f.read(_LENGTH.size)) < _LENGTH.size:
        return None
    (n,) = _LENGTH.unpack(head)
    if len(record := f.read(n)) < n:
        return None
    return aead.decrypt(record[:12], record[12:], None)


def leftovers(folder: Path) -> list[Path]:
    """Chunks still in the folder, oldest first (what a proxy killed with kill -9 never handed over)."""
    return sorted(folder.glob("*.spool"))
