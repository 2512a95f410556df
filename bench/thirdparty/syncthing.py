"""Record Syncthing's REST API while its own CLI, `syncthing cli`, runs an operator's session against it, then
verify the pact against a fresh, empty Syncthing.

    .venv/bin/python bench/thirdparty/syncthing.py [--keep DIR] [--json FILE] [--no-direct] [-- VERIFY_ARGS...]

`verify` gets `--states-from-recording` and nothing else (the first contact). Where it refuses to start (exit 2:
the recording redacted the API key and nobody gave it), that refusal and its message are the first figure, and
verify runs once more with the least the message asks for: VERIFY_ARGS (everything after `--`, which make that
second run in any case) if given, else `--secret NAME=VALUE` for each NAME it names, VALUE the third
instance's API key, as the operator who set it would give it.

What it does, each phase timed:
  setup    Debian's `syncthing` (1.19; the daemon, `syncthing serve`, is the provider and its CLI, `syncthing
           cli`, the consumer), with `apt-get install` when missing; the system service is never started.
           No venv: nothing comes from PyPI.
  direct   a fresh instance and the session below run straight against its GUI/REST port (--no-direct
           leaves this out).
  record   another fresh instance, `pact-recorder record --consumer syncthing-cli --provider syncthing` in
           front of its REST port, the same session pointed at the recorder; SIGTERM makes it write
           OUT/syncthing-cli-syncthing.json.
  verify   a third fresh instance (empty: no folder, no other device), `pact-recorder verify
           --states-from-recording`; then, refused, again on a fresh instance with what it asked for (verify2).
Then it prints the figures (commands whose exit code is the expected one through the recorder and directly, how
many gave the same exit code both ways, exchanges, interactions, verified green / total) and the failures
grouped by cause, and writes them as JSON to DIR/figures.json (and --json FILE).

Each instance: `syncthing generate --home DIR --no-default-folder --skip-port-probing` (a new key pair, so a
new device ID), then the harness edits DIR/config.xml: the GUI/REST API on a free port of 127.0.0.1 with an
API key of the instance's own (random per instance, also given as `--gui-apikey`), debugging endpoints on, the
sync protocol listening on `tcp://127.0.0.1:FREE` only, global and local discovery, relays, NAT traversal,
STUN, usage and crash reporting, upgrades and the browser off. Then `syncthing serve --home DIR --no-browser
--no-restart --no-upgrade --gui-address=127.0.0.1:PORT --gui-apikey=KEY` with STNODEFAULTFOLDER=1 and HOME in
its work dir; ready once `/rest/noauth/health` answers (1.19 answers it 403 without the API key). The peer
devices the session adds are fixed, valid device IDs of no running instance (address "dynamic", which no
discovery resolves; the second one paused): nothing leaves the loopback.

The API: REST under /rest with the `X-API-Key` header (a request without it, or with a wrong one, is answered
403 "CSRF Error"); each instance has its own device ID (a key pair's hash, `XXXXXXX-...` in 8 groups), which
`/rest/system/status` (`myID`), `/rest/system/connections`, and the whole config (`devices[]`, each folder's
`devices[]`) carry. `syncthing cli config ...` is a client of the config endpoints: every `config` command
first GETs the whole config `/rest/system/config` (to build its command tree: folders and devices are
subcommands named by their ids), and a change POSTs it back whole (`POST /rest/system/config`, the own device
ID and the GUI's API key inside), the server answering 200 with no body, or 400 with a reason.

The session is an operator's shell script: each `syncthing cli --gui-address ADDR --gui-apikey KEY ARGS` is
one "test" (passed: the exit code it is expected to have; 0, or 1 for the refusals the session provokes on
purpose: a wrong API key (403), a folder added twice (400 "duplicate ID"), an invalid device ID and a bad
boolean / integer (refused by the CLI itself, after its GET of the config), and a debug read of a folder that
does not exist). It reads the version, system status, connections, config status, pending devices and
folders, errors (and clears them), the usage report; lists folders and devices; adds two folders and two
devices, reads them, changes labels, rescan intervals, types, pausing, device names, a folder's device list,
options (send and receive limits, reconnect interval) and the GUI's theme; sets the default ignores; overrides
a send-only folder; reads a file's debug information; deletes a device from a folder, a device and a folder.
Every process started is stopped on the way out, on failure and on Ctrl-C or SIGTERM too.

Why the CLI: the PyPI client, python-syncthing (`syncthing` 2.4.x), has tests that are doctests and mocked
unit tests against no live instance; `syncthing cli` ships with the daemon and is versioned with it.

First contact (syncthing 1.19.2, Debian 1.19.2~ds1-1+b4): 59 commands, 59 / 59 with their expected exit code
both directly and through the recorder (the same exit code each); 96 exchanges, all recorded, 18 interactions
(every one with a provider state: the per-instance values below make every later request "send back what an
earlier response handed out"); the 18 config changes (`POST /rest/system/config` of the whole document:
folder and device adds, label, type, pause, name, option and theme sets, deletes) are ONE interaction, whose
example is the first (a folder add). verify with `--states-from-recording` alone: exit 2, `x_api_key: needed by
2 request(s)`; with `--secret x_api_key=<the fresh instance's key>`: 1 / 18 green. Left, by class: (1) a bare
secret header value (`X-Api-Key: KEY`, no scheme) taken for `SCHEME TOKEN` with an EMPTY token: the config's
`gui.password` is "" in every `GET /rest/system/config` answer, the recorder names that "" a handed-out secret
(`password`, issued), `value.partition(" ")` of the header gives scheme = the whole key and credentials = "",
which is "known and issued", so the header becomes `prefix: "KEY "` + `${password}`: the recording instance's
API key IN CLEAR in the pact (the generator expression and the secrets comment of 15 interactions) and in the
states file, and sent as "OLDKEY " (plus the fresh ""), so the fresh instance answers 403 "CSRF Error" to the
other 17 interactions or to their setups' `GET /rest/system/config` (16 state setup first, then status
200 -> 403, text/plain for JSON); only `GET /rest/system/config` (given no config exist), recorded before
the first answer that handed out "", keeps the plain `x_api_key` and passes (the wrong key `not-the-api-key`
of the refusal step is likewise kept in clear as a prefix). Behind it (by hand: the prefix entries turned into plain
`x_api_key` and their generators dropped in a copy of the pact and states, same `--secret`): 15 / 18; the 3
left: (2) a per-instance value as a KEY of a response map, kept literally (map keys get no matcher and no
handed-out value substitution): `GET /rest/system/connections` `$.connections` keyed by the recording
instance's own device ID ("missing the following keys: BBMOMAJ-..."), `GET /rest/system/status`
`$.connectionServiceStatus` keyed by its listen address `tcp://127.0.0.1:<its port>`; (3) data the operator
put on the provider's disk, not through the API: `GET /rest/debug/file?folder=docs&file=notes.txt` 200 -> 404
(state `file exist`, "no recorded request makes this"; the folder path in the replayed config is the recording
run's work dir, and an indexed file also needs the folder's asynchronous scan). The device ID itself (a value
generated per instance): the recorder treats it as a handed-out value, learned from `GET /rest/system/config`
(`devices[].deviceID`) and put back as `${deviceid}`, `${deviceid_2}`, ... in the replayed config bodies (the
fresh instance's own ID: those pass), `myID` is matched by type and the `X-Syncthing-Id` response header by a
regex ("looks random (an id)"); only where it is a map key does it stay the recording's.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from common import free_port, start, tail, timed, wait_http  # noqa: E402

PACKAGES = ["syncthing"]  # Debian bookworm: 1.19.2
SYNCTHING = "syncthing"
CONSUMER, PROVIDER = "syncthing-cli", "syncthing"
PEER1 = "UWOQYLF-56G3JP4-KVFSIYZ-KIHICFU-4FQBHCN-ESLZPXS-BJKL7NY-RQPOXQ6"  # valid device IDs, no instance's
PEER2 = "IL75OYH-TT6O7UK-6NTT3ZV-QMW3DII-ULXV6WD-M35W7J2-4JCMQC3-5UP73QW"
COMMAND_SECONDS = 60

# options.X set in each instance's config.xml: nothing dials out, announces, reports or upgrades
QUIET = {
    "globalAnnounceServer": "",
    "globalAnnounceEnabled": "false",
    "localAnnounceEnabled": "false",
    "relaysEnabled": "false",
    "natEnabled": "false",
    "startBrowser": "false",
    "urAccepted": "-1",
    "autoUpgradeIntervalH": "0",
    "crashReportingEnabled": "false",
    "stunServer": "",
    "announceLANAddresses": "false",
}


# --- setup -------------------------------------------------------------------------------------------


def setup() -> None:
    """syncthing installed (never run as a service)."""
    if not shutil.which(SYNCTHING):
        common.apt_install(*PACKAGES)


def version() -> str:
    done = subprocess.run([shutil.which(SYNCTHING) or SYNCTHING, "--version"], capture_output=True, text=True)
    words = done.stdout.split()
    return words[1] if done.returncode == 0 and len(words) > 1 else "?"


def clean_env(home: Path) -> dict[str, str]:
    drop = ("ST", "http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "all_proxy", "NO_PROXY")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env |= {"HOME": str(home), "STNODEFAULTFOLDER": "1", "STNOUPGRADE": "1", "STNORESTART": "1"}
    return env


# --- the instance ------------------------------------------------------------------------------------


def configure(config: Path, gui: int, listen: int, key: str) -> None:
    """The generated config.xml, edited: see the docstring."""
    text = config.read_text()

    def put(tag: str, value: str) -> None:
        nonlocal text
        text, n = re.subn(rf"<{tag}>[^<]*</{tag}>", f"<{tag}>{value}</{tag}>", text, count=1)
        if n != 1:
            raise RuntimeError(f"{config}: no <{tag}> to set")

    for tag, value in QUIET.items():
        put(tag, value)
    put("listenAddress", f"tcp://127.0.0.1:{listen}")
    put("apikey", key)
    gui_block = r'<gui enabled="true" tls="false" debugging="false">(\s*)<address>[^<]*</address>'
    text, n = re.subn(
        gui_block, rf'<gui enabled="true" tls="false" debugging="true">\1<address>127.0.0.1:{gui}</address>', text
    )
    if n != 1:
        raise RuntimeError(f"{config}: no <gui> to set")
    config.write_text(text)


def start_instance(stack: ExitStack, work: Path) -> tuple[str, str]:
    """A fresh instance of its own (home, device ID, API key, ports) in `work`; (its URL, its API key) once it
    answers."""
    work.mkdir(parents=True, exist_ok=True)
    home = work / "home"
    env = clean_env(work)
    exe = shutil.which(SYNCTHING) or SYNCTHING
    cmd = [exe, "generate", "--home", str(home), "--no-default-folder", "--skip-port-probing"]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=COMMAND_SECONDS)
    if done.returncode or not (home / "config.xml").is_file():
        raise RuntimeError(f"syncthing generate failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    gui = free_port()
    while (listen := free_port()) == gui:
        pass
    key = secrets.token_urlsafe(24)
    configure(home / "config.xml", gui, listen, key)
    log = work / "syncthing.log"
    cmd = [exe, "serve", "--home", str(home), "--no-browser", "--no-restart", "--no-upgrade"]
    cmd += [f"--gui-address=127.0.0.1:{gui}", f"--gui-apikey={key}"]
    proc = start(stack, cmd, log, cwd=work, env=env)
    url = f"http://127.0.0.1:{gui}"
    wait_http(url + "/rest/noauth/health", proc, log, ok=(200, 403))  # 1.19: 403 without the key
    return url, key


# --- the syncthing cli session -----------------------------------------------------------------------


class Session:
    """Runs `syncthing cli` commands against one GUI address, each a "test" of its own."""

    def __init__(self, url: str, key: str, work: Path):
        self.address = url.removeprefix("http://")
        self.key = key
        self.work = work
        self.log = work / "syncthing-cli.log"
        self.env = clean_env(work)
        self.results: list[dict] = []

    def cli(self, *args: str, key: str | None = None, expect: int = 0) -> str:
        """`syncthing cli --gui-address ADDR --gui-apikey KEY ARGS`; its output."""
        shown = " ".join(args) + ("  (with a wrong API key)" if key else "")
        cmd = [shutil.which(SYNCTHING) or SYNCTHING, "cli", f"--gui-address={self.address}"]
        cmd += [f"--gui-apikey={key or self.key}", *args]
        t = time.monotonic()
        with open(self.log, "ab") as log:
            log.write(f"\n$ syncthing cli {shown}\n".encode())
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


def run_session(url: str, key: str, work: Path) -> dict:
    """An operator's session against the REST API at `url` (see the docstring)."""
    work.mkdir(parents=True, exist_ok=True)
    docs, photos = work / "docs", work / "photos"
    for folder in (docs, photos):
        folder.mkdir(exist_ok=True)
    (docs / "notes.txt").write_text("harness notes\n")
    ignores = work / "default-ignores.txt"
    ignores.write_text("*.tmp\n.cache\n")
    s = Session(url, key, work)
    # what is there
    s.cli("show", "version")
    s.cli("show", "system")
    s.cli("show", "connections")
    s.cli("show", "config-status")
    s.cli("show", "pending", "devices")
    s.cli("show", "pending", "folders")
    s.cli("show", "usage")
    s.cli("errors", "show")
    s.cli("errors", "clear")
    s.cli("show", "version", key="not-the-api-key", expect=1)  # 403 CSRF Error
    s.cli("config", "version", "get")
    s.cli("config", "folders", "list")
    s.cli("config", "devices", "list")
    s.cli("config", "options", "dump-json")
    s.cli("config", "gui", "theme", "get")
    # folders
    s.cli("config", "folders", "add", "--id", "docs", "--label", "Docs", "--path", str(docs))
    s.cli(
        "config", "folders", "add", "--id", "photos", "--label", "Photos", "--path", str(photos), "--type", "sendonly"
    )
    s.cli("config", "folders", "add", "--id", "docs", "--label", "Again", "--path", str(docs), expect=1)  # duplicate
    s.cli("config", "folders", "list")
    s.cli("config", "folders", "docs", "dump-json")
    s.cli("config", "folders", "docs", "label", "get")
    s.cli("config", "folders", "docs", "label", "set", "Documents")
    s.cli("config", "folders", "docs", "label", "get")
    s.cli("config", "folders", "docs", "rescan-intervals", "set", "120")
    s.cli("config", "folders", "photos", "paused", "set", "true")
    s.cli("config", "folders", "photos", "paused", "set", "maybe", expect=1)  # refused by the CLI
    s.cli("config", "folders", "photos", "paused", "get")
    # devices
    s.cli("config", "devices", "add", "--device-id", PEER1, "--name", "peer-one")  # (--addresses: 1.19's CLI panics)
    s.cli("config", "devices", "add", "--device-id", PEER2, "--name", "peer-two", "--paused")
    s.cli("config", "devices", "add", "--device-id", "NOT-A-DEVICE-ID", expect=1)  # refused by the CLI
    s.cli("config", "devices", "list")
    s.cli("config", "devices", PEER1, "dump-json")
    s.cli("config", "devices", PEER1, "name", "set", "peer one")
    s.cli("config", "devices", PEER1, "name", "get")
    s.cli("config", "folders", "docs", "devices", "add", "--device-id", PEER1)
    s.cli("config", "folders", "docs", "devices", "add", "--device-id", PEER2)
    s.cli("config", "folders", "docs", "devices", "list")
    s.cli("show", "connections")
    # options and the GUI
    s.cli("config", "options", "max-send-kbps", "set", "500")
    s.cli("config", "options", "max-send-kbps", "get")
    s.cli("config", "options", "max-recv-kbps", "set", "250")
    s.cli("config", "options", "reconnect-intervals", "set", "30")
    s.cli("config", "options", "max-send-kbps", "set", "fast", expect=1)  # refused by the CLI
    s.cli("config", "gui", "theme", "set", "dark")
    s.cli("config", "gui", "theme", "get")
    s.cli("show", "config-status")
    # operations and debugging
    s.cli("operations", "default-ignores", str(ignores))
    s.cli("operations", "folder-override", "photos")
    s.cli("debug", "file", "docs", "notes.txt")
    s.cli("debug", "file", "nosuch", "notes.txt", expect=1)
    s.cli("config", "folders", "docs", "type", "set", "receiveonly")
    s.cli("config", "folders", "docs", "dump-json")
    # removing
    s.cli("config", "folders", "docs", "devices", PEER2, "delete")
    s.cli("config", "folders", "docs", "devices", "list")
    s.cli("config", "devices", PEER2, "delete")
    s.cli("config", "folders", "photos", "delete")
    s.cli("config", "folders", "list")
    s.cli("config", "devices", "list")
    s.cli("show", "system")
    return s.counts()


# --- the verifier ------------------------------------------------------------------------------------


def answers(message: str, key: str) -> list[str]:
    """`--secret NAME=KEY` for each secret the refusal names: the instance's API key."""
    return [a for name in re.findall(r"^\s+([\w.-]+): needed by", message, re.M) for a in ("--secret", f"{name}={key}")]


# --- phases ------------------------------------------------------------------------------------------


def phases(work: Path, verify_args: list[str], direct: bool) -> dict:
    seconds: dict[str, float] = {}
    with timed(seconds, "setup"):
        setup()
    direct_run = None
    if direct:
        with timed(seconds, "direct"), ExitStack() as stack:
            url, key = start_instance(stack, work / "direct" / "instance")
            direct_run = run_session(url, key, work / "direct")
    out = work / "record"
    with timed(seconds, "record"), ExitStack() as stack:
        target, key = start_instance(stack, out / "instance")
        recorder, url, log = common.start_recorder(stack, CONSUMER, PROVIDER, target, out)
        recorded = run_session(url, key, out)
        common.finish_recording(recorder, log)
    pact = out / f"{CONSUMER}-{PROVIDER}.json"
    if not pact.is_file():
        raise RuntimeError(f"the recorder wrote no {pact.name}:\n{tail(log)}")
    files = [p for p in out.glob(f"{CONSUMER}-{PROVIDER}*") if p.is_file()]
    leaked = [p.name for p in files if key in p.read_text(errors="replace")]  # the recording instance's key
    runs: list[dict] = []
    args = ["--states-from-recording"]
    with timed(seconds, "verify"), ExitStack() as stack:
        target, key = start_instance(stack, work / "verify" / "instance")
        report, outcome = common.verify_outcome(stack, pact, target, work / "verify", args)
        runs.append(outcome)
    if report is None or verify_args:  # refused (or asked for): once more with the extra, on a fresh instance
        with timed(seconds, "verify2"), ExitStack() as stack:
            target, key = start_instance(stack, work / "verify2" / "instance")
            extra = verify_args or answers(outcome["message"], key)
            if report is None and not extra:
                raise RuntimeError(f"verify refused (exit {outcome['exit']}):\n{outcome['message']}")
            args = [*args, *extra]
            report, outcome = common.verify_outcome(stack, pact, target, work / "verify2", args)
            runs.append(outcome)
    for n, run in enumerate(runs, 1):
        lines = run["message"].splitlines()
        said = [line for line in lines if "interaction(s) passed" in line]
        if run["exit"] == 2:
            said = [*lines[:8], f"... ({len(lines) - 8} more lines)"] if len(lines) > 9 else lines
        shown = [re.sub(r"(--secret [\w.-]+=).*", r"\1***", a) for a in run["args"]]
        print(f"verify run {n}: exit {run['exit']}  ({' '.join(shown)})")
        print("\n".join("  " + line.strip() for line in said))
    same = common.same_exit_codes(direct_run, recorded)
    if same:
        print(f"transparency: {same['same_exit']} / {same['steps']} commands gave the same exit code both ways")
        for line in same["differ"]:
            print(f"  differs: {line}")
    print(f"API key of the recording instance in clear in: {', '.join(leaked) or 'none of the pact files'}")
    if report is None:
        raise RuntimeError(f"pact-recorder verify wrote no report (exit {runs[-1]['exit']}):\n{runs[-1]['message']}")
    return {
        "syncthing": version(),
        "consumer": "syncthing cli (the daemon's own CLI)",
        "verify_args": args,
        "verify_runs": runs,
        "seconds": seconds,
        "direct": direct_run,
        "recorded": recorded,
        "transparency": same,
        "api_key_in_clear": leaked,
        "recording": common.recording_figures(pact),
        "verify": common.verify_figures(report),
        "failures": common.group_failures(report),
    }


if __name__ == "__main__":
    sys.exit(common.main("syncthing", __doc__, phases, sys.argv[1:], setup))
