"""The package's import graph: every import goes to the same layer or one below, and no two
modules import each other, directly or round a loop (lazy imports inside functions count too).

Layers, lowest first, as `ftbench/__init__.py` and the diagram in docs/architecture.md state them.
The domain packages (`ftbench/suites/<domain>/`) form the top layer, "domains": they may import any
layer; that no framework module imports them is `test_domains.py`'s check.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "ftbench"
LAYERS = ["core", "metrics", "suites", "train", "eval", "report", "pipelines", "cli", "domains"]
OUTSIDE = ("tasks", "benchmarks", "scripts")


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_module(dotted: str) -> bool:
    base = REPO.joinpath(*dotted.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def raw_imports(path: Path, name: str) -> set[str]:
    """Every module `path` imports, at module level or inside a function."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            # `from ftbench.core import io` imports the submodule ftbench.core.io, not the package
            for alias in node.names:
                sub = f"{module}.{alias.name}"
                found.add(sub if is_module(sub) else module)
    return found


def imports_of(path: Path, name: str) -> set[str]:
    return {m for m in raw_imports(path, name) if m == "ftbench" or m.startswith("ftbench.")}


def graph() -> dict[str, set[str]]:
    modules = {module_name(p, REPO): p for p in PACKAGE.rglob("*.py")}
    edges = {}
    for name, path in modules.items():
        edges[name] = {m for m in imports_of(path, name) if m in modules and m != name}
    return edges


def is_domain(module: str) -> bool:
    parts = module.split(".")
    return len(parts) > 2 and parts[1] == "suites" and (PACKAGE / "suites" / parts[2]).is_dir()


def layer(module: str) -> int:
    parts = module.split(".")
    if len(parts) < 2:
        return -1  # the package itself: imports nothing
    return LAYERS.index("domains") if is_domain(module) else LAYERS.index(parts[1])


def test_every_module_sits_in_a_layer():
    for name in graph():
        if name != "ftbench":
            assert is_domain(name) or name.split(".")[1] in LAYERS, f"{name}: not in a layer"


def test_imports_go_down_only():
    upward = [f"{src} ({LAYERS[layer(src)]}) imports {dst} ({LAYERS[layer(dst)]})"
              for src, dsts in graph().items() for dst in dsts
              if src != "ftbench" and layer(dst) > layer(src) and not is_domain(dst)]
    assert not upward, "imports that go up a layer:\n" + "\n".join(sorted(upward))


def test_no_import_cycles():
    edges = graph()
    # a package's __init__ importing its own submodule (a lazy re-export) is not a cycle
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join(stack[stack.index(nxt):] + [nxt]))
            elif not state.get(nxt):
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(edges):
        if not state.get(node):
            visit(node)
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


@pytest.mark.parametrize("folder", sorted(OUTSIDE))
def test_the_package_never_imports_code_outside_it(folder):
    """tasks/, benchmarks/, scripts/ sit above every layer: they may use the package, not be used."""
    offenders = [f"{path}: {m}" for path in PACKAGE.rglob("*.py")
                 for m in raw_imports(path, module_name(path, REPO))
                 if m == folder or m.startswith(folder + ".")]
    assert not offenders, offenders


def test_the_checker_sees_relative_and_lazy_imports(tmp_path):
    sample = tmp_path / "x.py"
    sample.write_text("from . import io\nfrom .paths import TASKS_DIR\n\n"
                      "def f():\n    from ftbench.report import build\n")
    found = imports_of(sample, "ftbench.core.x")
    assert found == {"ftbench.core.io", "ftbench.core.paths", "ftbench.report.build"}
