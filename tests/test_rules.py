"""Rule files: loading, merging, and error messages (pinned: they are interface)."""

from __future__ import annotations

import textwrap

import pytest

from recorder.capture.selection import is_reset
from recorder.cli.commands import main
from recorder.rules import RuleError, default_rules_file, defaults, load
from tests.helpers import exchange

pytestmark = pytest.mark.unit  # no servers, no processes: `make check` runs it


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def problems(tmp_path, text: str) -> list[str]:
    path = write(tmp_path, "r.yaml", text)
    with pytest.raises(RuleError) as e:
        load([path])
    return [p.replace(f"{path}:", "r.yaml:") for p in e.value.problems]


ERRORS = {
    "unknown key with a suggestion": (
        """\
        select:
          - name: health
            paht: [/health]
        """,
        ["r.yaml:3: select rule 'health': unknown key 'paht' (did you mean 'path'?)"],
    ),
    "unknown top-level key": (
        "selct: []\n",
        ["r.yaml:1: rules: unknown key 'selct' (did you mean 'select'?)"],
    ),
    "wrong type": (
        "arrays: [1]\n",
        ["r.yaml:1: arrays: expected a mapping, found a list"],
    ),
    "bad enum value with a suggestion": (
        """\
        headers:
          - name: trace
            headers: [x-trace-id]
            action: regx
        """,
        [
            "r.yaml:4: headers rule 'trace', action: expected one of drop, exact, regex, media-type, resource-path, "
            "set, integer, etag, http-date, secret, operation, found 'regx' (did you mean 'regex'?)"
        ],
    ),
    "missing name": (
        """\
        fields:
          - path: $.id
            match: integer
        """,
        ["r.yaml:2: fields[0]: missing required key 'name'"],
    ),
    "Python-only regex syntax": (
        """\
        fields:
          - name: price
            path: $.price
            match: regex
            regex: '^(?P<n>[0-9]+)$'
        """,
        [
            "r.yaml:2: fields rule 'price': regex '^(?P<n>[0-9]+)$': uses Python-only group syntax (?P<name>...) "
            "that the Pact core rejects; write (?<name>...) or (...)"
        ],
    ),
    "invalid regex": (
        """\
        paths:
          detectors:
            - name: integer
              test: '^[0-9+$'
        """,
        [
            "r.yaml:3: detectors rule 'integer': test '^[0-9+$': not a valid regex: unterminated character set at "
            "position 1"
        ],
    ),
    "regex that does not match its example": (
        """\
        formats:
          - name: sku
            test: '^SKU-[0-9]+$'
            examples: [sku-1]
        """,
        ["r.yaml:2: formats rule 'sku': test '^SKU-[0-9]+$': does not match its example 'sku-1'"],
    ),
    "bad status": (
        """\
        select:
          - name: errors
            status: [5xy]
        """,
        ["r.yaml:2: select rule 'errors': status '5xy': expected a status such as 404 or a class such as 4xx"],
    ),
    "bad JSONPath": (
        """\
        fields:
          - name: x
            path: items.price
            match: decimal
        """,
        ["r.yaml:2: fields rule 'x': path 'items.price': expected a JSONPath such as $.items[*].price"],
    ),
    "YAML syntax error": (
        "select: [\n",
        ["r.yaml:2: not valid YAML: expected the node content, but found '<stream end>'"],
    ),
    "duplicate key": (
        "numbers: {floats: decimal, floats: number}\n",
        ["r.yaml:1: numbers: key 'floats' appears twice"],
    ),
    "several problems at once, in file order": (
        """\
        numbers: {floats: decimals}
        arrays: {min: -1}
        """,
        [
            "r.yaml:1: numbers.floats: expected one of decimal, number, found 'decimals' (did you mean 'decimal'?)",
            "r.yaml:2: arrays.min: expected a number >= 0, found -1",
        ],
    ),
}


@pytest.mark.parametrize("case", ERRORS)
def test_rule_file_error(case, tmp_path):
    text, expected = ERRORS[case]
    assert problems(tmp_path, text) == expected


def test_an_unreadable_or_missing_file(tmp_path):
    with pytest.raises(RuleError, match=r"missing.yaml: cannot read the rule file \(No such file or directory\)"):
        load([tmp_path / "missing.yaml"])


def test_the_defaults_load_and_are_valid():
    rules = load()
    assert [d.name for d in rules.detectors][:2] == ["integer", "uuid"]
    assert rules.sources == (str(default_rules_file()),)


def test_later_files_win_and_a_rule_with_the_same_name_replaces_the_earlier(tmp_path):
    base = write(
        tmp_path,
        "base.yaml",
        """\
        numbers: {floats: number}
        formats:
          - {name: sku, test: '^SKU-[0-9]+$'}
        """,
    )
    child = write(
        tmp_path,
        "child.yaml",
        """\
        extends: [base.yaml]
        formats:
          - {name: sku, test: '^sku-[0-9]+$'}
          - {name: email, enabled: false}
        """,
    )
    rules = load([child])
    assert rules.floats == "number"
    assert [f.test for f in rules.formats if f.name == "sku"] == ["^sku-[0-9]+$"]
    assert "email" not in [f.name for f in rules.formats]
    assert rules.sources == tuple(sorted([str(default_rules_file()), str(base), str(child)]))


def test_extends_cycles_are_reported(tmp_path):
    a = write(tmp_path, "a.yaml", "extends: [b.yaml]\n")
    write(tmp_path, "b.yaml", "extends: [a.yaml]\n")
    with pytest.raises(RuleError, match="extends itself"):
        load([a])


def test_no_default_rules_leaves_the_defaults_out(tmp_path):
    rules = load([write(tmp_path, "r.yaml", "numbers: {floats: number}\n")], with_defaults=False)
    assert rules.detectors == () and rules.floats == "number"


def test_rules_check_and_show_from_the_command_line(tmp_path, capsys):
    good = write(tmp_path, "good.yaml", "select:\n  - {name: health, path: [/health*]}\n")
    assert main(["rules", "check", str(good)]) == 0
    assert "OK:" in capsys.readouterr().out
    assert main(["rules", "show", str(good)]) == 0
    shown = capsys.readouterr().out
    assert "- {name: health, path: [/health*]}" in shown or "name: health" in shown
    bad = write(tmp_path, "bad.yaml", "selct: []\n")
    assert main(["rules", "check", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "the rule files have 1 problem(s)" in err and "did you mean 'select'?" in err
    assert "Traceback" not in err


def test_rules_check_reports_every_problem_at_once_not_in_rounds(tmp_path, capsys):
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        textwrap.dedent(
            """\
            select:
              - name: health
                paht: [/health]
              - name: ok
                path: [/ok]
            fields:
              - name: price
                path: $.price
                match: regex
                regex: "([a-"
            numbers:
              floats: nope
            paths:
              templates: ["users/{id}"]
            """
        )
    )
    assert main(["rules", "check", str(rules)]) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == [
        "pact-recorder rules check: error: the rule files have 4 problem(s):",
        f"  {rules}:3: select rule 'health': unknown key 'paht' (did you mean 'path'?)",
        f"  {rules}:7: fields rule 'price': regex '([a-': not a valid regex: unterminated character set at position 1",
        f"  {rules}:12: numbers.floats: expected one of decimal, number, found 'nope'",
        f"  {rules}:14: paths rule 'templates': template 'users/{{id}}': expected a path such as /orgs/{{org}}/repos/{{repo}}",
    ]


@pytest.mark.parametrize(
    ("method", "path", "reset"),
    [
        ("POST", "/__flush__", True),
        ("POST", "/reset", True),
        ("POST", "/api/v2/reset", True),  # a reset at the API's version, as vector stores have it
        ("POST", "/v1/reset", True),
        ("POST", "/users/alice/password/reset", False),  # a call of the API, part of the contract
        ("POST", "/api/v2/users/reset", False),
        ("GET", "/api/v2/reset", False),
    ],
)
def test_a_reset_of_the_provider_is_known_at_its_root_only(method, path, reset):
    assert (is_reset(defaults(), exchange(method, path, 200)) is not None) is reset
