"""Option parsing of `ftbench` (ftbench/cli/main.py): values the parser itself checks."""

from __future__ import annotations

import argparse
import os

import pytest

from ftbench.cli.arg_types import parse_max_gen_toks
from ftbench.cli.main import build_parser


def test_max_gen_toks_option():
    assert parse_max_gen_toks("256") == 256
    assert parse_max_gen_toks("bmw_summarization=64,bmw_title=16") == {"bmw_summarization": 64,
                                                                 "bmw_title": 16}
    for bad in ("x", "0", "bmw_title=-1", "bmw_title=abc"):
        with pytest.raises(argparse.ArgumentTypeError, match="--max-gen-toks"):
            parse_max_gen_toks(bad)
    args = build_parser().parse_args(["eval", "--models", "a=/x", "--out", "o", "--thinking",
                                      "--max-gen-toks", "bmw_type=32"])
    assert args.thinking is True and args.max_gen_toks == {"bmw_type": 32}
    assert build_parser().parse_args(["eval", "--models", "a=/x", "--out", "o"]).thinking is False


def test_quiet_and_verbose_belong_to_the_command_not_to_its_caller(monkeypatch, capsys):
    """`main([... "-q"])` in a caller's process (a notebook, a test) leaves the caller's
    verbosity as it was: the processes the caller starts later are not silenced."""
    from ftbench.cli.main import main
    from ftbench.core import verbosity

    monkeypatch.delenv(verbosity.ENV, raising=False)
    assert main(["tasks-path", "-q"]) == 0
    assert verbosity.ENV not in os.environ
    monkeypatch.setenv(verbosity.ENV, "verbose")
    assert main(["tasks-path", "-q"]) == 0
    assert verbosity.level() == "verbose"
