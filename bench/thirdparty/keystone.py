"""Record OpenStack Keystone's identity API v3 while the real `openstack` CLI runs an identity administrator's
session against it, then verify the pact against a fresh, empty Keystone.

    .venv/bin/python bench/thirdparty/keystone.py [--keep DIR] [--json FILE] [--no-direct] [-- VERIFY_ARGS...]

`verify` gets `--states-from-recording` and nothing else (the first contact). Where it refuses to start (exit 2:
it asks for secrets the recording redacted), that refusal and its message are the first figure, and verify runs
once more with the least the message asks for: VERIFY_ARGS (everything after `--`, which make that second run
in any case) if given, else `--secret NAME=VALUE` for each NAME it names, VALUE the real one the session used
(the admin's bootstrap password, a user's password, an application credential's secret), as the operator who
ran the session would give it.

What it does, each phase timed:
  setup    under .venv/thirdparty/keystone/: a venv `server` with Keystone from PyPI and gunicorn (SERVER_PINS),
           and a venv `client` with python-openstackclient (CLIENT_PINS), each installed once per pin set.
  direct   a fresh Keystone and the session below run straight against it (--no-direct leaves this out).
  record   another fresh Keystone, `pact-recorder record --consumer openstackclient --provider keystone` in
           front of it, the same session pointed at the recorder; SIGTERM makes it write
           OUT/openstackclient-keystone.json.
  verify   a third fresh Keystone (empty: only what `keystone-manage bootstrap` makes: the Default domain, the
           admin project, user and role, the member, reader, manager and service roles, the identity service
           and its endpoints in RegionOne), `pact-recorder verify --states-from-recording`; then, refused,
           again on a fresh one with what it asked for (verify2).
Then it prints the figures (commands whose exit code is the expected one through the recorder and directly, how
many gave the same exit code both ways, exchanges, interactions, verified green / total) and the failures
grouped by cause, and writes them as JSON to DIR/figures.json (and --json FILE).

Each Keystone is set up in its own work dir as its install guide says: a keystone.conf of the harness's (SQLite
database, fernet tokens, the key repositories and the log in the work dir), `keystone-manage db_sync`,
`fernet_setup`, `credential_setup`, `bootstrap --bootstrap-password ...` with the identity endpoints (public,
internal, admin) at the URL its clients reach, then the WSGI app `keystone.wsgi.api:application` served by
gunicorn (one sync worker) on a free port of 127.0.0.1. Through the recorder, the URL the clients reach is the
recorder's: the catalog's endpoints and `public_endpoint` name it, as they would name a proxy in front of a
deployed Keystone (the CLI takes the identity endpoint from the catalog after it logs in). The app is loaded
through a two-line module that clears gunicorn's argv first (oslo.config parses sys.argv).

The API: the identity API v3: version discovery at `/v3`, `POST /v3/auth/tokens` (a password or an application
credential in the body; the token handed out in the `X-Subject-Token` response header, sent back in `X-Auth-Token`
on every later request), `/v3/domains`, `/v3/projects` (a parent, `?domain_id=`, `?name=`), `/v3/users`,
`/v3/groups` and `/v3/groups/{id}/users/{id}` (membership by PUT, HEAD, DELETE), `/v3/roles`, role grants at
`/v3/projects/{id}/users/{id}/roles/{id}` and the like (PUT, DELETE), `/v3/role_assignments` (filters in the
query: `user.id`, `scope.project.id`, `effective`, `include_names`), `/v3/roles/{id}/implies/{id}`,
`/v3/credentials` (a blob in the body), `/v3/users/{id}/application_credentials`; ids the server hands out as
32 hex digits, and the CLI finds everything by name: a GET by the name as an id (404) then a list filtered by
`?name=`.

The session is an identity administrator's shell script: each `openstack ARGS` is one "test" (passed: the exit
code it is expected to have; 0, or 1 for the refusals the session provokes on purpose: a project that does not
exist (404), a domain and a user made twice (409), a login with a wrong password (401), a listing a member may
not do (403), a membership of a group that does not exist (404)). As the admin (password, scoped to the admin
project, as bootstrap made it) it reads the catalog, endpoints, services, regions and roles; makes a domain,
projects in it (one a child of another) and in Default, users with passwords and emails and default projects,
a group with members, roles with an implication, grants on projects and domains to users and groups, reads the
assignments; as alice (a member of a project) it logs in, makes an application credential and logs in with it;
as the admin it adds an EC2 credential, then removes most of it again (disabled before deleted where Keystone
requires it). Every process started is stopped on the way out, on failure and on Ctrl-C or SIGTERM too.

Why the openstack CLI: it is the identity API's own client (python-openstackclient over openstacksdk and
keystoneauth), what an administrator of an OpenStack cloud types; the functional tests of the clients
(keystoneclient, openstacksdk) expect a devstack cloud, which a run here cannot have.

Verify's second run: when verify does not refuse but its hints on 401s name secrets ("pass the real value(s)
with --secret NAME=VALUE"), it runs again with the real value of each named one that the provider held
before the session (see `answers`): here only `password`, the admin's.

First contact (Keystone 30.0.0 under gunicorn 27.0.1, python-openstackclient 10.5.0): 70 commands, 70 / 70
with their expected exit code both directly and through the recorder (the same exit code each); 375
exchanges, all recorded, 76 interactions (75 with a provider state). verify with `--states-from-recording`
alone does not refuse (exit 1): 1 / 76, every setup's admin login answered 401. The admin's password (set by
bootstrap, outside the API) is redacted but not asked for: the login, `POST /v3/auth/tokens`, is answered
201, so it is taken for a creation that set the password (any value will do) rather than a login (a POST
answered 200); only the 401 hints name it, among 60 `x_subject_token_N`. With `--secret password=...`:
60 / 76 (57 / 76 in two more runs). Left, by class: POSTs answered with the resource inside an envelope
(`{"user": {"id": ...}}`, `{"domain": ...}`, `{"group": ...}`) and no Location are not seen as creating
`/v3/users/ID`: a resource's history starts at its first PATCH, so its "exists" setup is that PATCH alone (404
on the recorded id), and nothing the setups make is undone (the `acme` domain and everything named in it are
taken by every later setup: 409s); ids captured by position from an array whose order follows random ids
(the admin token's `token.roles[0].id` for `member`, `[3]` for `reader`), so a grant or an implied role
names another role on the fresh provider (the application credential's `member` role "unassigned", an
implication of `admin` refused 403), varying from run to run; a 401's `WWW-Authenticate: Keystone
uri="URL"` carries the provider's own base URL and is matched for equality.
"""

from __future__ import annotations

import grp
import json
import os
import pwd
import re
import shutil
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from common import ROOT, free_port, start, tail, timed, wait_http  # noqa: E402

KEYSTONE = "30.0.0"
SERVER_PINS = [f"keystone=={KEYSTONE}", "gunicorn==27.0.1"]
CLIENT_PINS = ["python-openstackclient==10.5.0"]
HOME = ROOT / ".venv" / "thirdparty" / "keystone"
SERVER_VENV, CLIENT_VENV = HOME / "server", HOME / "client"
CONSUMER, PROVIDER = "openstackclient", "keystone"
ADMIN = {"user": "admin", "password": "Adm1n-bootstrap-pw", "domain": "Default", "project": "admin"}
ALICE = {"user": "alice", "password": "alice-Pw-4417", "domain": "acme", "project": "shop"}
CAROL = {"user": "carol", "password": "carol-Pw-9021", "domain": "acme", "project": None}
BOB_PASSWORD = "bob-Pw-3308"
APP_SECRET = "shop-ci-Secret-5512"
COMMAND_SECONDS = 90
MANAGE_SECONDS = 120
common.READY_SECONDS = max(common.READY_SECONDS, 120)  # the app loads in ~5 s here; under load, more
APP_MODULE = "import sys\n\nsys.argv = sys.argv[:1]  # oslo.config parses argv: not gunicorn's\n\n"
APP_MODULE += "from keystone.wsgi.api import application  # noqa: E402, F401\n"


# --- setup -------------------------------------------------------------------------------------------


def venv_with(home: Path, pins: list[str], tool: str) -> Path:
    """A venv at `home` with `pins`, installed once per pin set; its bin folder."""
    stamp = home / ".installed"
    if stamp.is_file() and stamp.read_text() == "\n".join(pins) and (home / "bin" / tool).is_file():
        return home / "bin"
    print(f"setup: installing {', '.join(pins)} into {home.relative_to(ROOT)}", flush=True)
    shutil.rmtree(home, ignore_errors=True)
    home.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", str(home)], check=True)
    common.pip(home / "bin" / "python", "install", *pins)
    stamp.write_text("\n".join(pins))
    return home / "bin"


def setup() -> None:
    """The server's venv (Keystone, gunicorn) and the client's (openstackclient)."""
    venv_with(SERVER_VENV, SERVER_PINS, "keystone-manage")
    venv_with(CLIENT_VENV, CLIENT_PINS, "openstack")


def versions() -> dict:
    done = subprocess.run([str(CLIENT_VENV / "bin" / "openstack"), "--version"], capture_output=True, text=True)
    found = (done.stdout + done.stderr).split()
    return {"keystone": KEYSTONE, "openstackclient": found[-1] if found else "?"}


# --- Keystone ----------------------------------------------------------------------------------------


def config(work: Path, public: str) -> str:
    return f"""\
[DEFAULT]
log_file = {work / "keystone.log"}
public_endpoint = {public}
[database]
connection = sqlite:///{work / "keystone.db"}
[token]
provider = fernet
[fernet_tokens]
key_repository = {work / "fernet-keys"}
[fernet_receipts]
key_repository = {work / "fernet-keys"}
[credential]
key_repository = {work / "credential-keys"}
"""


def manage(work: Path, env: dict, *args: str) -> None:
    cmd = [str(SERVER_VENV / "bin" / "keystone-manage"), "--config-file", str(work / "keystone.conf"), *args]
    done = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, timeout=MANAGE_SECONDS)
    if done.returncode:
        raise RuntimeError(f"`keystone-manage {args[0]}` failed ({done.returncode}):\n{done.stderr[-2000:]}")


def start_keystone(stack: ExitStack, work: Path, port: int | None = None, public: str | None = None) -> str:
    """A fresh Keystone of its own (config, SQLite, keys, port) in `work`, bootstrapped with its endpoints at
    `public` (the URL its clients reach; its own if None); its URL once it answers."""
    work.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    public = public or url
    (work / "keystone.conf").write_text(config(work, public))
    (work / "keystone_app.py").write_text(APP_MODULE)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OS_", "PYTHON", "VIRTUAL_ENV"))}
    env |= {"HOME": str(work), "OS_KEYSTONE_CONFIG_FILES": str(work / "keystone.conf")}
    user, group = pwd.getpwuid(os.getuid()).pw_name, grp.getgrgid(os.getgid()).gr_name
    manage(work, env, "db_sync")
    manage(work, env, "fernet_setup", "--keystone-user", user, "--keystone-group", group)
    manage(work, env, "credential_setup", "--keystone-user", user, "--keystone-group", group)
    manage(
        work, env, "bootstrap", "--bootstrap-password", ADMIN["password"], "--bootstrap-region-id", "RegionOne",
        "--bootstrap-public-url", f"{public}/v3/", "--bootstrap-internal-url", f"{public}/v3/",
        "--bootstrap-admin-url", f"{public}/v3/",
    )  # fmt: skip
    cmd = [str(SERVER_VENV / "bin" / "gunicorn"), "--no-control-socket", "--chdir", str(work)]
    cmd += ["--bind", f"127.0.0.1:{port}", "--workers", "1", "--timeout", "120", "keystone_app:application"]
    log = work / "gunicorn.log"
    proc = start(stack, cmd, log, cwd=work, env=env)
    wait_http(url + "/v3", proc, log)
    return url


# --- the openstack session ---------------------------------------------------------------------------


class Session:
    """Runs `openstack ARGS` against one identity URL as one account, each command a "test" of its own."""

    def __init__(self, url: str, work: Path):
        self.url = url
        self.work = work
        self.log = work / "openstack.log"
        drop = ("OS_", "PYTHON", "VIRTUAL_ENV", "http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(drop + ("ALL_PROXY", "all_proxy"))}
        self.env["HOME"] = str(work)  # no clouds.yaml of the user's
        self.results: list[dict] = []

    def login_env(self, who: dict) -> dict:
        env = {"OS_AUTH_URL": f"{self.url}/v3", "OS_IDENTITY_API_VERSION": "3", "OS_INTERFACE": "public"}
        if "app_id" in who:
            return env | {
                "OS_AUTH_TYPE": "v3applicationcredential",
                "OS_APPLICATION_CREDENTIAL_ID": who["app_id"],
                "OS_APPLICATION_CREDENTIAL_SECRET": who["secret"],
            }
        env |= {"OS_USERNAME": who["user"], "OS_PASSWORD": who["password"], "OS_USER_DOMAIN_NAME": who["domain"]}
        if who.get("project"):
            env |= {"OS_PROJECT_NAME": who["project"], "OS_PROJECT_DOMAIN_NAME": who["domain"]}
        return env

    def os(self, *args: str, who: dict = ADMIN, expect: int = 0) -> str:
        """`openstack ARGS` as `who`; its stdout."""
        shown = " ".join(args) + (f"  (as {who.get('user', 'app credential')})" if who is not ADMIN else "")
        cmd = [str(CLIENT_VENV / "bin" / "openstack"), *args]
        t = time.monotonic()
        with open(self.log, "ab") as log:
            log.write(f"\n$ openstack {shown}\n".encode())
            log.flush()
            try:
                done = subprocess.run(
                    cmd, cwd=self.work, env=self.env | self.login_env(who), capture_output=True,
                    timeout=COMMAND_SECONDS, start_new_session=True, stdin=subprocess.DEVNULL,
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

    def field(self, name: str, *args: str, who: dict = ADMIN) -> str:
        """`openstack ARGS -f json`; the field `name` of what it printed (as a script would take it)."""
        out = self.os(*args, "-f", "json", who=who)
        try:
            return str(next(v for k, v in json.loads(out).items() if k.lower() == name))  # "ID" in OSC 10
        except (ValueError, StopIteration, AttributeError):
            return "0" * 32

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
    """An identity administrator's session against the Keystone at `url` (see the docstring)."""
    work.mkdir(parents=True, exist_ok=True)
    s = Session(url, work)
    acme = ("--domain", "acme")
    in_acme = ("--user-domain", "acme")
    # what is there
    s.os("token", "issue")
    s.os("catalog", "list")
    s.os("endpoint", "list")
    s.os("service", "list")
    s.os("region", "list")
    s.os("domain", "list")
    s.os("role", "list")
    # a domain and its projects
    s.os("domain", "create", "--description", "Acme Corporation", "acme")
    s.os("domain", "show", "acme")
    s.os("domain", "set", "--description", "Acme Corporation (EU)", "acme")
    s.os("project", "create", *acme, "--description", "the web shop", "shop")
    s.os("project", "create", *acme, "--parent", "shop", "--description", "the shop's staging", "shop-staging")
    s.os("project", "create", "--domain", "default", "--description", "nightly batch jobs", "--tag", "ops", "batch")
    s.os("project", "list", *acme)
    s.os("project", "list", "--long")
    s.os("project", "show", *acme, "shop")
    s.os("project", "set", *acme, "--description", "the web shop, v2", "--tag", "web", "shop")
    s.os("project", "show", "--parents", *acme, "shop-staging")
    # users
    alice_id = s.field(
        "id", "user", "create", *acme, "--password", ALICE["password"], "--email", "alice@acme.example",
        "--project", "shop", "--project-domain", "acme", "--description", "shop developer", "alice",
    )  # fmt: skip
    s.os("user", "create", "--domain", "default", "--password", BOB_PASSWORD, "--email", "bob@example.org", "bob")
    s.os("user", "create", *acme, "--password", CAROL["password"], "--description", "auditor, temporary", "carol")
    s.os("user", "list", *acme)
    s.os("user", "list", "--long")
    s.os("user", "show", *acme, "alice")
    s.os("user", "set", *acme, "--email", "alice@shop.acme.example", "alice")
    s.os("user", "show", alice_id)
    # groups
    webdevs = s.field("id", "group", "create", *acme, "--description", "web developers", "webdevs")
    s.os("group", "add", "user", "--group-domain", "acme", *in_acme, "webdevs", "alice")
    s.os("group", "add", "user", "--group-domain", "acme", *in_acme, "webdevs", "carol")
    s.os("group", "contains", "user", "--group-domain", "acme", *in_acme, "webdevs", "carol")
    s.os("user", "list", "--group", webdevs)  # by its id: OSC 10 finds `--group NAME` in no domain
    s.os("group", "remove", "user", "--group-domain", "acme", *in_acme, "webdevs", "carol")
    s.os("group", "list", *acme)
    # roles and grants
    s.os("role", "create", "developer")
    s.os("role", "create", "auditor")
    s.os("implied", "role", "create", "--implied-role", "reader", "auditor")
    s.os("implied", "role", "list")
    s.os("role", "add", "--project", "shop", "--project-domain", "acme", "--user", "alice", *in_acme, "member")
    s.os("role", "add", "--project", "shop", "--project-domain", "acme", "--group", "webdevs",
         "--group-domain", "acme", "developer")  # fmt: skip
    s.os("role", "add", *acme, "--user", "carol", *in_acme, "auditor")
    s.os("role", "assignment", "list", "--project", "shop", "--project-domain", "acme", "--names")
    s.os("role", "assignment", "list", "--user", "alice", *in_acme, "--effective", "--names")
    # alice's own login, and an application credential of hers
    s.os("token", "issue", who=ALICE)
    s.os("project", "list", who=ALICE)  # hers only
    s.os("role", "create", "shop-admin", who=ALICE, expect=1)  # a member may not make roles: 403
    app_id = s.field(
        "id", "application", "credential", "create", "--secret", APP_SECRET, "--description", "shop CI",
        "--role", "member", "shop-ci", who=ALICE,
    )  # fmt: skip
    s.os("application", "credential", "list", who=ALICE)
    s.os("application", "credential", "show", "shop-ci", who=ALICE)
    s.os("token", "issue", who={"app_id": app_id, "secret": APP_SECRET})
    # an EC2 credential of alice's, as the admin
    cred_id = s.field(
        "id", "credential", "create", "--type", "ec2", "--project", "shop", alice_id,
        '{"access": "0bd3a9e1c4f24e7d", "secret": "ec2-5ecret-771"}',
    )  # fmt: skip
    s.os("credential", "list", "--user", alice_id)  # by id: OSC 10 finds no `--user NAME --user-domain`
    s.os("credential", "show", cred_id)
    # refusals on purpose
    s.os("project", "show", "no-such-project", expect=1)  # 404, then no match by name
    s.os("domain", "create", "acme", expect=1)  # 409
    s.os("user", "create", *acme, "--password", "x-Pw-1", "alice", expect=1)  # 409
    s.os("token", "issue", who=ALICE | {"password": "not-alice-pw"}, expect=1)  # 401
    s.os("group", "add", "user", "--group-domain", "acme", *in_acme, "no-such-group", "alice", expect=1)  # 404
    # tearing down
    s.os("credential", "delete", cred_id)
    s.os("application", "credential", "delete", "shop-ci", who=ALICE)
    s.os("role", "remove", *acme, "--user", "carol", *in_acme, "auditor")
    s.os("implied", "role", "delete", "--implied-role", "reader", "auditor")
    s.os("role", "delete", "auditor")
    s.os("group", "delete", *acme, "webdevs")
    s.os("user", "delete", *acme, "carol")
    s.os("user", "delete", "--domain", "default", "bob")
    s.os("project", "delete", *acme, "shop-staging")
    s.os("project", "delete", "--domain", "default", "batch")
    s.os("domain", "set", "--disable", "acme")
    s.os("domain", "delete", "acme")
    s.os("domain", "list")
    return s.counts()


# --- the verifier ------------------------------------------------------------------------------------


ACCOUNTS = {who["user"]: who["password"] for who in (ADMIN, ALICE, CAROL)} | {"bob": BOB_PASSWORD}


def asked(report: dict | None, message: str) -> list[str]:
    """The secrets verify names: in its refusal (exit 2), else in its hints on 401s ("pass the real value(s)
    with --secret NAME=VALUE")."""
    if report is None:
        return re.findall(r"^\s+([\w.-]+): needed by", message, re.M)
    said = [p for o in report["interactions"] for p in o.get("problems", [])]
    return sorted({name for p in said for name in re.findall(r"--secret ([\w.-]+)=VALUE", p)})


def answers(names: list[str], states: Path) -> list[str]:
    """`--secret NAME=VALUE` for each secret named that the provider held before the session: one a login
    (`POST /v3/auth/tokens`) sent first, before any request of the session set it; its value the real
    password of the account that login named (the admin's, which bootstrap set). A value the session's own
    requests set (a user's password, an application credential's secret) or a token the provider issued is
    not the operator's to give."""
    steps = (yaml.safe_load(states.read_text()) or {}).get("steps") or {}
    first: dict[str, dict] = {}
    for _, step in sorted(steps.items()):
        for e in step.get("secrets") or []:
            first.setdefault(e["secret"], step)
    args = []
    for name in names:
        step = first.get(name)
        if not step or not step["path"].endswith("/auth/tokens"):
            continue
        user = (((step.get("json") or {}).get("auth") or {}).get("identity") or {}).get("password", {}).get("user")
        if user and user.get("name") in ACCOUNTS:
            args += ["--secret", f"{name}={ACCOUNTS[user['name']]}"]
    return args


# --- phases ------------------------------------------------------------------------------------------


def phases(work: Path, verify_args: list[str], direct: bool) -> dict:
    seconds: dict[str, float] = {}
    with timed(seconds, "setup"):
        setup()
    direct_run = None
    if direct:
        with timed(seconds, "direct"), ExitStack() as stack:
            direct_run = run_session(start_keystone(stack, work / "direct" / "keystone"), work / "direct")
    out = work / "record"
    with timed(seconds, "record"), ExitStack() as stack:
        out.mkdir(parents=True)
        port = free_port()
        recorder, url, log = common.start_recorder(stack, CONSUMER, PROVIDER, f"http://127.0.0.1:{port}", out)
        start_keystone(stack, out / "keystone", port=port, public=url)
        recorded = run_session(url, out)
        common.finish_recording(recorder, log)
    pact = out / f"{CONSUMER}-{PROVIDER}.json"
    if not pact.is_file():
        raise RuntimeError(f"the recorder wrote no {pact.name}:\n{tail(log)}")
    runs: list[dict] = []
    args = ["--states-from-recording"]
    with timed(seconds, "verify"), ExitStack() as stack:
        server = start_keystone(stack, work / "verify" / "keystone")
        report, outcome = common.verify_outcome(stack, pact, server, work / "verify", args)
        runs.append(outcome)
    # refused, or secrets named in its hints, or asked for: once more with the extra, on a fresh Keystone
    extra = verify_args or answers(asked(report, outcome["message"]), out / f"{CONSUMER}-{PROVIDER}.states.yaml")
    if report is None or extra:
        if report is None and not extra:
            raise RuntimeError(f"verify refused (exit {outcome['exit']}):\n{outcome['message']}")
        with timed(seconds, "verify2"), ExitStack() as stack:
            server = start_keystone(stack, work / "verify2" / "keystone")
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
        print(f"transparency: {same['same_exit']} / {same['steps']} commands gave the same exit code both ways")
        for line in same["differ"]:
            print(f"  differs: {line}")
    if report is None:
        raise RuntimeError(f"pact-recorder verify wrote no report (exit {runs[-1]['exit']}):\n{runs[-1]['message']}")
    return {
        **versions(),
        "consumer": "openstack CLI (python-openstackclient)",
        "pins": SERVER_PINS + CLIENT_PINS,
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
    sys.exit(common.main("keystone", __doc__, phases, sys.argv[1:], setup))
