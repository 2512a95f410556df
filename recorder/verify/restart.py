"""`verify --reset-command CMD`: a provider that cannot be emptied through its API is started afresh.

Some providers keep what they were given (a registry with no way to delete an account): neither a
reset request nor deleting what the setups created empties them. Started again from its command, such
a provider is as empty as the one the pact must verify against, so each interaction that needs states
gets a new one. The command must serve on the --provider-url's port; readiness is that port accepting
connections (no sleeping on a guess).

The command runs under a supervisor (this module run as a script) that holds one end of a pipe from
verify: when verify ends in any way, even killed, the pipe closes and the supervisor stops the provider,
so no provider outlives the verification that started it.
"""

from __future__ import annotations

import os
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from urllib.parse import urlsplit

READY_TIMEOUT = 60
STOP_TIMEOUT = 10  # seconds a stopped provider has to end before it is killed


class ProviderProcess:
    def __init__(self, command: str, provider_url: str):
        self.command = command
        parts = urlsplit(provider_url)
        self.address = (parts.hostname or "127.0.0.1", parts.port or (443 if parts.scheme == "https" else 80))
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> None:
        """Start the command and wait until it accepts connections; ValueError when it does not."""
        self.proc = subprocess.Popen(  # its own session: stopping it stops what it started too
            [sys.executable, "-m", __name__, *shlex.split(self.command)],
            stdin=subprocess.PIPE,  # (never written: its closing says verify is gone)
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.starts += 1
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ValueError(f"--reset-command {self.command!r} exited with {self.proc.returncode} before serving")
            try:
                socket.create_connection(self.address, timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)  # polling the port: readiness is the port accepting, nothing else
        self.stop()
        raise ValueError(f"--reset-command {self.command!r}: nothing listened on {self.address[0]}:{self.address[1]}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.stdin is not None:
            self.proc.stdin.close()
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def restart(self) -> None:
        self.stop()
        self.start()


def supervise(command: list[str]) -> int:
    """Run `command` until it exits (its exit code) or until stdin closes (verify is gone: the command's
    whole process group is stopped). A SIGTERM to the group stops the command; this waits for it to end, so
    whoever waits for this process knows the port is free."""
    child = subprocess.Popen(command, stdin=subprocess.DEVNULL)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # (after the start: the command keeps the default)

    def orphaned() -> None:
        sys.stdin.buffer.read()
        os.killpg(0, signal.SIGTERM)
        try:
            child.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:  # a command that ignores SIGTERM
            os.killpg(0, signal.SIGKILL)

    threading.Thread(target=orphaned, daemon=True).start()
    return child.wait()


if __name__ == "__main__":
    sys.exit(supervise(sys.argv[1:]))
