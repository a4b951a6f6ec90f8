"""Every subcommand is a function whose parameters are its options: `main` calls it by keyword
(`call_handler`), so an option without a parameter, or a parameter without an option, fails
here rather than in a user's run."""

from __future__ import annotations

import argparse
import inspect

import pytest

from ftbench.cli.main import build_parser

BOOKKEEPING = {"command", "data_command", "handler", "help", "verbosity"}


def _leaves(parser: argparse.ArgumentParser, path=()):
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield " ".join(path), parser
        return
    for name, child in subs[0].choices.items():
        yield from _leaves(child, (*path, name))


LEAVES = dict(_leaves(build_parser()))


@pytest.mark.parametrize("command", sorted(LEAVES))
def test_parameters_are_the_options(command):
    parser = LEAVES[command]
    handler = parser.get_default("handler")
    assert handler is not None, f"{command}: no handler"
    dests = {a.dest for a in parser._actions} - BOOKKEEPING
    params = set(inspect.signature(handler).parameters)
    assert params == dests, f"{command}: parameters {sorted(params)} vs options {sorted(dests)}"


def test_a_command_runs_through_its_handler(capsys):
    from ftbench.cli.main import main
    from ftbench.core.paths import TASKS_DIR

    assert main(["tasks-path"]) == 0
    assert capsys.readouterr().out.strip() == str(TASKS_DIR)
