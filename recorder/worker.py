"""Recording in a process of its own, so that the proxy only captures.

The proxy's hooks take each exchange's raw parts (`capture.flow_parts`: nothing decoded, a few
microseconds) and send them down a pipe; this child decodes, redacts and infers them (the same
`pipeline.Recording` as every other front door) on the machine's other core, and writes the pacts when
asked, every --flush-interval, and at the end. The pipe is bounded: a child that falls behind slows the
proxy down rather than growing memory or dropping exchanges. If the proxy dies (kill -9), the child sees
the pipe close and still writes everything it was sent.

Proxy -> child: ("start", {provider: Settings}, flush seconds, save-flows path), then per exchange
("add", provider, parts) or ("flow", provider, flow state) when flows are saved too, ("skip", provider,
reason), ("settings", provider, Settings) on a change at run time, and ("write",) or ("done",), which the
child answers with [Report(provider, report, error, wrote)].

`pact-recorder infer` uses it too: one process reads the flows while the other infers.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import pickle
import signal
import subprocess
import sys
import time
import traceback
from collections import Counter
from multiprocessing.connection import Connection
from pathlib import Path
from typing import NamedTuple

from recorder.capture import FlowSaver, exchange_from_parts, record_flow, redacted_copy
from recorder.pipeline import Recording, Settings


class Report(NamedTuple):
    provider: str
    text: str | None  # what a user reads: the counts and the files written
    error: str | None  # why writing failed (a traceback: our bug)
    wrote: bool = False  # a pact was written (False: nothing was recorded, or it failed)


Reports = list[Report]
log = logging.getLogger("pact_recorder")
PIPE_BYTES = 1 << 20  # room for bursts (~2,000 small exchanges) before the proxy has to wait


class RecordingWorker:
    """The proxy's end: starts the child and talks to it."""

    def __init__(self, settings: dict[str, Settings], flush_interval: int = 0, save_flows: str = ""):
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        with contextlib.suppress(OSError):  # a smaller pipe only means the proxy waits sooner
            fcntl.fcntl(to_child_w, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
        # The child imports what this process can (mitmdump -s adds the project to sys.path), and has a
        # session of its own so that a Ctrl-C meant for the proxy does not cut it short.
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "recorder.worker", str(to_child_r), str(from_child_w)],
            pass_fds=(to_child_r, from_child_w),
            env=env,
            start_new_session=True,
        )
        os.close(to_child_r)
        os.close(from_child_w)
        self.save_flows = bool(save_flows)  # the child wants whole flows (their state), not only parts
        self.outbox = Connection(to_child_w, readable=False)
        self.replies = Connection(from_child_r, writable=False)
        self.send(("start", settings, flush_interval, save_flows))

    def send(self, message: tuple) -> None:
        """Blocks while the pipe is full; raises OSError when the child is gone."""
        self.outbox.send_bytes(pickle.dumps(message, pickle.HIGHEST_PROTOCOL))  # faster than Connection.send

    def ask(self, message: tuple, timeout: float | None = None) -> Reports:
        """Send write/done and wait for the child's reports."""
        self.send(message)
        if not self.replies.poll(timeout):
            raise TimeoutError(f"the recording process gave no answer in {timeout:.0f} s")
        return self.replies.recv()

    def cancel(self) -> None:
        """Stop the child without writing anything."""
        self.proc.kill()
        self.proc.wait()
        self.outbox.close()
        self.replies.close()

    def finish(self, timeout: float = 600) -> Reports:
        """Have the child write everything and exit."""
        try:
            return self.ask(("done",), timeout)
        except (OSError, EOFError) as e:
            code = self.proc.poll()
            raise RuntimeError(f"the recording process ended early (exit code {code}): {e}") from None
        finally:
            self.outbox.close()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.replies.close()


class Child:
    """The child's end: one Recording per provider."""

    def __init__(self, settings: dict[str, Settings], save_flows: str):
        self.recordings = {name: Recording(s) for name, s in settings.items()}
        self.flows = FlowSaver(Path(save_flows).expanduser()) if save_flows else None
        self.errors: Counter[str] = Counter()
        self.written: dict[str, int] = {}

    def handle(self, message: tuple) -> None:
        kind, provider, payload = message
        if kind == "settings":
            self.recordings[provider].settings = payload
            return
        recording = self.recordings[provider]
        try:
            if kind == "skip":
                recording.skip(payload)
            elif kind == "add":
                recording.add(exchange_from_parts(payload))
            elif kind == "flow":
                from mitmproxy import http

                flow = http.HTTPFlow.from_state(payload)
                if (kept := record_flow(recording, flow)) is not None and self.flows is not None:
                    self.flows.add(redacted_copy(flow, kept))
        except Exception as e:  # one bad exchange must not end the recording
            name = type(e).__name__
            self.errors[name] += 1
            recording.skip(f"internal error while recording ({name})")
            if self.errors[name] == 1:
                log.exception("pact_recorder: could not record an exchange (further %s errors are only counted)", name)

    def flush(self) -> None:
        write_changed(self.recordings, self.written)

    def write_all(self) -> Reports:
        return write_reports(self.recordings)

    def close(self) -> None:
        if self.flows is not None:
            self.flows.close()


def write_changed(recordings: dict[str, Recording], written: dict[str, int]) -> None:
    """The periodic write (--flush-interval): recordings that saw something since the last one."""
    for name, recording in recordings.items():
        if recording.seen != written.get(name):
            written[name] = recording.seen
            try:
                recording.write()
            except Exception:
                log.exception("pact_recorder: periodic write failed (the recording goes on)")


def write_reports(recordings: dict[str, Recording]) -> Reports:
    """Write every recording; a failure (our bug) is reported with its traceback, the others still write."""
    reports: Reports = []
    for name, recording in recordings.items():
        try:
            text = recording.write_and_report()
            reports.append(Report(name, text, None, bool(recording.observations)))
        except Exception:
            reports.append(Report(name, None, traceback.format_exc()))
    return reports


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the proxy decides when recording ends
    os.nice(10)  # the traffic first: this process uses what the proxy leaves (the pipe bounds the backlog)
    logging.basicConfig(format="%(message)s", stream=sys.stderr)
    inbox = Connection(int(argv[0]), writable=False)
    replies = Connection(int(argv[1]), readable=False)
    _, settings, flush_interval, save_flows = pickle.loads(inbox.recv_bytes())
    child = Child(settings, save_flows)
    next_flush = time.monotonic() + flush_interval if flush_interval else None
    try:
        while True:
            if next_flush is not None and not inbox.poll(max(0.0, next_flush - time.monotonic())):
                child.flush()
                next_flush = time.monotonic() + flush_interval
                continue
            try:
                message = pickle.loads(inbox.recv_bytes())
            except EOFError:  # the proxy is gone without a word: keep what it sent
                for report in child.write_all():
                    print(report.text or report.error, flush=True)
                return 0
            if message[0] in ("write", "done"):
                replies.send(child.write_all())
                if message[0] == "done":
                    return 0
            else:
                child.handle(message)
    finally:
        child.close()


if __name__ == "__main__":
    # Run as recorder.worker, not __main__, so that what it sends back unpickles as recorder.worker.Report.
    from recorder import worker

    sys.exit(worker.main(sys.argv[1:]))
