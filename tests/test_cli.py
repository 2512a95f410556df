"""Usage errors: what, where, how to fix; exit 2; never a traceback."""

import socket

import pytest

from recorder.cli import main

NAMES = ["--consumer", "web", "--provider", "api"]


@pytest.fixture
def busy_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield s.getsockname()[1]


@pytest.fixture
def files(tmp_path):
    (tmp_path / "garbage.mitm").write_bytes(b"garbage\x00\x01")
    (tmp_path / "not-json.json").write_text("{nope")
    (tmp_path / "not-a-pact.json").write_text("[1, 2]")
    (tmp_path / "empty-pact.json").write_text(
        '{"consumer": {"name": "c"}, "provider": {"name": "p"}, "interactions": []}'
    )
    return tmp_path


CASES = [
    (
        ["record", "--provider", "api", "--target", "http://127.0.0.1:1"],
        "the following arguments are required: --consumer",
    ),
    (
        ["record", *NAMES, "--target", "ftp://127.0.0.1:1"],
        "--target 'ftp://127.0.0.1:1': expected an http(s) URL such as http://127.0.0.1:5001",
    ),
    (
        ["record", *NAMES, "--target", "http://127.0.0.1:99999"],
        "--target 'http://127.0.0.1:99999': the port is not a number between 0 and 65535",
    ),
    (
        ["record", *NAMES, "--target", "http://127.0.0.1:1", "--listen", "here"],
        "--listen 'here': expected HOST:PORT or PORT, e.g. 127.0.0.1:8080",
    ),
    (
        ["record", *NAMES, "--target", "http://127.0.0.1:1", "--listen", "127.0.0.1:{busy}"],
        "cannot listen there (Address already in use); pick another port, or 0 for a free one",
    ),
    (
        ["record", "--consumer", "a/b", "--provider", "api", "--target", "http://127.0.0.1:1"],
        "consumer 'a/b': must be a non-empty name without '/'",
    ),
    (["record", *NAMES, "--target", "http://127.0.0.1:1", "--spec", "v5"], "argument --spec: invalid choice: 'v5'"),
    (
        ["record", *NAMES, "--target", "http://127.0.0.1:1", "--spool", "lots"],
        "--spool 'lots': expected a size such as 512k, 4m or 1g",
    ),
    (["record", *NAMES, "--target", "http://127.0.0.1:1", "--bogus"], "unrecognized arguments: --bogus"),
    (
        ["record", *NAMES, "--target", "http://127.0.0.1:1", "--upstream-ca", "{tmp}/none.pem"],
        "none.pem: no such file",
    ),
    (["infer", "{tmp}/missing.mitm", *NAMES], "missing.mitm: no such file"),
    (["infer", "{tmp}/garbage.mitm", *NAMES], "garbage.mitm: not a readable .mitm flow file or HAR file"),
    (
        ["verify", "{tmp}/missing.json", "--provider-url", "http://127.0.0.1:1"],
        "missing.json: cannot read the pact (No such file or directory)",
    ),
    (["verify", "{tmp}/not-json.json", "--provider-url", "http://127.0.0.1:1"], "not-json.json: not a JSON pact file"),
    (
        ["verify", "{tmp}/not-a-pact.json", "--provider-url", "http://127.0.0.1:1"],
        "not-a-pact.json: not a pact file (no 'interactions' list)",
    ),
    (
        ["verify", "{tmp}/empty-pact.json", "--provider-url", "http://127.0.0.1:9"],
        "--provider-url http://127.0.0.1:9: connection refused; is the provider running there?",
    ),
    (
        ["verify", "{tmp}/x.json", "--provider-url", "127.0.0.1:5001"],
        "--provider-url '127.0.0.1:5001': expected an http(s) URL",
    ),
]


def run(argv: list[str]) -> int:
    """main()'s exit code, whether it returns one or argparse exits with it."""
    try:
        return main(argv)
    except SystemExit as e:
        return e.code


@pytest.mark.parametrize(("argv", "message"), CASES, ids=[m[:50] for _, m in CASES])
def test_usage_errors(argv, message, files, busy_port, capsys):
    code = run([a.format(tmp=files, busy=busy_port) for a in argv])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert "Traceback" not in err


def test_infer_of_an_empty_capture_writes_nothing_and_says_so(tmp_path, capsys):
    (tmp_path / "empty.mitm").write_bytes(b"")
    assert run(["infer", str(tmp_path / "empty.mitm"), *NAMES, "--out", str(tmp_path / "out")]) == 1
    assert "Nothing was recorded, so no pact was written:" in capsys.readouterr().out
    assert not (tmp_path / "out").exists()
