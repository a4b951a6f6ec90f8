"""`ftbench report`: turn finished results (a study directory or a flat CSV) into the analysis.

Modules, one job each: `vocab` (one metric vocabulary for both sources), `meta` (family /
params / train size), `runs` (training manifests and loss histories), `samples` (per-sample
logs), `checks` (value ranges, the overall score, answer health), `loading` (the tidy
per-model table), `intervals` (Wilson and BCa), `stats` / `scaling` (paired tests,
correlations, curve fits), `tables` / `compare` / `significance` / `baselines` / `forgetting`
(the sections), `resolution` / `recommend` (what the test set can resolve), `findings` (the
sentences first), `plots`, `markdown`, `terminal`, `page` (index.html), and
`build.report_main` which runs them all.
"""

from __future__ import annotations


def __getattr__(name: str):
    # keep `import ftbench.report` cheap: pandas/matplotlib load only when report_main is used
    if name == "report_main":
        from ftbench.report.build import report_main

        return report_main
    raise AttributeError(name)


__all__ = ["report_main"]
