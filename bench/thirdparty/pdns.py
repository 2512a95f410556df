"""Record PowerDNS Authoritative's HTTP API while PowerDNS's own API regression tests run, then verify the pact
against a fresh, empty server.

    .venv/bin/python bench/thirdparty/pdns.py [--keep DIR] [--json FILE] [--no-direct] [--setup-only]
        [-- VERIFY_ARGS...]

`verify` gets `--states-from-recording` and nothing else (the first contact). Where it refuses to start (exit 2:
it asks for secrets the recording redacted), that refusal and its message are the first figure, and verify runs
once more with VERIFY_ARGS (everything after `--`, which make that second run in any case). It asks for three:
the suite's API key and the two Basic credentials it sends to the webserver's password-protected pages:

    ... bench/thirdparty/pdns.py --keep DIR -- --secret x_api_key=1234567890abcdefghijklmnopq-key \
        --secret 'authorization=Basic YWRtaW46c29tZXRoaW5n' --secret 'authorization_2=Basic d2hhdGV2ZXI6c29tZXRoaW5n'

(admin:something and whatever:something, base64).

What it does, each phase timed:
  setup    PowerDNS Authoritative 4.7.3 from Debian's `pdns-server`, `pdns-backend-sqlite3` and `pdns-tools`
           (sdig; `apt-get install` when `pdns_server`, `pdnsutil` or `sdig` is missing), the suite from the
           PowerDNS repository at tag auth-4.7.3 (regression-tests.api/ and the three zone files its runtests
           loads, `git archive` from the git directory PDNS_GIT_DIR, default /work/.mirror/PowerDNS+pdns/repo,
           a clone of github.com/PowerDNS/pdns; neither PyPI nor Debian ships these tests: the release tarball
           has none) unpacked under .venv/thirdparty/pdns/src/, and a venv of its own under
           .venv/thirdparty/pdns/venv/ with requests, pytest and parameterized, pinned (PINS).
  direct   a fresh server, seeded as the suite's runtests seeds it, and the suite run straight against it
           (--no-direct leaves this out).
  record   another fresh, seeded server, `pact-recorder record --consumer pdns-api-tests --provider
           pdns-auth` in front of it, the same suite with WEBPORT set to the recorder's port; SIGTERM makes it
           write OUT/pdns-api-tests-pdns-auth.json.
  verify   a third fresh server, EMPTY (the schema only: none of the zones the suite was seeded with),
           `pact-recorder verify --states-from-recording`; then, refused, again on a fresh one with
           VERIFY_ARGS (verify2).
Then it prints the figures and the failures grouped by cause, and writes them as JSON to DIR/figures.json.

Each server: an SQLite database made from /usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql, a pdns.conf
in its own work dir (`launch=gsqlite3`, `gsqlite3-dnssec=on`, `default-soa-edit=INCEPTION-INCREMENT`, `api=yes`,
the suite's `api-key` and `webserver-password`, `webserver-address=127.0.0.1`, `webserver-allow-from=127.0.0.0/8`,
DNS on 127.0.0.1 and a free port, `dnsupdate=yes`, `cache-ttl=0`, `no-shuffle`: what runtests.py passes), run
as `pdns_server --config-dir=W --socket-dir=W --daemon=no --guardian=no --disable-syslog`. Seeded (direct,
record) as runtests.py seeds it: `pdnsutil load-zone` of example.com, powerdnssec.org and cryptokeys.org,
`pdnsutil secure-zone powerdnssec.org`, and one `sdig` query (example.com A) so that the statistics have data.

The suite (regression-tests.api/test_*.py, unchanged) is configured by runtests.py's environment: WEBPORT (the
server's, or the recorder's port), APIKEY, WEBPASSWORD, DAEMON=authoritative, BACKEND=gsqlite3, SQLITE_DB (the
server's database: some tests read the records table), PDNSUTIL_CMD (`pdnsutil --config-dir=W`: the cryptokeys
tests add and remove keys with it, one test rectifies a zone), SDIG and DNSPORT (the server's DNS port; a few
tests query over DNS, which goes straight to the server and is no part of the pact). test_helper.py imports
mysql.connector and psycopg2 at the top, used only with the gmysql and gpgsql backends: the harness puts stub
modules of those names on PYTHONPATH rather than installing the drivers. Nothing is deselected: the recursor's
tests skip themselves (DAEMON=authoritative). Every process started is stopped on the way out, on failure and
on Ctrl-C or SIGTERM too.

The API: REST over JSON under `/api/v1/servers/localhost/...`, authenticated by an `X-API-Key` header (the
webserver's `/` and `/metrics` by Basic auth); zones are `POST .../zones` with the zone's name in the body
(`{"name": "test-0704...org.", "kind": "Native", "nameservers": [...]}`, answered 201 with `"id"`: the name
with a trailing dot, `=2F` for `/`), then read, changed and deleted at `.../zones/<id>` (`PATCH` with
`rrsets` and `changetype` REPLACE/DELETE, `PUT` of the zone's metadata fields, `PUT .../rectify`,
`.../notify`, `.../axfr-retrieve`, `GET .../export`); DNSSEC keys at `.../zones/<id>/cryptokeys[/<n>]` (ids
handed out by the server), zone metadata at `.../zones/<id>/metadata/<KIND>`, TSIG keys at `.../tsigkeys`
(`POST` with the name in the body, the id derived from it), autoprimaries, `GET .../search-data?q=...`,
`.../statistics`, `.../config`; errors as `{"error": "..."}` with 400, 404, 409, 422.

First contact (PowerDNS Authoritative 4.7.3 from Debian, regression-tests.api at auth-4.7.3): 184 tests, 164
passed and 20 skipped (the recursor's) both directly and through the recorder, none failing either way; 333
exchanges, all recorded, 195 interactions (173 with a provider state). verify with `--states-from-recording`
alone refuses (exit 2) and asks for 3 secrets: `x_api_key` (341 requests), `authorization` (`GET /`, Basic
admin:something), `authorization_2` (`GET .../autoprimaries`, Basic whatever:something). With them: 61 / 195
green. Left, by class (first cause):
  - a write that names nothing, replayed into later setups and never undone, 107 (state setup): `POST
    .../autoprimaries {"ip": "192.0.2.1", "nameserver": "ns.example.com"}` answers 201 with an empty body and
    no Location; the item lives at `.../autoprimaries/<ip>/<nameserver>`, a key made of two body fields, so no
    undo deletes it, yet as "what earlier writes changed" the two recorded POSTs are steps 4 and 5 of the
    setup of nearly every later interaction (`GET .../search-data?q=...` "items exist", `PUT .../zones/test-
    ...org.` "zone exists", `POST .../tsigkeys` "values handed out by earlier responses"): the first replay
    makes it, every later one is a duplicate, which PowerDNS answers 500 (not 409, so no retry with fresh
    names), and the state fails.
  - the undo stops for the rest of the run after an action endpoint, and a name made fresh breaks an FQDN, 6
    (state setup): `PUT .../cache/flush?domain=example.org.` is read as making `/cache/flush`; its undo
    `DELETE` answers 405 and verify says once that the interactions after it start from what the ones before
    left. Zones made by `POST .../zones {"name": "test-07040747778390.org.", ...}` are then never deleted, a
    later setup replaying that POST is refused, and its retry with a fresh name sends
    `"test-07040747778390.org.-87"` (the suffix after the root dot), refused 422 "DNS Name ... is not
    canonical" (`GET .../zones/test-07040747778390.org.`, `GET .../zones/<id>/export`, `GET .../search-data`).
  - what the suite's own setup made outside the API, 19: runtests.py seeds the server with `pdnsutil
    load-zone` (example.com, powerdnssec.org, cryptokeys.org) and `secure-zone`; the recording never saw them
    made (states "no example.com. exist" and "zones exist" with `seed: no recorded request makes this`), and
    the verify server is empty, so `GET .../zones/example.com.` 200 -> 404, `GET .../zones` [] where 3 were
    listed, `PUT .../zones/example.com/metadata/NSEC3PARAM` 422 -> 404, `POST .../zones/powerdnssec.org./
    metadata` 201 -> 404.
  - a conflict without its cause, 2: `POST .../zones` and `POST .../tsigkeys` answered 409 (the name in the
    body taken by the test's previous POST) get no state; the fresh server makes it (201).
Behind the first class (measured by hand: verify with `--reset-command` starting this server afresh and empty
for each interaction, 165 / 195): 9 cryptokeys made mid-test by `pdnsutil add-zone-key` (out of band), then
changed and deleted through the API by the id the key got (`PUT .../zones/<zone>/cryptokeys/11` 204 ->
404, read as "cryptokey does not exist": a PUT by a server-given id taken for a creation), and the 21 above.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from common import ROOT, free_port, start, tail, timed, wait_http  # noqa: E402

TAG = "auth-4.7.3"  # Debian bookworm's pdns-server is 4.7.3
GIT_DIR = Path(os.environ.get("PDNS_GIT_DIR", "/work/.mirror/PowerDNS+pdns/repo"))
ZONES = ["example.com", "powerdnssec.org", "cryptokeys.org"]  # what runtests.py loads
PATHS = ["regression-tests.api", *(f"regression-tests/zones/{z}" for z in ZONES)]
PINS = [
    "requests==2.34.2",
    "urllib3==2.8.0",
    "idna==3.21",
    "certifi==2026.10.19.post1",
    "charset-normalizer==3.5.2",
    "parameterized==0.9.0",
    "pytest==9.2.0",
    "pluggy==1.7.0",
    "iniconfig==2.3.1",
    "packaging==26.4",
    "Pygments==2.21.0",
]
HOME = ROOT / ".venv" / "thirdparty" / "pdns"
VENV = HOME / "venv"
SRC = HOME / "src"
TESTS = SRC / "regression-tests.api"
SCHEMA = Path("/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql")
APIKEY = "1234567890abcdefghijklmnopq-key"  # runtests.py's
WEBPASSWORD = "something"  # runtests.py's; test_helper.py also hard-codes it
CONSUMER, PROVIDER = "pdns-api-tests", "pdns-auth"
BINARIES = {"pdns_server": "pdns-server", "pdnsutil": "pdns-server", "sdig": "pdns-tools"}

STUB = '''"""Written by bench/thirdparty/pdns.py: test_helper.py imports this driver; gsqlite3 never uses it."""


def connect(*args, **kwargs):
    raise RuntimeError("bench/thirdparty/pdns.py: only the gsqlite3 backend is set up")
'''


# --- setup -------------------------------------------------------------------------------------------


def setup() -> None:
    """PowerDNS on PATH, the suite's source at TAG and its venv."""
    missing = {pkg for binary, pkg in BINARIES.items() if not shutil.which(binary)}
    if missing or not SCHEMA.is_file():
        common.apt_install("pdns-server", "pdns-backend-sqlite3", "pdns-tools")
    stamp = HOME / ".installed"
    want = "\n".join([TAG, *PINS])
    if stamp.is_file() and stamp.read_text() == want and (TESTS / "test_Zones.py").is_file():
        return
    if not (GIT_DIR / "HEAD").is_file():
        sys.exit(f"harness: no PowerDNS git directory at {GIT_DIR}: set PDNS_GIT_DIR to (the .git of) a clone of "
                 "https://github.com/PowerDNS/pdns that has the tag " + TAG)  # fmt: skip
    print(f"setup: {TAG}:{{{','.join(PATHS)}}} and {', '.join(PINS)} into {HOME.relative_to(ROOT)}", flush=True)
    shutil.rmtree(HOME, ignore_errors=True)
    SRC.mkdir(parents=True)
    archive = subprocess.run(["git", "--git-dir", str(GIT_DIR), "archive", TAG, *PATHS], capture_output=True)
    if archive.returncode:
        sys.exit(f"harness: git archive {TAG} failed:\n{archive.stderr.decode(errors='replace')}")
    subprocess.run(["tar", "-x", "-C", str(SRC)], input=archive.stdout, check=True)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    common.pip(VENV / "bin" / "python", "install", *PINS)
    stamp.write_text(want)


# --- the server --------------------------------------------------------------------------------------


def start_pdns(stack: ExitStack, work: Path, seeded: bool) -> dict:
    """A fresh pdns_server in `work` (its database made from the schema; `seeded`: the suite's zones loaded as
    runtests.py loads them); its URL, DNS port, config dir and database once the webserver answers."""
    work.mkdir(parents=True, exist_ok=True)
    db = work / "pdns.sqlite3"
    with sqlite3.connect(db) as conn:
        conn.executescript(SCHEMA.read_text())
    conn.close()
    web, dns = free_port(), free_port()
    conf = f"""# Written by bench/thirdparty/pdns.py
launch=gsqlite3
gsqlite3-database={db}
gsqlite3-dnssec=on
default-soa-edit=INCEPTION-INCREMENT
loglevel=5
api=yes
api-key={APIKEY}
webserver=yes
webserver-address=127.0.0.1
webserver-port={web}
webserver-allow-from=127.0.0.0/8
webserver-password={WEBPASSWORD}
local-address=127.0.0.1
local-port={dns}
dnsupdate=yes
cache-ttl=0
no-shuffle=yes
"""
    (work / "pdns.conf").write_text(conf)
    pdnsutil = [shutil.which("pdnsutil"), f"--config-dir={work}"]
    if seeded:
        zones = TESTS.parent / "regression-tests" / "zones"
        for cmd in [*(["load-zone", z, str(zones / z)] for z in ZONES), ["secure-zone", "powerdnssec.org"]]:
            done = subprocess.run([*pdnsutil, *cmd], capture_output=True, text=True, cwd=work)
            if done.returncode:
                raise RuntimeError(f"pdnsutil {' '.join(cmd)} failed:\n{done.stdout}{done.stderr}")
    cmd = [shutil.which("pdns_server"), f"--config-dir={work}", f"--socket-dir={work}"]
    cmd += ["--daemon=no", "--guardian=no", "--disable-syslog"]
    log = work / "pdns.log"
    proc = start(stack, cmd, log, cwd=work)
    url = f"http://127.0.0.1:{web}"
    wait_http(url + "/", proc, log, ok=(200, 401))
    if seeded:  # runtests.py: "Query for example.com/A to create statistic data"
        subprocess.run([shutil.which("sdig"), "127.0.0.1", str(dns), "example.com", "A"], capture_output=True)
    return {"url": url, "dns": dns, "work": work, "db": db, "pdnsutil": pdnsutil}


# --- the suite ---------------------------------------------------------------------------------------


def run_suite(stack: ExitStack, work: Path, server: dict, web_port: int) -> dict:
    """regression-tests.api against the API at 127.0.0.1:web_port (the server's, or the recorder's)."""
    stubs = work / "stubs"
    (stubs / "mysql").mkdir(parents=True, exist_ok=True)
    (stubs / "mysql" / "__init__.py").write_text("")
    (stubs / "mysql" / "connector.py").write_text(STUB)
    (stubs / "psycopg2.py").write_text(STUB)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env |= {
        "PYTHONPATH": str(stubs),
        "WEBPORT": str(web_port),
        "WEBPASSWORD": WEBPASSWORD,
        "APIKEY": APIKEY,
        "DAEMON": "authoritative",
        "BACKEND": "gsqlite3",
        "SQLITE_DB": str(server["db"]),
        "PDNSUTIL_CMD": " ".join(server["pdnsutil"]),
        "SDIG": shutil.which("sdig"),
        "DNSPORT": str(server["dns"]),
    }
    tests = sorted(str(p) for p in TESTS.glob("test_*.py"))
    args = [*tests, "--rootdir", str(TESTS)]
    return common.run_pytest(stack, VENV / "bin" / "python", args, work, cwd=server["work"], env=env)


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1].split("/")[0])


# --- phases ------------------------------------------------------------------------------------------


def phases(work: Path, verify_args: list[str], direct: bool) -> dict:
    seconds: dict[str, float] = {}
    with timed(seconds, "setup"):
        setup()
    version = subprocess.run([shutil.which("pdns_server"), "--version"], capture_output=True, text=True)
    version = next((w for w in (version.stdout + version.stderr).split() if w[:1].isdigit() and "." in w), "?")
    direct_run = None
    if direct:
        with timed(seconds, "direct"), ExitStack() as stack:
            server = start_pdns(stack, work / "direct" / "pdns", seeded=True)
            direct_run = run_suite(stack, work / "direct", server, port_of(server["url"]))
    out = work / "record"
    out.mkdir(parents=True, exist_ok=True)
    with timed(seconds, "record"), ExitStack() as stack:
        server = start_pdns(stack, out / "pdns", seeded=True)
        recorder, url, log = common.start_recorder(stack, CONSUMER, PROVIDER, server["url"], out)
        recorded = run_suite(stack, out, server, port_of(url))
        common.finish_recording(recorder, log)
    pact = out / f"{CONSUMER}-{PROVIDER}.json"
    if not pact.is_file():
        raise RuntimeError(f"the recorder wrote no {pact.name}:\n{tail(log)}")
    runs: list[dict] = []
    args = ["--states-from-recording"]
    with timed(seconds, "verify"), ExitStack() as stack:
        server = start_pdns(stack, work / "verify" / "pdns", seeded=False)
        report, outcome = common.verify_outcome(stack, pact, server["url"], work / "verify", args)
        runs.append(outcome)
    if report is None or verify_args:  # refused (or asked for): once more with VERIFY_ARGS, on a fresh server
        if report is None and not verify_args:
            raise RuntimeError(f"verify refused (exit {outcome['exit']}); pass what it asks for after `--`:\n"
                               + outcome["message"])  # fmt: skip
        with timed(seconds, "verify2"), ExitStack() as stack:
            server = start_pdns(stack, work / "verify2" / "pdns", seeded=False)
            args = [*args, *verify_args]
            report, outcome = common.verify_outcome(stack, pact, server["url"], work / "verify2", args)
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
        "pdns": version,
        "suite": f"PowerDNS/pdns {TAG} regression-tests.api",
        "pins": PINS,
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
    sys.exit(common.main("pdns", __doc__, phases, sys.argv[1:], setup))
