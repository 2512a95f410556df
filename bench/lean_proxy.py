"""Our lean in-process master with no recording addon: the reference that `record` is measured against.

python bench/lean_proxy.py UPSTREAM_URL PORT
"""

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from recorder.record.proxy import serve  # noqa: E402


def main() -> int:
    upstream, port = sys.argv[1], int(sys.argv[2])
    return asyncio.run(
        serve(
            [f"reverse:{upstream}@{port}"],
            "127.0.0.1",
            "~/.mitmproxy",
            [],
            {},
            on_ready=lambda addrs: print(f"listening on http://127.0.0.1:{port}", flush=True),
            on_failure=lambda messages: print("\n".join(messages), flush=True),
        )
    )


if __name__ == "__main__":
    sys.exit(main())
