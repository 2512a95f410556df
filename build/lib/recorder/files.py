"""Files in and out: atomic writes, and reading recorded flows (.mitm or HAR) with mitmproxy's reader."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


def write_atomic(path: Path, text: str) -> None:
    """Write via a temp file in the same folder, fsync, then rename: readers never see a partial file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it 0600; give it the mode a plain open() would
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def read_flows(path: Path) -> Iterator[object]:
    """Every flow in a .mitm dump or a HAR file (mitmproxy's FlowReader tells them apart).

    Raises ValueError with a message for the user when the file cannot be read.
    """
    from mitmproxy import io
    from mitmproxy.exceptions import FlowReadException

    try:
        with open(path, "rb") as f:
            yield from io.FlowReader(f).stream()
    except FlowReadException as e:
        raise ValueError(f"{path}: not a readable .mitm flow file or HAR file ({e})") from None
    except OSError as e:
        raise ValueError(f"{path}: cannot read ({e.strerror})") from None
