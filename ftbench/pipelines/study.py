"""Run a study's stages in order; each reuses its outputs only when they match the config now.

The study directory is owned by the project (`.ftbench/owner.json`; a foreign non-empty
`out_dir` is refused) and locked while a study runs. Its `manifest.json` records the config (and
its hash), package versions, and a status and wall time per stage, so an interrupted study says
where it stopped and a re-run finishes without redoing completed work. Every stage checks the
fingerprints of what it would reuse (data: raw file + settings + prompts + code; training runs:
config + base model + train file + versions; results: model files + settings): when something
changed and later outputs were made from the old state, the study stops before any work with a
message naming the change, unless `force` (then the stale outputs are recomputed).

What the suite adds (`Suite.study`, `study_variants.py`) runs in the same stages: the data stage
prepares one folder per part, the train stage one grid per part, the eval stage evaluates every
lm model on its own tasks in one invocation and then the models of the suite's own kinds.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from rich.console import Console
from rich.rule import Rule

from ftbench.core import interrupts
from ftbench.core.config import config_file
from ftbench.core.fingerprint import changes, digest
from ftbench.core.io import InputError, atomic_write_json, read_json
from ftbench.core.locking import dir_lock
from ftbench.core.outputs import check_claim, claim_dir
from ftbench.core.paths import SAMPLE_SOURCE
from ftbench.core.shard import Shard
from ftbench.core.verbosity import libraries_to
from ftbench.eval.index import package_versions
from ftbench.pipelines.study_config import STAGES, TINY, StudyConfig
from ftbench.suites.sources import check_eval_data

KIND = "ftbench-study"
LAYOUT = frozenset({"data", "models", "runs", "results", "report", "raw", "tracking",
                    "manifest.json"})


def _downstream(cfg: StudyConfig) -> list[str]:
    """What later stages have made in the study (it would be stale if the data changed)."""
    from ftbench.eval.results_files import results_files
    from ftbench.train.grid import is_complete

    runs = [p for p in cfg.runs_dir.iterdir() if is_complete(p)] if cfg.runs_dir.is_dir() else []
    results = ([p for p in cfg.results_dir.iterdir() if p.is_dir() and results_files(p)]
               if cfg.results_dir.is_dir() else [])
    out = []
    if runs:
        out.append(f"{len(runs)} trained run(s) in {cfg.runs_dir}")
    if results:
        out.append(f"results of {len(results)} model(s) in {cfg.results_dir}")
    return out


def _stage_data(cfg: StudyConfig, console: Console, force: bool) -> dict:
    """The suite's data prepared into the study (one folder per part, when it has parts)."""
    from ftbench.suites.layout import PrepareSettings

    raw = resolve_source(cfg, console)
    # evaluate_only: no train sizes, every row (or every *test* file's row) held out
    sizes = () if cfg.evaluate_only else tuple(cfg.data.sizes)
    settings = PrepareSettings(sizes=sizes, test_size=cfg.data.test_size,
                               seed=cfg.data.seed, max_input_words=cfg.data.max_input_words,
                               skip_invalid=cfg.data.skip_invalid,
                               strip_reference_from_input=cfg.data.strip_reference_from_input)
    infos = {part: _prepare(cfg, raw, settings, part, out, console, force)
             for part, out in cfg.data_dirs().items()}
    return infos.get(None, {"parts": infos})


def _prepare(cfg: StudyConfig, raw: Path, settings, part: str | None, out: Path,
             console: Console, force: bool) -> dict:
    from ftbench.suites.layout import read_prepared_manifest, write_prepared

    suite = cfg.suite_def()
    hooks = suite.study
    sha = suite.source_digest(raw)
    expected = (suite.fingerprint(sha, settings) if part is None
                else hooks.part_fingerprint(sha, settings, part, cfg.options))
    old = read_prepared_manifest(out)
    old_fp = (old or {}).get("fingerprint")
    if old_fp and old_fp.get("digest") == expected["digest"]:
        return {"skipped": True, "dir": str(out), "fingerprint": expected["digest"]}
    later = _downstream(cfg)
    if old is not None and later and not force:
        what = changes(old_fp, expected) if old_fp else ["made before fingerprints were recorded"]
        raise InputError(
            f"{out}: the study's data changed ({'; '.join(what)}) and "
            f"{' and '.join(later)} were made from the old data; re-run with --force to "
            "re-prepare it and recompute what depends on it, or set out_dir to a new directory")
    if part is None:
        result = suite.prepare(raw, settings, out)
    else:  # as Suite.prepare, for one part
        result = hooks.prepare_part(raw, settings, part, cfg.options)
        result.manifest.update(fingerprint=expected, suite=suite.name, part=part)
        result.manifest.setdefault("source", {"path": str(raw)})
        write_prepared(result, out)
    for w in result.warnings:
        console.print(f"  note: {w}" + (f" ({part})" if part else ""))
    return {"skipped": False, "dir": str(out), "warnings": result.warnings,
            "test_rows": result.manifest["test_rows_per_task"], "fingerprint": expected["digest"]}


def resolve_source(cfg: StudyConfig, console: Console) -> Path:
    """`sample` = the bundled sample corpus; a local JSONL as is; a hub dataset id is downloaded
    once into the study directory."""
    kind, src = check_source(cfg)
    if kind != "hub":
        return src
    target = _hub_copy(cfg)
    if not target.is_file():
        from datasets import load_dataset

        console.print(f"  downloading hub dataset {cfg.data.source}")
        ds = load_dataset(cfg.data.source, split="train")
        target.parent.mkdir(parents=True, exist_ok=True)
        ds.to_json(str(target) + ".tmp", lines=True, force_ascii=False)
        Path(str(target) + ".tmp").rename(target)
    return target


def _hub_copy(cfg: StudyConfig) -> Path:
    return cfg.out / "raw" / (cfg.data.source.replace("/", "__") + ".jsonl")


def check_source(cfg: StudyConfig) -> tuple[str, Path]:
    """What `data.source` names — ("sample" | "local", the file or folder) or ("hub", its id) —
    checked before any work: a local folder is never taken for a hub id, a missing path names
    where it was looked for, a hub id offline must be cached."""
    from ftbench.core.config import relative_note
    from ftbench.core.hub import check_hub_dataset, looks_like_path

    key = "config key 'data.source'"
    suite = cfg.suite_def()
    if cfg.data.source == SAMPLE_SOURCE:
        if suite.raw_sample is None:
            raise InputError(f"{key}: suite {cfg.suite!r} has no bundled sample; name a file or "
                             "a dataset")
        return "sample", suite.raw_sample
    if "$" in cfg.data.source:
        raise InputError(f"{key}: {cfg.data.source} names an environment variable that is not "
                         "set")
    src = Path(cfg.data.source).expanduser()
    if src.is_file() or (src.is_dir() and suite.source_kind == "dir"):
        if suite.check_raw is not None:
            try:
                suite.check_raw(src, cfg.trains())
            except InputError as exc:
                raise InputError(f"{key}: {exc}") from None
        return "local", src
    if src.is_dir():
        found = sorted(p.name for p in src.glob("*.json*"))
        raise InputError(f"{key}: {src} is a folder; suite {suite.name!r} reads one JSONL file"
                         + (f" — name one of {', '.join(found[:3])}" if found else ""))
    if looks_like_path(cfg.data.source) or src.suffix in (".jsonl", ".json"):
        raise InputError(f"{key}: {src} not found{relative_note(cfg.data.source)}")
    if not _hub_copy(cfg).is_file():
        try:
            check_hub_dataset(cfg.data.source, None, key)
        except InputError as exc:  # `data/articles`: a hub id, or a path looked for elsewhere
            raise InputError(f"{exc}; nor is it a local path{relative_note(cfg.data.source)}"
                             ) from None
    return "hub", Path(cfg.data.source)


def _stage_models(cfg: StudyConfig, console: Console, force: bool) -> dict:
    from ftbench.core.model_sources import is_model_source, resolve_model_path
    from ftbench.train.tiny_model import (
        TinyModelConfig,
        build_tiny_model,
        manifest_identity,
        model_identity,
        pretraining_data,
    )

    built = {}
    data = None
    for m in cfg.lm_models():
        if is_model_source(m.path):  # an alias or a .gguf file: converted once, cached
            built[m.name] = resolve_model_path(m.path, log=lambda s: console.print(f"  {s}"))
            continue
        if m.path != TINY:
            continue
        out = Path(cfg.model_path(m))
        # the tiny model pre-trains on the study's own train split: no test article, any seed
        data = data or pretraining_data(cfg.suite_def(), prepared=cfg.data_dir)
        tiny = TinyModelConfig(pretrain_steps=m.tiny_pretrain_steps)
        wanted = model_identity(tiny, data.record["texts_sha256"])
        try:
            have = (manifest_identity(read_json(out / "manifest.json"))
                    if (out / "manifest.json").is_file() else None)
        except InputError:
            have = None
        if have == wanted:
            built[m.name] = "skipped"
            continue
        later = _downstream(cfg)
        if have is not None and later and not force:
            raise InputError(f"{out}: the tiny model's settings or pre-training data changed "
                             f"({'; '.join(changes(have, wanted))}) and {' and '.join(later)} "
                             "were made from the old model; re-run with --force to rebuild it "
                             "and recompute what depends on it, or set out_dir to a new directory")
        if out.is_symlink():  # rebuilt here, never written through a link into another directory
            out.unlink()
        console.print(f"  building the embedded tiny model → {out} (pre-training on "
                      f"{data.record.get('articles', len(data.texts))} texts of suite "
                      f"{cfg.suite_def().name!r})")
        with libraries_to(out / "build.log"):  # the tokenizer's and Trainer's own output
            build_tiny_model(out, config=tiny, data=data)
        built[m.name] = "built"
    return built


def _stage_train(cfg: StudyConfig, console: Console, force: bool,
                 shard: Shard | None = None) -> dict:
    from ftbench.train.grid import run_grid

    failed = []
    for train_config in cfg.train_configs():  # one grid per training method
        index = run_grid(train_config, console, force=force, shard=shard)
        runs = index.get("runs", index)
        failed += [n for n, r in runs.items()
                   if isinstance(r, dict) and r.get("status") == "failed" and n not in failed]
    if failed:
        console.print(f"[red]  training failed for {', '.join(failed)}; the others go on[/]")
    from ftbench.train.run import release_memory

    release_memory()  # the eval stage's engines start on a card with nothing of training left
    return {"failed": failed}


def _stage_eval(cfg: StudyConfig, console: Console, force: bool,
                shard: Shard | None = None) -> dict:
    from ftbench.eval.orchestrator import evaluate_models
    from ftbench.eval.summary import print_summary
    from ftbench.pipelines.stage_inputs import eval_settings

    settings = eval_settings(cfg)
    specs = cfg.model_specs()
    done: dict[str, str] = {}
    if specs:
        index = evaluate_models(specs, settings, cfg.results_dir, console, force=force,
                                shard=shard)
        models = {m: v for m, v in index.data["models"].items() if index.mine(m)}
        asked = [s.name for s in specs if index.mine(s.name)]
        print_summary({**index.data, "models": models}, cfg.results_dir, console, asked=asked)
        done = {m: models.get(m, {}).get("status", "unknown") for m in asked}
        after_eval(cfg, done)
    if cfg.other_models() and shard is None:
        done.update(_stage_other_kinds(cfg, console))
    return done


def after_eval(cfg: StudyConfig, done: dict[str, str]) -> None:
    """Each completely evaluated training run's model cards get its results (the Hub's
    model-index), and each such model's metrics go to the study's trackers."""
    from ftbench.eval.results_files import task_metrics
    from ftbench.eval.tracking import track_results
    from ftbench.train.model_card import add_results

    complete = [m for m, status in done.items() if status == "complete"]
    for run in cfg.runs():
        if run.name in complete:
            add_results(cfg.runs_dir / run.name, task_metrics(cfg.results_dir / run.name))
    track_results(cfg.tracking, cfg.results_dir, complete)


def _stage_other_kinds(cfg: StudyConfig, console: Console) -> dict[str, str]:
    """Models of a kind the suite trains and scores itself, one run per part, written beside
    the results (each reuses a current run; a failed one is recorded and the others go on)."""
    from ftbench.core.outputs import claim_dir
    from ftbench.eval.index import KIND as RESULTS_KIND
    from ftbench.eval.index import legacy_results_dir
    from ftbench.suites.study_hooks import KindJob

    claim_dir(cfg.results_dir, RESULTS_KIND, adopt=legacy_results_dir)
    kinds = cfg.suite_def().study.model_kinds
    done = {}
    for m in cfg.other_models():
        for part in cfg.parts or (None,):
            key = f"{m.name}/{part or 'all'}"
            job = KindJob(name=m.name, path=m.path, part=part, options=cfg.options,
                          source=Path(cfg.data.source), out_dir=cfg.kind_dir(m, part),
                          log=lambda text: console.print(f"  {text}"))
            log = cfg.results_dir / ".ftbench" / "logs" / f"{m.name}__{part or 'all'}.log"
            try:
                with libraries_to(log):  # the libraries' own output (loading reports, bars)
                    done[key] = kinds[m.kind].run(job).get("status", "failed")
            except InputError:
                raise
            except Exception as exc:  # a broken run fails alone, as a training run does
                console.print(f"[red]  {m.kind} {key} failed: {type(exc).__name__}: {exc}[/]")
                done[key] = "failed"
    return done


def stage_failure(stage: str, info: dict) -> str | None:
    """Why a stage that ran to its end still failed, or None: an eval stage in which every
    evaluation it was asked for failed has nothing to report (partial failures are listed in
    the results and the stage goes on, as a failed training run does)."""
    if stage != "eval" or not info or "complete" in info.values():
        return None
    return (f"every evaluation failed ({', '.join(f'{m}: {v}' for m, v in info.items())}); "
            "see each model's status.json in the results directory")


def _stage_report(cfg: StudyConfig, console: Console, force: bool) -> dict:
    from ftbench.report.build import report_main

    base = next(iter(cfg.base_names().values()), None)  # the first listed model's base
    from ftbench.report.tracking import track_report

    info = report_main(cfg.results_dir, cfg.report_dir, top_n=cfg.report.top_n, baseline=base,
                       metric=cfg.report.metric, tie_threshold=cfg.report.tie_threshold,
                       n_samples=cfg.report.n_samples, runs=cfg.runs_dir, console=console,
                       name_files=False)  # the study's last line names them (cli.main)
    track_report(cfg.tracking, cfg.report_dir)
    return info


STAGE_FUNCS: dict[str, Callable[..., dict]] = {
    "data": _stage_data, "models": _stage_models, "train": _stage_train, "eval": _stage_eval,
    "report": _stage_report,
}


def check_tasks(cfg: StudyConfig) -> list[str]:
    """The study's eval tasks expanded now (unknown names fail before any training)."""
    from ftbench.eval.tasks import expand_tasks, task_manager

    try:
        # task names do not depend on the metadata: the index built here is reused by eval
        return expand_tasks(cfg.eval.tasks, task_manager(cfg.include_path(), None, cfg.eval.tasks))
    except InputError as exc:
        raise InputError(f"config key 'eval.tasks': {exc}") from None


def check_hub_models(cfg: StudyConfig) -> None:
    """Every hub base's commit is knowable now (the hub asked, or the cache offline): an id
    that is neither cached nor reachable stops the study before its data stage, not after; a
    local folder's files are checked (config, weight headers, tokenizer)."""
    from ftbench.core.fingerprint import check_model_ref
    from ftbench.core.hub import is_hub_id
    from ftbench.core.model_sources import is_model_source

    for m in cfg.lm_models():
        if m.path != TINY and not is_model_source(m.path):  # a local folder: its files
            check_model_ref(m.path, f"config key 'models.path' ({m.name})", revision=m.revision,
                            paths_only=not is_hub_id(m.path))


def check_devices(cfg: StudyConfig, stages: list[str]) -> None:
    """GPU-only settings (bf16, unsloth, QLoRA on an unusable GPU, the CUDA vLLM build) on a
    machine where CUDA is not usable stop the study here, before data or directories."""
    if "train" in stages:
        from ftbench.train.device_check import check_train_device

        for train_config in cfg.train_configs():
            check_train_device(train_config, prefix="train.")
    if "eval" in stages:
        from ftbench.eval.backends import resolve_backend

        resolve_backend(cfg.eval.backend)


def _check_stage_dirs(cfg: StudyConfig, stages: list[str]) -> None:
    """Every stage's directory must be the project's (or absent) before the study writes a byte."""
    from ftbench.eval.index import KIND as RESULTS_KIND
    from ftbench.eval.index import legacy_results_dir
    from ftbench.report.output_dir import KIND as REPORT_KIND
    from ftbench.report.output_dir import legacy_report
    from ftbench.suites.layout import KIND as DATA_KIND
    from ftbench.suites.layout import legacy_prepared
    from ftbench.train.grid import RUNS_KIND, legacy_runs

    check_claim(cfg.out, KIND, what="config key 'out_dir'", adopt=_legacy_study)
    data = [("data", path, DATA_KIND, legacy_prepared) for path in cfg.data_dirs().values()]
    for stage, path, kind, adopt in (
            *data,
            ("train", cfg.runs_dir, RUNS_KIND, legacy_runs),
            ("eval", cfg.results_dir, RESULTS_KIND, legacy_results_dir),
            ("report", cfg.report_dir, REPORT_KIND, legacy_report)):
        if stage in stages:
            check_claim(path, kind, what=f"study {stage} directory", adopt=adopt)


def _legacy_study(root: Path) -> bool:
    """A study directory made before ownership markers, or one laid out ahead by the user
    (e.g. a prebuilt model in models/): only the study's own entries are there."""
    return all(p.name in LAYOUT for p in root.iterdir() if p.name != ".ftbench")


def run_study(cfg: StudyConfig, only: list[str] | None = None, console: Console | None = None,
              config_path: Path | None = None, force: bool = False,
              shard: Shard | None = None) -> dict:
    """Run the stages (all, or `only`), recording each in the study manifest. With `shard`
    (`--only train` / `--only eval` of a Slurm array), only that share of the runs or models,
    beside the other shards; the study manifest is left to the un-sharded study."""
    console = console or Console()
    stages = only or list(STAGES)
    unknown = [s for s in stages if s not in STAGES]
    if unknown:
        raise InputError(f"--only: unknown stage {unknown[0]!r}; stages: {', '.join(STAGES)}")
    if shard is not None and not set(stages) <= {"train", "eval"}:
        raise InputError("--shard splits the train and eval stages only: add --only train or "
                         "--only eval (run data,models before and report after, unsharded)")
    with config_file(config_path):  # every check before out_dir is claimed
        if "data" in stages:
            check_source(cfg)
        if "eval" in stages or "train" in stages:
            leaf = check_tasks(cfg)
            if "eval" in stages:
                check_eval_data(cfg.eval_metadata(), leaf, skip=cfg.suite_def())
            check_devices(cfg, stages)
            if cfg.executor == "ray" and shard is None:
                from ftbench.pipelines.ray_tasks import require_ray

                require_ray()  # not installed: exit 2 before any work
            check_hub_models(cfg)
        _check_stage_dirs(cfg, stages)
    claim_dir(cfg.out, KIND, what="config key 'out_dir'", adopt=_legacy_study)
    with dir_lock(cfg.out, f"ftbench study {config_path or cfg.name}", shared=shard is not None):
        if shard is not None:
            done = {}
            for stage in stages:
                info = STAGE_FUNCS[stage](cfg, console, force, shard)
                why = stage_failure(stage, info)
                done[stage] = {"status": "failed" if why else "complete", "shard": str(shard),
                               "info": info, **({"error": why} if why else {})}
            return {"stages": done}
        return _run_stages(cfg, stages, console, config_path, force)


def _run_stages(cfg: StudyConfig, stages: list[str], console: Console,
                config_path: Path | None, force: bool) -> dict:
    path = cfg.out / "manifest.json"
    manifest = {"stages": {}}
    if path.is_file():
        try:
            manifest = read_json(path)
        except InputError as exc:  # it only records; rebuilt as the stages run
            console.print(f"[yellow]note:[/] {exc}; the study manifest is rewritten")
    config = _config_dict(cfg)
    manifest.update(kind=KIND, config=config, config_sha256=digest(config),
                    versions=package_versions(),
                    config_file=str(config_path) if config_path else None)
    manifest.setdefault("stages", {})
    # executor ray: train and eval run as one task graph (an evaluation waits for its run only)
    on_ray = [s for s in ("train", "eval") if s in stages] if cfg.executor == "ray" else []
    for stage in stages:
        if stage in on_ray[1:]:
            continue  # ran with the first stage of the group
        group = on_ray if stage in on_ray else [stage]
        console.print(Rule(f"[bold]{cfg.name}: {' + '.join(group)}"
                           + (" (executor ray)" if stage in on_ray else "")))
        t0 = time.time()
        for s in group:
            manifest["stages"][s] = {"status": "running", "started": time.strftime("%H:%M:%S")}
        atomic_write_json(path, manifest)
        try:
            if stage in on_ray:
                from ftbench.pipelines.ray_executor import run_on_ray

                infos = run_on_ray(cfg, group, console, force)
                if "eval" in infos:
                    after_eval(cfg, infos["eval"])
            else:
                infos = {stage: STAGE_FUNCS[stage](cfg, console, force)}
            interrupts.check()  # a signal whose raise a library callback swallowed lands here
        except BaseException as exc:
            interrupted = isinstance(exc, KeyboardInterrupt)
            for s in group:
                manifest["stages"][s].update(
                    status="interrupted" if interrupted else "failed",
                    error=f"interrupted by {interrupts.name_of(exc)}" if interrupted
                    else f"{type(exc).__name__}: {exc}",
                    seconds=round(time.time() - t0, 1))
            atomic_write_json(path, manifest)
            raise
        failures = {s: why for s in group if (why := stage_failure(s, infos[s]))}
        for s in group:
            manifest["stages"][s] = {"status": "failed" if s in failures else "complete",
                                     "seconds": round(time.time() - t0, 1), "info": infos[s],
                                     **({"error": failures[s]} if s in failures else {})}
        atomic_write_json(path, manifest)
        if failures:  # the later stages would work from nothing
            break
    return manifest


def _config_dict(cfg: StudyConfig) -> dict:
    d = asdict(cfg)
    d["train"] = cfg.train
    return d
