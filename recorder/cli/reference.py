"""The command-line reference of the guide (docs/cli.md): every command's `--help`, as the command line
itself prints it, at a fixed width. `python -m recorder.cli.reference > docs/cli.md` writes it again;
tests/test_docs.py checks it is the command line's own."""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator

from recorder.cli.usage import build_parser, subcommands

WIDTH = "100"  # (argparse wraps help to $COLUMNS)


def _commands(parser: argparse.ArgumentParser, name: str) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    yield name, parser
    for word, subparser in action.choices.items() if (action := subcommands(parser)) else ():
        yield from _commands(subparser, f"{name} {word}")


def markdown() -> str:
    before = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = WIDTH
    try:
        pages = [(name, parser.format_help()) for name, parser in _commands(build_parser(), "pact-recorder")]
    finally:
        if before is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = before
    out = ["# Command-line reference", "", "Every command's `--help`, as `pact-recorder` prints it.", ""]
    for name, text in pages:
        out += [f"## {name}", "", "```text", text.rstrip("\n"), "```", ""]
    return "\n".join(out)


if __name__ == "__main__":
    print(markdown(), end="")
