"""The command line generated from the commands' signatures (litgpt's shape).

A command is a typed function; each parameter is one option, named after it (`top_n` is
`--top-n`), typed and defaulted by the signature, required when it has no default, and described
by the `Opt` in its annotation (`Annotated[int, Opt("…")]`). The parser and the call are made from
the same signature, so an option cannot lose its parameter or its default, and no positional
list is kept by hand.
"""

from __future__ import annotations

import argparse
import inspect
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Opt:
    """How one parameter appears on the command line."""

    help: str
    flag: str | None = None  # default: "--" + the parameter's name with dashes
    parse: Callable[[str], Any] | None = None  # argparse `type`; default: int/float/Path from the hint
    choices: tuple[str, ...] | None = None
    metavar: str | None = None
    positional: bool = False  # a list[str] positional takes any number of words (nargs="*")
    negatable: bool = False  # a bool | None: --flag / --no-flag, None when neither is given
    also_off: str | None = None  # an older spelling that turns a negatable option off
    also_off_help: str | None = None


_PARSED_BY_TYPE = (int, float, Path)


def add_command(subparsers, name: str, command: Callable, help: str) -> argparse.ArgumentParser:
    """A subcommand whose options are `command`'s parameters; `main` calls it by keyword."""
    parser = subparsers.add_parser(name, help=help)
    parser.set_defaults(handler=command)
    add_options(parser, command)
    return parser


def add_options(parser: argparse.ArgumentParser, command: Callable) -> None:
    """`command`'s parameters as `parser`'s options (each annotated with its `Opt`)."""
    hints = typing.get_type_hints(command, include_extras=True)
    for param in inspect.signature(command).parameters.values():
        hint = hints[param.name]
        opts = [m for m in getattr(hint, "__metadata__", ()) if isinstance(m, Opt)]
        if len(opts) != 1:
            raise TypeError(f"{command.__name__}({param.name}): annotate it Annotated[T, Opt(...)]")
        _add_option(parser, param, _plain_type(hint), opts[0])


def _plain_type(hint) -> Any:
    """`Annotated[int | None, …]` → int: the type the option's words are parsed to."""
    hint = typing.get_args(hint)[0] if typing.get_origin(hint) is typing.Annotated else hint
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        hint = args[0] if len(args) == 1 else hint
    return hint


def _add_option(parser: argparse.ArgumentParser, param: inspect.Parameter, kind: Any,
                opt: Opt) -> None:
    required = param.default is inspect.Parameter.empty
    default = None if required else param.default
    parse = opt.parse or (kind if kind in _PARSED_BY_TYPE else None)
    extra = {k: v for k, v in {"choices": opt.choices, "metavar": opt.metavar}.items()
             if v is not None}
    if opt.positional:
        if typing.get_origin(kind) is list:
            parser.add_argument(param.name, nargs="*", help=opt.help)
        else:
            parser.add_argument(param.name, type=parse, help=opt.help, **extra)
        return
    flag = opt.flag or "--" + param.name.replace("_", "-")
    if opt.negatable:
        parser.add_argument(flag, dest=param.name, action=argparse.BooleanOptionalAction,
                            default=default, help=opt.help)
        if opt.also_off:
            parser.add_argument(opt.also_off, dest=param.name, action="store_false",
                                help=opt.also_off_help)
    elif kind is bool:
        parser.add_argument(flag, dest=param.name, action="store_true", help=opt.help)
    elif required:
        parser.add_argument(flag, dest=param.name, type=parse, required=True, help=opt.help,
                            **extra)
    else:
        parser.add_argument(flag, dest=param.name, type=parse, default=default, help=opt.help,
                            **extra)
