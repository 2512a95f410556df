"""Rule files: YAML -> a validated, merged Ruleset.

`rules/default.yaml` applies first, then each `--rules FILE` (after the files it `extends`). Lists
of named rules merge by name (a later rule with the same name replaces the earlier one, where it
stood); settings merge key by key, later files win. Every problem is reported at once, each with
file, line, the rule's name, what was expected and a did-you-mean where one fits:

    rules.yaml:4: select 'health': unknown key 'paht' (did you mean 'path'?)
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml

NAMED_LISTS = ("select", "headers", "formats", "fields", "states")


class RuleError(Exception):
    """Rule files with problems; `problems` holds one message per problem."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Select:
    name: str
    action: str  # include | exclude | reset (a request that empties the provider: see timeline)
    method: tuple[str, ...] = ()
    host: tuple[str, ...] = ()
    path: tuple[str, ...] = ()
    status: tuple[str, ...] = ()
    content_type: tuple[str, ...] = ()
    request_header: tuple[str, ...] = ()  # lower case; matches when the request has any of them
    operation: tuple[str, ...] = ()  # globs of the operation the request asks for inside it (GraphQL, JSON-RPC)


@dataclass(frozen=True)
class HeaderRule:
    name: str
    headers: frozenset[str]  # lower case
    action: str
    side: str = "both"
    regex: str | None = None
    request_header: frozenset[str] = frozenset()  # lower case; a response header kept only when asked


@dataclass(frozen=True)
class Detector:
    name: str
    test: str
    regex: str
    numeric: bool = False
    after_literal: bool = False  # only a segment following a literal one (a collection) can be one


@dataclass(frozen=True)
class Format:
    name: str
    test: str
    regex: str


@dataclass(frozen=True)
class FieldRule:
    name: str
    path: str
    match: str
    endpoint: str | None = None
    side: str = "response"
    regex: str | None = None
    operation: str | None = None  # only for interactions of this operation (a glob)


@dataclass(frozen=True)
class SecretPattern:
    name: str
    regex: str | None = None
    luhn: bool = False
    names: tuple[str, ...] = ()  # normalised; when set, only values of fields, params or headers so named
    not_names: tuple[str, ...] = ()  # normalised; never values of fields, params or headers so named


@dataclass(frozen=True)
class StateRule:
    name: str
    endpoint: str
    state: str
    status: str | None = None


@dataclass(frozen=True)
class OperationParams:
    """Query and form parameters whose value names the operation a request asks for (`?action=query`)."""

    params: frozenset[str] = frozenset()  # lower case
    values: str = "^$"  # what a value that names an operation looks like
    max_values: int = 40  # more distinct values of one parameter, and its values are data


@dataclass(frozen=True)
class MethodOverride:
    """Where a POST carries the method it means: headers and body fields (`X-HTTP-Method-Override`, `_method`)."""

    headers: frozenset[str] = frozenset()  # lower case
    fields: frozenset[str] = frozenset()  # as sent
    methods: frozenset[str] = frozenset()  # upper case: the values that count


@dataclass(frozen=True)
class Ruleset:
    select: tuple[Select, ...] = ()
    headers: tuple[HeaderRule, ...] = ()
    templates: tuple[str, ...] = ()
    never_params: tuple[str, ...] = ()
    sibling_collapse: int = 0
    detectors: tuple[Detector, ...] = ()
    formats: tuple[Format, ...] = ()
    fields: tuple[FieldRule, ...] = ()
    states: tuple[StateRule, ...] = ()
    secret_names: tuple[str, ...] = ()  # normalised: lower case, without - and _
    secret_allow: tuple[str, ...] = ()
    secret_patterns: tuple[SecretPattern, ...] = ()
    cursors: tuple[str, ...] = ()  # lower case, - as _: opaque pagination cursors, never secrets
    operations: OperationParams = OperationParams()
    method_override: MethodOverride = MethodOverride()
    floats: str = "number"
    integers: str = "integer"
    array_min: int = 1
    sources: tuple[str, ...] = field(default=(), compare=False)
    merged: dict = field(default_factory=dict, compare=False, repr=False)  # the effective rules, as data


def normalise_name(name: str) -> str:
    """client_secret, Client-Secret and clientSecret all read `clientsecret`."""
    return re.sub(r"[^0-9a-z]", "", name.lower())


def cursor_name(name: str) -> str:
    """next-token, NEXT_TOKEN -> next_token; a leading _ stays (`_token` is a cursor, `token` is not)."""
    return name.lower().replace("-", "_")


def endpoint_matches(spec: str, method: str, template: str) -> bool:
    """Does a rule's `endpoint` ("GET /users/{id}", "/users*": method optional, path a glob) match?"""
    want_method, _, want_path = spec.partition(" ") if " " in spec else ("", "", spec)
    return (not want_method or want_method.upper() == method) and fnmatchcase(template, want_path)


def operation_matches(pattern: str, operation: str) -> bool:
    """Does a rule's `operation` glob match an operation (`mutation createPost`: as it is, or by its name)?"""
    return bool(operation) and (fnmatchcase(operation, pattern) or fnmatchcase(operation.rpartition(" ")[2], pattern))


def status_matches(pattern: str, status: int) -> bool:
    """Does a rule's status ("404", or a class such as "4xx") match?"""
    code, pattern = str(status), pattern.lower()
    return pattern == code or (pattern.endswith("xx") and pattern[0] == code[0])


def default_rules_file() -> Path:
    """rules/default.yaml: from the source tree when running from it, else from the installed package."""
    repo = Path(__file__).resolve().parent.parent / "rules" / "default.yaml"
    return repo if repo.is_file() else Path(str(files("recorder.default_rules").joinpath("default.yaml")))


@cache
def schema() -> dict:
    return json.loads(default_rules_file().with_name("schema.json").read_text(encoding="utf-8"))


def load(paths: list[Path] | tuple[Path, ...] = (), with_defaults: bool = True) -> Ruleset:
    """The effective rules: defaults (unless switched off), then each file with what it extends."""
    problems: list[str] = []
    docs: list[tuple[str, dict, dict]] = []
    order = ([default_rules_file()] if with_defaults else []) + [Path(p) for p in paths]
    for path in order:
        _collect(path, docs, problems, stack=())
    merged, origin = _merge(docs)
    ruleset = _build(merged, origin, problems)
    if problems:
        raise RuleError(sorted(problems, key=_position))
    return ruleset


def _position(problem: str) -> tuple[str, int]:
    m = re.match(r"^(.*?):(\d+):", problem)
    return (m.group(1), int(m.group(2))) if m else (problem, 0)


# -- reading and validating one file -------------------------------------------------------------


def _collect(path: Path, docs: list, problems: list[str], stack: tuple[Path, ...]) -> None:
    """Read `path` and what it extends (first), validated, appending (file, data, lines) in order."""
    resolved = path.resolve()
    if resolved in stack:
        chain = " -> ".join(str(p) for p in (*stack, resolved))
        problems.append(f"{path}: extends itself ({chain}); remove one of the extends")
        return
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        problems.append(f"{path}: cannot read the rule file ({e.strerror})")
        return
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        problems.append(f"{where}: not valid YAML: {getattr(e, 'problem', None) or e}")
        return
    lines: dict[tuple, int] = {}
    data = {} if node is None else _python(node, lines, (), str(path), problems)
    found = len(problems)
    _validate(data, schema(), (), lines, str(path), problems, rule=None)
    if len(problems) > found:
        data = _valid_part(data, schema())
    if not isinstance(data, dict):
        return
    for parent in data.get("extends", []):
        _collect(path.parent / parent, docs, problems, (*stack, resolved))
    docs.append((str(path), data, lines))


def _python(node: yaml.Node, lines: dict, at: tuple, file: str, problems: list[str]) -> Any:
    """A YAML node as Python data, recording the line of every value (and flagging duplicate keys)."""
    lines[at] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in out:
                problems.append(f"{file}:{key_node.start_mark.line + 1}: {_where(at)}: key {key!r} appears twice")
            out[key] = _python(value_node, lines, (*at, key), file, problems)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_python(n, lines, (*at, i), file, problems) for i, n in enumerate(node.value)]
    return yaml.constructor.SafeConstructor().construct_object(node)


_JSON_TYPES = {"object": dict, "array": list, "string": str, "boolean": bool, "number": (int, float)}


def _type_ok(value: Any, expected: str | list[str]) -> bool:
    for t in [expected] if isinstance(expected, str) else expected:
        if t == "integer" and isinstance(value, int) and not isinstance(value, bool):
            return True
        if t != "integer" and isinstance(value, _JSON_TYPES[t]) and not (t == "number" and isinstance(value, bool)):
            return True
    return False


def _describe(value: Any) -> str:
    kind = {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean", type(None): "nothing"}
    return kind.get(type(value), f"the number {value}") if not isinstance(value, str) else f"the string {value!r}"


def _validate(value: Any, sch: dict, at: tuple, lines: dict, file: str, problems: list[str], rule: str | None) -> None:
    """Check `value` against the subset of JSON Schema that rules/schema.json uses."""

    def problem(message: str, where: tuple = at) -> None:
        problems.append(f"{file}:{lines.get(where, lines.get(at, 1))}: {_label(at, rule)}: {message}")

    if "type" in sch and not _type_ok(value, sch["type"]):
        names = [sch["type"]] if isinstance(sch["type"], str) else sch["type"]
        expected = " or ".join({"object": "mapping", "array": "list"}.get(t, t) for t in names)
        problem(f"expected {'an' if expected[0] in 'aeiou' else 'a'} {expected}, found {_describe(value)}")
        return
    if "enum" in sch and value not in sch["enum"]:
        close = difflib.get_close_matches(str(value), [str(e) for e in sch["enum"]], n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        problem(f"expected one of {', '.join(map(str, sch['enum']))}, found {value!r}{hint}")
    if "minimum" in sch and isinstance(value, int) and value < sch["minimum"]:
        problem(f"expected a number >= {sch['minimum']}, found {value}")
    if isinstance(value, dict):
        if isinstance(value.get("name"), str) and rule is None and at and isinstance(at[-1], int):
            rule = value["name"]
        props = sch.get("properties", {})
        for key in sch.get("required", []):
            if key not in value:
                problem(f"missing required key {key!r}")
        for key, sub in value.items():
            if key in props:
                _validate(sub, props[key], (*at, key), lines, file, problems, rule)
            elif sch.get("additionalProperties") is False:
                close = difflib.get_close_matches(key, list(props), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else f"; expected one of {', '.join(props)}"
                problem(f"unknown key {key!r}{hint}", (*at, key))
    if isinstance(value, list) and "items" in sch:
        for i, item in enumerate(value):
            _validate(item, sch["items"], (*at, i), lines, file, problems, rule)


_DROP = object()


def _valid_part(value: Any, sch: dict) -> Any:
    """What of `value` passes `sch`, with the rules and keys that have problems left out (_DROP when
    nothing does): the checks that need whole rules (regexes, templates) still run on the rest, so that
    every problem is said at once, not in rounds."""
    if _fits(value, sch):
        return value
    if isinstance(value, list) and "items" in sch:
        return [item for item in value if _fits(item, sch["items"])]
    if isinstance(value, dict) and "properties" in sch and all(key in value for key in sch.get("required", [])):
        kept = {k: _valid_part(v, sch["properties"][k]) for k, v in value.items() if k in sch["properties"]}
        return {k: v for k, v in kept.items() if v is not _DROP}
    return _DROP


def _fits(value: Any, sch: dict) -> bool:
    problems: list[str] = []
    _validate(value, sch, (), {}, "", problems, rule=None)
    return not problems


def _label(at: tuple, rule: str | None) -> str:
    """Where a problem is: `select rule 'health', path` inside a named rule, else `paths.sibling_collapse`."""
    index = next((i for i, part in enumerate(at) if isinstance(part, int)), None)
    if rule is None or index is None:
        return _where(at)
    rest = _where(at[index + 1 :])
    return f"{_where(at[:index])} rule {rule!r}" + (f", {rest}" if at[index + 1 :] else "")


def _where(at: tuple) -> str:
    """('select', 0, 'path') -> 'select[0].path'; the top level reads 'rules'."""
    text = ""
    for part in at:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else part
    return text or "rules"


# -- merging files --------------------------------------------------------------------------------


_NESTED_NAMED = {("paths", "detectors"), ("secrets", "patterns")}
_ADDITIVE = {"secrets": ("names", "allow")}  # later files add to these lists instead of replacing them


def _union(first: list, more: list) -> list:
    return first + [x for x in more if x not in first]


def _merge(docs: list[tuple[str, dict, dict]]) -> tuple[dict, dict]:
    """Later files win. Returns the merged data and, per rule/setting, (file, line) it came from."""
    merged: dict[str, Any] = {}
    origin: dict[tuple, tuple[str, int]] = {}
    for file, data, lines in docs:
        for section, value in data.items():
            if section == "extends":
                continue
            if section in NAMED_LISTS:
                current = {r["name"]: r for r in merged.get(section, [])}
                for i, r in enumerate(value):
                    current[r["name"]] = r
                    origin[(section, r["name"])] = (file, lines[(section, i)])
                merged[section] = list(current.values())
            elif (section, "detectors") in _NESTED_NAMED or (section, "patterns") in _NESTED_NAMED:
                key = "detectors" if section == "paths" else "patterns"
                before = merged.get(section, {})
                named = {d["name"]: d for d in before.get(key, [])}
                for i, d in enumerate(value.get(key, [])):
                    named[d["name"]] = d
                    origin[(key, d["name"])] = (file, lines[(section, key, i)])
                extended = {k: _union(before.get(k, []), value[k]) for k in _ADDITIVE.get(section, ()) if k in value}
                merged[section] = {**before, **value, key: list(named.values()), **extended}
            else:
                merged[section] = {**merged.get(section, {}), **value}
            for key in value if isinstance(value, dict) else ():
                origin[(section, key)] = (file, lines[(section, key)])
    return merged, origin


# -- building the Ruleset, with the checks the schema cannot express -------------------------------


def _build(m: dict, origin: dict, problems: list[str]) -> Ruleset:
    build, paths, secrets = _Builder(origin, problems), m.get("paths", {}), m.get("secrets", {})
    select = build.select(_enabled(m.get("select", [])))
    headers = build.headers(_enabled(m.get("headers", [])))
    detectors = build.detectors(_enabled(paths.get("detectors", [])))
    formats = build.formats(_enabled(m.get("formats", [])))
    fields = build.fields(_enabled(m.get("fields", [])))
    secret_patterns = build.secret_patterns(_enabled(secrets.get("patterns", [])))
    states = build.states(_enabled(m.get("states", [])))
    build.paths(paths)
    operations = build.operations(m.get("operations", {}))
    return Ruleset(
        select=select,
        headers=headers,
        templates=tuple(paths.get("templates", ())),
        never_params=tuple(paths.get("never_params", ())),
        sibling_collapse=paths.get("sibling_collapse", 0),
        detectors=detectors,
        formats=formats,
        fields=fields,
        states=states,
        secret_names=tuple(normalise_name(n) for n in secrets.get("names", ())),
        secret_allow=tuple(normalise_name(n) for n in secrets.get("allow", ())),
        secret_patterns=secret_patterns,
        cursors=tuple(cursor_name(n) for n in secrets.get("cursors", ())),
        operations=operations,
        method_override=_method_override(m.get("method_override", {})),
        floats=m.get("numbers", {}).get("floats", "number"),
        integers=m.get("numbers", {}).get("integers", "integer"),
        array_min=m.get("arrays", {}).get("min", 1),
        sources=tuple(sorted({f for f, _ in origin.values()})),
        merged=m,
    )


def _method_override(found: dict) -> MethodOverride:
    return MethodOverride(
        frozenset(str(h).lower() for h in found.get("headers", ())),
        frozenset(str(f) for f in found.get("fields", ())),
        frozenset(str(m).upper() for m in found.get("methods", ())),
    )


def _enabled(rules: list[dict]) -> list[dict]:
    return [r for r in rules if r.get("enabled", True)]


class _Builder:
    """Validated rules of each kind from the merged rule data (the schema has checked their keys and types):
    one method per kind; what the schema cannot say (regexes, statuses, paths) is added to `problems`, each
    with the file and line of the rule."""

    def __init__(self, origin: dict, problems: list[str]):
        self.origin, self.problems = origin, problems

    def where(self, kind: str, name: str) -> str:
        file, line = self.origin.get((kind, name), ("rules", 1))
        return f"{file}:{line}: {kind} rule {name!r}"

    def regex(self, kind: str, name: str, key: str, regex: str, examples=()) -> str:
        if (problem := regex_problem(regex, examples)) is not None:
            self.problems.append(f"{self.where(kind, name)}: {key} {regex!r}: {problem}")
        return regex

    def status(self, kind: str, name: str, status: str, example_class: str) -> None:
        if not re.fullmatch(r"[1-5]([0-9]{2}|xx)", status.lower()):
            self.problems.append(
                f"{self.where(kind, name)}: status {status!r}: expected a status such as 404 or a class such as "
                f"{example_class}"
            )

    def select(self, rules: list[dict]) -> tuple[Select, ...]:
        select = tuple(
            Select(
                r["name"],
                r.get("action", "exclude"),
                *(tuple(str(v) for v in r.get(k, ())) for k in ("method", "host", "path", "status", "content_type")),
                tuple(str(v).lower() for v in r.get("request_header", ())),
                tuple(str(v) for v in r.get("operation", ())),
            )
            for r in rules
        )
        for s in select:
            for status in s.status:
                self.status("select", s.name, status, "4xx")
        return select

    def headers(self, rules: list[dict]) -> tuple[HeaderRule, ...]:
        headers = []
        for r in rules:
            if r["action"] == "regex" and "regex" not in r:
                self.problems.append(f"{self.where('headers', r['name'])}: action 'regex' needs a regex")
            regex = self.regex("headers", r["name"], "regex", r["regex"]) if "regex" in r else None
            asked = frozenset(h.lower() for h in r.get("request_header", ()))
            names = frozenset(h.lower() for h in r["headers"])
            headers.append(HeaderRule(r["name"], names, r["action"], r.get("side", "both"), regex, asked))
        return tuple(headers)

    def detectors(self, rules: list[dict]) -> tuple[Detector, ...]:
        detectors = []
        for d in rules:
            if "test" not in d:
                self.problems.append(f"{self.where('detectors', d['name'])}: needs a test regex")
                continue
            found = len(self.problems)
            test = self.regex("detectors", d["name"], "test", d["test"], d.get("examples", ()))
            segment = d.get("regex") or _unanchored(test)
            if len(self.problems) == found:  # the segment regex derived from a broken test would repeat its problem
                self.regex("detectors", d["name"], "regex", f"^(?:{segment})$", d.get("examples", ()))
            detectors.append(Detector(d["name"], test, segment, d.get("numeric", False), d.get("after_literal", False)))
        return tuple(detectors)

    def formats(self, rules: list[dict]) -> tuple[Format, ...]:
        formats = []
        for f in rules:
            if "test" not in f:
                self.problems.append(f"{self.where('formats', f['name'])}: needs a test regex")
                continue
            test = self.regex("formats", f["name"], "test", f["test"], f.get("examples", ()))
            regex = (
                self.regex("formats", f["name"], "regex", f["regex"], f.get("examples", ())) if "regex" in f else test
            )
            formats.append(Format(f["name"], test, regex))
        return tuple(formats)

    def fields(self, rules: list[dict]) -> tuple[FieldRule, ...]:
        fields = []
        for f in rules:
            if f["match"] == "regex" and "regex" not in f:
                self.problems.append(f"{self.where('fields', f['name'])}: match 'regex' needs a regex")
            if not re.fullmatch(r"\$(\.[^.\[\]]+|\['[^']*'\]|\[(\*|[0-9]+)\])*", f["path"]):
                self.problems.append(
                    f"{self.where('fields', f['name'])}: path {f['path']!r}: expected a JSONPath such as "
                    "$.items[*].price"
                )
            regex = self.regex("fields", f["name"], "regex", f["regex"]) if "regex" in f else None
            fields.append(
                FieldRule(
                    f["name"],
                    f["path"],
                    f["match"],
                    f.get("endpoint"),
                    f.get("side", "response"),
                    regex,
                    f.get("operation"),
                )
            )
        return tuple(fields)

    def secret_patterns(self, rules: list[dict]) -> tuple[SecretPattern, ...]:
        patterns = []
        for pat in rules:
            if "regex" not in pat and not pat.get("luhn"):
                self.problems.append(f"{self.where('patterns', pat['name'])}: needs a regex (or luhn: true)")
                continue
            examples = pat.get("examples", ())
            regex = self.regex("patterns", pat["name"], "regex", pat["regex"], examples) if "regex" in pat else None
            names, nots = (tuple(normalise_name(n) for n in pat.get(key, ())) for key in ("names", "not_names"))
            patterns.append(SecretPattern(pat["name"], regex, pat.get("luhn", False), names, nots))
        return tuple(patterns)

    def states(self, rules: list[dict]) -> tuple[StateRule, ...]:
        states = []
        for r in rules:
            status = str(r["status"]).lower() if "status" in r else None
            if status is not None:
                self.status("states", r["name"], status, "2xx")
            states.append(StateRule(r["name"], r["endpoint"], r["state"], status))
        return tuple(states)

    def operations(self, operations: dict) -> OperationParams:
        values = operations.get("values", "^$")
        if "values" in operations:
            self.regex("operations", "values", "regex", values)
        return OperationParams(
            frozenset(str(p).lower() for p in operations.get("params", ())), values, operations.get("max_values", 40)
        )

    def paths(self, paths: dict) -> None:
        """The path settings that are no list of named rules: templates and never_params."""
        for template in paths.get("templates", []):
            if not re.fullmatch(r"(/([^/{}]+|\{[A-Za-z_][A-Za-z0-9_]*\}))+/?|/", template):
                self.problems.append(
                    f"{self.where('paths', 'templates')}: template {template!r}: expected a path such as "
                    "/orgs/{org}/repos/{repo}"
                )
        for regex in paths.get("never_params", []):
            self.regex("paths", "never_params", "regex", regex)


def _unanchored(regex: str) -> str:
    return regex.removeprefix("^").removesuffix("$")


_PYTHON_ONLY = re.compile(r"\(\?P[<=>]")


def regex_problem(regex: str, examples=()) -> str | None:
    """Why the Pact core could not use `regex`, or None. The core's engine is Oniguruma, not `re`."""
    if _PYTHON_ONLY.search(regex):
        return "uses Python-only group syntax (?P<name>...) that the Pact core rejects; write (?<name>...) or (...)"
    try:
        compiled = re.compile(regex)
    except re.error as e:
        return f"not a valid regex: {e}"
    for example in examples:
        if not compiled.search(example):
            return f"does not match its example {example!r}"
        if not core_matches(regex, example):
            return f"the Pact core's regex engine rejects it or does not match its example {example!r}"
    return None


def core_matches(regex: str, value: str) -> bool:
    """Does the Pact core's own regex engine match `value`? (False too when it cannot compile it.)"""
    from pact_ffi.ffi import lib

    return bool(lib.pactffi_check_regex(regex.encode(), value.encode()))


def dump(ruleset: Ruleset) -> str:
    """The effective rules as YAML a user can read (and copy into a rule file)."""
    sources = "".join(f"#   {s}\n" for s in ruleset.sources)
    return f"# Effective rules, merged from:\n{sources}" + yaml.safe_dump(
        ruleset.merged, sort_keys=False, allow_unicode=True, width=100, default_flow_style=None
    )


@cache
def defaults() -> Ruleset:
    """The default rules alone (what every run starts from)."""
    return load()
