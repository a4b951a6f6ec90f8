"""Which suites exist: the built-in ones and those a study config loads from a module file.

A study names its suite with `suite:` — a built-in name or the path of a Python file that
defines `SUITE = Suite(...)` (`ftbench.suites.base.Suite`); such a file is imported once per
process and its suite joins the registry, so the evaluation fingerprint and the report
vocabulary know its tasks too. The built-in suites are the domain packages listed in `BUILTIN`,
imported by name here and nowhere else in the framework: every other module asks the registry.
A suite travels with its results as a record (`suite_record`): `ftbench report DIR` reloads
the same suite from it (`suite_from_record`).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from dataclasses import replace
from pathlib import Path

from ftbench.core.io import InputError, sha256_file
from ftbench.suites.base import Suite

# the built-in domains: suite name -> the module that defines its SUITE (imported with this one)
BUILTIN_MODULES: dict[str, str] = {
    "bmw": "ftbench.suites.bmw.suite",
    "glue": "ftbench.suites.glue.suite",
    "general_small": "ftbench.suites.general.suite",
    "chat": "ftbench.suites.chat.suite",
}
DEFAULT = "bmw"  # the suite of a study config, a data command or a tiny model that names none
_loaded: dict[str, Suite] = {}  # suites loaded from module files, by name

BUILTIN: dict[str, Suite] = {name: importlib.import_module(module).SUITE
                             for name, module in BUILTIN_MODULES.items()}


def all_suites() -> list[Suite]:
    """Built-in suites first, then those loaded in this process."""
    return [*BUILTIN.values(), *_loaded.values()]


def is_module_path(ref: str) -> bool:
    return ref.endswith(".py") or "/" in ref or "\\" in ref


def get_suite(ref: str, where: str = "suite") -> Suite:
    """A suite by built-in name, by the name of one already loaded, or from a module file;
    anything else is an InputError naming `where` (e.g. "config key 'suite'")."""
    if not isinstance(ref, str) or not ref.strip():
        raise InputError(f"{where}: expected a suite name or a module path, got {ref!r}")
    if is_module_path(ref):
        return load_suite_file(Path(ref), where)
    suite = BUILTIN.get(ref) or _loaded.get(ref)
    if suite is None:
        raise InputError(f"{where}: unknown suite {ref!r}; built-in: {', '.join(BUILTIN)}, or "
                         "the path of a .py file that defines SUITE = Suite(...)")
    return suite


def load_suite_file(path: Path, where: str = "suite") -> Suite:
    """Import `path` (once per process) and register the `SUITE` it defines."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise InputError(f"{where}: suite module {path} not found")
    path = path.resolve()
    for suite in _loaded.values():
        if suite.origin == str(path):
            return suite
    name = "ftbench_suite_" + hashlib.sha256(str(path).encode()).hexdigest()[:12]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look modules up here
    try:
        spec.loader.exec_module(module)
    except InputError:
        raise
    except Exception as exc:
        sys.modules.pop(name, None)
        raise InputError(f"{where}: importing {path} failed ({type(exc).__name__}: "
                         f"{str(exc).splitlines()[0] if str(exc) else ''})") from None
    suite = getattr(module, "SUITE", None)
    if not isinstance(suite, Suite):
        raise InputError(f"{where}: {path} defines no SUITE = Suite(...) "
                         f"(ftbench.suites.base.Suite); found {type(suite).__name__}")
    if suite.name in BUILTIN or suite.name in _loaded:
        other = BUILTIN.get(suite.name) or _loaded[suite.name]
        raise InputError(f"{where}: {path} defines suite {suite.name!r}, a name already taken by "
                         f"{other.origin}; give it another name")
    clash = next((s for s in all_suites() if s.task_group == suite.task_group), None)
    if clash is not None:
        raise InputError(f"{where}: {path}: task group {suite.task_group!r} belongs to suite "
                         f"{clash.name!r} already")
    suite = replace(suite, origin=str(path))
    _loaded[suite.name] = suite
    return suite


def suite_of_task(task: str) -> Suite | None:
    """The suite an lm-eval task or group name belongs to, if any."""
    return next((s for s in all_suites() if s.owns(task)), None)


def general_task_prefixes() -> tuple[str, ...]:
    """The task-name prefixes of the general-skills suites (`Suite.role == "general"`): the
    benchmarks the report's forgetting section compares base and fine-tuned models on."""
    return tuple(f"{s.task_group}_" for s in all_suites() if s.role == "general")


def data_location_keys() -> tuple[str, ...]:
    """Metadata keys that name a data location: results compare their content hash, not the path."""
    return tuple(s.data.metadata_key for s in all_suites() if s.data is not None)


def suite_record(suite: Suite, composite: dict[str, float] | None = None) -> dict:
    """What results record of the suite that made them: a built-in name, or a module file and
    its content hash (so a report can reload it and say when it changed); `composite`: a
    study's own weights of its overall score (`report.composite`), kept for the report."""
    weights = {"composite": dict(composite)} if composite else {}
    if suite.origin == "built-in":
        return {"name": suite.name, "origin": "built-in", **weights}
    path = Path(suite.origin)
    return {"name": suite.name, "origin": str(path),
            "sha256": sha256_file(path) if path.is_file() else None, **weights}


def suite_from_record(record: dict, where: str) -> tuple[Suite | None, str | None]:
    """The suite a results record names, and a note when it cannot be the same one (the module
    moved, changed or no longer loads); (None, note) when it cannot be loaded at all."""
    name, origin = record.get("name"), record.get("origin")
    if origin == "built-in":
        if name in BUILTIN:
            return BUILTIN[name], None
        return None, f"{where}: built-in suite {name!r} is not in this ftbench version"
    path = Path(str(origin or ""))
    if not path.is_file():
        return None, (f"{where}: suite module {path} (suite {name!r}) not found: its tasks have "
                      "no report columns")
    try:
        suite = load_suite_file(path, where)
    except InputError as exc:
        return None, str(exc)
    if record.get("sha256") and sha256_file(path) != record["sha256"]:
        return suite, (f"{where}: suite module {path} changed since these results were made; "
                       "the report uses it as it is now")
    return suite, None
