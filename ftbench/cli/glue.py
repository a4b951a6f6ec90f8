"""`ftbench glue CONFIG.yaml [key=value ...]`: run a GLUE experiment matrix and print its table.

Returns 0 when every planned experiment produced results, 1 when some failed (each failure is
printed and recorded; the others complete). Bad config keys raise InputError (exit 2).
"""

from __future__ import annotations

import math
from pathlib import Path

from rich.table import Table

from ftbench.core import verbosity
from ftbench.pipelines.glue_config import load_glue_config


def _fmt(value, spec: str = ".3f") -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "—"
    return "—" if math.isnan(number) else format(number, spec)


def glue_main(config: Path, overrides: list[str]) -> int:
    import pandas as pd

    from ftbench.pipelines.glue_matrix import run_matrix

    cfg = load_glue_config(config, overrides)
    console = verbosity.console()
    manifest = run_matrix(cfg, console)
    table = pd.read_csv(manifest["files"]["comparison_csv"])
    view = Table(title=f"GLUE-small: {cfg.name}")
    for col in ("task", "model", "mode", "n", "acc", "macro-F1", "MCC", "train s", "ms/example",
                "peak MiB"):
        view.add_column(col)
    for r in table.sort_values(["task", "acc"], ascending=[True, False]).itertuples():
        view.add_row(r.task, r.model, r.mode, str(r.n), _fmt(r.acc), _fmt(r.macro_f1),
                     _fmt(r.mcc), _fmt(r.train_s, ".1f"), _fmt(r.latency_ms_per_example, ".1f"),
                     _fmt(r.peak_rss_mb, ".0f"))
    console.print(view)
    console.print(f"report: {cfg.out / 'report'}/ (summary.md, comparison.csv, plots, "
                  "experiments/<model>__<task>__<mode>/)")
    done, expected = len(manifest["experiments"]), manifest["expected"]
    if done < expected:
        console.print(f"[red]{expected - done} of {expected} experiments produced no results[/]")
        return 1
    return 0
