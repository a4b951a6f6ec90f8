"""The report's output directory: owned by the project, cleaned only of what a report wrote.

`ftbench report SRC --out DIR` refuses a non-empty DIR it did not create; re-running into its own
DIR removes the files of the earlier report that this run did not rewrite (a plot for a model no
longer in the study) — only those listed in `.ftbench/owner.json`, never a file a user put there.
`manifest.json` records what the report was made from (source file hashes, options, versions).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path

from ftbench.core.fingerprint import digest, versions
from ftbench.core.io import atomic_write_json, sha256_file
from ftbench.core.lm_eval_glue import RESULTS_GLOB
from ftbench.core.outputs import claim_dir, replace_files

KIND = "ftbench-report"
MANIFEST = "manifest.json"
_REPORT_ENTRIES = frozenset({"summary.md", "tables", "plots", "index.html", MANIFEST})


def legacy_report(out: Path) -> bool:
    """A report directory from before ownership markers: summary.md and report folders only."""
    names = {p.name for p in out.iterdir() if p.name != ".ftbench"}
    return "summary.md" in names and names <= _REPORT_ENTRIES


def check_report_dir(out: Path) -> None:
    """Claim `out` for a report (created if needed), or refuse (exit 2) a file or a foreign
    non-empty directory, before any work."""
    claim_dir(out, KIND, adopt=legacy_report)


def source_files(source: Path) -> dict[str, str]:
    """sha256 of what a report reads: a CSV, or a study's index.json and results files."""
    source = Path(source)
    if source.is_file():
        return {source.name: sha256_file(source)}
    files = [source / "index.json", *sorted(source.glob(f"*/{RESULTS_GLOB}"))]
    return {str(p.relative_to(source)): sha256_file(p) for p in files if p.is_file()}


def finish_report_dir(out: Path, written: Iterable[Path], source: Path, options: dict) -> list[str]:
    """Record what made the report, then drop the earlier report's files not rewritten now."""
    made_from = {"source": str(Path(source).resolve()), "source_files": source_files(source),
                 "options": options}
    manifest = {"kind": KIND, "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
                **made_from, "fingerprint": digest(made_from),
                "versions": versions(("pandas", "numpy", "scipy", "matplotlib", "rich"))}
    files = [*written, atomic_write_json(out / MANIFEST, manifest)]
    return replace_files(out, files)
