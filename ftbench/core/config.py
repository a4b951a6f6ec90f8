"""The config engine: YAML keys map one-to-one to typed dataclasses, validated on construction.

Why dataclasses and not a dict: a typo or a wrong type must fail *before* a model is loaded, with
a message naming the key (litgpt style). Nothing in a config is ever executed; `key=value`
overrides from the command line go through the same typed path as the file. Every config of the
project (training, study, GLUE matrix) is read here.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import difflib
import math
import types
import typing
from pathlib import Path
from typing import Any

import yaml

from ftbench.core.io import InputError, read_text


class NotFinite(InputError):
    """A number that is inf or nan: no setting means that, so no option of a union may take it."""


def finite(value: float, key: str) -> float:
    """`value` when it is a finite number; `.inf` / `.nan` (YAML) or `inf` / `nan` are refused."""
    if not math.isfinite(value):
        raise NotFinite(f"config key '{key}': must be a finite number, got {value}")
    return value


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _coerce(value: Any, tp: Any, key: str) -> Any:
    """Check (and where unambiguous, convert) `value` against the annotation `tp`."""
    if tp is typing.Any:  # a group its owner checks itself (a study's `suite_options`)
        return value
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(tp)
        if value is None:
            if type(None) in options:
                return None
            raise InputError(f"config key '{key}': must not be null")
        real = [o for o in options if o is not type(None)]
        if len(real) == 1:  # `X | None`: report X's own error (e.g. an unknown key inside `grid`)
            return _coerce(value, real[0], key)
        for option in real:
            try:
                return _coerce(value, option, key)
            except NotFinite:
                raise
            except InputError:
                continue
        raise InputError(f"config key '{key}': expected {_type_name(tp)}, got {value!r}")
    if origin is list:
        (item_tp,) = typing.get_args(tp)
        if not isinstance(value, list):
            raise InputError(f"config key '{key}': expected a list, got {value!r}")
        return [_coerce(v, item_tp, key) for v in value]
    if origin is dict:
        key_tp, value_tp = typing.get_args(tp)
        if not isinstance(value, dict):
            raise InputError(f"config key '{key}': expected a mapping, got {value!r}")
        return {_coerce(k, key_tp, key): _coerce(v, value_tp, f"{key}.{k}") for k, v in value.items()}
    if dataclasses.is_dataclass(tp):
        scalar = getattr(tp, "CONFIG_SCALAR_KEY", None)  # a bare string fills that key
        if isinstance(value, str) and scalar:
            value = {scalar: value}
        if not isinstance(value, dict):
            raise InputError(f"config key '{key}': expected a mapping, got {value!r}")
        return build(tp, value, prefix=f"{key}.")
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
    elif tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return finite(float(value), key)
        if isinstance(value, str):  # YAML 1.1 reads `2e-4` (no dot) as a string
            try:
                number = float(value)
            except ValueError:
                pass
            else:  # as text, a union may still take it as a string
                if math.isfinite(number):
                    return number
                raise InputError(f"config key '{key}': must be a finite number, got {value!r}")
    elif tp is str and isinstance(value, str):
        return value
    raise InputError(f"config key '{key}': expected {_type_name(tp)}, got {value!r}")


def build(cls: type, data: dict[str, Any], prefix: str = "") -> Any:
    """Instantiate dataclass `cls` from `data`; unknown keys are errors that list the valid keys."""
    hints = typing.get_type_hints(cls)
    valid = [f.name for f in dataclasses.fields(cls)]
    for key in data:
        if key not in valid:
            close = difflib.get_close_matches(str(key), valid, n=1)
            hint = f" (did you mean '{prefix}{close[0]}'?)" if close else ""
            raise InputError(f"unknown config key '{prefix}{key}'{hint}; valid keys: "
                             + ", ".join(prefix + v for v in valid))
    kwargs = {k: _coerce(v, hints[k], prefix + k) for k, v in data.items()}
    try:
        return cls(**kwargs)
    except TypeError:  # a required key is missing
        missing = [prefix + f.name for f in dataclasses.fields(cls) if f.name not in data
                   and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
        if not missing:
            raise
        also = f" (also missing: {', '.join(missing[1:])})" if missing[1:] else ""
        raise InputError(f"config key '{missing[0]}' is required{also}") from None


def _group_type(cls: type | None, name: str) -> type | None:
    """The dataclass that config key `name` of `cls` holds (None: not a group, or unknown)."""
    if cls is None or not dataclasses.is_dataclass(cls):
        return None
    hint = typing.get_type_hints(cls).get(name)
    for tp in (hint, *typing.get_args(hint)):  # `TrackingConfig | None` → TrackingConfig
        if dataclasses.is_dataclass(tp):
            return tp
    return None


def apply_overrides(data: dict[str, Any], overrides: list[str],
                    cls: type | None = None) -> dict[str, Any]:
    """`key=value` (dotted keys for groups: `lora.r=8`); values are parsed as YAML scalars/lists.
    A dotted override merges into its group; with the config's class `cls`, also into a group
    the file gives in its one-value form (`tracking: tensorboard` + `tracking.backends=trackio`:
    the override's backends, the group's other keys kept)."""
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise InputError(f"override {item!r} must look like key=value (e.g. learning_rate=1e-4)")
        parts = key.strip().split(".")
        node, node_cls = data, cls
        for part in parts[:-1]:
            child = node.get(part)
            group = _group_type(node_cls, part)
            scalar = getattr(group, "CONFIG_SCALAR_KEY", None)
            if child is None:
                child = node[part] = {}
            elif scalar and isinstance(child, (str, list)):
                child = node[part] = {scalar: child}
            if not isinstance(child, dict):
                raise InputError(f"override {item!r}: config key '{part}' is not a group")
            node, node_cls = child, group
        try:
            node[parts[-1]] = yaml.safe_load(raw) if raw.strip() else None
        except yaml.YAMLError as exc:
            raise InputError(f"override {item!r}: value is not valid YAML ({exc})") from None
    return data


MERGE_TAG = "tag:yaml.org,2002:merge"
ANCHOR_PREFIX = "x-"  # top-level keys that only hold YAML anchors (`x-common: &common`), as in
#                       docker compose; dropped after the merge keys are resolved


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe loader that refuses a key given twice in one mapping (YAML keeps the last one
    silently, so `name: a` … `name: b` would run a study nobody asked for)."""

    def construct_mapping(self, node, deep=False):
        seen: dict = {}
        for key_node, _ in node.value:
            if key_node.tag == MERGE_TAG:  # `<<: *common`: merged keys may be overridden
                continue
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, (str, int, float, bool)) and key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key '{key}' (first given on line {seen[key] + 1})",
                    key_node.start_mark)
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


def read_config(path: Path | str, overrides: list[str] | None = None,
                cls: type | None = None) -> dict:
    """A config YAML as a mapping, command-line overrides applied (every config file of the
    project: training, study, the GLUE matrix's older format); errors name the file and line.
    `cls`: the dataclass the mapping becomes (lets an override reach into a one-value group)."""
    path = Path(path)
    if path.is_dir():
        found = sorted(p.name for p in path.glob("*.y*ml"))
        raise InputError(f"{path}: is a folder, not a config file" + (
            f"; name one of its YAML files ({', '.join(found[:3])})" if found else ""))
    if not path.is_file():
        raise InputError(f"{path}: config file not found (working directory {Path.cwd()})")
    text = read_text(path)
    if not text.strip() or all(not line.strip() or line.lstrip().startswith("#")
                               for line in text.splitlines()):
        raise InputError(f"{path}: the config is empty; see configs/ for examples of each "
                         "command's keys")
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader) or {}
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise InputError(f"{where}: {exc.problem or 'not valid YAML'}"
                         + (f" ({exc.context})" if exc.context else "")) from None
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: must be a mapping of config keys, got a "
                         f"{type(data).__name__}")
    data = {k: v for k, v in data.items() if not str(k).startswith(ANCHOR_PREFIX)}
    return apply_overrides(data, list(overrides or []), cls)


_CONFIG_FILE: contextvars.ContextVar[Path | None] = contextvars.ContextVar("config_file",
                                                                           default=None)


@contextlib.contextmanager
def config_file(path: Path | str | None):
    """Checks of what the config file `path` says: an InputError names the file (once), and
    `relative_note` knows its folder."""
    token = _CONFIG_FILE.set(Path(path) if path else None)
    try:
        yield
    except InputError as exc:
        if path is None or str(exc).startswith(f"{path}:"):
            raise
        raise InputError(f"{path}: {exc}") from None
    finally:
        _CONFIG_FILE.reset(token)


def relative_note(value: str, config_file: Path | None = None) -> str:
    """For an error about a path that was not found: where a relative one was looked for (the
    working directory) and, when it exists beside the config file, that path; '' otherwise."""
    path = Path(value).expanduser()
    if path.is_absolute():
        return ""
    config_file = config_file or _CONFIG_FILE.get()
    note = f" (relative paths are read from the working directory {Path.cwd()}"
    if config_file is not None:
        beside = (Path(config_file).resolve().parent / path)
        note += (f"; {beside} beside the config file exists: give that path" if beside.exists()
                 else f", not from the config file's folder {Path(config_file).resolve().parent}")
    return note + ")"


def load_with_group(cls: type, path: Path | str, overrides: list[str] | None, group: str,
                    attach: str):
    """A config whose `group` is validated by the config object itself (a study's `train`
    keys, checked against its models): the rest is built as `cls`, then `cfg.<attach>(group)`;
    any error names the file."""
    data = read_config(path, overrides, cls)
    nested = data.pop(group, None) or {}
    with config_file(path):
        cfg = build(cls, data)
        getattr(cfg, attach)(nested)
        return cfg
