"""`make demo`: record the bundled users example through the proxy, then verify the pact.

1. start the users provider;  2. start `pact-recorder record` in front of it;
3. run the consumer through the recorder;  4. SIGTERM the recorder, which writes the pact and hints;
5. start a fresh provider and verify the pact against it with the Pact core.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from examples.procs import python, start  # noqa: E402
from examples.users.consumer import exercise  # noqa: E402

CLI = str(Path(sys.executable).with_name("pact-recorder"))


def main() -> int:
    ap = argparse.ArgumentParser(description="Record the bundled users example and verify the pact.")
    ap.add_argument("--out", type=Path, default=ROOT / "demo-out", help="output folder (default demo-out/)")
    out = ap.parse_args().out.resolve()
    shutil.rmtree(out, ignore_errors=True)
    provider = start(python("-m", "examples.users.provider", "--port", "0"), cwd=str(ROOT))
    print(f"1. users provider {provider.url}")
    recorder = start(
        [
            CLI,
            "record",
            "--consumer",
            "user-web",
            "--provider",
            "user-service",
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

    fresh = start(python("-m", "examples.users.provider", "--port", "0"), cwd=str(ROOT))
    try:
        pact = out / "user-web-user-service.json"
        result = subprocess.run(
            [CLI, "verify", str(pact), "--provider-url", fresh.url, "--state-url", f"{fresh.url}/_pact/provider_states"]
        )
    finally:
        fresh.stop()
    print()
    print(f"Pact:  {pact}")
    print(f"Hints: {out / 'user-web-user-service.states.yaml'}")
    print(
        "The pact verified against a fresh provider."
        if result.returncode == 0
        else "The pact did NOT verify against a fresh provider."
    )
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
