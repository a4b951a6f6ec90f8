"""The report's headline tables and its plots to the experiment trackers (one run, `report`).

Why these files: they are what the report's page leads with (the ranking, base vs fine-tuned,
the findings); the trackers show them next to the runs, read from the report folder itself so
they cannot differ from it.
"""

from __future__ import annotations

import csv
from pathlib import Path

from ftbench.core.tracking import TrackingConfig, log_run

HEADLINE_TABLES = ("models.csv", "base_vs_finetuned.csv", "findings.csv")
RUN = "report"


def report_payload(report_dir: Path) -> tuple[dict[str, list[dict]], dict[str, Path]]:
    """(`report/<table>` → rows, `report/plots/<name>` → PNG) of what the report wrote."""
    tables = {}
    for name in HEADLINE_TABLES:
        path = Path(report_dir) / "tables" / name
        if path.is_file():
            with path.open(encoding="utf-8", newline="") as f:
                tables[f"report/{path.stem}"] = list(csv.DictReader(f))
    images = {f"report/plots/{p.stem}": p
              for p in sorted((Path(report_dir) / "plots").glob("*.png"))}
    return tables, images


def track_report(tracking: TrackingConfig | None, report_dir: Path) -> bool:
    """Log the report's tables and plots; False when there is nothing to send to."""
    if tracking is None or not tracking.backends:
        return False
    tables, images = report_payload(report_dir)
    log_run(tracking, RUN, {}, tables=tables, images=images)
    return True
