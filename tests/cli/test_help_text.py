"""Every option and argument of every `ftbench` subcommand says what it does in `--help`
(issue 25: the habits of the tools researchers use; an option without help is a guess)."""

from __future__ import annotations

import argparse

from ftbench.cli.main import build_parser


def _parsers(parser: argparse.ArgumentParser, prog: str):
    yield prog, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _parsers(sub, f"{prog} {name}")


def undocumented(parser: argparse.ArgumentParser) -> list[str]:
    """`prog option` for each action of `parser` and its subcommands without help text."""
    missing = []
    for prog, p in _parsers(parser, parser.prog):
        for action in p._actions:
            if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
                continue
            if not (action.help or "").strip() or action.help == argparse.SUPPRESS:
                name = "/".join(action.option_strings) or action.dest
                missing.append(f"{prog} {name}")
    return missing


def test_every_option_of_every_subcommand_has_help():
    missing = undocumented(build_parser())
    assert not missing, "options without help=: " + ", ".join(missing)


def test_the_walk_sees_subcommands_and_finds_a_bare_option():
    p = argparse.ArgumentParser(prog="x")
    sub = p.add_subparsers()
    s = sub.add_parser("run")
    s.add_argument("--bare")
    s.add_argument("--told", help="what it does")
    assert undocumented(p) == ["x run --bare"]
