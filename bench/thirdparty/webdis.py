"""Record webdis (Redis over HTTP) while webdis' own test suite runs against it, then verify the pact against a
fresh, empty webdis in front of a fresh, empty Redis.

    .venv/bin/python bench/thirdparty/webdis.py [--keep DIR] [--json FILE] [--no-direct] [-- VERIFY_ARGS...]

`verify` gets `--states-from-recording` and nothing else (the first contact). Where it refuses to start (exit 2:
a secret it needs), that refusal and its message are the first figure, and the harness stops with it unless
VERIFY_ARGS (everything after `--`) are given; given, they make a second verify run on another fresh pair with
them added (verify2).

What it does, each phase timed:
  setup    Debian's `webdis` (0.1.9+dfsg, the provider) and `redis-server` (7.0, behind it), with `apt-get
           install` when missing, under the policy-rc.d that denies service starts (neither system service is
           ever started or used); a venv of its own under .venv/thirdparty/webdis/ (this Python) with pytest,
           msgpack and websocket-client, pinned; and webdis' tests/basic.py at tag TAG, read out of a git copy
           of webdis' repository (github.com/nicolasff/webdis: the tests ship in no package), found at
           $WEBDIS_GIT (a clone or a git dir) or at MIRROR, and written to .venv/thirdparty/webdis/tests/.
  direct   a fresh Redis and a fresh webdis in front of it, and the suite run straight against webdis
           (--no-direct leaves this out).
  record   another fresh Redis and webdis, `pact-recorder record --consumer webdis-tests --provider webdis` in
           front of webdis, the same suite pointed at the recorder; SIGTERM makes it write
           OUT/webdis-tests-webdis.json.
  verify   a third fresh Redis (empty: no key, in any database) and webdis, `pact-recorder verify
           --states-from-recording`; then, with VERIFY_ARGS, again on a fresh pair with them (verify2).
Then it prints the figures and the failures grouped by cause, and writes them as JSON to DIR/figures.json.

Each Redis is `redis-server --bind 127.0.0.1 --port PORT --save '' --appendonly no --dir WORK` (nothing
persisted, nothing loaded); each webdis is `webdis CONFIG`, a JSON config of the harness's in its work dir:
`redis_host` 127.0.0.1 and that Redis' port, `http_host` 127.0.0.1 and a free `http_port`, `daemonize` false,
`websockets` false, `database` 0, and the ACL of webdis' own webdis.json (what its tests were written against):
DEBUG disabled for everyone, enabled for HTTP Basic `user:password`. Every port is a free one; every server binds
127.0.0.1 only. Every process started is stopped on the way out, on failure and on Ctrl-C or SIGTERM too.

The API: a Redis command as path segments, `GET /CMD/arg1/arg2...` (`/SET/hello/world`, `/GET/hello`,
`/LRANGE/hello/0/-1`, `/RPUSH/hello/a/b/c`), optionally prefixed by a database number (`/1/SET/key/val1`) and
suffixed by an output format (`.json`, the default: `{"CMD": reply}`; `.raw`: the Redis protocol as is; `.txt`
with `?sep=`; `.msg`: msgpack); an ETag of the body's md5 and `If-None-Match` answered 304; errors as
`{"CMD": [false, "ERR ..."]}` with 200.

The suite: webdis' tests/basic.py as of TAG (unittest, run by pytest; `WEBDIS_HOST`/`WEBDIS_PORT` from the
environment, which the harness sets: the file is not changed). 0.1.9's own basic.py is Python 2 (urllib2, str
bodies), which bookworm cannot run; 0.1.10 converted it to Python 3 unchanged otherwise, and TAG's adds one ETag
test and a pub/sub class the suite itself skips ("Fails in GitHub actions"). Kept skipped: the pub/sub tests
pass straight against 0.1.9 but hang through the recorder (a SUBSCRIBE answer is a chunked stream that never ends;
the recorder passes a response on once it is whole, so the subscriber never sees its confirmation). Left out:
tests/ws-tests.py (websockets: against 0.1.9 the connection is dropped after the first frame or the test hangs;
its tests were written for the websocket rewrite of 0.1.19) and tests/limits.py (1 GB URLs and uploads: a stress
test of webdis' limits, not of its API). The 5 TestMsgPack tests fail both ways: Debian's build has no msgpack
support, so `.msg` is no format to it but part of the last argument (`/SET/hello/world.msg` sets "world.msg"), and
the answer is JSON.

Why this client: webdis' own tests are the only live-server tests of its API that exist; no client library of
webdis with a test suite is packaged.

First contact (webdis 0.1.9+dfsg-1.1, redis-server 7.0.15, basic.py of 0.1.23): 25 tests, 18 passed both directly
and through the recorder, the same 5 failing both ways (TestMsgPack) and the suite's 2 pub/sub tests skipped: the
proxy is transparent. 51 exchanges, 51 recorded, 29 interactions (13 with a provider state); verify with
`--states-from-recording` alone runs (it asks for nothing: no test sends credentials, the ACL's Basic user is never
used): 19 / 29 green. Left, by class (two general gaps of a command-in-the-path API whose every call is a GET):
(1) 7: a value written by one path and read back by another is no state when the write is a GET. `/SET/hello/world`,
`/0/SET/key/val0`, `/RPUSH/hello/abc` write (the key and the value are path segments after a command segment);
`/GET/hello`, `/GET/hello.txt`, `/0/GET/key.txt`, `/LRANGE/hello/0/-1` read, sharing only the key segment with
the write. The recorder takes every GET as a read, so it sees no write to set up: the reads get no state, or one
made from path segments with no setup ("no recorded request makes this"), and the empty Redis answers `GET
/GET/hello` `{"GET":null}` (recorded `{"GET":"world"}`), `GET /GET/hello.txt` and `GET /0/GET/key.txt` ("item
exists" {item: 0}: the database number taken as an id) 404 for 200 "world" / "val0", `GET /GET/hello.txt` with
`If-None-Match` of the ETag an earlier answer handed out (its state "values handed out by earlier responses")
404 for 304: the ETag is found as handed out, the write of the content it hashes is not. (2) 3: the side effects
of those unseen writes leak from one interaction into the next. verify replays the interactions one after
another on one provider and undoes only what it knows it wrote; `GET /INCR/hello` (earlier in its order) leaves
`hello` a string, so `GET /RPUSH/hello/abc`, `/RPUSH/hello/def` and `/RPUSH/hello/a/b/c` answer
`{"RPUSH":[false,"WRONGTYPE Operation against a key holding the wrong kind of value"]}` for an integer (and
`/LRANGE/hello/0/-1`, class 1 too, the same error for `["abc","def"]`). Each test sent `GET /DEL/hello` first
in the recording; that precondition ("hello absent, or a list") became an interaction of its own, not a state
of the ones after it. The states that were named are artefacts of reading a command path as collection/item:
"world exist" for `/SET/hello/world` (its last segment taken as a resource, the reply as its data), "item
exists" {item: 0 | 1} for the database prefix, "hello exists" {hello: 0} for `/LRANGE/hello/0/-1` (the range
start taken as an id, the path matched by `[0-9]+`); none has a setup, so each request goes out as recorded.
Green by the matchers rather than by evidence: 8 of the 19 check no body content (5 `.raw` answers,
binary/octet-stream, kept with no body; `{"GET":null}` kept as `{}`; the two `LRANGE .txt` bodies matched by
type, green with `-WRONGTYPE ...`), and webdis' `[true, "OK"]` is matched as an array of boolean-or-string, which
its error reply `[false, "ERR ..."]` also is.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from common import ROOT, free_port, start, tail, timed, wait_http  # noqa: E402

TAG = "0.1.23"  # webdis' newest release; its basic.py is 0.1.9's suite in Python 3, plus one ETag test
SUITE = ["tests/basic.py"]
MIRROR = Path("/work/.mirror/nicolasff+webdis/repo")  # where a session's copy of the repository is kept
PINS = [
    "pytest==9.2.0",
    "pluggy==1.7.0",
    "iniconfig==2.3.1",
    "packaging==26.4",
    "Pygments==2.21.0",
    "msgpack==1.2.4",  # TestMsgPack runs only when msgpack imports
    "websocket-client==1.9.2",  # tests/requirements.txt
]
HOME = ROOT / ".venv" / "thirdparty" / "webdis"
VENV = HOME / "venv"
TESTS = HOME / "tests"
CONSUMER, PROVIDER = "webdis-tests", "webdis"
ACL = [{"disabled": ["DEBUG"]}, {"http_basic_auth": "user:password", "enabled": ["DEBUG"]}]  # webdis.json's


# --- setup -------------------------------------------------------------------------------------------


def repository() -> Path:
    """A git copy of webdis' repository that has TAG: $WEBDIS_GIT, else MIRROR."""
    for where in (os.environ.get("WEBDIS_GIT"), MIRROR):
        if where and Path(where).exists():
            done = subprocess.run(["git", "-C", where, "rev-parse", "-q", "--verify", f"{TAG}^{{commit}}"],
                                  capture_output=True, text=True)  # fmt: skip
            if not done.returncode:
                return Path(where)
    sys.exit(f"harness: webdis' tests ship in no package; point WEBDIS_GIT at a clone of "
             f"github.com/nicolasff/webdis that has tag {TAG} (looked at $WEBDIS_GIT and {MIRROR})")  # fmt: skip


def setup() -> None:
    """webdis and redis-server installed (never run as services), the suite's venv, and the suite's files."""
    if not (shutil.which("webdis") and shutil.which("redis-server")):
        common.apt_install("webdis", "redis-server")
    stamp = HOME / ".installed"
    want = "\n".join([*PINS, TAG, *SUITE])
    if stamp.is_file() and stamp.read_text() == want and all((HOME / s).is_file() for s in SUITE):
        return
    git = repository()
    print(f"setup: installing {', '.join(PINS)} into {HOME.relative_to(ROOT)}", flush=True)
    shutil.rmtree(HOME, ignore_errors=True)
    HOME.mkdir(parents=True)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    common.pip(VENV / "bin" / "python", "install", *PINS)
    TESTS.mkdir()
    for path in SUITE:
        text = subprocess.run(["git", "-C", str(git), "show", f"{TAG}:{path}"], capture_output=True, check=True)
        (HOME / path).write_bytes(text.stdout)
    stamp.write_text(want)


def versions() -> dict:
    def of(package: str) -> str:
        done = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", package], capture_output=True, text=True)
        return done.stdout.strip() or "?"

    return {"webdis": of("webdis"), "redis": of("redis-server")}


# --- Redis and webdis --------------------------------------------------------------------------------


def wait_redis(port: int, proc: subprocess.Popen, log: Path) -> None:
    """Poll Redis with PING until it answers +PONG; fail at once if it died."""
    deadline = time.monotonic() + common.READY_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"redis-server exited with {proc.returncode} before serving:\n{tail(log)}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                if s.recv(64).startswith(b"+PONG"):
                    return
        except OSError:
            pass
        time.sleep(0.05)  # poll interval, not synchronisation
    raise RuntimeError(f"redis-server on {port} did not answer within {common.READY_SECONDS}s:\n{tail(log)}")


def start_pair(stack: ExitStack, work: Path) -> str:
    """A fresh, empty Redis and a fresh webdis in front of it, both on free ports of 127.0.0.1; webdis' URL."""
    work.mkdir(parents=True, exist_ok=True)
    redis_port, http_port = free_port(), free_port()
    cmd = [shutil.which("redis-server"), "--bind", "127.0.0.1", "--port", str(redis_port), "--save", ""]
    cmd += ["--appendonly", "no", "--dir", str(work), "--daemonize", "no"]
    log = work / "redis.log"
    wait_redis(redis_port, start(stack, cmd, log, cwd=work), log)
    config = {
        "redis_host": "127.0.0.1",
        "redis_port": redis_port,
        "redis_auth": None,
        "http_host": "127.0.0.1",
        "http_port": http_port,
        "threads": 2,
        "pool_size": 10,
        "daemonize": False,
        "websockets": False,
        "database": 0,
        "acl": ACL,
        "verbosity": 4,
        "logfile": str(work / "webdis.log"),
    }
    (work / "webdis.json").write_text(json.dumps(config, indent=2) + "\n")
    url = f"http://127.0.0.1:{http_port}"
    log = work / "webdis.out"
    wait_http(url + "/PING", start(stack, [shutil.which("webdis"), str(work / "webdis.json")], log, cwd=work), log)
    return url


# --- the suite ---------------------------------------------------------------------------------------


def run_suite(stack: ExitStack, url: str, work: Path) -> dict:
    """webdis' basic.py against `url` (its host and port through WEBDIS_HOST / WEBDIS_PORT)."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env |= {"WEBDIS_HOST": host, "WEBDIS_PORT": port}
    args = [str(HOME / s) for s in SUITE] + ["--rootdir", str(work)]
    return common.run_pytest(stack, VENV / "bin" / "python", args, work, cwd=work, env=env)


# --- phases ------------------------------------------------------------------------------------------


def phases(work: Path, verify_args: list[str], direct: bool) -> dict:
    seconds: dict[str, float] = {}
    with timed(seconds, "setup"):
        setup()
    direct_run = None
    if direct:
        with timed(seconds, "direct"), ExitStack() as stack:
            url = start_pair(stack, work / "direct" / "servers")
            direct_run = run_suite(stack, url, work / "direct")
    out = work / "record"
    with timed(seconds, "record"), ExitStack() as stack:
        url = start_pair(stack, out / "servers")
        recorder, proxy, log = common.start_recorder(stack, CONSUMER, PROVIDER, url, out)
        recorded = run_suite(stack, proxy, out)
        common.finish_recording(recorder, log)
    pact = out / f"{CONSUMER}-{PROVIDER}.json"
    if not pact.is_file():
        raise RuntimeError(f"the recorder wrote no {pact.name}:\n{tail(log)}")
    runs: list[dict] = []
    args = ["--states-from-recording"]
    with timed(seconds, "verify"), ExitStack() as stack:
        url = start_pair(stack, work / "verify" / "servers")
        report, outcome = common.verify_outcome(stack, pact, url, work / "verify", args)
        runs.append(outcome)
    if report is None or verify_args:  # refused (or asked for): once more with VERIFY_ARGS, on a fresh pair
        if report is None and not verify_args:
            raise RuntimeError(f"verify refused (exit {outcome['exit']}); pass what it asks for after `--`:\n"
                               + outcome["message"])  # fmt: skip
        with timed(seconds, "verify2"), ExitStack() as stack:
            url = start_pair(stack, work / "verify2" / "servers")
            args = [*args, *verify_args]
            report, outcome = common.verify_outcome(stack, pact, url, work / "verify2", args)
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
        **versions(),
        "suite_tag": TAG,
        "suite": SUITE,
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
    sys.exit(common.main("webdis", __doc__, phases, sys.argv[1:], setup))
