"""Statements of a query language sent in one parameter (`/query?q=SHOW DATABASES`, `{"stmt": "SELECT ..."}`):
which kind of statement it is, and a regex of its shape.

Such an API answers every statement at one URL, so the statement's kind is the operation (`SELECT`, `CREATE
DATABASE`, `SHOW SERIES`): its leading keywords. Its shape is what a contract checks: keywords, names and
punctuation as sent, the values in it (quoted strings, numbers, durations like `30d`) by type, any white space
between tokens.
"""

from __future__ import annotations

import re
from functools import lru_cache

from recorder.pattern import escape

# The words a statement starts with, each with what the rest must hold for it to be one (not a search for
# "update readme"): a regex on the upper-cased text after the first word.
STARTS = {
    "SELECT": r"\bFROM\b|^\s*(?:[*(\d]|\w+\()",
    "INSERT": r"^\s*INTO\b",
    "UPDATE": r"\bSET\b",
    "DELETE": r"^\s*FROM\b",
    "WITH": r"\bSELECT\b",
    "GRANT": r"\b(?:ON|TO)\b",
    "REVOKE": r"\b(?:ON|FROM)\b",
    "EXPLAIN": r"\bSELECT\b",
}
_NAMED = ("SHOW", "CREATE", "DROP", "ALTER", "TRUNCATE", "DESCRIBE")  # a statement when a kind word follows
_KIND_WORDS = frozenset(
    {
        *("DATABASE", "DATABASES", "TABLE", "TABLES", "VIEW", "VIEWS", "INDEX", "SCHEMA", "SCHEMAS", "USER"),
        *("USERS", "RETENTION", "POLICY", "POLICIES", "CONTINUOUS", "QUERY", "QUERIES", "MEASUREMENT"),
        *("MEASUREMENTS", "SERIES", "FIELD", "TAG", "KEYS", "VALUES", "SHARD", "SHARDS", "GROUPS", "SUBSCRIPTION"),
        *("SUBSCRIPTIONS", "STATS", "DIAGNOSTICS", "GRANTS", "ALL", "PRIVILEGES", "IF", "NOT", "EXISTS", "OR"),
        *("CARDINALITY", "EXACT", "COLUMNS", "PROCESSLIST", "VARIABLES", "STATUS", "TEMPORARY", "DISTINCT"),
    }
)
PARAMETERS = frozenset({"q", "query", "sql", "stmt", "statement", "command", "cmd"})  # where statements are sent
KIND_MAX = 3  # words of a statement's kind
SHAPES_MAX = 8  # distinct shapes an interaction's regex lists; beyond, any statement of its kind

_TOKEN = re.compile(
    r"""(?P<space>\s+)
    |(?P<string>'(?:[^'\\]|\\.|'')*')
    |(?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)(?P<unit>[a-zµ]*)
    |(?P<word>[A-Za-z_][\w.]*|"(?:[^"\\]|\\.)*"|`[^`]*`)
    |(?P<other>.)""",
    re.X | re.S,
)
_STRING, _NUMBER = r"'(?:[^'\\]|\\.|'')*'", r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?"
_WORDLIKE = re.compile(r"[\w\"`']")


def found_in(
    query: tuple[tuple[str, str], ...], body: object, form: tuple[tuple[str, str], ...] = ()
) -> tuple[str, str, str] | None:
    """(where: "query", "form" or "body", the parameter or top-level field, its text) of the first statement a
    request sends, in its query, its form, or as a top-level string of its JSON body."""
    fields = [
        (where, k, v)
        for where, pairs in (("query", query), ("form", form))
        for k, v in pairs
        if k.lower() in PARAMETERS
    ]
    if isinstance(body, dict):
        fields += [("body", k, v) for k, v in body.items() if isinstance(v, str) and k.lower() in PARAMETERS]
    return next(((where, name, text) for where, name, text in fields if kind(text)), None)


def kind(text: str) -> str:
    """The kind of statement `text` is (`SELECT`, `CREATE DATABASE`), upper case; "" for anything else."""
    words = re.findall(r"[A-Za-z_]+|\S", text[:200])
    first = words[0].upper() if words else ""
    rest = text.lstrip()[len(first) :].upper()
    if first in STARTS:
        return first if re.search(STARTS[first], rest) else ""
    if first not in _NAMED:
        return ""
    out = [first]
    for word in words[1:KIND_MAX]:
        if word.upper() not in _KIND_WORDS:
            break
        out.append(word.upper())
    return " ".join(out) if len(out) > 1 else ""


_NOT_NAMES = frozenset({"ON", "FROM", "INTO", "IF", "NOT", "EXISTS", "TO", "WITH", "WHERE", "AS", "AND", "OR"})


def subject(text: str) -> str:
    """The name of what a statement is about (`metrics` in `CREATE DATABASE "metrics"`, `cpu` in `SELECT ... FROM
    cpu`), quotes taken off; "" when it names none."""
    words = [m.group("word") for m in _TOKEN.finditer(text) if m.group("word")]
    statement = kind(text)
    if not statement:
        return ""
    if statement in ("SELECT", "DELETE", "WITH", "EXPLAIN"):
        words = words[next((i for i, w in enumerate(words) if w.upper() == "FROM"), len(words)) :]
    else:
        words = words[len(statement.split()) :]
    name = next((w for w in words if w.upper() not in _NOT_NAMES and w.upper() not in _KIND_WORDS), "")
    return name[1:-1] if name[:1] in '"`' and len(name) > 1 else name


# A password a statement sets (`CREATE USER u WITH PASSWORD 'x'`, `IDENTIFIED BY 'x'`): group 2 is its text.
PASSWORD = re.compile(r"(?i)(\bPASSWORD\s*=?\s*|\bIDENTIFIED\s+BY\s+)'((?:[^'\\]|\\.|'')*)'")


@lru_cache(maxsize=1024)
def shape(text: str) -> str:
    """A regex (unanchored) for the statements shaped like `text`."""
    parts: list[str] = []
    last = ""
    for m in _TOKEN.finditer(text):
        if m.lastgroup == "space":
            continue
        if m.group("string") is not None:
            piece, raw = _STRING, "'"
        elif m.group("number") is not None:
            piece, raw = _NUMBER + ("[a-zµ]+" if m.group("unit") else ""), "0"  # a duration (1h, 30m) by type too
        else:
            raw = m.group(0)
            piece = escape(raw)
        if parts:
            parts.append(r"\s+" if _WORDLIKE.match(last[-1:]) and _WORDLIKE.match(raw[:1]) else r"\s*")
        parts.append(piece)
        last = raw
    return "".join(parts)


def regex(texts: list[str], overflow: bool = False) -> str:
    """An anchored regex for statements shaped like those seen (`texts`); when they were too many to list
    (`overflow`, or more than SHAPES_MAX shapes), any statement of the first one's kind."""
    shapes = list(dict.fromkeys(shape(t) for t in texts))
    if overflow or len(shapes) > SHAPES_MAX:
        words = kind(texts[0]).split()
        return r"^\s*" + r"\s+".join(f"(?i:{escape(w)})" for w in words) + r"\b[\s\S]*$"
    body = shapes[0] if len(shapes) == 1 else "(?:" + "|".join(shapes) + ")"
    return rf"^\s*{body}\s*;?\s*$"
