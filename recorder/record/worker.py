"""Recording in a process of its own, so that the proxy only captures.

The proxy's hooks take each exchange's raw parts (`capture.flows.flow_parts`: nothing decoded, a few
microseconds) and send them down a pipe; this child decodes, redacts and infers them (the same
`pipeline.Recording` as every other front door) on the machine's other core, and writes the pacts when
asked, every --flush-interval, and at the end. The traffic never waits for it: when the pipe is full
(the child fell behind), exchanges go to an encrypted on-disk spool (recorder.record.spool) in the same order,
which the child catches up on; only when the spool's bound is reached does the proxy wait for the child
(said once). Memory stays flat either way. If the proxy dies (kill -9), the child sees the pipe close and
still writes everything it was sent, the spool's last chunk included.

Proxy -> child: ("start", {provider: Settings}, flush seconds, save-flows path, (spool folder, key) or
None), then per exchange ("add", provider, parts) or ("flow", provider, flow state) when flows are saved
too, ("skip", provider, reason), ("spool", chunk name) for a chunk of those to read from the spool,
("settings", provider, Settings) on a change at run time, and ("write",) or ("done",), which the child
answers with [Report(provider, report, error, wrote)].

`pact-recorder infer` uses it too: one process reads the flows while the other infers.
"""

from __future__ import annotations

import array
import contextlib
import fcntl
import gc
import logging
import os
import pickle
import shutil
import signal
import subprocess
import sys
import termios
import threading
import time
import traceback
from collections import Counter
from multiprocessing.connection import Connection
from pathlib import Path
from typing import NamedTuple

from recorder.capture.parts import exchange_from_parts
from recorder.record.pipeline import Recording, Settings, record_flow
from recorder.record.spool import CHUNK_BYTES, Spool, leftovers, new_key, read_chunk


class Report(NamedTuple):
    provider: str
    text: str | None  # what a user reads: the counts and the files written
    error: str | None  # why writing failed (a traceback: our bug)
    wrote: bool = False  # a pact was written (False: nothing was recorded, or it failed)


Reports = list[Report]
log = logging.getLogger("pact_recorder")
PIPE_BYTES = 1 << 20  # room for bursts (~2,000 small exchanges) before the proxy spools or waits
PIPE_RESERVE = 16 << 10  # kept free of exchanges: the spool's hand-overs fit without waiting
IDLE_CHECK_SECONDS = 0.2  # how often a quiet recording process is given what waits in the spool
# Every body is parsed into thousands of small objects that die young (no cycles: JSON trees); the
# default collector walks the survivors every 700 allocations, a fifth of this process's time.
GC_THRESHOLDS = (50_000, 50, 100)
# A caught-up child that woke for every exchange would take the CPU at the moment the proxy, the consumer and
# the provider pass each request along (+0.2 ms per request on 2 cores, bench/latency.py); asleep, it reads
# what gathered in the pipe in one go. 5 ms of the fastest traffic (~100 MB/s) fits in the pipe.
GATHER_SECONDS = 0.005
SPOOLED = frozenset({"add", "flow", "skip"})  # what may wait in the spool (the rest needs the pipe's order)


class RecordingWorker:
    """The proxy's end: starts the child and talks to it."""

    def __init__(
        self, settings: dict[str, Settings], flush_interval: int = 0, save_flows: str = "", spool_bytes: int = 0
    ):
        """`spool_bytes`: the on-disk spool's bound (0: no spool, the proxy waits whenever the pipe is full)."""
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        with contextlib.suppress(OSError):  # a smaller pipe only means the proxy spools or waits sooner
            fcntl.fcntl(to_child_w, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
        self.pipe_bytes = fcntl.fcntl(to_child_w, fcntl.F_GETPIPE_SZ)
        # The child imports what this process can (mitmdump -s adds the project to sys.path), and has a
        # session of its own so that a Ctrl-C meant for the proxy does not cut it short.
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "recorder.record.worker", str(to_child_r), str(from_child_w)],
            pass_fds=(to_child_r, from_child_w),
            env=env,
            start_new_session=True,
        )
        os.close(to_child_r)
        os.close(from_child_w)
        self.save_flows = bool(save_flows)  # the child wants whole flows (their state), not only parts
        self.outbox = Connection(to_child_w, readable=False)
        self.replies = Connection(from_child_r, writable=False)
        key = new_key() if spool_bytes else None  # in the two processes' memory only
        self.spool = Spool(key, spool_bytes) if key else None
        self.spool_full_said = False
        self._sending = threading.Lock()  # the proxy's hooks and the idle hand-over share the pipe
        self._closed = threading.Event()
        spool = (str(self.spool.folder), key) if self.spool is not None else None
        self._send_now(("start", settings, flush_interval, save_flows, spool))
        if self.spool is not None:
            threading.Thread(target=self._hand_over_while_quiet, name="pact-recorder spool", daemon=True).start()

    def _send_now(self, message: tuple) -> None:
        """Down the pipe; blocks while it is full; raises OSError when the child is gone."""
        self.outbox.send_bytes(pickle.dumps(message, pickle.HIGHEST_PROTOCOL))  # faster than Connection.send

    def _queued(self) -> int:
        """Bytes in the pipe that the child has not read yet."""
        n = array.array("i", [0])
        fcntl.ioctl(self.outbox.fileno(), termios.FIONREAD, n)
        return n[0]

    def send(self, message: tuple) -> None:
        """Hand a message to the child without waiting for it: down the pipe while it has room, else (an
        exchange) into the spool. Blocks only when the spool is full too (or there is none); raises
        OSError when the child is gone."""
        if self.spool is None:
            return self._send_now(message)
        with self._sending:
            self._send_or_spool(message)

    def _send_or_spool(self, message: tuple) -> None:
        if self.proc.poll() is not None:  # the pipe would say so, but the spool would not
            raise BrokenPipeError(f"the recording process exited (code {self.proc.returncode})")
        frame = pickle.dumps(message, pickle.HIGHEST_PROTOCOL)
        if message[0] in SPOOLED and (
            self.spool.is_open or self._queued() + len(frame) + 4 > self.pipe_bytes - PIPE_RESERVE
        ):
            if self.spool.append(frame):
                if self.spool.open_bytes >= CHUNK_BYTES:
                    self.hand_over()
                else:
                    self.hand_over_if_idle()
                return
            if not self.spool_full_said:
                self.spool_full_said = True
                log.warning(
                    "pact_recorder: the recording process is behind and its spool is full (%s MB): the proxy "
                    "now waits for it",
                    self.spool.limit >> 20,
                )
        self.hand_over()  # what was spooled before this message comes first
        self.outbox.send_bytes(frame)

    def hand_over(self) -> None:
        """Give the child the spool's open chunk, to read after what the pipe holds."""
        if self.spool is not None and (name := self.spool.seal()) is not None:
            self._send_now(("spool", name))

    def hand_over_if_idle(self) -> None:
        """Hand over the open chunk when the child has nothing else to do."""
        if self.spool.is_open and not self.spool.busy() and self._queued() == 0:
            self.hand_over()

    def _hand_over_while_quiet(self) -> None:
        """When the traffic stops, the child still catches up on the spool's open chunk."""
        while not self._closed.wait(IDLE_CHECK_SECONDS):
            with self._sending:
                try:
                    self.hand_over_if_idle()
                except (OSError, ValueError):  # the child is gone, or the pipe closed: send() says so
                    return

    def ask(self, message: tuple, timeout: float | None = None) -> Reports:
        """Send write/done and wait for the child's reports (`timeout`: seconds without progress)."""
        self.send(message)
        spooled = self.spool.on_disk() if self.spool is not None else 0
        if not spooled:
            if not self.replies.poll(timeout):
                raise TimeoutError(f"the recording process gave no answer in {timeout:.0f} s")
            return self.replies.recv()
        return self._drain(spooled, timeout)

    def _drain(self, spooled: int, timeout: float | None) -> Reports:
        """Wait for the reports while the child reads the spool, with a progress bar and the time it took."""
        from rich.console import Console
        from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn

        console = Console(stderr=True)
        start = last_change = time.monotonic()
        left = spooled
        with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeElapsedColumn(),
                      console=console, transient=True) as bar:  # fmt: skip
            task = bar.add_task("recording the spooled exchanges", total=spooled)
            while not self.replies.poll(0.1):
                if (now_left := self.spool.on_disk()) != left:
                    left, last_change = now_left, time.monotonic()
                    bar.update(task, completed=spooled - left)
                elif timeout is not None and time.monotonic() - last_change > timeout:
                    raise TimeoutError(f"the recording process made no progress in {timeout:.0f} s")
        console.print(
            f"pact-recorder: caught up on {spooled / 2**20:.1f} MB of spooled exchanges in "
            f"{time.monotonic() - start:.1f} s",
            highlight=False,
        )
        return self.replies.recv()

    def cancel(self) -> None:
        """Stop the child without writing anything."""
        self._closed.set()
        self.proc.kill()
        self.proc.wait()
        self.outbox.close()
        self.replies.close()
        if self.spool is not None:
            self.spool.remove()

    def finish(self, timeout: float = 600) -> Reports:
        """Have the child write everything and exit (`timeout`: seconds without progress)."""
        try:
            return self.ask(("done",), timeout)
        except (OSError, EOFError) as e:
            code = self.proc.poll()
            raise RuntimeError(f"the recording process ended early (exit code {code}): {e}") from None
        finally:
            self._closed.set()
            with self._sending:
                self.outbox.close()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.replies.close()
            if self.spool is not None:
                self.spool.remove()


class Child:
    """The child's end: one Recording per provider."""

    def __init__(self, settings: dict[str, Settings], save_flows: str):
        self.recordings = {name: Recording(s) for name, s in settings.items()}
        self.flows = None
        if save_flows:  # (mitmproxy's flow objects only then: the recording process starts faster without)
            from recorder.capture.flows import FlowSaver

            self.flows = FlowSaver(Path(save_flows).expanduser())
        self.errors: Counter[str] = Counter()
        self.written: dict[str, int] = {}

    def handle(self, message: tuple) -> None:
        """("add", provider, parts[, test]), ("flow", provider, state), ("skip", provider, reason),
        ("settings", provider, settings); `test`: the test that made it (the pytest plugin), as evidence."""
        kind, provider, payload, *test = message
        if kind == "settings":
            self.recordings[provider].settings = payload
            return
        recording = self.recordings[provider]
        try:
            if kind == "skip":
                recording.skip(payload)
            elif kind == "add":
                recording.add(exchange_from_parts(payload), source=test[0] if test else None)
            elif kind == "flow":
                from mitmproxy import http

                from recorder.capture.flows import redacted_copy

                flow = http.HTTPFlow.from_state(payload)
                if (kept := record_flow(recording, flow, keep=True)) is not None and self.flows is not None:
                    self.flows.add(redacted_copy(flow, kept))
        except Exception as e:  # one bad exchange must not end the recording
            name = type(e).__name__
            self.errors[name] += 1
            recording.skip(f"internal error while recording ({name})")
            if self.errors[name] == 1:
                log.exception("pact_recorder: could not record an exchange (further %s errors are only counted)", name)

    def read_spool(self, chunk: Path, key: bytes) -> None:
        """Record a chunk of the spool, in order, and delete it (the proxy counts what is left by that)."""
        for frame in read_chunk(chunk, key):
            self.handle(pickle.loads(frame))
        chunk.unlink()

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
    gc.set_threshold(*GC_THRESHOLDS)
    logging.basicConfig(format="%(message)s", stream=sys.stderr)
    inbox = Connection(int(argv[0]), writable=False)
    replies = Connection(int(argv[1]), readable=False)
    _, settings, flush_interval, save_flows, spool = pickle.loads(inbox.recv_bytes())
    folder, key = (Path(spool[0]), spool[1]) if spool else (None, None)
    child = Child(settings, save_flows)
    next_flush = time.monotonic() + flush_interval if flush_interval else None
    try:
        while True:
            if next_flush is not None and not inbox.poll(max(0.0, next_flush - time.monotonic())):
                child.flush()
                next_flush = time.monotonic() + flush_interval
                continue
            if not inbox.poll():  # caught up: let the next exchanges gather (see GATHER_SECONDS)
                time.sleep(GATHER_SECONDS)
            try:
                message = pickle.loads(inbox.recv_bytes())
            except EOFError:  # the proxy is gone without a word: keep what it sent, spooled or not
                for chunk in leftovers(folder) if folder else ():
                    child.read_spool(chunk, key)
                for report in child.write_all():
                    print(report.text or report.error, flush=True)
                return 0
            if message[0] in ("write", "done"):
                replies.send(child.write_all())
                if message[0] == "done":
                    return 0
            elif message[0] == "spool":
                child.read_spool(folder / message[1], key)
            else:
                child.handle(message)
    finally:
        child.close()
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    # Run as recorder.record.worker, not __main__, so that what it sends back unpickles as
    # recorder.record.worker.Report.
    from recorder.record import worker

    code = worker.main(sys.argv[1:])
    # All is written and answered: exit without tearing down what was recorded (a tenth of a second for
    # a large recording, which the caller waits out), as multiprocessing's children do.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
