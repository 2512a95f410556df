"""Record qBittorrent's WebUI API v2 while qbittorrent-api's own live tests run against it, then verify the pact
against a fresh, empty qBittorrent.

    .venv/bin/python bench/thirdparty/qbittorrent.py [--keep DIR] [--json FILE] [--no-direct] [--setup-only]
                                                     [-- VERIFY_ARGS...]

`verify` gets `--states-from-recording` and nothing else (the first contact). Where it refuses to start (exit 2:
a secret the recording redacted, the WebUI password of the login form), that refusal and its message are the first
figure, and verify runs once more with the least the message asks for: VERIFY_ARGS (everything after `--`, which
make that second run in any case) if given, else `--secret NAME=VALUE` for each NAME it names, VALUE the WebUI
password (or USER for a name that says user), as the operator who set the WebUI's account would give it.

What it does, each phase timed:
  setup    Debian's `qbittorrent-nox` (4.5.2; `apt-get install` when missing; the system service, if the
           package had one, never started: the install runs under a policy-rc.d that denies every start), and a
           venv of its own under .venv/thirdparty/qbittorrent/ with qbittorrent-api and pytest, pinned, and the
           sdist of qbittorrent-api unpacked beside it (it ships tests/), renamed `qbittorrent-api`: the suite's
           conftest asserts that sys.path[0], the folder pytest runs in, has that name.
  direct   a fresh qbittorrent-nox (a profile dir of its own) and the suite straight against its WebUI
           (--no-direct leaves this out).
  record   another fresh qbittorrent-nox, `pact-recorder record --consumer qbittorrent-api --provider qbittorrent`
           in front of its WebUI, the same suite pointed at the recorder (QBITTORRENTAPI_HOST); SIGTERM makes it
           write OUT/qbittorrent-api-qbittorrent.json.
  verify   a third fresh qbittorrent-nox (empty: no torrent, no category, no tag), `pact-recorder verify
           --states-from-recording`; then, refused, again on a fresh one with what it asked for (verify2).
Then it prints the figures (tests passed through the recorder and directly, whether the same tests failed both
ways, exchanges, interactions, verified green / total) and the failures grouped by cause, and writes them as JSON
to DIR/figures.json (and --json FILE).

Each qbittorrent-nox is `qbittorrent-nox --profile=DIR` with a qBittorrent.conf of the harness's: the WebUI on a
free port of 127.0.0.1 only, the account USER / PASSWORD (`WebUI\\Password_PBKDF2`: PBKDF2-HMAC-SHA512, 100,000
rounds, a 16-byte salt, written as qBittorrent writes it), the legal notice accepted, DHT, PeX, LSD, UPnP / NAT-PMP
(port forwarding, and the WebUI's own) off, BitTorrent traffic bound to `lo` and sent through a SOCKS5 proxy on a
closed port of 127.0.0.1 with hostname lookups through the proxy (so no tracker, web seed or peer is ever looked
up or reached: the suite adds web seeds and trackers at `http://example/...`), peers' countries not resolved (that
downloads a geolocation database from the internet), downloads into its work dir. Of the WebUI's protections one
is off, in every phase alike: Host header validation (`WebUI\\HostHeaderValidation=false`). The recorder hands
the provider the Host the client sent, the recorder's own 127.0.0.1:PORT, and qBittorrent refuses a Host whose
port is not its own ("Invalid Host header, port mismatch": 401 to the login, so no test ran through the
recorder). CSRF protection stays on (the client sends no Origin or Referer).

The suite: qbittorrent-api's tests/ from its sdist, unchanged; a plugin the harness writes into the work dir and
loads with `-p` (qbt_harness_local.py) puts its torrents where the suite reaches them without the internet. The
suite's four torrents are three Ubuntu ISO torrents (public trackers) fetched by URL from the project's repository
(qBittorrent downloads them itself when the suite adds by URL; the suite downloads them with requests for adds by
file) and root_folder.torrent (no tracker, one 15-byte file). The plugin points the three URLs at a file server
of the harness's on 127.0.0.1 serving torrents the harness makes with its own bencode writer (same names, single
files of 48 MiB, fake piece hashes, trackers on a closed port of 127.0.0.1 only), and swaps their info hashes and
bytes into the conftest module (and into the defaults of its functions) as it is registered, before any test
module imports them. root_folder.torrent is used as shipped. For verify the file server runs again on the port the
recording used, the world the recorded `torrents/add` by URL lived in. Run: tests/test_app.py, test_auth.py,
test_log.py, test_sync.py, test_transfer.py, test_torrents.py, test_request.py, test_version.py,
test_clientdata.py; left out: test_torrent.py (the same endpoints as test_torrents.py through the per-torrent
object: another minute a phase, which a phase under ~3 minutes cannot afford), test_rss.py (feeds fetched from
the internet), test_search.py (search plugins installed from and searches run on the internet),
test_torrentcreator.py (API 2.10.4+, not in 4.5), test_api_surface.py and test_definitions.py (offline: no
request), test_zzz_last_tests.py (CI only: shuts qBittorrent down), and by `-k` `test_preferences` of test_app.py
(it turns DHT on, which bootstraps from public routers) and `test_both_https_http_not_working` of test_request.py
(it switches the WebUI to HTTPS with a certificate at /tmp/_resources, CI's container volume: missing here, it left
the WebUI unreachable and the suite's crash guard ended the session; and a plain-HTTP recorder cannot carry it).
Tests that fail both ways, by this machine: test_request.py's `localhost:8080` ones (the suite hard-wires CI's
address), and the ones expecting 403 / a permission error where root may write and read anything
(`test_set_save_path`, `test_set_download_path`, `test_add_torrent_file_fail` reading /etc/shadow). Every process
started is stopped on the way out, on failure and on Ctrl-C or SIGTERM too.

The API: `POST /api/v2/auth/login` (form `username`, `password`) answered `Ok.` and a `SID` cookie every later
request sends; form-encoded POSTs, `torrents/add` as multipart (files and fields), JSON answers, plain-text `Ok.` /
`Fails.`; torrents named by their info hashes (`hashes=H1|H2`), categories and tags by name, files by index,
trackers and web seeds by URL; changes applied asynchronously (the suite polls).
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import json
import os
import random
import re
import shutil
import subprocess
import sys
import threading
from contextlib import ExitStack
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from common import ROOT, free_port, start, tail, timed, wait_http  # noqa: E402

QBT = "qbittorrent-nox"  # Debian bookworm: 4.5.2
CLIENT = "2026.10.1"
PINS = [
    f"qbittorrent-api=={CLIENT}",
    "requests==2.34.2",
    "urllib3==2.8.0",
    "packaging==26.4",
    "certifi==2026.10.19.post1",
    "charset-normalizer==3.5.3",
    "idna==3.21",
    "pytest==9.2.0",
    "pluggy==1.7.0",
    "iniconfig==2.3.1",
    "Pygments==2.21.0",
]
HOME = ROOT / ".venv" / "thirdparty" / "qbittorrent"
SUITE = [
    "test_app.py",
    "test_auth.py",
    "test_log.py",
    "test_sync.py",
    "test_transfer.py",
    "test_torrents.py",
    "test_request.py",
    "test_version.py",
    "test_clientdata.py",
]
LEFT_OUT = "not test_preferences and not test_both_https_http_not_working"  # -k: DHT on; the WebUI on HTTPS
CONSUMER, PROVIDER = "qbittorrent-api", "qbittorrent"
USER, PASSWORD = "operator", "qbt-harness-pass-7"
# the suite's torrents fetched by URL, by the name of their conftest constants: (file name, trackers)
TORRENTS = {
    "ORIG_TORRENT": ("ubuntu-22.04.1-desktop-amd64.iso.torrent", 2),
    "TORRENT1": ("kubuntu-22.04.4-desktop-amd64.iso.torrent", 1),
    "TORRENT2": ("xubuntu-22.04.4-desktop-amd64.iso.torrent", 1),
}

PLUGIN = '''"""Written by bench/thirdparty/qbittorrent.py: the suite's torrents from the harness's own file server."""
import json
import os
from pathlib import Path

LOCAL = json.loads(os.environ["QBT_HARNESS_TORRENTS"])  # {constant prefix: {"url", "hash", "path"}}


def _patch(conftest):
    swap = {}
    for prefix, local in LOCAL.items():
        swap[getattr(conftest, prefix + "_HASH")] = local["hash"]
        swap[getattr(conftest, prefix + "_URL")] = local["url"]
        setattr(conftest, prefix + "_HASH", local["hash"])
        setattr(conftest, prefix + "_URL", local["url"])
        if hasattr(conftest, prefix + "_FILE"):
            setattr(conftest, prefix + "_FILE", Path(local["path"]).read_bytes())
    for value in list(vars(conftest).values()):  # defaults bound when conftest was imported
        func = getattr(value, "__wrapped__", value)
        if getattr(func, "__defaults__", None):
            func.__defaults__ = tuple(swap.get(d, d) if isinstance(d, str) else d for d in func.__defaults__)


def pytest_plugin_registered(plugin, manager):
    if getattr(plugin, "__name__", "").endswith("conftest") and hasattr(plugin, "TORRENT1_HASH"):
        _patch(plugin)
'''


# --- setup -------------------------------------------------------------------------------------------


def setup() -> tuple[Path, Path]:
    """qbittorrent-nox installed (never run as a service) and the suite's venv; (venv, the suite's folder)."""
    if not shutil.which(QBT):
        common.apt_install(QBT)
    venv, unpacked = common.ensure_env(HOME, PINS, f"qbittorrent-api=={CLIENT}")
    suite = HOME / "qbittorrent-api"  # the conftest asserts sys.path[0] is named so
    if unpacked != suite:
        shutil.rmtree(suite, ignore_errors=True)
        unpacked.rename(suite)
    return venv, suite


def version() -> str:
    done = subprocess.run([shutil.which(QBT) or QBT, "--version"], capture_output=True, text=True)
    return (done.stdout.split() or ["?"])[-1]


# --- the torrents --------------------------------------------------------------------------------------


def bencode(value) -> bytes:
    if isinstance(value, int):
        return b"i%de" % value
    if isinstance(value, str):
        value = value.encode()
    if isinstance(value, bytes):
        return b"%d:%s" % (len(value), value)
    if isinstance(value, list):
        return b"l" + b"".join(map(bencode, value)) + b"e"
    return b"d" + b"".join(bencode(k) + bencode(v) for k, v in sorted(value.items())) + b"e"


def make_torrents(out: Path, base_url: str) -> dict[str, dict]:
    """The suite's URL torrents made anew in `out` (the same bytes every time): one 48 MiB file each, fake piece
    hashes (no data: nothing is ever downloaded), trackers only on a closed port of 127.0.0.1 / ::1."""
    out.mkdir(parents=True, exist_ok=True)
    made = {}
    for n, (prefix, (name, trackers)) in enumerate(TORRENTS.items()):
        piece, length = 262144, 48 * 1024 * 1024
        rnd = random.Random(n)
        info = {
            "name": name.removesuffix(".torrent"),
            "length": length,
            "piece length": piece,
            "pieces": b"".join(rnd.randbytes(20) for _ in range(length // piece)),
        }
        announce = ["http://127.0.0.1:9/announce", "http://[::1]:9/announce"][:trackers]
        meta = {"announce": announce[0], "info": info, "created by": "bench/thirdparty/qbittorrent.py"}
        meta |= {"creation date": 1700000000 + n, "comment": f"harness torrent {n}"}
        if trackers > 1:
            meta["announce-list"] = [[url] for url in announce]
        path = out / name
        path.write_bytes(bencode(meta))
        digest = hashlib.sha1(bencode(info)).hexdigest()  # noqa: S324 - the info hash is SHA-1
        made[prefix] = {"url": f"{base_url}/{name}", "hash": digest, "path": str(path)}
    return made


def serve_files(stack: ExitStack, folder: Path, port: int = 0) -> str:
    """A plain HTTP file server of `folder` on 127.0.0.1 (PORT, or a free one) in a thread; its URL."""
    handler = partial(_Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    stack.callback(server.server_close)
    stack.callback(server.shutdown)
    return f"http://127.0.0.1:{server.server_address[1]}"


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


# --- qbittorrent-nox ---------------------------------------------------------------------------------


def password_pbkdf2(password: str, salt: bytes) -> str:
    """`WebUI\\Password_PBKDF2` as qBittorrent writes it: PBKDF2-HMAC-SHA512, 100,000 rounds, 64 bytes."""
    key = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, 100_000, 64)
    return f'"@ByteArray({base64.b64encode(salt).decode()}:{base64.b64encode(key).decode()})"'


def config(webui: int, peer: int, proxy: int, work: Path) -> str:
    salt = random.Random(webui).randbytes(16)
    return f"""[LegalNotice]
Accepted=true

[BitTorrent]
Session\\DHTEnabled=false
Session\\PeXEnabled=false
Session\\LSDEnabled=false
Session\\Port={peer}
Session\\Interface=lo
Session\\InterfaceName=lo
Session\\ProxyPeerConnections=true
Session\\ProxyHostnameLookup=true
Session\\DefaultSavePath={work / "downloads"}
Session\\TempPath={work / "temp"}

[Network]
PortForwardingEnabled=false
Proxy\\Type=SOCKS5
Proxy\\IP=127.0.0.1
Proxy\\Port={proxy}
Proxy\\OnlyForTorrents=true

[Preferences]
WebUI\\Enabled=true
WebUI\\Address=127.0.0.1
WebUI\\Port={webui}
WebUI\\UseUPnP=false
WebUI\\LocalHostAuth=true
WebUI\\HostHeaderValidation=false
Connection\\ResolvePeerCountries=false
WebUI\\Username={USER}
WebUI\\Password_PBKDF2={password_pbkdf2(PASSWORD, salt)}
"""


def start_qbt(stack: ExitStack, work: Path) -> str:
    """A fresh qbittorrent-nox of its own (profile, downloads, ports) in `work`; its WebUI's URL once it answers."""
    work.mkdir(parents=True, exist_ok=True)
    profile = work / "profile"
    conf = profile / "qBittorrent" / "config"
    conf.mkdir(parents=True, exist_ok=True)
    for sub in ("downloads", "temp"):
        (work / sub).mkdir(exist_ok=True)
    ports = set()
    while len(ports) < 3:
        ports.add(free_port())
    webui, peer, proxy = sorted(ports)
    (conf / "qBittorrent.conf").write_text(config(webui, peer, proxy, work))
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy") and not k.startswith("QBT")}
    env["HOME"] = str(work)
    log = work / "qbittorrent.log"
    proc = start(stack, [shutil.which(QBT) or QBT, f"--profile={profile}"], log, cwd=work, env=env)
    url = f"http://127.0.0.1:{webui}"
    wait_http(url + "/api/v2/app/version", proc, log, ok=(403,))  # not logged in: 403
    return url


# --- the suite ---------------------------------------------------------------------------------------


def run_suite(stack: ExitStack, venv: Path, suite: Path, url: str, torrents: dict, work: Path) -> dict:
    """qbittorrent-api's live tests (SUITE) against the WebUI (or recorder) at `url`."""
    plugin = work / "plugin"
    plugin.mkdir(parents=True, exist_ok=True)
    (plugin / "qbt_harness_local.py").write_text(PLUGIN)
    drop = ("PYTHONPATH", "VIRTUAL_ENV", "CI", "QBT_VER", "IS_QBT_DEV")
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.lower().endswith("_proxy")}
    env |= {
        "PYTHONPATH": str(plugin),
        "QBITTORRENTAPI_HOST": url.removeprefix("http://"),
        "QBITTORRENTAPI_USERNAME": USER,
        "QBITTORRENTAPI_PASSWORD": PASSWORD,
        "QBT_HARNESS_TORRENTS": json.dumps(torrents),
        "HOME": str(work),
    }
    args = [f"tests/{t}" for t in SUITE] + ["-k", LEFT_OUT, "-p", "qbt_harness_local"]
    args += ["--basetemp", str(work / "pytest-tmp")]
    return common.run_pytest(stack, venv / "bin" / "python", args, work, cwd=suite, env=env)


# --- the verifier ------------------------------------------------------------------------------------


def answers(message: str) -> list[str]:
    """`--secret NAME=VALUE` for each secret the refusal names: the WebUI password (its user for a user)."""
    args = []
    for name in re.findall(r"^\s+([\w.\[\]-]+): needed by", message, re.M):
        args += ["--secret", f"{name}={USER if 'user' in name.lower() else PASSWORD}"]
    return args


# --- phases ------------------------------------------------------------------------------------------


def phases(work: Path, verify_args: list[str], direct: bool) -> dict:
    seconds: dict[str, float] = {}
    with timed(seconds, "setup"):
        venv, suite = setup()
    files = work / "torrents"
    direct_run = None
    if direct:
        with timed(seconds, "direct"), ExitStack() as stack:
            torrents = make_torrents(files, serve_files(stack, files))
            url = start_qbt(stack, work / "direct" / "qbittorrent")
            direct_run = run_suite(stack, venv, suite, url, torrents, work / "direct")
    out = work / "record"
    with timed(seconds, "record"), ExitStack() as stack:
        files_url = serve_files(stack, files)
        torrents = make_torrents(files, files_url)
        target = start_qbt(stack, out / "qbittorrent")
        recorder, url, log = common.start_recorder(stack, CONSUMER, PROVIDER, target, out)
        recorded = run_suite(stack, venv, suite, url, torrents, out)
        common.finish_recording(recorder, log)
    pact = out / f"{CONSUMER}-{PROVIDER}.json"
    if not pact.is_file():
        raise RuntimeError(f"the recorder wrote no {pact.name}:\n{tail(log)}")
    files_port = int(files_url.rsplit(":", 1)[1])  # the recorded adds by URL name it
    runs: list[dict] = []
    args = ["--states-from-recording"]
    with timed(seconds, "verify"), ExitStack() as stack:
        serve_files(stack, files, files_port)
        target = start_qbt(stack, work / "verify" / "qbittorrent")
        report, outcome = common.verify_outcome(stack, pact, target, work / "verify", args)
        runs.append(outcome)
    if report is None or verify_args:  # refused (or asked for): once more with the extra, on a fresh provider
        extra = verify_args or answers(outcome["message"])
        if report is None and not extra:
            raise RuntimeError(f"verify refused (exit {outcome['exit']}):\n{outcome['message']}")
        with timed(seconds, "verify2"), ExitStack() as stack:
            serve_files(stack, files, files_port)
            target = start_qbt(stack, work / "verify2" / "qbittorrent")
            args = [*args, *extra]
            report, outcome = common.verify_outcome(stack, pact, target, work / "verify2", args)
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
    if report is None:
        raise RuntimeError(f"pact-recorder verify wrote no report (exit {runs[-1]['exit']}):\n{runs[-1]['message']}")
    return {
        "qbittorrent": version(),
        "qbittorrent_api": CLIENT,
        "pins": PINS,
        "suite": SUITE,
        "left_out": LEFT_OUT,
        "verify_args": args,
        "verify_runs": runs,
        "seconds": seconds,
        "direct": direct_run,
        "recorded": recorded,
        "transparency": same,
        "recording": common.recording_figures(pact),
        "verify": common.verify_figures(report),
        "failures": common.group_failures(report),
    }


if __name__ == "__main__":
    sys.exit(common.main("qbittorrent", __doc__, phases, sys.argv[1:], setup))
