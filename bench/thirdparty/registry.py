"""Record the OCI distribution registry while oras-py's own tests push and pull artifacts through it, then verify the
pact against a fresh, empty registry.

    .venv/bin/python bench/thirdparty/registry.py [--keep DIR] [--json FILE] [--no-direct] [-- VERIFY_ARGS...]

`verify` gets `--states-from-recording` and nothing else (the first contact). VERIFY_ARGS (everything after `--`)
make a second verify run on another fresh registry with them added (verify2); a refusal (exit 2) without them
stops the harness with verify's message.

What it does, each phase timed:
  setup    the registry from Debian's `docker-registry` (distribution 2.8.x; `apt-get install` when no
           `docker-registry` is on PATH; the system service is never started or used), and a venv of its own
           under .venv/thirdparty/registry/ with oras-py and what its tests import, pinned, from PyPI. oras's
           wheel ships its tests with their data (oras/tests: artifact.txt, upload_data/, ocilayout_data/), so
           the installed package has them: nothing is downloaded after setup.
  direct   a fresh registry (`docker-registry serve CONFIG`: filesystem storage in the work dir, deletes
           enabled, no auth, HTTP on a free port of 127.0.0.1) and the suite run straight against it (--no-direct
           leaves this out).
  record   another fresh registry, `pact-recorder record --consumer oras-py --provider registry` in front of it,
           the same tests pointed at the recorder; SIGTERM makes it write OUT/oras-py-registry.json.
  verify   a third fresh registry (empty), `pact-recorder verify --states-from-recording`; then, refused or
           asked to, again on a fresh registry with VERIFY_ARGS (verify2).
Then it prints the figures and the failures grouped by cause, and writes them as JSON to DIR/figures.json (and
--json FILE).

How the suite is pointed at the server: its conftest.py reads the registry's address from ORAS_HOST and ORAS_PORT
(without them every live test skips), and the tests run with the package's parent directory as the working
directory, as upstream runs them from its checkout (oras refuses to push a file outside the working directory).
No test file is changed and no plugin is needed. The three `with_auth(True)` tests skip (the registry has no auth,
ORAS_AUTH is unset). Left out (-k): test_chunked_push (its second half pushes a 16 GiB sparse file in 16 MiB
chunks), test_get_many_tags and the three test_ssl_* tests (they talk to ghcr.io). The unit tests of the three
files (layout validation, path parsing, quiet output) run too and count.

Upload URLs: a registry answers a blob upload's POST with an absolute `Location` (`http://HOST/v2/NAME/blobs/
uploads/UUID?_state=...`, a state token signed with a secret each registry makes up at start) built from the
request's Host; the recorder keeps the consumer's Host, so the PATCH and PUT that follow come back through it. The
harness checks it: every request the registry logs while the suite runs names the recorder's address as its Host
(`bypassed` in the figures counts those that name the registry's own).

Every process started is stopped on the way out, on failure and on Ctrl-C or SIGTERM too.

First contact (docker-registry 2.8.2, oras-py 0.2.43): 55 tests, 52 passed both directly and through the recorder
(the same 3 skip both ways); 107 exchanges, every one through the recorder (none bypassed it by an upload URL), 38
interactions (34 with a provider state); verify asks for nothing (exit 1): 19 / 38 green. Left, by class: a
manifest names its blobs by digest in its body (`config.digest`, `layers[].digest`: resources at another path,
`/v2/NAME/blobs/DIGEST`), which no setup uploads first, so the manifest's PUT, in a setup or as the interaction, is
refused (400 `MANIFEST_BLOB_UNKNOWN`); where a blob's upload is replayed (a digest "sent by earlier requests") it is
the upload's closing PUT alone, to the upload URL the recording's POST handed out (a session id and a `_state` token
signed by the recording registry's secret), which the fresh registry refuses (404 `BLOB_UPLOAD_INVALID`), 13; what
a creation made is the 201's `Location`, not its request path (the closing PUT of `.../blobs/uploads/UUID` makes
`.../blobs/DIGEST`, a manifest PUT by tag makes `.../manifests/DIGEST`), so the state of the digest's resource has no
setup ("no recorded request makes this") and the undo deletes the request's path (an upload session already closed,
404; a manifest by tag, which the registry deletes by digest only, 400), leaving what was made behind, 2; a listing
at another path than what fills it (`/v2/NAME/tags/list`, filled by PUTs of `/v2/NAME/manifests/TAG`), no setup, 3;
one digest in two repositories taken as one state (`blob does not exist` deletes the first repository's blob, the
interaction asks the other's), 1. Behind the first class: a fresh name (tag `v1` taken, `v1-7`) also replaced
inside the setups' `Content-Type` (`application/vnd.oci.image.manifest.v1-7+json`, which the registry reads as a
signed schema-1 manifest: 400 "missing signature key").
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from common import ROOT, free_port, start, tail, timed, wait_http  # noqa: E402

PACKAGE = "docker-registry"  # Debian bookworm: 2.8.2+ds1
ORAS = "0.2.43"
PINS = [
    f"oras=={ORAS}",
    "requests==2.34.2",
    "urllib3==2.8.0",
    "certifi==2026.10.19.post1",
    "charset-normalizer==3.5.3",
    "idna==3.21",
    "jsonschema==4.26.0",
    "jsonschema-specifications==2025.9.1",
    "referencing==0.37.0",
    "rpds-py==2026.9.1",
    "attrs==26.1.0",
    "typing_extensions==4.16.0",
    "pytest==9.2.0",
    "pluggy==1.7.0",
    "iniconfig==2.3.1",
    "packaging==26.4",
    "Pygments==2.21.0",
]
HOME = ROOT / ".venv" / "thirdparty" / "registry"
VENV = HOME / "venv"
SUITE = ["test_oras.py", "test_provider.py", "test_layout.py"]  # the files with live tests
LEFT_OUT = "not test_chunked_push and not test_get_many_tags and not test_ssl_"  # -k
CONSUMER, PROVIDER = "oras-py", "registry"

CONFIG = """\
# written by bench/thirdparty/registry.py
version: 0.1
log:
  level: info
  formatter: text
storage:
  filesystem:
    rootdirectory: {root}
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:{port}
"""


# --- setup -------------------------------------------------------------------------------------------


def site() -> Path:
    """The venv's site-packages, symlinks resolved: oras compares the files it pushes with the working directory."""
    return VENV.resolve() / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"


def setup() -> Path:
    """docker-registry on PATH (never run as a service) and the suite's venv; the tests' directory."""
    if not shutil.which("docker-registry"):
        common.apt_install(PACKAGE)
    stamp = HOME / ".installed"
    if not (stamp.is_file() and stamp.read_text() == "\n".join(PINS) and (site() / "oras" / "tests").is_dir()):
        print(f"setup: installing {', '.join(PINS)} into {HOME.relative_to(ROOT)}", flush=True)
        shutil.rmtree(HOME, ignore_errors=True)
        HOME.mkdir(parents=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        common.pip(VENV / "bin" / "python", "install", *PINS)
        tests = site() / "oras" / "tests"
        if not all((tests / t).is_file() for t in [*SUITE, "conftest.py", "artifact.txt"]):
            sys.exit(f"harness: oras {ORAS} installed without its tests under {tests}")
        stamp.write_text("\n".join(PINS))
    return site() / "oras" / "tests"


def version() -> str:
    done = subprocess.run([shutil.which("docker-registry"), "--version"], capture_output=True, text=True)
    return done.stdout.split()[-1] if done.returncode == 0 and done.stdout.split() else "?"


# --- the registry ------------------------------------------------------------------------------------


def start_registry(stack: ExitStack, work: Path) -> tuple[str, Path]:
    """A fresh registry (empty storage in `work`, deletes on, no auth) on a free port of 127.0.0.1; (its URL,
    its log) once /v2/ answers."""
    work.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = work / "config.yml"
    config.write_text(CONFIG.format(root=work / "storage", port=port))
    log = work / "registry.log"
    proc = start(stack, [shutil.which("docker-registry"), "serve", str(config)], log, cwd=work)
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/v2/", proc, log)
    return url, log


def hosts(log: Path, after: int) -> Counter:
    """How many requests the registry served past byte `after` of its log, by the Host they named."""
    text = log.read_bytes()[after:].decode(errors="replace")
    return Counter(re.findall(r'msg="response completed[^"]*".*?http\.request\.host="([^"]*)"', text))


# --- the suite ---------------------------------------------------------------------------------------


def run_suite(stack: ExitStack, url: str, work: Path) -> dict:
    """oras-py's tests against the registry (or the recorder) at `url`."""
    tests = site() / "oras" / "tests"
    host, port = url.removeprefix("http://").rsplit(":", 1)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "ORAS_"))}
    env |= {"ORAS_HOST": host, "ORAS_PORT": port, "HOME": str(work)}  # no ~/.docker/config.json of the user's
    ini = work / "pytest.ini"  # the suite's own settings, not those of the project it sits under (.venv/)
    ini.write_text("[pytest]\n")
    args = [str(tests / t) for t in SUITE] + ["-k", LEFT_OUT, "-c", str(ini), "--rootdir", str(work)]
    return common.run_pytest(stack, VENV / "bin" / "python", args, work, cwd=tests.parent.parent, env=env)


# --- phases ------------------------------------------------------------------------------------------


def phases(work: Path, verify_args: list[str], direct: bool) -> dict:
    seconds: dict[str, float] = {}
    with timed(seconds, "setup"):
        setup()
    direct_run = None
    if direct:
        with timed(seconds, "direct"), ExitStack() as stack:
            url, _ = start_registry(stack, work / "direct" / "registry")
            direct_run = run_suite(stack, url, work / "direct")
    out = work / "record"
    with timed(seconds, "record"), ExitStack() as stack:
        registry, registry_log = start_registry(stack, out / "registry")
        recorder, url, log = common.start_recorder(stack, CONSUMER, PROVIDER, registry, out)
        before = registry_log.stat().st_size
        recorded = run_suite(stack, url, out)
        served = hosts(registry_log, before)
        common.finish_recording(recorder, log)
    pact = out / f"{CONSUMER}-{PROVIDER}.json"
    if not pact.is_file():
        raise RuntimeError(f"the recorder wrote no {pact.name}:\n{tail(log)}")
    own = registry.removeprefix("http://")
    through = {"requests": sum(served.values()), "bypassed": served[own], "hosts": dict(served)}
    runs: list[dict] = []
    args = ["--states-from-recording"]
    with timed(seconds, "verify"), ExitStack() as stack:
        registry, _ = start_registry(stack, work / "verify" / "registry")
        report, outcome = common.verify_outcome(stack, pact, registry, work / "verify", args)
        runs.append(outcome)
    if report is None or verify_args:  # refused (or asked for): once more with VERIFY_ARGS, on a fresh registry
        if report is None and not verify_args:
            raise RuntimeError(f"verify refused (exit {outcome['exit']}); pass what it asks for after `--`:\n"
                               + outcome["message"])  # fmt: skip
        with timed(seconds, "verify2"), ExitStack() as stack:
            registry, _ = start_registry(stack, work / "verify2" / "registry")
            args = [*args, *verify_args]
            report, outcome = common.verify_outcome(stack, pact, registry, work / "verify2", args)
            runs.append(outcome)
    for n, run in enumerate(runs, 1):
        lines = run["message"].splitlines()
        said = [line for line in lines if "interaction(s) passed" in line]
        if run["exit"] == 2:
            said = [*lines[:8], f"... ({len(lines) - 8} more lines)"] if len(lines) > 9 else lines
        print(f"verify run {n}: exit {run['exit']}  ({' '.join(run['args'])})")
        print("\n".join("  " + line.strip() for line in said))
    same = common.same_failures(direct_run, recorded)
    if same:
        print(f"transparency: {'same' if same['same'] else 'NOT the same'} failing tests directly and recorded"
              + "".join(f"; only directly: {t}" for t in same["failing_only_direct"])
              + "".join(f"; only recorded: {t}" for t in same["failing_only_recorded"]))  # fmt: skip
    print(f"through the recorder: {through['requests']} requests reached the registry while the suite ran, "
          f"{through['bypassed']} of them straight (an upload URL naming the registry itself)")  # fmt: skip
    if report is None:
        raise RuntimeError(f"pact-recorder verify wrote no report (exit {runs[-1]['exit']}):\n{runs[-1]['message']}")
    return {
        "registry": version(),
        "oras": ORAS,
        "pins": PINS,
        "suite": SUITE,
        "left_out": LEFT_OUT,
        "verify_args": args,
        "verify_runs": runs,
        "seconds": seconds,
        "direct": direct_run,
        "recorded": recorded,
        "transparency": same,
        "through_recorder": through,
        "recording": common.recording_figures(pact),
        "verify": common.verify_figures(report),
        "failures": common.group_failures(report),
    }


if __name__ == "__main__":
    sys.exit(common.main("registry", __doc__, phases, sys.argv[1:], setup))
