"""The `pact-recorder` command line.

commands  `main(argv)`: each subcommand run
usage     what each subcommand accepts, with help, examples and exit codes
"""

from recorder.cli.commands import main

__all__ = ["main", "commands", "usage"]
