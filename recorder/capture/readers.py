"""Reading recorded flows (.mitm or HAR) with mitmproxy's reader, for `infer`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from recorder.capture.flows import flow_parts, state_parts
from recorder.capture.parts import Parts


class PartialCapture(ValueError):
    """The file broke off (or is corrupt) after some flows: those were read, the rest is lost."""


def read_flows(path: Path, progress: Callable[[int], object] | None = None) -> Iterator[object]:
    """Every flow in a .mitm dump or a HAR file (mitmproxy's FlowReader tells them apart); `progress`
    is told how many bytes were read, every few flows.

    Raises ValueError with a message for the user when the file cannot be read, and PartialCapture
    when it breaks off after some flows (a recording killed mid-write): the flows before it count.
    """
    from mitmproxy import io
    from mitmproxy.exceptions import FlowReadException

    count = 0
    try:
        with open(path, "rb") as f:
            for flow in io.FlowReader(f).stream():
                count += 1
                if progress is not None and count % 256 == 0:
                    progress(f.tell())
                yield flow
    except FlowReadException as e:
        raise _unreadable(path, count, e) from None
    except OSError as e:
        raise ValueError(f"{path}: cannot read ({e.strerror})") from None


def read_parts(path: Path, progress: Callable[[int], object] | None = None) -> Iterator[Parts | str]:
    """flows.flow_parts of every flow read_flows reads (the same errors). A .mitm dump is read as
    FlowReader reads it, but into the parts without building each flow (flows.state_parts)."""
    from mitmproxy.io import compat, tnetstring

    try:
        with open(path, "rb") as f:
            har = f.peek(4).startswith((b"{", b"\xef\xbb\xbf{"))  # as FlowReader tells a HAR file
    except OSError as e:
        raise ValueError(f"{path}: cannot read ({e.strerror})") from None
    if har:
        yield from map(flow_parts, read_flows(path, progress))
        return
    count = 0
    try:
        with open(path, "rb") as f:
            while True:
                try:
                    state = tnetstring.load(f)
                except (ValueError, TypeError, IndexError) as e:
                    if str(e) == "not a tnetstring: empty file":
                        return  # the end of the file
                    raise ValueError("Invalid data format.") from None
                if not isinstance(state, dict):
                    raise ValueError("Invalid data format.")
                parts = state_parts(compat.migrate_flow(state))
                count += 1
                if progress is not None and count % 256 == 0:
                    progress(f.tell())
                yield parts
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as e:
        raise _unreadable(path, count, e) from None
    except OSError as e:
        raise ValueError(f"{path}: cannot read ({e.strerror})") from None


def _unreadable(path: Path, count: int, e: Exception) -> ValueError:
    if count:
        return PartialCapture(f"{path}: the file breaks off after {count} flow(s) ({e}); inferred from those {count}")
    return ValueError(f"{path}: not a readable .mitm flow file or HAR file ({e})")
