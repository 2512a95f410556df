"""Record json-graphql-server (a GraphQL API generated from a JSON data object, run by node) while react-admin's
real GraphQL data provider, ra-data-graphql-simple (Apollo Client underneath), runs an admin app's session
against it under node, then verify the pact against a fresh server that holds only what its schema needs.

    .venv/bin/python bench/thirdparty/graphql_ra.py [--keep DIR] [--json FILE] [--no-direct] [--setup-only]
        [-- VERIFY_ARGS...]

`verify` gets `--states-from-recording` and nothing else (the first contact). Where it refuses to start (exit 2:
it asks for secrets the recording redacted), that refusal and its message are the first figure, and verify runs
once more with the least the message asks for: VERIFY_ARGS (everything after `--`, which make that second run
in any case) if given, else `--secret NAME=x` for each NAME it names (the session sends no credential: the
server has none).

json-graphql-server has no client test suite that talks to a server, and ra-data-graphql-simple's own tests
mock Apollo: so the consumer is an admin app's session written with the real client library, as react-admin's
users write theirs (react-admin calls the same data provider methods from its list, show and edit views).

What it does, each phase timed:
  setup    under .venv/thirdparty/graphql_ra/: json-graphql-server 3.3 in `server/` (npm, pinned; it brings
           express 5, graphql 16 and graphql-http), ra-data-graphql-simple 5.15 with ra-data-graphql, ra-core,
           @apollo/client 3 and graphql 15 in `client/` (npm, pinned; two installs because the data provider's
           peer is graphql ^15.6 and the server's own dependency graphql ^16; npm also brings ra-core's peers:
           react, react-router, @tanstack/react-query, which the data provider never calls), installed once
           per pin set; run by the machine's node >= 20 (its global fetch, which Apollo's HttpLink uses).
  direct   a fresh server and the session below run straight against it (--no-direct leaves this out).
  record   another fresh server, `pact-recorder record --consumer ra-data-graphql-simple --provider
           json-graphql-server` in front of it, the same session with the recorder's URL as the endpoint;
           SIGTERM makes it write OUT/ra-data-graphql-simple-json-graphql-server.json.
  verify   a third fresh server, as empty as json-graphql-server can be (below), `pact-recorder verify
           --states-from-recording`; then, refused, again on a fresh one with what it asked for (verify2).
Then it prints the figures (steps with their expected outcome through the recorder and directly, how many had
the same outcome both ways, exchanges, interactions, the distinct GraphQL operations the session sent, verified
green / total) and the failures grouped by cause, and writes them as JSON to DIR/figures.json (and --json FILE).

The server is json-graphql-server's own CLI, `json-graphql-server data.json --port PORT --host 127.0.0.1` (it
`require`s the data file, mounts `cors()` and its express middleware at `/`), DATA a new data.json in the
phase's own temp dir. It cannot start empty: it infers its schema from the data (one type per collection, a
field per key the rows hold, typed by their values, non-null where every row has it; a `*_id` key makes a
relation both ways), and a collection with no row makes a type with no field: the schema is invalid and every
request answers 500 ("Type Post must define one or more fields"). So every server of this harness (direct,
record, verify) starts from the same minimum: ONE row per collection, holding every field the session uses
(SEED: a user, a post by that user, a comment on that post, ids 1), which is what defines the types, the
filters and the mutations' arguments. That row is there in every phase alike; the verification's server holds
it and nothing else. Ready once `GET /` answers 200 (GraphiQL's page: only `application/json` POSTs reach the
GraphQL handler).

The API, one URL (`POST /`, a JSON body `{operationName, query, variables}`, every answer 200 here): per
collection (type `Post` for `posts`) the queries `Post(id)`, `allPosts(page, perPage, sortField, sortOrder,
filter)` and `_allPostsMeta(page, perPage, filter) {count}`, the mutations `createPost(...fields)` (id: the last
row's id + 1), `updatePost(id, ...fields)` (merged into the row), `removePost(id)` / `deletePost(id)` and
`createManyPost`; filters by field, `ids`, `q` (full text: titles, bodies, tags), `FIELD_lt/_lte/_gt/_gte/_neq`.
An id none has reads, updates and deletes as `{"data": {"data": null}}`; a query the schema refuses (a required
argument left out) is 200 `{"errors": [...]}` (graphql-http answers 400 only to an Accept asking for
`application/graphql-response+json`; Apollo sends `*/*`). No authentication. A quirk of the server's: `update`
stores the `id` argument as the string GraphQL hands it, so a create after an update of the last row gets that
string + 1 (`"3" + 1`: `"31"`); the session creates nothing after an update, the verification's setups do.

The session (SESSION, a CommonJS script: @apollo/client 3 is `"type": "module"` with a CommonJS main and no
exports map, so node's ESM loader finds none of its named exports; `require()` loads the data provider's
CommonJS build, as bundlers would; each step one "test", passed when it has its expected outcome: "ok", or what
the failure it provokes on purpose gives the app: `null` for the HttpError (status 200, "Cannot convert
undefined or null to object") the data provider throws when it parses a `null` answer, which is how it reports
an id none has, `graphql error` for its HttpError (status 200) carrying the answer's `errors`), through
`buildGraphQLProvider({clientOptions: {uri: URL}})` from ra-data-graphql-simple, on resources `User`, `Post`,
`Comment` (the introspected type names): the schema introspected first (the data provider does it before its
first call: `getIntrospection()`, the resources found); users created (Alice, Bob); posts created (five, by
Alice, with tags, views, published, published_at); getList of all posts (the seed's too), getList of Alice's
sorted by title in pages of two (page 1 and 2, total 5), filtered by `q`, by `views_gte` sorted by views
descending, by `published`; getOne, getMany of three ids, getMany with an id none has among them; comments
created under two posts; getManyReference by `post_id` sorted and paginated; getOne of a post with its
relations (`Comments {id}`, `User {id}`, as the data provider selects them) and with `meta.sparseFields`
(`User {name}`); a post created without its required title (graphql error); update of a post, updateMany of
two (the data provider sends one `updatePost` per id, at once), read back by a filter; update of a user; delete
of a post, deleteMany of two (one `deletePost` each, at once), the deleted post read again (null), a post none
has read (null), updated (null) and deleted (null); the list after the deletes (total 2). Ids the server hands
out are carried from step to step in memory. What goes over the wire is counted for the figures only (a
wrapper of the global fetch notes each request's operation: its kind and root fields, parsed with graphql's
`parse`). Every process started is stopped on the way out, on failure and on Ctrl-C or SIGTERM too.

First contact (json-graphql-server 3.3.2, ra-data-graphql-simple 5.15.0 + ra-data-graphql 5.15.3 + ra-core
5.15.4, @apollo/client 3.14.1, graphql 15.11 (client) and 16.15 (server), node 20.20; three runs alike): 28
steps, 28 / 28 with their expected outcome both directly and through the recorder (the same outcome each); 38
requests, 38 recorded, of 10 distinct operations (kind and first root field) in 15 distinct query texts; 18
interactions (all with a provider state), all `POST / returns 200 (body operationName, query, variables #N)`:
the recorder tells them apart by the key paths of `variables` alone (never by the query). verify with
`--states-from-recording` alone: exit 0, **18 / 18 green**, and hollow:
  - every response body is `{}`: the recorder decides which keys a response holds across the endpoint, and on
    one URL the one `{"errors"}` answer makes `data` "not in every response" (without that step, the bodies
    are `{"data": {}}`: `data.items`/`data.total`, `data.data` and `data.__schema` differ by operation); the
    introspection's answer, the lists, the records: nothing of them is checked, only 200 and the JSON
    Content-Type, which json-graphql-server gives to anything (a `null` read, an `{errors}` refusal).
  - operations merged: the 9 exchanges whose variables are `{id}` (getOne x3 and its sparse-fields form, the
    missing reads, 4 `deletePost` mutations) are one interaction with `query` and `operationName` matched by
    type and a `query Post` example: no interaction holds a `deletePost`.
  - `operationName` handed out by a state "the names it chooses are free" in 9 interactions (as are
    `sortField`, `q`, `title`); ids the mutations made are states "values handed out by earlier responses"
    whose setups replay the creates (no undo empties the server: the users pile up, and the post ids become
    "31", "311", ... after a replayed update); the `query Post` example's id 3 (a post's) is taken from Bob's
    `createUser` answer (he was 3 too), so it is sent with a user's id and answers `null`, as the updateMany
    example (`updatePost` id 2 -> 4, no such post) does: both pass. 84 requests for the 18, no delete among them.
One run: ~9-17 s (direct 2-3 s, record 4-8 s, verify 2-4 s); the setup, once, ~23 s.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from common import ROOT, free_port, start, tail, timed, wait_http  # noqa: E402

JSON_GRAPHQL_SERVER = "3.3.2"
RA_DATA_GRAPHQL_SIMPLE, RA_DATA_GRAPHQL, RA_CORE = "5.15.0", "5.15.3", "5.15.4"
APOLLO_CLIENT, GRAPHQL_CLIENT = "3.14.1", "15.11.0"
SERVER_PINS = [f"json-graphql-server@{JSON_GRAPHQL_SERVER}"]
CLIENT_PINS = [
    f"ra-data-graphql-simple@{RA_DATA_GRAPHQL_SIMPLE}", f"ra-data-graphql@{RA_DATA_GRAPHQL}", f"ra-core@{RA_CORE}",
    f"@apollo/client@{APOLLO_CLIENT}", f"graphql@{GRAPHQL_CLIENT}",
]  # fmt: skip
HOME = ROOT / ".venv" / "thirdparty" / "graphql_ra"
SERVER_DIR, CLIENT_DIR = HOME / "server", HOME / "client"
SERVER_BIN = SERVER_DIR / "node_modules" / "json-graphql-server" / "bin" / "json-graphql-server.cjs"
SESSION_JS = CLIENT_DIR / "graphql-ra-harness-session.cjs"
CONSUMER, PROVIDER = "ra-data-graphql-simple", "json-graphql-server"
# the minimum json-graphql-server needs: one row per collection, every field the session uses (see above)
SEED = {
    "users": [{"id": 1, "name": "Seed User", "email": "seed@example.org"}],
    "posts": [
        {
            "id": 1,
            "title": "Seed post",
            "body": "The row the schema is inferred from",
            "views": 1,
            "published": False,
            "tags": ["seed"],
            "published_at": "2020-01-01T00:00:00.000Z",
            "user_id": 1,
        }
    ],
    "comments": [{"id": 1, "author": "Seed User", "body": "The seed's comment", "post_id": 1}],
}
SESSION_SECONDS = 120

SESSION = r"""// An admin app's session with ra-data-graphql-simple: node graphql-ra-harness-session.cjs URL OUT.json
// (CommonJS: @apollo/client 3 is "type": "module" with a CommonJS main and no exports map, so node's ESM
// loader finds none of its named exports; require() loads the data provider's CommonJS build, as bundlers do)
const { writeFileSync } = require("node:fs");
const { parse } = require("graphql");
const buildGraphQLProvider = require("ra-data-graphql-simple").default;

const [API, OUT] = process.argv.slice(2);
// what goes over the wire, for the figures only: each request's operation (kind, name, root fields)
const sent = [];
const fetch0 = globalThis.fetch;
globalThis.fetch = (url, init = {}) => {
  try {
    const { operationName, query } = JSON.parse(init.body);
    const op = parse(query).definitions.find((d) => d.kind === "OperationDefinition");
    const kind = op.operation;
    const roots = op.selectionSet.selections.map((f) => f.name.value);
    sent.push({ kind, operationName, roots, query: query.replace(/\s+/g, " ").trim() });
  } catch {
    sent.push({ kind: "?", body: String(init.body).slice(0, 200) });
  }
  return fetch0(url, init);
};
const dataProvider = buildGraphQLProvider({ clientOptions: { uri: API } });

const results = [];
const kept = {};
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
const NULL = "Cannot convert undefined or null to object"; // the data provider parsing a null answer

async function step(name, expect, fn) {
  if (typeof expect === "function") [expect, fn] = ["ok", expect];
  const t = performance.now();
  let outcome, detail;
  try {
    const got = await fn();
    outcome = got === undefined || got === true ? "ok" : `wrong: ${JSON.stringify(got).slice(0, 300)}`;
  } catch (e) {
    const graphqlErrors = e && e.body && e.body.graphQLErrors;
    if (e && e.name === "HttpError" && e.status === 200 && String(e.message).includes(NULL)) {
      outcome = "null";
    } else if (e && e.name === "HttpError" && e.status === 200 && graphqlErrors && graphqlErrors.length) {
      outcome = "graphql error";
      detail = graphqlErrors.map((g) => g.message).join("; ").slice(0, 500);
    } else if (e && e.name === "HttpError") {
      outcome = String(e.status);
      detail = `${e.message} ${JSON.stringify(e.body && e.body.result ? e.body.result : e.body)}`.slice(0, 500);
    } else {
      outcome = `error: ${e && e.name}: ${String(e && e.message).slice(0, 300)}`;
      detail = String(e && e.stack).slice(0, 1500);
    }
  }
  const seconds = Math.round(performance.now() - t) / 1000;
  const r = { command: name, exit: outcome, expect, ok: outcome === expect, seconds };
  if (!r.ok && detail) r.output = detail;
  results.push(r);
  console.log(`${r.ok ? "ok   " : "FAIL "}${name} -> ${outcome}${detail && !r.ok ? ` (${detail})` : ""}`);
}

const page = (page, perPage) => ({ page, perPage });
const by = (field, order = "ASC") => ({ field, order });
const ids = (rows) => rows.map((r) => r.id);

async function session() {
// --- the schema, as the data provider reads it before its first call
await step("introspect the schema", async () => {
  const { resources } = await dataProvider.getIntrospection();
  const names = resources.map((r) => r.type.name).sort();
  return same(names, ["Comment", "Post", "User"]) || names;
});

// --- users
await step("create two users", async () => {
  const { data: alice } = await dataProvider.create("User", { data: { name: "Alice", email: "alice@example.org" } });
  const { data: bob } = await dataProvider.create("User", { data: { name: "Bob", email: "bob@example.org" } });
  kept.alice = alice;
  kept.bob = bob;
  return (alice.name === "Alice" && bob.id !== alice.id && alice.id !== "1") || { alice, bob };
});

// --- posts
const POSTS = [
  { title: "Introducing GraphQL", body: "One endpoint, typed queries", views: 120, tags: ["graphql", "api"] },
  { title: "Pagination with page and perPage", body: "Slices of a list", views: 45, tags: ["api"] },
  { title: "Intro to introspection", body: "A graphql schema describes itself", views: 300, tags: ["graphql"] },
  { title: "Sorting lists", body: "sortField and sortOrder", views: 80, tags: [] },
  { title: "Relations: User and Comments", body: "Fields named *_id", views: 210, tags: ["graphql"] },
];
await step("create five posts", async () => {
  kept.posts = [];
  for (const [i, p] of POSTS.entries()) {
    const post = { ...p, published: true, published_at: `2024-0${i + 1}-15T10:00:00.000Z`, user_id: kept.alice.id };
    const { data } = await dataProvider.create("Post", { data: post });
    kept.posts.push(data);
  }
  return kept.posts.every((p, i) => p.id && p.title === POSTS[i].title) || kept.posts;
});
const mine = () => ({ user_id: kept.alice.id });
await step("getList all posts (the seed's too)", async () => {
  const { data, total } = await dataProvider.getList("Post", { pagination: page(1, 25), sort: by("id"), filter: {} });
  return (total === 6 && same(ids(data).slice(1), ids(kept.posts))) || { total, data };
});
await step("getList Alice's posts sorted by title, page 1 of 2 per page", async () => {
  const { data, total } = await dataProvider.getList("Post", {
    pagination: page(1, 2), sort: by("title"), filter: mine() });
  const titles = ["Intro to introspection", "Introducing GraphQL"];
  return (total === 5 && same(data.map((p) => p.title), titles)) || { total, data };
});
await step("getList Alice's posts sorted by title, page 2", async () => {
  const { data, total } = await dataProvider.getList("Post", {
    pagination: page(2, 2), sort: by("title"), filter: mine() });
  const titles = ["Pagination with page and perPage", "Relations: User and Comments"];
  return (total === 5 && same(data.map((p) => p.title), titles)) || { total, data };
});
await step("getList posts, full-text q", async () => {
  const { data, total } = await dataProvider.getList("Post", {
    pagination: page(1, 10), sort: by("id"), filter: { q: "graphql" } });
  const want = [kept.posts[0].id, kept.posts[2].id, kept.posts[4].id]; // titles, bodies and tags
  return (total === 3 && same(ids(data), want)) || { total, data };
});
await step("getList posts, views_gte sorted by views descending", async () => {
  const { data, total } = await dataProvider.getList("Post", {
    pagination: page(1, 10), sort: by("views", "DESC"), filter: { views_gte: 100 } });
  return (total === 3 && same(data.map((p) => p.views), [300, 210, 120])) || { total, data };
});
await step("getList published posts", async () => {
  const { data, total } = await dataProvider.getList("Post", {
    pagination: page(1, 10), sort: by("id"), filter: { published: true } });
  return (total === 5 && same(ids(data), ids(kept.posts))) || { total, data };
});
await step("getOne post", async () => {
  const { data } = await dataProvider.getOne("Post", { id: kept.posts[1].id });
  return (data.title === POSTS[1].title && data.views === 45 && data.User.id === kept.alice.id
    && same(data.tags, ["api"])) || data;
});
await step("getMany posts", async () => {
  const want = [kept.posts[0].id, kept.posts[2].id, kept.posts[3].id];
  const { data } = await dataProvider.getMany("Post", { ids: want });
  return same(ids(data), want) || data;
});
await step("getMany with an id none has among them", async () => {
  const { data } = await dataProvider.getMany("Post", { ids: [kept.posts[4].id, "9999"] });
  return same(ids(data), [kept.posts[4].id]) || data;
});

// --- comments
await step("create comments under two posts", async () => {
  kept.comments = [];
  const bodies = [[0, "Great intro"], [0, "Thanks!"], [0, "Where are subscriptions?"], [2, "__schema is neat"]];
  for (const [post, body] of bodies) {
    const comment = { post_id: kept.posts[post].id, author: "Bob", body };
    const { data } = await dataProvider.create("Comment", { data: comment });
    kept.comments.push(data);
  }
  return kept.comments.every((c) => c.id && c.body) || kept.comments;
});
await step("getManyReference comments of a post, sorted, page 1 of 2 per page", async () => {
  const { data, total } = await dataProvider.getManyReference("Comment", {
    target: "post_id", id: kept.posts[0].id, pagination: page(1, 2), sort: by("id", "DESC"), filter: {} });
  return (total === 3 && same(data.map((c) => c.body), ["Where are subscriptions?", "Thanks!"])) || { total, data };
});
await step("getOne post with its relations", async () => {
  const { data } = await dataProvider.getOne("Post", { id: kept.posts[0].id });
  return (same(data.CommentsIds, ids(kept.comments.slice(0, 3))) && data["User.id"] === kept.alice.id) || data;
});
await step("getOne post with meta.sparseFields", async () => {
  const { data } = await dataProvider.getOne("Post", {
    id: kept.posts[2].id, meta: { sparseFields: ["id", "title", { User: ["name"] }] } });
  return (same(Object.keys(data).sort(), ["User", "User.id", "id", "title"]) || data.User.name === "Alice")
    && data.title === POSTS[2].title || data;
});
await step("create a post without its required title", "graphql error", () =>
  dataProvider.create("Post", { data: { body: "No title", views: 0, published: false, tags: [],
    published_at: "2024-06-01T00:00:00.000Z", user_id: kept.alice.id } }));

// --- updates
await step("update a post", async () => {
  const revised = { ...kept.posts[3], title: "Sorting lists, revised", views: 81 };
  const { data } = await dataProvider.update("Post", {
    id: kept.posts[3].id, data: revised, previousData: kept.posts[3] });
  return (data.title === "Sorting lists, revised" && data.views === 81 && data.id === kept.posts[3].id) || data;
});
await step("updateMany posts", async () => {
  const want = [kept.posts[0].id, kept.posts[1].id];
  const { data } = await dataProvider.updateMany("Post", { ids: want, data: { published: false } });
  return same(data, want) || data;
});
await step("getList of Alice's unpublished posts after updateMany", async () => {
  const { data, total } = await dataProvider.getList("Post", {
    pagination: page(1, 10), sort: by("id"), filter: { ...mine(), published: false } });
  return (total === 2 && same(ids(data), [kept.posts[0].id, kept.posts[1].id])) || { total, data };
});
await step("update a user", async () => {
  const { data } = await dataProvider.update("User", {
    id: kept.alice.id, data: { ...kept.alice, name: "Alice Liddell" }, previousData: kept.alice });
  return (data.name === "Alice Liddell" && data.email === "alice@example.org") || data;
});

// --- deletes
await step("delete a post", async () => {
  const { data } = await dataProvider.delete("Post", { id: kept.posts[0].id, previousData: kept.posts[0] });
  return (data.id === kept.posts[0].id && data.title === POSTS[0].title) || data;
});
await step("deleteMany posts", async () => {
  const want = [kept.posts[1].id, kept.posts[3].id];
  const { data } = await dataProvider.deleteMany("Post", { ids: want });
  return same(data, want) || data;
});
await step("getOne a deleted post", "null", () => dataProvider.getOne("Post", { id: kept.posts[0].id }));
await step("getOne a post none has", "null", () => dataProvider.getOne("Post", { id: "9999" }));
await step("update a post none has", "null", () =>
  dataProvider.update("Post", { id: "9999", data: { title: "Ghost" }, previousData: {} }));
await step("delete a post none has", "null", () => dataProvider.delete("Post", { id: "9999", previousData: {} }));
await step("getList Alice's posts after the deletes", async () => {
  const { data, total } = await dataProvider.getList("Post", {
    pagination: page(1, 10), sort: by("id"), filter: mine() });
  return (total === 2 && same(ids(data), [kept.posts[2].id, kept.posts[4].id])) || { total, data };
});

}

session().then(() => {
  writeFileSync(OUT, JSON.stringify(results, null, 1));
  writeFileSync(OUT.replace(/\.json$/, ".sent.json"), JSON.stringify(sent, null, 1));
}, (e) => {
  console.error(e);
  process.exit(1);
});
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
        sys.exit("harness: the server and the session need node >= 20 on PATH (and npm to install them)")
    return node


def setup() -> str:
    """json-graphql-server under SERVER_DIR, ra-data-graphql-simple and its peers under CLIENT_DIR, installed
    once per pin set; the session script beside the client; the node to run them with."""
    node = find_node()
    stamp = HOME / ".installed"
    pins = "\n".join([*SERVER_PINS, *CLIENT_PINS])
    installed = SERVER_BIN.is_file() and (CLIENT_DIR / "node_modules" / "ra-data-graphql-simple").is_dir()
    if not (stamp.is_file() and stamp.read_text() == pins and installed):
        print(f"setup: installing {', '.join([*SERVER_PINS, *CLIENT_PINS])} into {HOME.relative_to(ROOT)}", flush=True)
        shutil.rmtree(HOME, ignore_errors=True)
        npm = shutil.which("npm") or "npm"
        for where, these in ((SERVER_DIR, SERVER_PINS), (CLIENT_DIR, CLIENT_PINS)):
            where.mkdir(parents=True)
            _run([npm, "install", "--no-audit", "--no-fund", "--loglevel=error", "--prefix", str(where), *these],
                 f"installing {', '.join(these)}")  # fmt: skip
        stamp.write_text(pins)
    if not SESSION_JS.is_file() or SESSION_JS.read_text() != SESSION:
        SESSION_JS.write_text(SESSION)  # beside node_modules, so that its imports resolve
    return node


# --- the server --------------------------------------------------------------------------------------


def clean_env() -> dict[str, str]:
    """The environment less any proxy of the user's (everything talks to 127.0.0.1 only)."""
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower() and not k.startswith(("PYTHON", "NODE"))}
    return env | {"NO_PROXY": "127.0.0.1,localhost"}


def start_server(stack: ExitStack, work: Path, seed: dict = SEED) -> str:
    """A fresh json-graphql-server (a new data.json holding `seed`, which defines its schema) on a free port of
    127.0.0.1; its URL once `GET /` answers 200."""
    work.mkdir(parents=True, exist_ok=True)
    data = work / "data.json"
    data.write_text(json.dumps(seed, indent=2) + "\n")
    port = free_port()
    log = work / "server.log"
    cmd = [find_node(), str(SERVER_BIN), str(data), "--port", str(port), "--host", "127.0.0.1"]
    proc = start(stack, cmd, log, cwd=work, env=clean_env())
    url = f"http://127.0.0.1:{port}/"
    wait_http(url, proc, log)
    return url


# --- the session -------------------------------------------------------------------------------------


def run_session(api: str, work: Path) -> dict:
    """The session above against the endpoint `api`; the counts in the shape the other harnesses give."""
    work.mkdir(parents=True, exist_ok=True)
    out = work / "session.json"
    out.unlink(missing_ok=True)
    with open(work / "session.log", "wb") as log:
        try:
            done = subprocess.run([find_node(), str(SESSION_JS), api, str(out)], cwd=work, env=clean_env(),
                                  stdout=log, stderr=subprocess.STDOUT, timeout=SESSION_SECONDS,
                                  start_new_session=True)  # fmt: skip
            code = done.returncode
        except subprocess.TimeoutExpired:
            code = "timeout"
    if not out.is_file():
        raise RuntimeError(f"the session wrote no results (exit {code}):\n{tail(work / 'session.log')}")
    results = json.loads(out.read_text())
    sent_file = out.with_suffix(".sent.json")
    sent = json.loads(sent_file.read_text()) if sent_file.is_file() else []
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
        "sent": summary(sent),
    }


def replay_session(stack: ExitStack, pact: Path, work: Path) -> dict:
    """The session against `pact-recorder replay` of the pact recorded from it (its listener on a free port)."""
    work.mkdir(parents=True, exist_ok=True)
    log, url = work / "replay.log", f"http://127.0.0.1:{free_port()}"
    proc = start(stack, [str(common.PACT_BIN), "replay", str(pact), "--listen", url.removeprefix("http://")], log)
    wait_http(url, proc, log, ok=tuple(range(200, 600)))  # (any answer: it listens)
    return run_session(url + "/", work)


def changed_schema(rename: tuple[str, str] | None = None, add: str | None = None) -> dict:
    """SEED with posts' field `rename[0]` called `rename[1]`, or a nullable field `add` more on every type (null in
    every row: no create must send it): the schema a provider that renamed a field the client reads (a breaking
    change), or added one (none), infers from it."""
    seed = json.loads(json.dumps(SEED))
    for rows in seed.values():
        for row in rows:
            if add:
                row[add] = None
            if rename and rename[0] in row and rows is seed["posts"]:
                row[rename[1]] = row.pop(rename[0])
    return seed


def summary(sent: list[dict]) -> dict:
    """The requests the session sent: how many, by operation (its kind and first root field, as in
    `operation_of`: getList, getMany and getManyReference are all `query allPosts`, with `total:
    _allPostsMeta` beside it) and how many distinct query texts (the same operation selecting other fields or
    taking other arguments is another text)."""
    ops = Counter(f"{s['kind']} {(s.get('roots') or ['?'])[0]}" for s in sent)
    return {"requests": len(sent), "operations": dict(ops), "query_texts": len({s.get("query") for s in sent})}


# --- what the pact holds -----------------------------------------------------------------------------


OPERATION = re.compile(r"^\s*(query|mutation)\s+(\w+)?[^{]*\{\s*(?:\w+\s*:\s*)?(\w+)", re.S)


def operation_of(body: object) -> str:
    """`query allPosts` / `mutation createPost` / `query __schema`: the kind and the first root field of a
    GraphQL request body, or "" (the root field says what it does: the operation's name is the data
    provider's, the same for getList and getMany)."""
    if not isinstance(body, dict) or not isinstance(body.get("query"), str):
        return ""
    text = body["query"]
    if "__schema" in text:
        return "query __schema"
    m = OPERATION.match(text)
    return f"{m.group(1)} {m.group(3)}" if m else "?"


def operations(pact: Path, sent: dict) -> dict:
    """What the pact holds of the session's GraphQL: its interactions by the operation their example request
    holds; the operations the session sent that no interaction's example holds; the interactions whose
    `query` is matched by type while their exchanges held several query texts (operations merged into one);
    those whose `operationName` a provider state hands out; and those whose response body asserts nothing
    (an empty example: only the status and headers are checked)."""
    interactions = json.loads(pact.read_text()).get("interactions", [])
    in_pact: Counter = Counter()
    merged, named_by_state, empty_body = [], [], []
    for i in interactions:
        body = (i.get("request", {}).get("body") or {}).get("content")
        in_pact[operation_of(body) or "(no GraphQL body)"] += 1
        meta = i.get("comments", {}).get("pactRecorder", {})
        query = meta.get("evidence", {}).get("request.body", {}).get("$.query", {})
        rule = i.get("request", {}).get("matchingRules", {}).get("body", {}).get("$.query", {})
        if query.get("distinct", 1) > 1 and any(m.get("match") == "type" for m in rule.get("matchers", [])):
            merged.append(
                {
                    "interaction": i.get("description", ""),
                    "exchanges": meta.get("exchanges"),
                    "query_texts": query["distinct"],
                    "example": operation_of(body),
                }
            )
        if "$.operationName" in i.get("request", {}).get("generators", {}).get("body", {}):
            named_by_state.append(i.get("description", ""))
        if not (i.get("response", {}).get("body") or {}).get("content"):
            empty_body.append(i.get("description", ""))
    return {
        "interactions_by_operation": dict(in_pact),
        "sent_but_in_no_example": sorted(set(sent["operations"]) - set(in_pact)),
        "merged": merged,
        "operation_name_from_a_state": len(named_by_state),
        "empty_response_body": len(empty_body),
    }


def answers(message: str) -> list[str]:
    """`--secret NAME=x` for each secret the refusal names (the session sends none of its own)."""
    return [a for name in re.findall(r"^\s+([\w.:-]+): needed by", message, re.M) for a in ("--secret", f"{name}=x")]


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
    runs: list[dict] = []
    args = ["--states-from-recording"]
    with timed(seconds, "verify"), ExitStack() as stack:
        server = start_server(stack, work / "verify" / "server")
        report, outcome = common.verify_outcome(stack, pact, server, work / "verify", args)
        runs.append(outcome)
    if report is None or verify_args:  # refused (or asked for): once more with the extra, on a fresh server
        extra = verify_args or answers(outcome["message"])
        if report is None and not extra:
            raise RuntimeError(f"verify refused (exit {outcome['exit']}):\n{outcome['message']}")
        with timed(seconds, "verify2"), ExitStack() as stack:
            server = start_server(stack, work / "verify2" / "server")
            args = [*args, *extra]
            report, outcome = common.verify_outcome(stack, pact, server, work / "verify2", args)
            runs.append(outcome)
    # The Pact loop the contract is for: the consumer against replay of its own pact, and the provider changed.
    with timed(seconds, "replay"), ExitStack() as stack:
        replayed = replay_session(stack, pact, work / "replay")
    print(f"replay: {replayed['passed']} / {replayed['tests']} steps passed against replay of the pact")
    changes = {}
    for name, seed in (
        ("renamed", changed_schema(rename=("title", "headline"))),
        ("added", changed_schema(add="extra")),
    ):
        with timed(seconds, name), ExitStack() as stack:
            server = start_server(stack, work / name / "server", seed)
            changed, _ = common.verify_outcome(stack, pact, server, work / name, args)
        changes[name] = common.verify_figures(changed) if changed else None
        what = "renamed posts' title to headline" if name == "renamed" else "added a field to every type"
        print(f"verify against a provider that {what}: {changes[name]}")
    for n, run in enumerate(runs, 1):
        lines = run["message"].splitlines()
        said = [line for line in lines if "interaction(s) passed" in line]
        if run["exit"] == 2:
            said = [*lines[:12], f"... ({len(lines) - 12} more lines)"] if len(lines) > 13 else lines
        print(f"verify run {n}: exit {run['exit']}  ({' '.join(run['args'])})")
        print("\n".join("  " + line.strip() for line in said))
    same = common.same_exit_codes(direct_run, recorded)
    if same:
        print(f"transparency: {same['same_exit']} / {same['steps']} steps had the same outcome both ways")
        for line in same["differ"]:
            print(f"  differs: {line}")
    sent = recorded["sent"]
    ops = operations(pact, sent)
    print(f"the session sent {sent['requests']} requests: {len(sent['operations'])} distinct operations, "
          f"{sent['query_texts']} distinct query texts; {sent['operations']}")  # fmt: skip
    print(f"the pact: {sum(ops['interactions_by_operation'].values())} interactions, by the operation of their "
          f"example: {ops['interactions_by_operation']}")  # fmt: skip
    print(f"  sent, in no interaction's example: {', '.join(ops['sent_but_in_no_example']) or 'none'}")
    for m in ops["merged"]:
        print(f"  merged: {m['interaction']}: {m['exchanges']} exchanges, {m['query_texts']} query texts matched"
              f" by type (its example: {m['example']})")  # fmt: skip
    print(f"  operationName handed out by a provider state: {ops['operation_name_from_a_state']} interactions;"
          f" response body empty (status and headers only): {ops['empty_response_body']}")  # fmt: skip
    if report is None:
        raise RuntimeError(f"pact-recorder verify wrote no report (exit {runs[-1]['exit']}):\n{runs[-1]['message']}")
    return {
        "json_graphql_server": JSON_GRAPHQL_SERVER,
        "ra_data_graphql_simple": RA_DATA_GRAPHQL_SIMPLE,
        "ra_data_graphql": RA_DATA_GRAPHQL,
        "ra_core": RA_CORE,
        "apollo_client": APOLLO_CLIENT,
        "pins": [*SERVER_PINS, *CLIENT_PINS],
        "consumer": "ra-data-graphql-simple (Apollo Client) in an admin app's session under node",
        "seed": SEED,
        "verify_args": args,
        "verify_runs": runs,
        "seconds": seconds,
        "direct": direct_run,
        "recorded": recorded,
        "transparency": same,
        "operations": ops,
        "replay": {k: replayed[k] for k in ("tests", "passed", "failing")},
        "changed_provider": changes,
        "recording": common.recording_figures(pact),
        "verify": common.verify_figures(report),
        "failures": common.group_failures(report),
    }


if __name__ == "__main__":
    sys.exit(common.main("graphql_ra", __doc__, phases, sys.argv[1:], setup))
