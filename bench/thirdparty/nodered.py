"""Record Node-RED's Admin HTTP API while the real node-red-admin CLI and an automation script's session (plain
`fetch` under node) run against it, then verify the pact against a fresh Node-RED with an empty user directory.

    .venv/bin/python bench/thirdparty/nodered.py [--keep DIR] [--json FILE] [--no-direct] [--setup-only]
        [-- VERIFY_ARGS...]

`verify` gets `--states-from-recording` and nothing else (the first contact). Where it refuses to start (exit 2:
it asks for secrets the recording redacted), that refusal and its message are the first figure, and verify runs
once more with the least the message asks for: VERIFY_ARGS (everything after `--`, which make that second run
in any case) if given, else `--secret NAME=VALUE` for each NAME it names, VALUE what the teams know: the admin's
password (the provider team's: its bcrypt hash is in the server's settings) for a NAME the recording used where
the admin logs in, the wrong password and a node's credential password for the NAMEs used where the session
chose them, else a placeholder (the bearer tokens are handed out by the provider; no one knows them beforehand).

What it does, each phase timed:
  setup    under .venv/thirdparty/nodered/: node-red and node-red-admin (NPM_PINS) from npm (`npm install
           --prefix npm`, run by the machine's node >= 18.5), installed once per pin set.
  direct   a fresh Node-RED and the session below run straight against it (--no-direct leaves this out).
  record   another fresh Node-RED, `pact-recorder record --consumer node-red-admin --provider node-red` in front
           of it, the same session with the recorder's URL as the CLI's target and the script's base URL;
           SIGTERM makes it write OUT/node-red-admin-node-red.json.
  verify   a third fresh Node-RED (an empty user directory: no flow, no library entry, no context),
           `pact-recorder verify --states-from-recording`; then, refused, again on a fresh one with what it
           asked for (verify2).
Then it prints the figures (steps whose outcome is the expected one through the recorder and directly, how many
gave the same outcome both ways, whether a password, the credential secret, a node's credential or a bearer
token the server handed out is in any file the harness keeps, exchanges, interactions, verified green / total)
and the failures grouped by cause, and writes them as JSON to DIR/figures.json (and --json FILE).

Each Node-RED: `node node_modules/node-red/red.js --userDir DIR --settings DIR/settings.js` (SETTINGS, written
into a new, empty user directory each phase) on 127.0.0.1 and a free port: `adminAuth` of type credentials with
one user, `admin`, permissions `*`, whose password is a bcrypt hash (cost 8, made by the bcryptjs Node-RED ships
when the server is started; the password and hash reach it through its environment, never a command line);
`credentialSecret` set (from the environment), so a node's credentials are encrypted in `flows_cred.json`;
telemetry and its update notification off, palette and module installs off (`externalModules`), no projects,
the diagnostics endpoint on, contexts in memory. Nothing is downloaded at run time. Ready once `/auth/login`
answers 200.

The API: `GET /auth/login` (the login scheme), `POST /auth/token` (an OAuth2 password grant: `client_id`,
`grant_type: password`, `scope`, `username`, `password`; answers an opaque bearer `access_token`, `expires_in`
7 days; a wrong password 403 `invalid_grant`), `POST /auth/revoke` {token}; every other call carries
`Authorization: Bearer TOKEN` (401 without). `/flows` GET/POST with `Node-RED-API-Version: v2` (`{flows, rev}`;
a POST with a stale `rev` is 409 `version_mismatch`) and `Node-RED-Deployment-Type` (full, nodes); `/flow` POST
(a new tab with its nodes; the server hands out its id), `/flow/:id` GET/PUT/DELETE (404 `not_found`; a body
without `nodes` 400); `/nodes` (JSON or, by `Accept`, every node's HTML: ~550 KB), `/nodes/:module` and
`/nodes/:module/:set` GET/PUT `{enabled}` (400 `invalid_request` without it); `/context/{global,flow,node}/...`
GET/DELETE; `/inject/:id` POST; `/library/:lib/:type/:path` GET/POST; `/credentials/:type/:id`; `/icons`;
`/diagnostics`; `/settings`.

The session (each step a "test", passed when it behaves as expected: the call or command succeeds and its checks
hold, or the refusal it provokes on purpose comes with the expected status, or exit code for the CLI), in one
node driver (DRIVER): first node-red-admin (`node node-red-admin.js ...`, a fresh HOME each phase, where it keeps
its target and token in `.node-red/.cli-config.json`; its prompts answered on stdin as they appear): `hash-pw`,
`target URL`, `target`, `list` not logged in (exit 1), `login` with a wrong password (exit 1), `login`, `list`,
`list --json`, `info node-red`, `info node-red/inject`, `disable node-red/sort`, `info node-red/sort` (disabled),
`enable node-red/sort`, `info` and `disable` of a module none has (exit 1); (`search`, `install`, `remove` need
the package registry: left out). Then an automation script's session with `fetch`, as a dashboard's backend
would: the login scheme, a token with a wrong password and for a user none has (403), the token; `/settings`
without a token and with a made-up one (401), with it; the flows (v2) and their `rev`, a full deploy with that
`rev` (a tab with an inject, a change node that sets flow and global context, a debug, and an http request node
with basic-auth credentials: user and password), read back, a deploy with the stale `rev` (409), a `nodes`
deploy with the new one, the flows in v1 (no version header); the http request node's credentials (user,
`has_password`); an inject into the deployed inject node and the context it made (flow, a global key, all
globals), a flow context key deleted and read again, an inject into a node none has (404); a flow added
(`POST /flow`), read, updated, read again, the global flow, an unknown flow read and updated (404), a flow
without nodes (400), the added flow deleted, read and deleted again (404), the flows read again; the node
registry: `/nodes` as JSON and as HTML, a module, a node set, a PUT without `enabled` (400), a module none has
(404); the diagnostics; the library: a function saved and read back, its folder listed, a flow saved, listed and
read back, an entry none has (400); the icons; the token revoked and refused after (401); a deploy without a
token (401); last, the CLI's `list` once more with its own token. Ids the server hands out (the added flow's)
are carried from step to step in memory; the passwords are given to the session through its environment, never
on a command line. Every process started is stopped on the way out, on failure and on Ctrl-C or SIGTERM too.

First contact (node-red 4.1.8 and node-red-admin 4.1.7 on node 20.20; seven runs): 67 steps (16 CLI commands, 51
API calls), 67 / 67 as expected both directly and through the recorder (the same outcome each); 66 exchanges, all
recorded, 43 interactions (40 with a provider state). On disk: no password (the admin's, the wrong one), not the
node's credential password, not the credential secret (never sent), no bearer token (the script's, the CLI's) in
any file the harness keeps: request `$.password`, `$.flows[*].credentials.password`, `$.token`, every
`Authorization` and the answers' `$.access_token` redacted. verify with `--states-from-recording` alone: exit 2,
one secret asked for, `password_2` (the admin's: 3 requests, e.g. `POST /auth/token returns 200`); the wrong
password (only refused) and the node's credential (`password_3`, set by the recording) are made up, the tokens
fetched fresh by sending the login again. With it: **36 / 43 green** in five runs, 35 / 43 and 35 / 44 in the
other two ((6)). The 7 red, each counted once by its first cause:
(1) 3: an interaction's own creation is never undone, and the fresh-name retry renames the wrong words. `POST
/flow returns 200` makes a flow whose nodes carry ids the consumer chose (`inj9`, `dbg9`); nothing deletes it
after that interaction (only setups' creations are undone, and the undo of 'flow exists' sends `DELETE /flow/`
with the recorded id: 404), so the setup `POST /flow` of GET, PUT and DELETE `/flow/{id}` is refused 400
"duplicate id"; its retries rename `type` (`inject-13`), `props[].p` (`payload-13`) and `dbg9` (its `id` and
the `wires` naming it), never `inj9`, which no other field names: STATE. Mechanism: undo each interaction's own
creations as the setups' are (by the id the fresh answer handed out); a retry that renames every id the consumer
chose in the body (a value under `id` no response handed out) and leaves the schema's words alone.
(2) 1: a login taken for a creation. `POST /auth/token returns 200` is given "the names it chooses are free"
(`clientId`, `username`), and verify sends `username: admin-3`: 403 invalid_grant. Mechanism: a request that
sends a redacted password and is answered an issued token is a login: it names an account, never freshened (the
directus pair met the same).
(3) 1: a stale version refused. `POST /flows returns 409` sent the `rev` of the empty flows, stale because the
deploy after it changed them; its setup is the login and the `GET /flows` that handed that rev out, whose fresh
value the ProviderState generator puts in the request: the current rev, deployed 200. Mechanism: a conflict
refusal (409, 412) of a value a response handed out is set up with the writes the consumer made between that
answer and the refusal, and sent with the value handed out before them.
(4) 1: a resource made inside a bulk write's body. `GET /credentials/http-request/req1` names the node `req1`,
which the consumer chose inside `POST /flows`'s body (`flows[4].id`, with its credentials); the setup is the
login alone: `{}`. Mechanism: a path segment equal to an id the consumer chose inside an earlier write's body
makes that write part of the state, as an id a response handed out does.
(5) 1: state made by running the flows. `GET /context/global` holds `ticks`, which the change node set when
`POST /inject/inj1` ran the deployed flows; no request wrote `/context/...`, the setup is the login alone:
`{"memory": {}}`. Mechanism: a read whose recorded answer no earlier write's path or body accounts for is set
up with the consumer's writes before it, in order (the session's prefix), as a fallback.
(6) two runs in seven: Node-RED answers a library save before its file is written (`saveLibraryEntry` does not
wait for it), so verify's listing right after its setup's save may lack the entry's metadata (`GET
/library/local/functions/harness/`: `$[0]` missing `info, name, outputs`), and the session's read right after
its save may be refused 400 and retried: recorded, that 400 is an interaction of its own (`GET .../double.js
returns 400`, verified 200; one run). Mechanism: a refusal the consumer repeated at once until it succeeded is
a retry, folded into the success; a read the consumer repeated until its answer changed is verified with the
same patience.
What the greens do not say: `GET /context/global/ticks` and `GET /context/flow/tab1` pass hollow (the context
empty: a key none set is answered `{"msg": "(undefined)", "format": "undefined"}`, strings as recorded; of the
flow context's two samples, one read after the key's delete, the interaction keeps the empty one); `GET /nodes`
as JSON and as HTML (by `Accept`, ~550 KB) fold into one interaction that the self-check loosens to status and
content type (mechanism: a request header the answer's content type follows, `Accept`, splits interactions). In
a first draft of the session an inject into `/inject/0000000000000000` (a made-up all-digit id, which passes the
Luhn check) was redacted as a card number and asked for as the secret `path`; the session now uses a hex id, as
Node-RED's are.
Two quirks of the provider the session waits out (a second at most, as a dashboard's backend would): a library
save is answered before its file is written, and a `nodes` deploy before the changed nodes have started again
(an inject into one right after was 404 in one direct run). One run: 45 to 75 s (direct 15-22 s, record 16-35 s,
verify 5-7 s, verify2 9-14 s); the setup, once, ~35 s.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from common import ROOT, free_port, start, tail, timed, wait_http  # noqa: E402

NODE_RED, NODE_RED_ADMIN = "4.1.8", "4.1.7"  # Node-RED 5 needs node >= 22.9; 4.1 runs on the machine's node 20
NPM_PINS = [f"node-red@{NODE_RED}", f"node-red-admin@{NODE_RED_ADMIN}"]
HOME = ROOT / ".venv" / "thirdparty" / "nodered"
NPM_DIR = HOME / "npm"
RED_JS = NPM_DIR / "node_modules" / "node-red" / "red.js"
ADMIN_JS = NPM_DIR / "node_modules" / "node-red-admin" / "node-red-admin.js"
BCRYPT_JS = NPM_DIR / "node_modules" / "bcryptjs"
CONSUMER, PROVIDER = "node-red-admin", "node-red"
ADMIN = {"username": "admin", "password": "admin-Harness-pass-63"}  # the provider team's (a bcrypt hash in settings)
WRONG_PASSWORD = "not-the-Password-8"
NODE_CREDENTIAL = {
    "user": "svc-harness",
    "password": "node-cred-Harness-pass-27",
}  # an http request node's, the session's
CREDENTIAL_SECRET = "nr-harness-" + secrets.token_hex(12)  # the server's `credentialSecret`, new each run
SESSION_SECONDS = 300

SETTINGS = r"""// Node-RED as the harness runs it: 127.0.0.1, adminAuth, credentialSecret, nothing fetched or installed
module.exports = {
    uiHost: "127.0.0.1",
    uiPort: Number(process.env.NR_HARNESS_PORT),
    flowFile: "flows.json",
    credentialSecret: process.env.NR_HARNESS_CREDENTIAL_SECRET,
    adminAuth: {
        type: "credentials",
        users: [{ username: process.env.NR_HARNESS_USER, password: process.env.NR_HARNESS_HASH, permissions: "*" }],
    },
    telemetry: { enabled: false, updateNotification: false },
    diagnostics: { enabled: true, ui: false },
    runtimeState: { enabled: false, ui: false },
    externalModules: {
        autoInstall: false,
        palette: { allowInstall: false, allowUpdate: false, allowUpload: false },
        modules: { allowInstall: false },
    },
    editorTheme: { tours: false, projects: { enabled: false } },
    logging: { console: { level: "info", metrics: false, audit: false } },
};
"""


# --- setup -------------------------------------------------------------------------------------------


def _run(cmd: list[str], what: str, **kw) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if done.returncode:
        sys.exit(f"harness: {what}: `{' '.join(cmd)}` failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")


def find_node() -> str:
    node = shutil.which("node")
    done = subprocess.run([node, "--version"], capture_output=True, text=True) if node else None
    m = re.match(r"v(\d+)\.(\d+)", done.stdout.strip()) if done and done.returncode == 0 else None
    if not m or (int(m.group(1)), int(m.group(2))) < (18, 5):
        sys.exit("harness: Node-RED 4.1 needs node >= 18.5 on PATH (and npm to install it)")
    return node


def setup() -> str:
    """node-red and node-red-admin under HOME, installed once per pin set; the node to run them with."""
    node = find_node()
    stamp = HOME / ".installed"
    pins = "\n".join(NPM_PINS)
    installed = RED_JS.is_file() and ADMIN_JS.is_file() and BCRYPT_JS.is_dir()
    if not (stamp.is_file() and stamp.read_text() == pins and installed):
        print(f"setup: installing {', '.join(NPM_PINS)} into {HOME.relative_to(ROOT)}", flush=True)
        shutil.rmtree(HOME, ignore_errors=True)
        NPM_DIR.mkdir(parents=True)
        npm = shutil.which("npm") or "npm"
        _run([npm, "install", "--no-audit", "--no-fund", "--loglevel=error", "--prefix", str(NPM_DIR), *NPM_PINS],
             "installing node-red")  # fmt: skip
        if not (RED_JS.is_file() and ADMIN_JS.is_file() and BCRYPT_JS.is_dir()):
            sys.exit(f"harness: npm install left no {RED_JS}, {ADMIN_JS} or {BCRYPT_JS}")
        stamp.write_text(pins)
    return node


# --- the server --------------------------------------------------------------------------------------


def clean_env(home: Path) -> dict[str, str]:
    """The environment less any proxy, node option or Node-RED setting of the user's; HOME is `home`."""
    drop = ("NODE_OPTIONS", "NODE_RED", "NR_", "npm_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop) and "proxy" not in k.lower()}
    return env | {"HOME": str(home), "NO_PROXY": "127.0.0.1,localhost"}


def bcrypt_hash(node: str, password: str) -> str:
    """The admin's password hashed by the bcryptjs Node-RED ships (cost 8, as `node-red-admin hash-pw`)."""
    js = "console.log(require(process.env.BCRYPT_JS).hashSync(process.env.NR_HARNESS_PASSWORD, 8))"
    env = {"PATH": os.environ.get("PATH", ""), "BCRYPT_JS": str(BCRYPT_JS), "NR_HARNESS_PASSWORD": password}
    done = subprocess.run([node, "-e", js], capture_output=True, text=True, env=env, check=True)
    return done.stdout.strip()


def start_nodered(stack: ExitStack, work: Path) -> str:
    """A fresh Node-RED (a new, empty user directory with SETTINGS) in `work`; its URL once it serves."""
    node = find_node()
    shutil.rmtree(work, ignore_errors=True)
    user_dir = work / "userdir"
    user_dir.mkdir(parents=True)
    (user_dir / "settings.js").write_text(SETTINGS)
    port = free_port()
    env = clean_env(work) | {
        "NR_HARNESS_PORT": str(port),
        "NR_HARNESS_USER": ADMIN["username"],
        "NR_HARNESS_HASH": bcrypt_hash(node, ADMIN["password"]),
        "NR_HARNESS_CREDENTIAL_SECRET": CREDENTIAL_SECRET,
    }  # fmt: skip
    cmd = [node, str(RED_JS), "--userDir", str(user_dir), "--settings", str(user_dir / "settings.js")]
    log = work / "node-red.log"
    proc = start(stack, cmd, log, cwd=work, env=env, stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/auth/login", proc, log)
    return url


# --- the session -------------------------------------------------------------------------------------


def run_session(stack: ExitStack, url: str, work: Path) -> dict:
    """The DRIVER against the Node-RED at `url` (the CLI's target too, from a fresh HOME); its steps' outcomes as
    a suite's counts, and the bearer tokens handed out to the script and to the CLI (kept in memory only)."""
    node = find_node()
    shutil.rmtree(work / "home", ignore_errors=True)
    (work / "home").mkdir(parents=True)
    driver, out, log = work / "session.mjs", work / "steps.json", work / "session.log"
    driver.write_text(DRIVER)
    out.unlink(missing_ok=True)
    users = {"admin": ADMIN, "wrong": WRONG_PASSWORD, "nodeCredential": NODE_CREDENTIAL}
    env = clean_env(work) | {
        "NR_ADMIN_JS": str(ADMIN_JS),
        "NR_CLI_HOME": str(work / "home"),
        "HARNESS_USERS": json.dumps(users),
    }  # fmt: skip
    proc = start(stack, [node, str(driver), url, str(out)], log, cwd=work, env=env, stdin=subprocess.DEVNULL)
    try:
        proc.wait(SESSION_SECONDS)
    except subprocess.TimeoutExpired:
        common.stop(proc)
        raise RuntimeError(f"the session did not finish within {SESSION_SECONDS}s:\n{tail(log)}") from None
    if not out.is_file():
        raise RuntimeError(f"the session wrote no outcomes (exit {proc.returncode}):\n{tail(log, 30)}")
    done = json.loads(out.read_text())
    out.write_text(json.dumps(done["results"], indent=1) + "\n")  # the tokens do not stay on disk
    cli_config = work / "home" / ".node-red" / ".cli-config.json"
    tokens = list(done["tokens"])
    if cli_config.is_file():  # the CLI's own file (not the recorder's): its token noted, then the file removed
        tokens.append((json.loads(cli_config.read_text()).get("tokens") or {}).get("access_token"))
        cli_config.unlink()
    results = done["results"]
    passed = sum(r["ok"] for r in results)
    return {
        "tests": len(results),
        "passed": passed,
        "failed": len(results) - passed,
        "errors": 0,
        "skipped": 0,
        "failing": [f"{r['command']} ({r['exit']}, expected {r['expect']})" for r in results if not r["ok"]],
        "commands": results,
        "tokens": [t for t in tokens if t],
    }


# --- the DRIVER: run by node -------------------------------------------------------------------------

DRIVER = r"""
/* node-red-admin and an automation script's fetch session against the Node-RED at argv[2], each step a "test"
with its expected outcome ("ok"; "STATUS" for an API refusal, "exit N" for a CLI one provoked on purpose); the
outcomes and the tokens handed out written as JSON to argv[3]. */
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";

const [URL, OUT] = process.argv.slice(2);
const { admin: ADMIN, wrong: WRONG, nodeCredential: NODE_CRED } = JSON.parse(process.env.HARNESS_USERS);
const SECRETS = [ADMIN.password, WRONG, NODE_CRED.password];
const results = [];
const tokens = [];
const ids = {};

class Wrong extends Error {}
class Refused extends Error {
  constructor(status, text) { super(`${status}: ${text}`); this.status = status; }
}
function check(ok, what) { if (!ok) throw new Wrong(what); }
function masked(text) {
  let t = String(text);
  for (const s of [...SECRETS, ...tokens]) if (s) t = t.split(s).join("****");
  return t;
}

async function step(name, fn, expect = "ok") {
  const t = performance.now();
  let outcome, detail;
  try {
    await fn();
    outcome = "ok";
  } catch (e) {
    if (e instanceof Wrong) [outcome, detail] = ["wrong", e.message];
    else if (e instanceof Refused) [outcome, detail] = [String(e.status), e.message];
    else if (e?.cli) [outcome, detail] = [`exit ${e.code}`, e.output];
    else [outcome, detail] = [e?.name ?? "Error", `${e}\n${e?.stack ?? ""}`];
  }
  const result = { command: name, exit: outcome, expect, ok: outcome === expect };
  result.seconds = Math.round(performance.now() - t) / 1000;
  if (outcome !== expect && detail) result.output = masked(detail).slice(-800);
  results.push(result);
  console.log(`${result.ok ? "ok  " : "FAIL"} ${name}: ${outcome}`);
}

// --- node-red-admin: prompts answered on stdin as they appear ----------------------------------------
function cli(args, answers = []) {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [process.env.NR_ADMIN_JS, ...args], {
      env: { ...process.env, HOME: process.env.NR_CLI_HOME }, stdio: ["pipe", "pipe", "pipe"],
    });
    let out = "", seen = 0;
    const pending = [...answers];
    const timer = setTimeout(() => p.kill("SIGKILL"), 60000);
    const more = (d) => {
      out += d;
      while (pending.length) {
        const at = out.indexOf(pending[0][0], seen);
        if (at < 0) break;
        seen = at + pending[0][0].length;
        p.stdin.write(pending.shift()[1] + "\n");
      }
      if (!pending.length) p.stdin.end();
    };
    p.stdout.on("data", more);
    p.stderr.on("data", more);
    if (!pending.length) p.stdin.end();
    p.on("close", (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(Object.assign(new Error(out), { cli: true, code, output: out }));
    });
  });
}
const LOGIN = [["Username:", ADMIN.username], ["Password:", ADMIN.password]];

await step("cli: hash-pw", async () => {
  const out = await cli(["hash-pw"], [["Password:", ADMIN.password]]);
  check(/\$2[aby]\$08\$[./A-Za-z0-9]{53}/.test(out), "a bcrypt hash of cost 8");
});
await step("cli: target URL", async () => {
  check((await cli(["target", URL])).includes(`Target: ${URL}`), "the target set");
});
await step("cli: target", async () => check((await cli(["target"])).includes(URL), "the target shown"));
await step("cli: list, not logged in", () => cli(["list"]), "exit 1");
await step("cli: login with a wrong password",
  () => cli(["login"], [["Username:", ADMIN.username], ["Password:", WRONG]]), "exit 1");
await step("cli: login", async () => check((await cli(["login"], LOGIN)).includes("Logged in"), "logged in"));
await step("cli: list", async () => {
  const out = await cli(["list"]);
  check(out.includes("node-red/inject") && out.includes("enabled"), "the core nodes listed");
});
await step("cli: list --json", async () => {
  const nodes = JSON.parse(await cli(["list", "--json"]));
  check(nodes.some((n) => n.id === "node-red/debug" && n.enabled), "node-red/debug enabled");
});
await step("cli: info node-red", async () => {
  const out = await cli(["info", "node-red"]);
  check(/Module:\s+node-red/.test(out) && out.includes("node-red/sort"), "the module's sets");
});
await step("cli: info node-red/inject", async () => {
  const out = await cli(["info", "node-red/inject"]);
  check(/Types:\s+inject/.test(out) && /State:\s+enabled/.test(out), "the inject set");
});
await step("cli: disable node-red/sort", async () => {
  check((await cli(["disable", "node-red/sort"])).includes("disabled"), "disabled");
});
await step("cli: info node-red/sort (disabled)", async () => {
  check(/State:\s+disabled/.test(await cli(["info", "node-red/sort"])), "disabled");
});
await step("cli: enable node-red/sort", async () => {
  const out = await cli(["enable", "node-red/sort"]);
  check(out.includes("enabled") && !out.includes("disabled"), "enabled");
});
await step("cli: info of a module none has", () => cli(["info", "node-red-contrib-no-such-module"]), "exit 1");
await step("cli: disable a set none has", () => cli(["disable", "node-red/no-such-set"]), "exit 1");

// --- an automation script's session: fetch -----------------------------------------------------------
let TOKEN;
async function api(method, path, { body, headers = {}, token = TOKEN, raw = false } = {}) {
  const h = { accept: "application/json", ...headers };
  if (token) h.authorization = `Bearer ${token}`;
  if (body !== undefined) h["content-type"] = "application/json";
  const data = body === undefined ? undefined : JSON.stringify(body);
  const r = await fetch(URL + path, { method, headers: h, body: data });
  const text = await r.text();
  if (!r.ok) throw new Refused(r.status, text.slice(0, 300));
  if (raw) return { status: r.status, text, headers: r.headers };
  return text && (r.headers.get("content-type") || "").includes("json") ? JSON.parse(text) : text;
}
const V2 = { "Node-RED-API-Version": "v2" };
const deploy = (type) => ({ ...V2, "Node-RED-Deployment-Type": type });
const grant = (username, password) => ({
  client_id: "node-red-admin", grant_type: "password", scope: "*", username, password,
});

await step("api: the login scheme", async () => {
  const s = await api("GET", "/auth/login", { token: null });
  check(s.type === "credentials" && s.prompts.map((p) => p.id).join() === "username,password", "credentials");
});
await step("api: a token with a wrong password", () => api("POST", "/auth/token", {
  token: null, body: grant(ADMIN.username, WRONG),
}), "403");
await step("api: a token for a user none has", () => api("POST", "/auth/token", {
  token: null, body: grant("nobody", WRONG),
}), "403");
await step("api: a token", async () => {
  const t = await api("POST", "/auth/token", { token: null, body: grant(ADMIN.username, ADMIN.password) });
  check(t.token_type === "Bearer" && t.expires_in > 0 && typeof t.access_token === "string", "a bearer token");
  TOKEN = t.access_token;
  tokens.push(TOKEN);
});
await step("api: settings without a token", () => api("GET", "/settings", { token: null }), "401");
await step("api: settings with a made-up token", () => api("GET", "/settings", { token: "bm90LWEtdG9rZW4=" }), "401");
await step("api: settings", async () => {
  const s = await api("GET", "/settings");
  check(s.user.username === ADMIN.username && s.user.permissions === "*" && /^4\./.test(s.version), "the user");
  check(s.flowEncryptionType === "user", "credentials encrypted with the user's key");
});

await step("api: the flows (v2): none yet", async () => {
  const f = await api("GET", "/flows", { headers: V2 });
  check(Array.isArray(f.flows) && f.flows.length === 0 && /^[0-9a-f]{64}$/.test(f.rev), "an empty flow, a rev");
  ids.rev0 = f.rev;
});
const FLOWS = [
  { id: "tab1", type: "tab", label: "Harness", disabled: false, info: "" },
  {
    id: "inj1", type: "inject", z: "tab1", name: "tick", props: [{ p: "payload" }], payload: "42",
    payloadType: "num", repeat: "", once: false, x: 120, y: 80, wires: [["chg1"]],
  },
  {
    id: "chg1", type: "change", z: "tab1", name: "remember", x: 300, y: 80, wires: [["dbg1"]],
    rules: [
      { t: "set", p: "last", pt: "flow", to: "payload", tot: "msg" },
      { t: "set", p: "ticks", pt: "global", to: "payload", tot: "msg" },
    ],
  },
  { id: "dbg1", type: "debug", z: "tab1", name: "out", active: true, complete: "payload", x: 480, y: 80, wires: [] },
  {
    id: "req1", type: "http request", z: "tab1", name: "status", method: "GET", ret: "obj",
    url: "http://127.0.0.1:9/status", authType: "basic", x: 300, y: 160, wires: [[]],
    credentials: { user: NODE_CRED.user, password: NODE_CRED.password },
  },
];
await step("api: deploy the flows (full, with the rev)", async () => {
  const r = await api("POST", "/flows", { headers: deploy("full"), body: { flows: FLOWS, rev: ids.rev0 } });
  check(/^[0-9a-f]{64}$/.test(r.rev) && r.rev !== ids.rev0, "a new rev");
  ids.rev1 = r.rev;
});
await step("api: the flows read back", async () => {
  const f = await api("GET", "/flows", { headers: V2 });
  check(f.rev === ids.rev1, "the rev of the deploy");
  check(f.flows.map((n) => n.id).join() === "tab1,inj1,chg1,dbg1,req1", "the nodes deployed");
  check(!JSON.stringify(f).includes(NODE_CRED.password), "no credential in the flows");
});
await step("api: deploy with a stale rev", () => api("POST", "/flows", {
  headers: deploy("full"), body: { flows: FLOWS, rev: ids.rev0 },
}), "409");
await step("api: deploy the changed nodes (nodes, with the new rev)", async () => {
  const flows = FLOWS.map((n) => (n.id === "inj1" ? { ...n, name: "tick (v2)", payload: "43" } : n))
    .map(({ credentials, ...n }) => n);
  const r = await api("POST", "/flows", { headers: deploy("nodes"), body: { flows, rev: ids.rev1 } });
  check(/^[0-9a-f]{64}$/.test(r.rev) && r.rev !== ids.rev1, "a new rev");
  ids.rev2 = r.rev;
});
await step("api: the flows (v1)", async () => {
  const f = await api("GET", "/flows");
  check(Array.isArray(f) && f.find((n) => n.id === "inj1")?.name === "tick (v2)", "the changed inject");
});
await step("api: the http request node's credentials", async () => {
  const c = await api("GET", "/credentials/http-request/req1");
  check(c.user === NODE_CRED.user && c.has_password === true && !("password" in c), "user, has_password");
});
// Node-RED answers a deploy before the changed nodes have started again (an inject into one may be 404 for a
// moment), and a library save before its file is written (a read right after may find no entry: 400): the
// script tries again for a second, as a dashboard's backend does
async function soon(fn, status = 400) {
  for (let n = 0; ; n++) {
    try {
      return await fn();
    } catch (e) {
      if (!(e instanceof Refused && e.status === status) || n >= 20) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
await step("api: inject", async () => check((await soon(() => api("POST", "/inject/inj1"), 404)) === "OK", "OK"));
await step("api: the flow's context", async () => {
  let c;
  for (let n = 0; n < 40; n++) {  // the change node runs after the inject's answer
    c = await api("GET", "/context/flow/tab1");
    if (c.memory?.last) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  check(c.memory?.last?.msg === "43" && c.memory.last.format === "number", JSON.stringify(c));
});
await step("api: a global context key", async () => {
  const c = await api("GET", "/context/global/ticks");
  check(c.msg === "43", JSON.stringify(c));
});
await step("api: the global context", async () => {
  check(Object.keys((await api("GET", "/context/global")).memory).includes("ticks"), "ticks");
});
await step("api: delete a flow context key", () => api("DELETE", "/context/flow/tab1/last"));
await step("api: the flow's context after it", async () => {
  const c = await api("GET", "/context/flow/tab1");
  check(!c.memory?.last, JSON.stringify(c));
});
await step("api: inject into a node none has", () => api("POST", "/inject/e5f4c3b2a1d09876"), "404");

await step("api: add a flow", async () => {
  const r = await api("POST", "/flow", { body: {
    label: "Added", info: "by the harness",
    nodes: [
      { id: "inj9", type: "inject", name: "added", props: [{ p: "payload" }], payload: "", payloadType: "date",
        repeat: "", once: false, x: 120, y: 60, wires: [["dbg9"]] },
      { id: "dbg9", type: "debug", name: "added out", active: true, complete: "payload", x: 300, y: 60, wires: [] },
    ],
  } });
  check(/^[0-9a-f]{16}$/.test(r.id), JSON.stringify(r));
  ids.flow = r.id;
});
await step("api: read the added flow", async () => {
  const f = await api("GET", `/flow/${ids.flow}`);
  check(f.label === "Added" && f.nodes.map((n) => n.id).join() === "inj9,dbg9", JSON.stringify(f));
});
await step("api: update the added flow", async () => {
  const r = await api("PUT", `/flow/${ids.flow}`, { body: {
    id: ids.flow, label: "Added (renamed)", nodes: [
      { id: "dbg9", type: "debug", name: "added out", active: false, complete: "payload", x: 300, y: 60, wires: [] },
    ],
  } });
  check(r.id === ids.flow, JSON.stringify(r));
});
await step("api: read it again", async () => {
  const f = await api("GET", `/flow/${ids.flow}`);
  check(f.label === "Added (renamed)" && f.nodes.length === 1, JSON.stringify(f));
});
await step("api: the global flow", async () => check((await api("GET", "/flow/global")).id === "global", "global"));
await step("api: a flow none has", () => api("GET", "/flow/0123456789abcdef"), "404");
await step("api: update a flow none has", () => api("PUT", "/flow/0123456789abcdef", {
  body: { id: "0123456789abcdef", label: "none", nodes: [] },
}), "404");
await step("api: add a flow without nodes", () => api("POST", "/flow", { body: { label: "no nodes" } }), "400");
await step("api: delete the added flow", () => api("DELETE", `/flow/${ids.flow}`));
await step("api: read the deleted flow", () => api("GET", `/flow/${ids.flow}`), "404");
await step("api: delete it again", () => api("DELETE", `/flow/${ids.flow}`), "404");
await step("api: the flows after it", async () => {
  const f = await api("GET", "/flows", { headers: V2 });
  check(f.flows.length === 5 && f.rev === ids.rev2, `${f.flows.length} nodes`);  // rev: a hash of the flows
});

await step("api: the nodes (JSON)", async () => {
  const n = await api("GET", "/nodes");
  check(n.some((s) => s.id === "node-red/inject" && s.enabled), "node-red/inject");
});
await step("api: the nodes (HTML)", async () => {
  const r = await api("GET", "/nodes", { headers: { accept: "text/html" }, raw: true });
  check(r.headers.get("content-type").startsWith("text/html") && r.text.includes('data-template-name="inject"'),
    "the inject node's template");
});
await step("api: a module", async () => {
  const m = await api("GET", "/nodes/node-red");
  check(m.name === "node-red" && m.nodes.length > 30, m.name);
});
await step("api: a node set", async () => {
  const s = await api("GET", "/nodes/node-red/inject");
  check(s.types.join() === "inject" && s.enabled, JSON.stringify(s));
});
await step("api: a node set put without enabled", () => api("PUT", "/nodes/node-red/sort", { body: {} }), "400");
await step("api: a module none has", () => api("GET", "/nodes/node-red-contrib-no-such-module"), "404");
await step("api: diagnostics", async () => {
  const d = await api("GET", "/diagnostics");
  check(d.report === "diagnostics" && typeof d.nodejs?.version === "string", JSON.stringify(d).slice(0, 200));
});

await step("api: save a function in the library", () => api("POST", "/library/local/functions/harness/double.js", {
  body: { name: "double", outputs: "1", info: "doubles the payload", text: "msg.payload *= 2;\nreturn msg;" },
}));
await step("api: read the function back", async () => {
  const path = "/library/local/functions/harness/double.js";
  const text = await soon(() => api("GET", path, { headers: { accept: "*/*" } }));
  check(text.includes("msg.payload *= 2;"), text);
});
await step("api: list the function folder", async () => {
  const l = await soon(() => api("GET", "/library/local/functions/harness/"));
  check(l.some((e) => e.fn === "double.js" && e.name === "double"), JSON.stringify(l));
});
await step("api: save a flow in the library", () => api("POST", "/library/local/flows/harness/pair.json", {
  body: [{ id: "lib1", type: "inject", name: "from the library", wires: [] }],
}));
await step("api: list the flow library", async () => {
  check(JSON.stringify(await soon(() => api("GET", "/library/local/flows/"))).includes("harness"), "harness");
});
await step("api: read the library flow back", async () => {
  const f = await soon(() => api("GET", "/library/local/flows/harness/pair.json"));
  check(f[0]?.id === "lib1", JSON.stringify(f));
});
await step("api: a library entry none has",
  () => api("GET", "/library/local/functions/harness/none.js"), "400");
await step("api: the icons", async () => {
  check((await api("GET", "/icons"))["node-red"].includes("inject.svg"), "inject.svg");
});

await step("api: revoke the token", () => api("POST", "/auth/revoke", { body: { token: TOKEN } }));
await step("api: settings with the revoked token", () => api("GET", "/settings"), "401");
await step("api: deploy without a token", () => api("POST", "/flows", {
  token: null, headers: deploy("full"), body: { flows: [], rev: ids.rev2 },
}), "401");
await step("cli: list, still logged in", async () => {
  check((await cli(["list"])).includes("node-red/inject"), "listed");
});

writeFileSync(OUT, JSON.stringify({ results, tokens }, null, 1) + "\n");
process.exit(0);
"""


# --- the verifier ------------------------------------------------------------------------------------


def answers(message: str) -> list[str]:
    """`--secret NAME=VALUE` for each secret the refusal names: by where it was needed (the message's example
    interaction), the admin's password for a token granted, the wrong one for a token refused, the node's
    credential for a deploy, else a placeholder (a token the provider hands out: none knows it beforehand)."""
    args = []
    for name, example in re.findall(r"^\s+([\w.:-]+): needed by .*?e\.g\. '([^']*)'", message, re.M):
        if "/auth/token returns 200" in example:
            value = ADMIN["password"]
        elif "/auth/token returns 4" in example:
            value = WRONG_PASSWORD
        elif "/flows" in example and "password" in name:
            value = NODE_CREDENTIAL["password"]
        else:
            value = "x"
        args += ["--secret", f"{name}={value}"]
    return args


def leaked(work: Path, secrets_by_kind: dict[str, list[str]]) -> dict[str, list[str]]:
    """For each kind of secret, the files the harness kept (the pact and states file, the logs, the reports;
    not the servers' own dirs, whose settings and credential file hold their hashes and secrets, nor the CLI's
    HOME) that hold one of its values."""
    skip = {"server", "home"}
    files = [p for p in work.rglob("*") if p.is_file() and not skip & set(p.relative_to(work).parts)]
    found = {}
    for kind, values in secrets_by_kind.items():
        hits = [p for p in files if any(v and v in p.read_text(errors="replace") for v in values)]
        found[kind] = sorted(str(p.relative_to(work)) for p in hits)
    return found


def masked(text: str) -> str:
    for value in (ADMIN["password"], WRONG_PASSWORD, NODE_CREDENTIAL["password"], CREDENTIAL_SECRET):
        text = text.replace(value, "****")
    return text


# --- phases ------------------------------------------------------------------------------------------


def phases(work: Path, verify_args: list[str], direct: bool) -> dict:
    seconds: dict[str, float] = {}
    with timed(seconds, "setup"):
        setup()
    direct_run = None
    if direct:
        with timed(seconds, "direct"), ExitStack() as stack:
            direct_run = run_session(stack, start_nodered(stack, work / "direct" / "server"), work / "direct")
    out = work / "record"
    with timed(seconds, "record"), ExitStack() as stack:
        server = start_nodered(stack, out / "server")
        recorder, url, log = common.start_recorder(stack, CONSUMER, PROVIDER, server, out)
        recorded = run_session(stack, url, out / "session")
        common.finish_recording(recorder, log)
    pact = out / f"{CONSUMER}-{PROVIDER}.json"
    if not pact.is_file():
        raise RuntimeError(f"the recorder wrote no {pact.name}:\n{tail(log)}")
    tokens = recorded.pop("tokens") + (direct_run.pop("tokens") if direct_run else [])
    runs: list[dict] = []
    args = ["--states-from-recording"]
    with timed(seconds, "verify"), ExitStack() as stack:
        server = start_nodered(stack, work / "verify" / "server")
        report, outcome = common.verify_outcome(stack, pact, server, work / "verify", args)
        runs.append(outcome)
    if report is None or verify_args:  # refused (or asked for): once more with the extra, on a fresh server
        extra = verify_args or answers(outcome["message"])
        if report is None and not extra:
            raise RuntimeError(f"verify refused (exit {outcome['exit']}):\n{outcome['message']}")
        with timed(seconds, "verify2"), ExitStack() as stack:
            server = start_nodered(stack, work / "verify2" / "server")
            args = [*args, *extra]
            report, outcome = common.verify_outcome(stack, pact, server, work / "verify2", args)
            runs.append(outcome)
    for n, run in enumerate(runs, 1):
        lines = run["message"].splitlines()
        said = [line for line in lines if "interaction(s) passed" in line]
        if run["exit"] == 2:
            said = [*lines[:12], f"... ({len(lines) - 12} more lines)"] if len(lines) > 13 else lines
        run["args"] = [masked(a) for a in run["args"]]  # figures.json keeps no password either
        print(f"verify run {n}: exit {run['exit']}  ({' '.join(run['args'])})")
        print("\n".join("  " + line.strip() for line in said))
    same = common.same_exit_codes(direct_run, recorded)
    if same:
        print(f"transparency: {same['same_exit']} / {same['steps']} steps gave the same outcome both ways")
        for line in same["differ"]:
            print(f"  differs: {line}")
    on_disk = leaked(work, {
        "passwords (the admin's, the wrong one)": [ADMIN["password"], WRONG_PASSWORD],
        "the node's credential password": [NODE_CREDENTIAL["password"]],
        "the credential secret": [CREDENTIAL_SECRET],
        "bearer tokens handed out": tokens,
    })  # fmt: skip
    for kind, files in on_disk.items():
        print(f"{kind} in clear in: {', '.join(files) or 'no file kept (pact, states file, logs, reports)'}")
    if report is None:
        raise RuntimeError(f"pact-recorder verify wrote no report (exit {runs[-1]['exit']}):\n{runs[-1]['message']}")
    return {
        "node-red": NODE_RED,
        "node-red-admin": NODE_RED_ADMIN,
        "node": subprocess.run([find_node(), "--version"], capture_output=True, text=True).stdout.strip(),
        "consumer": "node-red-admin (the CLI) and an automation script's fetch session",
        "verify_args": [masked(a) for a in args],
        "verify_runs": runs,
        "seconds": seconds,
        "direct": direct_run,
        "recorded": recorded,
        "transparency": same,
        "secrets_in_clear": on_disk,
        "recording": common.recording_figures(pact),
        "verify": common.verify_figures(report),
        "failures": common.group_failures(report),
    }


if __name__ == "__main__":
    sys.exit(common.main("nodered", __doc__, phases, sys.argv[1:], setup))
