"""A suite's exchanges kept on disk while it runs, read back in test order: how the pytest plugin and
`RecordingSession` record with flat memory, and give a parallel run the files of a serial one.

Each recording process (one per pytest-xdist worker) appends the messages the proxy would send the
recording process (`("add", provider, parts, test)` with the raw parts, `("skip", provider, reason)`),
each under its order key (the test's index and id, then arrival), to one part file. At the end, the
parts' order keys are read, sorted, and the messages fed in that order to the recording process's own
end (`worker.Child`): the same pipeline as `record`. Records are encrypted like the spool's (secrets are
redacted only when recorded): the key is held in memory and handed to xdist's workers through their
channel, never written.
"""

from __future__ import annotations

import pickle
import struct
from collections.abc import Iterator
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from recorder.record.spool import encrypted, read_record

_ORDER = struct.Struct("!I")  # the length of the order key's pickle, in front of the message's


class Part:
    """One process's end: appends (order, message) records to its part file."""

    def __init__(self, path: Path, key: bytes):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path, self._aead = path, AESGCM(key)
        # Unbuffered: a record written is in the kernel's hands, and survives a kill -9 of the suite.
        self._file = open(path, "ab", buffering=0)  # noqa: SIM115 - open while the suite runs, closed by close()

    def append(self, order: tuple, message: tuple) -> None:
        key = pickle.dumps((order, message[1]))  # (order, provider): what the records are sorted by
        self._file.write(encrypted(self._aead, _ORDER.pack(len(key)) + key + pickle.dumps(message)))

    def close(self) -> None:
        self._file.close()


def in_order(paths: list[Path], key: bytes) -> Iterator[tuple]:
    """The messages of all parts, by (order key, provider): the order keys are read first (memory grows
    with the number of exchanges by a key each, not by their bodies), then each message where it lies."""
    aead = AESGCM(key)
    index = []
    for n, path in enumerate(paths):
        with open(path, "rb") as f:
            while True:
                at = f.tell()
                if (record := read_record(f, aead)) is None:
                    break
                (length,) = _ORDER.unpack_from(record)
                index.append((pickle.loads(record[_ORDER.size : _ORDER.size + length]), n, at))
    index.sort(key=lambda entry: entry[0])
    files = [open(path, "rb") for path in paths]  # noqa: SIM115 - closed below
    try:
        for _, n, at in index:
            files[n].seek(at)
            record = read_record(files[n], aead)
            (length,) = _ORDER.unpack_from(record)
            yield pickle.loads(record[_ORDER.size + length :])
    finally:
        for f in files:
            f.close()
