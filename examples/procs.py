"""Start a process, wait until it says it is listening, stop it cleanly. Used by the demo and the tests."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field

LISTENING = re.compile(r"listening on (https?://[\w.\[\]:-]+)")
"""What our recorder and the example provider print once they accept connections."""
MITMDUMP_LISTENING = re.compile(r"listening at ([\w.\[\]:-]+:\d+)")
"""What mitmdump prints (`reverse proxy to ... listening at 127.0.0.1:PORT.`): group 1 is HOST:PORT."""


@dataclass
class Process:
    proc: subprocess.Popen
    url: str
    lines: list[str] = field(default_factory=list)
    _reader: threading.Thread | None = None
    _more: threading.Condition = field(default_factory=threading.Condition)

    def urls(self, count: int, timeout: float = 30) -> list[str]:
        """The URLs of the first `count` listening lines, waiting for them to be printed."""

        def found() -> list[str]:
            return [m.group(1) for line in list(self.lines) if (m := LISTENING.search(line))]

        with self._more:
            if not self._more.wait_for(lambda: len(found()) >= count, timeout):
                raise RuntimeError(f"expected {count} listening lines:\n{self.output}")
        return found()[:count]

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        """Send `sig` and wait for the process to exit; returns its exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        if self._reader is not None:
            self._reader.join(5)
        return code

    @property
    def output(self) -> str:
        return "".join(self.lines)


def start(
    args: list[str],
    timeout: float = 60,
    env: dict | None = None,
    cwd: str | None = None,
    ready: re.Pattern[str] = LISTENING,
) -> Process:
    """Run `args` and return once it prints a line matching `ready` (stdout and stderr merged).

    The Process's url is the pattern's first group, with http:// added when it has no scheme."""
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", "PACT_DO_NOT_TRACK": "true", **(env or {})}
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=full_env, cwd=cwd)
    seen: queue.Queue[str | None] = queue.Queue()
    lines: list[str] = []
    more = threading.Condition()

    def pump() -> None:
        for line in proc.stdout:
            with more:
                lines.append(line)
                more.notify_all()
            seen.put(line)
        seen.put(None)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    while True:
        try:
            line = seen.get(timeout=timeout)
        except queue.Empty:
            proc.kill()
            proc.wait()
            raise RuntimeError(
                f"{args[:3]} did not say it was listening within {timeout}s:\n{''.join(lines)}"
            ) from None
        if line is None:
            proc.wait()
            raise RuntimeError(f"{args[:3]} exited with {proc.returncode} before listening:\n{''.join(lines)}")
        if m := ready.search(line):
            url = m.group(1) if "://" in m.group(1) else f"http://{m.group(1)}"
            return Process(proc, url, lines, reader, more)


def python(*args: str) -> list[str]:
    return [sys.executable, *args]
