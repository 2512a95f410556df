"""Record Kinto while kinto-http's own functional tests run, then verify the pact against a fresh Kinto.

    .venv/bin/python bench/thirdparty/kinto.py [--keep DIR] [--json FILE] [--no-direct] [-- VERIFY_ARGS...]

(after `make setup`). Everything after `--` is passed to `pact-recorder verify` as it is, e.g.
`-- --states-from-recording --secret password=p4ssw0rd`.

What it does, each phase timed:
  setup    a venv of its own under .venv/thirdparty/kinto/ with Kinto, kinto-attachment and kinto-http
           (pinned, from PyPI), and kinto-http's sdist unpacked there: its functional tests ship only in it.
  direct   a fresh Kinto (memory backends, the config the suite ships in tests/config/kinto.ini: flush
           endpoint, accounts with Basic auth, kinto-attachment, pages of 5) on a free port of 127.0.0.1;
           tests/test_functional.py run against it, unmodified (--no-direct leaves this out: ~30 s).
  record   another fresh Kinto, `pact-recorder record --consumer kinto-http --provider kinto` in front of
           it, the same tests pointed at the recorder; SIGTERM makes it write OUT/kinto-http-kinto.json.
  verify   a third fresh Kinto (empty: not even the suite's account; the pact's own interactions create
           it, and its POST /__flush__ would wipe any seeded one), `pact-recorder verify` with the suite's
           real credentials as a Basic Authorization header, plus VERIFY_ARGS.
Then it prints the figures (tests passed through the recorder and directly, exchanges, interactions,
verified green / total) and the failures grouped by cause (status expected -> actual, header by name,
body, state setup), and writes them as JSON to DIR/figures.json (and --json FILE).

The suite takes its server from the constant kinto_http.constants.SERVER_URL; the plugin
bench/thirdparty/kinto_server_url.py, passed with `-p`, rebinds it from $KINTO_SERVER_URL before the
suite's conftest imports it. No test file is changed. Every process started is stopped on the way out,
on failure and on Ctrl-C or SIGTERM too.
"""

from __future__ import annotations

import argparse
import base64
import configparser
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import urllib.request
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

from recorder.proxy import free_port  # noqa: E402

KINTO_HTTP = "11.11.0"
PINS = [
    "kinto==26.5.0",
    "kinto-attachment==9.0.1",
    f"kinto-http=={KINTO_HTTP}",
    "pytest==9.2.0",
    "pytest-mock==3.17.0",
    "pytest-asyncio==1.5.0",
]
HOME = ROOT / ".venv" / "thirdparty" / "kinto"
VENV = HOME / "venv"
SDIST = HOME / f"kinto_http-{KINTO_HTTP}"
SUITE = ["tests/test_functional.py"]
AUTH = ("user", "p4ssw0rd")  # kinto_http.constants.DEFAULT_AUTH: the account every functional test uses
PACT_BIN = Path(sys.executable).parent / "pact-recorder"
READY_SECONDS = 60


class Interrupted(Exception):
    """SIGTERM, turned into an exception so that every `finally` runs."""


# --- setup -------------------------------------------------------------------------------------------


def pip(python: Path, *args: str) -> None:
    cmd = [str(python), "-m", "pip", "--disable-pip-version-check", "-q", *args]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"kinto harness: `{' '.join(cmd)}` failed:\n{done.stdout}{done.stderr}")


def ensure_env() -> None:
    """The suite's venv and the unpacked sdist, installed once per set of pins (a stamp says which)."""
    stamp = HOME / ".installed"
    if stamp.is_file() and stamp.read_text() == "\n".join(PINS) and (SDIST / "tests").is_dir():
        return
    print(f"setup: installing {', '.join(PINS)} into {VENV.relative_to(ROOT)}", flush=True)
    shutil.rmtree(HOME, ignore_errors=True)
    HOME.mkdir(parents=True)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    pip(VENV / "bin" / "python", "install", *PINS)
    pip(
        Path(sys.executable),
        "download",
        "--no-binary",
        ":all:",
        "--no-deps",
        "-d",
        str(HOME),
        f"kinto-http=={KINTO_HTTP}",
    )
    with tarfile.open(HOME / f"kinto_http-{KINTO_HTTP}.tar.gz") as tar:
        tar.extractall(HOME, filter="data")
    stamp.write_text("\n".join(PINS))


# --- processes ---------------------------------------------------------------------------------------


def start(stack: ExitStack, cmd: list[str], log: Path, **kw) -> subprocess.Popen:
    """A process in its own session (so a terminal's Ctrl-C reaches only us), stopped when `stack` closes."""
    out = open(log, "wb")  # noqa: SIM115 - closed with the stack
    stack.callback(out.close)
    proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, **kw)
    stack.callback(stop, proc)
    return proc


def stop(proc: subprocess.Popen, timeout: float = 15) -> int | None:
    """SIGTERM the process's group, SIGKILL it if it lingers."""
    if proc.poll() is None:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return proc.returncode


def tail(log: Path, lines: int = 15) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def wait_http(url: str, proc: subprocess.Popen, log: Path) -> None:
    """Poll `url` until it answers 200; fail at once if the process died."""
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode} before serving:\n{tail(log)}")
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.05)  # poll interval, not synchronisation
    raise RuntimeError(f"{url} did not answer within {READY_SECONDS}s:\n{tail(log)}")


# --- Kinto -------------------------------------------------------------------------------------------


def kinto_ini(work: Path, port: int) -> Path:
    """The suite's own tests/config/kinto.ini, on 127.0.0.1:port, memory backends, attachments in `work`."""
    ini = configparser.RawConfigParser()
    ini.optionxform = str
    ini.read(SDIST / "tests" / "config" / "kinto.ini")
    app = ini["app:main"]
    for backend in ("storage", "permission", "cache"):
        app[f"kinto.{backend}_backend"] = f"kinto.core.{backend}.memory"
    (work / "attachments").mkdir(parents=True, exist_ok=True)
    app["kinto.attachment.base_path"] = str(work / "attachments")
    ini["server:main"]["host"] = "127.0.0.1"
    ini["server:main"]["port"] = str(port)
    ini["logger_kinto"]["level"] = "INFO"
    path = work / "kinto.ini"
    with open(path, "w") as f:
        ini.write(f)
    return path


def start_kinto(stack: ExitStack, work: Path) -> str:
    """A fresh Kinto; its API's base URL (…/v1) once its root answers."""
    work.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = work / "kinto.log"
    proc = start(stack, [str(VENV / "bin" / "kinto"), "start", "--ini", str(kinto_ini(work, port))], log, cwd=work)
    url = f"http://127.0.0.1:{port}/v1"
    wait_http(url + "/", proc, log)
    return url


# --- the recorder ------------------------------------------------------------------------------------


def start_recorder(stack: ExitStack, target: str, out: Path) -> tuple[subprocess.Popen, str, Path]:
    """`pact-recorder record` in front of `target`; (process, its URL, its log) once it listens."""
    log = out / "record.log"
    cmd = [
        str(PACT_BIN),
        "record",
        "--consumer",
        "kinto-http",
        "--provider",
        "kinto",
        "--target",
        target,
        "--listen",
        "127.0.0.1:0",
        "--out",
        str(out),
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    stack.callback(stop, proc)
    listening = threading.Event()
    found: list[str] = []

    def drain() -> None:
        with open(log, "wb") as f:
            for line in proc.stdout:
                f.write(line)
                f.flush()
                if m := re.search(rb"listening on (http://\S+)", line):
                    found.append(m.group(1).decode())
                    listening.set()
        listening.set()  # it exited

    threading.Thread(target=drain, daemon=True).start()
    if not listening.wait(READY_SECONDS) or not found:
        raise RuntimeError(f"pact-recorder record did not start listening:\n{tail(log)}")
    return proc, found[0], log


def finish_recording(proc: subprocess.Popen, log: Path) -> None:
    """SIGTERM the recorder (not its group: it stops its recording process itself) and wait for the files."""
    proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(120)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"pact-recorder record did not exit within 120s of SIGTERM:\n{tail(log)}") from None
    if code:
        raise RuntimeError(f"pact-recorder record exited with {code}:\n{tail(log)}")


# --- the suite and the verifier ----------------------------------------------------------------------


def run_suite(stack: ExitStack, server_url: str, work: Path) -> dict:
    """kinto-http's functional tests against `server_url`; their counts from the JUnit XML."""
    junit = work / "junit.xml"
    env = {**os.environ, "KINTO_SERVER_URL": server_url, "PYTHONPATH": str(HERE)}
    cmd = [
        str(VENV / "bin" / "python"),
        "-m",
        "pytest",
        *SUITE,
        "-p",
        "kinto_server_url",
        "-p",
        "no:cacheprovider",
        "-q",
        "-o",
        "asyncio_default_fixture_loop_scope=function",
        f"--junitxml={junit}",
    ]
    proc = start(stack, cmd, work / "pytest.log", cwd=SDIST, env=env)
    proc.wait()
    if not junit.is_file():
        raise RuntimeError(f"the suite did not run (exit {proc.returncode}):\n{tail(work / 'pytest.log')}")
    counts = Counter()
    failed = []
    for case in ET.parse(junit).iter("testcase"):
        outcome = next((c.tag for c in case if c.tag in ("failure", "error", "skipped")), "passed")
        counts[outcome] += 1
        if outcome in ("failure", "error"):
            failed.append(case.get("name"))
    return {
        "tests": sum(counts.values()),
        "passed": counts["passed"],
        "failed": counts["failure"],
        "errors": counts["error"],
        "skipped": counts["skipped"],
        "failing": failed,
    }


def run_verify(stack: ExitStack, pact: Path, provider_url: str, work: Path, extra: list[str]) -> dict:
    report = work / "report.json"
    token = base64.b64encode(":".join(AUTH).encode()).decode()
    cmd = [
        str(PACT_BIN),
        "verify",
        str(pact),
        "--provider-url",
        provider_url,
        "--header",
        f"Authorization: Basic {token}",
        "--report",
        str(report),
        *extra,
    ]
    proc = start(stack, cmd, work / "verify.log")
    proc.wait()
    if not report.is_file():
        raise RuntimeError(
            f"pact-recorder verify wrote no report (exit {proc.returncode}):\n{tail(work / 'verify.log')}"
        )
    return json.loads(report.read_text())


# --- figures -----------------------------------------------------------------------------------------


def causes_of(outcome: dict) -> list[tuple[str, str]]:
    """(cause, detail) for one failed interaction, most telling first: state setup, status, headers, body."""
    found = []
    if outcome.get("state_failed"):
        found.append(("state setup", next((p for p in outcome["problems"] if "state" in p), "")))
    for m in outcome.get("mismatches", []):
        kind, text = m.get("type"), m.get("mismatch") or ""
        if kind == "StatusMismatch":
            found.append((f"status {m.get('expected')} -> {m.get('actual')}", text))
        elif kind == "HeaderMismatch":
            found.append((f"header {m.get('key') or m.get('path')}", text))
        elif kind == "BodyMismatch":
            what = "missing key(s)" if "is missing the following keys" in text else "value"
            found.append((f"body {what}", f"{m.get('path')}: {text}"))
        else:
            found.append((kind or "other", text))
    if not found:
        found += [("other", p) for p in outcome.get("problems", [])] or [("other", "failed, no mismatch given")]
    return sorted(found, key=lambda f: next(n for n, k in enumerate(_ORDER) if f[0].startswith(k)))


_ORDER = ("state", "status", "header", "body", "")


def group_failures(report: dict) -> list[dict]:
    """Failed interactions grouped by cause: how many have it first (the cause to fix first), how many at
    all, and every interaction with its state and the cause's mismatches."""
    first, anywhere, examples = Counter(), Counter(), defaultdict(list)
    for o in report["interactions"]:
        if o["ok"]:
            continue
        found = causes_of(o)
        first[found[0][0]] += 1
        by_cause = defaultdict(list)
        for cause, detail in found:
            by_cause[cause].append(detail)
        for cause, details in by_cause.items():
            anywhere[cause] += 1
            examples[cause].append({"interaction": o["description"], "states": o["states"], "mismatches": details})
    return [
        {"cause": c, "first": first[c], "interactions": n, "examples": examples[c]}
        for c, n in sorted(anywhere.items(), key=lambda kv: (-first[kv[0]], -kv[1], kv[0]))
    ]


def recording_figures(pact_path: Path) -> dict:
    pact = json.loads(pact_path.read_text())
    diagnostics = pact.get("metadata", {}).get("pactRecorder", {}).get("diagnostics", {})
    with_state = sum(1 for i in pact["interactions"] if i.get("providerStates"))
    return {
        "exchanges": diagnostics.get("seen"),
        "recorded": diagnostics.get("recorded"),
        "skipped": diagnostics.get("skipped", {}),
        "interactions": len(pact["interactions"]),
        "with_state": with_state,
    }


def clip(text: str, limit: int = 150) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def render(fig: dict) -> str:
    d, r, rec, v = fig["direct"], fig["recorded"], fig["recording"], fig["verify"]
    lines = [
        f"tests        through the recorder {r['passed']}/{r['tests']} passed"
        + (f"; direct {d['passed']}/{d['tests']}" if d else ""),
        f"exchanges    {rec['exchanges']} seen, {rec['recorded']} recorded"
        + "".join(f"; skipped {n}: {why}" for why, n in rec["skipped"].items()),
        f"interactions {rec['interactions']} ({rec['with_state']} with a provider state)",
        f"verified     {v['green']} / {v['total']} green"
        + (f"   (verify args: {' '.join(fig['verify_args'])})" if fig["verify_args"] else ""),
        "phases       " + ", ".join(f"{k} {s:.1f}s" for k, s in fig["seconds"].items()),
    ]
    for name, run in (("direct", d), ("through the recorder", r)):
        if run and run["failing"]:
            lines.append(f"failing {name}: {', '.join(run['failing'])}")
    if fig["failures"]:
        lines += ["", f"{'failures by cause':<44} {'first':>5} {'any':>5}"]
        lines += [f"  {g['cause']:<42} {g['first']:>5} {g['interactions']:>5}" for g in fig["failures"]]
        lines += ["", "examples (interaction | state | mismatch):"]
        for g in fig["failures"]:
            lines.append(f"  {g['cause']}:")
            for ex in g["examples"][:3]:
                state = ", ".join(ex["states"]) or "-"
                lines.append(f"    {ex['interaction']} | {state} | {clip(ex['mismatches'][0])}")
    return "\n".join(lines)


# --- main --------------------------------------------------------------------------------------------


@contextmanager
def timed(seconds: dict, phase: str):
    t = time.monotonic()
    print(f"{phase} ...", flush=True)
    try:
        yield
    finally:
        seconds[phase] = round(time.monotonic() - t, 1)


def phases(work: Path, verify_args: list[str], direct: bool) -> dict:
    seconds: dict[str, float] = {}
    with timed(seconds, "setup"):
        ensure_env()
    direct_run = None
    if direct:
        with timed(seconds, "direct"), ExitStack() as stack:
            direct_run = run_suite(stack, start_kinto(stack, work / "direct"), work / "direct")
    out = work / "record"
    with timed(seconds, "record"), ExitStack() as stack:
        kinto = start_kinto(stack, out / "kinto")
        recorder, url, log = start_recorder(stack, kinto.removesuffix("/v1"), out)
        recorded = run_suite(stack, url + "/v1", out)
        finish_recording(recorder, log)
    pact = out / "kinto-http-kinto.json"
    with timed(seconds, "verify"), ExitStack() as stack:
        kinto = start_kinto(stack, work / "verify")
        report = run_verify(stack, pact, kinto.removesuffix("/v1"), work / "verify", verify_args)
    outcomes = report["interactions"]
    return {
        "kinto_http": KINTO_HTTP,
        "pins": PINS,
        "suite": SUITE,
        "verify_args": verify_args,
        "seconds": seconds,
        "direct": direct_run,
        "recorded": recorded,
        "recording": recording_figures(pact),
        "verify": {"green": sum(o["ok"] for o in outcomes), "total": len(outcomes)},
        "failures": group_failures(report),
    }


def parse(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    ours, verify_args = (argv[: argv.index("--")], argv[argv.index("--") + 1 :]) if "--" in argv else (argv, [])
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--keep", type=Path, metavar="DIR", help="keep logs, pact, report and figures.json here")
    p.add_argument("--json", type=Path, metavar="FILE", help="also write the figures here")
    p.add_argument("--no-direct", action="store_true", help="skip running the suite straight against Kinto")
    return p.parse_args(ours), verify_args


def main(argv: list[str]) -> int:
    args, verify_args = parse(argv)

    def on_term(*_):
        raise Interrupted()

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # also when started with SIGINT ignored (`&`)
    work = args.keep.resolve() if args.keep else Path(tempfile.mkdtemp(prefix="kinto-harness-"))
    if args.keep:
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
    try:
        fig = phases(work, verify_args, direct=not args.no_direct)
        text = json.dumps(fig, indent=2) + "\n"
        (work / "figures.json").write_text(text)
        if args.json:
            args.json.write_text(text)
        print(render(fig))
        return 0
    except (KeyboardInterrupt, Interrupted):
        print("kinto harness: interrupted; every process it started is stopped", file=sys.stderr)
        return 130
    except RuntimeError as e:
        print(f"kinto harness: {e}", file=sys.stderr)
        return 1
    finally:
        if args.keep:
            print(f"kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
