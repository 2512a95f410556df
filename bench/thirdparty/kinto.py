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

import base64
import configparser
import os
import sys
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from common import HERE, ROOT, free_port, start, timed, wait_http  # noqa: E402

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


# --- the suite and the verifier ----------------------------------------------------------------------


def run_suite(stack: ExitStack, server_url: str, work: Path) -> dict:
    """kinto-http's functional tests against `server_url`; their counts from the JUnit XML."""
    env = {**os.environ, "KINTO_SERVER_URL": server_url, "PYTHONPATH": str(HERE)}
    args = [*SUITE, "-p", "kinto_server_url", "-o", "asyncio_default_fixture_loop_scope=function"]
    return common.run_pytest(stack, VENV / "bin" / "python", args, work, cwd=SDIST, env=env)


def setup() -> tuple[Path, Path]:
    return common.ensure_env(HOME, PINS, f"kinto-http=={KINTO_HTTP}")


def phases(work: Path, verify_args: list[str], direct: bool) -> dict:
    seconds: dict[str, float] = {}
    with timed(seconds, "setup"):
        setup()
    direct_run = None
    if direct:
        with timed(seconds, "direct"), ExitStack() as stack:
            direct_run = run_suite(stack, start_kinto(stack, work / "direct"), work / "direct")
    out = work / "record"
    with timed(seconds, "record"), ExitStack() as stack:
        kinto = start_kinto(stack, out / "kinto")
        recorder, url, log = common.start_recorder(stack, "kinto-http", "kinto", kinto.removesuffix("/v1"), out)
        recorded = run_suite(stack, url + "/v1", out)
        common.finish_recording(recorder, log)
    pact = out / "kinto-http-kinto.json"
    token = base64.b64encode(":".join(AUTH).encode()).decode()
    with timed(seconds, "verify"), ExitStack() as stack:
        kinto = start_kinto(stack, work / "verify")
        args = ["--header", f"Authorization: Basic {token}", *verify_args]
        report = common.run_verify(stack, pact, kinto.removesuffix("/v1"), work / "verify", args)
    return {
        "kinto_http": KINTO_HTTP,
        "pins": PINS,
        "suite": SUITE,
        "verify_args": verify_args,
        "seconds": seconds,
        "direct": direct_run,
        "recorded": recorded,
        "recording": common.recording_figures(pact),
        "verify": common.verify_figures(report),
        "failures": common.group_failures(report),
    }


if __name__ == "__main__":
    sys.exit(common.main("kinto", __doc__, phases, sys.argv[1:], setup))
