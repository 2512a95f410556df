"""GraphQL (issue 24): one interaction per operation, the query text checked by its tokens, states for what
mutations made. Shown by a minimal GraphQL provider (graphql-core executing a three-field schema), recorded
through `pact-recorder record` and verified from empty with `--states-from-recording`, as in
tests/test_first_contact.py."""

from __future__ import annotations

import json
import re
import subprocess

import pytest
from graphql import build_schema, graphql_sync

from recorder.formats import graphql
from tests.conftest import CLI, PACT_NAME, record_through, recorder_args
from tests.test_first_contact import Provider, first_contact, green, provider_serving, send, verify_against

SCHEMA = """
type Post { id: ID! title: String! views: Int! }
type User { id: ID! name: String! }
type Query { Post(id: ID!): Post  allPosts: [Post!]! }
type Mutation {
  createUser(name: String!): User!
  createPost(title: String!, views: Int!): Post!
  updatePost(id: ID!, title: String!): Post
  removePost(id: ID!): Post
}
"""


class Posts(Provider):
    """A GraphQL API at POST /graphql over users and posts; starts empty, each type's ids count up from 1."""

    schema = build_schema(SCHEMA)

    def do_POST(self):  # noqa: N802
        if self.path != "/graphql":
            return self.send_json(404, {"error": "not found"})
        request = json.loads(self.body())
        with self.lock:
            result = graphql_sync(
                self.schema,
                request["query"],
                root_value=self.root(),
                variable_values=request.get("variables"),
                operation_name=request.get("operationName"),
            )
        answer = {"data": result.data} | ({"errors": [e.formatted for e in result.errors]} if result.errors else {})
        self.send_json(200, answer)

    def root(self) -> dict:
        posts = self.store.setdefault("posts", {})

        def made(kind: str, **fields) -> dict:
            self.store[kind] = n = self.store.get(kind, 0) + 1
            return {"id": str(n), **fields}

        def create(info, title, views):
            post = made("post", title=title, views=views)
            posts[post["id"]] = post
            return post

        def update(info, id, title):  # noqa: A002 - the schema's argument name
            if (post := posts.get(id)) is not None:
                post["title"] = title
            return post

        return {
            "Post": lambda info, id: posts.get(id),
            "allPosts": lambda info: list(posts.values()),
            "createUser": lambda info, name: made("user", name=name),
            "createPost": create,
            "updatePost": update,
            "removePost": lambda info, id: posts.pop(id, None),
        }


class Renamed(Posts):
    """The same API with `title` renamed `headline`: a breaking change for a consumer that reads titles."""

    schema = build_schema(SCHEMA.replace("title", "headline"))


CREATE = "mutation createPost($title: String!, $views: Int!) {\n  createPost(title: $title, views: $views) { id }\n}"
READ = "query Post($id: ID!) { Post(id: $id) { id title views } }"
UPDATE = "mutation updatePost($id: ID!, $title: String!) { updatePost(id: $id, title: $title) { id title } }"
REMOVE = "mutation removePost($id: ID!) { removePost(id: $id) { id } }"


def ask(url: str, query: str, variables: dict | None = None, name: str | None = None) -> dict:
    body = {"query": query, **({"variables": variables} if variables is not None else {})}
    body |= {"operationName": name} if name else {}
    status, _, answer = send(url, "POST", "/graphql", json.dumps(body).encode(), {"Content-Type": "application/json"})
    assert status == 200
    return json.loads(answer)


def exercise(url: str) -> None:
    # (a user made first has id 1 too: the post's reads must be set up with the post, not the user)
    assert ask(url, "mutation createUser($name: String!) { createUser(name: $name) { id } }", {"name": "ada"})
    made = ask(url, CREATE, {"title": "hello", "views": 1}, "createPost")["data"]["createPost"]["id"]
    assert ask(url, READ, {"id": made}, "Post")["data"]["Post"]["title"] == "hello"
    assert ask(url, "{ allPosts { id title } }")["data"]["allPosts"] == [{"id": made, "title": "hello"}]
    assert ask(url, UPDATE, {"id": made, "title": "hi"}, "updatePost")["data"]["updatePost"]["title"] == "hi"
    assert ask(url, READ, {"id": "999"}, "Post")["data"]["Post"] is None  # GraphQL's not found
    assert ask(url, "query Bad { allPosts { nope } }", name="Bad")["errors"]
    assert ask(url, REMOVE, {"id": made}, "removePost")["data"]["removePost"] == {"id": made}


@pytest.fixture
def recorded(tmp_path):
    pact, result = first_contact(tmp_path, Posts, exercise)
    return pact, result


def test_each_operation_is_an_interaction_and_the_pact_verifies_from_empty(recorded):
    pact, result = recorded
    assert sorted(i["description"] for i in pact["interactions"]) == [
        "POST /graphql mutation createPost returns 200",
        "POST /graphql mutation createUser returns 200",
        "POST /graphql mutation removePost returns 200",
        "POST /graphql mutation updatePost returns 200",
        "POST /graphql query Bad returns 200 with errors",
        "POST /graphql query Post returns 200",
        "POST /graphql query Post returns 200 with Post null",
        "POST /graphql query {allPosts} returns 200",
    ]
    assert green(result), result.stdout + result.stderr


def test_the_query_text_is_checked_by_its_tokens_and_the_operation_name_as_sent(recorded):
    pact, _ = recorded
    read = next(i for i in pact["interactions"] if i["description"] == "POST /graphql query Post returns 200")
    rules = read["request"]["matchingRules"]["body"]
    assert rules["$.operationName"]["matchers"] == [{"match": "equality"}]
    (matcher,) = rules["$.query"]["matchers"]
    tokens = re.compile(matcher["regex"])
    assert tokens.match(READ) and tokens.match("query Post($id:ID!){Post(id:$id){id,title\n views # all\n}}")
    assert not tokens.match("query Post($id: ID!) { Post(id: $id) { idtitle views } }")
    assert not tokens.match("query Post($id: ID!) { Post(id: $id) { id title } }")
    assert not tokens.match("mutation { nuke }")


def test_a_query_that_reads_a_renamed_field_goes_red(tmp_path, recorded):
    result = verify_against(tmp_path, Renamed.fresh())
    assert result.returncode == 1 and "query Post returns 200" in result.stdout, result.stdout + result.stderr


@pytest.mark.unit
def test_operations_are_named_as_a_contract_names_them():
    assert graphql.operation({"query": READ, "variables": {"id": "1"}, "operationName": "Post"}) == "query Post"
    assert graphql.operation({"query": "{ allPosts { id } _meta { count } }"}) == "query {_meta,allPosts}"
    assert graphql.operation({"query": "mutation { nuke }"}) == "mutation {nuke}"
    two = "query A { a } query B { b }"
    assert graphql.operation({"query": two, "operationName": "B"}) == "query B"
    assert graphql.operation({"query": two}) == ""  # (which one is meant, only operationName says)
    assert graphql.operation({"query": "SELECT * FROM posts"}) == ""  # a query language that is not GraphQL
    assert graphql.operation({"query": "{ a }", "method": "x"}) == ""  # other keys: not a GraphQL request


def test_replay_answers_each_operation_and_no_other(tmp_path, recorded):
    proc = subprocess.Popen(
        [CLI, "replay", str(tmp_path / "pacts" / PACT_NAME), "--listen", "127.0.0.1:0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        url = next(m.group(0) for line in proc.stdout if (m := re.search(r"http://127\.0\.0\.1:\d+", line)))
        reformatted = "query Post($id:ID!){Post(id:$id){id,title,views}}"
        assert ask(url, reformatted, {"id": "7"}, "Post")["data"]["Post"]["title"] == "hello"
        # what the contract leaves out (only ever null) is served as recorded: a client's cache needs the key
        assert ask(url, READ, {"id": "999"}, "Post")["data"] == {"Post": None}
        status, _, _ = send(
            url,
            "POST",
            "/graphql",
            json.dumps({"query": "mutation { nuke }"}).encode(),
            {"Content-Type": "application/json"},
        )
        assert status != 200
    finally:
        proc.terminate()
        proc.wait(10)


def test_rules_select_an_operation(tmp_path):
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "select:\n  - name: no-bad-queries\n    operation: [Bad]\n"
        "fields:\n  - name: post-ids-are-numbers\n    operation: mutation create*\n"
        "    path: $.data.createPost.id\n    match: regex\n    regex: '^[0-9]+$'\n"
    )
    with provider_serving(Posts) as url:
        record_through(recorder_args(url, tmp_path / "pacts", "--rules", str(rules)), exercise)
    pact = json.loads((tmp_path / "pacts" / PACT_NAME).read_text())
    by_description = {i["description"]: i for i in pact["interactions"]}
    assert not [d for d in by_description if "query Bad" in d]
    create = by_description["POST /graphql mutation createPost returns 200"]
    assert create["response"]["matchingRules"]["body"]["$.data.createPost.id"]["matchers"] == [
        {"match": "regex", "regex": "^[0-9]+$"}
    ]
    read = by_description["POST /graphql query Post returns 200"]
    assert "$.data.createPost.id" not in read["response"].get("matchingRules", {}).get("body", {})


class Quota(Posts):
    """The same API where an account holds at most two posts at a time (a third is refused: a GraphQL error,
    answered 200) and a new post gets the last post's id + 1 (ids of removed posts come again), while users
    are never removed."""

    def root(self) -> dict:
        root, posts = super().root(), self.store.setdefault("posts", {})

        def create(info, title, views):
            if len(posts) >= 2:
                raise ValueError("quota: two posts at a time")
            post = {"id": str(max(map(int, posts), default=0) + 1), "title": title, "views": views}
            posts[post["id"]] = post
            return post

        return root | {"createPost": create}


def two_posts(url: str) -> None:
    """One post updated, another read: each interaction's setup makes its own post."""
    assert ask(url, "mutation createUser($name: String!) { createUser(name: $name) { id } }", {"name": "ada"})
    first = ask(url, CREATE, {"title": "first", "views": 1}, "createPost")["data"]["createPost"]["id"]
    assert ask(url, UPDATE, {"id": first, "title": "hi"}, "updatePost")["data"]["updatePost"]["title"] == "hi"
    second = ask(url, CREATE, {"title": "second", "views": 2}, "createPost")["data"]["createPost"]["id"]
    assert ask(url, READ, {"id": second}, "Post")["data"]["Post"]["title"] == "second"
    for made in (first, second):
        assert ask(url, REMOVE, {"id": made}, "removePost")["data"]["removePost"] == {"id": made}


def test_what_an_operation_made_is_undone_as_the_consumer_deleted_such_a_thing(tmp_path):
    """The update's setup makes the first post, the read's the second: with the post the create interaction
    itself made, the quota is full unless the first is gone, and no name made afresh gets past a quota. Only the
    consumer's own `removePost`, sent with the id each setup's post got, frees room. A user and a post share
    the recorded id 1 and part at verify time (users are never removed): the post's id is the post's, by the
    param's name (`postId`)."""
    pact, result = first_contact(tmp_path, Quota, two_posts)
    assert green(result), result.stdout + result.stderr
    states = (tmp_path / "pacts" / PACT_NAME).with_suffix(".states.yaml").read_text()
    assert "undo:" in states and "removePost" in states
    update = next(i for i in pact["interactions"] if "updatePost" in i["description"])
    assert update["request"]["generators"]["body"]["$.variables.id"]["expression"] == "${postId}"
