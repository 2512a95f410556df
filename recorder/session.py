"""A Python API for other runners: record while a block runs, write the pacts when it ends.

    from recorder.session import RecordingSession

    with RecordingSession("user-web", targets={"user-service": "http://127.0.0.1:5001"}, out="pacts") as rec:
        run_my_tests(base_url=rec.url("user-service"))
    # pacts/user-web-user-service.json is written

    with RecordingSession("user-web", forward={"user-service": "users.internal:8080"}) as rec:
        os.environ["HTTP_PROXY"] = rec.proxy_url   # (the pytest plugin sets these itself)

The proxy runs in-process on a background thread (mitmproxy allows one master per process).
Exchanges are tagged with `tag` (the pytest plugin sets the running test), kept on disk (encrypted,
recorder.record.in_order) and recorded at the end in the order (tag, arrival) by the pipeline `record`
uses, so a parallel run and a serial run of the same tests give the same files, and memory stays flat.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from recorder.capture.flows import flow_parts
from recorder.record.in_order import Part, in_order
from recorder.record.pipeline import Settings
from recorder.record.proxy import upstream_tls
from recorder.record.spool import new_key
from recorder.record.targets import listeners, parse_forward, parse_reverse, router
from recorder.record.worker import Child
from recorder.rules import Ruleset, load


class ToReplay:
    """A mitmproxy addon that sends each provider's requests to its replay (plain HTTP on 127.0.0.1)."""

    def __init__(self, route, urls: dict[str, str]):
        self.route, self.urls = route, {name: urlsplit(url) for name, url in urls.items()}

    def request(self, flow) -> None:
        if (url := self.urls.get(self.route(flow) or "")) is not None:
            flow.request.scheme, flow.request.host, flow.request.port = "http", url.hostname, url.port


class RecordingSession:
    def __init__(
        self,
        consumer: str,
        targets: dict[str, str] | None = None,
        forward: dict[str, str] | None = None,
        out: str | Path = "pacts",
        rules: list[str | Path] = (),
        default_rules: bool = True,
        spec: str = "v4",
        confdir: str = "~/.mitmproxy",
        write: bool = True,
        merge: bool = False,
        pending: bool = False,
        upstream_ca: str | Path | None = None,
        upstream_insecure: bool = False,
        answer_from: dict[str, str] | None = None,
        part: Path | None = None,
        key: bytes | None = None,
    ):
        """`merge`/`pending` as `record --merge/--pending`; `upstream_ca`/`upstream_insecure` trust HTTPS
        providers with self-signed certificates, as `record --upstream-ca/--upstream-insecure`.
        `answer_from` (provider -> URL of a replay): nothing is recorded; each provider's requests are
        sent to its replay instead (the pytest plugin's --pact-replay in forward mode). `part`/`key`: the
        file this session keeps its exchanges in and its key, where other processes' parts are recorded
        with it (the pytest plugin under xdist); by default a private temporary file and a new key."""
        self.consumer, self.out, self.spec, self.confdir, self.write = consumer, Path(out), spec, confdir, write
        self.merge, self.pending = merge, pending
        self.answer_from = answer_from
        try:
            self.tls = upstream_tls(upstream_ca, upstream_insecure)
        except ValueError as e:
            raise ValueError(f"upstream CA {e}") from None
        self.rules: Ruleset = load([Path(r) for r in rules], with_defaults=default_rules)
        self.reverse = parse_reverse([f"{n}={u}" for n, u in (targets or {}).items()], None)
        self.forward = parse_forward([f"{n}={h}" for n, h in (forward or {}).items()])
        if not self.reverse and not self.forward:
            raise ValueError("give at least one target (reverse) or forward provider")
        Settings(consumer, "x", self.out, spec)  # validate the consumer name and spec now
        self.plan = listeners(self.reverse, self.forward, 0)
        self.tag: Any = ()  # the order key of what runs now (the pytest plugin: the test's index and id)
        self.key = key or new_key()
        self.part_path, self.part = part, None  # part None: a private temporary file, made on entering
        self._own_folder: Path | None = None
        self._seq = 0
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._error: str | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._master = None

    # -- addresses ----------------------------------------------------------------------------------

    def url(self, provider: str) -> str:
        """The URL the consumer should use for a reverse-proxied provider."""
        for listener in self.plan:
            if listener.provider == provider and listener.mode.startswith("reverse:"):
                return f"http://127.0.0.1:{listener.port}"
        raise KeyError(f"{provider!r} is not a reverse target of this recording")

    @property
    def proxy_url(self) -> str:
        """The forward proxy's URL (for HTTP_PROXY / HTTPS_PROXY)."""
        forward = [lr for lr in self.plan if lr.mode.startswith("regular")]
        if not forward:
            raise KeyError("this recording has no forward providers")
        return f"http://127.0.0.1:{forward[0].port}"

    # -- running ------------------------------------------------------------------------------------

    def __enter__(self) -> RecordingSession:
        if not self.answer_from:
            if self.part_path is None:
                self._own_folder = Path(tempfile.mkdtemp(prefix="pact-recorder-session-"))  # mode 0700
                self.part_path = self._own_folder / "session.part"
            self.part = Part(self.part_path, self.key)
        self._thread = threading.Thread(target=self._run, name="pact-recorder", daemon=True)
        self._thread.start()
        if not self._ready.wait(30) or self._error:
            self.__exit__(None, None, None)
            raise RuntimeError(f"the recording proxy did not start: {self._error or 'timed out'}")
        return self

    def _run(self) -> None:
        from recorder.addon import PactRecorder
        from recorder.record.proxy import lean_master, run

        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            route = router(self.plan, self.forward)
            addon = (
                ToReplay(route, self.answer_from) if self.answer_from else PactRecorder(route=route, sink=self._sink)
            )
            modes = list(dict.fromkeys(lr.mode for lr in self.plan))
            self._master, _ = lean_master(
                modes,
                "127.0.0.1",
                self.confdir,
                [addon],
                self.tls,
                on_ready=lambda addrs: self._ready.set(),
                on_failure=self._failed,
                keep_host_header=not self.forward,
            )
            await self._master.run()

        try:
            run(main())
        except BaseException as e:  # noqa: BLE001 - reported to the caller by __enter__
            self._error = self._error or f"{type(e).__name__}: {e}"
        finally:
            self._ready.set()

    def _failed(self, messages: list[str]) -> None:
        self._error = "; ".join(messages)

    def _sink(self, provider: str, flow) -> None:
        parts = flow_parts(flow)  # what the proxy hands `record`'s recording process: nothing decoded yet
        with self._lock:
            self._seq += 1
            test = self.tag[1:2]  # the test's id, as evidence
            message = ("skip", provider, parts) if isinstance(parts, str) else ("add", provider, parts, *test)
            self.part.append((*self.tag, self._seq), message)

    def __exit__(self, *exc) -> None:
        if self._master is not None and self._loop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._master.shutdown)
        if self._thread is not None:
            self._thread.join(30)
        if self.part is not None:
            self.part.close()
        try:
            if self.write and exc[0] is None and not self._error:
                for line in self.write_pacts([self.part_path]):
                    print(line)
        finally:
            if self._own_folder is not None:
                shutil.rmtree(self._own_folder, ignore_errors=True)

    # -- writing ------------------------------------------------------------------------------------

    def write_pacts(self, parts: list[Path]) -> list[str]:
        """Record the exchanges of these part files (this session's and other workers') in order, through
        the recording process's own end, and write one pact per provider."""
        child = Child(
            {
                lr.provider: Settings(
                    self.consumer, lr.provider, self.out, self.spec, self.rules, self.merge, self.pending
                )
                for lr in self.plan
            },
            save_flows="",
        )
        for message in in_order([p for p in parts if p.exists()], self.key):
            child.handle(message)
        lines = []
        for report in child.write_all():
            text = report.text if report.error is None else f"could not write the pact (a bug):\n{report.error}"
            lines.append(f"[{report.provider}] " + text.rstrip().replace("\n", f"\n[{report.provider}] "))
        return lines
