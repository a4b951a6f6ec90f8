"""The command line is generated from the commands' signatures (ftbench/cli/signature.py): a
parameter's name, type, default and `Opt` are its option; nothing is kept twice."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Annotated

import pytest

from ftbench.cli.main import call_handler
from ftbench.cli.signature import Opt, add_command

CALLS: list[dict] = []


def _command(
    *,
    source: Annotated[Path, Opt("input", positional=True)],
    out: Annotated[Path, Opt("output folder")],
    top_n: Annotated[int, Opt("how many")] = 5,
    ratio: Annotated[float | None, Opt("a share")] = None,
    label: Annotated[str | None, Opt("a label", choices=("a", "b"))] = None,
    force: Annotated[bool, Opt("redo")] = False,
    template: Annotated[bool | None, Opt("use it", flag="--apply-template", negatable=True,
                                         also_off="--no-template", also_off_help="older")] = None,
    words: Annotated[list[str], Opt("more words", positional=True)] = (),
) -> None:
    CALLS.append(dict(locals()))


def _parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="x", exit_on_error=False)
    add_command(root.add_subparsers(dest="command"), "run", _command, "run it")
    return root


def _call(argv: list[str]) -> dict:
    """What `ftbench` does with a command line: parse, then call the function by keyword."""
    assert call_handler(_parser().parse_args(["run", *argv])) == 0
    return CALLS.pop()


def test_names_types_and_defaults_come_from_the_signature():
    got = _call(["in.jsonl", "k=v", "--out", "o", "--top-n", "7", "--ratio", "0.5"])
    assert got == {"source": Path("in.jsonl"), "out": Path("o"), "top_n": 7, "ratio": 0.5,
                   "label": None, "force": False, "template": None, "words": ["k=v"]}
    assert _call(["s", "--out", "o", "--force", "--label", "b"])["force"] is True
    assert _call(["s", "--out", "o", "--apply-template"])["template"] is True
    assert _call(["s", "--out", "o", "--no-apply-template"])["template"] is False
    assert _call(["s", "--out", "o", "--no-template"])["template"] is False


def test_a_parameter_without_a_default_is_a_required_option(capsys):
    with pytest.raises(SystemExit):
        _parser().parse_args(["run", "s"])
    assert "--out" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        _parser().parse_args(["run", "s", "--out", "o", "--label", "c"])  # not a choice
    with pytest.raises(SystemExit):
        _parser().parse_args(["run", "s", "--out", "o", "--top-n", "many"])  # not an int


def test_a_parameter_without_its_opt_is_refused_when_the_parser_is_built():
    def bare(*, out: Path) -> None:
        return None

    with pytest.raises(TypeError, match=r"bare\(out\)"):
        add_command(argparse.ArgumentParser().add_subparsers(), "bare", bare, "no")
