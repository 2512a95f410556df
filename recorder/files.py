"""Files in and out: atomic writes, reading a pact, the names of the files beside it (captures are read by
recorder.capture.readers)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

SIDECARS = {"states": ".states.yaml", "evidence": ".evidence.json", "bodies": ".bodies"}
"""What is written beside CONSUMER-PROVIDER.json: the setups of its states (read by `verify
--states-from-recording`), a V3 pact's evidence (V3 has no comments), the binary bodies its setups send."""


def pact_file(folder: Path, consumer: str, provider: str) -> Path:
    return folder / f"{consumer}-{provider}.json"


def beside(path: Path, kind: str) -> Path:
    """The file of `kind` (a key of SIDECARS) beside a pact, or beside another of its files."""
    name = path.name
    for suffix in (*SIDECARS.values(), ".json"):
        if name.endswith(suffix):
            name = name.removesuffix(suffix)
            break
    return path.with_name(name + SIDECARS[kind])


def write_atomic(path: Path, text: str) -> None:
    """Write via a temp file in the same folder, fsync, then rename: readers never see a partial file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it 0600; give it the mode a plain open() would
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def load_pact(path: Path) -> dict:
    """A pact file as data; ValueError with a message for the user when it is not one."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise ValueError(f"{path}: cannot read the pact ({e.strerror})") from None
    except ValueError as e:
        raise ValueError(f"{path}: not a JSON pact file ({e})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("interactions"), list):
        raise ValueError(f"{path}: not a pact file (no 'interactions' list)")
    return doc


def body_content(body: Any) -> Any:
    """A pact body's content as data: a V4 body unwrapped (JSON kept as the text sent, `"encoded":
    "json"`, parsed), a V3 body as it is."""
    if not isinstance(body, dict) or "content" not in body:
        return body
    content = body["content"]
    if body.get("encoded") == "json" and isinstance(content, str):
        try:
            return json.loads(content)
        except ValueError:
            return content
    return content
