"""Where values are in a request or a response, by place: path segments, query parameters, headers
(an ETag without its quotes, the parts of a URL), JSON body fields, XML elements. The timeline finds with these the
values a provider generated (ids, ETags, cursors) and where a later request sent them back.

    >>> request_values(Exchange("GET", "/records/9f2c", (("_token", "abc"),), (), b"", 200, (), b""))
    {('path', 0): 'records', ('path', 1): '9f2c', ('query', '_token'): 'abc'}
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from contextlib import suppress
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit
from xml.etree import ElementTree
from xml.sax.saxutils import escape, unescape

from recorder.formats import graphql, multipart, statements
from recorder.model import NO_BODY, PLACEHOLDER, Exchange
from recorder.urls import resolve
from recorder.words import singular

READ = frozenset({"GET", "HEAD", "PROPFIND", "REPORT"})
MAX_LEAVES = 400  # body values looked at per response
# Keys of values a provider generates: ids, and the counters that version a resource (a revision, an
# index a write is given: `modifiedIndex`), which a later conditional request sends back.
ID_KEY = re.compile(
    r"(^|_)(id|uuid|key|slug|etag|rev|revision|version|token|cursor|next|last_modified)$|(Id|Index|Revision)$", re.I
)
VALUE_HEADER = re.compile(r"^(etag|location|content-location|link|last-modified)$|token|cursor|next|page|version", re.I)
XML_BODY_MAX = 256 * 1024  # XML response bodies looked into for values (an id in an S3 or WebDAV answer)

# ("header", name[, "segment", i | "query", key]) | ("body", key-or-index, ...) | ("xml", tag, ...) | ("path", i)
Location = tuple


def norm(path: str) -> str:
    stripped = path.rstrip("/")
    return stripped or "/"


def segments(path: str) -> list[str]:
    return [s for s in path.split("/") if s]


RESPONSE_NAMES_MAX = 200  # string leaves of a response looked at for names of known resources


def response_names(body: Any, short: bool = False) -> set[str]:
    """The short strings of a response body (bounded): a search or a view answers with names. `short`:
    names of one or two characters too, and integers (ids looked for among one container's items)."""
    out: set[str] = set()
    stack, seen = [body], 0
    while stack and seen < RESPONSE_NAMES_MAX:
        node = stack.pop()
        seen += 1
        if isinstance(node, str) and (1 if short else 3) <= len(node) <= 200:
            out.add(node)
        elif short and type(node) is int:
            out.add(str(node))
        elif isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return out


def etag_value(value: str) -> str:
    return value.removeprefix("W/").strip('"')


def _distinctive(key: Any, value: Any) -> str | None:
    """The value as text when it could be one the provider generated (ids, versions, cursors), else None."""
    if isinstance(value, bool) or value is None or isinstance(value, (dict, list, float)):
        return None
    if isinstance(key, str) and _id_key(key):
        return str(value) or None
    if isinstance(value, int):
        return str(value) if abs(value) >= 1_000_000 else None
    return value if len(value) >= 8 and " " not in value and any(map(str.isdigit, value)) else None


@lru_cache(maxsize=10_000)
def _id_key(key: str) -> bool:
    return ID_KEY.search(key) is not None  # keys repeat in every body of an API: remembered


def _url_parts(value: str) -> list[tuple[Location, str]]:
    if not value.startswith(("http://", "https://", "/")) or " " in value.strip("<> "):
        return []
    parts = urlsplit(value.strip("<> ").split(">;")[0])
    out: list[tuple[Location, str]] = [(("segment", i), unquote(s)) for i, s in enumerate(segments(parts.path))]
    out += [(("query", k), v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    return out


def set_cookie(value: str) -> tuple[str, str]:
    """(name, value) of a Set-Cookie header."""
    name, _, rest = value.partition("=")
    return name.strip(), rest.split(";", 1)[0].strip()


def value_at(at: list, headers: list[tuple[str, str]], body: Any, raw: bytes = b"") -> str | None:
    """The value at a place `response_values` named (or a cookie's), in another response of the same
    request: where a fresh provider put what the recorded one had there (`raw`: its body's bytes)."""
    if at[0] == "xml":
        return _xml_values(raw).get(tuple(at))
    if at[0] == "text":  # the whole body (a token a login answered with as text)
        return raw.decode("utf-8", "replace").strip() or None
    if at[0] == "cookie":
        cookies = (set_cookie(v) for k, v in headers if k.lower() == "set-cookie")
        return next((v for name, v in cookies if name == at[1]), None)
    if at[0] == "header":
        value = next((v for k, v in headers if k.lower() == str(at[1]).lower()), None)
        if value is None or len(at) == 2:
            return etag_value(value) if value is not None and str(at[1]).lower() == "etag" else value
        return dict(_url_parts(value)).get((at[2], at[3]))
    for key in at[1:]:
        if isinstance(key, (list, tuple)):  # an item by its name (list_keys)
            found = [i for i in body if isinstance(i, dict) and i.get(key[0]) == key[1]] if type(body) is list else []
            body = found[0] if found else None
            continue
        try:
            body = body[key]
        except (KeyError, IndexError, TypeError):
            return None
    return None if isinstance(body, (dict, list)) or body is None else str(body)


def response_values(ex: Exchange) -> dict[Location, str]:
    """Values in a response that later requests may use: header ids and URLs, id-like body fields."""
    return header_values(ex) | body_values(ex)


def header_values(ex: Exchange) -> dict[Location, str]:
    """response_values of the response's headers."""
    out: dict[Location, str] = {}
    for name, value in ex.response_headers:
        if not VALUE_HEADER.search(name):
            # Any other header hands out what could be generated (a snapshot's time, an operation id); not a
            # count or a length, which a later request's number would match by chance.
            if not value.isdigit() and _distinctive(None, value) is not None:
                out[("header", name)] = value
            continue
        if name.lower() == "etag":
            out[("header", name)] = etag_value(value)
        elif parts := _url_parts(value):
            out |= {("header", name, *where): v for where, v in parts if _distinctive(where[-1], v) is not None}
        else:
            out[("header", name)] = value
    return out


_SELECTING_KEYS = ("name", "key", "slug", "login", "username", "email", "title")
SELECTED_MAX = 1_000  # items of a list looked at for names; a longer list's items go by index


def list_keys(items: list) -> list:
    """How each item of a list is found again in another answer: by the name it has (`("name", "member")`:
    a fresh provider may list the same things in another order, by ids it made up), where every item is
    an object with a name of its own under the same key; else by its index."""
    if 0 < len(items) <= SELECTED_MAX and all(type(item) is dict for item in items):
        for key in _SELECTING_KEYS:
            names = [item.get(key) for item in items]
            if all(type(n) is str and n for n in names) and len(set(names)) == len(names):
                return [(key, n) for n in names]
    return list(range(len(items)))


def in_list(where: Location) -> bool:
    """A place inside a list (by index, or by an item's name: see list_keys)."""
    return any(isinstance(k, (int, tuple)) for k in where[1:])


def body_values(ex: Exchange, redact: Callable[[tuple, Any], Any] | None = None) -> dict[Location, str]:
    """response_values of the response's body. `redact(keys, value)`: the body was not redacted
    (recorder.infer.sampling), so each value taken is here."""
    body = ex.response_json
    if body is NO_BODY:
        return _xml_values(ex.response_body) if redact is None else {}
    return _body_values(body, redact)


def _xml_values(body: bytes) -> dict[Location, str]:
    """What `_distinctive` takes among the texts of an XML body's leaf elements, by their path of local
    names (`UploadId` in an InitiateMultipartUploadResult): the first of each path."""
    if (root := _xml_root(body)) is None:
        return {}
    out: dict[Location, str] = {}
    stack = [(root, ("xml", _local(root.tag)))]
    while stack and len(out) < MAX_LEAVES:
        element, at = stack.pop()
        children = list(element)
        stack.extend((child, (*at, _local(child.tag))) for child in reversed(children))
        text = _distinctive(at[-1], element.text.strip()) if not children and element.text and at not in out else None
        if text is not None:
            out[at] = text
    return out


_XML_LEAF = re.compile(r"(<(?:[\w.-]+:)?([\w.-]+)(?:\s[^<>]*)?>)\s*([^<>]*?)\s*(</(?:[\w.-]+:)?\2\s*>)")


def xml_rebound(text: str, fresh: dict[str, str]) -> str:
    """An XML body with each id element whose text is a recorded value (`<bookId>3</bookId>`, as `_xml_values`
    takes them) holding the fresh provider's value instead: where no generator reaches (the Pact core has
    none for XML bodies). The rest as sent."""

    def one(m: re.Match) -> str:
        value = unescape(m.group(3))
        if value in fresh and _distinctive(m.group(2), value) is not None:
            return f"{m.group(1)}{escape(fresh[value])}{m.group(4)}"
        return m.group(0)

    return _XML_LEAF.sub(one, text) if fresh and text.lstrip().startswith("<") else text


def xml_names(body: bytes) -> set[str]:
    """The texts of an XML body's leaf elements (bounded, as `response_names`): a listing's keys."""
    if (root := _xml_root(body)) is None:
        return set()
    texts = (e.text.strip() for e in root.iter() if not len(e) and e.text)
    return {t for t in itertools.islice(texts, RESPONSE_NAMES_MAX) if 1 <= len(t) <= 200}


_PLACEHOLDER_TAG, _PLACEHOLDER_TEXT = PLACEHOLDER.encode(), escape(PLACEHOLDER).encode()


def _xml_root(body: bytes) -> ElementTree.Element | None:
    """A small body that parses as XML, else None (most bodies are no XML: they are not parsed)."""
    if not body or len(body) > XML_BODY_MAX or body.lstrip()[:1] != b"<":
        return None
    try:  # (a secret redacted inside it, a WS-Security password, as text)
        return ElementTree.fromstring(body.replace(_PLACEHOLDER_TAG, _PLACEHOLDER_TEXT))
    except ElementTree.ParseError:
        return None


def _local(tag: Any) -> str:
    return str(tag).rpartition("}")[2]  # without its namespace


def _body_values(body: Any, redact: Callable[[tuple, Any], Any] | None) -> dict[Location, str]:
    """What `_distinctive` takes among the first MAX_LEAVES scalars of a body (as `leaves` walks them),
    in one walk: it runs for every response, and most values are not taken."""
    out: dict[Location, str] = {}
    left = MAX_LEAVES

    def walk(node: Any, path: tuple) -> None:
        nonlocal left
        items = node.items() if type(node) is dict else zip(list_keys(node), node, strict=True)
        for key, value in items:
            if left == 0:
                return
            kind = type(value)
            if kind is dict or kind is list:
                walk(value, (*path, key))
                continue
            left -= 1
            id_like = type(key) is str and _id_key(key)
            # (What _distinctive would surely refuse is not asked: most values of a body.)
            if (
                kind is str
                and (id_like or len(value) >= 8 and " " not in value)
                or (kind is int and (id_like or abs(value) >= 1_000_000))
            ):
                text = _distinctive(key, value)
            elif id_like and redact is not None:  # null, a boolean or a float: taken only once redacted
                text = None
            else:
                continue
            at = (*path, key)
            # Redacted, a value becomes a placeholder, which is taken only under an id-like name.
            if redact is not None and (hidden := redact(at, value)) is not value:
                text = _distinctive(key, hidden)
            if text is not None:
                out[("body", *at)] = text

    if isinstance(body, (dict, list)):
        walk(body, ())
    elif (text := _distinctive(None, body if redact is None else redact((), body))) is not None:
        out[("body",)] = text
    return out


def request_values(ex: Exchange) -> dict[Location, str]:
    """Every value a request carries, by where it is (for finding the ones an earlier response gave)."""
    out: dict[Location, str] = {("path", i): unquote(s) for i, s in enumerate(segments(ex.path))}
    # (a small number is an id only under an id's name: `?_page=2&_limit=2` names no post 2)
    out |= {("query", k): v for k, v in _sent_query(ex) if not (v.isdigit() and len(v) < 6) or _id_key(k)}
    for name, value in ex.request_headers:
        if name.lower() in ("if-match", "if-none-match") and value != "*":
            out[("header", name)] = etag_value(value)
        elif VALUE_HEADER.search(name) and name.lower() not in ("host",):
            out[("header", name)] = value
    out |= form_values(ex) | statement_names(ex)
    body = _sent_body(ex)
    if body is not NO_BODY:
        out |= {
            ("body", *path): str(value)
            for path, value in leaves(body)
            if _distinctive(path[-1] if path else None, value)
        }
    else:  # (an id sent back inside XML)
        out |= _xml_values(ex.request_body)
    return _without_operation(ex, out)


def form_values(ex: Exchange) -> dict[Location, str]:
    """The fields of a form-encoded request body, like query parameters (`prevIndex=12`, `QueueName=q`)."""
    if not ex.request_body or "x-www-form-urlencoded" not in (ex.request_header("content-type") or "").lower():
        return {}
    text = ex.request_body.decode("utf-8", "replace")
    return {("form", k): v for k, v in parse_qsl(text, keep_blank_values=True)}


MULTIPART_FIELD_MAX = 200  # bytes of a multipart part without a file name read as a field's value


def multipart_values(ex: Exchange) -> dict[Location, str]:
    """The fields and file names of a multipart/form-data request (an upload's `name`, `version` and the
    file's name): what the upload names, for the requests that later name it."""
    if not ex.request_body or (mark := multipart.boundary(ex.request_header("content-type"))) is None:
        return {}
    try:
        parts = multipart.parse(ex.request_body, mark)
    except ValueError:
        return {}
    out: dict[Location, str] = {}
    for part in parts:
        if part.filename:
            out[("multipart", part.name, "filename")] = part.filename
        elif part.name and len(part.content) <= MULTIPART_FIELD_MAX:
            with suppress(UnicodeDecodeError):
                out.setdefault(("multipart", part.name), part.content.decode("utf-8"))
    return out


def leaves(value: Any, path: tuple = ()):
    stack, seen = [(path, value)], 0
    while stack and seen < MAX_LEAVES:
        where, v = stack.pop()
        if isinstance(v, dict):
            stack.extend((where + (k,), c) for k, c in reversed(list(v.items())))
        elif isinstance(v, list):
            stack.extend((where + (i,), c) for i, c in reversed(list(enumerate(v))))
        else:
            seen += 1
            yield where, v


# A JSON-RPC style body names its operation in `method` beside its arguments (JSON-RPC's `params` and `id`,
# Transmission's `arguments`); a command envelope in `command`, beside those or beside nothing but the envelope's
# own keys (the service or tag it is for; a lone `method` is as often data: a payment's, an HTTP method): one URL,
# many operations, each an interaction of its own.
_RPC_KEYS = frozenset({"jsonrpc", "params", "arguments", "id"})
_ENVELOPE_KEYS = _RPC_KEYS | {"service", "tag"}
_OPERATION_KEYS = ("method", "command")
_RPC_METHOD = re.compile(r"^[A-Za-z_][\w.:/-]{0,79}$")


def body_operation_key(body: Any) -> str:
    """The top-level key of a request body that names its operation, JSON-RPC style: `method` or `command` holding
    a name beside the arguments' keys, or `command` beside only the envelope's (`{"command": "version-get",
    "service": ["dhcp4"]}`); else "".

        >>> body_operation_key({"command": "lease4-get", "arguments": {"ip-address": "10.0.0.5"}})
        'command'
        >>> body_operation_key({"command": "reboot", "delay": 5})  # a field among the data: no envelope
        ''
    """
    if not isinstance(body, dict):
        return ""
    for key in _OPERATION_KEYS:
        if not isinstance(name := body.get(key), str):
            continue
        if _RPC_KEYS & body.keys() or (key == "command" and body.keys() - {key} <= _ENVELOPE_KEYS):
            return key if _RPC_METHOD.match(name) else ""
    return ""


def body_operation(body: Any) -> str:
    """The operation a request body names: a JSON-RPC style method (`{"method": "aria2.addUri", "params": [...]}`,
    `{"command": "lease4-get", "arguments": {...}}`), a GraphQL operation (`query Post`), else ""."""
    if key := body_operation_key(body):
        return body[key]
    return graphql.operation(body)


def request_operation(ex: Exchange) -> str:
    """The operation a request names inside it: in its body, or (GraphQL over GET) in its query, or the kind
    of the statement it sends (`SHOW DATABASES` as `?q=`), or in its parameters' values (`action=query
    list=allpages`), else ""."""
    return operation_inside(ex) or named_operation(ex.operation_params)


def operation_inside(ex: Exchange) -> str:
    """The operation a request's body (or a GraphQL GET's query) names, or the kind of the statement it sends."""
    if operation := body_operation(ex.request_json) or (graphql.operation(dict(ex.query)) if ex.query else ""):
        return operation
    found = statement_of(ex)
    return statements.kind(found[2]) if found else ""


def named_operation(params: tuple[tuple[str, str, str], ...]) -> str:
    """`action=query list=allpages`: the operation parameters' values name (Exchange.operation_params)."""
    return " ".join(f"{name}={value}" for _, name, value in params)


def _without_operation(ex: Exchange, values: dict[Location, str]) -> dict[Location, str]:
    """The values without the parameters that name the operation: its name is no value a state could give."""
    for where, name, _ in ex.operation_params:
        values.pop((where, name), None)
    return values


def method_meant(ex: Exchange, headers: frozenset[str], fields: frozenset[str], methods: frozenset[str]) -> str:
    """The method a POST says it means, among `methods`: in one of `headers` (`X-HTTP-Method-Override: PUT`) or in a
    top-level field of its JSON or form body (`{"_method": "DELETE", ...}`); "" for any other request.

        >>> ex = Exchange("POST", "/notes/1", (), (), b'{"_method": "put"}', 200, (), b"")
        >>> method_meant(ex, frozenset(), frozenset({"_method"}), frozenset({"PUT"}))
        'PUT'
    """
    if ex.method.upper() != "POST":
        return ""
    said = [v for k, v in ex.request_headers if k.lower() in headers]
    if fields and ex.request_body:
        body = ex.request_json
        if isinstance(body, dict):
            said += [v for k, v in body.items() if k in fields and isinstance(v, str)]
        said += [v for (_, k), v in form_values(ex).items() if k in fields]
    return next((m for v in said if (m := v.strip().upper()) in methods), "")


def refused_in_body(body: Any) -> bool:
    """An answer whose body says the request was refused, whatever its status: RPC-style APIs answer 200 with
    `{"error": ...}` (GraphQL and others with a non-empty `errors`), or with a result code that is no success
    beside its message and no payload (`{"code": 1, "message": "padID does not exist", "data": null}`)."""
    return refusal_said(body) is not None


_RESULT_CODES = ("code", "result", "errcode", "errCode", "errno", "error_code", "errorCode", "retcode", "ret", "rc")
_RESULT_MESSAGES = ("message", "msg", "text", "errmsg", "errMsg", "error_message", "errorMessage", "error_msg", "info")
_RESULT_PAYLOADS = ("data", "arguments")  # what an envelope carries beside its code when it succeeds


def success_code(code: int) -> bool:
    """A result code in an answer's body that says success: 0, or a 2xx status."""
    return code == 0 or 200 <= code < 300


def result_code(body: Any) -> tuple[str, int, dict] | None:
    """(its JSONPath, the code, the envelope) of the result code an answer carries in an envelope beside a message
    or its payload (`{"code": 0, "msg": "ok", "data": ...}`), at its top level or in every object of a top-level
    list (one per service: `[{"result": 1, "text": "lease exists"}]`; the first one's), else None. A JSON-RPC
    answer's `result` is its value, no code.

        >>> result_code([{"result": 3, "text": "0 IPv4 lease(s) found."}])[:2]
        ('$[*].result', 3)
        >>> result_code({"jsonrpc": "2.0", "id": 1, "result": 3}) is None
        True
    """
    items = [body] if isinstance(body, dict) else body if isinstance(body, list) and body else []
    if not items or not all(isinstance(item, dict) and "jsonrpc" not in item for item in items):
        return None
    beside = (*_RESULT_MESSAGES, *_RESULT_PAYLOADS)
    for key in _RESULT_CODES:
        if all(type(item.get(key)) is int and any(k in item for k in beside) for item in items):
            return ("$." if isinstance(body, dict) else "$[*].") + key, items[0][key], items[0]
    return None


def refusal_said(body: Any) -> Any:
    """What a body that says the request was refused says (its `error`, its `errors`, or the message beside a
    result code that is no success); None for any other body. A result code is a success when it is 0 or a 2xx
    status (`{"code": 200, "msg": "ok"}`); it says a refusal only in an envelope: an integer code, a message, and
    every other field empty (a refusal carries no payload: a resource that happens to have a `code` and a
    `message` is no refusal).

        >>> refusal_said({"code": 1, "message": "padID does not exist", "data": None})
        'padID does not exist'
        >>> refusal_said({"code": 0, "message": "ok", "data": {"text": "x"}}) is None
        True
        >>> refusal_said({"code": 7, "message": "a country", "name": "Elbonia"}) is None
        True
        >>> refusal_said([{"result": 1, "text": "the store is read-only"}])
        'the store is read-only'
    """
    if isinstance(body, dict) and (said := body.get("error") or body.get("errors")):
        return said
    if (found := result_code(body)) is None or success_code(found[1]):
        return None
    envelope = found[2]
    message = next((envelope[k] for k in _RESULT_MESSAGES if isinstance(envelope.get(k), str)), None)
    rest = [v for k, v in envelope.items() if k not in _RESULT_CODES and k not in _RESULT_MESSAGES]
    return message if message is not None and all(v in (None, "", [], {}) for v in rest) else None


def only_reads(ex: Exchange) -> bool:
    """A request that reads and changes nothing: GET and its kin, a GraphQL query, a statement that reads
    (`SELECT`, `SHOW DATABASES`), whatever method carried it."""
    if ex.acts_as in READ:
        return True
    operation = request_operation(ex)
    return operation.startswith("query ") or operation.partition(" ")[0] in ("SELECT", "SHOW", "DESCRIBE", "EXPLAIN")


STATEMENT_SUBJECT = "subject"  # where in a statement's text the name it is about is: `(query, q, subject)`


def statement_of(ex: Exchange) -> tuple[str, str, str] | None:
    """(query, form or body; the parameter; the text) of the statement of a query language a request sends."""
    form = tuple((k, v) for (_, k), v in form_values(ex).items())
    return statements.found_in(ex.query, ex.request_json, form)


def statement_names(ex: Exchange) -> dict[Location, str]:
    """The name the statement a request sends is about (`metrics` of `?q=CREATE DATABASE "metrics"`), as a value
    of its own: a later request that sends it (`?db=metrics`) needs what made it."""
    found = statement_of(ex)
    if found is None or not (name := statements.subject(found[2])):
        return {}
    return {(found[0], found[1], STATEMENT_SUBJECT): name}


def _sent_body(ex: Exchange) -> Any:
    """The request's JSON body as the values it sends: a GraphQL request's without its query text and
    operation name (they say what it asks, and are no value a state could give)."""
    body = ex.request_json
    return graphql.values_of(body) if graphql.request_of(body) is not None else body


def _sent_query(ex: Exchange) -> tuple[tuple[str, str], ...]:
    """The query parameters as the values they send (a GraphQL GET's, as its body's above)."""
    if ex.query and graphql.request_of(dict(ex.query)) is not None:
        return tuple((k, v) for k, v in ex.query if k not in graphql.NOT_VALUES)
    return ex.query


def created_child(ex: Exchange) -> str | None:
    """The path of what a POST created: its Location under the posted path (a relative one resolved against
    it), or the id it returned. A POST answered 200 that hands out a credential (a session cookie, a token)
    is a login: it made nothing."""
    if ex.issued and ex.status != 201:
        return None
    base = norm(ex.path)
    if location := ex.response_header("location"):
        path = norm(resolve(ex.path, location))
        if path.startswith(base + "/") and path != base:
            return path
    names = _answered_names(ex)
    return f"{base.rstrip('/')}/{names[0]}" if names else None


def named_child(ex: Exchange) -> str | None:
    """The path of what a POST made by a name its request sent, as its answer names it (`{"name": "docs"}`
    sent and answered beside the id the server gave it: the collection is `/collections/docs` too)."""
    sent = set(query_and_body(ex).values())
    name = next((str(n) for n in _answered_names(ex) if str(n) in sent and not str(n).isdigit()), None)
    return None if name is None else f"{norm(ex.path).rstrip('/')}/{name}"


def _answered_names(ex: Exchange) -> list[str | int]:
    """What a POST's answer names what it made by: its id, uuid, key, slug or name (see enveloped)."""
    body = enveloped(ex.response_json, ex.path)
    if not isinstance(body, dict):
        return []
    # (its id under the names APIs give it: `_id` (document stores), `objectId`, `noteId` from /notes, any case)
    noun = singular(segments(ex.path)[-1]).lower() if segments(ex.path) else ""
    lowered = {str(k).lower(): v for k, v in body.items()}
    keys = ("id", "_id", "objectid", f"{noun}id", f"{noun}_id", "uuid", "key", "slug", "name")
    return [v for k in dict.fromkeys(keys) if isinstance(v := lowered.get(k), (str, int)) and not isinstance(v, bool)]


def enveloped(body: Any, path: str) -> Any:
    """The resource an answer wraps in an envelope: `{"data": {...}}`, or the collection's singular (`{"user":
    {...}}` from /users, as OpenStack and many JSON APIs answer), beside at most two other members (links,
    meta); else the body itself."""
    if isinstance(body, dict) and len(body) <= 3:
        last = segments(path)[-1] if segments(path) else ""
        for key in ("data", singular(last)):
            if isinstance(body.get(key), dict):
                return body[key]
    return body


BULK_MAX = 100  # items of one bulk write made known


def bulk_ids(ex: Exchange) -> list[str]:
    """The ids a successful bulk write answered with (a list of objects with an `id`, none an error:
    CouchDB's `_bulk_docs`, many APIs' batch create)."""
    body = ex.response_json
    if not 200 <= ex.status < 300 or not isinstance(body, list) or not body:
        return []
    items = [item for item in body[:BULK_MAX] if isinstance(item, dict)]
    if len(items) != len(body[:BULK_MAX]) or any("error" in item for item in items):
        return []
    return [str(item["id"]) for item in items if isinstance(item.get("id"), (str, int)) and str(item["id"])]


def mentioned_paths(ex: Exchange) -> list[str]:
    """Paths a POST's JSON body writes to (a batch's sub-requests: objects with a `path` and a
    `method` that is not a read), as full paths: relative to the request's own prefix when they are
    not (POST /v1/batch naming /buckets/b means /v1/buckets/b)."""
    body = ex.request_json
    if body is NO_BODY:
        return []
    prefix = "/" + segments(ex.path)[0] if len(segments(ex.path)) > 1 else ""
    default = (
        str(body.get("defaults", {}).get("method", ""))
        if isinstance(body, dict) and isinstance(body.get("defaults"), dict)
        else ""
    )
    out: list[str] = []
    stack = [body]
    while stack and len(out) < 100:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(reversed(node))
        elif isinstance(node, dict):
            path, method = node.get("path"), str(node.get("method", default)).upper()
            if isinstance(path, str) and path.startswith("/") and method and method not in READ:
                path = norm(path.split("?", 1)[0])
                full = path if not prefix or path.startswith(prefix + "/") else prefix + path
                if full != norm(ex.path) and full not in out:
                    out.append(full)
            stack.extend(v for v in node.values() if isinstance(v, (dict, list)))
    return out


CLOCK_WINDOW = 2 * 24 * 3600  # a value this close to when it was sent is taken from the clock
EPOCH_FRACTION = "epoch-s-fraction"  # epoch seconds with a fraction (`1796691372.964268`)
_EPOCH_FRACTION = re.compile(r"^[0-9]{10}\.[0-9]{1,9}$")
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")


def clock_values(ex: Exchange) -> list[tuple[Location, str, str, float]]:
    """Request values that track the clock (a metrics query's `start`/`end`, a `since`): epoch seconds or
    milliseconds, or ISO date-times, within CLOCK_WINDOW of when the provider answered (its Date header).
    Each as (where, value, kind, offset in seconds from then): a verification sends now + offset."""
    try:
        now = parsedate_to_datetime(ex.response_header("date") or "").timestamp()
    except (TypeError, ValueError, IndexError):
        return []
    out = []
    for where, value in request_values(ex).items() | query_and_body(ex).items():
        if where[0] == "path" or (where[0] == "header" and where[1].lower() in ("date", "if-modified-since")):
            continue
        if (found := clock_kind(value)) is not None and abs(found[1] - now) <= CLOCK_WINDOW:
            out.append((where, value, found[0], round(found[1] - now, 3)))
    return sorted(out, key=lambda item: str(item[0]))


def clock_regex(kind: str) -> str:
    """What a clock-based value of this kind looks like at any moment (the mock's request matcher)."""
    return {"epoch-s": r"^[0-9]{10}$", "epoch-ms": r"^[0-9]{13}$", EPOCH_FRACTION: _EPOCH_FRACTION.pattern}.get(
        kind, _ISO.pattern
    )


def clock_kind(value: str) -> tuple[str, float] | None:
    """(kind, epoch seconds) of a value that reads as a time, else None."""
    if value.isdigit() and len(value) in (10, 13):
        return ("epoch-ms", int(value) / 1000) if len(value) == 13 else ("epoch-s", float(value))
    if _EPOCH_FRACTION.match(value):  # a float's text: Python's str(datetime.timestamp()), JavaScript's Date.now()/1000
        return (EPOCH_FRACTION, float(value))
    if _ISO.match(value):
        try:
            parsed = datetime.fromisoformat(value.replace(" ", "T").replace("Z", "+00:00"))
        except ValueError:
            return None
        return ("iso-" + _iso_shape(value), (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp())
    return None


def _iso_shape(value: str) -> str:
    zone = "Z" if value.endswith("Z") else "offset" if re.search(r"[+-]\d{2}:?\d{2}$", value) else "naive"
    return f"{'ms' if '.' in value else 's'}-{zone}"


def clock_now(kind: str, offset: float, now: float) -> str:
    """The value a clock-based param has at `now` (epoch seconds), in the kind it was recorded in."""
    at = now + offset
    if kind == "epoch-s":
        return str(int(at))
    if kind == "epoch-ms":
        return str(int(at * 1000))
    if kind == EPOCH_FRACTION:
        return str(round(at, 6))
    _, precision, zone = kind.split("-")
    moment = datetime.fromtimestamp(at, UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S") + (f".{moment.microsecond // 1000:03d}" if precision == "ms" else "")
    return text + {"Z": "Z", "offset": "+00:00", "naive": ""}[zone]


def query_and_body(ex: Exchange) -> dict[Location, str]:
    """Every query value, form field and JSON body leaf (request_values keeps only the distinctive JSON ones)."""
    out: dict[Location, str] = {("query", k): v for k, v in _sent_query(ex)} | form_values(ex) | multipart_values(ex)
    out |= statement_names(ex)
    body = _sent_body(ex)
    if body is not NO_BODY:
        out |= {
            ("body", *path): str(v) for path, v in leaves(body) if isinstance(v, (str, int)) and not isinstance(v, bool)
        }
    return _without_operation(ex, out)
