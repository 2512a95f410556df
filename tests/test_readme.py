"""The README as a newcomer reads it: its four-line walk-through and its mitmdump line run as written
(free ports, a temporary folder and HOME; the venv on PATH, as `. .venv/bin/activate` puts it), its file
names exist or are written by a command it shows, and what its commands leave behind is ignored by git."""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys

import pytest

from examples import procs
from examples.users.consumer import exercise
from recorder.record.proxy import free_port
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def block_after(marker: str) -> list[str]:
    """The commands of the code block after the line that contains `marker`, continuation lines joined."""
    text = README.split(marker, 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    return text.replace("\\\n", " ").splitlines()


def command(line: str, **values: str) -> str:
    """`line` without its comment, with the README's ports and folders replaced by this test's."""
    code = line.split("  #", 1)[0]
    for old, new in values.items():
        code = code.replace(old, new)
    return code


def environment(tmp_path) -> dict[str, str]:
    """The activated venv, and a HOME of its own (mitmproxy's CA goes to ~/.mitmproxy)."""
    return {"PATH": f"{os.path.dirname(sys.executable)}:{os.environ['PATH']}", "HOME": str(tmp_path / "home")}


def test_the_four_line_walk_through_runs_as_written(tmp_path):
    provider_line, record_line, consumer_line, ctrl_c = block_after("tests/test_readme.py runs this block as written")
    port, listen = str(free_port()), str(free_port())
    values = {"5001": port, "8080": listen, "pacts/": f"{tmp_path}/pacts/", "capture.mitm": f"{tmp_path}/capture.mitm"}
    env = environment(tmp_path)
    provider = procs.start(shlex.split(command(provider_line, **values)), env=env, cwd=str(ROOT))
    try:
        recorder = procs.start(shlex.split(command(record_line, **values)), env=env, cwd=str(ROOT))
        try:
            run = subprocess.run(shlex.split(command(consumer_line, **values)), capture_output=True, text=True,
                                 env={**os.environ, **env}, cwd=ROOT, timeout=60)  # fmt: skip
            assert run.returncode == 0, run.stdout + run.stderr
        finally:
            assert ctrl_c.startswith("# Ctrl-C in terminal 2")
            code = recorder.stop(signal.SIGINT)
    finally:
        provider.stop()
    assert code == 0, recorder.output
    written = re.findall(r"pacts/\S+", ctrl_c)
    assert written == ["pacts/user-web-user-service.json", "pacts/user-web-user-service.states.yaml"]
    for name in written:
        assert (tmp_path / name).is_file(), recorder.output
    assert (tmp_path / "capture.mitm").is_file()


def test_the_mitmdump_line_runs_as_written_and_listens_on_127_0_0_1_only(tmp_path, users_provider):
    (line,) = block_after("tests/test_readme.py runs this block too")
    assert "--listen-host 127.0.0.1" in line
    port = users_provider().url.rsplit(":", 1)[1]
    code = command(line, **{"5001": port, "8080": "0", "pacts/": f"{tmp_path}/pacts/"})
    proxy = procs.start(["bash", "-c", f"exec {code}"], env=environment(tmp_path), cwd=str(ROOT),
                        ready=procs.MITMDUMP_LISTENING)  # fmt: skip
    try:
        assert proxy.url.startswith("http://127.0.0.1:"), proxy.url
        exercise(proxy.url)
    finally:
        assert proxy.stop() == 0, proxy.output
    assert (tmp_path / "pacts" / "user-web-user-service.json").is_file()


@pytest.mark.unit
def test_every_file_the_readme_and_the_guide_name_exists_or_is_written_by_a_command_they_show():
    text = "\n".join([README, *(page.read_text(encoding="utf-8") for page in sorted((ROOT / "docs").glob("*.md")))])
    code = "\n".join(re.findall(r"```(?:sh|python)\n(.*?)```", text, re.S))
    outputs = re.findall(r"(?:--out|--bundle|--report|--write-rules|--save-flows) ([\w./-]+)", code)
    downloaded = " ".join(line for line in code.splitlines() if "pip download" in line)
    lowercase_names = re.findall(
        r"(?<![\w$<{/.-])((?:[\w-]+/)*[\w.-]*[a-z][\w.-]*\.(?:json|yaml|mitm|har|py|pem|gz))\b", code
    )
    assert len(lowercase_names) > 10
    for name in lowercase_names:
        written = name in outputs or any(name.startswith(o.rstrip("/") + "/") for o in outputs) or name in downloaded
        assert (ROOT / name).exists() or written, f"README or docs/ name {name}, which nothing makes"


def test_what_the_readme_s_commands_leave_in_the_checkout_is_ignored():
    left = ["requests_futures-1.1.0.tar.gz", "requests_futures-1.1.0/tests/test_requests_futures.py",
            "capture.mitm", "pacts/user-web-user-service.json", ".venv/thirdparty/x.tar.gz"]  # fmt: skip
    result = subprocess.run(["git", "check-ignore", "--no-index", *left], capture_output=True, text=True, cwd=ROOT)
    assert result.stdout.split() == left


def test_the_example_consumer_says_how_to_run_it():
    result = subprocess.run([sys.executable, "-m", "examples.users.consumer", "--help"], capture_output=True,
                            text=True, cwd=ROOT, timeout=60)  # fmt: skip
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert result.stdout.startswith("usage: python -m examples.users.consumer [-h] [URL]")
