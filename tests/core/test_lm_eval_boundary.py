"""Only `ftbench/core/lm_eval_glue.py` imports lm-eval (the rest import from it)."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
GLUE = REPO / "ftbench" / "core" / "lm_eval_glue.py"
CHECKED = ("ftbench", "tasks", "benchmarks", "scripts")


def lm_eval_imports(path: Path) -> list[str]:
    """`import lm_eval...`, `from lm_eval... import`, `import_module("lm_eval...")` in a file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [node.module or ""]
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", ""))
              in ("import_module", "__import__") and node.args
              and isinstance(node.args[0], ast.Constant)):
            names = [str(node.args[0].value)]
        found += [f"{path}:{node.lineno}: {n}" for n in names
                  if n == "lm_eval" or n.startswith("lm_eval.")]
    return found


def test_no_module_outside_the_glue_imports_lm_eval():
    files = [p for d in CHECKED if (REPO / d).is_dir() for p in sorted((REPO / d).rglob("*.py"))]
    assert len(files) > 50
    offenders = [hit for p in files if p != GLUE for hit in lm_eval_imports(p)]
    assert not offenders, ("lm-eval imported outside ftbench/core/lm_eval_glue.py (route it "
                           "through the glue):\n" + "\n".join(offenders))


def test_the_checker_sees_each_import_form(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("import lm_eval\nfrom lm_eval.tasks import TaskManager\n"
                      "import importlib\nimportlib.import_module('lm_eval.utils')\n"
                      "import lm_evaluation\nfrom . import lm_eval\n")
    hits = lm_eval_imports(sample)
    assert [h.split(": ", 1)[1] for h in hits] == ["lm_eval", "lm_eval.tasks", "lm_eval.utils"]
    assert lm_eval_imports(GLUE), "the glue itself imports lm-eval"
