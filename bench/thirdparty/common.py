"""What the third-party harnesses share: their venv and Debian packages, the processes they start, the
recorder, the suite's counts, the verifier's report, and the figures with the failures grouped by cause.

A harness provides its pins, how to start its provider fresh and how to run its client's suite; `main()`
runs its phases with the timing, the JSON figures and the clean-up every harness needs. Every process is
started in its own session and stopped when the `ExitStack` it was started under closes (on failure,
Ctrl-C and SIGTERM too).
"""

from __future__ import annotations

import argparse
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
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from collections.abc import Callable
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

from recorder.record.proxy import free_port  # noqa: E402, F401 - re-exported for the harnesses

PACT_BIN = Path(sys.executable).parent / "pact-recorder"
READY_SECONDS = 60
POLICY = Path("/usr/sbin/policy-rc.d")  # Debian asks it before starting a service a package installs
DENY_STARTS = "#!/bin/sh\n# bench/thirdparty: no service starts while a harness installs\nexit 101\n"


class Interrupted(Exception):
    """SIGTERM, turned into an exception so that every `finally` runs."""


# --- setup -------------------------------------------------------------------------------------------


def apt_install(*packages: str) -> None:
    """`apt-get install` of a harness's server from Debian's packages, under a policy-rc.d that denies every
    service start where the system has none: a harness starts its own servers, never the system's."""
    print(f"setup: apt-get install {' '.join(packages)}", flush=True)
    env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
    ours = not POLICY.exists()
    if ours:
        POLICY.write_text(DENY_STARTS)
        POLICY.chmod(0o755)
    try:
        for cmd in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", *packages]):
            done = subprocess.run(cmd, capture_output=True, text=True, env=env)
            if done.returncode:
                sys.exit(f"harness: `{' '.join(cmd)}` failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    finally:
        if ours:
            POLICY.unlink(missing_ok=True)


def pip(python: Path, *args: str) -> None:
    cmd = [str(python), "-m", "pip", "--disable-pip-version-check", "-q", *args]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"harness: `{' '.join(cmd)}` failed:\n{done.stdout}{done.stderr}")


def ensure_env(home: Path, pins: list[str], sdist: str) -> tuple[Path, Path]:
    """A venv under `home` with `pins`, and `sdist` ("name==version": the client, whose tests ship only in
    its sdist) unpacked beside it; installed once per set of pins (a stamp says which). (venv, sdist dir)."""
    venv = home / "venv"
    stamp = home / ".installed"
    found = sorted(p for p in home.glob("*") if p.is_dir() and (p / "tests").is_dir()) if home.is_dir() else []
    if stamp.is_file() and stamp.read_text() == "\n".join([*pins, sdist]) and found:
        return venv, found[0]
    print(f"setup: installing {', '.join(pins)} into {home.relative_to(ROOT)}", flush=True)
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip(venv / "bin" / "python", "install", *pins)
    pip(Path(sys.executable), "download", "--no-binary", ":all:", "--no-deps", "-d", str(home), sdist)
    (archive,) = home.glob("*.tar.gz")
    with tarfile.open(archive) as tar:
        tar.extractall(home, filter="data")
    stamp.write_text("\n".join([*pins, sdist]))
    (unpacked,) = (p for p in home.glob("*") if p.is_dir() and (p / "tests").is_dir())
    return venv, unpacked


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


def wait_http(url: str, proc: subprocess.Popen, log: Path, ok: tuple[int, ...] = (200,)) -> None:
    """Poll `url` until it answers one of `ok` (redirects not followed); fail at once if the process died."""
    opener = urllib.request.build_opener(_NoRedirect)
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode} before serving:\n{tail(log)}")
        try:
            with opener.open(url, timeout=1) as r:
                if r.status in ok:
                    return
        except urllib.error.HTTPError as e:
            if e.code in ok:
                return
        except OSError:
            pass
        time.sleep(0.05)  # poll interval, not synchronisation
    raise RuntimeError(f"{url} did not answer within {READY_SECONDS}s:\n{tail(log)}")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kw):
        return None


# --- the recorder ------------------------------------------------------------------------------------


def start_recorder(
    stack: ExitStack, consumer: str, provider: str, target: str, out: Path
) -> tuple[subprocess.Popen, str, Path]:
    """`pact-recorder record` in front of `target`; (process, its URL, its log) once it listens."""
    log = out / "record.log"
    cmd = [str(PACT_BIN), "record", "--consumer", consumer, "--provider", provider, "--target", target]
    cmd += ["--listen", "127.0.0.1:0", "--out", str(out)]
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


def run_pytest(stack: ExitStack, python: Path, args: list[str], work: Path, **kw) -> dict:
    """`python -m pytest ARGS` (cwd, env in `kw`); the outcome counts from its JUnit XML."""
    junit = work / "junit.xml"
    cmd = [str(python), "-m", "pytest", *args, "-p", "no:cacheprovider", "-q", f"--junitxml={junit}"]
    proc = start(stack, cmd, work / "pytest.log", **kw)
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
    if not counts:
        raise RuntimeError(f"the suite ran no test (exit {proc.returncode}):\n{tail(work / 'pytest.log')}")
    return {
        "tests": sum(counts.values()),
        "passed": counts["passed"],
        "failed": counts["failure"],
        "errors": counts["error"],
        "skipped": counts["skipped"],
        "failing": failed,
    }


def run_verify(stack: ExitStack, pact: Path, provider_url: str, work: Path, args: list[str]) -> dict:
    """`pact-recorder verify PACT --provider-url URL ARGS`; its JSON report."""
    report = work / "report.json"
    cmd = [str(PACT_BIN), "verify", str(pact), "--provider-url", provider_url, "--report", str(report), *args]
    proc = start(stack, cmd, work / "verify.log")
    proc.wait()
    if not report.is_file():
        raise RuntimeError(
            f"pact-recorder verify wrote no report (exit {proc.returncode}):\n{tail(work / 'verify.log')}"
        )
    return json.loads(report.read_text())


def verify_outcome(
    stack: ExitStack, pact: Path, provider_url: str, work: Path, args: list[str]
) -> tuple[dict | None, dict]:
    """`pact-recorder verify`, which may refuse to start (exit 2: a secret it needs): (its report, or None
    when it wrote none; its args, exit code and its message, whole when it refused, else its last lines)."""
    work.mkdir(parents=True, exist_ok=True)
    report = work / "report.json"
    cmd = [str(PACT_BIN), "verify", str(pact), "--provider-url", provider_url, "--report", str(report), *args]
    code = start(stack, cmd, work / "verify.log").wait()
    text = (work / "verify.log").read_text(errors="replace")
    outcome = {"args": args, "exit": code, "message": text if code == 2 else tail(work / "verify.log", 12)}
    return (json.loads(report.read_text()) if report.is_file() else None), outcome


def same_exit_codes(direct: dict | None, recorded: dict) -> dict | None:
    """How many commands of a session gave the same exit code through the recorder as directly."""
    if not direct:
        return None
    pairs = list(zip(direct["commands"], recorded["commands"], strict=True))
    differ = [f"{d['command']}: {d['exit']} -> {r['exit']}" for d, r in pairs if d["exit"] != r["exit"]]
    return {"same_exit": len(pairs) - len(differ), "steps": len(pairs), "differ": differ}


def same_failures(direct: dict | None, recorded: dict) -> dict | None:
    """Whether a suite's tests failed alike through the recorder and directly."""
    if not direct:
        return None
    a, b = set(direct["failing"]), set(recorded["failing"])
    return {"same": a == b, "failing_only_direct": sorted(a - b), "failing_only_recorded": sorted(b - a)}


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


def verify_figures(report: dict) -> dict:
    outcomes = report["interactions"]
    return {"green": sum(o["ok"] for o in outcomes), "total": len(outcomes)}


def clip(text: str, limit: int = 150) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def render(fig: dict) -> str:
    d, r, rec, v = fig["direct"], fig["recorded"], fig["recording"], fig["verify"]
    lines = [
        f"tests        through the recorder {r['passed']}/{r['tests']} passed ({r['skipped']} skipped)"
        + (f"; direct {d['passed']}/{d['tests']} ({d['skipped']} skipped)" if d else ""),
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


def main(
    name: str, doc: str, phases: Callable[[Path, list[str], bool], dict], argv: list[str], setup: Callable[[], object]
) -> int:
    """Parse `[--keep DIR] [--json FILE] [--no-direct] [--setup-only] [-- VERIFY_ARGS...]`, run `phases(work,
    verify_args, direct)` in a work folder, write its figures as JSON and print them; every process stopped
    on the way out. `--setup-only` installs what the harness needs (`make setup` does, so tests need no
    download) and stops."""
    ours, verify_args = (argv[: argv.index("--")], argv[argv.index("--") + 1 :]) if "--" in argv else (argv, [])
    p = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    p.add_argument("--keep", type=Path, metavar="DIR", help="keep logs, pact, report and figures.json here")
    p.add_argument("--json", type=Path, metavar="FILE", help="also write the figures here")
    p.add_argument("--no-direct", action="store_true", help="skip running the suite straight against the server")
    p.add_argument("--setup-only", action="store_true", help="install the server, the client and its tests, then stop")
    args = p.parse_args(ours)
    if args.setup_only:
        setup()
        return 0

    def on_term(*_):
        raise Interrupted()

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # also when started with SIGINT ignored (`&`)
    work = args.keep.resolve() if args.keep else Path(tempfile.mkdtemp(prefix=f"{name}-harness-"))
    if args.keep:
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
    try:
        fig = phases(work, verify_args, not args.no_direct)
        text = json.dumps(fig, indent=2) + "\n"
        (work / "figures.json").write_text(text)
        if args.json:
            args.json.write_text(text)
        print(render(fig))
        return 0
    except (KeyboardInterrupt, Interrupted):
        print(f"{name} harness: interrupted; every process it started is stopped", file=sys.stderr)
        return 130
    except RuntimeError as e:
        print(f"{name} harness: {e}", file=sys.stderr)
        return 1
    finally:
        if args.keep:
            print(f"kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
