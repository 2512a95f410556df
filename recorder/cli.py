"""The `pact-recorder` command line. `main(argv) -> exit code`; user mistakes never print a traceback.

Exit codes: 0 success (verify: green), 1 failure (verify: red; record: could not start),
2 usage error (bad option, unreadable input).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import re
import socket
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from recorder import __version__
from recorder.pactfile import SPECS
from recorder.pipeline import Recording, Settings
from recorder.rules import RuleError, dump, load


class UsageError(Exception):
    """A mistake in what the user asked for: printed as one line, exit code 2."""


def main(argv: list[str] | None = None) -> int:
    # The Pact core asks for anonymous usage tracking on every run; a recorder's output is no place
    # for that notice. Users who want tracking set PACT_DO_NOT_TRACK=false.
    os.environ.setdefault("PACT_DO_NOT_TRACK", "true")
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="pact-recorder: %(levelname)s: %(message)s"
    )
    try:
        return args.run(args)
    except UsageError as e:
        print(f"pact-recorder {args.command}: error: {e}", file=sys.stderr)
        return 2
    except RuleError as e:
        print(
            f"pact-recorder {args.command}: error: the rule files have {len(e.problems)} problem(s):", file=sys.stderr
        )
        for problem in e.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="pact-recorder", description="Record HTTP traffic into Pact contracts.")
    p.add_argument("--version", action="version", version=f"pact-recorder {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    rec = sub.add_parser("record", help="run a recording proxy in front of providers (reverse or forward)")
    rec.add_argument("--consumer", required=True, help="consumer name (used in the file name)")
    rec.add_argument(
        "--provider",
        action="append",
        default=[],
        metavar="NAME | NAME=HOST[:PORT]",
        help="the provider's name (with one bare --target URL); with --forward, NAME=HOST[:PORT], "
        "repeatable: traffic to that host is recorded into NAME's pact",
    )
    rec.add_argument(
        "--target",
        action="append",
        default=[],
        metavar="URL | NAME=URL",
        help="reverse mode: the provider's base URL, e.g. http://127.0.0.1:5001; NAME=URL, "
        "repeatable, for several providers (each on its own listening port)",
    )
    rec.add_argument(
        "--forward",
        action="store_true",
        help="listen as an HTTP(S) proxy; record traffic to the --provider hosts, pass the rest",
    )
    rec.add_argument(
        "--upstream-ca", type=Path, metavar="PEM", help="trust this CA (or self-signed certificate) for HTTPS providers"
    )
    rec.add_argument(
        "--upstream-insecure",
        action="store_true",
        help="do not verify HTTPS providers' certificates (test environments only)",
    )
    rec.add_argument(
        "--listen",
        default="127.0.0.1:8080",
        metavar="HOST:PORT",
        help="where the consumer connects (default 127.0.0.1:8080; port 0 picks a free one)",
    )
    rec.add_argument("--confdir", default="~/.mitmproxy", help="mitmproxy's configuration folder (its CA lives there)")
    rec.add_argument(
        "--save-flows",
        type=Path,
        metavar="FILE.mitm",
        help="also keep the raw capture (redacted), to re-infer later with other rules",
    )
    rec.add_argument(
        "--flush-interval",
        type=int,
        default=0,
        metavar="SECONDS",
        help="write the pact every SECONDS during the recording (default: only at exit)",
    )
    rec.add_argument(
        "--max-body",
        default="4m",
        metavar="SIZE",
        help="bodies larger than this (512k, 4m, 1g) are streamed through untouched and recorded "
        "by content type only (default 4m)",
    )
    rec.add_argument(
        "--spool",
        default="1g",
        metavar="SIZE",
        help="when inference falls behind the traffic, exchanges wait in an encrypted spool on disk of at most "
        "SIZE instead of slowing the traffic down; 0: no spool (default 1g)",
    )
    _output(rec)
    rec.set_defaults(run=cmd_record)

    inf = sub.add_parser("infer", help="infer a pact from a recorded .mitm flow file or a HAR file")
    inf.add_argument("flows", type=Path, metavar="FILE", help="a .mitm flow dump or a .har file")
    _names(inf)
    _output(inf)
    inf.set_defaults(run=cmd_infer)

    ver = sub.add_parser("verify", help="verify a pact against a running provider with the Pact core")
    ver.add_argument("pact", type=Path, metavar="PACT")
    ver.add_argument("--provider-url", required=True, metavar="URL")
    states_from = ver.add_mutually_exclusive_group()
    states_from.add_argument(
        "--state-url", metavar="URL", help="the provider's state-change endpoint (POST state/params/action)"
    )
    states_from.add_argument(
        "--states",
        type=Path,
        metavar="MODULE.py",
        help="a state-handler module (see `states scaffold`), run in this process",
    )
    states_from.add_argument(
        "--states-from-recording",
        nargs="?",
        const=True,
        type=Path,
        metavar="STATES.yaml",
        help="set each state up by sending the provider the recorded requests that made it (the states "
        "file beside the pact, or this one); the provider starts empty, no state code needed",
    )
    ver.add_argument(
        "--reset-command",
        metavar="CMD",
        help="with --states-from-recording: start the provider with this command, and again before each "
        "interaction with states (for a provider nothing can empty); it must serve on --provider-url",
    )
    ver.add_argument(
        "--reset-url",
        metavar="URL",
        help="with --states-from-recording: POST here to empty the provider before each interaction "
        "(default: the reset request the recording holds, else delete what the setups created)",
    )
    ver.add_argument(
        "--header",
        action="append",
        default=[],
        metavar="'NAME: VALUE'",
        help="fill the recording's redacted values of this header (e.g. real credentials); a header the "
        "recording did not redact is sent with every request",
    )
    ver.add_argument(
        "--secret",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="the real value of a redacted request value the recording named (states file: `secrets`); "
        "also from PACT_SECRET_<NAME>",
    )
    ver.add_argument("--report", type=Path, metavar="FILE.json", help="write machine-readable results here")
    ver.set_defaults(run=cmd_verify)

    states = sub.add_parser("states", help="work with the provider states a pact needs")
    states_sub = states.add_subparsers(dest="states_command", required=True, metavar="ACTION")
    scaffold = states_sub.add_parser("scaffold", help="write a Python module of state handlers for a pact")
    scaffold.add_argument("pact", type=Path, metavar="PACT")
    scaffold.add_argument("--out", type=Path, metavar="FILE", help="where to write it (default: print it)")
    scaffold.add_argument(
        "--from-recording",
        action="store_true",
        help="handlers of states the recording made send its recorded requests (from the states file)",
    )
    scaffold.add_argument("-v", "--verbose", action="store_true", help="log more")
    scaffold.set_defaults(run=cmd_states_scaffold)

    dif = sub.add_parser("diff", help="what changed between two pacts: breaking, to review, non-breaking")
    dif.add_argument("old", type=Path, metavar="OLD")
    dif.add_argument("new", type=Path, metavar="NEW")
    dif.add_argument("--format", choices=("text", "md", "json"), default="text")
    dif.add_argument("-v", "--verbose", action="store_true", help="log more")
    dif.set_defaults(run=cmd_diff)

    rev = sub.add_parser("review", help="what was inferred and why, with the fields a reviewer should look at")
    rev.add_argument("pact", type=Path, metavar="PACT")
    rev.add_argument("--format", choices=("text", "md", "html", "json"), default="text")
    rev.add_argument("--out", type=Path, metavar="FILE", help="write the report here (default: print it)")
    rev.add_argument(
        "--decisions",
        type=Path,
        metavar="FILE.yaml",
        help="the reviewer's accept/override per field (see README), for --write-rules",
    )
    rev.add_argument(
        "--write-rules", type=Path, metavar="FILE.yaml", help="write the decisions as a rule file for `infer --rules`"
    )
    rev.add_argument("-v", "--verbose", action="store_true", help="log more")
    rev.set_defaults(run=cmd_review)

    ca = sub.add_parser("ca", help="where the recorder's CA certificate is, and how to trust it (HTTPS)")
    ca.add_argument("--confdir", default="~/.mitmproxy", help="mitmproxy's configuration folder")
    ca.add_argument("--bundle", type=Path, metavar="FILE", help="write the system CAs plus ours into FILE")
    ca.add_argument("-v", "--verbose", action="store_true", help="log more")
    ca.set_defaults(run=cmd_ca)

    rules = sub.add_parser("rules", help="check rule files, or show the effective rules")
    rules_sub = rules.add_subparsers(dest="rules_command", required=True, metavar="ACTION")
    check = rules_sub.add_parser("check", help="validate rule files (with the defaults they extend)")
    check.add_argument("files", nargs="+", type=Path, metavar="FILE")
    check.set_defaults(run=cmd_rules_check)
    show = rules_sub.add_parser("show", help="print the effective merged rules")
    show.add_argument("files", nargs="*", type=Path, metavar="FILE")
    show.set_defaults(run=cmd_rules_show)
    for p_ in (check, show):
        p_.add_argument("--no-default-rules", action="store_true", help="leave out rules/default.yaml")
        p_.add_argument("-v", "--verbose", action="store_true", help="log more")
    for s in (rec, inf, ver):
        s.add_argument("-v", "--verbose", action="store_true", help="log more")
    return p


def _names(p: argparse.ArgumentParser) -> None:
    p.add_argument("--consumer", required=True, help="consumer name (used in the file name)")
    p.add_argument("--provider", required=True, help="provider name (used in the file name)")


def _output(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=Path, default=Path("pacts"), metavar="DIR", help="output folder (default pacts/)")
    p.add_argument("--spec", choices=sorted(SPECS), default="v4", help="Pact specification to write (default v4)")
    p.add_argument(
        "--rules",
        action="append",
        type=Path,
        default=[],
        metavar="FILE",
        help="a rule file applied after the defaults (repeatable; later files win)",
    )
    p.add_argument("--no-default-rules", action="store_true", help="leave out rules/default.yaml")
    p.add_argument(
        "--merge",
        action="store_true",
        help="merge into the existing pact: keep interactions not seen again and hand-written ones",
    )
    p.add_argument("--pending", action="store_true", help="mark newly inferred interactions pending (V4)")


def settings(args, rules=None, provider: str | None = None) -> Settings:
    rules = rules or load(args.rules, with_defaults=not args.no_default_rules)
    if args.pending and args.spec != "v4":
        raise UsageError("--pending needs --spec v4: V3 pacts have no pending interactions")
    try:
        return Settings(args.consumer, provider or args.provider, args.out, args.spec, rules, args.merge, args.pending)
    except ValueError as e:
        raise UsageError(str(e)) from None


def http_url(option: str, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"{option} {value!r}: expected an http(s) URL such as http://127.0.0.1:5001")
    try:
        _ = parts.port  # raises for a port out of range
    except ValueError:
        raise UsageError(f"{option} {value!r}: the port is not a number between 0 and 65535") from None
    return value.rstrip("/")


def reachable(option: str, url: str) -> str:
    """The URL, if something listens there: a provider that is not running is said plainly, once."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        socket.create_connection((parts.hostname, port), timeout=5).close()
    except OSError as e:
        reason = "connection refused" if isinstance(e, ConnectionRefusedError) else str(e)
        raise UsageError(f"{option} {url}: {reason}; is the provider running there?") from None
    return url


def listen_address(value: str) -> tuple[str, int]:
    m = re.fullmatch(r"(?:\[?([^\]]*)\]?:)?(\d{1,5})", value)
    if not m or int(m.group(2)) > 65535:
        raise UsageError(f"--listen {value!r}: expected HOST:PORT or PORT, e.g. 127.0.0.1:8080")
    host, port = m.group(1) or "127.0.0.1", int(m.group(2))
    if port:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
            try:
                s.bind((host, port))
            except OSError as e:
                raise UsageError(
                    f"--listen {value!r}: cannot listen there ({e.strerror}); pick another port, or 0 for a free one"
                ) from None
    return host, port


def cmd_record(args) -> int:
    from recorder.addon import PactRecorder
    from recorder.proxy import serve
    from recorder.targets import listeners, parse_forward, parse_reverse, router

    host, port = listen_address(args.listen)
    try:
        if args.forward:
            if args.target:
                raise ValueError("--forward records by host: name providers with --provider NAME=HOST, not --target")
            reverse, forward = [], parse_forward(args.provider)
            if not forward:
                raise ValueError("--forward needs at least one --provider NAME=HOST[:PORT]")
        else:
            if not args.target:
                raise ValueError("give the provider's URL with --target (or record by host with --forward)")
            if len(args.provider) > 1:
                raise ValueError("--provider names the provider of one bare --target URL; use --target NAME=URL")
            reverse, forward = parse_reverse(args.target, args.provider[0] if args.provider else None), []
    except ValueError as e:
        raise UsageError(str(e)) from None
    if args.flush_interval < 0:
        raise UsageError(f"--flush-interval {args.flush_interval}: expected seconds >= 0 (0 writes only at exit)")
    for option, size in (("--max-body", args.max_body), ("--spool", args.spool)):
        if not re.fullmatch(r"[0-9]+[kmg]?b?", size.lower()):
            raise UsageError(f"{option} {size!r}: expected a size such as 512k, 4m or 1g")
    rules = load(args.rules, with_defaults=not args.no_default_rules)
    plan = listeners(reverse, forward, port, host)
    recordings = {}
    for listener in plan:
        recordings[listener.provider] = Recording(settings(args, rules, listener.provider))
    recorder = PactRecorder(recordings, router(plan, forward))

    def ready(addrs) -> None:
        for listener in plan if not args.forward else plan[:1]:
            what = f"-> {listener.upstream}" if not args.forward else f"as a forward proxy for {listener.upstream}"
            print(
                f"pact-recorder: listening on http://{host}:{listener.port} {what} "
                f"(Ctrl-C or SIGTERM writes the pacts to {args.out})",
                flush=True,
            )

    def failed(messages) -> None:
        recorder.recordings = {}  # nothing was recorded: leave any earlier pact in place
        for message in messages:
            print(f"pact-recorder: error: {message}", flush=True)

    modes = sorted({listener.mode for listener in plan}, key=[lr.mode for lr in plan].index)
    code = asyncio.run(
        serve(
            modes=modes,
            listen_host=host,
            confdir=args.confdir,
            addons=[recorder],
            addon_options={
                "pact_save_flows": str(args.save_flows or ""),
                "pact_flush_interval": args.flush_interval,
                "pact_max_body": args.max_body,
                "pact_spool": args.spool,
                **upstream_tls(args),
            },
            on_ready=ready,
            on_failure=failed,
            keep_host_header=not args.forward,
        )
    )
    return 1 if recorder.write_failed else code


def upstream_tls(args) -> dict:
    from recorder.proxy import upstream_tls as options

    try:
        return options(args.upstream_ca, args.upstream_insecure)
    except ValueError as e:
        raise UsageError(f"--upstream-ca {e}") from None


def cmd_infer(args) -> int:
    from recorder.capture import flow_parts
    from recorder.files import PartialCapture, read_flows
    from recorder.worker import RecordingWorker

    s = settings(args)
    if not args.flows.is_file():
        raise UsageError(f"{args.flows}: no such file")
    # This process reads the flows (mitmproxy's reader is the slow part), a child infers at the same time.
    worker = RecordingWorker({s.provider: s})
    try:
        with read_progress(args.flows) as advance:
            for flow in read_flows(args.flows, advance):
                parts = flow_parts(flow)
                worker.send(("skip", s.provider, parts) if isinstance(parts, str) else ("add", s.provider, parts))
    except PartialCapture as e:
        print(f"pact-recorder infer: warning: {e}", file=sys.stderr)
    except ValueError as e:
        worker.cancel()
        raise UsageError(str(e)) from None
    except BaseException:
        worker.cancel()
        raise
    ((_, report, error, wrote),) = worker.finish()
    if error is not None:
        print(f"pact-recorder infer: error: could not write the pact (a bug: please report it):\n{error}",
              file=sys.stderr)  # fmt: skip
        return 1
    print(report)
    return 0 if wrote else 1


PROGRESS_MIN_BYTES = 8 << 20


@contextmanager
def read_progress(path: Path) -> Iterator[Callable[[int], object]]:
    """A progress bar over the file's bytes, shown on a terminal (stderr) for files worth waiting for;
    gives the callback that read_flows reports its position to."""
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    console = Console(stderr=True)
    size = path.stat().st_size
    shown = console.is_terminal and size >= PROGRESS_MIN_BYTES
    columns = (TextColumn(f"inferring {path.name}"), BarColumn(), DownloadColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True, disable=not shown) as progress:
        task = progress.add_task("read", total=size)
        yield lambda position: progress.update(task, completed=position)


def header_option(value: str) -> tuple[str, str]:
    name, sep, rest = value.partition(":")
    if not sep or not name.strip() or any(c.isspace() for c in name.strip()):
        raise UsageError(f"--header {value!r}: expected 'Name: value', e.g. 'Authorization: Bearer s3cr3t'")
    return name.strip(), rest.strip()


@contextlib.contextmanager
def provider_process(command: str | None, url: str):
    """The provider started from --reset-command (stopped on the way out), or None."""
    if command is None:
        yield None
        return
    from recorder.restart import ProviderProcess

    process = ProviderProcess(command, url)
    try:
        process.start()
        yield process
    finally:
        process.stop()


def secret_option(value: str) -> tuple[str, str]:
    name, sep, secret = value.partition("=")
    if not sep or not name.strip():
        raise UsageError(f"--secret {value.split('=')[0]!r}=...: expected NAME=VALUE, e.g. --secret password=s3cret")
    return name.strip(), secret


def cmd_verify(args) -> int:
    from recorder.files import load_pact, write_atomic
    from recorder.fill import Secrets, made_by_recording
    from recorder.statesetup import RecordedStates, Setup
    from recorder.verify import accounts, check_secrets, load_state_module, render, verify

    url = http_url("--provider-url", args.provider_url)
    state_url = http_url("--state-url", args.state_url) if args.state_url else None
    headers = dict(header_option(h) for h in args.header)
    if (args.reset_url or args.reset_command) and not args.states_from_recording:
        raise UsageError(f"{'--reset-url' if args.reset_url else '--reset-command'} goes with --states-from-recording")
    if args.reset_url and args.reset_command:
        raise UsageError("--reset-url and --reset-command: give one way to empty the provider")
    reset_url = http_url("--reset-url", args.reset_url) if args.reset_url else None
    given = dict(secret_option(s) for s in args.secret)
    try:
        load_pact(args.pact)  # a file that is no pact is said before anything else
        states = load_state_module(args.states).STATE_HANDLERS if args.states else None
        setup, secrets = None, Secrets.from_options(given, headers, set())
        if args.states_from_recording:
            hints = args.states_from_recording
            hints = (
                args.pact.with_name(args.pact.name.removesuffix(".json") + ".states.yaml") if hints is True else hints
            )
            recorded = RecordedStates.load(hints)
            secrets = Secrets.from_options(given, headers, made_by_recording(list(recorded.steps.values())))
            check_secrets(args.pact, recorded, secrets)
            setup = Setup(recorded, url, secrets, reset_url, accounts(args.pact, recorded))
        with provider_process(args.reset_command, url) as process:
            if process is not None:
                setup.restart = process.restart
            reachable("--provider-url", url)
            if state_url:
                reachable("--state-url", state_url)
            result = verify(args.pact, url, state_url, states, headers, setup, secrets)
    except ValueError as e:
        raise UsageError(str(e)) from None
    print(render(result, args.pact, url))
    if args.report:
        write_atomic(args.report, json.dumps(result.report(), indent=2, sort_keys=True) + "\n")
        print(f"Report: {args.report}")
    return 0 if result.ok else 1


def cmd_states_scaffold(args) -> int:
    from recorder.files import write_atomic
    from recorder.scaffold import scaffold

    try:
        module = scaffold(args.pact, args.from_recording)
    except ValueError as e:
        raise UsageError(str(e)) from None
    if args.out is None:
        print(module, end="")
    else:
        write_atomic(args.out, module)
        made = "the states the recording made send its requests (PROVIDER_URL); " if args.from_recording else ""
        print(
            f"Wrote {args.out}: {made}fill in the lines marked SEED, then "
            f"pact-recorder verify {args.pact} --provider-url URL --states {args.out}"
        )
    return 0


def cmd_diff(args) -> int:
    from recorder import diff
    from recorder.files import load_pact

    try:
        changes = diff.diff(load_pact(args.old), load_pact(args.new))
    except ValueError as e:
        raise UsageError(str(e)) from None
    if args.format == "json":
        print(diff.as_json(changes), end="")
    else:
        print(diff.render(changes, str(args.old), str(args.new), markdown=args.format == "md"), end="")
    return 1 if diff.breaking(changes) else 0


def cmd_review(args) -> int:
    import yaml

    from recorder import review
    from recorder.files import write_atomic

    try:
        model = review.load_review(args.pact)
    except ValueError as e:
        raise UsageError(str(e)) from None
    if bool(args.decisions) != bool(args.write_rules):
        raise UsageError("--decisions and --write-rules go together: the decisions are written as rules")
    if args.decisions:
        try:
            decisions = yaml.safe_load(args.decisions.read_text(encoding="utf-8"))
            write_atomic(args.write_rules, review.write_rules(model, decisions))
        except (OSError, yaml.YAMLError, ValueError, AttributeError) as e:
            raise UsageError(f"--decisions {args.decisions}: {e}") from None
        print(f"Wrote {args.write_rules}: pact-recorder infer CAPTURE ... --rules {args.write_rules}")
        return 0
    render = {
        "text": review.render_text,
        "md": review.render_markdown,
        "html": review.render_html,
        "json": lambda m: json.dumps(m, indent=2, sort_keys=True, ensure_ascii=False) + "\n",
    }[args.format]
    report = render(model)
    if args.out:
        write_atomic(args.out, report)
        print(f"Wrote {args.out}")
    else:
        print(report, end="")
    return 0


def cmd_ca(args) -> int:
    from recorder.ca import ca_certificate, write_bundle

    cert = ca_certificate(Path(args.confdir))
    print(f"CA certificate: {cert}")
    print("Consumers recording HTTPS through `record --forward` must trust it, together with the system CAs:")
    if args.bundle:
        write_bundle(Path(args.confdir), args.bundle)
        print(f"Wrote {args.bundle} (system CAs + this CA). Then:")
        target = args.bundle
    else:
        print("  pact-recorder ca --bundle ca-bundle.pem   # writes system CAs + this CA, then:")
        target = Path("ca-bundle.pem")
    print(f"  export REQUESTS_CA_BUNDLE={target}   # requests\n  export SSL_CERT_FILE={target}        # httpx, urllib")
    return 0


def cmd_rules_check(args) -> int:
    ruleset = load(args.files, with_defaults=not args.no_default_rules)
    print(f"OK: {', '.join(str(f) for f in args.files)} ({len(ruleset.sources)} file(s) with what they extend)")
    return 0


def cmd_rules_show(args) -> int:
    print(dump(load(args.files, with_defaults=not args.no_default_rules)), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
