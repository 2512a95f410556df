"""The mitmproxy addon: records every proxied exchange and writes the pact on shutdown.

Loaded by `pact-recorder record` (in our lean master) and, through addons/pact_recorder.py, by plain
`mitmdump -s`. Hooks stay cheap and never raise into mitmproxy: a failure while recording an exchange
is logged and counted, and the traffic itself is never touched. Once the proxy runs, the recordings
live in a child process (recorder.record.worker) and the hooks only hand it each exchange's raw parts; with
pact_offload=false, or when the child cannot be started, they are recorded in this process.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

from mitmproxy import command, ctx, exceptions, http
from mitmproxy.proxy.mode_specs import ReverseMode
from mitmproxy.utils import human

from recorder.capture.flows import KEPT_BODY, FlowSaver, flow_parts, redacted_copy
from recorder.capture.kept_bodies import BodyTee, binary, bodies_dir
from recorder.record.pipeline import Recording, Settings, record_flow
from recorder.record.worker import RecordingWorker, Report, Reports, write_changed, write_reports
from recorder.rules import RuleError, load

log = logging.getLogger("pact_recorder")

DRAIN_SECONDS = 10.0
OPTIONS = frozenset(
    {
        "pact_consumer",
        "pact_provider",
        "pact_out",
        "pact_spec",
        "pact_rules",
        "pact_default_rules",
        "pact_save_flows",
        "pact_flush_interval",
        "pact_max_body",
        "pact_offload",
        "pact_spool",
        "pact_merge",
        "pact_pending",
        "pact_self_check",
        "pact_sample",
    }
)
SETTINGS = OPTIONS - {"pact_save_flows", "pact_flush_interval", "pact_max_body", "pact_offload", "pact_spool"}


def _settings(opts) -> Settings | None:
    """The recording settings the options describe; None until both names are set."""
    if not (opts.pact_consumer and opts.pact_provider):
        return None
    try:
        rules = load([Path(r) for r in opts.pact_rules], with_defaults=opts.pact_default_rules)
    except RuleError as e:
        raise ValueError("pact_rules: " + "\n  ".join(e.problems)) from None
    return Settings(
        opts.pact_consumer,
        opts.pact_provider,
        Path(opts.pact_out),
        opts.pact_spec,
        rules,
        opts.pact_merge,
        opts.pact_pending,
        opts.pact_self_check,
        opts.pact_sample,
    )


class PactRecorder:
    def __init__(
        self,
        recordings: dict[str, Recording] | None = None,
        route: Callable[[http.HTTPFlow], str | None] | None = None,
        sink: Callable[[str, object], None] | None = None,
    ) -> None:
        """Embedded (record, the pytest plugin): `recordings` by provider name and `route`, which names the
        provider a flow is for (None: pass it through unrecorded); `sink(provider, flow)` takes the flows
        instead when given. Under mitmdump the pact_* options make one recording for pact_provider."""
        self.recordings = dict(recordings or {})
        self.route = route
        self.sink = sink
        self.passed_through: Counter[str] = Counter()
        self.inflight: set[str] = set()
        self.tees: dict[str, BodyTee] = {}  # flow id -> the copy of its streamed request body being kept
        self.errors: Counter[str] = Counter()
        self.write_failed = False
        self.wrote = False  # a pact was written at the end (not: nothing was recorded)
        self.started = False
        self.flows: FlowSaver | None = None
        self.flusher: asyncio.Task | None = None
        self.worker: RecordingWorker | None = None  # once running: the recordings live there

    def load(self, loader) -> None:
        loader.add_option("pact_consumer", str, "", "Consumer name written into the pact (required).")
        loader.add_option("pact_provider", str, "", "Provider name written into the pact (required).")
        loader.add_option("pact_out", str, "pacts", "Folder the pact and the states hints are written to.")
        loader.add_option("pact_spec", str, "v4", "Pact specification version to write: v4 or v3.")
        loader.add_option("pact_rules", Sequence[str], [], "Rule files applied after the defaults (repeatable).")
        loader.add_option("pact_default_rules", bool, True, "Apply pact-recorder's default rules first.")
        loader.add_option("pact_merge", bool, False, "Keep what the existing pact has that this recording did not see.")
        loader.add_option("pact_pending", bool, False, "Mark newly inferred interactions pending (V4).")
        loader.add_option(
            "pact_self_check", bool, True, "Verify the pact against its own recorded responses before writing it."
        )
        loader.add_option(
            "pact_sample", bool, True, "Once a response shape has settled, read one body in 8, then fewer (false: all)."
        )
        loader.add_option("pact_save_flows", str, "", "Also keep the raw capture, redacted, in this .mitm file.")
        loader.add_option("pact_flush_interval", int, 0, "Write the pact every this many seconds (0: only at exit).")
        loader.add_option(
            "pact_max_body",
            str,
            "4m",
            "Bodies larger than this are streamed through untouched and recorded by content type only.",
        )
        loader.add_option(
            "pact_offload",
            bool,
            True,
            "Redact and infer in a child process, so that the proxy only captures (false: in the proxy's process).",
        )
        loader.add_option(
            "pact_spool",
            str,
            "1g",
            "When the child process falls behind, exchanges wait in an encrypted spool on disk of at most this "
            "size, so the traffic does not (0: no spool, the proxy waits).",
        )

    def configure(self, updated: set[str]) -> None:
        for name in ("pact_max_body", "pact_spool"):
            if name in updated:
                try:
                    human.parse_size(getattr(ctx.options, name))
                except ValueError:
                    raise exceptions.OptionsError(
                        f"{name}: {getattr(ctx.options, name)!r} is not a size such as 512k, 4m or 1g"
                    ) from None
        if "pact_max_body" in updated and ctx.options.stream_large_bodies is None:  # the user's own setting wins
            ctx.options.update(stream_large_bodies=ctx.options.pact_max_body)
        if "pact_flush_interval" in updated and ctx.options.pact_flush_interval < 0:
            raise exceptions.OptionsError("pact_flush_interval: expected seconds >= 0 (0 writes only at exit)")
        if "pact_save_flows" in updated and ctx.options.pact_save_flows and self.worker is None:
            if self.flows is not None:
                self.flows.close()
            self.flows = FlowSaver(Path(ctx.options.pact_save_flows).expanduser())
        if not updated & SETTINGS:
            return
        try:
            settings = _settings(ctx.options)
        except ValueError as e:
            if self.started:
                raise exceptions.OptionsError(str(e)) from None  # `set` at run time: mitmproxy rolls back
            # At start-up mitmproxy would print OptionsError from a -s script with a traceback; an
            # ERROR log line is shown cleanly and still stops the start (mitmdump's ErrorCheck).
            log.error("pact_recorder: %s", e)
            self.errors["configure"] += 1
            return
        if settings is None:
            return
        if settings.provider not in self.recordings:
            if self.worker is not None:
                raise exceptions.OptionsError("pact_provider cannot change while recording")
            self.recordings = {settings.provider: Recording(settings)}
        else:
            self.recordings[settings.provider].settings = settings
            if self.worker is not None:
                self.worker.send(("settings", settings.provider, settings))

    def running(self) -> None:
        self.started = True
        if ctx.options.pact_offload and self.recordings and self.sink is None:
            self._start_worker()
        if ctx.options.pact_flush_interval > 0 and self.worker is None:
            self.flusher = asyncio.get_running_loop().create_task(self._flush_every(ctx.options.pact_flush_interval))
        # mitmproxy silently ignores --set for names no addon declares; a typo would lose the setting.
        if unknown := sorted(n for n in ctx.options.deferred if n.startswith("pact_")):
            log.error("pact_recorder: unknown option(s) %s; known: %s", ", ".join(unknown), ", ".join(sorted(OPTIONS)))
        if not self.recordings and self.sink is None and not self.errors["configure"]:
            log.error(
                "pact_recorder: set both names, e.g. --set pact_consumer=user-web --set pact_provider=user-service"
            )

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        self.inflight.add(flow.id)
        if flow.request.stream is True:  # over --max-body: a binary body is kept as it passes
            try:
                recording = self.recordings.get(self._provider(flow))
                content_type = flow.request.headers.get("content-type")
                if recording is not None and binary(content_type):
                    tee = BodyTee(bodies_dir(recording.settings.hints_path), sniff=content_type is None)
                    flow.request.stream = self.tees[flow.id] = tee
            except Exception:  # never let a recording bug reach the traffic: streamed, not kept
                log.exception("pact_recorder: cannot keep the body of %s %s", flow.request.method, flow.request.path)

    def response(self, flow: http.HTTPFlow) -> None:
        self.inflight.discard(flow.id)
        self._kept(flow)
        self._record(flow)

    def error(self, flow: http.HTTPFlow) -> None:
        self.inflight.discard(flow.id)
        self._kept(flow)
        if flow.response is None:  # an error after a complete response (client gone) was recorded already
            self._record(flow)
            if isinstance(flow.client_conn.proxy_mode, ReverseMode) and flow.killable:
                # In the provider's place, a provider that is down or dropped the request is a connection that
                # closes with no answer (what a client's "server down" handling expects), not a 502 page.
                flow.kill()

    def _kept(self, flow: http.HTTPFlow) -> None:
        if (tee := self.tees.pop(flow.id, None)) is None:
            return
        if tee.digest:
            flow.metadata[KEPT_BODY] = tee.digest
        else:
            tee.abandon()

    def _start_worker(self) -> None:
        try:
            self.worker = RecordingWorker(
                {name: r.settings for name, r in self.recordings.items()},
                ctx.options.pact_flush_interval,
                ctx.options.pact_save_flows,
                human.parse_size(ctx.options.pact_spool) or 0,
            )
        except Exception as e:
            log.warning("pact_recorder: recording in the proxy's own process (no child process: %s)", e)
            return
        if self.flows is not None:  # the child saves them, after redaction
            self.flows.close()
            self.flows = None

    def _offload(self, provider: str, flow: http.HTTPFlow) -> None:
        parts = flow_parts(flow)
        if isinstance(parts, str):
            message = ("skip", provider, parts)
        elif self.worker.save_flows:
            message = ("flow", provider, flow.get_state())  # the child writes the (redacted) flow too
        else:
            message = ("add", provider, parts)
        try:
            self.worker.send(message)
        except OSError as e:
            log.error(
                "pact_recorder: the recording process is gone (%s): what it held is lost, the pact will lack "
                "it; recording in the proxy from now on",
                e,
            )
            self.worker.cancel()  # reaps it and removes its spool
            self.worker = None
            self.write_failed = True  # what it had is lost: the run must not look clean
            record_flow(self.recordings[provider], flow)

    def _provider(self, flow: http.HTTPFlow) -> str | None:
        if self.route is not None:
            return self.route(flow)
        return next(iter(self.recordings), None)

    def _record(self, flow: http.HTTPFlow) -> None:
        provider = None
        try:
            provider = self._provider(flow)
            if provider is None:
                self.passed_through[flow.request.pretty_host] += 1
            elif self.sink is not None:
                self.sink(provider, flow)
            elif self.worker is not None:
                self._offload(provider, flow)
            elif (recording := self.recordings.get(provider)) is not None:
                kept = record_flow(recording, flow, keep=self.flows is not None)
                if kept is not None and self.flows is not None:
                    self.flows.add(redacted_copy(flow, kept))
        except Exception as e:  # never let a recording bug reach the traffic
            kind = type(e).__name__
            self.errors[kind] += 1
            if (recording := self.recordings.get(provider)) is not None:
                recording.skip(f"internal error while recording ({kind})")
            if self.errors[kind] == 1:
                log.exception(
                    "pact_recorder: could not record %s %s (further %s errors are only counted)",
                    flow.request.method,
                    flow.request.path,
                    kind,
                )

    @command.command("pact.write")
    def write(self) -> None:
        """Write the pacts and the states hints now."""
        if not self.recordings:
            raise exceptions.CommandError("pact_consumer and pact_provider are not set")
        reports = self.worker.ask(("write",)) if self.worker is not None else write_reports(self.recordings)
        for _, report, error, _ in reports:
            if error is None:
                log.info("%s", report)
            else:
                log.error("pact_recorder: could not write the pact:\n%s", error)

    async def _flush_every(self, seconds: int) -> None:
        """Long recordings are written as they go: after a kill -9 at most the last interval is lost."""
        written: dict[str, int] = {}
        while True:
            await asyncio.sleep(seconds)
            write_changed(self.recordings, written)

    def _write_all(self) -> Reports:
        """(provider, report, error) for each recording, written here or by the child. Blocks the event
        loop, as it should: no exchange may complete for a client after its recording was written."""
        if (worker := self.worker) is not None:
            self.worker = None
            try:
                return worker.finish()
            except Exception as e:
                return [Report(name, None, str(e)) for name in self.recordings]
        return write_reports(self.recordings)

    async def done(self) -> None:
        # In-flight exchanges would be cut off at shutdown; let them finish and be recorded first.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + DRAIN_SECONDS
        while self.inflight and loop.time() < deadline:
            await asyncio.sleep(0.02)
        if self.flusher is not None:
            self.flusher.cancel()
        if self.flows is not None:
            self.flows.close()
        if self.sink is not None:
            return  # whoever gave the sink writes the pacts
        for name, report, error, wrote in self._write_all():
            self.wrote = self.wrote or wrote
            if error is not None:
                self.write_failed = True
                log.error("pact_recorder: could not write the pact for %s\n%s", name, error)
            elif self.recordings:  # none left when the proxy could not start: nothing to say
                print(report if len(self.recordings) == 1 else f"[{name}] " + report.replace("\n", f"\n[{name}] "),
                      flush=True)  # fmt: skip
        if self.passed_through:
            hosts = ", ".join(f"{h} ({n})" for h, n in sorted(self.passed_through.items()))
            print(f"passed through unrecorded (not a recorded provider): {hosts}", flush=True)
