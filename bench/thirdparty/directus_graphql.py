"""Record Directus's GraphQL API while its official JavaScript SDK (@directus/sdk, under node, its `graphql()`
composable) runs a content team's GraphQL session against it, then verify the pact against a fresh Directus
holding only what its bootstrap makes (the admin account).

    .venv/bin/python bench/thirdparty/directus_graphql.py [--keep DIR] [--json FILE] [--no-direct]
        [--setup-only] [-- VERIFY_ARGS...]

`verify` gets `--states-from-recording` and nothing else (the first contact). Where it refuses to start (exit 2:
it asks for secrets the recording redacted), that refusal and its message are the first figure, and verify runs
once more with the least the message asks for: VERIFY_ARGS (everything after `--`, which make that second run
in any case) if given, else `--secret NAME=VALUE` for each NAME it names, VALUE what the teams know: the admin's
password (the provider team's: it is the server's ADMIN_PASSWORD) for a NAME the recording used in a `POST
/auth/login` that succeeded, the wrong password (the session's author's) in one that was refused, else a
placeholder (access and refresh tokens are handed out by the provider; no one knows them beforehand).

The same pair as `directus.py` (Directus over REST), the consumer talking GraphQL this time: it imports that
harness for the install, the servers and the admin account, and changes none of it.

What it does, each phase timed:
  setup    directus.py's: node 22 and `npm install` of directus and @directus/sdk under
           .venv/thirdparty/directus/ (the same pins; reused when that harness installed them already).
  direct   a fresh Directus (directus.py's `start_directus`) and the session below run straight against it
           (--no-direct leaves this out).
  record   another fresh Directus, `pact-recorder record --consumer directus-sdk-graphql --provider directus`
           in front of it, the same session with the recorder's URL as the SDK's URL; SIGTERM makes it write
           OUT/directus-sdk-graphql-directus.json.
  verify   a third fresh Directus (bootstrapped as directus.py bootstraps it: the admin account and its role
           and policy, nothing else: no collection, no item), `pact-recorder verify --states-from-recording`;
           then, refused, again on a fresh one with what it asked for (verify2).
Then it prints the figures (steps whose outcome is the expected one through the recorder and directly, how many
gave the same outcome both ways, the GraphQL operations sent against the pact's interactions on /graphql and
/graphql/system, whether a password or an access or refresh token of the session is in any file the harness
keeps, exchanges, interactions, verified green / total) and the failures grouped by cause, and writes them as
JSON to DIR/figures.json (and --json FILE).

The API: GraphQL as Directus serves it, two endpoints: `POST /graphql` (the items of the user collections: a
query field per collection, `X`, `X_by_id(id)`, `X_aggregated(groupBy)`, with `filter`, `sort`, `limit`, `page`,
`search`; mutations `create_X_item(data)`, `create_X_items(data)`, `update_X_item(id, data)`,
`update_X_items(ids, data)`, `delete_X_item(id)` -> `{id}`, `delete_X_items(ids)` -> `{ids}`) and `POST
/graphql/system` (the system collections: `users_me`, `update_users_me`, `server_info`, `collections_by_name`,
...); the schema is built per request from the collections and what the token may see (no token: none of the
user collections, no `users_me`). A query that does not validate (a field or collection none has, a syntax
error) is 400 `GRAPHQL_VALIDATION`; an error while resolving is 200 with `errors` beside `data` (a by-id read of
an item none has: `{"data": {"X_by_id": null}, "errors": [{"extensions": {"code": "FORBIDDEN"}}]}`; variables
that do not coerce: 200, `INTERNAL_SERVER_ERROR`, no `data`). Ids are `ID` (strings) in answers. Logging in and
the data model stay REST (`/auth/login`, `/auth/refresh`, `/auth/logout`, `/collections`, `/fields`,
`/relations`: directus.py describes them); the GraphQL requests carry `Authorization: Bearer TOKEN`.

The session (each step a "test", passed when it behaves as expected: the call succeeds and its checks hold, or
the refusal it provokes on purpose comes with the expected HTTP status and error code), as a content team
writes a GraphQL consumer with the SDK: one client `createDirectus(URL).with(authentication("json")).with(rest())
.with(graphql())`, `client.query(QUERY, VARIABLES, "items" | "system")` for every GraphQL operation (the SDK's
own request: POST, JSON `{query, variables}`, its headers), `client.login/refresh/logout` and `request(...)` for
the rest. Ping; a login with a wrong password (401), the admin's login; system: `users_me`, a refresh (a new
refresh token), `update_users_me` (first and last name), `server_info`, `users_me` without a token (400
GRAPHQL_VALIDATION); the data model over REST: collections `authors` and `articles` with their fields, an m2o
field articles.author -> authors and its relation, read back over GraphQL (`collections_by_name`, system); items
over GraphQL: `create_authors_items` (2), `create_articles_items` (5, linked to their authors by `{id, name}`),
`create_articles_item`; lists with filter + sort + limit (variables), a filter through the relation with nested
fields, a search, a second page; `articles_aggregated` count by status; `articles_by_id` of one, of an id none
has (200 FORBIDDEN); `update_articles_item`, `update_articles_items`, `delete_articles_item`, the deleted one read
again (200 FORBIDDEN), the list after it; an article without its title (200 INTERNAL_SERVER_ERROR: the variables
do not coerce), a field none has, a collection none has and a list without a token (400 GRAPHQL_VALIDATION);
clean-up: `delete_articles_items`, both collections deleted (REST), the admin's logout and a refresh with its
spent refresh token (401). 35 steps, 25 of them GraphQL operations (22 distinct query texts). Ids the server
hands out are carried from step to step in memory; the admin's password and the wrong one are given to the
session through its environment, never on a command line. Every process started is stopped on the way out, on
failure and on Ctrl-C or SIGTERM too.

First contact (Directus 12.4.0 on node 22.23.5, SQLite; @directus/sdk 26.0.0): 35 steps, 35 / 35 as expected
both directly and through the recorder (the same outcome each); 37 exchanges (12 REST, 25 GraphQL), all
recorded, 28 interactions (24 with a provider state), 17 of them on /graphql (13) and /graphql/system (4). verify
with `--states-from-recording` alone: exit 2, one secret asked for, `password_2` (the admin's, 2 requests, e.g.
`POST /auth/login returns 200`); no token, not the wrong password. With it: 25 / 28 green. On disk: no password,
no access or refresh token in any file the harness keeps. What the figures do not say:
(1) Every GraphQL answer of status 200 is in the pact as `{}` (/graphql) or `{"data": {}}` (/graphql/system):
each key under `data` (and `errors`) is "left out: not in every response", even in an interaction of one
exchange, so the 15 green 200s check the status, Content-Type and an ETag's form, nothing of what was read or
written; a resolver's refusal (the by-id read of an id none has: 200 with `errors` FORBIDDEN; the article
without its title: 200 INTERNAL_SERVER_ERROR) is the same contract as a success. The two 400s keep their
`errors` (matched by type).
(2) The query text is matched by type (`$.query`: any string), and operations are told apart only by the shape
of their `variables` (`POST /graphql returns 200 (body query, variables #N)`): of the 22 distinct texts, 7 are in
no interaction. `create_authors_items` and `create_articles_items` (both `variables.data` an array) are one
interaction (`$.variables.data[*]` keeps only `name` and `country`); `articles_by_id` of an existing id,
`delete_articles_item` and the read of the deleted one (all `{id: "..."}`) are one, held as the read (the
delete mutation is in no interaction); the second page, the aggregate and the list after the delete (no
variables) are one; `users_me` and `server_info` are one; the three 400s (a field none has, a collection none
has, no token) are one. `articles_by_id` of 999999 is apart only because its id is a number, not a string.
(3) States of what the mutations made: the states file holds the GraphQL exchanges as setup steps and follows
ids out of GraphQL answers (`what earlier writes handed out exists` id 3, 4, 6: their setups replay
`create_authors_items`, `create_articles_items`, `create_articles_item`, and `update_articles_item` is sent
with the fresh id 9); but id 1 is taken as handed out by `POST /relations` (its answer's `data.meta.id`), so
the by-id read's setup is login, refresh and that relation, and it reads an article a setup before it left;
`delete_articles_items` sends its recorded ids `["1".."5"]` (ids in an array of variables are not followed) and
deletes what earlier setups left under those ids; a `views: 1` in a replayed `create_articles_item` is sent as
`views: 3` (the number taken for id 1); the names in reads' variables (`q: pacts`, `name: Grace`, `status:
published`) get "the names it chooses are free" states. Nothing GraphQL made is undone: after verify2 the
provider holds 10 authors and 17 articles from the setups, and the lists answer duplicates (unchecked: (1)).
The 3 red, all REST, one cause (directus.py's cause 1: collections, fields and relations a setup makes are
never undone): `POST /relations returns 200` 200 -> 400 "Field \"author\" in collection \"articles\" already has
an associated relationship"; `DELETE /collections/articles` and `/authors` (state `collection exists`): their
setups leave out `POST /fields/articles` or meet an `authors` an earlier interaction left (fresh-name retry
`authors-8`, while `POST /relations` still names `articles`, which the previous interaction deleted): setup step
6 (`POST /relations`) answered 400.
One run: 1.7 to 2 min (direct ~28 s, record ~30 s, verify 13-26 s, verify2 30-40 s); the setup is directus.py's.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
import directus  # noqa: E402 - the REST pair: its install, its servers, its admin
from common import start, tail, timed  # noqa: E402

CONSUMER, PROVIDER = "directus-sdk-graphql", "directus"
ADMIN = directus.ADMIN  # the provider team's (the server's ADMIN_EMAIL / ADMIN_PASSWORD)
WRONG_PASSWORD = directus.WRONG_PASSWORD
SCRIPT_SECONDS = 300


# --- the team's session ------------------------------------------------------------------------------


def run_session(stack: ExitStack, url: str, work: Path) -> dict:
    """The DRIVER against the Directus at `url`, under node 22; its steps' outcomes as a suite's counts, the
    GraphQL operations it sent, and the access and refresh tokens it was handed (kept in memory only)."""
    work.mkdir(parents=True, exist_ok=True)
    driver, out, log = work / "session.mjs", work / "steps.json", work / "session.log"
    driver.write_text(DRIVER)
    users = {"admin": ADMIN, "wrong": WRONG_PASSWORD}
    env = directus.clean_env(work) | {"DIRECTUS_SDK": str(directus.SDK_JS), "HARNESS_USERS": json.dumps(users)}
    cmd = [str(directus.NODE_BIN), str(driver), url, str(out)]
    proc = start(stack, cmd, log, cwd=work, env=env, stdin=subprocess.DEVNULL)
    try:
        proc.wait(SCRIPT_SECONDS)
    except subprocess.TimeoutExpired:
        common.stop(proc)
        raise RuntimeError(f"the session did not finish within {SCRIPT_SECONDS}s:\n{tail(log)}") from None
    if not out.is_file():
        raise RuntimeError(f"the session wrote no outcomes (exit {proc.returncode}):\n{tail(log, 30)}")
    done = json.loads(out.read_text())
    out.write_text(json.dumps({"results": done["results"], "operations": done["operations"]}, indent=1) + "\n")
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
        "operations": done["operations"],
        "tokens": done["tokens"],
    }


# --- the DRIVER: run by node 22 ----------------------------------------------------------------------

DRIVER = r"""
/* A content team's GraphQL session: @directus/sdk (rest() for logging in and the data model, graphql() for
the items and the system) against the Directus at argv[2], each step a "test" with its expected outcome ("ok",
or "STATUS CODE" for a refusal provoked on purpose); the outcomes, the GraphQL operations sent and the tokens
handed out written as JSON to argv[3]. */
import { writeFileSync } from "node:fs";

const {
  createDirectus, rest, graphql, authentication, memoryStorage, serverPing, createCollection, createField,
  createRelation, deleteCollection,
} = await import(process.env.DIRECTUS_SDK);

const [URL, OUT] = process.argv.slice(2);
const { admin: ADMIN, wrong: WRONG } = JSON.parse(process.env.HARNESS_USERS);
const results = [];
const tokens = [];
const operations = [];
const ids = {};
let current = "";

class Wrong extends Error {}
function check(got, want, what) {
  const a = JSON.stringify(got), b = JSON.stringify(want);
  if (a !== b) throw new Wrong(`${what}: got ${a}, want ${b}`);
}

async function step(name, fn, expect = "ok") {
  const t = performance.now();
  current = name;
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
  console.log(`${result.ok ? "ok  " : "FAIL"} ${name}: ${outcome}${outcome !== expect && detail ? " " + detail : ""}`);
}

function client() {
  const storage = memoryStorage();
  const c = createDirectus(URL).with(authentication("json", { storage, autoRefresh: false })).with(rest())
    .with(graphql());
  c.storage = storage;
  return c;
}

/* client.query(...) as the SDK sends it (POST {query, variables} to /graphql or /graphql/system), noted */
function gql(c, query, variables, scope = "items") {
  const text = query.replace(/\s+/g, " ").trim();
  operations.push({ step: current, scope, query: text, variables: variables ?? null });
  return c.query(query, variables, scope);
}

async function keep(c) {
  const data = await c.storage.get();
  for (const k of ["access_token", "refresh_token"]) if (data?.[k]) tokens.push(data[k]);
  return data;
}

const admin = client();
const stranger = client();

// --- logging in (REST, as every SDK client does) and the system over GraphQL --------------------------
await step("server ping", async () => check(await admin.request(serverPing()), "pong", "ping"));
await step("login with a wrong password", () => stranger.login({ email: ADMIN.email, password: WRONG }),
  "401 INVALID_CREDENTIALS");
await step("login as the admin", async () => {
  const r = await admin.login({ email: ADMIN.email, password: ADMIN.password });
  check(typeof r.access_token, "string", "access_token");
  await keep(admin);
});
await step("users_me (system)", async () => {
  const { users_me } = await gql(admin, `query { users_me { id email role { name } } }`, undefined, "system");
  check([users_me.email, users_me.role.name], [ADMIN.email, "Administrator"], "me");
  ids.me = users_me.id;
});
await step("refresh the session", async () => {
  const before = await admin.storage.get();
  await admin.refresh();
  const after = await keep(admin);
  check(after.refresh_token !== before.refresh_token, true, "a new refresh token");
});
await step("update_users_me (system)", async () => {
  const { update_users_me } = await gql(admin,
    `mutation Me($data: update_directus_users_input!) { update_users_me(data: $data) { first_name last_name } }`,
    { data: { first_name: "Ada", last_name: "Admin" } }, "system");
  check([update_users_me.first_name, update_users_me.last_name], ["Ada", "Admin"], "name");
});
await step("server_info (system)", async () => {
  const { server_info } = await gql(admin, `query { server_info { project { project_name } } }`, undefined,
    "system");
  check(typeof server_info.project.project_name, "string", "project_name");
});
await step("users_me without a token (system)", () => gql(stranger, `query { users_me { id } }`, undefined, "system"),
  "400 GRAPHQL_VALIDATION");

// --- the data model (REST: the GraphQL schema follows it) --------------------------------------------
const PK = {
  field: "id", type: "integer", meta: { hidden: true }, schema: { is_primary_key: true, has_auto_increment: true },
};
await step("create the authors collection", async () => {
  const c = await admin.request(createCollection({
    collection: "authors", meta: { icon: "person" }, schema: {},
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
    collection: "articles", meta: { icon: "article" }, schema: {},
    fields: [
      PK,
      { field: "title", type: "string", meta: { required: true }, schema: { is_nullable: false } },
      { field: "body", type: "text" },
      { field: "status", type: "string", schema: { default_value: "draft" } },
      { field: "views", type: "integer", schema: { default_value: 0 } },
      { field: "rating", type: "float" },
    ],
  }));
  check(c.collection, "articles", "collection");
});
await step("add the author field and its relation", async () => {
  const meta = { interface: "select-dropdown-m2o", special: ["m2o"] };
  await admin.request(createField("articles", { field: "author", type: "integer", meta }));
  const r = await admin.request(createRelation({
    collection: "articles", field: "author", related_collection: "authors", schema: { on_delete: "SET NULL" },
  }));
  check(r.related_collection, "authors", "related");
});
await step("the collection in the system schema (system)", async () => {
  const { collections_by_name: c } = await gql(admin,
    `query Collection($name: String!) { collections_by_name(name: $name) { collection meta { icon } } }`,
    { name: "articles" }, "system");
  check([c.collection, c.meta.icon], ["articles", "article"], "collection");
});

// --- items over GraphQL ------------------------------------------------------------------------------
await step("create_authors_items", async () => {
  const { create_authors_items: a } = await gql(admin,
    `mutation Authors($data: [create_authors_input!]) { create_authors_items(data: $data) { id name country } }`,
    { data: [{ name: "Ada" }, { name: "Grace", country: "US" }] });
  [ids.ada, ids.grace] = a.map((x) => x.id);
  check(a.map((x) => x.country), ["NL", "US"], "countries");
});
await step("create_articles_items", async () => {
  const { create_articles_items: a } = await gql(admin, `
    mutation Articles($data: [create_articles_input!]) {
      create_articles_items(data: $data) { id status author { name } }
    }`, {
    data: [
      { title: "Contracts from traffic", body: "recording pacts", status: "published", views: 120, rating: 4.5,
        author: { id: ids.ada, name: "Ada" } },
      { title: "Provider states", body: "setting up", status: "published", views: 80, rating: 3.5,
        author: { id: ids.grace, name: "Grace" } },
      { title: "Draft notes", body: "todo", views: 3, author: { id: ids.ada, name: "Ada" } },
      { title: "Verifying pacts", body: "replay", status: "published", views: 200, rating: 5,
        author: { id: ids.grace, name: "Grace" } },
      { title: "Old news", status: "archived", views: 7 },
    ],
  });
  ids.articles = a.map((x) => x.id);
  check(a.map((x) => [x.status, x.author?.name ?? null]), [
    ["published", "Ada"], ["published", "Grace"], ["draft", "Ada"], ["published", "Grace"], ["archived", null],
  ], "statuses and authors");
});
await step("create_articles_item", async () => {
  const { create_articles_item: a } = await gql(admin, `
    mutation Article($data: create_articles_input!) { create_articles_item(data: $data) { id title status } }`,
    { data: { title: "Single", views: 1 } });
  ids.single = a.id;
  check([a.title, a.status], ["Single", "draft"], "article");
});
await step("list: filter, sort, limit", async () => {
  const { articles } = await gql(admin, `
    query Top($status: String!, $limit: Int) {
      articles(filter: { status: { _eq: $status } }, sort: ["-views"], limit: $limit) { id title views }
    }`, { status: "published", limit: 2 });
  check(articles.map((a) => a.title), ["Verifying pacts", "Contracts from traffic"], "titles");
});
await step("list: filter through the relation, nested fields", async () => {
  const { articles } = await gql(admin, `
    query ByAuthor($name: String!) {
      articles(filter: { author: { name: { _eq: $name } } }, sort: ["title"]) { title author { name country } }
    }`, { name: "Grace" });
  check(articles.map((a) => `${a.title}/${a.author.name}/${a.author.country}`),
    ["Provider states/Grace/US", "Verifying pacts/Grace/US"], "joined");
});
await step("list: search", async () => {
  const { articles } = await gql(admin,
    `query Search($q: String) { articles(search: $q, sort: ["title"]) { title } }`, { q: "pacts" });
  check(articles.map((a) => a.title), ["Contracts from traffic", "Verifying pacts"], "found");
});
await step("list: a second page", async () => {
  const { articles } = await gql(admin, `query { articles(sort: ["id"], limit: 2, page: 2) { id } }`);
  check(articles.map((a) => a.id), ids.articles.slice(2, 4), "page 2");
});
await step("aggregated: count by status", async () => {
  const { articles_aggregated: got } = await gql(admin,
    `query { articles_aggregated(groupBy: ["status"]) { group count { id } } }`);
  const by = Object.fromEntries(got.map((g) => [g.group.status, Number(g.count.id)]));
  check(by, { archived: 1, draft: 2, published: 3 }, "counts");
});
await step("read one by id", async () => {
  const { articles_by_id: a } = await gql(admin,
    `query One($id: ID!) { articles_by_id(id: $id) { id title views author { name } } }`, { id: ids.articles[0] });
  check([a.title, a.views, a.author.name], ["Contracts from traffic", 120, "Ada"], "article");
});
await step("read one none has", async () => {
  const { articles_by_id: a } = await gql(admin,
    `query One($id: ID!) { articles_by_id(id: $id) { id title views author { name } } }`, { id: 999999 });
  check(a, null, "article");
}, "200 FORBIDDEN");
await step("update_articles_item", async () => {
  const { update_articles_item: a } = await gql(admin, `
    mutation Update($id: ID!, $data: update_articles_input!) {
      update_articles_item(id: $id, data: $data) { id title views }
    }`,
    { id: ids.articles[2], data: { title: "Draft notes (v2)", views: 4 } });
  check([a.title, a.views], ["Draft notes (v2)", 4], "article");
});
await step("update_articles_items", async () => {
  const { update_articles_items: a } = await gql(admin, `
    mutation Review($ids: [ID]!, $data: update_articles_input!) {
      update_articles_items(ids: $ids, data: $data) { id status }
    }`,
    { ids: [ids.articles[2], ids.single], data: { status: "review" } });
  check(a.map((x) => x.status), ["review", "review"], "statuses");
});
await step("delete_articles_item", async () => {
  const { delete_articles_item: d } = await gql(admin,
    `mutation Delete($id: ID!) { delete_articles_item(id: $id) { id } }`, { id: ids.single });
  check(String(d.id), String(ids.single), "deleted id");
});
await step("read the deleted one", async () => {
  await gql(admin, `query One($id: ID!) { articles_by_id(id: $id) { id title views author { name } } }`,
    { id: ids.single });
}, "200 FORBIDDEN");
await step("list after the delete", async () => {
  const { articles } = await gql(admin, `query { articles(sort: ["id"]) { id status } }`);
  check(articles.map((a) => a.id), ids.articles, "ids");
});
await step("create an article without its title", () => gql(admin, `
    mutation Article($data: create_articles_input!) { create_articles_item(data: $data) { id title status } }`,
  { data: { body: "no title" } }), "200 INTERNAL_SERVER_ERROR");
await step("a field none has", () => gql(admin, `query { articles { id subtitle } }`), "400 GRAPHQL_VALIDATION");
await step("a collection none has", () => gql(admin, `query { no_such_collection { id } }`),
  "400 GRAPHQL_VALIDATION");
await step("items without a token", () => gql(stranger, `query { articles { id } }`), "400 GRAPHQL_VALIDATION");

// --- clean-up ----------------------------------------------------------------------------------------
await step("delete_articles_items", async () => {
  const { delete_articles_items: d } = await gql(admin,
    `mutation Clear($ids: [ID]!) { delete_articles_items(ids: $ids) { ids } }`, { ids: ids.articles });
  check(d.ids.map(String), ids.articles.map(String), "deleted ids");
});
await step("delete the collections", async () => {
  await admin.request(deleteCollection("articles"));
  await admin.request(deleteCollection("authors"));
});
let spent;
await step("the admin logs out", async () => {
  spent = await admin.storage.get();
  await admin.logout();
});
await step("refresh with the logged-out refresh token", async () => {
  await admin.storage.set(spent);
  await admin.refresh();
}, "401 INVALID_CREDENTIALS");

writeFileSync(OUT, JSON.stringify({ results, operations, tokens }, null, 1) + "\n");
process.exit(0);
"""


# --- the verifier ------------------------------------------------------------------------------------


def answers(message: str, pact: Path) -> list[str]:
    """`--secret NAME=VALUE` for each secret the refusal names: the admin's password (the provider team's: the
    server's ADMIN_PASSWORD) or the wrong one (the session's author's) where the recording redacted NAME in a
    `POST /auth/login` that succeeded or was refused, else a placeholder (an access or refresh token is handed
    out by the provider: none knows it beforehand)."""
    where = secret_values(pact)
    args = []
    for name in re.findall(r"^\s+([\w.:-]+): needed by", message, re.M):
        values = where.get(name, set())
        args += ["--secret", f"{name}={values.pop() if len(values) == 1 else 'x'}"]
    return args


def secret_values(pact: Path) -> dict[str, set[str]]:
    """For each secret name the recording gave a request body's password, the password the session sent there."""
    found: dict[str, set[str]] = {}
    for i in json.loads(pact.read_text())["interactions"]:
        m = re.match(r"POST /auth/login returns (\d)", i.get("description", ""))
        for s in i.get("comments", {}).get("pactRecorder", {}).get("secrets", []) or []:
            if m and s.get("in") == "body" and "password" in json.dumps(s).lower() and s.get("secret"):
                value = ADMIN["password"] if m.group(1) == "2" else WRONG_PASSWORD
                found.setdefault(s["secret"], set()).add(value)
    return found


def hide(text: str) -> str:
    for value in (ADMIN["password"], WRONG_PASSWORD):
        text = text.replace(value, "****")
    return text


# --- GraphQL figures ---------------------------------------------------------------------------------


def graphql_figures(pact: Path, ops: list[dict]) -> dict:
    """The GraphQL operations the session sent (distinct by scope and query text) against the pact's
    interactions on /graphql and /graphql/system: how many interactions, which operations none of them
    holds (their text sent by no interaction), which interactions hold several steps' operations."""
    sent = Counter((op["scope"], op["query"]) for op in ops)
    path = {"items": "/graphql", "system": "/graphql/system"}
    held: dict[tuple[str, str], list[str]] = {}
    interactions = []
    for i in json.loads(pact.read_text())["interactions"]:
        req = i["request"]
        if req.get("path") not in path.values():
            continue
        content = (req.get("body") or {}).get("content")
        text = " ".join(str((content or {}).get("query", "")).split()) if isinstance(content, dict) else ""
        scope = "system" if req["path"].endswith("/system") else "items"
        held.setdefault((scope, text), []).append(i["description"])
        rules = i["request"].get("matchingRules", {}).get("body", {})
        interactions.append({
            "description": i["description"],
            "states": [s.get("name") for s in i.get("providerStates", [])],
            "operation": text[:120],
            "body_rules": sorted(rules),
        })  # fmt: skip
    absent = [f"{scope}: {query[:100]}" for (scope, query) in sent if (scope, query) not in held]
    return {
        "operations_sent": sum(sent.values()),
        "distinct_operations": len(sent),
        "distinct_operations_with_variables": len({(o["scope"], o["query"], json.dumps(o["variables"])) for o in ops}),
        "graphql_interactions": len(interactions),
        "operations_in_no_interaction": absent,
        "interactions": interactions,
    }


# --- phases ------------------------------------------------------------------------------------------


def phases(work: Path, verify_args: list[str], direct: bool) -> dict:
    seconds: dict[str, float] = {}
    with timed(seconds, "setup"):
        directus.setup()
    direct_run = None
    if direct:
        with timed(seconds, "direct"), ExitStack() as stack:
            server = directus.start_directus(stack, work / "direct" / "server")
            direct_run = run_session(stack, server, work / "direct")
    out = work / "record"
    with timed(seconds, "record"), ExitStack() as stack:
        server = directus.start_directus(stack, out / "server")
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
        server = directus.start_directus(stack, work / "verify" / "server")
        report, outcome = common.verify_outcome(stack, pact, server, work / "verify", args)
        runs.append(outcome)
    if report is None or verify_args:  # refused (or asked for): once more with the extra, on a fresh server
        extra = verify_args or answers(outcome["message"], pact)
        if report is None and not extra:
            raise RuntimeError(f"verify refused (exit {outcome['exit']}):\n{outcome['message']}")
        with timed(seconds, "verify2"), ExitStack() as stack:
            server = directus.start_directus(stack, work / "verify2" / "server")
            args = [*args, *extra]
            report, outcome = common.verify_outcome(stack, pact, server, work / "verify2", args)
            runs.append(outcome)
    for n, run in enumerate(runs, 1):
        lines = run["message"].splitlines()
        said = [line for line in lines if "interaction(s) passed" in line]
        if run["exit"] == 2:
            said = [*lines[:12], f"... ({len(lines) - 12} more lines)"] if len(lines) > 13 else lines
        run["args"] = [hide(a) for a in run["args"]]  # figures.json keeps no password either
        print(f"verify run {n}: exit {run['exit']}  ({' '.join(run['args'])})")
        print("\n".join("  " + line.strip() for line in said))
    same = common.same_exit_codes(direct_run, recorded)
    if same:
        print(f"transparency: {same['same_exit']} / {same['steps']} steps gave the same outcome both ways")
        for line in same["differ"]:
            print(f"  differs: {line}")
    gql = graphql_figures(pact, recorded["operations"])
    print(f"graphql: {gql['operations_sent']} operations sent, {gql['distinct_operations']} distinct by text "
          f"({gql['distinct_operations_with_variables']} with their variables); {gql['graphql_interactions']} "
          f"interactions on /graphql and /graphql/system; the text of "
          f"{len(gql['operations_in_no_interaction'])} in none")  # fmt: skip
    secrets = {"passwords": [ADMIN["password"], WRONG_PASSWORD], "access and refresh tokens": tokens}
    on_disk = directus.leaked(work, secrets)
    for kind, files in on_disk.items():
        print(f"{kind} of the session in clear in: {', '.join(files) or 'no file kept (pact, states file, logs)'}")
    if report is None:
        raise RuntimeError(f"pact-recorder verify wrote no report (exit {runs[-1]['exit']}):\n{runs[-1]['message']}")
    return {
        "directus": directus.DIRECTUS,
        "directus-sdk": directus.SDK,
        "node": directus.NODE,
        "consumer": "@directus/sdk graphql() (client.query: POST {query, variables}) with rest() to log in "
        "and make the data model, under node",
        "verify_args": [hide(a) for a in args],
        "verify_runs": runs,
        "seconds": seconds,
        "direct": direct_run,
        "recorded": recorded,
        "transparency": same,
        "secrets_in_clear": on_disk,
        "recording": common.recording_figures(pact),
        "graphql": gql,
        "verify": common.verify_figures(report),
        "failures": common.group_failures(report),
    }


if __name__ == "__main__":
    sys.exit(common.main("directus_graphql", __doc__, phases, sys.argv[1:], directus.setup))
