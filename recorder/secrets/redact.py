"""Secrets never reach disk: credentials are replaced before an exchange is kept.

What is a secret is a rule (rules/default.yaml): headers with `action: secret`; fields and query
parameters by name (`secrets.names`, any depth of a JSON body, form bodies too); and string values that
look like credentials (`secrets.patterns`: JWTs, bearer tokens, card numbers by the Luhn check,
password hashes anywhere; long random keys where the name says key, secret or token). Redaction must
keep the contract replayable, so opaque pagination cursors (`secrets.cursors`: next_token, _token)
are never secrets, and a 32-hex request id or node id is an id, not a key. A redacted value becomes
PLACEHOLDER; a header keeps what a contract can promise (its scheme, its cookie names) and
`redacted_regex` turns it into a matcher that says the value must be present and has that shape:

    >>> redact_header_value("authorization", "Bearer eyJhbGciOi.x.y")
    'Bearer <redacted>'
    >>> redacted_regex('Bearer <redacted>')
    '^Bearer .+$'

Every redaction is counted by where it was (never with its value), for the run's diagnostics. Each
redacted request value gets a name (`SecretNames`: password, authorization, password_2) so that a
verification can put a real one back where it was; a secret a response handed out (a login's token)
is named as issued, so a request that sends it back gets the fresh provider's one.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode

from recorder.formats import multipart, statements
from recorder.model import NO_BODY, PLACEHOLDER, Exchange, Headers
from recorder.pattern import escape
from recorder.rules import Ruleset, cursor_name, normalise_name
from recorder.secrets.masked import MaskedEchoes
from recorder.secrets.signing import SCHEMES, digest, entry_fields, signature
from recorder.values import set_cookie

MAX_HEADER_VALUES = 10_000  # response header values remembered, to know a request header that sends one back
NAMES_MAX = 10_000  # secret values remembered by name (past that, a token in every request: a counter names them)
COPY_MIN = 6  # a shorter value that equals a secret may be anything (a flag, a word): not taken for a copy
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9_-]*) +\S")
# The kind a token says it is (`dstok_`, `ghp_`, `xoxb-`, `sk_live_`): no secret, and a provider may tell
# tokens apart by it, so a made-up one for a refused request must carry it to be refused the same way.
# Lower-case words joined by `_` (or one word and `-`) before a long token only, or one word and `_` before
# any other (a made-up test token, `dstok_not-a-token`): the first characters of a random token, and the
# words of a token someone wrote (`tus-harness-5fA9...`), are never kept.
_TOKEN_KIND = re.compile(
    r"^(?:[a-z]{2,8}_){1,2}(?=[A-Za-z0-9]{16})|^[a-z]{2,8}[_-](?=[A-Za-z0-9]{16})|^[a-z]{2,8}_(?=\S{8})"
)
# A card number as cards print it: 13 to 19 digits unbroken, in groups of four, or 4-6-5 (a range such
# as `983040-1048575` is no card, whatever Luhn says).
_CARD = re.compile(
    r"^(?:[0-9]{13,19}|[0-9]{4}(?P<s>[ -])[0-9]{4}(?P=s)[0-9]{4}(?P=s)[0-9]{1,4}(?:(?P=s)[0-9]{3})?"
    r"|[0-9]{4}(?P<t>[ -])[0-9]{6}(?P=t)[0-9]{4,5})$"
)
_TOKEN = re.compile(r"\S+")
# In XML: an opening tag and the text right after it up to a closing tag (the element's value), or a token
# elsewhere (in a tag, between elements).
_XML_PIECE = re.compile(r"(?P<tag><(?:[\w.-]+:)?(?P<local>[\w.-]+)(?:\s[^<>]*)?>)(?P<text>[^<>]*)(?=</)|[^\s<>]+")
_HEADER_LINE = re.compile(r"^([ \t]*)([A-Za-z0-9-]+)(:[ \t]*)([^\r\n]*)", re.M)  # (indent, name, colon, value)


def redact_header_value(name: str, value: str) -> str:
    lname = name.lower()
    if lname in ("authorization", "proxy-authorization") and (m := _SCHEME.match(value)):
        kind = _TOKEN_KIND.match(value[m.end() - 1 :]) if m.group(1).lower() == "bearer" else None
        return f"{m.group(1)} {kind.group(0) if kind else ''}{PLACEHOLDER}"
    if lname == "cookie":
        names = [c.split("=", 1)[0].strip() for c in value.split(";")]
        return "; ".join(f"{n}={PLACEHOLDER}" for n in names if n)
    if lname == "set-cookie":
        return f"{value.split('=', 1)[0].strip()}={PLACEHOLDER}" if "=" in value else PLACEHOLDER
    return PLACEHOLDER


def redacted_regex(value: str) -> str | None:
    """The matcher for a redacted value: the literal parts kept, each placeholder any non-empty text."""
    if PLACEHOLDER not in value:
        return None
    return "^" + ".+".join(escape(p) for p in value.split(PLACEHOLDER)) + "$"


def luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


class SecretNames:
    """A name for each distinct secret value a recording's requests carried (`password`, the second
    one `password_2`), so a verification can put real values back where they were: the values stay
    in this process's memory only. The same value keeps its name wherever it is sent again."""

    def __init__(self) -> None:
        self._by_value: dict[str, str] = {}
        self._taken: Counter[str] = Counter({})  # the last number given per field
        self._given: set[str] = set()
        self.issued: set[str] = set()  # names of values a response handed out (a login's token)
        self._requested: set[str] = set()  # names of values a request sent before any response handed them out

    def known(self, value: str) -> bool:
        return value in self._by_value

    def carried(self, value: str) -> bool:
        """Does a header value carry a secret already named: as itself, after its scheme (`Bearer TOKEN`), or as
        the password of `user:password` in base64 (a login's token sent back as `X-Auth: base64(user:token)`,
        which no value pattern need recognise: a random token may come out with no digit)?"""
        credentials = value.partition(" ")[2] or value
        pair = _user_password(credentials)
        return credentials in self._by_value or pair is not None and pair[1] != "" and pair[1] in self._by_value

    def issue(self, field: str, value: str) -> str:
        """Name a secret a response handed out: a request that sends it back later gets it fresh (unless a
        request sent it first: the consumer's own key, which a config answer echoes, is given at verify time)."""
        name = self.name(field, value)
        if name not in self._requested:
            self.issued.add(name)
        return name

    def entry(self, kind: str, key: Any, field: str, value: str) -> tuple:
        """Where a request's secret is and what it is called (`issued` when a response gave it)."""
        name = self.name(field, value)
        if name not in self.issued and len(self._requested) < NAMES_MAX:
            self._requested.add(name)
        return ("in", kind), ("key", key), ("secret", name), *((("issued", True),) if name in self.issued else ())

    def name(self, field: str, value: str) -> str:
        if (known := self._by_value.get(value)) is not None:
            return known
        base = re.sub(r"[^0-9a-z]+", "_", field.lower()).strip("_") or "secret"
        name = base
        while name in self._given:  # the next of this field's names (another field's never)
            n = self._taken[base] = max(self._taken[base], 1) + 1
            name = f"{base}_{n}"
        if len(self._by_value) < NAMES_MAX:
            self._given.add(name)
            self._by_value[value] = name
        return name

    def _issued_cookies(self, value: str) -> tuple[tuple[str, str], ...]:
        """A Cookie header whose every cookie a response set (a session): (cookie, secret name) each."""
        pairs = [c.strip().partition("=") for c in value.split(";") if c.strip()]
        names = tuple((n, self._by_value.get(v, "")) for n, _, v in pairs)
        return names if names and all(name in self.issued for _, name in names) else ()

    def header(self, header: str, value: str) -> tuple[tuple[str, str], ...]:
        """Where a secret header's value comes from: credentials `user:password` in base64 (Basic, or a
        header of its own) whose password the recording sent before (an account it created) or a
        response handed out (a login's token) are rebuilt from that password; anything else is one
        secret of its own."""
        if (signed := signature(header, value)) is not None:  # one secret per key, not per signature
            name = self.name(SCHEMES[signed.scheme].field, f"{signed.scheme}:{signed.key_id}")
            return ("in", "header"), ("key", header), ("secret", name), *entry_fields(signed)
        scheme, _, credentials = value.partition(" ")
        basic = scheme.lower() == "basic"
        if basic or not credentials:  # Basic, or a bare value (X-Auth: base64 of user:token)
            pair = _user_password(credentials if basic else value)
            if pair is not None and pair[1] in self._by_value:
                user, password = pair
                name = self._by_value[password]
                fresh = (("issued", True),) if name in self.issued else ()
                return (
                    ("in", "header"),
                    ("key", header),
                    ("secret", name),
                    ("user", user),
                    *(() if basic else (("scheme", ""),)),
                    *fresh,
                )
        if header.lower() == "cookie" and (cookies := self._issued_cookies(value)):
            return ("in", "header"), ("key", header), ("secret", cookies[0][1]), ("cookies", cookies), ("issued", True)
        if credentials and self._by_value.get(credentials) in self.issued:  # Bearer <a token> (never a bare value)
            return (
                ("in", "header"),
                ("key", header),
                ("secret", self._by_value[credentials]),
                ("prefix", f"{scheme} "),
                ("issued", True),
            )
        return self.entry("header", header, header, value)


def _user_password(value: str) -> tuple[str, str] | None:
    """(user, password) of credentials `user:password` in base64, else None."""
    try:
        user, sep, password = base64.b64decode(value, validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return (user, password) if sep else None


def _refused(entry: tuple) -> tuple:
    """A credential a response handed out, or a Digest answer, sent where the provider refused it (401): a secret
    of its own, sent only where refused, so verify makes one up that the provider refuses too (a Digest answer
    with a made-up password)."""
    e = {k: v for k, v in entry if k not in ("issued", "cookies")}
    e["secret"] += "_refused"
    if digest(e):
        e["refused"] = True
    return tuple(e.items())


class Redactor:
    """Redacts exchanges by a rule set; `found` counts what was redacted where; each redacted request
    value gets a name (`SecretNames`), listed in the exchange's `secrets`."""

    def __init__(self, rules: Ruleset, secret_header: Callable[[str, str], bool]):
        self.names, self.allow = rules.secret_names, set(rules.secret_allow)
        self.patterns = [
            (p.name, re.compile(p.regex) if p.regex else None, p.luhn, p.names, p.not_names)
            for p in rules.secret_patterns
        ]
        self.cursors = frozenset(rules.cursors)
        self.secret_header = secret_header
        self.found: Counter[str] = Counter()
        self._names_seen: dict[str, tuple[bool, bool, re.Pattern]] = {}
        self._prefilters: dict[tuple[str, ...], re.Pattern] = {}
        self._unnamed = self._prefilter(None)
        self._luhn = any(p.luhn for p in rules.secret_patterns)
        self.secret_names = SecretNames()
        self._named: list[tuple] = []  # the request's secrets, while one exchange is redacted
        self._header_values: set[tuple[str, str]] = set()  # (name, value) of response headers seen (bounded)
        self.masked = MaskedEchoes()  # what the provider masked in its answers (see recorder.secrets.masked)
        self._masked_here: set[tuple] = set()  # its places in the request being redacted

    # -- what is a secret --------------------------------------------------------------------------

    def _name_facts(self, name: str) -> tuple[bool, bool, re.Pattern]:
        """(an opaque pagination cursor, a secret name, the combined regex of the value patterns that apply
        under this name): asked for every field of every body, and field names repeat in every exchange
        of an API: remembered (bounded)."""
        if (known := self._names_seen.get(name)) is not None:
            return known
        n = normalise_name(name)
        facts = (
            cursor_name(name) in self.cursors,
            n not in self.allow and any(n == s or n.endswith(s) for s in self.names),
            self._prefilter(n),
        )
        if len(self._names_seen) < 10_000:
            self._names_seen[name] = facts
        return facts

    def secret_name(self, name: str) -> bool:
        return self._name_facts(name)[1]

    @staticmethod
    def _applies(names: tuple[str, ...], not_names: tuple[str, ...], named: str | None) -> bool:
        """Does a value pattern limited to these field names (none: any), and never under `not_names`, apply
        under the name `named`?"""

        def under(listed: tuple[str, ...]) -> bool:
            return named is not None and any(named == n or named.endswith(n) for n in listed)

        return (not names or under(names)) and not under(not_names)

    def _prefilter(self, named: str | None) -> re.Pattern:
        """One regex for the patterns that apply under a (normalised) name: most values match none."""
        regexes = tuple(
            r.pattern for _, r, _, names, nots in self.patterns if r is not None and self._applies(names, nots, named)
        )
        if (known := self._prefilters.get(regexes)) is None:
            known = self._prefilters[regexes] = re.compile("|".join(f"(?:{r})" for r in regexes) or "(?!)")
        return known

    def secret_value(self, value: str, name: str | None = None) -> str | None:
        """The name of the pattern a value (of the field, parameter or header `name`) matches, or None."""
        prefilter = self._unnamed if name is None else self._name_facts(name)[2]
        if not (prefilter.search(value) or (self._luhn and _CARD.match(value))):
            return None
        named = normalise_name(name) if name is not None else None
        for pattern, regex, check_luhn, names, not_names in self.patterns:
            if not self._applies(names, not_names, named):
                continue
            if regex is not None and regex.search(value):
                return pattern
            if check_luhn and _CARD.match(value) and luhn(re.sub(r"[ -]", "", value)):
                return pattern
        return None

    def cursor(self, name: str) -> bool:
        """An opaque pagination cursor: the provider needs it back exactly as it gave it."""
        return self._name_facts(name)[0]

    # -- exchanges ---------------------------------------------------------------------------------

    def exchange(self, ex: Exchange) -> Exchange:
        """The exchange with its secrets replaced."""
        return self.response(self.request(ex))

    def request(self, ex: Exchange) -> Exchange:
        """The exchange with its request's secrets replaced (named in `secrets`); the response as it was."""
        self._named = []
        self._masked_here = self.masked.places(ex)
        rq_body, rq_json = self._body(
            ex.request_body, ex.request_json, ex.request_header("content-type"), "request body"
        )
        query = tuple((k, self._field(v, k, f"query parameter {k}")) for k, v in ex.query)
        request_headers = self._headers(ex.request_headers, "request")
        path = self._path(ex.path)
        if ex.status == 401:  # a handed-out credential refused (after its logout), a Digest answer refused (a wrong
            # password): refused again, not fetched fresh nor answered with the account's password
            self._named = [_refused(e) if dict(e).get("issued") or digest(dict(e)) else e for e in self._named]
        out = replace(
            ex,
            path=path,
            query=query,
            request_headers=request_headers,
            request_body=rq_body,
            secrets=tuple(self._named),
        )
        self._named = []
        # The bodies were parsed once already: hand the (redacted) values on instead of parsing again
        # (the response's only if it was: a body left unread is never parsed).
        _carry_parsed(ex, out, "response_json")
        out.__dict__["request_json"] = rq_json
        return out

    def response(self, ex: Exchange, body: bool = True) -> Exchange:
        """The exchange with its response's secrets replaced too (what it handed out named in `issued`);
        `body=False`: the body left as it was, for one nothing of is kept (see recorder.infer.sampling)."""
        self._issued = []
        changes = {}
        if body:
            changes["response_body"], rs_json = self._body(
                ex.response_body, ex.response_json, ex.response_header("content-type"), "response body"
            )
        response_headers = self._headers(ex.response_headers, "response")
        out = replace(ex, response_headers=response_headers, issued=tuple(self._issued), **changes)
        _carry_parsed(ex, out, "request_json")
        if body:
            out.__dict__["response_json"] = rs_json
        else:
            _carry_parsed(ex, out, "response_json")
        return out

    def leaf(self, keys: tuple, value: Any) -> Any:
        """A scalar found at `keys` (field names and indexes) in a body left unread, as redacting the body
        would have left it: the few values the states take from such a body are redacted one by one."""
        if keys and isinstance(keys[-1], str):
            secret = self._secret_field(keys[-1], value)
        else:
            secret = self._secret_item(value, next((k for k in reversed(keys) if isinstance(k, str)), None))
        return PLACEHOLDER if secret else value

    def _headers(self, headers: Headers, side: str) -> Headers:
        out = []
        for name, value in headers:
            if side == "response" and len(self._header_values) < MAX_HEADER_VALUES:
                self._header_values.add((name.lower(), value))
            # A request header named like a secret (`X-Auth-Key`) is one, unless it sends back what a response
            # header of that name handed out (a session id, which the verification fetches fresh).
            named = side == "request" and self.secret_name(name) and (name.lower(), value) not in self._header_values
            if self.secret_header(name, side) or named:
                self.found[f"{side} header {name}"] += 1
                self._name_header(side, name, value)
                value = redact_header_value(name, value)
            elif self.secret_value(value, name) is not None or side == "request" and self.secret_names.carried(value):
                self.found[f"{side} header {name}"] += 1
                self._name_header(side, name, value)
                value = PLACEHOLDER
            out.append((name, value))
        return tuple(out)

    def _path(self, path: str) -> str:
        """The path with any segment that is a secret replaced: a token sent back in a path (npm's
        `DELETE /-/user/token/<token>`), or one that looks like a credential."""
        segments = path.split("/")
        for i, segment in enumerate(segments):
            value = unquote(segment)
            if not value or not (self.secret_names.known(value) or self.secret_value(value, None)):
                continue
            self.found["request path"] += 1
            self._named.append(self.secret_names.entry("path", i - 1 if path.startswith("/") else i, "path", value))
            segments[i] = PLACEHOLDER
        return "/".join(segments)

    def _name_header(self, side: str, name: str, value: str) -> None:
        if side == "request":
            self._named.append(self.secret_names.header(name, value))
        elif name.lower() == "set-cookie":  # a session: the request that sends it back gets a fresh one
            cookie, sent = set_cookie(value)
            self._issued.append((("at", ["cookie", cookie]), ("secret", self.secret_names.issue(cookie, sent))))
        else:
            self._issued.append((("at", ["header", name]), ("secret", self.secret_names.issue(name, value))))

    def _name(self, where: str, key: Any, field: str, value: Any) -> None:
        if where.startswith("request") or where.startswith("query"):
            kind = (
                "query" if where.startswith("query")
                else "form" if " field " in where
                else "multipart" if " part " in where
                else "body"
            )  # fmt: skip
            self._named.append(self.secret_names.entry(kind, key, field, str(value)))
        elif where.startswith("response body") and isinstance(key, list):
            self._issued.append((("at", ["body", *key]), ("secret", self.secret_names.issue(field, str(value)))))

    def _secret_field(self, name: str, value: Any) -> bool:
        """A named value is secret when its name is a secret name, or (strings) it looks like a secret."""
        cursor, secret_name, _ = self._name_facts(name)
        if cursor:
            return False
        if isinstance(value, str):  # (an empty value hides nothing: a config's unset password stays "")
            hidden = value.strip() not in ("", PLACEHOLDER)
            return hidden and (
                secret_name
                or self.masked.secret(value)
                or self.secret_value(value, name) is not None
                or self._copy(value)
            )
        return secret_name and isinstance(value, (int, float)) and not isinstance(value, bool)

    def _copy(self, value: str) -> bool:
        """A value already named a secret, sent again under a name that says nothing (a password repeated in a
        confirmation field, `retype`; a handed-out token sent back as `sid`): a secret wherever it goes."""
        return len(value) >= COPY_MIN and self.secret_names.known(value)

    def _secret_item(self, value: Any, name: str | None) -> bool:
        """An array's item (named by the array's key) or a whole body is secret when it is a string that
        looks like a secret (an opaque cursor never is)."""
        if not isinstance(value, str) or (name and self.cursor(name)):
            return False
        return self.secret_value(value, name) is not None

    def _field(self, value: Any, name: str, where: str) -> Any:
        if self._secret_field(name, value):
            self.found[where] += 1
            self._name(where, name, name, value)
            return PLACEHOLDER
        if isinstance(value, str) and name.lower() in statements.PARAMETERS and statements.PASSWORD.search(value):
            return self._statement(value, name, where)
        return value

    def _statement(self, text: str, name: str | list, where: str) -> str:
        """A statement with the passwords it sets redacted (`CREATE USER u WITH PASSWORD '<redacted>'`), each
        named: verify puts it back in place."""

        def hide(m: re.Match) -> str:
            if not m[2] or m[2] == PLACEHOLDER:
                return m[0]
            self.found[f"{where} (password in a statement)"] += 1
            self._name(where, name, "password", m[2])
            return f"{m[1]}'{PLACEHOLDER}'"

        return statements.PASSWORD.sub(hide, text)

    def _body(self, body: bytes, parsed: Any, content_type: str | None, where: str) -> tuple[bytes, Any]:
        """The body with its secrets replaced, and its parsed JSON value (NO_BODY when not JSON)."""
        if parsed is not NO_BODY:
            before = self.found.total()
            redacted = self._json(parsed, "$", where, ())
            return (body if self.found.total() == before else json.dumps(redacted).encode()), redacted
        if not body or not content_type:
            return body, NO_BODY
        ctype = content_type.lower()
        if "x-www-form-urlencoded" in ctype:
            # Written anew only when a field was redacted: a body merely labelled a form (an XML document
            # sent as one) goes on byte for byte, as the provider read it.
            pairs = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
            redacted = [(k, self._field(v, k, f"{where} field {k}")) for k, v in pairs]
            return (body if redacted == pairs else urlencode(redacted).encode()), NO_BODY
        if (mark := multipart.boundary(content_type)) is not None:
            return self._multipart(body, mark, where), NO_BODY
        if ctype.startswith(("text/", "multipart/", "application/http", "message/http")) or "xml" in ctype:
            # Bytes that are not UTF-8 (a .torrent served as text/plain) go through as they were. HTTP messages
            # inside a body (a batch of requests, each part one: OData, cloud storage) carry credential headers
            # of their own.
            text = body.decode("utf-8", "surrogateescape")
            if "xml" in ctype:
                text = _XML_PIECE.sub(lambda m: self._xml_piece(m, where), text)
            elif ctype.startswith("text/") and where.startswith("response") and self._whole_token(text):
                # A login that answers with its token as the whole body handed it out: a request that sends
                # it back gets the fresh provider's at verify time.
                self.found[f"{where} (text)"] += 1
                self._issued.append((("at", ["text"]), ("secret", self.secret_names.issue("token", text.strip()))))
                text = text.replace(text.strip(), PLACEHOLDER)
            elif ctype.startswith("text/"):
                text = _TOKEN.sub(lambda m: self._token(m.group(0), where), text)
            else:
                text = _HEADER_LINE.sub(lambda m: self._header_line(m, where), text)
            return text.encode("utf-8", "surrogateescape"), NO_BODY
        return body, NO_BODY

    def _whole_token(self, text: str) -> bool:
        """Is a text body one secret-looking token and nothing else?"""
        whole = text.strip()
        return bool(whole) and _TOKEN.fullmatch(whole) is not None and self.secret_value(whole) is not None

    def _xml_piece(self, m: re.Match, where: str) -> str:
        """An element's text, redacted whole when the element's name is a secret's (a WS-Security
        `<wsse:Password>`), else token by token; or a token between the tags."""
        if m.group("tag") is None:
            return self._token(m.group(0), where)
        local, text = m.group("local"), m.group("text")
        if text.strip() and self._secret_field(local, text):
            self._in_text(where, f"<{local}>", local.lower(), text, (("element", local),))
            return m.group("tag") + PLACEHOLDER
        return m.group("tag") + _TOKEN.sub(lambda t: self._token(t.group(0), where), text)

    def _header_line(self, m: re.Match, where: str) -> str:
        """A header line of an HTTP message inside a body, its value redacted as the header's would be."""
        name, value = m.group(2), m.group(4)
        if not (self.secret_header(name, where.split()[0]) or self.secret_name(name)):
            return m.group(0)
        self._in_text(where, f"(header {name})", name.lower(), value)
        return m.group(1) + name + m.group(3) + redact_header_value(name, value)

    def _multipart(self, body: bytes, mark: str, where: str) -> bytes:
        """An upload with its secret form fields redacted (file parts are content, not credentials);
        the boundary and every other byte stay as sent, so the provider can still parse it."""
        try:
            parts = multipart.parse(body, mark)
        except ValueError:
            return body
        changed = False
        for i, part in enumerate(parts):
            if part.filename is not None:
                continue
            try:
                value = part.content.decode("utf-8")
            except UnicodeDecodeError:
                continue
            if (redacted := self._field(value, part.name, f"{where} part {part.name}")) != value:
                parts[i], changed = replace(part, content=redacted.encode()), True
        return multipart.build(parts, mark) if changed else body

    def _json(self, value: Any, path: str, where: str, keys: tuple | None, name: str | None = None) -> Any:
        # Called for every value of every body: paths are only spelled out for what is redacted, and
        # keys (to name a request's secrets) are followed in request bodies only. The elements of an
        # array are named by its key (`api_keys: [...]`). A container without secrets is returned as it
        # is, not copied: most are.
        if isinstance(value, dict):
            out = None
            for k, v in value.items():
                if isinstance(v, (dict, list)):
                    kept = self._json(v, f"{path}.{k}", where, None if keys is None else (*keys, k), k)
                    if kept is v:
                        continue
                elif self._secret_field(k, v) or keys is not None and (*keys, k) in self._masked_here:
                    self.found[f"{where} {path}.{k}"] += 1
                    if keys is not None:
                        self._name(where, [*keys, k], k, v)
                    kept = PLACEHOLDER
                elif keys == () and isinstance(v, str) and k.lower() in statements.PARAMETERS:
                    if (kept := self._statement(v, [k], where)) == v:  # a statement's password (`{"stmt": ...}`)
                        continue
                else:
                    continue
                out = dict(value) if out is None else out
                out[k] = kept
            return value if out is None else out
        if isinstance(value, list):
            out, item_path = None, f"{path}[*]"
            for i, v in enumerate(value):
                if isinstance(v, (dict, list, str)):  # numbers, booleans and null are never secrets alone
                    kept = self._json(v, item_path, where, None if keys is None else (*keys, i), name)
                    if kept is not v:
                        out = list(value) if out is None else out
                        out[i] = kept
            return value if out is None else out
        if self._secret_item(value, name):
            self.found[f"{where} {path}"] += 1
            if keys is not None:
                self._name(where, list(keys), name or (str(keys[-1]) if keys else "secret"), value)
            return PLACEHOLDER
        return value

    def _token(self, token: str, where: str) -> str:
        if (pattern := self.secret_value(token)) is None:
            return token
        self._in_text(where, "(text)", pattern, token)
        return PLACEHOLDER

    def _in_text(self, where: str, what: str, field: str, value: str, extra: tuple = ()) -> None:
        """Count a secret found in a text body (a token, an XML element, a header line of a message inside),
        and in a request name it: verify fills the placeholders in order of appearance."""
        self.found[f"{where} {what}"] += 1
        if where.startswith("request"):
            secret = self.secret_names.name(field, value)
            self._named.append((("in", "text"), ("key", len(self._named)), ("secret", secret), *extra))


def _carry_parsed(source: Exchange, copy: Exchange, body: str) -> None:
    """Give `copy` the body `source` parsed already (a cached property), without parsing one that was not."""
    if body in source.__dict__:
        copy.__dict__[body] = source.__dict__[body]
