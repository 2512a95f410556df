"""Usage errors: what, where, how to fix; exit 2; never a traceback."""

import argparse
import re
import socket
from pathlib import Path

import pytest

from examples.users.consumer import exercise
from recorder.cli.commands import main
from recorder.cli.usage import build_parser
from recorder.record.proxy import free_port
from tests.conftest import cli, record_through, recorder_args

NAMES = ["--consumer", "web", "--provider", "api"]
HAR = Path(__file__).parent / "data" / "chrome.har"


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
    (
        ["verify", "{tmp}/x.json", "--provider-url", "http://127.0.0.1:9", "--fresh-names"],
        "--fresh-names goes with --states-from-recording",
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


def time_wait_port() -> int:
    """A port whose last connection is in TIME_WAIT, as after a recorder on it stopped (its listener,
    like mitmproxy's, had SO_REUSEADDR; the server's side closed first)."""
    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        client = socket.create_connection(("127.0.0.1", port))
        conn, _ = server.accept()
        conn.close()
        client.recv(1)  # the server's FIN
        client.close()
    return port


def test_record_listens_again_on_a_port_a_recorder_just_left(tmp_path, users_provider):
    port = time_wait_port()
    proxy = record_through(recorder_args(users_provider().url, tmp_path, "--listen", f"127.0.0.1:{port}"), exercise)
    assert f"listening on http://127.0.0.1:{port} " in proxy.output


def port_pair_with_the_second_busy() -> tuple[int, socket.socket]:
    while True:
        first = free_port()
        busy = socket.socket()
        try:
            busy.bind(("127.0.0.1", first + 1))
        except OSError:
            busy.close()
            continue
        busy.listen()
        return first, busy


def test_every_target_s_port_is_checked_before_anything_starts(capsys):
    port, busy = port_pair_with_the_second_busy()
    with busy:
        code = run(["record", "--consumer", "web", "--target", "users=http://127.0.0.1:1",
                    "--target", "orders=http://127.0.0.1:2", "--listen", f"127.0.0.1:{port}"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2
    assert (
        f"pact-recorder record: error: --listen '127.0.0.1:{port}': cannot listen on port {port + 1}, where "
        "--target orders would listen (Address already in use); pick another port, or 0 for a free one"
    ) in err


@pytest.mark.parametrize("command", ["record", "infer"])
def test_an_out_folder_that_cannot_be_written_is_refused_at_the_start(command, files):
    start = ["record", *NAMES, "--target", "http://127.0.0.1:1", "--listen", "127.0.0.1:0"]
    argv = start if command == "record" else ["infer", str(HAR), *NAMES]  # a process: record would run on
    a_file = files / "not-json.json"
    for out, message in (
        (a_file, f"--out {a_file}: is a file; give a folder for the pacts (it is created if missing)"),
        (a_file / "pacts", f"--out {a_file}/pacts: is inside {a_file}, which is a file; give a folder"),
        # sysfs takes no new files, not even from root: a folder nobody can write into
        (Path("/sys/pacts"), "--out /sys/pacts: cannot write into /sys ("),
    ):
        result = cli(*argv, "--out", str(out))
        assert result.returncode == 2
        assert f"pact-recorder {command}: error: {message}" in result.stderr, result.stderr
    if command == "infer":  # a folder that is missing is made, parents too
        assert cli(*argv, "--out", str(files / "new" / "deeper")).returncode == 0
        assert (files / "new" / "deeper" / "web-api.json").is_file()


@pytest.mark.unit
def test_infer_of_a_folder_is_a_usage_error(tmp_path, capsys):
    assert run(["infer", str(tmp_path), *NAMES]) == 2
    assert f"pact-recorder infer: error: {tmp_path}: is a folder; expected a .mitm flow file or a .har file" in (
        capsys.readouterr().err
    )


@pytest.mark.unit
def test_a_mistyped_option_gets_the_subcommand_s_usage_and_a_did_you_mean(capsys):
    assert run(["record", *NAMES, "--target", "http://127.0.0.1:1", "--lisen", "127.0.0.1:8080"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: pact-recorder record [-h] --consumer CONSUMER")
    assert "pact-recorder record: error: unrecognized arguments: --lisen 127.0.0.1:8080 (did you mean --listen?)" in err
    assert run(["states", "scaffold", "x.json", "--form-recording"]) == 2
    assert "unrecognized arguments: --form-recording (did you mean --from-recording?)" in capsys.readouterr().err


def every_command(parser=None, path=()):
    """(name, parser) of every command a user can run, `states scaffold` included."""
    parser = parser or build_parser()
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if path:
        yield " ".join(path), parser
    for sub in subs:
        for name, child in sub.choices.items():
            yield from every_command(child, (*path, name))


COMMAND_NAMES = [name for name, _ in every_command()]


@pytest.mark.unit
@pytest.mark.parametrize("name", COMMAND_NAMES)
def test_every_command_s_help_has_a_description_argument_help_examples_and_exit_codes(name, capsys):
    assert run([*name.split(), "--help"]) == 0
    text = capsys.readouterr().out
    parser = dict(every_command())[name]
    assert parser.description and " ".join(parser.description.split()) in " ".join(text.split())
    for action in parser._actions:
        assert action.help, f"{name}: {action.option_strings or action.dest} has no help"
    examples = text.split("examples:\n", 1)[1].split("\n\nexit codes:\n")[0]
    assert 2 <= sum(line.startswith("  ") and "pact-recorder" in line for line in examples.splitlines()) <= 3
    assert re.search(r"exit codes:\n  0 .+", text)


@pytest.mark.unit
def test_the_commands_with_a_verdict_document_each_exit_code(capsys):
    for name, codes in (("verify", "012"), ("diff", "012"), ("record", "012"), ("infer", "012")):
        run([name, "--help"])
        exits = capsys.readouterr().out.split("exit codes:\n", 1)[1]
        assert [line.split()[0] for line in exits.splitlines() if line.startswith("  ")] == list(codes)
