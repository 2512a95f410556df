"""GraphQL requests: which operation a request asks for, and a regex its query text must match.

A GraphQL API answers every operation at one URL (`POST /graphql {"query": ..., "variables": ...}`, or the
same as query parameters of a GET): the operation is inside the request, so it is what tells interactions
apart. The query text is matched by its tokens (graphql-core's lexer), whatever the whitespace, commas and
comments between them, anchored, and with a separator where two names meet, so `{ id name }` never matches
`{ idname }` and another operation never matches.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from graphql import GraphQLError, Source, parse
from graphql.language import FieldNode, FragmentSpreadNode, Lexer, OperationDefinitionNode, TokenKind

from recorder.pattern import escape

REQUEST_KEYS = frozenset({"query", "operationName", "variables", "extensions"})  # the GraphQL-over-HTTP request
NOT_VALUES = frozenset({"query", "operationName", "extensions"})  # what names the operation, not a value it sends
_IGNORED = r"(?:[\s,]|#.*)"  # what the lexer skips between tokens: white space, commas, comments (to the line end)
_WORD = frozenset("_0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


def request_of(body: Any) -> dict | None:
    """The GraphQL request a JSON body or a GET's query parameters (as a dict) hold, else None: a `query`
    that parses as a GraphQL document, beside nothing but `operationName`, `variables` and `extensions`."""
    if not isinstance(body, dict) or not isinstance(body.get("query"), str) or not body.keys() <= REQUEST_KEYS:
        return None
    return body if _operation(body["query"], body.get("operationName")) else None


def operation(body: Any) -> str:
    """The operation a GraphQL request asks for, as a contract names it (`query Post`, `mutation createPost`,
    `query {allPosts,_allPostsMeta}` for an anonymous one), else ""."""
    if request_of(body) is None:
        return ""
    return _operation(body["query"], body.get("operationName"))


def values_of(request: dict) -> dict:
    """A GraphQL request without what names its operation: the values it sends (its variables)."""
    return {k: v for k, v in request.items() if k not in NOT_VALUES}


@lru_cache(maxsize=512)
def _operation(text: str, name: Any) -> str:
    try:
        document = parse(Source(text), no_location=True)
    except (GraphQLError, RecursionError):
        return ""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if isinstance(name, str) and name:
        chosen = next((o for o in operations if o.name is not None and o.name.value == name), None)
    else:
        chosen = operations[0] if len(operations) == 1 else None
    if chosen is None:
        return ""
    if chosen.name is not None:
        return f"{chosen.operation.value} {chosen.name.value}"
    roots = sorted(
        s.name.value if isinstance(s, FieldNode) else f"...{s.name.value}"
        for s in chosen.selection_set.selections
        if isinstance(s, (FieldNode, FragmentSpreadNode))
    )
    return f"{chosen.operation.value} {{{','.join(roots)}}}"


@lru_cache(maxsize=512)
def query_regex(text: str) -> str:
    """An anchored regex for a query text: its tokens in order, anything the lexer ignores between them (at
    least one separator between two names)."""
    lexer, parts, last = Lexer(Source(text)), [], ""
    while (token := lexer.advance()).kind != TokenKind.EOF:
        raw = text[token.start : token.end]
        if parts:
            parts.append(_IGNORED + ("+" if last in _WORD and raw[0] in _WORD else "*"))
        parts.append(escape(raw))
        last = raw[-1]
    return f"^{_IGNORED}*{''.join(parts)}{_IGNORED}*$"
