"""The command line ``python -m brian2cppyy info [--json] [--no-self-test]
[--timeout S]`` and ``python -m brian2cppyy --version``."""

import argparse
import json

__all__ = ["main"]


def _parser():
    from .. import __version__

    parser = argparse.ArgumentParser(
        prog="python -m brian2cppyy", description="brian2cppyy: the cppyy target for Brian2"
    )
    parser.add_argument("--version", action="version", version=f"brian2cppyy {__version__}")
    commands = parser.add_subparsers(dest="command")
    info_parser = commands.add_parser(
        "info", help="versions, Cling flags, precompiled header, cache, self-test"
    )
    info_parser.add_argument("--json", action="store_true", help="print the report as JSON")
    info_parser.add_argument("--no-self-test", action="store_true",
                             help="only start Cling, do not run the self-test network")
    info_parser.add_argument("--timeout", type=float, default=600,
                             help="seconds to wait for Cling and the self-test (default 600)")
    return parser


def main(argv=None):
    """Run the command line; returns the exit status (0: Cling started and
    the self-test passed; 1: they did not; 2: no command given)."""
    from .report import info
    from .text import format_report

    parser = _parser()
    args = parser.parse_args(argv)
    if args.command != "info":
        parser.print_help()
        return 2
    report = info(run_self_test=not args.no_self_test, timeout=args.timeout)
    print(json.dumps(report, indent=2) if args.json else format_report(report))
    return 0 if report["ok"] else 1
