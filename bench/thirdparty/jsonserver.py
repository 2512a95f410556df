"""Record json-server with json-server-auth (a REST API over a JSON file, with JWT login and guarded routes,
run by node) while react-admin's real data provider for it, ra-data-json-server, runs an admin app's session
against it under node, then verify the pact against a fresh, empty server.

    .venv/bin/python bench/thirdparty/jsonserver.py [--keep DIR] [--json FILE] [--no-direct] [--setup-only]
        [-- VERIFY_ARGS...]

`verify` gets `--states-from-recording` and nothing else (the first contact). Where it refuses to start (exit 2:
it asks for secrets the recording redacted), that refusal and its message are the first figure, and verify runs
once more with the least the message asks for: VERIFY_ARGS (everything after `--`, which make that second run
in any case) if given, else `--secret NAME=VALUE` for each NAME it names, VALUE what the teams know: a user's
password where the recording redacted one the session's author chose (the session's users are its own), else
a placeholder (the access tokens are handed out by the provider at register and login: none knows them
beforehand).

json-server has no client test suite that talks to a server, and ra-data-json-server's own tests mock fetch:
so the consumer is an admin app's session written with the real client library, as react-admin's users write
theirs (react-admin calls the same data provider methods from its list, show and edit views).

What it does, each phase timed:
  setup    under .venv/thirdparty/jsonserver/npm: json-server 0.17, json-server-auth, ra-data-json-server and
           ra-core (npm, pinned; npm also brings ra-core's peers: react, react-router, @tanstack/react-query,
           which the data provider never calls), installed once per pin set; run by the machine's node >= 20
           (its global fetch).
  direct   a fresh server and the session below run straight against it (--no-direct leaves this out).
  record   another fresh server, `pact-recorder record --consumer ra-data-json-server --provider
           json-server` in front of it, the same session with the recorder's URL as the API's URL; SIGTERM
           makes it write OUT/ra-data-json-server-json-server.json.
  verify   a third fresh server (empty: a db.json holding the three collections with no row, no user),
           `pact-recorder verify --states-from-recording`; then, refused, again on a fresh one with what it
           asked for (verify2).
Then it prints the figures (steps with their expected outcome through the recorder and directly, how many had
the same outcome both ways, whether a password or an access token reached any file the recorder wrote,
exchanges, interactions, verified green / total) and the failures grouped by cause, and writes them as JSON to
DIR/figures.json (and --json FILE).

Each server is a node script of this harness's (SERVER, written beside the npm install), json-server used as
a module as json-server-auth's README has it: `app = jsonServer.create()`, `router = jsonServer.router(DB)`,
`app.db = router.db`, json-server's defaults (CORS, no-cache; no logger), json-server-auth's `rewriter` with
the rules below, `auth` (its /register, /login and guards), then the router; on 127.0.0.1:PORT, DB a new
db.json in the phase's own temp dir holding `{"users": [], "posts": [], "comments": []}`. The rules
(routes.json-style): `users: 600` (a user reads and writes only their own record), `posts: 664` (anyone
reads, a logged-in user writes), `comments: 660` (logged-in users only). json-server-auth signs its JWTs
(`accessToken`, 1 h, `sub` the user's id) with a fixed key of its own and stores bcrypt hashes of the
passwords. Ready once `GET /posts` answers 200.

The API: collections under `/{name}` and `/{name}/{id}` (GET, POST 201, PUT replaces, PATCH, DELETE 200
`{}`; ids are integers, max + 1); lists take `_sort`/`_order`, `_start`/`_end`, `_page`/`_limit` (with
`X-Total-Count` and a `Link` header), `q` (full text), `field=value` (repeated: any of), `field_like=regex`,
`field_gte`/`_lte`/`_ne`, `_embed=comments` (children by `postId`) and `_expand=post` (parent); an id none
has is 404 `{}`; deleting a post deletes its comments. json-server-auth: `POST /register` {email, password,
...} answers 201 {accessToken, user} (400 for an email already there or a password under 4 characters),
`POST /login` answers 200 {accessToken, user} (400 for an unknown email or a wrong password); a guarded
request without `Authorization: Bearer JWT` is 401, with a bad one 401, another user's record 403.

The session (SESSION, each step one "test", passed when it has its expected outcome: "ok", or the status of
the refusal it provokes on purpose), through `jsonServerProvider(URL, httpClient)` from ra-data-json-server
with react-admin's own `fetchUtils.fetchJson` as httpClient, handed `user: {authenticated: true, token:
"Bearer JWT"}` once logged in (as react-admin's docs write an authenticated httpClient), and, for
register and login, the same fetchJson as an authProvider calls it: register two users (Alice and Bob),
register Alice again (400), with a short password (400); log in with a wrong password and with an unknown
email (400), log Alice in; posts: created (five, with userId, tags, views), getList sorted by title in pages
of two (page 1 and 2, X-Total-Count 5), filtered by `q`, by `title_like`, by `views_gte` sorted by views
descending, with `meta.embed` comments; getOne, getOne with embed, getMany of three ids, and a list by
`_page`/`_limit` as an app's own fetch writes it (its `Link` header); comments (660): created under two
posts, getManyReference by postId sorted and paginated, a list with `_expand=post`, a list without the token
(401), with a malformed token (401); a post created without the token (401); update (PUT) and updateMany
of posts, read back; Alice's own user record read (600) and updated (her name), Bob's read with Alice's
token (403); Bob logs in and adds a comment; delete of a post (its comments go with it: checked), deleteMany
of two, the deleted post read again (404), a post none has (404), an update of a post none has (404), the
list after the deletes (X-Total-Count 2). Ids the server hands out and the tokens are carried from step to
step in memory; the users' emails and passwords are fixed (the same every phase), given to the session
through its environment, never on a command line. Every process started is stopped on the way out, on
failure and on Ctrl-C or SIGTERM too.

First contact (json-server 0.17.4 + json-server-auth 2.1.0, ra-data-json-server 5.15.3 + ra-core 5.15.4,
node 20.20; three runs alike): 37 steps, 37 / 37 with their expected outcome both directly and through the
recorder (the same outcome each); 48 exchanges, 48 recorded, 29 interactions (26 with a provider state).
verify with `--states-from-recording` alone: exit 2, two secrets asked for, both passwords of refusals
(`password_3`: `POST /register returns 400 (body email, password)`, the short password; `password_4`: `POST
/login returns 400`, the wrong password); the users' own passwords and the access tokens are not asked for
(the setups register the users with them and carry the tokens the fresh server hands out). With those two:
**26 / 29 green**. The three failures, one cause each:
  - `GET /posts returns 200 (query _limit, _page)`: `_page=2&_limit=2` taken for values handed out by
    earlier responses (ids 2) and sent as `_page=5&_limit=5` (the fresh server's ids): an empty page, no
    `Link` header.
  - `DELETE /posts/{id} returns 200`, state `user exists` (setup: register, login, `PUT /users/1`): the
    register answers 400 (the user is there from an earlier state: its undo `DELETE /users/{id}` is refused
    by the 600 guard), so no user id is captured, and the recorded `1` of `/users/1` is replaced by the id a
    post got (`PUT /users/9`, 403: not the token's subject).
  - `GET /users/{id} returns 200`: its `user exists` is a seed ("no recorded request makes this"): the user
    was made by `POST /register`, whose answer nests it (`user.id`), not by a `POST /users`; so none exists
    (json-server-auth answers 401 with a TypeError's message).
On disk: no password, no access token (JWT) and no bcrypt hash in any file the recorder wrote (the pact, its
states): request passwords, `Authorization` and the `accessToken` and `password` of responses are
`<redacted>`. What the 29 do not say: the malformed-token 401 and the no-token 401 fold into one interaction
without an Authorization header. One run: 21 to 36 s (direct 3-6 s, record 6-12 s, verify 1-2 s, verify2
9-13 s); the setup, once, ~25 s.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from common import ROOT, free_port, start, tail, timed, wait_http  # noqa: E402

JSON_SERVER, JSON_SERVER_AUTH = "0.17.4", "2.1.0"
RA_DATA_JSON_SERVER, RA_CORE = "5.15.3", "5.15.4"
NPM_PINS = [
    f"json-server@{JSON_SERVER}", f"json-server-auth@{JSON_SERVER_AUTH}",
    f"ra-data-json-server@{RA_DATA_JSON_SERVER}", f"ra-core@{RA_CORE}",
]  # fmt: skip
HOME = ROOT / ".venv" / "thirdparty" / "jsonserver"
NPM_DIR = HOME / "npm"
SERVER_JS = NPM_DIR / "jsonserver-harness-server.cjs"
SESSION_JS = NPM_DIR / "jsonserver-harness-session.mjs"
CONSUMER, PROVIDER = "ra-data-json-server", "json-server"
SCHEMA = {"users": [], "posts": [], "comments": []}
RULES = {"users": 600, "posts": 664, "comments": 660}
# the session's users: their passwords must reach no file the recorder writes
USERS = {
    "ALICE": {"email": "alice@example.org", "password": "alice-harness-Pw-5c81e0"},
    "BOB": {"email": "bob@example.org", "password": "bob-harness-Pw-93d2fa"},
}
SHORT_PASSWORD = "abc"  # refused (under 4 characters): never stored
WRONG_PASSWORD = "not-alices-password-7e1"
SESSION_SECONDS = 120

SERVER = r"""// json-server with json-server-auth, as its README has it:
// node jsonserver-harness-server.cjs HOST PORT DB RULES
const jsonServer = require("json-server");
const auth = require("json-server-auth");

const [host, port, db, rules] = process.argv.slice(2);
const app = jsonServer.create();
const router = jsonServer.router(db);
app.db = router.db; // json-server-auth reads the users from it
app.use(jsonServer.defaults({ logger: false }));
app.use(auth.rewriter(JSON.parse(rules)));
app.use(auth);
app.use(router);
const server = app.listen(Number(port), host, () => console.log(`json-server on http://${host}:${port}`));
for (const sig of ["SIGTERM", "SIGINT"]) process.on(sig, () => server.close(() => process.exit(0)));
"""

SESSION = r"""// An admin app's session with ra-data-json-server: node jsonserver-harness-session.mjs URL OUT.json
// (the users' emails and passwords from the environment: JS_ALICE_EMAIL, JS_ALICE_PASSWORD, JS_BOB_...)
import { writeFileSync } from "node:fs";
import jsonServerProvider from "ra-data-json-server";
import { fetchUtils } from "ra-core";

const [API, OUT] = process.argv.slice(2);
const env = process.env;
const alice = { email: env.JS_ALICE_EMAIL, password: env.JS_ALICE_PASSWORD, name: "Alice" };
const bob = { email: env.JS_BOB_EMAIL, password: env.JS_BOB_PASSWORD, name: "Bob" };
const auth = { token: null };
// react-admin's authenticated httpClient: fetchJson with the user's token
const httpClient = (url, options = {}) =>
  fetchUtils.fetchJson(url, auth.token
    ? { ...options, user: { authenticated: true, token: `Bearer ${auth.token}` } }
    : options);
const dataProvider = jsonServerProvider(API, httpClient);
const anonymous = jsonServerProvider(API, fetchUtils.fetchJson);
const malformed = jsonServerProvider(API, (url, options = {}) =>
  fetchUtils.fetchJson(url, { ...options, user: { authenticated: true, token: "Bearer not-a-jwt" } }));
// an authProvider's calls
const post = (path, body) => fetchUtils.fetchJson(`${API}/${path}`, { method: "POST", body: JSON.stringify(body) });

const results = [];
const kept = {};
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

async function step(name, expect, fn) {
  if (typeof expect === "function") [expect, fn] = ["ok", expect];
  const t = performance.now();
  let outcome, detail;
  try {
    const got = await fn();
    outcome = got === undefined || got === true ? "ok" : `wrong: ${JSON.stringify(got).slice(0, 300)}`;
  } catch (e) {
    if (e && e.status) {
      outcome = String(e.status);
      detail = `${e.message} ${JSON.stringify(e.body)}`.slice(0, 300);
    } else {
      outcome = `error: ${e && e.name}: ${String(e && e.message).slice(0, 300)}`;
      detail = String(e && e.stack).slice(0, 1500);
    }
  }
  const seconds = Math.round(performance.now() - t) / 1000;
  const r = { command: name, exit: outcome, expect, ok: outcome === expect, seconds };
  if (!r.ok && detail) r.output = detail;
  results.push(r);
  console.log(`${r.ok ? "ok   " : "FAIL "}${name} -> ${outcome}`);
}

const page = (page, perPage) => ({ page, perPage });
const by = (field, order = "ASC") => ({ field, order });

// --- accounts
await step("register Alice", async () => {
  const { status, json } = await post("register", alice);
  kept.alice = json.user;
  return (status === 201 && typeof json.accessToken === "string" && json.user.email === alice.email
    && !("password" in json.user)) || json;
});
await step("register Bob", async () => {
  const { json } = await post("register", bob);
  kept.bob = json.user;
  return json.user.id !== kept.alice.id || json;
});
await step("register Alice again", "400", () => post("register", alice));
await step("register with a short password", "400", () =>
  post("register", { email: "carol@example.org", password: env.JS_SHORT_PASSWORD }));
await step("log in with a wrong password", "400", () =>
  post("login", { email: alice.email, password: env.JS_WRONG_PASSWORD }));
await step("log in with an unknown email", "400", () =>
  post("login", { email: "nobody@example.org", password: alice.password }));
await step("log Alice in", async () => {
  const { status, json } = await post("login", { email: alice.email, password: alice.password });
  auth.token = json.accessToken;
  return (status === 200 && json.user.id === kept.alice.id && auth.token.split(".").length === 3) || json;
});

// --- posts (664: anyone reads, logged-in users write)
const POSTS = [
  { title: "Introducing json-server", body: "A full fake REST API", views: 120, tags: ["json", "rest"] },
  { title: "Pagination with _start and _end", body: "Slices of a list", views: 45, tags: ["rest"] },
  { title: "Intro to JWT", body: "Signed claims for json logins", views: 300, tags: ["auth"] },
  { title: "Sorting lists", body: "_sort and _order", views: 80, tags: [] },
  { title: "Relations: _embed and _expand", body: "Children and parents", views: 210, tags: ["json"] },
];
await step("create five posts", async () => {
  kept.posts = [];
  for (const p of POSTS) {
    const { data } = await dataProvider.create("posts", { data: { ...p, userId: kept.alice.id, published: true } });
    kept.posts.push(data);
  }
  return kept.posts.every((p, i) => Number.isInteger(p.id) && p.title === POSTS[i].title) || kept.posts;
});
await step("getList posts sorted by title, page 1 of 2 per page", async () => {
  const { data, total } = await dataProvider.getList("posts", {
    pagination: page(1, 2), sort: by("title"), filter: {} });
  const titles = ["Intro to JWT", "Introducing json-server"];
  return (total === 5 && same(data.map((p) => p.title), titles)) || { total, data };
});
await step("getList posts sorted by title, page 2", async () => {
  const { data, total } = await dataProvider.getList("posts", {
    pagination: page(2, 2), sort: by("title"), filter: {} });
  const titles = ["Pagination with _start and _end", "Relations: _embed and _expand"];
  return (total === 5 && same(data.map((p) => p.title), titles)) || { total, data };
});
await step("getList posts, full-text q", async () => {
  const { data, total } = await dataProvider.getList("posts", {
    pagination: page(1, 10), sort: by("id"), filter: { q: "json" } });
  const ids = [kept.posts[0].id, kept.posts[2].id, kept.posts[4].id];
  return (total === 3 && same(data.map((p) => p.id), ids)) || { total, data };
});
await step("getList posts, title_like", async () => {
  const { data, total } = await dataProvider.getList("posts", {
    pagination: page(1, 10), sort: by("id"), filter: { title_like: "^Intro" } });
  return (total === 2 && same(data.map((p) => p.id), [kept.posts[0].id, kept.posts[2].id])) || { total, data };
});
await step("getList posts, views_gte sorted by views descending", async () => {
  const { data, total } = await dataProvider.getList("posts", {
    pagination: page(1, 10), sort: by("views", "DESC"), filter: { views_gte: 100 } });
  return (total === 3 && same(data.map((p) => p.views), [300, 210, 120])) || { total, data };
});
await step("getOne post", async () => {
  const { data } = await dataProvider.getOne("posts", { id: kept.posts[1].id });
  return same(data, kept.posts[1]) || data;
});
await step("getMany posts", async () => {
  const ids = [kept.posts[0].id, kept.posts[2].id, kept.posts[3].id];
  const { data } = await dataProvider.getMany("posts", { ids });
  return same(data.map((p) => p.id), ids) || data;
});
await step("list posts by _page and _limit (an app's own fetch)", async () => {
  const { headers, json } = await httpClient(`${API}/posts?_page=2&_limit=2`);
  const link = headers.get("link") || "";
  return (headers.get("x-total-count") === "5" && json.length === 2 && json[0].id === kept.posts[2].id
    && link.includes('rel="first"') && link.includes('rel="next"') && link.includes('rel="last"')) || { link, json };
});

// --- comments (660: logged-in users only)
await step("create comments under two posts", async () => {
  kept.comments = [];
  const bodies = [[0, "Great intro"], [0, "Thanks!"], [0, "Where is v1?"], [2, "Tokens expire in an hour"]];
  for (const [post, body] of bodies) {
    const comment = { postId: kept.posts[post].id, userId: kept.alice.id, body };
    const { data } = await dataProvider.create("comments", { data: comment });
    kept.comments.push(data);
  }
  return kept.comments.every((c) => Number.isInteger(c.id)) || kept.comments;
});
await step("getManyReference comments of a post, sorted, page 1 of 2 per page", async () => {
  const { data, total } = await dataProvider.getManyReference("comments", {
    target: "postId", id: kept.posts[0].id, pagination: page(1, 2), sort: by("id", "DESC"), filter: {} });
  return (total === 3 && same(data.map((c) => c.body), ["Where is v1?", "Thanks!"])) || { total, data };
});
await step("getList posts with embed comments", async () => {
  const { data } = await dataProvider.getList("posts", {
    pagination: page(1, 1), sort: by("id"), filter: {}, meta: { embed: "comments" } });
  return (data[0].comments.length === 3) || data;
});
await step("getOne post with embed comments", async () => {
  const { data } = await dataProvider.getOne("posts", { id: kept.posts[2].id, meta: { embed: "comments" } });
  return (data.comments.length === 1 && data.comments[0].body === "Tokens expire in an hour") || data;
});
await step("list comments with _expand=post", async () => {
  const { json } = await httpClient(`${API}/comments?_expand=post&postId=${kept.posts[2].id}`);
  return (json.length === 1 && json[0].post.title === "Intro to JWT") || json;
});
await step("getList comments without a token", "401", () =>
  anonymous.getList("comments", { pagination: page(1, 10), sort: by("id"), filter: {} }));
await step("getList comments with a malformed token", "401", () =>
  malformed.getList("comments", { pagination: page(1, 10), sort: by("id"), filter: {} }));
await step("create a post without a token", "401", () =>
  anonymous.create("posts", { data: { title: "Anonymous", views: 0, userId: kept.alice.id } }));

// --- updates
await step("update a post (PUT)", async () => {
  const revised = { ...kept.posts[3], title: "Sorting lists, revised", views: 81 };
  const { data } = await dataProvider.update("posts", {
    id: kept.posts[3].id, data: revised, previousData: kept.posts[3] });
  return (data.title === "Sorting lists, revised" && data.id === kept.posts[3].id) || data;
});
await step("updateMany posts", async () => {
  const ids = [kept.posts[0].id, kept.posts[1].id];
  const draft = { published: false, userId: kept.alice.id, title: "Draft", views: 0 };
  const { data } = await dataProvider.updateMany("posts", { ids, data: draft });
  return same(data, ids) || data;
});
await step("getList of unpublished posts after updateMany", async () => {
  const { data, total } = await dataProvider.getList("posts", {
    pagination: page(1, 10), sort: by("id"), filter: { published: false } });
  return (total === 2 && data.every((p) => p.title === "Draft" && p.body === undefined)) || { total, data };
});

// --- users (600: own record only)
await step("getOne Alice's own user record", async () => {
  const { data } = await dataProvider.getOne("users", { id: kept.alice.id });
  return (data.email === alice.email && data.name === "Alice") || data;
});
await step("update Alice's user record (her name)", async () => {
  const renamed = { email: alice.email, password: alice.password, name: "Alice Liddell" };
  const { data } = await dataProvider.update("users", { id: kept.alice.id, data: renamed, previousData: kept.alice });
  return data.name === "Alice Liddell" || data;
});
await step("getOne Bob's user record with Alice's token", "403", () =>
  dataProvider.getOne("users", { id: kept.bob.id }));
await step("Bob logs in and comments", async () => {
  const { json } = await post("login", { email: bob.email, password: bob.password });
  const asBob = jsonServerProvider(API, (url, options = {}) =>
    fetchUtils.fetchJson(url, { ...options, user: { authenticated: true, token: `Bearer ${json.accessToken}` } }));
  const comment = { postId: kept.posts[2].id, userId: kept.bob.id, body: "Nice one" };
  const { data } = await asBob.create("comments", { data: comment });
  return data.userId === kept.bob.id || data;
});

// --- deletes
await step("delete a post (its comments go with it)", async () => {
  const { data } = await dataProvider.delete("posts", { id: kept.posts[0].id, previousData: kept.posts[0] });
  const { total } = await dataProvider.getManyReference("comments", {
    target: "postId", id: kept.posts[0].id, pagination: page(1, 10), sort: by("id"), filter: {} });
  return (same(data, {}) && total === 0) || { data, total };
});
await step("deleteMany posts", async () => {
  const ids = [kept.posts[1].id, kept.posts[3].id];
  const { data } = await dataProvider.deleteMany("posts", { ids });
  return data.length === 2 || data;
});
await step("getOne a deleted post", "404", () => dataProvider.getOne("posts", { id: kept.posts[0].id }));
await step("getOne a post none has", "404", () => dataProvider.getOne("posts", { id: 9999 }));
await step("update a post none has", "404", () =>
  dataProvider.update("posts", { id: 9999, data: { title: "Ghost", userId: kept.alice.id }, previousData: {} }));
await step("getList posts after the deletes", async () => {
  const { data, total } = await dataProvider.getList("posts", { pagination: page(1, 10), sort: by("id"), filter: {} });
  return (total === 2 && same(data.map((p) => p.id), [kept.posts[2].id, kept.posts[4].id])) || { total, data };
});

writeFileSync(OUT, JSON.stringify(results, null, 1));
"""


# --- setup -------------------------------------------------------------------------------------------


def _run(cmd: list[str], what: str, **kw) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if done.returncode:
        sys.exit(f"harness: {what}: `{' '.join(cmd)}` failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")


def find_node() -> str:
    node = shutil.which("node")
    done = subprocess.run([node, "--version"], capture_output=True, text=True) if node else None
    m = re.match(r"v(\d+)\.", done.stdout.strip()) if done and done.returncode == 0 else None
    if not m or int(m.group(1)) < 20:
        sys.exit("harness: ra-core and the session need node >= 20 on PATH (and npm to install them)")
    return node


def setup() -> str:
    """json-server, json-server-auth, ra-data-json-server and ra-core under NPM_DIR, installed once per pin
    set; the server and session scripts beside them; the node to run them with."""
    node = find_node()
    stamp = HOME / ".installed"
    pins = "\n".join(NPM_PINS)
    installed = all((NPM_DIR / "node_modules" / p).is_dir() for p in ("json-server", "json-server-auth", "ra-core"))
    if not (stamp.is_file() and stamp.read_text() == pins and installed):
        print(f"setup: installing {', '.join(NPM_PINS)} into {HOME.relative_to(ROOT)}", flush=True)
        shutil.rmtree(HOME, ignore_errors=True)
        NPM_DIR.mkdir(parents=True)
        npm = shutil.which("npm") or "npm"
        _run([npm, "install", "--no-audit", "--no-fund", "--loglevel=error", "--prefix", str(NPM_DIR), *NPM_PINS],
             "installing json-server and ra-data-json-server")  # fmt: skip
        stamp.write_text(pins)
    for path, text in ((SERVER_JS, SERVER), (SESSION_JS, SESSION)):
        if not path.is_file() or path.read_text() != text:
            path.write_text(text)  # beside node_modules, so that its imports resolve
    return node


# --- the server --------------------------------------------------------------------------------------


def clean_env() -> dict[str, str]:
    """The environment less any proxy of the user's (everything talks to 127.0.0.1 only)."""
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower() and not k.startswith(("PYTHON", "NODE"))}
    return env | {"NO_PROXY": "127.0.0.1,localhost"}


def start_server(stack: ExitStack, work: Path) -> str:
    """A fresh json-server (a new db.json holding the empty collections) on a free port of 127.0.0.1; its
    base URL once `GET /posts` answers 200."""
    work.mkdir(parents=True, exist_ok=True)
    db = work / "db.json"
    db.write_text(json.dumps(SCHEMA, indent=2) + "\n")
    port = free_port()
    log = work / "server.log"
    cmd = [find_node(), str(SERVER_JS), "127.0.0.1", str(port), str(db), json.dumps(RULES)]
    proc = start(stack, cmd, log, cwd=work, env=clean_env())
    url = f"http://127.0.0.1:{port}"
    wait_http(f"{url}/posts", proc, log)
    return url


# --- the session -------------------------------------------------------------------------------------


def session_env() -> dict[str, str]:
    env = clean_env() | {"JS_SHORT_PASSWORD": SHORT_PASSWORD, "JS_WRONG_PASSWORD": WRONG_PASSWORD}
    for who, u in USERS.items():
        env |= {f"JS_{who}_EMAIL": u["email"], f"JS_{who}_PASSWORD": u["password"]}
    return env


def run_session(api: str, work: Path) -> dict:
    """The session above against the API at `api`; the counts in the shape the other harnesses give."""
    work.mkdir(parents=True, exist_ok=True)
    out = work / "session.json"
    out.unlink(missing_ok=True)
    with open(work / "session.log", "wb") as log:
        try:
            done = subprocess.run([find_node(), str(SESSION_JS), api, str(out)], cwd=work, env=session_env(),
                                  stdout=log, stderr=subprocess.STDOUT, timeout=SESSION_SECONDS,
                                  start_new_session=True)  # fmt: skip
            code = done.returncode
        except subprocess.TimeoutExpired:
            code = "timeout"
    if not out.is_file():
        raise RuntimeError(f"the session wrote no results (exit {code}):\n{tail(work / 'session.log')}")
    results = json.loads(out.read_text())
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
    }


# --- secrets on disk and the verifier ----------------------------------------------------------------


JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{20,}")


def secrets_on_disk(out: Path) -> dict[str, list[str]]:
    """For each secret of the session (the users' passwords, the wrong password, the short one is too short
    to tell), the files the recorder wrote (the pact, its states, kept bodies) holding it in clear; and the
    files holding a whole JWT (an access token, whose signature json-server-auth's fixed key makes valid on
    any of its servers for an hour)."""
    files = [p for p in out.rglob(f"{CONSUMER}-{PROVIDER}*") if p.is_file()]
    secrets = {f"password of {u['email']}": u["password"] for u in USERS.values()}
    secrets["the wrong password"] = WRONG_PASSWORD
    found: dict[str, list[str]] = {}
    for p in files:
        text = p.read_text(errors="replace")
        for what, value in secrets.items():
            if value in text:
                found.setdefault(what, []).append(str(p.relative_to(out)))
        if n := len(JWT.findall(text)):
            found.setdefault("a JWT (access token)", []).append(f"{p.relative_to(out)} x{n}")
    return found


def answers(message: str, pact: Path) -> list[str]:
    """`--secret NAME=VALUE` for each secret the refusal names: the password the session sent where the
    recording redacted NAME (the session's author chose every password it sends), else a placeholder (an
    access token is handed out by the provider: none knows it beforehand)."""
    where = secret_values(pact)
    args = []
    for name in re.findall(r"^\s+([\w.:-]+): needed by", message, re.M):
        values = where.get(name, set())
        args += ["--secret", f"{name}={values.pop() if len(values) == 1 else 'x'}"]
    return args


def sent_passwords() -> dict[tuple[str, str, str], str]:
    """What the session sends as a password: (METHOD /path, status class, email) -> password."""
    alice, bob = USERS["ALICE"], USERS["BOB"]
    return {
        ("POST /register", "2", alice["email"]): alice["password"],
        ("POST /register", "2", bob["email"]): bob["password"],
        ("POST /register", "4", alice["email"]): alice["password"],
        ("POST /register", "4", "carol@example.org"): SHORT_PASSWORD,
        ("POST /login", "2", alice["email"]): alice["password"],
        ("POST /login", "2", bob["email"]): bob["password"],
        ("POST /login", "4", alice["email"]): WRONG_PASSWORD,
        ("POST /login", "4", "nobody@example.org"): alice["password"],
        ("PUT /users/{id}", "2", alice["email"]): alice["password"],
    }


def secret_values(pact: Path) -> dict[str, set[str]]:
    """For each secret name the recording gave a request body's password, the passwords the session sent
    there: read from each interaction's redacted secrets, its method, path, status and the body's email."""
    sent = sent_passwords()
    found: dict[str, set[str]] = {}
    for i in json.loads(pact.read_text()).get("interactions", []):
        m = re.match(r"(\S+ \S+) returns (\d)", i.get("description", ""))
        body = (i.get("request", {}).get("body") or {}).get("content")
        if not m or not isinstance(body, dict):
            continue
        for s in (i.get("comments", {}).get("pactRecorder", {}) or {}).get("secrets", []):
            if s.get("in") == "body" and s.get("key") == ["password"] and s.get("secret"):
                value = sent.get((m.group(1), m.group(2), body.get("email")))
                if value is not None:
                    found.setdefault(s["secret"], set()).add(value)
    return found


def phases(work: Path, verify_args: list[str], direct: bool) -> dict:
    seconds: dict[str, float] = {}
    with timed(seconds, "setup"):
        setup()
    direct_run = None
    if direct:
        with timed(seconds, "direct"), ExitStack() as stack:
            server = start_server(stack, work / "direct" / "server")
            direct_run = run_session(server, work / "direct")
    out = work / "record"
    with timed(seconds, "record"), ExitStack() as stack:
        server = start_server(stack, out / "server")
        recorder, url, log = common.start_recorder(stack, CONSUMER, PROVIDER, server, out)
        recorded = run_session(url, out / "session")
        common.finish_recording(recorder, log)
    pact = out / f"{CONSUMER}-{PROVIDER}.json"
    if not pact.is_file():
        raise RuntimeError(f"the recorder wrote no {pact.name}:\n{tail(log)}")
    leaked = secrets_on_disk(out)
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
            said = [*lines[:12], f"... ({len(lines) - 12} more lines)"] if len(lines) > 13 else lines
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
        "json_server": JSON_SERVER,
        "json_server_auth": JSON_SERVER_AUTH,
        "ra_data_json_server": RA_DATA_JSON_SERVER,
        "ra_core": RA_CORE,
        "pins": NPM_PINS,
        "consumer": "ra-data-json-server with ra-core's fetchJson (an admin app's session) under node",
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
    """Text with the session's passwords masked (for what the harness prints and keeps)."""
    values = [u["password"] for u in USERS.values()] + [WRONG_PASSWORD]

    def hide(text: str) -> str:
        for v in values:
            text = text.replace(v, "****")
        return text

    return hide


if __name__ == "__main__":
    sys.exit(common.main("jsonserver", __doc__, phases, sys.argv[1:], setup))
