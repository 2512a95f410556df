"""Record Parse Server (a backend-as-a-service: classes of objects with ACLs, users and sessions, roles,
config, over PostgreSQL) while an app's session runs against it with the Parse JavaScript SDK under node (and a
few calls of Parse's REST API by fetch), then verify the pact against a fresh, empty Parse Server.

    .venv/bin/python bench/thirdparty/parseserver.py [--keep DIR] [--json FILE] [--no-direct] [--setup-only]
        [-- VERIFY_ARGS...]

`verify` gets `--states-from-recording` and nothing else (the first contact). Where it refuses to start (exit 2:
it asks for secrets the recording redacted), that refusal and its message are the first figure, and verify runs
once more with the least the message asks for: VERIFY_ARGS (everything after `--`) if given, else `--secret
NAME=VALUE` for each NAME it names, VALUE what the teams know: an app key (the provider team's configuration,
the same on every server this harness starts) or a password the session chose, else a placeholder (session
tokens are handed out by the server: none knows them beforehand).

What it does, each phase timed:
  setup    Debian's PostgreSQL (`postgresql`, with `apt-get install` when no /usr/lib/postgresql/*/bin/initdb);
           under .venv/thirdparty/parseserver/npm: parse-server 9.10 and the Parse JS SDK `parse` 8.6 (npm,
           pinned, with `router` held at 2.2.0 by an npm override: router 2.3 changed the Layer parse-server
           9.10 reads to route a batch's requests, and every `POST /batch` answers 500), installed once per pin
           set; run by the machine's node >= 20.19.
  direct   a fresh server and the session below run straight against it (--no-direct leaves this out).
  record   another fresh server, `pact-recorder record --consumer parse-js-sdk --provider parse-server` in
           front of it, the same session with the recorder's URL + `/parse` as the server URL; SIGTERM makes it
           write OUT/parse-js-sdk-parse-server.json.
  verify   a third fresh server (empty: no class, no user), `pact-recorder verify --states-from-recording`;
           then, refused, again on a fresh one with what it asked for (verify2).
Then it prints the figures (steps with their expected outcome through the recorder and directly, how many had
the same outcome both ways, which password, app key or session token reached a file the recorder wrote,
exchanges, interactions, verified green / total) and the failures grouped by cause, and writes them as JSON to
DIR/figures.json (and --json FILE).

Each server: a new PostgreSQL cluster (`initdb` in a temp dir of its own, trust authentication, run as the
`postgres` user when the harness runs as root, on a free port of 127.0.0.1, fsync off) with a database
`parse`, and `parse-server CONFIG.json` on another free port: appId, masterKey, javascriptKey, restAPIKey fixed
(below), mountPath `/parse`, the rest Parse Server's defaults (client class creation off, users private,
master key from 127.0.0.1 only). Ready once `GET /parse/health` answers 200.

The API: `/parse/classes/{Class}[/{id}]`, `/parse/users[/me|/{id}]`, `/parse/login`, `/parse/logout`,
`/parse/batch`, `/parse/schemas/{Class}`, `/parse/config`, `/parse/aggregate/{Class}`; queries as JSON in
`where=` with `order`, `limit`, `skip`, `count`, `keys`, `include`; errors are 400 (404 for object not found)
`{"code": N, "error": ...}`. The JS SDK sends EVERY request as a `POST` with a `text/plain` body (to avoid
CORS pre-flights) holding the JSON payload plus `_method` (GET, PUT, DELETE), `_ApplicationId`,
`_JavaScriptKey` or `_MasterKey`, `_ClientVersion`, `_InstallationId` and the current user's `_SessionToken`;
the REST calls send the keys and the session token in `X-Parse-*` headers and the query in the URL.

The session (SESSION, 58 steps, each one "test", passed when it has its expected outcome: "ok", or the Parse
error code / HTTP status of a refusal it provokes on purpose): the app's backend defines three classes with the
master key (Post with class-level permissions, a pointer and a relation; Comment; Note) and reads a schema;
Alice and Bob sign up (session tokens handed out), Alice again (202) and with Alice's email (203), a wrong
password and an unknown user (101), Alice logs in, reads `users/me`, updates her profile; five posts with ACLs
and an author pointer; queries: get, `$gte` sorted, count, skip/limit, `$in` with `keys`, `$regex`, `$or`,
pointer equality with `include`; increment and addUnique; a relation (Bob likes a post, read with the master
key); three comments in one batch; `$inQuery`; a private note (ACL); a query on a bad field name (105), a
class the app did not define (119); Bob logs in, is refused the note (101) and an update of Alice's post (101),
counts notes (0), comments, queries the relation's reverse; REST: `where=` with `count`, `order`, `keys`, a
pointer query, `users/me` by header, notes without a session, no application id (403), a PUT and GET of
Bob's comment; a role with Bob (master key) and Bob's roles; config set (master key) and read; `distinct` and
`aggregate` (master key); Bob logs out, his old token refused (209); Alice logs in again, lists her sessions,
deletes her comments in one batch, deletes a post, reads it (101), counts (4), logs out, and a post without a
session is refused (101). Ids and tokens are carried in memory; the users' passwords and the app's keys come
from the environment, never a command line; the session tokens never reach the harness's files.

First contact (parse-server 9.10.0, parse 8.6.0, router 2.2.0, PostgreSQL 15 from Debian 12, node 20.20;
three runs alike): 58 steps, 58 / 58 with their expected outcome directly and through the recorder (the same
each); 69 exchanges, 69 recorded, 40 interactions (18 with a provider state). verify with
`--states-from-recording` alone: exit 2, one secret asked for, `x_parse_rest_api_key` (the REST calls'
header); with it: **12 / 40 green**. On disk, in clear, in the pact and its states: both users' passwords and
the wrong one, the master key, the JavaScript key and every session token the SDK sent (all inside its
text/plain bodies); the REST key and the session tokens of the `X-Parse-Session-Token` header are redacted
(the latter captured as handed out). The 28 failures, by root cause:
  (1) 22: the session token handed out in `sessionToken` (sign-up, login) and sent back as `_SessionToken`
      inside a text/plain body is neither redacted nor captured: the recorded token goes out and a fresh
      server answers 400 `{"code":209,"error":"Invalid session token"}`, to the interaction itself (e.g.
      `POST /parse/logout returns 200`, `POST /parse/batch returns 200`) or to the setup steps of its state
      (e.g. `GET /parse/users/me returns 200`, a REST call whose own header token is captured: "setup step 2
      (POST /parse/users) answered 400, recorded 201").
  (2) 2: reads sent as POSTs with `_method: GET` are taken for writes: `POST /parse/aggregate/Post returns
      200` and `.../Comment` get no state and answer `results: []` ("Expected [] (size 0) to have minimum
      size of 1"). The same tunnelling folds different reads into one interaction (the SDK's queries of a
      class, whatever their `where`, are one `POST /parse/classes/Post returns 200`).
  (3) 2: the class itself is no state: `POST /parse/classes/Post returns 404` (a create without a session,
      refused by the class's permissions) and `POST /parse/classes/Post/{id} returns 404` (`post does not
      exist`) get 400 "Permission denied" (119) or "non-existent class": no setup makes the class that the
      master key's `POST /parse/schemas/Post` defined.
  (4) 2: undos without the caller's credentials: every undo (`DELETE /parse/classes/Post/{id}`,
      `/parse/users/{id}`, `/parse/classes/_Role/{id}`) is sent without the application id and the session or
      master key the setup carried in its body, and answered 403 `unauthorized`; what the setups made stays,
      so `POST /parse/users returns 201` (Alice's sign-up) and `POST /parse/classes/_Role returns 201` (the
      role, 137 duplicate value) are refused as duplicates.
Of the 12 green, the logins and the config write pass only because their passwords and master key went to
disk in clear. One run: 12 to 18 s (direct 2-3 s, record 5-6 s, verify 2 s, verify2 4 s); the setup, once,
~30 s.

Now, after the mechanisms this pair showed (JSON read whatever its label, keys a request presents as data
needed for real, a class defined by a schema write set up before objects are made in it, ids named
`objectId`): exit 2 asking for the JavaScript, REST and master keys and the wrong password; with them
**32 / 58**, nothing secret on disk. Since methods tunnelled through a POST are read as the method they mean
(rules' `method_override`: `_method` GET a read, PUT an update, DELETE a delete, each its own interaction, `POST
/parse/classes/Post/{id} (as PUT) returns 200`) and undos are sent as the SDK deletes (a POST with `_method:
DELETE` and the maker's keys in the body), the undos refused in one verify went from 10 to 3 (two accounts, a
comment made with a logged-out session's header); still 32 / 58. Left: ACLs keyed by user ids (`{"ID": {...},
"*": ...}`: a JSON key no setup rebinds, so a fresh Alice may not update the post a setup made, 404, and most
states fail on that), classes a schema write defined that no undo removes (400), accounts no undo deletes (the
session a sign-up handed out, invalidated by a later logout), objects a batch made.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from common import ROOT, free_port, start, tail, timed, wait_http  # noqa: E402

PARSE_SERVER, PARSE_SDK = "9.10.0", "8.6.0"
ROUTER = "2.2.0"  # router 2.3 changed the Layer that parse-server 9.10's batch routing reads (a 500 per request)
NPM_PINS = [f"parse-server@{PARSE_SERVER}", f"parse@{PARSE_SDK}", f"router@{ROUTER} (override)"]
PACKAGE = {
    "name": "parseserver-harness",
    "private": True,
    "dependencies": {"parse-server": PARSE_SERVER, "parse": PARSE_SDK},
    "overrides": {"router": ROUTER},
}
HOME = ROOT / ".venv" / "thirdparty" / "parseserver"
NPM_DIR = HOME / "npm"
SERVER_BIN = NPM_DIR / "node_modules" / "parse-server" / "bin" / "parse-server"
SESSION_JS = NPM_DIR / "parseserver-harness-session.mjs"
CONSUMER, PROVIDER = "parse-js-sdk", "parse-server"
MOUNT = "/parse"
# the app's keys: the provider team's configuration, the same on every server this harness starts
APP_ID = "harness-app"
MASTER_KEY = "harness-master-Key-8c1f37a2"
JS_KEY = "harness-js-Key-41d9e0"
REST_KEY = "harness-rest-Key-b27c55"
# the session's users: their passwords must reach no file the recorder writes
USERS = {
    "alice": {"password": "alice-harness-Pw-5c81e0", "email": "alice@example.org"},
    "bob": {"password": "bob-harness-Pw-93d2fa", "email": "bob@example.org"},
}
WRONG_PASSWORD = "not-alices-password-7e1"
SESSION_SECONDS = 180
NODE_MIN = (20, 19)


# --- setup -------------------------------------------------------------------------------------------


def _run(cmd: list[str], what: str, **kw) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if done.returncode:
        sys.exit(f"harness: {what}: `{' '.join(cmd)}` failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")


def find_node() -> str:
    node = shutil.which("node")
    done = subprocess.run([node, "--version"], capture_output=True, text=True) if node else None
    m = re.match(r"v(\d+)\.(\d+)\.", done.stdout.strip()) if done and done.returncode == 0 else None
    if not m or (int(m.group(1)), int(m.group(2))) < NODE_MIN:
        sys.exit("harness: parse-server 9 needs node >= 20.19 on PATH (and npm to install it)")
    return node


def pg_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    return found[-1].parent if found else None


def setup() -> str:
    """Debian's PostgreSQL (when missing), parse-server and the Parse JS SDK under NPM_DIR (once per pin
    set), the session script beside them; the node to run them with."""
    node = find_node()
    if pg_bin() is None:
        common.apt_install("postgresql")
    stamp = HOME / ".installed"
    pins = json.dumps(PACKAGE, sort_keys=True)
    installed = SERVER_BIN.is_file() and (NPM_DIR / "node_modules" / "parse" / "node.js").is_file()
    if not (stamp.is_file() and stamp.read_text() == pins and installed):
        print(f"setup: installing {', '.join(NPM_PINS)} into {HOME.relative_to(ROOT)}", flush=True)
        shutil.rmtree(HOME, ignore_errors=True)
        NPM_DIR.mkdir(parents=True)
        npm = shutil.which("npm") or "npm"
        (NPM_DIR / "package.json").write_text(json.dumps(PACKAGE, indent=2) + "\n")
        _run([npm, "install", "--no-audit", "--no-fund", "--loglevel=error"], "installing parse-server and parse",
             cwd=NPM_DIR)  # fmt: skip
        stamp.write_text(pins)
    if not SESSION_JS.is_file() or SESSION_JS.read_text() != SESSION:
        SESSION_JS.write_text(SESSION)  # beside node_modules, so that its imports resolve
    return node


# --- the server --------------------------------------------------------------------------------------


def clean_env() -> dict[str, str]:
    """The environment less any proxy, Parse or Node setting of the user's (everything talks to 127.0.0.1)."""
    drop = ("PYTHON", "NODE", "PARSE", "PG")
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower() and not k.startswith(drop)}
    return env | {"NO_PROXY": "127.0.0.1,localhost"}


def start_postgres(stack: ExitStack, work: Path) -> str:
    """A fresh PostgreSQL cluster (initdb in a temp dir of its own, trust auth for 127.0.0.1 only) on a free
    port, run as the `postgres` user when we are root (PostgreSQL refuses to run as root); its database URI."""
    binary = pg_bin()
    if binary is None:
        raise RuntimeError("no PostgreSQL under /usr/lib/postgresql (the setup installs Debian's)")
    data_root = Path(tempfile.mkdtemp(prefix="parseserver-pg-"))
    stack.callback(shutil.rmtree, data_root, ignore_errors=True)
    kw: dict = {}
    if os.geteuid() == 0:
        shutil.chown(data_root, "postgres")
        kw = {"user": "postgres", "group": "postgres"}
    data = data_root / "data"
    done = subprocess.run([str(binary / "initdb"), "-D", str(data), "-U", "parse", "--auth=trust", "-E", "UTF8",
                           "--locale=C.UTF-8", "--no-sync"], capture_output=True, text=True, cwd=data_root,
                          env=clean_env(), **kw)  # fmt: skip
    if done.returncode:
        raise RuntimeError(f"initdb failed ({done.returncode}):\n{done.stdout[-1500:]}{done.stderr[-1500:]}")
    port = free_port()
    log = work / "postgres.log"
    cmd = [str(binary / "postgres"), "-D", str(data), "-h", "127.0.0.1", "-p", str(port), "-k", str(data_root),
           "-c", "fsync=off", "-c", "full_page_writes=off"]  # fmt: skip
    proc = start(stack, cmd, log, cwd=data_root, env=clean_env(), **kw)
    for _ in range(int(common.READY_SECONDS / 0.1)):
        if proc.poll() is not None:
            raise RuntimeError(f"postgres exited with {proc.returncode}:\n{tail(log)}")
        ready = subprocess.run([str(binary / "pg_isready"), "-h", "127.0.0.1", "-p", str(port)], capture_output=True)
        if ready.returncode == 0:
            break
        subprocess.run(["sleep", "0.1"])  # poll interval, not synchronisation
    else:
        raise RuntimeError(f"postgres did not get ready:\n{tail(log)}")
    create = [str(binary / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "parse", "parse"]
    done = subprocess.run(create, capture_output=True, text=True, env=clean_env())
    if done.returncode:
        raise RuntimeError(f"createdb failed:\n{done.stderr[-1500:]}")
    return f"postgres://parse@127.0.0.1:{port}/parse"


def start_server(stack: ExitStack, work: Path) -> str:
    """A fresh Parse Server over a fresh, empty PostgreSQL; its base URL (the API under MOUNT) once
    `/parse/health` answers 200."""
    work.mkdir(parents=True, exist_ok=True)
    database = start_postgres(stack, work)
    port = free_port()
    url = f"http://127.0.0.1:{port}{MOUNT}"
    config = {
        "appId": APP_ID,
        "masterKey": MASTER_KEY,
        "javascriptKey": JS_KEY,
        "restAPIKey": REST_KEY,
        "databaseURI": database,
        "port": port,
        "host": "127.0.0.1",
        "mountPath": MOUNT,
        "serverURL": url,
        "logLevel": "warn",
    }
    path = work / "parse-config.json"
    path.write_text(json.dumps(config, indent=2) + "\n")
    log = work / "server.log"
    proc = start(stack, [find_node(), str(SERVER_BIN), str(path)], log, cwd=work, env=clean_env())
    wait_http(f"{url}/health", proc, log)
    return url.removesuffix(MOUNT)


# --- the session -------------------------------------------------------------------------------------


def run_session(api: str, work: Path) -> dict:
    """The session below against the API at `api`; the counts in the shape the other harnesses give, and the
    session tokens it was handed (kept in memory only)."""
    work.mkdir(parents=True, exist_ok=True)
    out = work / "session.json"
    out.unlink(missing_ok=True)
    keys = {"appId": APP_ID, "jsKey": JS_KEY, "restKey": REST_KEY, "masterKey": MASTER_KEY, "users": USERS,
            "wrong": WRONG_PASSWORD}  # fmt: skip
    env = clean_env() | {"PARSE_HARNESS": json.dumps(keys)}
    with open(work / "session.log", "wb") as log:
        try:
            cmd = [find_node(), str(SESSION_JS), api, str(out)]
            done = subprocess.run(cmd, cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT,
                                  timeout=SESSION_SECONDS, start_new_session=True)  # fmt: skip
            code = done.returncode
        except subprocess.TimeoutExpired:
            code = "timeout"
    if not out.is_file():
        raise RuntimeError(f"the session wrote no results (exit {code}):\n{tail(work / 'session.log', 30)}")
    done = json.loads(out.read_text())
    out.write_text(json.dumps(done["results"], indent=1) + "\n")  # the tokens do not stay on disk
    results = done["results"]
    passed = sum(r["ok"] for r in results)
    for r in results:
        print(f"  {'ok  ' if r['ok'] else 'FAIL'} {r['command']} -> {r['exit']}", flush=True)
    return {
        "tests": len(results),
        "passed": passed,
        "failed": len(results) - passed,
        "errors": 0,
        "skipped": 0,
        "failing": [f"{r['command']} ({r['exit']}, expected {r['expect']})" for r in results if not r["ok"]],
        "commands": results,
        "tokens": done["tokens"],
    }


SESSION = r"""// An app's session with the Parse JS SDK: node parseserver-harness-session.mjs URL OUT.json
// (the app's keys and the users' passwords from the environment: PARSE_HARNESS)
import { writeFileSync } from "node:fs";
import Parse from "parse/node";

const [URL, OUT] = process.argv.slice(2);
const H = JSON.parse(process.env.PARSE_HARNESS);
const { alice: ALICE, bob: BOB } = H.users;
Parse.initialize(H.appId, H.jsKey, H.masterKey);
Parse.serverURL = URL;
Parse.User.enableUnsafeCurrentUser(); // an app's client: one current user at a time

const results = [];
const tokens = [];
const kept = {};

class Wrong extends Error {}
function check(got, want, what) {
  const a = JSON.stringify(got), b = JSON.stringify(want);
  if (a !== b) throw new Wrong(`${what}: got ${a}, want ${b}`);
}

async function step(name, fn, expect = "ok") {
  const t = performance.now();
  let outcome, detail;
  try {
    await fn();
    outcome = "ok";
  } catch (e) {
    if (e instanceof Wrong) [outcome, detail] = ["wrong", e.message];
    else if (e instanceof Parse.Error) [outcome, detail] = [`parse error ${e.code}`, e.message];
    else if (e && e.status) [outcome, detail] = [`http ${e.status}`, e.message];
    else [outcome, detail] = [`error: ${e && e.name}`, `${e}\n${e && e.stack}`];
  }
  const r = { command: name, exit: outcome, expect, ok: outcome === expect };
  r.seconds = Math.round(performance.now() - t) / 1000;
  if (!r.ok && detail) r.output = String(detail).slice(0, 600);
  results.push(r);
  console.log(`${r.ok ? "ok  " : "FAIL"} ${name}: ${outcome}${r.ok ? "" : " " + (detail || "")}`);
}

// the REST API as an app's own fetch writes it (Parse's REST guide): keys in headers, the query in the URL
class HttpError extends Error {}
async function rest(method, path, { query, body, session, appId = H.appId } = {}) {
  const headers = { "X-Parse-REST-API-Key": H.restKey, "Content-Type": "application/json" };
  if (appId) headers["X-Parse-Application-Id"] = appId;
  if (session) headers["X-Parse-Session-Token"] = session;
  const qs = query ? "?" + new URLSearchParams(Object.entries(query).map(([k, v]) =>
    [k, typeof v === "string" ? v : JSON.stringify(v)])).toString() : "";
  const res = await fetch(`${URL}${path}${qs}`, { method, headers, body: body && JSON.stringify(body) });
  const json = await res.json();
  if (!res.ok) {
    const e = new HttpError(JSON.stringify(json));
    e.status = res.status;
    throw e;
  }
  return json;
}

const Post = Parse.Object.extend("Post");
const Comment = Parse.Object.extend("Comment");
const Note = Parse.Object.extend("Note");
const master = { useMasterKey: true };

// --- the app's backend, once: its classes (client class creation is off, as Parse Server's default)
await step("health", async () => check((await rest("GET", "/health")).status, "ok", "status"));
await step("define the Post class (master key)", async () => {
  const s = new Parse.Schema("Post");
  s.addString("title").addString("body").addNumber("views").addArray("tags").addBoolean("published");
  s.addPointer("author", "_User").addRelation("likedBy", "_User");
  s.setCLP({ find: { "*": true }, get: { "*": true }, count: { "*": true }, create: { requiresAuthentication: true },
    update: { requiresAuthentication: true }, delete: { requiresAuthentication: true }, addField: {} });
  await s.save();
});
await step("define the Comment class (master key)", async () => {
  const s = new Parse.Schema("Comment");
  s.addString("text").addPointer("post", "Post").addPointer("author", "_User");
  await s.save();
});
await step("define the Note class (master key)", async () => {
  const s = new Parse.Schema("Note");
  s.addString("text").addPointer("owner", "_User");
  await s.save();
});
await step("read the Post schema (master key)", async () => {
  const s = await new Parse.Schema("Post").get();
  check(Object.keys(s.fields).includes("likedBy"), true, "likedBy");
});

// --- accounts: the session token handed out at sign-up and login, sent back with every request
await step("sign up Alice", async () => {
  const u = new Parse.User({ username: "alice", password: ALICE.password, email: ALICE.email });
  await u.signUp();
  kept.alice = u;
  tokens.push(u.getSessionToken());
  check(u.getSessionToken().startsWith("r:"), true, "session token");
});
await step("sign up Bob", async () => {
  const u = new Parse.User({ username: "bob", password: BOB.password, email: BOB.email });
  await u.signUp();
  kept.bob = u;
  tokens.push(u.getSessionToken());
  kept.bobFirstToken = u.getSessionToken();
});
await step("sign up Alice again", () =>
  new Parse.User({ username: "alice", password: ALICE.password }).signUp(), "parse error 202");
await step("sign up with Alice's email", () =>
  new Parse.User({ username: "carol", password: BOB.password, email: ALICE.email }).signUp(), "parse error 203");
await step("log in with a wrong password", () => Parse.User.logIn("alice", H.wrong), "parse error 101");
await step("log in an unknown user", () => Parse.User.logIn("nobody", ALICE.password), "parse error 101");
await step("log Alice in", async () => {
  const u = await Parse.User.logIn("alice", ALICE.password);
  tokens.push(u.getSessionToken());
  kept.aliceToken = u.getSessionToken();
  check(u.id, kept.alice.id, "id");
});
await step("who am I (users/me)", async () => {
  const me = await Parse.User.me(kept.aliceToken);
  check(me.get("username"), "alice", "username");
});
await step("update Alice's profile", async () => {
  const me = Parse.User.current();
  me.set("displayName", "Alice A.");
  await me.save();
  const again = await new Parse.Query(Parse.User).get(me.id);
  check(again.get("displayName"), "Alice A.", "displayName");
});

// --- objects: created with ACLs and pointers, queried with where-constraints
const POSTS = [
  { title: "Introducing Parse", body: "A backend in a box", views: 120, tags: ["parse", "baas"] },
  { title: "Queries with where", body: "Constraints as JSON", views: 45, tags: ["parse"] },
  { title: "Intro to ACLs", body: "Who reads, who writes", views: 300, tags: ["acl"] },
  { title: "Pointers and relations", body: "Linking objects", views: 80, tags: [] },
  { title: "Batching requests", body: "Many in one", views: 210, tags: ["parse", "batch"] },
];
await step("create five posts", async () => {
  kept.posts = [];
  for (const p of POSTS) {
    const acl = new Parse.ACL(kept.alice);
    acl.setPublicReadAccess(true);
    const post = new Post({ ...p, published: true, author: kept.alice });
    post.setACL(acl);
    await post.save();
    kept.posts.push(post);
  }
  check(kept.posts.every((p) => typeof p.id === "string"), true, "ids");
});
await step("get a post by id", async () => {
  const p = await new Parse.Query(Post).get(kept.posts[0].id);
  check(p.get("title"), POSTS[0].title, "title");
});
await step("query posts with views >= 100, by views descending", async () => {
  const found = await new Parse.Query(Post).greaterThanOrEqualTo("views", 100).descending("views").find();
  check(found.map((p) => p.get("title")), [POSTS[2].title, POSTS[4].title, POSTS[0].title], "titles");
});
await step("count published posts", async () => {
  check(await new Parse.Query(Post).equalTo("published", true).count(), 5, "count");
});
await step("a page of posts by title (skip 2, limit 2)", async () => {
  const found = await new Parse.Query(Post).ascending("title").skip(2).limit(2).find();
  check(found.map((p) => p.get("title")), [POSTS[0].title, POSTS[3].title], "titles");
});
await step("posts tagged parse (containedIn), only title and views", async () => {
  const found = await new Parse.Query(Post).containedIn("tags", ["parse"]).select("title", "views")
    .ascending("views").find();
  check(found.map((p) => [p.get("title"), p.get("body")]),
    [[POSTS[1].title, undefined], [POSTS[0].title, undefined], [POSTS[4].title, undefined]], "titles");
});
await step("posts whose title starts with Intro", async () => {
  const found = await new Parse.Query(Post).startsWith("title", "Intro").ascending("title").find();
  check(found.map((p) => p.get("title")), [POSTS[2].title, POSTS[0].title], "titles");
});
await step("an or-query (views < 50 or a title)", async () => {
  const q = Parse.Query.or(new Parse.Query(Post).lessThan("views", 50),
    new Parse.Query(Post).equalTo("title", POSTS[2].title));
  check((await q.ascending("views").find()).map((p) => p.get("views")), [45, 300], "views");
});
await step("posts by Alice, with their author included", async () => {
  const found = await new Parse.Query(Post).equalTo("author", kept.alice).include("author").ascending("views")
    .first();
  check([found.get("views"), found.get("author").get("username")], [45, "alice"], "first");
});
await step("increment a post's views and add a tag", async () => {
  const p = kept.posts[1];
  p.increment("views", 5);
  p.addUnique("tags", "sdk");
  await p.save();
  const again = await new Parse.Query(Post).get(p.id);
  check([again.get("views"), again.get("tags")], [50, ["parse", "sdk"]], "views, tags");
});
await step("Bob likes a post (a relation)", async () => {
  const p = kept.posts[2];
  p.relation("likedBy").add(kept.bob);
  await p.save();
  const likers = await p.relation("likedBy").query().find(master); // users are private: the backend reads
  check(likers.map((u) => u.id), [kept.bob.id], "likers");
});
await step("comments in one batch", async () => {
  const cs = ["Great intro", "Nice", "Very clear"].map((text, i) =>
    new Comment({ text, post: kept.posts[i % 2 === 0 ? 0 : 2], author: kept.alice }));
  kept.comments = await Parse.Object.saveAll(cs);
  check(kept.comments.every((c) => typeof c.id === "string"), true, "ids");
});
await step("comments on posts with views >= 200 (matchesQuery)", async () => {
  const popular = new Parse.Query(Post).greaterThanOrEqualTo("views", 200);
  const found = await new Parse.Query(Comment).matchesQuery("post", popular).find();
  check(found.map((c) => c.get("text")), ["Nice"], "texts");
});
await step("a private note (ACL: Alice only)", async () => {
  const note = new Note({ text: "only mine", owner: kept.alice });
  note.setACL(new Parse.ACL(kept.alice));
  await note.save();
  kept.note = note;
});
await step("a query on a field name none may have", () =>
  new Parse.Query(Post).equalTo("$bad", 1).find(), "parse error 105");
await step("create a class the app did not define", () => new Parse.Object("Unplanned", { a: 1 }).save(),
  "parse error 119");

// --- Bob
await step("log Bob in", async () => {
  const u = await Parse.User.logIn("bob", BOB.password);
  tokens.push(u.getSessionToken());
  kept.bobToken = u.getSessionToken();
});
await step("Bob reads Alice's private note", () => new Parse.Query(Note).get(kept.note.id), "parse error 101");
await step("Bob counts notes", async () => check(await new Parse.Query(Note).count(), 0, "count"));
await step("Bob updates Alice's post", async () => {
  const p = await new Parse.Query(Post).get(kept.posts[0].id);
  p.set("title", "Bob was here");
  await p.save();
}, "parse error 101");
await step("Bob comments", async () => {
  const c = new Comment({ text: "Thanks!", post: kept.posts[0], author: kept.bob });
  await c.save();
  kept.bobComment = c;
});
await step("Bob's liked posts (a relation's reverse)", async () => {
  const found = await new Parse.Query(Post).equalTo("likedBy", kept.bob).find();
  check(found.map((p) => p.id), [kept.posts[2].id], "ids");
});

// --- the REST API straight: keys and session token in headers, the where-query in the URL
await step("REST: popular posts with a count (where= in the URL)", async () => {
  const r = await rest("GET", "/classes/Post", { session: kept.bobToken,
    query: { where: { views: { $gte: 100 } }, order: "-views", limit: "2", count: "1", keys: "title,views" } });
  check([r.count, r.results.map((p) => p.views)], [3, [300, 210]], "count, views");
});
await step("REST: Alice's posts by pointer", async () => {
  const r = await rest("GET", "/classes/Post", { session: kept.bobToken,
    query: { where: { author: { __type: "Pointer", className: "_User", objectId: kept.alice.id } }, limit: "0",
      count: "1" } });
  check(r.count, 5, "count");
});
await step("REST: users/me with a session token header", async () => {
  check((await rest("GET", "/users/me", { session: kept.bobToken })).username, "bob", "username");
});
await step("REST: notes without a session", async () => {
  check((await rest("GET", "/classes/Note")).results, [], "results");
});
await step("REST: a request without the application id", () => rest("GET", "/classes/Post", { appId: null }),
  "http 403");
await step("REST: update a comment of Bob's", async () => {
  await rest("PUT", `/classes/Comment/${kept.bobComment.id}`, { session: kept.bobToken,
    body: { text: "Thanks a lot!" } });
  const c = await rest("GET", `/classes/Comment/${kept.bobComment.id}`, { session: kept.bobToken });
  check(c.text, "Thanks a lot!", "text");
});

// --- the backend again: roles, config, aggregates (master key)
await step("a moderators role with Bob (master key)", async () => {
  const acl = new Parse.ACL();
  acl.setPublicReadAccess(true);
  const role = new Parse.Role("moderators", acl);
  role.getUsers().add(kept.bob);
  await role.save(null, master);
});
await step("Bob's roles", async () => {
  const found = await new Parse.Query(Parse.Role).equalTo("users", kept.bob).find();
  check(found.map((r) => r.get("name")), ["moderators"], "roles");
});
await step("set the app's config (master key)", () => Parse.Config.save({ motd: "Welcome", maxPosts: 10 }));
await step("read the app's config", async () => {
  const c = await Parse.Config.get();
  check([c.get("motd"), c.get("maxPosts")], ["Welcome", 10], "config");
});
await step("distinct texts of Alice's comments (master key)", async () => {
  const texts = await new Parse.Query(Comment).equalTo("author", kept.alice).distinct("text", master);
  check([...texts].sort(), ["Great intro", "Nice", "Very clear"], "texts");
});
await step("views per published flag (aggregate, master key)", async () => {
  const r = await new Parse.Query(Post).aggregate([{ $group: { _id: "$published", total: { $sum: "$views" } } }],
    master);
  check(r.map((g) => g.total), [760], "totals");
});

// --- Bob logs out; Alice again
await step("log Bob out", () => Parse.User.logOut());
await step("use Bob's logged-out session", () => Parse.User.become(kept.bobToken), "parse error 209");
await step("log Alice in again", async () => {
  const u = await Parse.User.logIn("alice", ALICE.password);
  tokens.push(u.getSessionToken());
});
await step("Alice's sessions", async () => {
  const found = await new Parse.Query(Parse.Session).find();
  check(found.length, 1, "sessions"); // a login revokes the installation's earlier session
});
await step("delete Alice's comments in one batch", async () => {
  await Parse.Object.destroyAll(kept.comments);
  check(await new Parse.Query(Comment).equalTo("author", kept.alice).count(), 0, "left");
});
await step("delete a post", () => kept.posts[3].destroy());
await step("read the deleted post", () => new Parse.Query(Post).get(kept.posts[3].id), "parse error 101");
await step("count posts after the delete", async () => check(await new Parse.Query(Post).count(), 4, "count"));
await step("log Alice out", () => Parse.User.logOut());
await step("a post without a session", () => new Post({ title: "anonymous" }).save(), "parse error 101");

writeFileSync(OUT, JSON.stringify({ results, tokens }));
"""


# --- secrets on disk and the verifier ----------------------------------------------------------------


def keys_and_passwords() -> dict[str, str]:
    found = {f"password of {name}": u["password"] for name, u in USERS.items()}
    return found | {"the wrong password": WRONG_PASSWORD, "the master key": MASTER_KEY, "the JS key": JS_KEY,
                    "the REST key": REST_KEY}  # fmt: skip


def secrets_on_disk(out: Path, tokens: list[str]) -> dict[str, list[str]]:
    """For each secret of the session (the users' passwords, the wrong one, the app's keys, the session
    tokens the servers handed out), the files the recorder wrote (the pact, its states) holding it in clear."""
    files = [p for p in out.rglob(f"{CONSUMER}-{PROVIDER}*") if p.is_file()]
    secrets = keys_and_passwords() | {f"session token {n}": t for n, t in enumerate(tokens, 1)}
    found: dict[str, list[str]] = {}
    for p in files:
        text = p.read_text(errors="replace")
        for what, value in secrets.items():
            if value and value in text:
                found.setdefault(what, []).append(str(p.relative_to(out)))
    return found


def answers(message: str, pact: Path) -> list[str]:
    """`--secret NAME=VALUE` for each secret the refusal names: what the teams know where the recording
    redacted it (the app's keys: the provider's configuration; a password: the one the session sent for the
    username beside it), else a placeholder (a session token is handed out by the server: none knows it
    beforehand)."""
    where = secret_values(pact)
    args = []
    for name in re.findall(r"^\s+([\w.:-]+): needed by", message, re.M):
        values = where.get(name, set())
        args += ["--secret", f"{name}={values.pop() if len(values) == 1 else 'x'}"]
    return args


def secret_values(pact: Path) -> dict[str, set[str]]:
    """For each secret name the recording gave, the value the session sent there: an app key by the field or
    header it sits in, a password by the username beside it (the wrong one for a refused login of Alice's)."""
    by_field = {"_masterkey": MASTER_KEY, "x-parse-master-key": MASTER_KEY, "_javascriptkey": JS_KEY,
                "x-parse-javascript-key": JS_KEY, "x-parse-rest-api-key": REST_KEY,
                "x-parse-application-id": APP_ID, "_applicationid": APP_ID}  # fmt: skip
    found: dict[str, set[str]] = {}
    for i in json.loads(pact.read_text()).get("interactions", []):
        body = (i.get("request", {}).get("body") or {}).get("content")
        status = str(i.get("response", {}).get("status", ""))
        for s in (i.get("comments", {}).get("pactRecorder", {}) or {}).get("secrets", []):
            name, key = s.get("secret"), s.get("key")
            field = (key[-1] if isinstance(key, list) and key else str(key or "")).lower()
            value = by_field.get(field)
            if field == "password" and isinstance(body, dict) and body.get("username") in USERS:
                user = body["username"]
                value = WRONG_PASSWORD if user == "alice" and status.startswith("4") else USERS[user]["password"]
            if name and value is not None:
                found.setdefault(name, set()).add(value)
    return found


def phases(work: Path, verify_args: list[str], direct: bool) -> dict:
    seconds: dict[str, float] = {}
    with timed(seconds, "setup"):
        setup()
    direct_run = None
    if direct:
        with timed(seconds, "direct"), ExitStack() as stack:
            server = start_server(stack, work / "direct" / "server")
            direct_run = run_session(server + MOUNT, work / "direct")
    out = work / "record"
    with timed(seconds, "record"), ExitStack() as stack:
        server = start_server(stack, out / "server")
        recorder, url, log = common.start_recorder(stack, CONSUMER, PROVIDER, server, out)
        recorded = run_session(url + MOUNT, out / "session")
        common.finish_recording(recorder, log)
    pact = out / f"{CONSUMER}-{PROVIDER}.json"
    if not pact.is_file():
        raise RuntimeError(f"the recorder wrote no {pact.name}:\n{tail(log)}")
    leaked = secrets_on_disk(out, recorded.pop("tokens") + (direct_run or {}).pop("tokens", []))
    runs: list[dict] = []
    args = ["--states-from-recording"]
    with timed(seconds, "verify"), ExitStack() as stack:
        server = start_server(stack, work / "verify" / "server")
        report, outcome = common.verify_outcome(stack, pact, server, work / "verify", args)
        runs.append(outcome)
    if report is None or verify_args:  # refused (or asked for): once more with the extra, on a fresh server
        extra = verify_args or answers(outcome["message"], pact)
        if report is None and not extra:
            raise RuntimeError(f"verify refused (exit {outcome['exit']}):\n{outcome['message']}")
        with timed(seconds, "verify2"), ExitStack() as stack:
            server = start_server(stack, work / "verify2" / "server")
            args = [*args, *extra]
            report, outcome = common.verify_outcome(stack, pact, server, work / "verify2", args)
            runs.append(outcome)
    hide = hider()
    for n, run in enumerate(runs, 1):
        lines = hide(run["message"]).splitlines()
        said = [line for line in lines if "interaction(s) passed" in line]
        if run["exit"] == 2:
            said = [*lines[:14], f"... ({len(lines) - 14} more lines)"] if len(lines) > 15 else lines
        print(f"verify run {n}: exit {run['exit']}  ({hide(' '.join(run['args']))})")
        print("\n".join("  " + line.strip() for line in said))
    same = common.same_exit_codes(direct_run, recorded)
    if same:
        print(f"transparency: {same['same_exit']} / {same['steps']} steps had the same outcome both ways")
        for line in same["differ"]:
            print(f"  differs: {line}")
    print("secrets in clear: " + ("; ".join(f"{what} in {', '.join(where)}" for what, where in leaked.items())
                                  or "none in the files the recorder wrote"))  # fmt: skip
    if report is None:
        raise RuntimeError(f"pact-recorder verify wrote no report (exit {runs[-1]['exit']}):\n{runs[-1]['message']}")
    return {
        "parse_server": PARSE_SERVER,
        "parse_sdk": PARSE_SDK,
        "pins": NPM_PINS,
        "consumer": "an app's session with the Parse JS SDK (and a few REST calls by fetch) under node",
        "verify_args": [hide(a) for a in args],
        "verify_runs": [
            {**run, "args": [hide(a) for a in run["args"]], "message": hide(run["message"])} for run in runs
        ],  # fmt: skip
        "seconds": seconds,
        "direct": direct_run,
        "recorded": recorded,
        "transparency": same,
        "secrets_in_clear": leaked,
        "recording": common.recording_figures(pact),
        "verify": common.verify_figures(report),
        "failures": common.group_failures(report),
    }


def hider():
    """Text with the session's passwords and the app's keys masked (for what the harness prints and keeps)."""
    values = list(keys_and_passwords().values())

    def hide(text: str) -> str:
        for v in values:
            text = text.replace(v, "****")
        return text

    return hide


if __name__ == "__main__":
    sys.exit(common.main("parseserver", __doc__, phases, sys.argv[1:], setup))
