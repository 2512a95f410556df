"""Record the Transmission BitTorrent daemon's RPC API while the real transmission-remote CLI runs an operator's
session against it, then verify the pact against a fresh, empty daemon.

    .venv/bin/python bench/thirdparty/transmission.py [--keep DIR] [--json FILE] [--no-direct] [-- VERIFY_ARGS...]

`verify` gets `--states-from-recording` and nothing else (the first contact). Where it refuses to start (exit 2:
the recording redacted the RPC account's Basic credentials and nobody gave them), that refusal and its message
are the first figure, and verify runs once more with the least the message asks for: VERIFY_ARGS (everything
after `--`, which make that second run in any case) if given, else `--secret NAME=VALUE` for each NAME it names,
VALUE the RPC password (a redacted `Authorization` as `Basic USER:PASSWORD`), as the operator who set the
daemon's `rpc-username` and `rpc-password` would give it.

What it does, each phase timed:
  setup    Debian's `transmission-daemon` (the provider) and `transmission-cli` (the consumer,
           `transmission-remote`, and `transmission-create` and `transmission-show`, which make and read the
           session's .torrent files), 3.00, with `apt-get install` when missing. The system service is never
           started or used: where no /usr/sbin/policy-rc.d exists the install runs under one of the harness's
           that denies every start (exit 101), removed afterwards. No venv: nothing comes from PyPI.
  direct   a fresh daemon and the session below run straight against its RPC port (--no-direct leaves this
           out).
  record   another fresh daemon, `pact-recorder record --consumer transmission-remote --provider transmission`
           in front of its RPC port, the same session pointed at the recorder; SIGTERM makes it write
           OUT/transmission-remote-transmission.json.
  verify   a third fresh daemon (empty: no torrent), `pact-recorder verify --states-from-recording`; then,
           refused, again on a fresh daemon with what it asked for (verify2).
Then it prints the figures (commands whose exit code is the expected one through the recorder and directly, how
many gave the same exit code both ways, exchanges, interactions, verified green / total) and the failures
grouped by cause, and writes them as JSON to DIR/figures.json (and --json FILE).

Each daemon is `transmission-daemon -f -g CONFIG_DIR` with a settings.json of the harness's in its own config
dir: RPC on a free port of 127.0.0.1 only (`rpc-whitelist` 127.0.0.1), authentication required (USER /
PASSWORD), peers on 127.0.0.1 / ::1 only with a free peer port, no port mapping (UPnP / NAT-PMP), DHT, LPD,
PEX and uTP off, no blocklist, no watch dir, downloads into its work dir. No tracker is ever reachable: the
torrents have none, or one on a closed port of 127.0.0.1.

The API: JSON-RPC over one endpoint, `POST /transmission/rpc` (`{"method": "torrent-get", "arguments": {...},
"tag": N}`, answered `{"result": "success", "arguments": {...}}` with 200 even for a refusal: the result says
it); a CSRF handshake (a request without `X-Transmission-Session-Id` is answered 409 with the header to send
back: every transmission-remote command starts with one, being a process of its own); Basic auth; torrents
named by the numeric ids the daemon hands out (1, 2, ... in a fresh daemon) and by their info hash strings.

The session is an operator's shell script: each `transmission-remote HOST:PORT -n USER:PASSWORD ARGS` is one
"test" (passed: the exit code it is expected to have; 0, or 1 for the refusals the session provokes on purpose:
a wrong password (401), an add of a .torrent path that does not exist (sent as a `filename` the daemon cannot
read), a move to a relative path, the removal of a tracker id the torrent has not; a torrent added twice and a
stop of id 99 are answered "success"). Its .torrent files are made
by `transmission-create` over files the harness writes (deterministic bytes, so every phase's torrents have
the same info hashes): a single file, a folder of three, one with a tracker (a closed port of 127.0.0.1), one
private. It reads the session and its stats; adds torrents (one with its data already in place, verified to
100%, one paused, one by its own download dir); lists; shows details, files, peers, pieces and trackers; sets
per-torrent speed limits, bandwidth priority, file priorities and wanted files, seed ratio, peer limit and
labels; stops and starts one torrent and all; verifies, reannounces, moves data, points one at data found
elsewhere; adds and removes a tracker; changes session settings (speed
limits, alt speed and its scheduler, seed ratio, encryption, cache, peer limit, start-paused, incomplete dir)
and puts some back; selects a torrent by its hash string; removes torrents (one with its data). Every process
started is stopped on the way out, on failure and on Ctrl-C or SIGTERM too.

Why transmission-remote: the Python client of this API on PyPI, transmission-rpc (7.0.12, also 6.0.0, 4.3.1,
3.4.2), ships no tests in its sdists; its live tests (TR_HOST, TR_PORT, ...) exist only in its repository, which
a run must not download. transmission-remote is the daemon's own CLI, versioned with it.

First contact (transmission-daemon and transmission-remote 3.00, Debian 3.00-2.1+deb12u1): 63 commands, 63 / 63
with their expected exit code both directly and through the recorder (the same exit code each); 250 exchanges,
all recorded (62 answered 200, 62 the 409 handshake, 126 a 401: libcurl first asks without credentials to learn
the scheme), 165 interactions (55 request bodies, each answered 200, 409 and 401: transmission-remote sends its
JSON as libcurl's default `application/x-www-form-urlencoded`, kept as a text example matched by type), none with
a provider state (the states file is empty). verify with `--states-from-recording` alone: exit 2,
`authorization: needed by 110 request(s)` (the RPC account's Basic credentials); with `--secret
authorization=Basic <operator:password>`: 110 / 165 green (every 401 and 409 one). Left, by class: a token the
provider hands out in a response header (the 409's `X-Transmission-Session-Id`, a CSRF handshake) that every
later request sends back, kept in the pact as the recording daemon's value (a regex matcher: "looks random (an
id), though it did not vary") and sent as such, so the fresh daemon answers 409 again, 55 (every 200; the same
value in `session-get`'s body, `$.arguments.session-id`, was redacted, the request header not). Behind it (by
hand: the fresh daemon's id as `--header`, which turns the 409 interactions red instead): 53 of the 55 green; the
2 left are `torrent-get` of ids 3 and 4, which no setup added: in JSON-RPC the operation is the body's `method`
and the resource the body's `arguments.ids` (ids and hash strings `torrent-add` answered with), all at one path,
so no resource, state or undo is inferred, and the other reads by id pass only because adds of other torrents
ran earlier in the verify order (and `result`, the only outcome of a call, is matched by type: an error string
passes for "success").
"""

from __future__ import annotations

import base64
import json
import os
import random
import re
import shutil
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from common import free_port, start, tail, timed, wait_http  # noqa: E402

PACKAGES = ["transmission-daemon", "transmission-cli"]  # Debian bookworm: 3.00
DAEMON, REMOTE = "transmission-daemon", "transmission-remote"
CREATE, SHOW = "transmission-create", "transmission-show"
CONSUMER, PROVIDER = "transmission-remote", "transmission"
USER, PASSWORD = "operator", "tr-harness-pass-7"  # the daemon's rpc-username / rpc-password
COMMAND_SECONDS = 60


# --- setup -------------------------------------------------------------------------------------------


def setup() -> None:
    """transmission-daemon and transmission-cli installed (the daemon never run as a service)."""
    if not all(shutil.which(tool) for tool in (DAEMON, REMOTE, CREATE, SHOW)):
        common.apt_install(*PACKAGES)


def version() -> str:
    done = subprocess.run([shutil.which(DAEMON) or DAEMON, "-V"], capture_output=True, text=True)
    words = (done.stdout + done.stderr).split()
    return words[1] if done.returncode == 0 and len(words) > 1 else "?"


# --- the daemon --------------------------------------------------------------------------------------


def settings(rpc: int, peer: int, work: Path) -> dict:
    return {
        "rpc-enabled": True,
        "rpc-bind-address": "127.0.0.1",
        "rpc-port": rpc,
        "rpc-url": "/transmission/",
        "rpc-authentication-required": True,
        "rpc-username": USER,
        "rpc-password": PASSWORD,  # the daemon hashes it when it saves its settings
        "rpc-whitelist-enabled": True,
        "rpc-whitelist": "127.0.0.1",
        "rpc-host-whitelist-enabled": True,
        "rpc-host-whitelist": "127.0.0.1,localhost",
        "bind-address-ipv4": "127.0.0.1",
        "bind-address-ipv6": "::1",
        "peer-port": peer,
        "peer-port-random-on-start": False,
        "port-forwarding-enabled": False,
        "dht-enabled": False,
        "lpd-enabled": False,
        "pex-enabled": False,
        "utp-enabled": False,
        "blocklist-enabled": False,
        "watch-dir-enabled": False,
        "incomplete-dir-enabled": False,
        "incomplete-dir": str(work / "incomplete"),
        "download-dir": str(work / "downloads"),
        "start-added-torrents": True,
        "trash-original-torrent-files": False,
        "script-torrent-done-enabled": False,
        "scrape-paused-torrents-enabled": False,
        "message-level": 2,
    }


def start_daemon(stack: ExitStack, work: Path) -> str:
    """A fresh daemon of its own (config dir, downloads, ports) in `work`; its URL once its RPC answers."""
    work.mkdir(parents=True, exist_ok=True)
    config = work / "config"
    config.mkdir(exist_ok=True)
    for sub in ("downloads", "incomplete"):
        (work / sub).mkdir(exist_ok=True)
    rpc = free_port()
    while (peer := free_port()) == rpc:
        pass
    (config / "settings.json").write_text(json.dumps(settings(rpc, peer, work), indent=2) + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRANSMISSION_")}
    env["HOME"] = str(work)
    log = work / "daemon.log"
    proc = start(stack, [shutil.which(DAEMON) or DAEMON, "-f", "-g", str(config)], log, cwd=work, env=env)
    url = f"http://127.0.0.1:{rpc}"
    wait_http(url + "/transmission/rpc", proc, log, ok=(401, 409))  # unauthenticated: 401
    return url


# --- the torrents --------------------------------------------------------------------------------------


def fill(path: Path, size: int, seed: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(random.Random(seed).randbytes(size))


def make_torrents(work: Path) -> dict[str, dict]:
    """The session's data and .torrent files, made in `work`: {name: {"torrent": path, "hash": info hash}}."""
    data = work / "data"
    fill(data / "notes.txt", 300_000, 1)
    for n, name in enumerate(["01-intro.flac", "02-theme.flac", "cover.jpg"]):
        fill(data / "album" / name, 150_000 + 40_000 * n, 10 + n)
    fill(data / "big.bin", 1_200_000, 2)
    fill(data / "tracked.iso", 200_000, 3)
    fill(data / "private.dat", 90_000, 4)
    out = work / "torrents"
    out.mkdir(exist_ok=True)
    specs = {
        "notes": ["data/notes.txt"],
        "album": ["data/album", "-c", "an album of three files"],
        "big": ["data/big.bin", "-s", "64"],
        "tracked": ["data/tracked.iso", "-t", f"http://127.0.0.1:{free_port()}/announce"],
        "private": ["data/private.dat", "-p", "-t", f"http://127.0.0.1:{free_port()}/announce"],
    }
    made = {}
    for name, args in specs.items():
        torrent = out / f"{name}.torrent"
        cmd = [shutil.which(CREATE) or CREATE, "-o", str(torrent), *args[1:], args[0]]
        done = subprocess.run(cmd, cwd=work, capture_output=True, text=True, timeout=COMMAND_SECONDS)
        if done.returncode or not torrent.is_file():
            raise RuntimeError(f"transmission-create {name} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
        made[name] = {"torrent": torrent, "hash": info_hash(torrent)}
    return made


def info_hash(torrent: Path) -> str:
    """The torrent's info hash as transmission-show prints it."""
    done = subprocess.run([shutil.which(SHOW) or SHOW, str(torrent)], capture_output=True, text=True)
    if m := re.search(r"^\s*Hash:\s*([0-9a-f]{40})", done.stdout, re.M):
        return m.group(1)
    raise RuntimeError(f"transmission-show {torrent.name} gave no hash:\n{done.stdout}{done.stderr}")


# --- the transmission-remote session -------------------------------------------------------------------


class Session:
    """Runs `transmission-remote` commands against one RPC URL, each a "test" of its own."""

    def __init__(self, url: str, work: Path):
        self.address = url.removeprefix("http://")
        self.work = work
        self.log = work / "transmission-remote.log"
        drop = ("TR_", "http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "all_proxy")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
        self.env["HOME"] = str(work)  # no ~/.netrc of the user's
        self.results: list[dict] = []

    def remote(self, *args: str, auth: tuple[str, str] = (USER, PASSWORD), expect: int = 0) -> str:
        """`transmission-remote HOST:PORT -n USER:PASSWORD ARGS`; its output."""
        shown = " ".join(args) + (f"  (as {auth[0]}:{auth[1]})" if auth != (USER, PASSWORD) else "")
        cmd = [shutil.which(REMOTE) or REMOTE, self.address, "-n", ":".join(auth), *args]
        t = time.monotonic()
        with open(self.log, "ab") as log:
            log.write(f"\n$ transmission-remote {shown}\n".encode())
            log.flush()
            try:
                done = subprocess.run(
                    cmd, cwd=self.work, env=self.env, capture_output=True, timeout=COMMAND_SECONDS,
                    start_new_session=True, stdin=subprocess.DEVNULL,
                )  # fmt: skip
                code, out, err = done.returncode, done.stdout, done.stderr
            except subprocess.TimeoutExpired as e:
                code, out, err = -1, e.stdout or b"", (e.stderr or b"") + b"\n(timed out)"
            log.write(out + err + f"(exit {code})\n".encode())
        result = {"command": shown, "exit": code, "expect": expect, "ok": code == expect}
        result["seconds"] = round(time.monotonic() - t, 1)
        if code != expect:
            result["output"] = (out + err).decode(errors="replace")[-600:]
        self.results.append(result)
        return out.decode(errors="replace")

    def counts(self) -> dict:
        passed = sum(r["ok"] for r in self.results)
        return {
            "tests": len(self.results),
            "passed": passed,
            "failed": len(self.results) - passed,
            "errors": 0,
            "skipped": 0,
            "failing": [r["command"] for r in self.results if not r["ok"]],
            "commands": self.results,
        }


def run_session(url: str, work: Path) -> dict:
    """An operator's session against the RPC API at `url` (see the docstring)."""
    work.mkdir(parents=True, exist_ok=True)
    t = make_torrents(work)
    s = Session(url, work)
    data, moved, found = work / "data", work / "moved", work / "elsewhere"
    moved.mkdir(exist_ok=True)
    shutil.copytree(data / "album", found / "album")  # where --find points the album's second copy
    # what is there
    s.remote("-si")
    s.remote("-st")
    s.remote("-l")
    s.remote("-si", auth=(USER, "not-the-password"), expect=1)  # 401
    # adding: 1 notes (to download, no peer), 2 album (its data in place), 3 big (paused), 4 tracked, 5 private
    s.remote("-a", str(t["notes"]["torrent"]))
    s.remote("-a", str(t["album"]["torrent"]), "-w", str(data))
    s.remote("--start-paused")
    s.remote("-a", str(t["big"]["torrent"]))
    s.remote("--no-start-paused")
    s.remote("-a", str(t["tracked"]["torrent"]), "-w", str(work / "downloads" / "tracked"))
    s.remote("-a", str(t["private"]["torrent"]))
    s.remote("-a", str(t["notes"]["torrent"]))  # a duplicate: "success", with `torrent-duplicate`
    s.remote("-a", str(work / "missing.torrent"), expect=1)  # sent as a filename the daemon cannot read
    s.remote("-l")
    # what each one is
    s.remote("-t", "1", "-i")
    s.remote("-t", "2", "-f")
    s.remote("-t", "2", "-ip")
    s.remote("-t", "4", "-it")
    s.remote("-t", "3", "-ic")
    s.remote("-t", t["album"]["hash"], "-i")  # by its hash string
    s.remote("-t", "2", "-v")  # verify: the album's data is there
    s.remote("-t", "2", "-i")
    # per-torrent settings
    s.remote("-t", "1", "-d", "120", "-u", "40")
    s.remote("-t", "1", "-Bh")
    s.remote("-t", "3", "-Bl", "-pr", "12")
    s.remote("-t", "2", "-ph", "0", "-pl", "2")
    s.remote("-t", "2", "-G", "1")
    s.remote("-t", "2", "-g", "1")
    s.remote("-t", "1", "-sr", "2.5")
    s.remote("-t", "3", "-SR")
    s.remote("-t", "1", "-srd")
    s.remote("-t", "5", "-L", "private,archive")
    s.remote("-t", "1", "-D", "-U")
    # stopping, starting, announcing, trackers
    s.remote("-t", "1", "-S")
    s.remote("-t", "3", "-s")
    s.remote("-t", "all", "-S")
    s.remote("-t", "all", "-s")
    s.remote("-t", "4", "--reannounce")
    s.remote("-t", "4", "-td", "http://127.0.0.1:9/announce")
    s.remote("-t", "4", "-it")
    s.remote("-t", "4", "-tr", "1")
    s.remote("-t", "4", "-tr", "99", expect=1)  # no such tracker
    # data: move, find, rename
    s.remote("-t", "1", "--move", str(moved))
    s.remote("-t", "1", "-i")
    s.remote("-t", "2", "--find", str(found))
    s.remote("-t", "1", "--move", "relative/path", expect=1)  # not absolute
    s.remote("-t", "1", "-f")
    # session settings
    s.remote("-d", "800", "-u", "300")
    s.remote("-asd", "100", "-asu", "50", "-as")
    s.remote("--alt-speed-time-begin", "2200", "--alt-speed-time-end", "0600", "--alt-speed-days", "1-5", "-asc")
    s.remote("-gsr", "1.5")
    s.remote("-er")
    s.remote("-e", "8")
    s.remote("-pr", "120")
    s.remote("-c", str(work / "incomplete"))
    s.remote("-si")
    s.remote("-AS", "-ASC", "-D", "-U", "-GSR", "-ep", "-C")
    # removing
    s.remote("-t", "5", "-r")
    s.remote("-t", t["big"]["hash"], "-rad")  # by its hash string, with its (partial) data
    s.remote("-t", "5", "-i")  # gone: nothing to show, exit 0
    s.remote("-t", "99", "-S")  # none such: "success"
    s.remote("-l")
    s.remote("-st")
    return s.counts()


# --- the verifier ------------------------------------------------------------------------------------


def answers(message: str) -> list[str]:
    """`--secret NAME=VALUE` for each secret the refusal names: the RPC password, or its Basic credentials for a
    redacted `Authorization`."""
    args = []
    for name in re.findall(r"^\s+([\w.-]+): needed by", message, re.M):
        value = PASSWORD
        if name.startswith("authorization"):
            value = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        args += ["--secret", f"{name}={value}"]
    return args


# --- phases ------------------------------------------------------------------------------------------


def phases(work: Path, verify_args: list[str], direct: bool) -> dict:
    seconds: dict[str, float] = {}
    with timed(seconds, "setup"):
        setup()
    direct_run = None
    if direct:
        with timed(seconds, "direct"), ExitStack() as stack:
            direct_run = run_session(start_daemon(stack, work / "direct" / "daemon"), work / "direct")
    out = work / "record"
    with timed(seconds, "record"), ExitStack() as stack:
        daemon = start_daemon(stack, out / "daemon")
        recorder, url, log = common.start_recorder(stack, CONSUMER, PROVIDER, daemon, out)
        recorded = run_session(url, out)
        common.finish_recording(recorder, log)
    pact = out / f"{CONSUMER}-{PROVIDER}.json"
    if not pact.is_file():
        raise RuntimeError(f"the recorder wrote no {pact.name}:\n{tail(log)}")
    runs: list[dict] = []
    args = ["--states-from-recording"]
    with timed(seconds, "verify"), ExitStack() as stack:
        daemon = start_daemon(stack, work / "verify" / "daemon")
        report, outcome = common.verify_outcome(stack, pact, daemon, work / "verify", args)
        runs.append(outcome)
    if report is None or verify_args:  # refused (or asked for): once more with the extra, on a fresh daemon
        extra = verify_args or answers(outcome["message"])
        if report is None and not extra:
            raise RuntimeError(f"verify refused (exit {outcome['exit']}):\n{outcome['message']}")
        with timed(seconds, "verify2"), ExitStack() as stack:
            daemon = start_daemon(stack, work / "verify2" / "daemon")
            args = [*args, *extra]
            report, outcome = common.verify_outcome(stack, pact, daemon, work / "verify2", args)
            runs.append(outcome)
    for n, run in enumerate(runs, 1):
        lines = run["message"].splitlines()
        said = [line for line in lines if "interaction(s) passed" in line]
        if run["exit"] == 2:
            said = [*lines[:8], f"... ({len(lines) - 8} more lines)"] if len(lines) > 9 else lines
        print(f"verify run {n}: exit {run['exit']}  ({' '.join(run['args'])})")
        print("\n".join("  " + line.strip() for line in said))
    same = common.same_exit_codes(direct_run, recorded)
    if same:
        print(f"transparency: {same['same_exit']} / {same['steps']} commands gave the same exit code both ways")
        for line in same["differ"]:
            print(f"  differs: {line}")
    if report is None:
        raise RuntimeError(f"pact-recorder verify wrote no report (exit {runs[-1]['exit']}):\n{runs[-1]['message']}")
    return {
        "transmission": version(),
        "consumer": "transmission-remote (the daemon's own CLI)",
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
    sys.exit(common.main("transmission", __doc__, phases, sys.argv[1:], setup))
