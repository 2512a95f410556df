"""Record OpenStack Swift (object storage, tempauth) while python-swiftclient's own functional tests run, then verify
the pact against a fresh, empty Swift.

    .venv/bin/python bench/thirdparty/swift.py [--keep DIR] [--json FILE] [--no-direct] [-- VERIFY_ARGS...]

`verify` gets `--states-from-recording` and nothing else (the first contact). VERIFY_ARGS (everything after `--`)
make a second verify run on another fresh Swift with them added (verify2); a refusal (exit 2) without them stops
the harness with verify's message.

What it does, each phase timed:
  setup    a venv of its own under .venv/thirdparty/swift/ with Swift (the provider, from PyPI: its servers,
           swift-ring-builder, the WSGI middlewares) and python-swiftclient (the consumer), pinned with what they
           resolve to, and pytest; python-swiftclient's sdist unpacked beside it (its functional tests ship only
           there: test/functional).
  direct   a fresh Swift and the suite run straight against it (--no-direct leaves this out).
  record   another fresh Swift, `pact-recorder record --consumer python-swiftclient --provider swift` in front of
           its proxy, the same tests pointed at the recorder; SIGTERM makes it write OUT/python-swiftclient-swift.json.
  verify   a third fresh Swift (empty: no account, container or object, another token key), `pact-recorder verify
           --states-from-recording`; then, refused or given VERIFY_ARGS, again on a fresh Swift (verify2).
Then it prints the figures and the failures grouped by cause, and writes them as JSON to DIR/figures.json.

A fresh Swift is an all-in-one of four servers in a folder of its own, each a single process (`workers = 0`) on
127.0.0.1 and a free port: account, container and object servers sharing one device folder (`mount_check =
false`; the object server keeps metadata in user xattrs, which the folder's file system must allow: the harness
checks), three rings built with swift-ring-builder (1 replica, one device each, the servers' ports in them), and
the proxy with SAIO's middleware pipeline less what needs memcached (no `cache`, no container_sync): tempauth with
the users Swift's functional tests expect (test:tester/testing .admin, ...) and fernet tokens (a key of its own
per Swift, so no memcached: tempauth needs one or the other), `account_autocreate`. The daemons (replicators,
updaters, auditors) do not run: one replica, and the suite reads no counts that only they update.

How the suite is pointed at the server: test/functional/__init__.py reads the INI file named by
SWIFT_TEST_CONFIG_FILE; the harness writes one (`auth_uri = URL/auth/v1.0`, account test, user tester, password
testing). `GET /auth/v1.0` with X-Auth-User / X-Auth-Key answers the token in X-Auth-Token and the account's URL
in X-Storage-Url, which tempauth builds from the request's Host: the recorder (reverse mode) keeps the consumer's
Host, so the storage URL names the recorder and every later request goes through it. Only test_swiftclient.py runs
(test_openstacksdk.py and test_openstackclient.py need openstacksdk and python-openstackclient; left out, as are
the keystone classes, which the suite itself skips under v1 auth). No test file is changed. Every process
started is stopped on the way out, on failure and on Ctrl-C or SIGTERM too.

First contact (Swift 2.38.3, python-swiftclient 4.11.0): test_swiftclient.py has 54 tests, 36 of them the
keystone classes that skip under v1 auth; 18 pass directly, 17 through the recorder: the one not transparent is
test_post_object_unicode_header_name, whose header name `x-object-meta-\U0001f44d` (UTF-8 bytes) the recorder's
proxy refuses with 400 (mitmproxy's validate_inbound_headers) where Swift answers 202, so it is not recorded
either. The storage URL names the recorder (reverse mode keeps the Host), and the pact matches it with a
host-free regex. 267 exchanges, 36 interactions (34 with a provider state): 4 / 36 green, and verify asks for
nothing it can use: it exits 1 and hints `--secret x_auth_token_N=VALUE` (13 names, one per login: every
`GET /auth/v1.0` hands out a new token), yet it did fetch every token fresh. The 4: the auth GET, GET /info and
the two GETs recorded as 401 with a bad token. Left, by class: (1) 32 / 36: one request header filled by two
generators under two spellings, `X-Auth-Token` from the secret issued by the auth response's header and
`x-auth-token` from the "values handed out by earlier responses" state's param (`xAuthToken`, recorded
`<redacted>`); the Pact verifier adds the second as another header line, both with the fresh token, and Swift's
WSGI server joins repeated headers into `T,T`, so every authorised call answers 401. With the lower-case
generator taken out of the pact by hand, the same verify gives 20 / 36 and shows what was behind it: (2) 14: a
time in a response header seen once per interaction pinned exact (`X-Timestamp: 1796618799.56030`, epoch seconds
of the account's or container's creation; `X-Copied-From-Last-Modified`, an HTTP date in a header no rule knows);
(3) 2: `DELETE` of an object recorded 404 (its container deleted under it by test_delete) given "item exists"
and "authTest does not exist": the object is made first, so the undo DELETE of its container is refused (409, not
empty) and the object is there (204); (4) 1 of the 14 as well: `HEAD /v1/AUTH_test` expects
`X-Account-Meta-Data`, which an earlier `POST /v1/AUTH_test` set through a request header; the state's setup makes
the containers only. Also seen: the password of the v1 login (`X-Auth-Key: testing`) is kept in clear in the pact
and the states file.
"""

from __future__ import annotations

import base64
import getpass
import os
import shutil
import subprocess
import sys
import tarfile
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from common import ROOT, free_port, start, tail, timed, wait_http  # noqa: E402

SWIFT = "2.38.3"
SWIFTCLIENT = "4.11.0"
PINS = [
    f"swift=={SWIFT}",
    f"python-swiftclient=={SWIFTCLIENT}",
    "eventlet==0.41.3",
    "greenlet==3.5.6",
    "PasteDeploy==3.1.0",
    "lxml==6.2.1",
    "requests==2.34.2",
    "urllib3==2.8.0",
    "idna==3.21",
    "charset-normalizer==3.5.3",
    "certifi==2026.10.19.post1",
    "xattr==1.3.1",
    "pyeclib==1.8.0",
    "cryptography==51.0.1",
    "cffi==2.1.1",
    "pycparser==3.12",
    "dnspython==2.9.2",
    "pytest==9.2.0",
    "pluggy==1.7.0",
    "iniconfig==2.3.1",
    "packaging==26.4",
    "Pygments==2.21.0",
]
SDIST = f"python-swiftclient=={SWIFTCLIENT}"
HOME = ROOT / ".venv" / "thirdparty" / "swift"
VENV = HOME / "venv"
BIN = VENV / "bin"
SUITE = ["test/functional/test_swiftclient.py"]
CONSUMER, PROVIDER = "python-swiftclient", "swift"
USERS = {  # tempauth's users, as Swift's own functional tests (test/sample.conf) expect them
    "user_admin_admin": "admin .admin .reseller_admin",
    "user_test_tester": "testing .admin",
    "user_test_tester2": "testing2 .admin",
    "user_test_tester3": "testing3",
    "user_test2_tester2": "testing2 .admin",
    "user_test5_tester5": "testing5 service",
}
PIPELINE = (  # SAIO's proxy pipeline without what needs memcached (cache, container_sync)
    "catch_errors gatekeeper healthcheck proxy-logging listing_formats bulk tempurl ratelimit crossdomain "
    "tempauth staticweb copy container-quotas account-quotas slo dlo versioned_writes symlink proxy-logging "
    "proxy-server"
)
FILTERS = {  # [filter:NAME] -> egg entry point
    "catch_errors": "catch_errors",
    "gatekeeper": "gatekeeper",
    "healthcheck": "healthcheck",
    "proxy-logging": "proxy_logging",
    "listing_formats": "listing_formats",
    "bulk": "bulk",
    "tempurl": "tempurl",
    "ratelimit": "ratelimit",
    "crossdomain": "crossdomain",
    "staticweb": "staticweb",
    "copy": "copy",
    "container-quotas": "container_quotas",
    "account-quotas": "account_quotas",
    "slo": "slo",
    "dlo": "dlo",
    "versioned_writes": "versioned_writes",
    "symlink": "symlink",
}


# --- setup -------------------------------------------------------------------------------------------


def setup() -> Path:
    """The venv under HOME with PINS and the client's sdist unpacked beside it, once per pin set; the sdist dir."""
    stamp = HOME / ".installed"
    want = "\n".join([*PINS, SDIST])
    found = sorted(p for p in HOME.glob("python_swiftclient-*") if (p / "test" / "functional").is_dir())
    if stamp.is_file() and stamp.read_text() == want and found and (BIN / "swift-proxy-server").is_file():
        return found[0]
    print(f"setup: installing {', '.join(PINS)} into {HOME.relative_to(ROOT)}", flush=True)
    shutil.rmtree(HOME, ignore_errors=True)
    HOME.mkdir(parents=True)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    common.pip(BIN / "python", "install", *PINS)
    common.pip(Path(sys.executable), "download", "--no-binary", ":all:", "--no-deps", "-d", str(HOME), SDIST)
    (archive,) = HOME.glob("*.tar.gz")
    with tarfile.open(archive) as tar:
        tar.extractall(HOME, filter="data")
    (unpacked,) = (p for p in HOME.glob("python_swiftclient-*") if (p / "test" / "functional").is_dir())
    stamp.write_text(want)
    return unpacked


def check_xattrs(folder: Path) -> None:
    """The object server keeps an object's metadata in user xattrs: fail clearly where the folder has none."""
    probe = folder / ".xattr-probe"
    probe.write_bytes(b"")
    try:
        os.setxattr(probe, "user.swift.probe", b"1")
    except OSError as e:
        raise RuntimeError(f"{folder}'s file system refuses user xattrs ({e}); Swift's object server needs them: "
                           "give --keep a folder on one that allows them (ext4, xfs, tmpfs)") from None  # fmt: skip
    finally:
        probe.unlink()


# --- Swift -------------------------------------------------------------------------------------------


def _ini(sections: dict[str, dict[str, str]]) -> str:
    return "".join(
        f"[{name}]\n" + "".join(f"{k} = {v}\n" for k, v in body.items()) + "\n" for name, body in sections.items()
    )


def start_swift(stack: ExitStack, work: Path) -> str:
    """A fresh all-in-one Swift in `work` (rings, confs, one device, four servers on free ports); its proxy's URL
    once /healthcheck answers and the servers behind it are up."""
    etc, dev, run = work / "etc", work / "srv", work / "run"
    for d in (etc, dev / "d1", run):
        d.mkdir(parents=True, exist_ok=True)
    check_xattrs(dev / "d1")
    (etc / "swift.conf").write_text(_ini({
        "swift-hash": {"swift_hash_path_prefix": "harness", "swift_hash_path_suffix": "harness"},
        "storage-policy:0": {"name": "gold", "default": "yes"},
    }))  # fmt: skip
    common_conf = {
        "devices": str(dev),
        "mount_check": "false",
        "disable_fallocate": "true",
        "bind_ip": "127.0.0.1",
        "workers": "0",
        "swift_dir": str(etc),
        "user": getpass.getuser(),
        "log_level": "INFO",
        "recon_cache_path": str(run),
    }
    ports = {}
    for server in ("account", "container", "object"):
        port = ports[server] = free_port()
        builder = etc / f"{server}.builder"
        for cmd in (["create", "10", "1", "1"], ["add", f"r1z1-127.0.0.1:{port}/d1", "1"], ["rebalance"]):
            done = subprocess.run([str(BIN / "swift-ring-builder"), str(builder), *cmd], capture_output=True, text=True)
            if done.returncode not in (0, 1):  # 1: a warning (rebalance of a one-device ring)
                raise RuntimeError(f"swift-ring-builder {builder.name} {' '.join(cmd)}:\n{done.stdout}{done.stderr}")
        conf = etc / f"{server}-server.conf"
        conf.write_text(_ini({
            "DEFAULT": common_conf | {"bind_port": str(port)},
            "pipeline:main": {"pipeline": f"healthcheck {server}-server"},
            f"app:{server}-server": {"use": f"egg:swift#{server}"},
            "filter:healthcheck": {"use": "egg:swift#healthcheck"},
        }))  # fmt: skip
        log = work / f"{server}.log"
        proc = start(stack, [str(BIN / f"swift-{server}-server"), str(conf), "-v"], log, cwd=work)
        wait_http(f"http://127.0.0.1:{port}/healthcheck", proc, log)
    key = base64.urlsafe_b64encode(os.urandom(32)).decode()
    port = free_port()
    conf = etc / "proxy-server.conf"
    conf.write_text(_ini({
        "DEFAULT": common_conf | {"bind_port": str(port)},
        "pipeline:main": {"pipeline": PIPELINE},
        "app:proxy-server": {"use": "egg:swift#proxy", "allow_account_management": "true",
                             "account_autocreate": "true"},
        "filter:tempauth": {"use": "egg:swift#tempauth", **USERS, "fernet_key_harness": key,
                            "active_fernet_key_id": "harness"},
        **{f"filter:{name}": {"use": f"egg:swift#{egg}"} for name, egg in FILTERS.items()},
    }))  # fmt: skip
    log = work / "proxy.log"
    proc = start(stack, [str(BIN / "swift-proxy-server"), str(conf), "-v"], log, cwd=work)
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/healthcheck", proc, log)
    return url


# --- the suite ---------------------------------------------------------------------------------------


def run_suite(stack: ExitStack, sdist: Path, url: str, work: Path) -> dict:
    """python-swiftclient's functional tests against `url` (the proxy, or the recorder in front of it)."""
    work.mkdir(parents=True, exist_ok=True)
    conf = work / "test.conf"
    conf.write_text(_ini({"func_test": {"auth_uri": f"{url}/auth/v1.0", "account": "test", "username": "tester",
                                        "password": "testing"}}))  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV") and not k.startswith("OS_")}
    env |= {"SWIFT_TEST_CONFIG_FILE": str(conf), "PYTHONPATH": str(sdist)}
    args = [str(sdist / t) for t in SUITE] + ["--rootdir", str(sdist)]
    return common.run_pytest(stack, BIN / "python", args, work, cwd=sdist, env=env)


# --- phases ------------------------------------------------------------------------------------------


def phases(work: Path, verify_args: list[str], direct: bool) -> dict:
    seconds: dict[str, float] = {}
    with timed(seconds, "setup"):
        sdist = setup()
    direct_run = None
    if direct:
        with timed(seconds, "direct"), ExitStack() as stack:
            direct_run = run_suite(stack, sdist, start_swift(stack, work / "direct" / "swift"), work / "direct")
    out = work / "record"
    with timed(seconds, "record"), ExitStack() as stack:
        out.mkdir(parents=True, exist_ok=True)
        swift = start_swift(stack, out / "swift")
        recorder, url, log = common.start_recorder(stack, CONSUMER, PROVIDER, swift, out)
        recorded = run_suite(stack, sdist, url, out)
        common.finish_recording(recorder, log)
    pact = out / f"{CONSUMER}-{PROVIDER}.json"
    if not pact.is_file():
        raise RuntimeError(f"the recorder wrote no {pact.name}:\n{tail(log)}")
    runs: list[dict] = []
    args = ["--states-from-recording"]
    with timed(seconds, "verify"), ExitStack() as stack:
        swift = start_swift(stack, work / "verify" / "swift")
        report, outcome = common.verify_outcome(stack, pact, swift, work / "verify", args)
        runs.append(outcome)
    if report is None or verify_args:  # refused (or asked for): once more with VERIFY_ARGS, on a fresh Swift
        if report is None and not verify_args:
            raise RuntimeError(f"verify refused (exit {outcome['exit']}); pass what it asks for after `--`:\n"
                               + outcome["message"])  # fmt: skip
        with timed(seconds, "verify2"), ExitStack() as stack:
            swift = start_swift(stack, work / "verify2" / "swift")
            args = [*args, *verify_args]
            report, outcome = common.verify_outcome(stack, pact, swift, work / "verify2", args)
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
        "swift": SWIFT,
        "python_swiftclient": SWIFTCLIENT,
        "pins": PINS,
        "suite": SUITE,
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
    sys.exit(common.main("swift", __doc__, phases, sys.argv[1:], setup))
