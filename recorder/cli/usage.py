"""What `pact-recorder` accepts: every subcommand with a description, help for each argument, examples
and exit codes (what `--help` shows), and a mistyped option answered with the subcommand's usage and a
did-you-mean. Each parser sets `run` to the name of its command; recorder.cli.commands runs it."""

from __future__ import annotations

import argparse
import difflib
import os
import sys
from pathlib import Path

from recorder import __version__
from recorder.pact.document import SPECS

EXIT_USAGE = "2 a usage error: a bad option, a file that cannot be read, a port in use (the message says which)"


def parse(argv: list[str] | None) -> argparse.Namespace:
    """The arguments, or exit 2 with the usage of the subcommand that was meant (argparse alone shows the
    top-level usage for an option only a subcommand knows, and guesses nothing)."""
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    # `prune PACT [options] -- COMMAND...`: what follows -- is the consumer's command, never our options.
    cut = argv.index("--") if "--" in argv else len(argv)
    args, unknown = parser.parse_known_args(argv[:cut])
    args.suite = argv[cut + 1 :]
    if unknown:
        chosen = _chosen(parser, args)
        options = [s for action in chosen._actions for s in action.option_strings]
        close = difflib.get_close_matches(unknown[0].split("=")[0], options, n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]}?)" if unknown[0].startswith("-") and close else ""
        chosen.error(f"unrecognized arguments: {' '.join(unknown)}{hint}")
    return args


def _chosen(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.ArgumentParser:
    """The innermost subcommand's parser (`states scaffold`, not `states`)."""
    while sub := subcommands(parser):
        parser = sub.choices[getattr(args, sub.dest)]
    return parser


def subcommands(parser: argparse.ArgumentParser) -> argparse._SubParsersAction | None:
    """A parser's subcommands (`.choices`: name -> parser), if it has any. (argparse keeps them only on a
    private action.)"""
    return next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)


def _command(sub, name: str, summary: str, examples: list[str], exits: list[str], run: str | None = None):
    """A subcommand whose --help has the summary, the examples and the exit codes."""
    epilog = "examples:\n" + "\n".join(f"  {e}" for e in examples) + "\n\nexit codes:\n"
    epilog += "\n".join(f"  {e}" for e in exits)
    p = sub.add_parser(
        name, help=summary, description=summary[0].upper() + summary[1:] + ".", epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    p.set_defaults(run=run or name)
    return p


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="pact-recorder",
        description="Record HTTP traffic into Pact contracts. `pact-recorder COMMAND --help` for each command.",
    )
    p.add_argument("--version", action="version", version=f"pact-recorder {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _record(sub)
    _infer(sub)
    _verify(sub)
    _states(sub)
    _diff(sub)
    _review(sub)
    _replay(sub)
    _prune(sub)
    _ca(sub)
    _rules(sub)
    _addon(sub)
    return p


def _verbose(p: argparse.ArgumentParser) -> None:
    p.add_argument("-v", "--verbose", action="store_true", help="log more")


def _record(sub) -> None:
    rec = _command(
        sub,
        "record",
        "run a recording proxy in front of providers (reverse or forward) and write their pacts when it stops",
        [
            "pact-recorder record --consumer user-web --provider user-service --target http://127.0.0.1:5001 \\\n"
            "      --listen 127.0.0.1:8080 --out pacts/",
            "pact-recorder record --consumer web --target users=http://127.0.0.1:5001 "
            "--target orders=http://127.0.0.1:5002",
            "pact-recorder record --consumer web --forward --provider users=users.internal:8080",
        ],
        [
            "0 the pacts were written (on Ctrl-C, SIGTERM or SIGHUP)",
            "1 no pact was written: nothing was recorded (the account says why), the proxy could not start, "
            "or writing failed",
            EXIT_USAGE,
        ],
    )
    rec.add_argument("--consumer", required=True, help="consumer name (used in the file name)")
    rec.add_argument(
        "--provider",
        action="append",
        default=[],
        metavar="NAME | NAME=HOST[:PORT]",
        help="the provider's name (with one bare --target URL); with --forward, NAME=HOST[:PORT], "
        "repeatable: traffic to that host is recorded into NAME's pact",
    )
    rec.add_argument(
        "--target",
        action="append",
        default=[],
        metavar="URL | NAME=URL",
        help="reverse mode: the provider's base URL, e.g. http://127.0.0.1:5001; NAME=URL, "
        "repeatable, for several providers (each on its own listening port: --listen's, then the next ones)",
    )
    rec.add_argument(
        "--forward",
        action="store_true",
        help="listen as an HTTP(S) proxy; record traffic to the --provider hosts, pass the rest",
    )
    rec.add_argument(
        "--upstream-ca", type=Path, metavar="PEM", help="trust this CA (or self-signed certificate) for HTTPS providers"
    )
    rec.add_argument(
        "--upstream-insecure",
        action="store_true",
        help="do not verify HTTPS providers' certificates (test environments only)",
    )
    rec.add_argument(
        "--listen",
        default="127.0.0.1:8080",
        metavar="HOST:PORT",
        help="where the consumer connects (default 127.0.0.1:8080; port 0 picks a free one)",
    )
    rec.add_argument("--confdir", default="~/.mitmproxy", help="mitmproxy's configuration folder (its CA lives there)")
    rec.add_argument(
        "--save-flows",
        type=Path,
        metavar="FILE.mitm",
        help="also keep the raw capture (redacted), to re-infer later with other rules",
    )
    rec.add_argument(
        "--flush-interval",
        type=int,
        default=0,
        metavar="SECONDS",
        help="write the pact every SECONDS during the recording (default: only at exit)",
    )
    rec.add_argument(
        "--max-body",
        default="4m",
        metavar="SIZE",
        help="bodies larger than this (512k, 4m, 1g) are streamed through untouched and recorded "
        "by content type only (default 4m); a binary request body is kept beside the states file for setups",
    )
    rec.add_argument(
        "--spool",
        default="1g",
        metavar="SIZE",
        help="when inference falls behind the traffic, exchanges wait in an encrypted spool on disk of at most "
        "SIZE instead of slowing the traffic down; 0: no spool (default 1g)",
    )
    _output(rec)
    _verbose(rec)


def _infer(sub) -> None:
    inf = _command(
        sub,
        "infer",
        "infer a pact from a recorded .mitm flow file or a HAR file, as a live recording would",
        [
            "pact-recorder infer capture.mitm --consumer user-web --provider user-service --out pacts/",
            "pact-recorder infer capture.har --consumer web --provider api --rules RULES.yaml",
        ],
        [
            "0 the pact was written",
            "1 no pact was written: nothing was recorded (an empty capture, or every exchange skipped: "
            "the account says why)",
            EXIT_USAGE,
        ],
    )
    inf.add_argument("flows", type=Path, metavar="FILE", help="a .mitm flow dump (mitmdump -w) or a .har file")
    inf.add_argument("--consumer", required=True, help="consumer name (used in the file name)")
    inf.add_argument("--provider", required=True, help="provider name (used in the file name)")
    _output(inf)
    _verbose(inf)


def _output(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--out", type=Path, default=Path("pacts"), metavar="DIR", help="output folder (default pacts/; created)"
    )
    p.add_argument("--spec", choices=sorted(SPECS), default="v4", help="Pact specification to write (default v4)")
    p.add_argument(
        "--rules",
        action="append",
        type=Path,
        default=[],
        metavar="FILE",
        help="a rule file applied after the defaults (repeatable; later files win)",
    )
    p.add_argument("--no-default-rules", action="store_true", help="leave out rules/default.yaml")
    p.add_argument(
        "--merge",
        action="store_true",
        help="merge into the existing pact: keep interactions not seen again and hand-written ones",
    )
    p.add_argument("--pending", action="store_true", help="mark newly inferred interactions pending (V4)")
    p.add_argument(
        "--no-self-check",
        dest="self_check",
        action="store_false",
        help="write the pact without first verifying it (Pact core) against the responses it was recorded from",
    )
    p.add_argument(
        "--read-every-body",
        dest="sample",
        action="store_false",
        help="read every response body, also once a shape has settled (one in 8, then fewer: see docs/rules.md)",
    )


def _verify(sub) -> None:
    ver = _command(
        sub,
        "verify",
        "verify a pact against a running provider with the Pact core, one line per interaction",
        [
            "pact-recorder verify pacts/user-web-user-service.json --provider-url http://127.0.0.1:5001 "
            "--states-from-recording",
            "pact-recorder verify PACT --provider-url URL --states states.py --header 'Authorization: Bearer ...'",
            "pact-recorder verify --broker-url https://broker.example --provider api --provider-url URL "
            "--states-from-recording --consumer-version-selector '{\"mainBranch\": true}' --publish "
            "--provider-app-version $GIT_SHA --provider-branch main",
        ],
        [
            "0 the pact verified",
            "1 it did not (each failing interaction is listed with its mismatches)",
            "2 a usage error: a provider or state URL nothing listens at, a secret nobody gave, a file that is no pact",
        ],
    )
    ver.add_argument(
        "pact",
        nargs="?",
        metavar="PACT",
        help="the pact to verify: a file, or its URL (on a Pact Broker: with the broker's credentials below); "
        "or none, with --broker-url",
    )
    ver.add_argument(
        "--provider-url", required=True, metavar="URL", help="where the provider runs, e.g. http://127.0.0.1:5001"
    )
    states_from = ver.add_mutually_exclusive_group()
    states_from.add_argument(
        "--state-url", metavar="URL", help="the provider's state-change endpoint (POST state/params/action)"
    )
    states_from.add_argument(
        "--states",
        type=Path,
        metavar="MODULE.py",
        help="a state-handler module (see `states scaffold`), run in this process",
    )
    states_from.add_argument(
        "--states-from-recording",
        nargs="?",
        const=True,
        type=Path,
        metavar="STATES.yaml",
        help="set each state up by sending the provider the recorded requests that made it (the states "
        "file beside the pact, or this one); the provider starts empty, no state code needed",
    )
    ver.add_argument(
        "--reset-command",
        metavar="CMD",
        help="with --states-from-recording: start the provider with this command, and again before each "
        "interaction with states (for a provider nothing can empty); it must serve on --provider-url",
    )
    ver.add_argument(
        "--fresh-names",
        action="store_true",
        help="with --states-from-recording, for a provider nothing can empty: the names the consumer chose for "
        "what an interaction's states make (a key, a bucket, a file; not accounts, ids or digests) that an earlier "
        "interaction left behind are fresh in every later one, not only once they collide",
    )
    ver.add_argument(
        "--reset-url",
        metavar="URL",
        help="with --states-from-recording: POST here to empty the provider before each interaction "
        "(default: the reset request the recording holds, else delete what the setups created)",
    )
    ver.add_argument(
        "--header",
        action="append",
        default=[],
        metavar="'NAME: VALUE'",
        help="fill the recording's redacted values of this header (e.g. real credentials); a header the "
        "recording did not redact is sent with every request",
    )
    ver.add_argument(
        "--secret",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="the real value of a redacted request value the recording named (states file: `secrets`); "
        "also from PACT_SECRET_<NAME>",
    )
    ver.add_argument("--report", type=Path, metavar="FILE.json", help="write machine-readable results here")
    broker = ver.add_argument_group("from a Pact Broker (or PactFlow); each option also from PACT_BROKER_*")
    broker.add_argument(
        "--broker-url",
        default=os.environ.get("PACT_BROKER_BASE_URL"),
        metavar="URL",
        help="verify the pacts the broker holds for this provider (its name: --provider) that the selectors "
        "choose (none: the latest of each consumer), each with the states it carries",
    )
    broker.add_argument("--provider", metavar="NAME", help="with --broker-url: the provider whose pacts to verify")
    broker.add_argument(
        "--consumer-version-selector",
        action="append",
        default=[],
        metavar="JSON",
        help="with --broker-url: which consumer versions, as the broker takes them, e.g. '{\"mainBranch\": true}', "
        "'{\"deployedOrReleased\": true}' (repeat for several)",
    )
    broker.add_argument(
        "--broker-token", default=os.environ.get("PACT_BROKER_TOKEN"), metavar="TOKEN", help="a bearer token"
    )
    broker.add_argument(
        "--broker-username", default=os.environ.get("PACT_BROKER_USERNAME"), metavar="USER", help="Basic credentials"
    )
    broker.add_argument(
        "--broker-password", default=os.environ.get("PACT_BROKER_PASSWORD"), metavar="PASSWORD", help="their password"
    )
    broker.add_argument(
        "--publish",
        action="store_true",
        help="publish the verification results to the broker the pacts came from (needs --provider-app-version), "
        "so that `pact broker can-i-deploy` can answer",
    )
    broker.add_argument("--provider-app-version", metavar="VERSION", help="the provider version the results are for")
    broker.add_argument("--provider-branch", metavar="BRANCH", help="the provider's branch the results are for")
    broker.add_argument("--build-url", metavar="URL", help="the CI build that verified, sent with the results")
    _verbose(ver)


def _states(sub) -> None:
    states = _command(
        sub,
        "states",
        "work with the provider states a pact needs",
        [
            "pact-recorder states scaffold PACT --out states.py",
            "pact-recorder states scaffold PACT --from-recording --out states.py",
        ],
        ["0 done", EXIT_USAGE],
    )
    states_sub = states.add_subparsers(dest="states_command", required=True, metavar="ACTION", help="what to do")
    scaffold = _command(
        states_sub,
        "scaffold",
        "write a Python module of state handlers for a pact (one function per state, STATE_HANDLERS, handle)",
        [
            "pact-recorder states scaffold pacts/user-web-user-service.json --out states.py",
            "pact-recorder states scaffold PACT --from-recording --out states.py",
        ],
        ["0 the module was written (or printed)", EXIT_USAGE],
        run="states scaffold",
    )
    scaffold.add_argument("pact", type=Path, metavar="PACT", help="the pact whose states the module handles")
    scaffold.add_argument("--out", type=Path, metavar="FILE", help="where to write it (default: print it)")
    scaffold.add_argument(
        "--from-recording",
        action="store_true",
        help="handlers of states the recording made send its recorded requests (from the states file)",
    )
    _verbose(scaffold)


def _diff(sub) -> None:
    dif = _command(
        sub,
        "diff",
        "what changed between two pacts, each change breaking, to review or non-breaking, with its reason",
        [
            "pact-recorder diff old/web-api.json pacts/web-api.json",
            "pact-recorder diff OLD NEW --format md > pact-changes.md",
        ],
        ["0 nothing breaking", "1 something is breaking", EXIT_USAGE],
    )
    dif.add_argument("old", type=Path, metavar="OLD", help="the pact before")
    dif.add_argument("new", type=Path, metavar="NEW", help="the pact after")
    dif.add_argument("--format", choices=("text", "md", "json"), default="text", help="output format (default text)")
    dif.add_argument(
        "--changed",
        choices=("consumer", "provider"),
        default="consumer",
        help="what NEW is: a new consumer version (default), or the same consumer recorded against a "
        "changed provider (then a field that disappeared is what the provider broke)",
    )
    _verbose(dif)


def _review(sub) -> None:
    rev = _command(
        sub,
        "review",
        "what was inferred and why, with the fields a reviewer should look at",
        [
            "pact-recorder review pacts/web-api.json",
            "pact-recorder review pacts/web-api.json --format html --out review.html",
            "pact-recorder review PACT --decisions decisions.yaml --write-rules reviewed.yaml",
        ],
        ["0 the report (or the rule file) was written", EXIT_USAGE],
    )
    rev.add_argument("pact", type=Path, metavar="PACT", help="the pact to review")
    rev.add_argument(
        "--format", choices=("text", "md", "html", "json"), default="text", help="output format (default text)"
    )
    rev.add_argument("--out", type=Path, metavar="FILE", help="write the report here (default: print it)")
    rev.add_argument(
        "--decisions",
        type=Path,
        metavar="FILE.yaml",
        help="the reviewer's accept/override per field (see docs/review.md), for --write-rules",
    )
    rev.add_argument(
        "--write-rules", type=Path, metavar="FILE.yaml", help="write the decisions as a rule file for `infer --rules`"
    )
    _verbose(rev)


def _replay(sub) -> None:
    rep = _command(
        sub,
        "replay",
        "answer as the provider from a recorded pact, so that the consumer's suite runs offline",
        [
            "pact-recorder replay pacts/user-web-user-service.json --listen 127.0.0.1:8080",
            "pact-recorder replay PACT --listen 127.0.0.1:0   # the listening line says the port",
        ],
        ["0 stopped (Ctrl-C or SIGTERM), after a summary of what it answered", EXIT_USAGE],
    )
    rep.add_argument("pact", type=Path, metavar="PACT", help="the pact that answers")
    rep.add_argument(
        "--listen", default="127.0.0.1:8080", metavar="HOST:PORT", help="default 127.0.0.1:8080; port 0 picks one"
    )
    _verbose(rep)


def _prune(sub) -> None:
    prn = _command(
        sub,
        "prune",
        "leave out response fields the consumer's tests (COMMAND) do not use, by running them on replay",
        [
            "pact-recorder prune pacts/user-web-user-service.json --env USERS_URL -- pytest examples/users/tests",
            "pact-recorder prune PACT --jobs 2 --time-budget 300 --out pruned.json -- pytest tests/",
        ],
        ["0 the pruned pact and its rule file were written", EXIT_USAGE + "; a suite that fails on replay"],
    )
    prn.usage = "pact-recorder prune PACT [options] -- COMMAND..."
    prn.add_argument("pact", type=Path, metavar="PACT", help="the pact to prune (overwritten unless --out)")
    prn.add_argument("--env", action="append", default=[], metavar="VARIABLE", help="set VARIABLE to the replay URL")
    prn.add_argument("--jobs", type=int, default=2, metavar="N", help="suite runs at once (default 2)")
    prn.add_argument("--max-runs", type=int, default=200, metavar="N", help="stop after N runs (default 200)")
    prn.add_argument("--time-budget", type=float, default=600, metavar="SECONDS", help="stop after this (default 600)")
    prn.add_argument("--seed", type=int, default=0, help="the order fields are tried in (default 0)")
    prn.add_argument("--out", type=Path, metavar="FILE", help="write the pruned pact here (default: over PACT)")
    _verbose(prn)


def _ca(sub) -> None:
    ca = _command(
        sub,
        "ca",
        "where the recorder's CA certificate is, and how a consumer recording HTTPS trusts it",
        ["pact-recorder ca", "pact-recorder ca --bundle ca-bundle.pem   # system CAs + ours, for REQUESTS_CA_BUNDLE"],
        ["0 done", EXIT_USAGE],
    )
    ca.add_argument("--confdir", default="~/.mitmproxy", help="mitmproxy's configuration folder")
    ca.add_argument("--bundle", type=Path, metavar="FILE", help="write the system CAs plus ours into FILE")
    _verbose(ca)


def _rules(sub) -> None:
    rules = _command(
        sub,
        "rules",
        "check rule files, or show the effective rules",
        ["pact-recorder rules check RULES.yaml", "pact-recorder rules show RULES.yaml"],
        ["0 done", "2 problems were found in the rule files (each is listed)"],
    )
    rules_sub = rules.add_subparsers(dest="rules_command", required=True, metavar="ACTION", help="what to do")
    check = _command(
        rules_sub,
        "check",
        "validate rule files with the defaults they extend: every problem at once, with file, line and rule",
        ["pact-recorder rules check RULES.yaml", "pact-recorder rules check base.yaml team.yaml --no-default-rules"],
        ["0 the rules are valid", "2 problems were found (each is listed) or a file cannot be read"],
        run="rules check",
    )
    check.add_argument("files", nargs="+", type=Path, metavar="FILE", help="rule files, applied in this order")
    show = _command(
        rules_sub,
        "show",
        "print the effective merged rules (the defaults, then each file)",
        ["pact-recorder rules show", "pact-recorder rules show RULES.yaml"],
        ["0 done", "2 problems were found in the rule files (each is listed)"],
        run="rules show",
    )
    show.add_argument("files", nargs="*", type=Path, metavar="FILE", help="rule files, applied in this order")
    for p_ in (check, show):
        p_.add_argument("--no-default-rules", action="store_true", help="leave out rules/default.yaml")
        _verbose(p_)


def _addon(sub) -> None:
    addon = _command(
        sub,
        "addon",
        "print the path of the mitmproxy addon script (for mitmdump -s), from the installed package",
        [
            'mitmdump -s "$(pact-recorder addon)" --listen-host 127.0.0.1 --mode reverse:http://127.0.0.1:5001 \\\n'
            "      --set pact_consumer=user-web --set pact_provider=user-service --set pact_out=pacts/",
            "pact-recorder addon",
        ],
        ["0 done"],
    )
    _verbose(addon)
