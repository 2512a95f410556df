"""Record RabbitMQ's management HTTP API while the real rabbitmqadmin CLI runs an operator's session against it,
then verify the pact against a fresh, empty broker.

    .venv/bin/python bench/thirdparty/rabbitmq.py [--keep DIR] [--json FILE] [--no-direct] [-- VERIFY_ARGS...]

`verify` gets `--states-from-recording` and nothing else (the first contact). Where it refuses to start (exit 2:
the recording redacted the default account's Basic credentials and nobody gave them), that refusal and its
message are the first figure, and verify runs once more with the least the message asks for: VERIFY_ARGS
(everything after `--`, which make that second run in any case) if given, else `--secret NAME=VALUE` for each
NAME it names, VALUE the default account's password `guest` (a redacted `Authorization` as `Basic guest:guest`),
as a user who read RabbitMQ's documentation would give it.

What it does, each phase timed:
  setup    RabbitMQ from Debian's `rabbitmq-server` (3.10.x, with Erlang; `apt-get install` when it is missing;
           the system service is never started or used), and a venv of its own under .venv/thirdparty/rabbitmq/
           (rabbitmqadmin needs only the standard library: no package to pin) with the consumer, rabbitmqadmin,
           copied into its bin: the management plugin's own `priv/www/cli/rabbitmqadmin`, byte for byte what
           the broker serves at /cli/rabbitmqadmin.
  direct   a fresh broker and the session below run straight against its management port (--no-direct
           leaves this out).
  record   another fresh broker, `pact-recorder record --consumer rabbitmqadmin --provider rabbitmq` in front
           of its management port, the same session pointed at the recorder; SIGTERM makes it write
           OUT/rabbitmqadmin-rabbitmq.json.
  verify   a third fresh broker (empty: only the `/` vhost and the guest account), `pact-recorder verify
           --states-from-recording`; then, refused, again on a fresh broker with what it asked for (verify2).
Then it prints the figures (commands whose exit code is the expected one through the recorder and directly, how
many gave the same exit code both ways, exchanges, interactions, verified green / total) and the failures
grouped by cause, and writes them as JSON to DIR/figures.json (and --json FILE).

Each broker is a node of its own, started offline from a work dir: `rabbitmq-server` run directly (not the
Debian wrapper, which switches to the rabbitmq user and the system's paths) with RABBITMQ_* variables naming
its own node (`harness-PORT@localhost`), its own mnesia and log dirs, a rabbitmq.conf (AMQP and management
listeners on free ports of 127.0.0.1) and an enabled_plugins file with rabbitmq_management (what
`rabbitmq-plugins enable rabbitmq_management` writes), HOME in the work dir (its own Erlang cookie), its
distribution port on 127.0.0.1, and an epmd of its own on a free port of 127.0.0.1 (started by the harness in
the foreground, so that it is stopped with the broker, never the system's epmd on 4369).

The session is an operator's shell script: each `rabbitmqadmin` command is one "test" (passed: the exit code
it is expected to have; 0, or 1 for a refusal the session provokes on purpose: an account without the
management tag, a queue its permissions do not let it configure, a queue already deleted). As guest/guest (the
default account, administrator) it makes vhosts (`shop`, `scratch`, and uses the default vhost `/`, `%2F` in
the paths), users with passwords and tags, permissions, a vhost limit, topic and fanout exchanges, classic
and quorum queues (one with arguments), queue and exchange-to-exchange bindings, a policy; publishes through
exchanges and the default exchange, gets messages (requeued and not), purges, exports the definitions, lists
everything with columns, and deletes most of it again; as `alice` (management tag, permissions on `shop`)
it lists and declares queues. Every process started is stopped on the way out, on failure and on Ctrl-C or
SIGTERM too.

Why rabbitmqadmin: the Python clients of this API on PyPI (pyrabbit2 1.0.7, pyrabbit 1.1.0, rabbitmq-admin 0.2)
ship no tests in their sdists, and their live tests exist only in their repositories, which a run must not
download; rabbitmqadmin is the broker's own CLI, versioned with it, and a session covers more of the API than
those tests do (users and permissions, limits, policies, bindings, publish and get).

First contact (RabbitMQ 3.10.8, rabbitmqadmin 3.10.8): 57 commands, 57 / 57 with their expected exit code both
directly and through the recorder (the same exit code each); 57 exchanges, 54 interactions (53 with a provider
state). verify with `--states-from-recording` alone: exit 2, `authorization: needed by 70 request(s)` (guest's
Basic credentials); with `--secret authorization=Basic <guest:guest>`: 40 / 54 green. Left, by class: states of
resources a request names outside its own path (a binding's source exchange and destination queue, the queue
a publish's routing key names, what the definitions list) set up before (or without) the vhost they live in, which their
setup does not make (the vhost is `/api/vhosts/shop`, the queue `/api/queues/shop/q`: the link is a value, not
the path), 8 (46 / 54 with the vhost's state first); messages a read gets that a publish to an exchange put
there (routed by the broker by a routing key in the body), 4; a permission, a resource of its own, that lets
another account write, not a state of that account's requests, 1; a PUT answered 204 (an update: creating the
vhost gave its creator permissions on it) read as the creation of something absent, 1; a binding created by a
POST whose key the broker derives from the body (Location `q/orders.us/us.%23`, deleted as `us.%2523`), 1 (behind
the first class).
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from common import ROOT, free_port, start, tail, timed  # noqa: E402

PACKAGE = "rabbitmq-server"  # Debian bookworm: 3.10.8
SERVER = Path("/usr/lib/rabbitmq/bin/rabbitmq-server")
PLUGINS = Path("/usr/lib/rabbitmq/lib")
HOME = ROOT / ".venv" / "thirdparty" / "rabbitmq"
VENV = HOME / "venv"
ADMIN = VENV / "bin" / "rabbitmqadmin"
PINS: list[str] = []  # rabbitmqadmin imports only the standard library
CONSUMER, PROVIDER = "rabbitmqadmin", "rabbitmq"
GUEST = ("guest", "guest")  # the account every fresh broker has (administrator, loopback only)
COMMAND_SECONDS = 60


# --- setup -------------------------------------------------------------------------------------------


def admin_script() -> Path:
    """The management plugin's rabbitmqadmin (what a broker serves at /cli/rabbitmqadmin)."""
    found = sorted(PLUGINS.glob("rabbitmq_server-*/plugins/rabbitmq_management-*/priv/www/cli/rabbitmqadmin"))
    if not found:
        sys.exit(f"harness: no rabbitmqadmin under {PLUGINS} (is {PACKAGE} installed whole?)")
    return found[-1]


def setup() -> Path:
    """rabbitmq-server installed (never started as a service) and the venv with rabbitmqadmin; its path."""
    if not SERVER.is_file() or not shutil.which("epmd"):
        common.apt_install(PACKAGE)
    script = admin_script()
    stamp = HOME / ".installed"
    want = "\n".join([*PINS, str(script)])
    if stamp.is_file() and stamp.read_text() == want and ADMIN.is_file():
        return ADMIN
    print(f"setup: a venv with {script.name} from {script.parent.parent.parent.parent.name}", flush=True)
    shutil.rmtree(HOME, ignore_errors=True)
    HOME.mkdir(parents=True)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    if PINS:
        common.pip(VENV / "bin" / "python", "install", *PINS)
    shutil.copyfile(script, ADMIN)
    ADMIN.chmod(0o755)
    stamp.write_text(want)
    return ADMIN


def version() -> str:
    done = subprocess.run([str(VENV / "bin" / "python"), str(ADMIN), "--version"], capture_output=True, text=True)
    return done.stdout.split()[-1] if done.returncode == 0 and done.stdout.split() else "?"


# --- RabbitMQ ----------------------------------------------------------------------------------------


def wait_api(url: str, proc: subprocess.Popen, log: Path) -> None:
    """Poll `url` as guest until it answers 200; fail at once if the broker died."""
    auth = "Basic " + base64.b64encode(":".join(GUEST).encode()).decode()
    deadline = time.monotonic() + 2 * common.READY_SECONDS  # a node boots in ~5 s; under load, more
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"rabbitmq-server exited with {proc.returncode} before serving:\n{tail(log)}")
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers={"Authorization": auth}), timeout=2) as r:
                if r.status == 200:
                    return
        except (urllib.error.HTTPError, OSError):
            pass
        time.sleep(0.2)  # poll interval, not synchronisation
    raise RuntimeError(f"{url} did not answer within {2 * common.READY_SECONDS}s:\n{tail(log)}")


def wait_port(port: int, proc: subprocess.Popen, log: Path) -> None:
    """Wait until something listens on 127.0.0.1:port (epmd)."""
    deadline = time.monotonic() + common.READY_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"epmd exited with {proc.returncode}:\n{tail(log)}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)  # poll interval, not synchronisation
    raise RuntimeError(f"epmd did not listen on {port}:\n{tail(log)}")


def start_rabbitmq(stack: ExitStack, work: Path) -> str:
    """A fresh broker of its own (node, epmd, data, ports; management plugin on) in `work`; the URL of its
    management API once it answers."""
    work.mkdir(parents=True, exist_ok=True)
    ports: list[int] = []
    while len(ports) < 4:  # four distinct ones
        if (port := free_port()) not in ports:
            ports.append(port)
    amqp, management, dist, epmd = ports
    (work / "home").mkdir(exist_ok=True)
    (work / "enabled_plugins").write_text("[rabbitmq_management].\n")
    (work / "rabbitmq.conf").write_text(
        f"listeners.tcp.default = 127.0.0.1:{amqp}\nmanagement.tcp.ip = 127.0.0.1\nmanagement.tcp.port = {management}\n"
    )
    (work / "rabbitmq-env.conf").write_text("# the harness's: nothing from /etc/rabbitmq\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RABBITMQ_", "ERL_"))}
    env |= {
        "HOME": str(work / "home"),  # its own .erlang.cookie
        "ERL_EPMD_PORT": str(epmd),
        "ERL_EPMD_ADDRESS": "127.0.0.1",
        "RABBITMQ_NODENAME": f"harness-{amqp}@localhost",
        "RABBITMQ_CONF_ENV_FILE": str(work / "rabbitmq-env.conf"),
        "RABBITMQ_CONFIG_FILE": str(work / "rabbitmq.conf"),
        "RABBITMQ_ADVANCED_CONFIG_FILE": str(work / "advanced.config"),
        "RABBITMQ_ENABLED_PLUGINS_FILE": str(work / "enabled_plugins"),
        "RABBITMQ_MNESIA_BASE": str(work / "mnesia"),
        "RABBITMQ_LOG_BASE": str(work / "log"),
        "RABBITMQ_LOGS": "-",  # to the log file below
        "RABBITMQ_PID_FILE": str(work / "rabbitmq.pid"),
        "RABBITMQ_DIST_PORT": str(dist),
        "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
    }
    epmd_log = work / "epmd.log"
    epmd_proc = start(stack, ["epmd", "-port", str(epmd), "-address", "127.0.0.1"], epmd_log, cwd=work, env=env)
    wait_port(epmd, epmd_proc, epmd_log)
    log = work / "rabbitmq.log"
    proc = start(stack, [str(SERVER)], log, cwd=work, env=env)  # stopped before epmd: the stack unwinds LIFO
    url = f"http://127.0.0.1:{management}"
    wait_api(url + "/api/overview", proc, log)
    return url


# --- the rabbitmqadmin session -----------------------------------------------------------------------


class Session:
    """Runs `rabbitmqadmin` commands against one management URL, each a "test" of its own."""

    def __init__(self, url: str, work: Path):
        self.host, self.port = url.removeprefix("http://").rsplit(":", 1)
        self.work = work
        self.log = work / "rabbitmqadmin.log"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
        self.env["HOME"] = str(work)  # no ~/.rabbitmqadmin.conf of the user's
        self.results: list[dict] = []

    def admin(self, *args: str, user: tuple[str, str] = GUEST, vhost: str | None = None, expect: int = 0) -> str:
        """`rabbitmqadmin -H HOST -P PORT -u USER -p PASSWORD [-V VHOST] ARGS`; its output."""
        shown = " ".join(args) + (f"  (-V {vhost})" if vhost else "") + (f"  (as {user[0]})" if user != GUEST else "")
        cmd = [str(VENV / "bin" / "python"), str(ADMIN), "-H", self.host, "-P", self.port, "-u", user[0]]
        cmd += ["-p", user[1], *(["-V", vhost] if vhost else []), *args]
        t = time.monotonic()
        with open(self.log, "ab") as log:
            log.write(f"\n$ rabbitmqadmin {shown}\n".encode())
            log.flush()
            try:
                done = subprocess.run(
                    cmd, cwd=self.work, env=self.env, capture_output=True, timeout=COMMAND_SECONDS,
                    start_new_session=True,
                )  # fmt: skip
                code, out, err = done.returncode, done.stdout, done.stderr
            except subprocess.TimeoutExpired as e:
                code, out, err = -1, e.stdout or b"", (e.stderr or b"") + b"\n(timed out)"
            log.write(out + err)
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
    """An operator's session against the management API at `url` (see the docstring)."""
    work.mkdir(parents=True, exist_ok=True)
    s = Session(url, work)
    shop = "shop"
    alice, bob = ("alice", "alice-pass-1"), ("bob", "bob-pass-2")
    # what is there
    s.admin("show", "overview")
    s.admin("list", "nodes", "name", "type", "running")
    s.admin("list", "vhosts")
    s.admin("list", "users")
    s.admin("list", "exchanges", "name", "type", vhost="/")
    # vhosts, users, permissions, limits
    s.admin("declare", "vhost", f"name={shop}")
    s.admin("declare", "vhost", "name=scratch", "tracing=true")
    s.admin("-f", "raw_json", "list", "vhosts", "name", "tracing")
    s.admin("declare", "user", f"name={alice[0]}", f"password={alice[1]}", "tags=management")
    s.admin("declare", "user", f"name={bob[0]}", f"password={bob[1]}", "tags=")
    s.admin("list", "users", "name", "tags")
    s.admin("declare", "permission", f"vhost={shop}", "user=alice", "configure=^orders\\..*", "write=.*", "read=.*")
    s.admin("declare", "permission", f"vhost={shop}", "user=guest", "configure=.*", "write=.*", "read=.*")
    s.admin("list", "permissions")
    s.admin("declare", "vhost_limit", f"vhost={shop}", "name=max-queues", "value=20")
    s.admin("list", "vhost_limits")
    # topology in `shop`
    s.admin("declare", "exchange", "name=orders", "type=topic", "durable=true", vhost=shop)
    s.admin("declare", "exchange", "name=events", "type=fanout", "auto_delete=false", vhost=shop)
    s.admin("declare", "queue", "name=orders.eu", "durable=true", vhost=shop)
    s.admin("declare", "queue", "name=orders.us", 'arguments={"x-max-length": 100}', vhost=shop)
    s.admin("declare", "queue", "name=audit", "durable=true", "queue_type=quorum", vhost=shop)
    s.admin("declare", "binding", "source=orders", "destination=orders.eu", "routing_key=eu.*", vhost=shop)
    s.admin("declare", "binding", "source=orders", "destination=orders.us", "routing_key=us.#", vhost=shop)
    s.admin("declare", "binding", "source=orders", "destination_type=exchange", "destination=events",
            "routing_key=#", vhost=shop)  # fmt: skip
    s.admin("declare", "binding", "source=events", "destination=audit", vhost=shop)
    s.admin("list", "exchanges", "name", "type", "durable", vhost=shop)
    s.admin("list", "bindings", "source", "destination", "routing_key", vhost=shop)
    # messages
    s.admin("publish", "exchange=orders", "routing_key=eu.new", 'payload={"order": 1}',
            'properties={"content_type": "application/json"}', vhost=shop)  # fmt: skip
    s.admin("publish", "exchange=orders", "routing_key=us.ca.new", 'payload={"order": 2}', vhost=shop)
    s.admin("publish", "exchange=events", "routing_key=any", "payload=ping", vhost=shop)
    s.admin("publish", "routing_key=orders.eu", "payload=straight to the queue", vhost=shop)  # the default exchange
    s.admin("get", "queue=orders.eu", "count=2", "ackmode=ack_requeue_true", vhost=shop)
    s.admin("get", "queue=orders.us", "ackmode=ack_requeue_false", vhost=shop)
    s.admin("get", "queue=audit", "count=5", "ackmode=ack_requeue_false", vhost=shop)
    s.admin("list", "queues", "name", "durable", "arguments", vhost=shop)
    s.admin("purge", "queue", "name=orders.eu", vhost=shop)
    s.admin("declare", "policy", "name=ttl", "pattern=^orders\\.", 'definition={"message-ttl": 60000}',
            "apply-to=queues", vhost=shop)  # fmt: skip
    s.admin("list", "policies", vhost=shop)
    # another account: alice (management, configure only ^orders\.), bob (no management tag)
    s.admin("list", "queues", "name", vhost=shop, user=alice)
    s.admin("declare", "queue", "name=orders.alice", vhost=shop, user=alice)
    s.admin("declare", "queue", "name=audit.alice", vhost=shop, user=alice, expect=1)  # 403: not ^orders\.
    s.admin("list", "vhosts", user=bob, expect=1)  # 401: not a management user
    # the default vhost
    s.admin("declare", "queue", "name=jobs", vhost="/")
    s.admin("publish", "routing_key=jobs", "payload=job 1", vhost="/")
    s.admin("get", "queue=jobs", "ackmode=ack_requeue_false", vhost="/")
    s.admin("export", str(work / "definitions.json"))
    # tearing down
    s.admin("delete", "binding", "source=orders", "destination_type=queue", "destination=orders.us",
            "properties_key=us.%23", vhost=shop)  # fmt: skip
    s.admin("delete", "queue", "name=orders.us", vhost=shop)
    s.admin("get", "queue=orders.us", vhost=shop, expect=1)  # 404: deleted
    s.admin("delete", "exchange", "name=events", vhost=shop)
    s.admin("delete", "policy", "name=ttl", vhost=shop)
    s.admin("delete", "vhost_limit", f"vhost={shop}", "name=max-queues")
    s.admin("delete", "permission", f"vhost={shop}", "user=alice")
    s.admin("delete", "user", "name=bob")
    s.admin("delete", "queue", "name=jobs", vhost="/")
    s.admin("delete", "vhost", "name=scratch")
    s.admin("list", "vhosts", "name")
    return s.counts()


# --- the verifier ------------------------------------------------------------------------------------


def answers(message: str) -> list[str]:
    """`--secret NAME=VALUE` for each secret the refusal names: the default account's password, or its Basic
    credentials for a redacted `Authorization`."""
    args = []
    for name in re.findall(r"^\s+(\w+): needed by", message, re.M):
        value = GUEST[1]
        if name.startswith("authorization"):
            value = "Basic " + base64.b64encode(":".join(GUEST).encode()).decode()
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
            direct_run = run_session(start_rabbitmq(stack, work / "direct" / "rabbitmq"), work / "direct")
    out = work / "record"
    with timed(seconds, "record"), ExitStack() as stack:
        broker = start_rabbitmq(stack, out / "rabbitmq")
        recorder, url, log = common.start_recorder(stack, CONSUMER, PROVIDER, broker, out)
        recorded = run_session(url, out)
        common.finish_recording(recorder, log)
    pact = out / f"{CONSUMER}-{PROVIDER}.json"
    if not pact.is_file():
        raise RuntimeError(f"the recorder wrote no {pact.name}:\n{tail(log)}")
    runs: list[dict] = []
    args = ["--states-from-recording"]
    with timed(seconds, "verify"), ExitStack() as stack:
        broker = start_rabbitmq(stack, work / "verify" / "rabbitmq")
        report, outcome = common.verify_outcome(stack, pact, broker, work / "verify", args)
        runs.append(outcome)
    if report is None or verify_args:  # refused (or asked for): once more with the extra, on a fresh broker
        extra = verify_args or answers(outcome["message"])
        if report is None and not extra:
            raise RuntimeError(f"verify refused (exit {outcome['exit']}):\n{outcome['message']}")
        with timed(seconds, "verify2"), ExitStack() as stack:
            broker = start_rabbitmq(stack, work / "verify2" / "rabbitmq")
            args = [*args, *extra]
            report, outcome = common.verify_outcome(stack, pact, broker, work / "verify2", args)
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
        "rabbitmq": version(),
        "consumer": "rabbitmqadmin (the management plugin's CLI)",
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
    sys.exit(common.main("rabbitmq", __doc__, phases, sys.argv[1:], setup))
