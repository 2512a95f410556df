"""`make demo`: record the bundled examples through the proxy, then verify each pact.

For each example:
1. start the provider;  2. start `pact-recorder record` in front of it;
3. run the consumer through the recorder;  4. SIGTERM the recorder, which writes the pact and states;
5. start a fresh provider and verify the pact against it with the Pact core.

users:    a small users service; verified with the provider's own state-change URL.
docstore: a stateful document store (accounts with Basic auth, stores > collections > records, ETags,
          cursor pagination); verified against the provider started EMPTY with
          `--states-from-recording`: every state is set up by replaying the recorded requests that made
          it, with no state code written by hand and no secret given (the recording set the password).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from examples.docstore import consumer as docstore  # noqa: E402
from examples.procs import python, start  # noqa: E402
from examples.users import consumer as users  # noqa: E402

CLI = str(Path(sys.executable).with_name("pact-recorder"))


def run_example(
    out: Path,
    module: str,
    consumer: str,
    provider_name: str,
    exercise: Callable[[str], Iterable[str]],
    verify_options: Callable[[str], list[str]],
) -> int:
    provider = start(python("-m", module, "--port", "0"), cwd=str(ROOT))
    print(f"1. {provider_name} provider {provider.url}")
    recorder = start(
        [
            CLI,
            "record",
            "--consumer",
            consumer,
            "--provider",
            provider_name,
            "--target",
            provider.url,
            "--listen",
            "127.0.0.1:0",
            "--out",
            str(out),
        ],
        cwd=str(ROOT),
    )
    print(f"2. recorder {recorder.url} -> {provider.url}")
    try:
        for line in exercise(recorder.url):
            print(f"3. consumer: {line}")
    finally:
        code = recorder.stop()
        provider.stop()
    indented = recorder.output.strip().replace("\n", "\n   ")
    print(f"4. recorder stopped (exit {code}):\n   {indented}")
    if code != 0:
        return code
    fresh = start(python("-m", module, "--port", "0"), cwd=str(ROOT))
    pact = out / f"{consumer}-{provider_name}.json"
    try:
        options = verify_options(fresh.url)
        print(f"5. fresh provider {fresh.url}: pact-recorder verify {pact.name} {' '.join(options)}")
        result = subprocess.run([CLI, "verify", str(pact), "--provider-url", fresh.url, *options])
    finally:
        fresh.stop()
    print(f"\nPact:   {pact}\nStates: {pact.with_name(pact.name.removesuffix('.json') + '.states.yaml')}")
    print(
        "The pact verified against a fresh provider.\n"
        if result.returncode == 0
        else "The pact did NOT verify against a fresh provider.\n"
    )
    return result.returncode


def main() -> int:
    ap = argparse.ArgumentParser(description="Record the bundled examples and verify their pacts.")
    ap.add_argument("--out", type=Path, default=ROOT / "demo-out", help="output folder (default demo-out/)")
    out = ap.parse_args().out.resolve()
    shutil.rmtree(out, ignore_errors=True)
    print("== users: verified with the provider's own state-change URL ==")
    first = run_example(
        out,
        "examples.users.provider",
        "user-web",
        "user-service",
        users.exercise,
        lambda url: ["--state-url", f"{url}/_pact/provider_states"],
    )
    print("== docstore: verified against the provider started empty, states from the recording ==")
    second = run_example(
        out,
        "examples.docstore.provider",
        "docstore-web",
        "docstore",
        docstore.exercise,
        lambda url: ["--states-from-recording"],
    )
    return first or second


if __name__ == "__main__":
    sys.exit(main())
