"""Record ISC Kea's Control Agent REST API while Kea's own CLI, kea-shell, runs an operator's session against it,
then verify the pact against a fresh Kea (its control agent and DHCPv4 server) started empty.

    .venv/bin/python bench/thirdparty/kea.py [--keep DIR] [--json FILE] [--no-direct] [-- VERIFY_ARGS...]

`verify` gets `--states-from-recording` and nothing else (the first contact). Where it refuses to start (exit 2:
the recording redacted the control agent's Basic credentials and nobody gave them), that refusal and its message
are the first figure, and verify runs once more with the least the message asks for: VERIFY_ARGS (everything
after `--`, which make that second run in any case) if given, else `--secret NAME=VALUE` for each NAME it names,
VALUE the operator's password (a redacted `Authorization` as `Basic USER:PASSWORD`), as the operator who wrote the
agent's `authentication` clients would give it.

What it does, each phase timed:
  setup    Debian's `kea-ctrl-agent` (the REST API, and kea-shell, the consumer, which it ships) and
           `kea-dhcp4-server` (the DHCPv4 server the agent forwards to, with the lease_cmds and stat_cmds hook
           libraries Debian ships beside it), 2.2.0, with `apt-get install` when missing. The system services are
           never started or used: where no /usr/sbin/policy-rc.d exists the install runs under one of the
           harness's that denies every start (exit 101), removed afterwards. No venv: nothing comes from PyPI.
  direct   a fresh Kea and the session below run straight against the agent (--no-direct leaves this out).
  record   another fresh Kea, `pact-recorder record --consumer kea-shell --provider kea-ctrl-agent` in front of the
           agent, the same session pointed at the recorder (kea-shell's --host and --port); SIGTERM makes it
           write OUT/kea-shell-kea-ctrl-agent.json.
  verify   a third fresh Kea (empty: no lease, the configuration it started with),
           `pact-recorder verify --states-from-recording`; then, refused, again on a fresh Kea with what it asked
           for (verify2).
Then it prints the figures (commands that gave the expected answer through the recorder and directly, how many gave
the same answer both ways, exchanges, interactions, verified green / total, the secrets found in the files the
recorder wrote) and the failures grouped by cause, and writes them as JSON to DIR/figures.json (and --json FILE).

Each Kea is two processes in a folder of their own, started with it as their working directory: `kea-dhcp4 -c
kea-dhcp4.conf` (no interface to listen on, so it needs no network and no privilege; a memfile lease database in
`leases4.csv`, which starts absent; a unix control socket `kea4.sock`; one subnet, 10.0.0.0/24 with id 1; the
lease_cmds and stat_cmds hooks) and `kea-ctrl-agent -c kea-ctrl-agent.conf` (HTTP on a free port of 127.0.0.1,
Basic authentication with one client, USER / PASSWORD, forwarding `dhcp4` to that socket). Both configurations
name their files relative to that folder, as a deployment names fixed paths: the DHCPv4 configuration an
operator reads, edits and sets back is the same text in every phase. Their pid and lock files go there too
(KEA_PIDFILE_DIR, KEA_LOCKFILE_DIR).

The API: one URL, `POST /`, the operation inside the JSON body (`{"command": "lease4-get", "service": ["dhcp4"],
"arguments": {...}}`), the server it is for in `service` (none: the agent itself); every answer a list with one
result per service (`[{"result": 0, "text": "...", "arguments": {...}}]`), answered 200 whatever the result: 1 an
error (bad arguments, a lease that exists, a configuration refused), 2 a command the server does not know (the
subnet_cmds hook is ISC's premium one: `subnet4-list` is "not supported"), 3 nothing found; only the agent's own
Basic authentication is refused at the HTTP level (401). Leases are named by their IPv4 address, or by an
identifier (hw-address, client-id) within a subnet id, in the arguments.

The session is an operator's shell script: each `kea-shell --host 127.0.0.1 --port PORT --auth-user USER
--auth-password PASSWORD [--service dhcp4] COMMAND`, with the arguments on stdin as kea-shell reads them (the
inside of the `arguments` object), is one "test" (passed: the `result` it is expected to answer, or exit 1 for
the refusals at the HTTP level). It asks the agent what it offers, its version, status and its own configuration;
asks the DHCPv4 server its version, commands, status, build report, configuration, statistics and server tag;
tries `subnet4-list` (not supported); takes the configuration, adds a subnet (192.0.2.0/24, id 2, with a pool,
option data and two host reservations), tests it, tests a broken one (a pool outside its subnet), sets it, reads it
back and writes it to a file; adds leases (by hw-address, with a hostname, by client-id), then one that exists and
one in no subnet; gets them by address, by identifier, by hw-address, client-id and hostname, all of them, a
subnet's, by pages; updates one; reads lease statistics; gets, resets and removes statistics; deletes a lease,
twice, and reads it gone; wipes a subnet's leases; reclaims expired leases; disables and enables the DHCP
service; sends an unknown command, a command to a service the agent does not know, a lease read with no
arguments, a wrong password and no credentials at all; reloads the configuration from its file and reads it. Every
process started is stopped on the way out, on failure and on Ctrl-C or SIGTERM too.

Why kea-shell: it is Kea's own REST client, shipped with the control agent in Debian's package and versioned with
it; no Python client of this API on PyPI ships tests that run against a live Kea.

First contact (Kea 2.2.0, Debian 2.2.0-6): 57 commands, 57 / 57 with their expected answer both directly and through
the recorder (the same answer each); 57 exchanges, all recorded, 21 interactions (21 with a provider state). verify
with `--states-from-recording` alone refuses (exit 2: `authorization`, the operator's Basic credentials); with
`--secret authorization=Basic ...`: 21 / 21 green, hollow, and nothing secret on disk (but only because what held it
was pooled away). By class:
  - the operation inside a JSON body under a key the recorder does not read as one (`command`, where JSON-RPC has
    `method`): 35 commands (and one to a second service) in 21 interactions, told apart only by the keys their
    bodies send (every command without arguments to the DHCPv4 server is one interaction, `version-get` to
    `config-reload`; the agent's own `list-commands`, `version-get`, `status-get` and `config-get` another; every
    `lease4-add`, good or refused, another) and matched by type, so any command verifies any of them;
  - answers pooled over those: every response body `[{"result": 0}]` with `$[*].result` matched as an integer, so a
    result 1 (error), 2 (not supported) or 3 (empty), all answered 200, passes for a 0: a Kea started without its
    lease_cmds and stat_cmds hooks, which answers every lease command "not supported", verifies 21 / 21 too;
  - provider states made of those bodies' values (`the names it chooses are free` with `command: config-test`;
    `values handed out by earlier responses`), no lease a state of the reads that need one;
  - the agent's own `config-get`, whose answer holds the client's password, pooled with `list-commands` into an
    answer of one integer: the password is not on disk because nothing of that answer is.

Now (the same session, 57 / 57 the same): 57 exchanges, 49 interactions, exit 2 for the same Basic credentials;
with them **36 / 48**, nothing secret on disk (the agent's configuration kept, its client's password redacted). A
body's `command` names its operation as JSON-RPC's `method` does (one interaction per command, pinned; 40 / 44 at
that step), and the outcome code a 200 carries (`$[*].result`) is pinned by equality, a non-zero one an interaction
of its own (`(lease4-get; with error; ...)`): the hookless Kea is now red in 32 of 49 (14 of 44 after the first
step, 0 of 21 at first contact). The figure went down where the first step's green was a refusal passing for a
success. Left, by class:
  - a configuration one command sets that later commands need (10): `config-set` adds subnet 2 and no setup replays
    it, so the leases, statistics and wipes of subnet 2 are refused (`result` 1 or 3 where 0 was recorded); and the
    configuration `config-set` and `config-test` send back is rewritten by the states' generators, its values
    (`subnet4[0].subnet`, socket and library names, `id`) taken for values the earlier `config-get` handed out, so
    the fresh server refuses it (a reservation outside its subnet);
  - an absence that other interactions' setups undid (2): `lease4-del` of a lease already deleted, and
    `lease4-get-all` with none left, answered 0 where 3 was recorded (the leases other setups added are still
    there: the command envelope names no path an undo could delete);
  - what an earlier interaction did that no undo restores (1): `statistic-reset` of a statistic that
    `statistic-remove`, verified first, removed.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from common import free_port, start, tail, timed  # noqa: E402

PACKAGES = ("kea-ctrl-agent", "kea-dhcp4-server")  # Debian bookworm: 2.2.0; kea-shell is in kea-ctrl-agent
AGENT, DHCP4, SHELL = "kea-ctrl-agent", "kea-dhcp4", "kea-shell"
HOOKS = Path("/usr/lib/x86_64-linux-gnu/kea/hooks")
CONSUMER, PROVIDER = "kea-shell", "kea-ctrl-agent"
USER, PASSWORD = "operator", "Kea-ops-7f3c9e21"
WRONG_PASSWORD = "not-the-password"
COMMAND_SECONDS = 30
SUBNET_2 = {
    "id": 2,
    "subnet": "192.0.2.0/24",
    "pools": [{"pool": "192.0.2.100 - 192.0.2.199"}],
    "option-data": [{"name": "routers", "data": "192.0.2.1"}, {"name": "domain-name-servers", "data": "192.0.2.53"}],
    "reservations": [
        {"hw-address": "aa:bb:cc:00:00:01", "ip-address": "192.0.2.10", "hostname": "printer-1"},
        {"client-id": "01:aa:bb:cc:00:00:02", "ip-address": "192.0.2.11", "hostname": "camera-1"},
    ],
}


def dhcp4_config() -> dict:
    """The DHCPv4 server's configuration: no interface, memfile leases, a control socket, one subnet, the hooks."""
    return {
        "Dhcp4": {
            "interfaces-config": {"interfaces": []},
            "control-socket": {"socket-type": "unix", "socket-name": "kea4.sock"},
            "lease-database": {"type": "memfile", "persist": True, "name": "leases4.csv", "lfc-interval": 0},
            "hooks-libraries": [
                {"library": str(HOOKS / "libdhcp_lease_cmds.so")},
                {"library": str(HOOKS / "libdhcp_stat_cmds.so")},
            ],
            "valid-lifetime": 4000,
            "renew-timer": 1000,
            "rebind-timer": 2000,
            "subnet4": [{"id": 1, "subnet": "10.0.0.0/24", "pools": [{"pool": "10.0.0.10 - 10.0.0.200"}]}],
            "loggers": [{"name": "kea-dhcp4", "output_options": [{"output": "stdout"}], "severity": "INFO"}],
        }
    }


def agent_config(port: int) -> dict:
    return {
        "Control-agent": {
            "http-host": "127.0.0.1",
            "http-port": port,
            "authentication": {"type": "basic", "realm": "kea", "clients": [{"user": USER, "password": PASSWORD}]},
            "control-sockets": {"dhcp4": {"socket-type": "unix", "socket-name": "kea4.sock"}},
            "loggers": [{"name": "kea-ctrl-agent", "output_options": [{"output": "stdout"}], "severity": "INFO"}],
        }
    }


# --- setup -------------------------------------------------------------------------------------------


def setup() -> None:
    """kea-ctrl-agent (with kea-shell) and kea-dhcp4-server installed (neither ever run as a service)."""
    if not all(shutil.which(tool) for tool in (AGENT, DHCP4, SHELL)) or not (HOOKS / "libdhcp_lease_cmds.so").is_file():
        common.apt_install(*PACKAGES)


def version() -> str:
    done = subprocess.run([shutil.which(DHCP4) or DHCP4, "-v"], capture_output=True, text=True)
    return (done.stdout + done.stderr).strip() or "?"


# --- the server --------------------------------------------------------------------------------------


def start_kea(stack: ExitStack, work: Path) -> str:
    """A fresh kea-dhcp4 and kea-ctrl-agent of their own in `work`; the agent's URL once it reaches the server."""
    work.mkdir(parents=True, exist_ok=True)
    port = free_port()
    (work / "kea-dhcp4.conf").write_text(json.dumps(dhcp4_config(), indent=2))
    (work / "kea-ctrl-agent.conf").write_text(json.dumps(agent_config(port), indent=2))
    if len(str(work / "kea4.sock")) > 100:
        raise RuntimeError(f"{work} is too long a path for a unix socket: give --keep a shorter one")
    env = os.environ | {"KEA_PIDFILE_DIR": str(work), "KEA_LOCKFILE_DIR": str(work)}
    dhcp4 = start(stack, [shutil.which(DHCP4) or DHCP4, "-c", "kea-dhcp4.conf"], work / "dhcp4.log", cwd=work, env=env)
    agent = start(
        stack, [shutil.which(AGENT) or AGENT, "-c", "kea-ctrl-agent.conf"], work / "agent.log", cwd=work, env=env
    )
    url = f"http://127.0.0.1:{port}"
    wait_ready(url, {"dhcp4": (dhcp4, work / "dhcp4.log"), "agent": (agent, work / "agent.log")})
    return url


def wait_ready(url: str, procs: dict) -> None:
    """Poll the agent with the DHCPv4 server's `version-get` until it answers result 0 (the agent listens and
    reaches the server's socket)."""
    body = json.dumps({"command": "version-get", "service": ["dhcp4"]}).encode()
    auth = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    headers = {"Content-Type": "application/json", "Authorization": auth}
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + common.READY_SECONDS
    while time.monotonic() < deadline:
        for name, (proc, log) in procs.items():
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode} before serving:\n{tail(log)}")
        try:
            with opener.open(urllib.request.Request(url + "/", data=body, headers=headers), timeout=2) as r:
                if json.loads(r.read())[0].get("result") == 0:
                    return
        except (OSError, ValueError, IndexError, AttributeError):
            pass
        time.sleep(0.1)  # poll interval, not synchronisation
    raise RuntimeError(f"{url} did not reach the DHCPv4 server within {common.READY_SECONDS}s")


# --- the kea-shell session -----------------------------------------------------------------------------

HTTP_ERROR = "http-error"  # expected: kea-shell exits 1 ("Failed to run: HTTP Error 401: Unauthorized")


class Session:
    """Runs `kea-shell --host H --port P --auth-user U --auth-password W [--service S] COMMAND`, each a "test"."""

    def __init__(self, url: str, work: Path):
        m = re.fullmatch(r"http://([\d.]+):(\d+)", url)
        self.host, self.port = m.group(1), m.group(2)
        self.work = work
        self.log = work / "kea-shell.log"
        drop = ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "all_proxy", "NO_PROXY")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
        self.results: list[dict] = []

    def kea(
        self,
        command: str,
        args: dict | None = None,
        *,
        service: str | None = "dhcp4",
        expect: int | str = 0,
        auth: tuple[str, str] | None = (USER, PASSWORD),
    ) -> dict:
        """One kea-shell command, its arguments (a dict) on stdin; the first answer's object ({} if none)."""
        cmd = [shutil.which(SHELL) or SHELL, "--host", self.host, "--port", self.port, "--timeout", "20"]
        if auth:
            cmd += ["--auth-user", auth[0], "--auth-password", auth[1]]
        if service:
            cmd += ["--service", service]
        cmd.append(command)
        stdin = json.dumps(args)[1:-1] if args else ""  # kea-shell wraps stdin in `"arguments": { ... }`
        shown = f"{command}" + (f" --service {service}" if service else "") + (f" {stdin[:60]}" if stdin else "")
        shown += "" if auth == (USER, PASSWORD) else f" (auth {'none' if not auth else auth[1]})"
        t = time.monotonic()
        with open(self.log, "ab") as log:
            log.write(f"\n$ kea-shell {shown}\n".encode())
            try:
                done = subprocess.run(
                    cmd, cwd=self.work, env=self.env, input=stdin.encode(), capture_output=True,
                    timeout=COMMAND_SECONDS, start_new_session=True,
                )  # fmt: skip
                code, out, err = done.returncode, done.stdout, done.stderr
            except subprocess.TimeoutExpired as e:
                code, out, err = -1, e.stdout or b"", (e.stderr or b"") + b"\n(timed out)"
            log.write(out + err + f"(exit {code})\n".encode())
        answer: dict = {}
        try:
            parsed = json.loads(out)
            answer = parsed[0] if isinstance(parsed, list) and parsed else parsed if isinstance(parsed, dict) else {}
        except ValueError:
            pass
        got = answer.get("result") if code == 0 and answer else HTTP_ERROR if code == 1 else f"exit {code}"
        result = {"command": shown, "exit": got, "expect": expect, "ok": got == expect}
        result["seconds"] = round(time.monotonic() - t, 1)
        if got != expect:
            result["output"] = (out + err).decode(errors="replace")[-600:]
        self.results.append(result)
        return answer

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
    """An operator's session against the control agent at `url` (see the docstring)."""
    work.mkdir(parents=True, exist_ok=True)
    s = Session(url, work)
    # the agent itself
    s.kea("list-commands", service=None)
    s.kea("version-get", service=None)
    s.kea("status-get", service=None)
    s.kea("config-get", service=None)
    # the DHCPv4 server: what is there
    s.kea("version-get")
    s.kea("list-commands")
    s.kea("status-get")
    s.kea("build-report")
    config = s.kea("config-get").get("arguments", {}).get("Dhcp4") or dhcp4_config()["Dhcp4"]
    s.kea("statistic-get-all")
    s.kea("server-tag-get")
    s.kea("subnet4-list", expect=2)  # subnet_cmds is ISC's premium hook: not supported
    # a second subnet, by the configuration
    config = {k: v for k, v in config.items() if k != "hash"}
    config["subnet4"] = [*config.get("subnet4", []), SUBNET_2]
    broken = json.loads(json.dumps(config))
    broken["subnet4"][-1] = SUBNET_2 | {"id": 3, "subnet": "198.51.100.0/24", "reservations": []}  # pool outside
    s.kea("config-test", {"Dhcp4": config})
    s.kea("config-test", {"Dhcp4": broken}, expect=1)
    s.kea("config-set", {"Dhcp4": config})
    s.kea("config-get")
    s.kea("config-write", {"filename": "kea-dhcp4.saved.conf"})
    # leases
    s.kea("lease4-add", {"ip-address": "10.0.0.50", "hw-address": "1a:1b:1c:1d:1e:1f", "hostname": "laptop-7"})
    s.kea("lease4-add", {"ip-address": "192.0.2.150", "subnet-id": 2, "hw-address": "2a:2b:2c:2d:2e:2f"})
    s.kea("lease4-add", {"ip-address": "192.0.2.151", "hw-address": "3a:3b:3c:3d:3e:3f", "client-id": "01:02:03:04"})
    s.kea("lease4-add", {"ip-address": "10.0.0.50", "hw-address": "1a:1b:1c:1d:1e:1f"}, expect=1)  # exists
    s.kea("lease4-add", {"ip-address": "172.16.0.5", "hw-address": "4a:4b:4c:4d:4e:4f"}, expect=1)  # no subnet
    s.kea("lease4-get", {"ip-address": "10.0.0.50"})
    s.kea("lease4-get", {"identifier-type": "hw-address", "identifier": "2a:2b:2c:2d:2e:2f", "subnet-id": 2})
    s.kea("lease4-get", {"ip-address": "10.0.0.99"}, expect=3)  # none
    s.kea("lease4-get", expect=1)  # no arguments
    s.kea("lease4-get-all")
    s.kea("lease4-get-all", {"subnets": [2]})
    s.kea("lease4-get-page", {"from": "start", "limit": 2})
    s.kea("lease4-get-page", {"from": "192.0.2.150", "limit": 2})
    s.kea("lease4-get-by-hw-address", {"hw-address": "1a:1b:1c:1d:1e:1f"})
    s.kea("lease4-get-by-client-id", {"client-id": "01:02:03:04"})
    s.kea("lease4-get-by-hostname", {"hostname": "laptop-7"})
    s.kea(
        "lease4-update",
        {
            "ip-address": "10.0.0.50",
            "hw-address": "1a:1b:1c:1d:1e:1f",
            "hostname": "laptop-7.example.org",
            "valid-lft": 7200,
        },
    )
    s.kea("lease4-get", {"ip-address": "10.0.0.50"})
    # statistics
    s.kea("stat-lease4-get")
    s.kea("stat-lease4-get", {"subnet-id": 2})
    s.kea("statistic-get", {"name": "subnet[2].total-addresses"})
    s.kea("statistic-reset", {"name": "pkt4-received"})
    s.kea("statistic-remove", {"name": "pkt4-received"})
    s.kea("statistic-reset-all")
    s.kea("statistic-get-all")
    # tidying leases
    s.kea("lease4-del", {"ip-address": "10.0.0.50"})
    s.kea("lease4-del", {"ip-address": "10.0.0.50"}, expect=3)
    s.kea("lease4-get", {"ip-address": "10.0.0.50"}, expect=3)
    s.kea("lease4-wipe", {"subnet-id": 2})
    s.kea("lease4-get-all", expect=3)  # none left
    s.kea("leases-reclaim", {"remove": True})
    # the service
    s.kea("dhcp-disable", {"max-period": 60})
    s.kea("status-get")
    s.kea("dhcp-enable")
    # refusals on purpose
    s.kea("lease4-frobnicate", {"ip-address": "10.0.0.1"}, expect=2)
    s.kea("version-get", service="dhcp6", expect=1)  # no socket for it in the agent's configuration
    s.kea("version-get", auth=(USER, WRONG_PASSWORD), expect=HTTP_ERROR)  # 401
    s.kea("status-get", auth=None, expect=HTTP_ERROR)  # 401
    # back to the configuration on file
    s.kea("config-reload")
    s.kea("config-get")
    return s.counts()


# --- secrets on disk and the verifier ----------------------------------------------------------------


def secrets_on_disk(out: Path) -> dict[str, list[str]]:
    """Per file the recorder wrote (everything under OUT but the server's folder and the session's log), the
    password and the Basic credentials built on it, found in it."""
    found: dict[str, list[str]] = {}
    basic = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    for p in sorted(out.rglob("*")):
        rel = p.relative_to(out)
        if not p.is_file() or rel.parts[0] == "server" or p.name in ("kea-shell.log", "record.log"):
            continue
        text = p.read_text(errors="replace")
        hits = [what for what, value in (("the password", PASSWORD), ("Basic credentials", basic)) if value in text]
        if hits:
            found[str(rel)] = hits
    return found


def answers(message: str) -> list[str]:
    """`--secret NAME=VALUE` for each secret the refusal names: the operator's password, or its Basic credentials
    for a redacted `Authorization`."""
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
            direct_run = run_session(start_kea(stack, work / "direct" / "server"), work / "direct")
    out = work / "record"
    with timed(seconds, "record"), ExitStack() as stack:
        server = start_kea(stack, out / "server")
        recorder, url, log = common.start_recorder(stack, CONSUMER, PROVIDER, server, out)
        recorded = run_session(url, out)
        common.finish_recording(recorder, log)
    pact = out / f"{CONSUMER}-{PROVIDER}.json"
    if not pact.is_file():
        raise RuntimeError(f"the recorder wrote no {pact.name}:\n{tail(log)}")
    on_disk = secrets_on_disk(out)
    runs: list[dict] = []
    args = ["--states-from-recording"]
    with timed(seconds, "verify"), ExitStack() as stack:
        server = start_kea(stack, work / "verify" / "server")
        report, outcome = common.verify_outcome(stack, pact, server, work / "verify", args)
        runs.append(outcome)
    if report is None or verify_args:  # refused (or asked for): once more with the extra, on a fresh Kea
        extra = verify_args or answers(outcome["message"])
        if report is None and not extra:
            raise RuntimeError(f"verify refused (exit {outcome['exit']}):\n{outcome['message']}")
        with timed(seconds, "verify2"), ExitStack() as stack:
            server = start_kea(stack, work / "verify2" / "server")
            args = [*args, *extra]
            report, outcome = common.verify_outcome(stack, pact, server, work / "verify2", args)
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
        print(f"transparency: {same['same_exit']} / {same['steps']} commands gave the same answer both ways")
        for line in same["differ"]:
            print(f"  differs: {line}")
    print("secrets in files the recorder wrote: " + ("; ".join(f"{f}: {', '.join(h)}" for f, h in on_disk.items())
                                                     or "none"))  # fmt: skip
    if report is None:
        raise RuntimeError(f"pact-recorder verify wrote no report (exit {runs[-1]['exit']}):\n{runs[-1]['message']}")
    return {
        "kea": version(),
        "consumer": "kea-shell (Kea's own REST client)",
        "verify_args": args,
        "verify_runs": runs,
        "seconds": seconds,
        "direct": direct_run,
        "recorded": recorded,
        "transparency": same,
        "secrets_on_disk": on_disk,
        "recording": common.recording_figures(pact),
        "verify": common.verify_figures(report),
        "failures": common.group_failures(report),
    }


if __name__ == "__main__":
    sys.exit(common.main("kea", __doc__, phases, sys.argv[1:], setup))
