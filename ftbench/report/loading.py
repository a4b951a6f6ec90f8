"""Read a source (flat CSV or `ftbench eval` study dir) into one tidy per-model table.

Both sources end up as the same `ReportData`: one row per model with `model`, family /
params_b / train_size / base_model, and metric columns named as in the published CSV. A study
also brings per-sample frames and training runs. Problems that leave nothing to report raise
`InputError`; problems that only cost a part of the report become notes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ftbench.core.io import InputError
from ftbench.core.run_manifest import RunManifest
from ftbench.eval.results_files import (
    ftbench_block,
    readable_results,
    results_files,
    samples_problem,
    task_metrics,
)
from ftbench.report import checks, meta
from ftbench.report.domain import Domain, study_domain, table_domain
from ftbench.report.general_results import is_general
from ftbench.report.runs import Run, load_runs, match_run, run_facts
from ftbench.report.samples import read_model_samples
from ftbench.report.vocab import (
    COLUMN_TASK,
    GROUPS,
    KEY_METRICS,
    OVERALL,
    TASK_COLUMNS,
    metric_columns,
    use_registered_suites,
)

_NAME_COLUMNS = ("model_name", "model", "name")


@dataclass
class ReportData:
    source: Path
    kind: str  # "csv" | "study"
    table: pd.DataFrame
    samples: dict[str, dict[str, pd.DataFrame]] = field(default_factory=dict)
    runs: list[Run] = field(default_factory=list)
    specs: dict[str, dict] = field(default_factory=dict)
    manifests: dict[str, RunManifest] = field(default_factory=dict)  # model -> what it is
    notes: list[str] = field(default_factory=list)
    model_dirs: dict[str, Path] = field(default_factory=dict)  # study: model -> its results dir
    # answers mostly unparseable / at the generation budget: {model, task, problem, rate, ...}
    flags: list[dict] = field(default_factory=list)
    # study: per model x generative task, unparseable / budget-hit / truncated-prompt rates
    answer_rates: list[dict] = field(default_factory=list)
    domain: Domain = field(default_factory=Domain)  # the suite and its composite score

    @property
    def composite(self) -> dict[str, float]:
        """column -> weight of the overall score (empty: the results' suite declares none)."""
        return self.domain.composite

    @property
    def metrics(self) -> list[str]:
        return metric_columns(self.table.columns)

    def long(self) -> pd.DataFrame:
        """model x metric x value, for plotting and export."""
        return self.table.melt(id_vars=["model"], value_vars=self.metrics,
                               var_name="metric", value_name="value")


def load(source: Path, *, runs: Path | None = None, mapping: Path | None = None) -> ReportData:
    source = Path(source)
    use_registered_suites()  # a suite loaded since import (a study's `suite:` module) has columns
    if source.is_dir():
        data = load_study(source, runs)
    elif source.is_file():
        data = load_csv(source)
        if runs is not None:
            data.runs, notes = load_runs(runs)
            data.notes += notes
    else:
        raise InputError(f"{source}: no such file or directory")
    _apply_meta(data, meta.load_mapping(mapping))
    checks.reconcile_overall(data.table, data.notes, data.composite)
    data.notes += [checks.flag_note(f) for f in data.flags]
    return data


def load_csv(path: Path) -> ReportData:
    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not a readable CSV table ({exc})") from None
    name_col = next((c for c in _NAME_COLUMNS if c in frame.columns), None)
    if name_col is None:
        raise InputError(f"{path}: missing a model name column (one of {', '.join(_NAME_COLUMNS)})"
                         f"; columns are {', '.join(map(str, frame.columns))}")
    frame = frame.rename(columns={name_col: "model"})
    frame["model"] = frame["model"].astype(str)
    if frame.empty:
        raise InputError(f"{path}: the table has no rows")
    dupes = sorted(frame["model"][frame["model"].duplicated()].unique())
    if dupes:
        raise InputError(f"{path}: duplicate model name(s) {', '.join(dupes)}")
    notes = []
    metrics = metric_columns(frame.columns)
    if not metrics:
        raise InputError(f"{path}: no metric columns; expected some of "
                         f"{', '.join(KEY_METRICS[:8])}, {OVERALL}, perplexity")
    for col in metrics + [c for c in ("train_size", "params_b") if c in frame.columns]:
        before = frame[col].isna()
        frame[col] = pd.to_numeric(frame[col], errors="coerce")
        bad = frame["model"][frame[col].isna() & ~before].tolist()
        if bad:
            notes.append(f"column {col}: non-numeric value for {', '.join(bad)} treated as missing")
        empty = frame["model"][before].tolist()
        if empty:
            notes.append(f"column {col}: missing (NaN) for {', '.join(empty)}")
    checks.refuse_out_of_range(frame, metrics + ["train_size", "params_b"], str(path), notes,
                               first_line=2)
    domain = table_domain(frame.columns)
    missing = [c for c in domain.composite if c not in frame.columns]
    if missing and OVERALL not in frame.columns:
        notes.append(f"no {OVERALL} column and components missing ({', '.join(missing)}): "
                     "the overall score cannot be computed")
    flags = []
    for row in frame.to_dict("records"):  # a flat table's `<task>_unparseable` columns
        rates = {COLUMN_TASK[c]: {"unparseable": row[c]} for c in metrics
                 if c.endswith("unparseable") and pd.notna(row[c])}
        flags += checks.answer_flags(row["model"], rates, {})
    return ReportData(source=path, kind="csv", table=frame, notes=notes, flags=flags,
                      domain=domain)


def _study_models(root: Path, notes: list[str]) -> tuple[dict[str, dict], dict]:
    index_path = root / "index.json"
    index = _refresh_index(root, index_path, notes)
    if index is None and index_path.is_file():
        try:
            index = json.loads(index_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise InputError(f"{index_path}: invalid JSON ({exc.msg})") from None
    if index is not None:
        models = index.get("models") or {}
        if not models:
            raise InputError(f"{index_path}: lists no models")
        return models, index.get("settings") or {}
    dirs = [p for p in sorted(root.iterdir()) if p.is_dir() and results_files(p)]
    if not dirs:
        raise InputError(f"{root}: not a study directory (no index.json, no <model>/results_*.json)"
                         " and not a CSV file")
    notes.append(f"{index_path} missing: models taken from the result folders")
    return {p.name: {"status": "unknown", "tasks": {}} for p in dirs}, {}


def _refresh_index(root: Path, index_path: Path, notes: list[str]) -> dict | None:
    """Sharded and distributed evaluations (`--shard`, `--executor ray`) leave index.json to
    whoever reads the results next: derive it from the per-model status files when it is
    missing or older than one of them (on a read-only results folder, in memory only: the
    report never needs to write into its input)."""
    from ftbench.core.io import atomic_write_json
    from ftbench.eval.index import STATUS, derived_index

    statuses = list(root.glob(f"*/{STATUS}"))
    if not statuses or (index_path.is_file() and max(p.stat().st_mtime_ns for p in statuses)
                        <= index_path.stat().st_mtime_ns):
        return None
    index = derived_index(root)
    if index is not None:
        try:
            atomic_write_json(index_path, index)
        except OSError as exc:
            notes.append(f"{index_path} not refreshed ({exc.strerror}); the report read the "
                         "status files instead")
    return index


def load_study(root: Path, runs_dir: Path | None = None) -> ReportData:
    notes: list[str] = []
    models, settings = _study_models(root, notes)
    listed = {t for entry in models.values() for t in (entry.get("tasks") or {})}
    domain = study_domain(settings, listed, str(root / "index.json"), notes)
    rows, samples, specs, model_dirs, flags, answer_rates = [], {}, {}, {}, [], []
    seen: set[str] = set()  # every task some model has results of
    for name, entry in models.items():
        model_dir = model_dirs[name] = root / str(entry.get("dir") or name)
        specs[name] = entry.get("spec") or _results_spec(model_dir)
        bad: list[str] = []  # a truncated or wrong-shaped file is left out, not the model
        metrics = task_metrics(model_dir, bad) if model_dir.is_dir() else {}
        notes += [f"model {name}: {why}" for why in bad]
        for task, info in (entry.get("tasks") or {}).items():
            if info.get("status") != "complete" and task not in metrics:
                why = (info.get("error") or "").splitlines()
                notes.append(f"model {name}: task {task} {info.get('status', 'missing')}"
                             + (f" ({why[0][:160]})" if why else ""))
        notes += [f"model {name}: {why}; its per-sample sections are incomplete (re-run "
                  "`ftbench eval` to evaluate the task again)" for why in _samples_problems(model_dir)]
        seen.update(metrics)
        if not metrics:
            notes.append(f"model {name}: no results in {model_dir} (status "
                         f"{entry.get('status', '?')}); left out")
            continue
        row = {"model": name}
        unknown = sorted(t for t in metrics if t not in TASK_COLUMNS and t not in GROUPS
                         and not is_general(t))  # section 12 reads those
        if unknown:
            notes.append(f"model {name}: task(s) {', '.join(unknown)} have no report columns; "
                         "ignored")
        for task, values in metrics.items():
            for key, col in TASK_COLUMNS.get(task, {}).items():
                if key not in values:
                    continue
                why = checks.out_of_range(col, float(values[key]))
                if why:
                    notes.append(f"{model_dir}: results of {task}, metric {key} = "
                                 f"{values[key]!r} {why}; refused (treated as missing)")
                    continue
                row[col] = float(values[key])
        generation = checks.ftbench_info(model_dir, "generation")
        flags += checks.answer_flags(name, metrics, generation)
        answer_rates += checks.answer_rates(name, metrics, generation,
                                            checks.ftbench_info(model_dir, "prompts"))
        row["_params_eval"] = _results_params(model_dir)
        rows.append(row)
        model_samples = read_model_samples(model_dir, metrics, notes)
        if model_samples:
            samples[name] = model_samples
        else:
            notes.append(f"model {name}: no per-sample logs (samples_<task>_*.jsonl); no CIs or "
                         "paired tests for it")
    if not rows:
        raise InputError(f"{root}: no model has any results file (results_*.json)")
    if domain.suite is None:  # no index: the suite that owns the tasks found in the results
        domain = study_domain({}, seen, str(root), notes)
    runs_root = runs_dir or _runs_dir(root, settings)
    runs, run_notes = load_runs(runs_root)
    table = pd.DataFrame(rows)
    manifests = {name: RunManifest.from_dict(specs[name]["run"], f"{root}: model {name}: spec.run")
                 for name in table["model"] if (specs.get(name) or {}).get("run") is not None}
    return ReportData(source=root, kind="study", table=table, samples=samples, runs=runs,
                      specs=specs, manifests=manifests, notes=notes + run_notes,
                      model_dirs=model_dirs, flags=flags, answer_rates=answer_rates,
                      domain=domain)


def _samples_problems(model_dir: Path) -> list[str]:
    """What is wrong with the per-sample logs of a model's results (ftbench.eval.sample_logs)."""
    out = []
    for path, data in readable_results(model_dir):  # an unreadable file: named with the metrics
        why = samples_problem(path, data)
        if why:
            out.append(why)
    return out


def _results_spec(model_dir: Path) -> dict:
    """A model's spec from its newest results file (`ftbench.model`) when index.json lacks it."""
    for path in reversed(results_files(model_dir) if model_dir.is_dir() else []):
        spec = (ftbench_block(path) or {}).get("model")
        if isinstance(spec, dict):
            return spec
    return {}


def _runs_dir(root: Path, settings: dict) -> Path | None:
    for key in ("runs", "runs_dir"):
        if settings.get(key):
            return Path(settings[key])
    return root / "runs" if (root / "runs").is_dir() else None


def _results_params(model_dir: Path) -> float | None:
    """`model_num_parameters` that lm-eval records in its results config."""
    for _, data in reversed(readable_results(model_dir)):
        value = (data.get("config") or {}).get("model_num_parameters")
        if isinstance(value, (int, float)) and value > 0:
            return float(value)
    return None


def _apply_meta(data: ReportData, mapping: dict[str, dict]) -> None:
    """Fill family / params_b / train_size / base_model / method and note what stays unknown.

    A model with a run manifest gets its facts from it (the user's columns and mapping still
    win); only a model without one falls back to training-run directories and, last, to
    patterns in its name — and the notes list every fact guessed that way."""
    table = data.table
    unknown = sorted(set(mapping) - set(table["model"]))
    if unknown:
        data.notes.append(f"mapping names model(s) not in the source: {', '.join(unknown)}")
    resolved, guessed = [], {}
    for row in table.to_dict("records"):
        name = row["model"]
        columns = {k: row.get(k) for k in (*meta.FIELDS, "method")}
        if row.get("model_type") is not None:
            columns["base_model"] = row["model_type"]
        layers = [("column", columns), ("mapping", mapping.get(name, {}))]
        typed = data.manifests.get(name)
        if typed is not None:
            layers.append(("run manifest", meta.manifest_facts(typed)))
        else:
            run = match_run(name, data.specs.get(name), data.runs)
            if run is not None:
                layers.append(("manifest", run_facts(run)))
        params, how = meta.local_model_params((data.specs.get(name) or {}).get("pretrained"))
        if params is None and row.get("_params_eval"):
            params, how = row["_params_eval"], "lm-eval results"
        if params:
            layers.append((how, {"params_b": params / 1e9}))
        if typed is None:
            layers.append(("name", meta.parse_name(name)))
        facts = meta.resolve(name, layers)
        for field_name in (*meta.FIELDS, "base_model"):
            if f"{field_name}=name" in facts["meta_source"].split("; "):
                guessed.setdefault(field_name, []).append(name)
        resolved.append(facts)
    facts = pd.DataFrame(resolved, index=table.index)
    for col in facts.columns:
        table[col] = facts[col]
    data.table = table.drop(columns=["_params_eval"], errors="ignore")
    def which(models: list[str]) -> str:
        return "every model" if len(models) == len(table) else ", ".join(models)

    for field_name, models in guessed.items():
        data.notes.append(f"{field_name} guessed from the model name for {which(models)} "
                          "(no run manifest: a flat table or a study from elsewhere); check it, "
                          "or give a column or a mapping file (ftbench report --mapping FILE)")
    untyped = [m for m in table["model"] if m not in data.manifests]
    if untyped:
        data.notes.append("base models and base/fine-tuned pairs chosen by name ('base' in it) "
                          f"and training-run directories for {which(untyped)} (no run "
                          "manifest); pass --baseline NAME to ftbench report to choose the base")
    for field_name in meta.FIELDS:
        if field_name not in data.table or data.table[field_name].isna().all():
            data.notes.append(f"{field_name} unknown for every model (no column, mapping, manifest"
                              " or name pattern): sections that group by it are skipped")
