"""Record devpi-server while devpi-client's own test suite runs against it, then verify the pact against a fresh,
empty devpi-server.

    .venv/bin/python bench/thirdparty/devpi.py [--keep DIR] [--json FILE] [--no-direct] [-- VERIFY_ARGS...]

(after `--setup-only` once). `verify` gets `--states-from-recording` and nothing else (the first contact).
Where it refuses to start (exit 2: the recording redacted passwords and tokens and nobody gave them), that
refusal and its message are the first figure, and verify runs once more with the least the message asks for:
VERIFY_ARGS (everything after `--`, which make that second run in any case) if given, else `--secret NAME=VALUE`
for each NAME it names, VALUE what the suite itself uses for the account the message's example request is
about (`123` for every account the suite makes, root's empty password for root; a redacted `Authorization`
as `Basic` of that account and password, as pip sends an index URL with credentials), as a user who read the
suite and the README would give it. Where that run's NOTEs say an undo was refused and that `--reset-url or
--reset-command can empty the provider`, a diagnostic (verify-reset, ~4 s a restart; only without VERIFY_ARGS)
runs the same once more with `--reset-command` starting a new, empty devpi-server for each interaction.

What it does, each phase timed:
  setup    a venv of its own under .venv/thirdparty/devpi/ with devpi-server (the provider), devpi-client (the
           consumer) and what its tests need (pytest, pytest-timeout, virtualenv, tox, build, Sphinx for the
           documentation uploads, pypitoken), every package pinned, and devpi-client's sdist unpacked there:
           its tests (`testing/`) ship only in it.
  direct   a fresh devpi-server (`devpi-init --no-root-pypi`, then `devpi-server --offline-mode` on a free
           port of 127.0.0.1) and the suite (all of `testing/`) run straight against it (--no-direct leaves
           this out: ~4 min; record ~4 min, verify ~1 min, verify-reset ~10 min).
  record   another fresh devpi-server, `pact-recorder record --consumer devpi-client --provider devpi-server`
           in front of it, the same suite pointed at the recorder; SIGTERM makes it write
           OUT/devpi-client-devpi-server.json.
  verify   a third fresh devpi-server (only root, with its empty password; no index, no other user),
           `pact-recorder verify --states-from-recording`; then, refused, again on a fresh devpi-server with
           the extra above (verify2); then the --reset-command diagnostic (verify-reset).
Then it prints the figures (tests passed through the recorder and directly, whether the same tests failed both
ways, exchanges, interactions, verified green / total) and the failures grouped by cause, and writes them as
JSON to DIR/figures.json (and --json FILE).

How the suite is pointed at a server: testing/conftest.py has `--live-url URL` ("run tests against live devpi
server"): its session-wide `url_of_liveserver` is then that URL instead of a server it starts itself. The URL
is given as http://localhost:PORT (127.0.0.1 in /etc/hosts): two tests assert that the URL pip is shown
hides its credentials as `http://****:****@localhost`. The suite still finds `devpi-server` on PATH (the
venv's bin first) for its version and, in one test (test_switch_preserves_auth), a second server of its own on
localhost, not recorded; VIRTUAL_ENV names the venv (test_simple_install_missing_venvdir unsets it).

No upstream is reached: `--no-root-pypi` makes no root/pypi mirror, and `--offline-mode` keeps devpi-server
from fetching any mirror's upstream, so the suite's mirror indexes (of its own in-process simpypi on
localhost, and of the public index in test_test.py) serve nothing: the 7 TestMirrorIndexThings tests
that need the simpypi releases fail, directly and through the recorder alike. test_wheel_pyproject_toml fails
both ways too (its isolated build asks the devpi index, which has no setuptools). No test file is changed.
Every process started is stopped on the way out, on failure and on Ctrl-C or SIGTERM too.
"""

from __future__ import annotations

import base64
import os
import re
import shlex
import shutil
import subprocess
import sys
import tarfile
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from common import ROOT, free_port, start, tail, timed, wait_http  # noqa: E402

DEVPI_SERVER = "6.20.3"
DEVPI_CLIENT = "7.3.0"
PINS = [
    f"devpi-server=={DEVPI_SERVER}",
    f"devpi-client=={DEVPI_CLIENT}",
    "devpi-common==4.1.1",
    # the suite's own needs (devpi-client's tox.ini deps), then everything they and the above resolve to
    "pytest==9.2.0", "pytest-timeout==2.4.0", "virtualenv==21.15.14", "tox==4.67.17", "Sphinx==9.1.1",
    "pypitoken==7.1.1", "mock==5.2.0", "wheel==0.48.0", "setuptools==81.0.0", "build==1.6.1",
    "alabaster==1.0.0", "anyio==4.16.0", "argon2-cffi==25.1.0", "argon2-cffi-bindings==26.2.0", "attrs==26.1.0",
    "babel==2.19.0", "cachetools==8.0.3", "certifi==2026.10.19.post1", "cffi==2.1.1",
    "charset-normalizer==3.5.3", "check-manifest==0.51", "colorama==0.4.6", "defusedxml==0.7.1",
    "distlib==0.4.4", "docutils==0.22.4", "filelock==4.3.2", "h11==0.16.0", "httpcore==1.0.9", "httpx==0.29.0",
    "hupper==1.12.1", "idna==3.21", "imagesize==2.0.1", "iniconfig==2.3.1", "itsdangerous==2.2.0",
    "Jinja2==3.1.6", "jsonschema==4.26.0", "jsonschema-specifications==2025.9.1", "lazy==2.0",
    "MarkupSafe==3.0.4", "packaging==26.4", "packaging-legacy==23.0.post0", "passlib==1.7.4",
    "PasteDeploy==3.1.0", "pkginfo==2.0", "plaster==1.1.2", "plaster-pastedeploy==1.0.1",
    "platformdirs==4.14.9", "pluggy==1.7.0", "py==1.11.0", "pycparser==3.12", "Pygments==2.21.0",
    "pymacaroons==0.13.0", "PyNaCl==1.6.2", "pyproject-api==1.12.1", "pyproject_hooks==1.3.3", "pyramid==2.1",
    "python-dateutil==4.0.0", "python-discovery==1.9.9", "referencing==0.37.0", "repoze-lru==0.8",
    "requests==2.34.2", "roman-numerals==4.1.0", "rpds-py==2026.9.1", "ruamel.yaml==0.19.1", "six==1.17.0",
    "snowballstemmer==3.1.1", "sphinxcontrib-applehelp==2.0.0", "sphinxcontrib-devhelp==2.0.0",
    "sphinxcontrib-htmlhelp==2.1.0", "sphinxcontrib-jsmath==2.0.0", "sphinxcontrib-qthelp==2.0.0",
    "sphinxcontrib-serializinghtml==2.0.0", "strictyaml==1.7.3", "tomli_w==1.2.0", "translationstring==1.4",
    "typing_extensions==4.16.0", "tzdata==2026.6", "urllib3==2.8.0", "venusian==3.1.1", "waitress==3.0.2",
    "WebOb==1.8.11", "zope.deprecation==6.0", "zope.interface==8.7",
]  # fmt: skip
HOME = ROOT / ".venv" / "thirdparty" / "devpi"
VENV = HOME / "venv"
SDIST = HOME / f"devpi_client-{DEVPI_CLIENT}"
SUITE = ["testing"]
PASSWORDS = {"root": "", "": "123"}  # testing/functional.py login_root(); conftest.py's devpi fixture: user%d / 123
COMMAND_SECONDS = 120


# --- setup -------------------------------------------------------------------------------------------


def setup() -> tuple[Path, Path]:
    """The venv under HOME with PINS and devpi-client's sdist unpacked beside it, installed once per pin set
    (common.ensure_env's way; its tests are in `testing/`, not `tests/`). (venv, sdist dir)."""
    stamp = HOME / ".installed"
    want = "\n".join([*PINS, f"devpi-client=={DEVPI_CLIENT} sdist"])
    if stamp.is_file() and stamp.read_text() == want and (SDIST / "testing" / "conftest.py").is_file():
        return VENV, SDIST
    print(f"setup: installing {len(PINS)} pinned packages into {HOME.relative_to(ROOT)}", flush=True)
    shutil.rmtree(HOME, ignore_errors=True)
    HOME.mkdir(parents=True)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    common.pip(VENV / "bin" / "python", "install", *PINS)
    common.pip(
        Path(sys.executable), "download", "--no-binary", ":all:", "--no-deps", "-d", str(HOME),
        f"devpi-client=={DEVPI_CLIENT}",
    )  # fmt: skip
    (archive,) = HOME.glob("*.tar.gz")
    with tarfile.open(archive) as tar:
        tar.extractall(HOME, filter="data")
    if not (SDIST / "testing" / "conftest.py").is_file():
        sys.exit(f"harness: {archive.name} has no testing/conftest.py")
    stamp.write_text(want)
    return VENV, SDIST


# --- devpi-server ------------------------------------------------------------------------------------


def start_devpi(stack: ExitStack, work: Path) -> str:
    """A fresh devpi-server on a free port of 127.0.0.1 (a new server dir: root with an empty password, no
    index, no mirror, offline); its URL once /+api answers."""
    work.mkdir(parents=True, exist_ok=True)
    serverdir = work / "serverdir"
    shutil.rmtree(serverdir, ignore_errors=True)
    init = [str(VENV / "bin" / "devpi-init"), "--serverdir", str(serverdir), "--no-root-pypi"]
    done = subprocess.run(init, capture_output=True, text=True, timeout=COMMAND_SECONDS)
    if done.returncode:
        raise RuntimeError(f"devpi-init failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    port = free_port()
    log = work / "devpi-server.log"
    cmd = [str(VENV / "bin" / "devpi-server"), "--serverdir", str(serverdir), "--offline-mode"]
    cmd += ["--host", "127.0.0.1", "--port", str(port)]
    proc = start(stack, cmd, log, cwd=work)
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/+api", proc, log)
    return url


# --- the suite ---------------------------------------------------------------------------------------


def run_suite(stack: ExitStack, url: str, work: Path) -> dict:
    """devpi-client's tests with `--live-url` at `url` (as http://localhost:PORT), in a temp folder of their
    own under `work`."""
    work.mkdir(parents=True, exist_ok=True)
    live = url.replace("http://127.0.0.1:", "http://localhost:")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DEVPI_", "PIP_", "VIRTUAL_ENV", "PYTHON"))}
    env["PATH"] = f"{VENV / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(VENV)
    args = [*SUITE, "--live-url", live, "--basetemp", str(work / "tmp"), "-rfE"]
    return common.run_pytest(stack, VENV / "bin" / "python", args, work, cwd=SDIST, env=env)


def transparency(direct: dict | None, recorded: dict) -> dict | None:
    """Whether the suite gave the same outcome straight and through the recorder."""
    if not direct:
        return None
    keys = ("tests", "passed", "failed", "errors", "skipped")
    return {
        "same_counts": all(direct[k] == recorded[k] for k in keys),
        "same_failing": sorted(direct["failing"]) == sorted(recorded["failing"]),
        "only_direct": sorted(set(direct["failing"]) - set(recorded["failing"])),
        "only_recorded": sorted(set(recorded["failing"]) - set(direct["failing"])),
    }


# --- the verifier ------------------------------------------------------------------------------------


def answers(message: str) -> list[str]:
    """`--secret NAME=VALUE` for each secret the refusal names, as the suite's credentials make it: for the
    account its example request is about (root in `/root/...` or `POST /+login` as root, else the user the
    path names, `user91`), the suite's password; a redacted `Authorization` header as Basic of that account
    (what pip sends for an index URL with credentials)."""
    args = []
    for name, example in re.findall(r"^\s+(\w+): needed by \d+ request\(s\), e\.g\. '(.*?)'; pass", message, re.M):
        path = example.split()[1] if len(example.split()) > 1 else ""
        user = path.strip("/").split("/")[0] if path.count("/") > 1 else "root"
        password = PASSWORDS.get(user, PASSWORDS[""])
        value = password
        if name.startswith("authorization"):
            value = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        args += ["--secret", f"{name}={value}"]
    return args


def fresh_command(work: Path, url: str) -> str:
    """For `--reset-command`: a shell command that serves a new, empty devpi-server on `url`'s port."""
    serverdir = work / "serverdir-reset"
    bin_ = VENV / "bin"
    init = f"{bin_ / 'devpi-init'} --serverdir {serverdir} --no-root-pypi >/dev/null 2>&1"
    port = url.rsplit(":", 1)[1]
    serve = f"exec {bin_ / 'devpi-server'} --serverdir {serverdir} --offline-mode --host 127.0.0.1 --port {port}"
    return "sh -c " + shlex.quote(f"rm -rf {serverdir} && {init} && {serve}")


# --- phases ------------------------------------------------------------------------------------------


def phases(work: Path, verify_args: list[str], direct: bool) -> dict:
    seconds: dict[str, float] = {}
    with timed(seconds, "setup"):
        setup()
    direct_run = None
    if direct:
        with timed(seconds, "direct"), ExitStack() as stack:
            url = start_devpi(stack, work / "direct" / "devpi")
            direct_run = run_suite(stack, url, work / "direct")
    out = work / "record"
    with timed(seconds, "record"), ExitStack() as stack:
        url = start_devpi(stack, out / "devpi")
        recorder, proxy, log = common.start_recorder(stack, "devpi-client", "devpi-server", url, out)
        recorded = run_suite(stack, proxy, out)
        common.finish_recording(recorder, log)
    pact = out / "devpi-client-devpi-server.json"
    if not pact.is_file():
        raise RuntimeError(f"the recorder wrote no {pact.name}:\n{tail(log)}")
    runs: list[dict] = []
    args = ["--states-from-recording"]
    with timed(seconds, "verify"), ExitStack() as stack:
        url = start_devpi(stack, work / "verify" / "devpi")
        report, outcome = common.verify_outcome(stack, pact, url, work / "verify", args)
        runs.append(outcome | {"dir": "verify"})
    if report is None or verify_args:  # refused (or asked for): once more with the extra, on a fresh server
        with timed(seconds, "verify2"), ExitStack() as stack:
            url = start_devpi(stack, work / "verify2" / "devpi")
            args = [*args, *(verify_args or answers(outcome["message"]))]
            report, outcome = common.verify_outcome(stack, pact, url, work / "verify2", args)
            runs.append(outcome | {"dir": "verify2"})
    reset = None
    said_reset = "--reset-command can empty the provider" in (work / runs[-1]["dir"] / "verify.log").read_text()
    if said_reset and not verify_args:  # the diagnostic verify's NOTE names: a fresh devpi for each interaction
        with timed(seconds, "verify-reset"), ExitStack() as stack:
            folder = work / "verify-reset"
            folder.mkdir(parents=True)
            url = f"http://127.0.0.1:{free_port()}"
            extra = [*args, "--reset-command", fresh_command(folder, url)]
            reset, outcome = common.verify_outcome(stack, pact, url, folder, extra)
            runs.append(outcome | {"dir": "verify-reset"})
    for n, run in enumerate(runs, 1):
        lines = run["message"].splitlines()
        said = [line for line in lines if "interaction(s) passed" in line]
        if run["exit"] == 2:
            said = [*lines[:8], f"... ({len(lines) - 8} more lines)"] if len(lines) > 9 else lines
        print(f"verify run {n}: exit {run['exit']}  ({' '.join(run['args'])})")
        print("\n".join("  " + line.strip() for line in said))
    same = transparency(direct_run, recorded)
    if same:
        print(f"transparency: same counts {same['same_counts']}, same failing tests {same['same_failing']}")
        for name in same["only_direct"]:
            print(f"  failed only directly: {name}")
        for name in same["only_recorded"]:
            print(f"  failed only through the recorder: {name}")
    if reset:
        print(
            f"--reset-command diagnostic: {common.verify_figures(reset)['green']} / {len(reset['interactions'])} green"
        )
        for g in common.group_failures(reset):
            print(f"  {g['cause']:<42} {g['first']:>5} {g['interactions']:>5}")
    return {
        "devpi-server": DEVPI_SERVER,
        "devpi-client": DEVPI_CLIENT,
        "pins": PINS,
        "suite": SUITE,
        "verify_args": args,
        "verify_runs": runs,
        "seconds": seconds,
        "direct": direct_run,
        "recorded": recorded,
        "transparency": same,
        "recording": common.recording_figures(pact),
        "verify": common.verify_figures(report) if report else {"green": 0, "total": 0, "refused": runs[-1]},
        "failures": common.group_failures(report) if report else [],
        "verify_reset": common.verify_figures(reset) if reset else None,
        "failures_reset": common.group_failures(reset) if reset else None,
    }


if __name__ == "__main__":
    sys.exit(common.main("devpi", __doc__, phases, sys.argv[1:], setup))
