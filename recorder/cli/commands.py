"""The `pact-recorder` command line. `main(argv) -> exit code`; user mistakes never print a traceback.

Exit codes: 0 success (verify: green), 1 failure (verify: red; record: could not start; record and
infer: nothing was recorded, so no pact was written), 2 usage error (bad option, unreadable input).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import socket
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib.resources import files
from pathlib import Path
from urllib.parse import urlsplit

from recorder.cli.usage import parse
from recorder.record.pipeline import Recording, Settings
from recorder.rules import RuleError, dump, load


class UsageError(Exception):
    """A mistake in what the user asked for: printed as one line, exit code 2."""


def main(argv: list[str] | None = None) -> int:
    # The Pact core asks for anonymous usage tracking on every run; a recorder's output is no place
    # for that notice. Users who want tracking set PACT_DO_NOT_TRACK=false.
    os.environ.setdefault("PACT_DO_NOT_TRACK", "true")
    args = parse(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="pact-recorder: %(levelname)s: %(message)s"
    )
    try:
        return COMMANDS[args.run](args)
    except UsageError as e:
        print(f"pact-recorder {args.run}: error: {e}", file=sys.stderr)
        return 2
    except RuleError as e:
        print(f"pact-recorder {args.run}: error: the rule files have {len(e.problems)} problem(s):", file=sys.stderr)
        for problem in e.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def cmd_replay(args) -> int:
    import signal

    from recorder.files import load_pact
    from recorder.tools.replay import replaying

    host, port = listen_address(args.listen)
    try:
        doc = load_pact(args.pact)
    except ValueError as e:
        raise UsageError(str(e)) from None
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # stops like Ctrl-C: the summary is printed
    with contextlib.ExitStack() as stack:
        try:
            server = stack.enter_context(replaying(doc, host, port))
        except OSError as e:
            raise UsageError(
                f"--listen {args.listen!r}: cannot listen there ({e.strerror or e}); "
                "pick another port, or 0 for a free one"
            ) from None
        print(f"pact-recorder: listening on {server.url} replaying {args.pact} (Ctrl-C or SIGTERM stops)", flush=True)
        try:
            signal.pause()
        except (KeyboardInterrupt, SystemExit):
            pass
        finally:
            print("\n".join(server.replay.summary()), flush=True)
    return 0


def cmd_prune(args) -> int:
    import shutil

    from recorder.tools.prune import SuiteError, prune_file

    command = args.suite
    if not command:
        raise UsageError("give the consumer's test command after --, e.g. prune PACT -- pytest tests/")
    if shutil.which(command[0]) is None:
        raise UsageError(f"command {command[0]!r} not found (not on PATH, no such file)")
    for option, value in (("--jobs", args.jobs), ("--max-runs", args.max_runs), ("--time-budget", args.time_budget)):
        if value <= 0:
            raise UsageError(f"{option} {value}: expected a number above 0")
    try:
        lines = prune_file(
            args.pact, command, args.env, args.out or args.pact, args.jobs, args.max_runs, args.time_budget, args.seed
        )
    except (SuiteError, ValueError) as e:
        raise UsageError(str(e)) from None
    print("\n".join(lines))
    return 0


def settings(args, rules=None, provider: str | None = None) -> Settings:
    rules = rules or load(args.rules, with_defaults=not args.no_default_rules)
    if args.pending and args.spec != "v4":
        raise UsageError("--pending needs --spec v4: V3 pacts have no pending interactions")
    try:
        return Settings(
            args.consumer,
            provider or args.provider,
            args.out,
            args.spec,
            rules,
            args.merge,
            args.pending,
            args.self_check,
            args.sample,
        )
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
    return m.group(1) or "127.0.0.1", int(m.group(2))


def check_ports(value: str, host: str, plan) -> None:
    """Every port the recording will listen on is free, said before anything starts. The probe sets
    SO_REUSEADDR as every real server (mitmproxy's included) does: a port a recorder just left is in
    TIME_WAIT for a minute, and that is no reason to refuse it."""
    first = {listener.port: listener for listener in reversed(plan)}  # forward providers share one
    for n, listener in enumerate(sorted(first.values(), key=lambda lr: lr.port)):
        which = "there" if n == 0 else f"on port {listener.port}, where --target {listener.provider} would listen"
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind((host, listener.port))
            except (OSError, OverflowError) as e:
                reason = getattr(e, "strerror", None) or "no such port"
                raise UsageError(
                    f"--listen {value!r}: cannot listen {which} ({reason}); pick another port, or 0 for a free one"
                ) from None


def writable_folder(option: str, folder: Path) -> None:
    """`folder` is, or can be made, a folder this process writes into: checked at the start, so that a
    recording is never lost at the end for want of a place to write it. Probed by writing, which is the
    only check that holds for root, read-only mounts and ACLs alike; nothing is left behind."""
    existing = next(p for p in (folder, *folder.parents) if p.exists())
    if not existing.is_dir():
        what = "is a file" if existing == folder else f"is inside {existing}, which is a file"
        raise UsageError(f"{option} {folder}: {what}; give a folder for the pacts (it is created if missing)")
    try:
        tempfile.TemporaryFile(dir=existing).close()
    except OSError as e:
        raise UsageError(
            f"{option} {folder}: cannot write into {existing} ({e.strerror}); give a folder you can write to"
        ) from None


def cmd_record(args) -> int:
    from recorder.addon import PactRecorder
    from recorder.record.proxy import run, serve
    from recorder.record.targets import listeners, parse_forward, parse_reverse, router

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
    writable_folder("--out", args.out)
    rules = load(args.rules, with_defaults=not args.no_default_rules)
    plan = listeners(reverse, forward, port, host)
    if port:
        check_ports(args.listen, host, plan)
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
    code = run(
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
    # One rule with `infer`: a run that wrote no pact (nothing recorded) did not do what was asked.
    return 1 if recorder.write_failed or not recorder.wrote else code


def upstream_tls(args) -> dict:
    from recorder.record.proxy import upstream_tls as options

    try:
        return options(args.upstream_ca, args.upstream_insecure)
    except ValueError as e:
        raise UsageError(f"--upstream-ca {e}") from None


def cmd_infer(args) -> int:
    from recorder.capture.readers import PartialCapture, read_parts
    from recorder.record.worker import RecordingWorker

    s = settings(args)
    if args.flows.is_dir():
        raise UsageError(f"{args.flows}: is a folder; expected a .mitm flow file or a .har file")
    if not args.flows.is_file():
        raise UsageError(f"{args.flows}: no such file")
    writable_folder("--out", args.out)
    # This process reads the flows (mitmproxy's reader is the slow part), a child infers at the same time.
    worker = RecordingWorker({s.provider: s})
    flows = 0
    try:
        with read_progress(args.flows) as advance:
            for parts in read_parts(args.flows, advance):
                flows += 1
                worker.send(("skip", s.provider, parts) if isinstance(parts, str) else ("add", s.provider, parts))
    except PartialCapture as e:
        print(f"pact-recorder infer: warning: {e}", file=sys.stderr)
    except ValueError as e:
        worker.cancel()
        raise UsageError(str(e)) from None
    except BaseException:
        worker.cancel()
        raise
    if not flows:
        worker.cancel()
        print(f"Nothing was recorded, so no pact was written: {args.flows} holds no exchanges.")
        return 1
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
    gives the callback that read_parts reports its position to."""
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
    from recorder.verify.restart import ProviderProcess

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
    from recorder.files import write_atomic
    from recorder.pact.core_verifier import Publish
    from recorder.verify.run import render
    from recorder.verify.sources import BrokerAuth

    url = http_url("--provider-url", args.provider_url)
    state_url = http_url("--state-url", args.state_url) if args.state_url else None
    headers = dict(header_option(h) for h in args.header)
    if (args.reset_url or args.reset_command or args.fresh_names) and not args.states_from_recording:
        given_option = next(o for o, v in (("--reset-url", args.reset_url), ("--reset-command", args.reset_command),
                                           ("--fresh-names", args.fresh_names)) if v)  # fmt: skip
        raise UsageError(f"{given_option} goes with --states-from-recording")
    if args.reset_url and args.reset_command:
        raise UsageError("--reset-url and --reset-command: give one way to empty the provider")
    reset_url = http_url("--reset-url", args.reset_url) if args.reset_url else None
    given = dict(secret_option(s) for s in args.secret)
    try:
        auth = BrokerAuth(args.broker_token, args.broker_username, args.broker_password)
    except ValueError as e:
        raise UsageError(str(e)) from None
    publish = None
    if args.publish:
        if not args.provider_app_version:
            raise UsageError("--publish needs --provider-app-version VERSION: the provider version the results are for")
        publish = Publish(args.provider_app_version, args.provider_branch, args.build_url, auth.options())
    try:
        sources = pact_sources(args, auth)
        results = []
        for source in sources:
            result = _verify_one(args, source, url, state_url, reset_url, headers, given, publish)
            print(render(result, source.origin, url))
            results.append((source, result))
    except ValueError as e:
        raise UsageError(str(e)) from None
    if args.report:
        reports = [r.report() | {"pact": s.origin} for s, r in results]
        report = reports[0] if len(reports) == 1 else {"ok": all(r["ok"] for r in reports), "pacts": reports}
        write_atomic(args.report, json.dumps(report, indent=2, sort_keys=True) + "\n")
        print(f"Report: {args.report}")
    return 0 if all(r.ok for _, r in results) else 1


PUBLISH_LINK = "pb:publish-verification-results"


def pact_sources(args, auth) -> list:
    """The pacts to verify: PACT (a file or URL), or those the broker holds for --provider (`auth`: the
    broker's credentials, recorder.verify.sources.BrokerAuth)."""
    from recorder.verify.sources import broker_pacts, is_url, pact_at

    if args.pact is None:
        if not args.broker_url:
            raise UsageError("verify: give the PACT to verify (a file or URL), or --broker-url and --provider")
        if not args.provider:
            raise UsageError("--broker-url needs --provider NAME: the provider whose pacts to verify")
        selectors = [_selector(s) for s in args.consumer_version_selector]
        broker = http_url("--broker-url", args.broker_url)
        sources = broker_pacts(broker, args.provider, selectors, auth, args.provider_branch)
    else:
        if is_url(args.pact):
            http_url("PACT", args.pact)
        sources = [pact_at(args.pact, auth)]
    if args.publish and (unpublished := next((s for s in sources if PUBLISH_LINK not in s.links), None)):
        raise UsageError(
            f"--publish: {unpublished.origin} did not come from a Pact Broker (no {PUBLISH_LINK} link to publish "
            "the results to): verify it from --broker-url, or from the pact's URL on the broker"
        )
    if args.states_from_recording not in (None, True) and len(sources) > 1:
        raise UsageError(
            f"--states-from-recording {args.states_from_recording}: one states file for {len(sources)} pacts; "
            "give --states-from-recording alone, and each pact's own states are used"
        )
    return sources


def _selector(text: str) -> dict:
    try:
        selector = json.loads(text)
    except ValueError:
        selector = None
    if not isinstance(selector, dict):
        raise UsageError(
            f"--consumer-version-selector {text!r}: expected a JSON object, e.g. '{{\"mainBranch\": true}}'"
        )
    return selector


def _verify_one(args, source, url, state_url, reset_url, headers, given, publish):
    """Verify one pact (recorder.pact.source.PactSource) as the options say."""
    from recorder.secrets.fill import Secrets, made_by_recording
    from recorder.verify.recorded_states import RecordedStates, Setup
    from recorder.verify.run import (
        accounts,
        check_secrets,
        load_state_module,
        pact_requests,
        recorded_deletes,
        recorded_words,
        tunnelled_deletes,
        verify,
    )

    doc = source.doc
    states = load_state_module(args.states).STATE_HANDLERS if args.states else None
    setup, secrets = None, Secrets.from_options(given, headers, set())
    if args.states_from_recording:
        if args.states_from_recording is not True:
            recorded = RecordedStates.load(args.states_from_recording)
        elif source.states is not None:
            recorded = RecordedStates.from_doc(source.states, source.bodies)
        else:
            raise ValueError(
                f"--states-from-recording: {source.origin} carries no states from a recording and has no states "
                "file beside it (a pact written by hand or by another tool): give a states file's path, or "
                "--state-url or --states"
            )
        secrets = Secrets.from_options(given, headers, made_by_recording(recorded.in_order))
        check_secrets(doc, recorded, secrets)
        requests = pact_requests(doc)
        words, names = recorded_words(requests, recorded)
        setup = Setup(
            recorded,
            url,
            secrets,
            reset_url,
            accounts(doc, recorded),
            fresh_names=args.fresh_names,
            shared=words,
            named=names,
            deletes=recorded_deletes(requests),
            tunnels=tunnelled_deletes(requests),
        )
    with provider_process(args.reset_command, url) as process:
        if process is not None:
            setup.restart = process.restart
        reachable("--provider-url", url)
        if state_url:
            reachable("--state-url", state_url)
        return verify(source, url, state_url, states, headers, setup, secrets, publish)


def cmd_states_scaffold(args) -> int:
    from recorder.files import write_atomic
    from recorder.tools.scaffold import scaffold

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
    from recorder.files import load_pact
    from recorder.pact import diff

    try:
        changes = diff.diff(load_pact(args.old), load_pact(args.new), args.changed)
    except ValueError as e:
        raise UsageError(str(e)) from None
    if args.format == "json":
        print(diff.as_json(changes), end="")
    else:
        print(diff.render(changes, str(args.old), str(args.new), markdown=args.format == "md"), end="")
    return 1 if diff.breaking(changes) else 0


def cmd_review(args) -> int:
    import yaml

    from recorder.files import write_atomic
    from recorder.tools import review, review_page

    try:
        model = review.load_review(args.pact)
    except ValueError as e:
        raise UsageError(str(e)) from None
    if bool(args.decisions) != bool(args.write_rules):
        raise UsageError("--decisions and --write-rules go together: the decisions are written as rules")
    if args.decisions:
        try:
            text = args.decisions.read_text(encoding="utf-8")
            try:  # JSON as the review page saves it: YAML misreads some (a key over 1024 characters, U+2028)
                decisions = json.loads(text)
            except ValueError:
                decisions = yaml.safe_load(text)
            write_atomic(args.write_rules, review.write_rules(model, decisions))
        except (OSError, yaml.YAMLError, ValueError, AttributeError) as e:
            raise UsageError(f"--decisions {args.decisions}: {e}") from None
        print(f"Wrote {args.write_rules}: pact-recorder infer CAPTURE ... --rules {args.write_rules}")
        return 0
    render = {
        "text": review.render_text,
        "md": review.render_markdown,
        "html": review_page.render_html,
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
    from recorder.record.ca import ca_certificate, write_bundle

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


def cmd_addon(args) -> int:
    print(addon_script())
    return 0


def addon_script() -> Path:
    """addons/pact_recorder.py: from the source tree when running from it, else from the installed package
    (it ships as recorder.mitmdump_addon, as rules/ ships as recorder.default_rules)."""
    repo = Path(__file__).resolve().parents[2] / "addons" / "pact_recorder.py"
    return repo if repo.is_file() else Path(str(files("recorder.mitmdump_addon").joinpath("pact_recorder.py")))


COMMANDS = {
    "record": cmd_record,
    "infer": cmd_infer,
    "verify": cmd_verify,
    "states scaffold": cmd_states_scaffold,
    "diff": cmd_diff,
    "review": cmd_review,
    "replay": cmd_replay,
    "prune": cmd_prune,
    "ca": cmd_ca,
    "rules check": cmd_rules_check,
    "rules show": cmd_rules_show,
    "addon": cmd_addon,
}


if __name__ == "__main__":
    sys.exit(main())
