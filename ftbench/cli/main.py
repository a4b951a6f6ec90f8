"""`ftbench` command line: one subcommand per stage; each is a thin typed call into a package,
and its options are its parameters (cli/signature.py makes the parser from the signature).

Errors a user can fix (bad input, bad config) print one clear line and exit 2, no traceback.
"""

from __future__ import annotations

import argparse
import errno
import inspect
import os
import sys
from pathlib import Path
from typing import Annotated

from ftbench.cli.arg_types import (
    FORCE_HELP,
    SHARD_HELP,
    TRACKING_HELP,
    parse_batch_size,
    parse_limit,
    parse_max_gen_toks,
    parse_model_args,
    parse_sizes,
    parse_test_size,
    positive_int,
    tracking_override,
)
from ftbench.cli.signature import Opt, add_command
from ftbench.cli.train import cmd_train
from ftbench.core import interrupts
from ftbench.core.io import InputError

OVERRIDE_COMMANDS = ("study", "demo", "train", "glue")
SUITE_HELP = ("the domain suite: a built-in name or the path of a module that defines SUITE "
              "(default: the default suite)")
ONLY_HELP = "comma-separated stages: data,models,train,eval,report"


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (exit 2) like every other input error."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def cmd_tiny_model(
    *,
    out: Annotated[Path, Opt("directory the model is written to")],
    corpus: Annotated[Path | None, Opt("raw JSONL (default: bundled sample)")] = None,
    steps: Annotated[int, Opt("pre-training steps")] = 300,
    seed: Annotated[int, Opt("random seed of the weights and the pre-training")] = 0,
) -> None:
    from ftbench.core.outputs import claim_dir
    from ftbench.train.tiny_model import TinyModelConfig, build_tiny_model

    if steps < 0:
        raise InputError(f"--steps must be >= 0, got {steps}")
    claim_dir(out, "ftbench-tiny-model",
              adopt=lambda p: '"ftbench-tiny-model"' in _text_or_empty(p / "manifest.json"))
    path = build_tiny_model(out, corpus, TinyModelConfig(pretrain_steps=steps, seed=seed))
    print(f"tiny model written to {path}")


def _text_or_empty(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""


def _claim_prepared_out(out: Path) -> None:
    """A file or a foreign directory as --out: exit 2 before reading any input."""
    from ftbench.core.outputs import check_claim
    from ftbench.suites.layout import KIND, legacy_prepared

    check_claim(out, KIND, adopt=legacy_prepared)


def _print_train_files_and_notes(result, between: list[str] | None = None) -> None:
    """The prepared train files, then `between` (prepare's leakage lines), then the notes."""
    for name, info in result.manifest["sizes"].items():
        print(f"  train_{name}.jsonl: {info['articles']} articles, {info['rows']} rows")
    for line in between or []:
        print(line)
    for w in result.warnings:
        print(f"  note: {w}")


def _suite(name: str | None):
    """The suite `--suite` names (the default suite when it names none)."""
    from ftbench.suites.registry import DEFAULT, get_suite

    return get_suite(name or DEFAULT, "--suite")


def cmd_data_prepare(
    *,
    raw: Annotated[Path, Opt("raw articles, JSONL (one article per line)", positional=True)],
    out: Annotated[Path, Opt("directory of the prepared data")],
    sizes: Annotated[tuple[int, ...], Opt(
        "nested train sizes in articles, comma-separated (default: 500,1000,1500,2000)",
        parse=parse_sizes)] = (500, 1000, 1500, 2000),
    test_size: Annotated[float | int, Opt(
        "test articles: a count (e.g. 50) or a fraction (e.g. 0.1)",
        parse=parse_test_size)] = 0.1,
    seed: Annotated[int, Opt("seed of the test/train split")] = 42,
    max_input_words: Annotated[int | None, Opt(
        "truncate article text in prompts to this many words")] = None,
    skip_invalid: Annotated[bool, Opt(
        "skip (and count) invalid lines instead of stopping at the first")] = False,
    strip_reference: Annotated[bool, Opt(
        "remove a verbatim leading copy of the summary from the article text in prompts (off: "
        "the published study's prompts, byte for byte)",
        flag="--strip-reference-from-input")] = False,
    suite: Annotated[str, Opt(SUITE_HELP)] = "",
) -> None:
    from ftbench.suites.layout import PrepareSettings

    chosen = _suite(suite)
    if chosen.evaluation_only:
        raise InputError(f"--suite: suite {chosen.name!r} is evaluation-only: it has no data to "
                         "prepare")
    _claim_prepared_out(out)  # before reading a large corpus
    settings = PrepareSettings(sizes=sizes, test_size=test_size, seed=seed,
                               max_input_words=max_input_words, skip_invalid=skip_invalid,
                               strip_reference_from_input=strip_reference)
    result = chosen.prepare(raw, settings, out)
    m = result.manifest
    print(f"prepared {out}: {m['articles']['test']} test / {m['articles']['train']} train articles; "
          f"test rows per task {m['test_rows_per_task']}")
    leakage = [f"  leakage {task}: reference verbatim in {leak['reference_in_input']}/{leak['n']} "
               f"test inputs ({leak['input_starts_with_reference']} start with it); copying the "
               f"input's lead scores ROUGE-L {leak['copy_baseline'].get('rougeL', float('nan')):.3f}"
               for task, leak in (m.get("leakage") or {}).items()]
    _print_train_files_and_notes(result, leakage)


def cmd_data_import_chat(
    *,
    source: Annotated[Path, Opt("a chat JSONL file or a directory of them", positional=True)],
    out: Annotated[Path, Opt("directory of the prepared data")],
    split: Annotated[str | None, Opt("for a single file whose name says neither test nor train",
                                     choices=("test", "train"))] = None,
    suite: Annotated[str, Opt(SUITE_HELP)] = "",
) -> None:
    from ftbench.suites.layout import write_prepared

    chosen = _suite(suite)
    if chosen.import_chat is None:
        raise InputError(f"--suite: suite {chosen.name!r} cannot import chat files")
    _claim_prepared_out(out)
    result = chosen.import_chat(source, split)
    write_prepared(result, out)
    m = result.manifest
    print(f"imported {source} into {out}: {m['articles']['test']} test articles "
          f"(rows per task {m['test_rows_per_task']})")
    _print_train_files_and_notes(result)


def cmd_eval(
    *,
    models: Annotated[str | None, Opt("NAME=PATH or NAME=BASE::ADAPTER, comma-separated")] = None,
    study: Annotated[Path | None, Opt("study config listing the models")] = None,
    tasks: Annotated[str | None, Opt(
        "lm-eval tasks/groups, comma-separated (default: the study's eval.tasks with --study, "
        "else the default suite's group)")] = None,
    out: Annotated[Path, Opt("results directory of the study")],
    backend: Annotated[str | None, Opt(
        "lm-eval model type (default: the study's eval.backend with --study, else auto: vllm "
        "when it can run here, else hf)", choices=("auto", "hf", "vllm"))] = None,
    limit: Annotated[int | float | None, Opt(
        "examples per task (a count, or a fraction in (0, 1))", parse=parse_limit)] = None,
    batch_size: Annotated[int | str | None, Opt(
        "default: 8 (hf), auto (vllm)", parse=parse_batch_size)] = None,
    chat_template: Annotated[bool | None, Opt(
        "format prompts with each model's chat template, as lm-eval's --apply_chat_template "
        "(default: apply; a model without a template, or one set chat_template=none, gets plain "
        "prompts); recorded in every results file", flag="--apply-chat-template",
        negatable=True, also_off="--no-chat-template",
        also_off_help="the same as --no-apply-chat-template (older spelling)")] = None,
    system_instruction: Annotated[str | None, Opt(
        "system message before every prompt (lm-eval --system_instruction; default: none); "
        "part of what results are reused for", metavar="TEXT")] = None,
    fewshot_as_multiturn: Annotated[bool | None, Opt(
        "few-shot examples as separate chat turns (lm-eval --fewshot_as_multiturn; default: "
        "lm-eval's, on with the chat template); part of what results are reused for",
        negatable=True)] = None,
    metadata: Annotated[str | None, Opt("JSON passed to the tasks (lm-eval --metadata)")] = None,
    context_length: Annotated[int | None, Opt(
        "tokens per sequence, at most each model's own (default: the model's)",
        parse=positive_int)] = None,
    threads: Annotated[int | None, Opt(
        "torch intra-op threads (default: OMP_NUM_THREADS, else the allowed CPUs)",
        parse=positive_int)] = None,
    thinking: Annotated[bool, Opt(
        "let reasoning models think (chat templates get enable_thinking; default off); raise "
        "--max-gen-toks to leave room for the reasoning")] = False,
    max_gen_toks: Annotated[int | dict[str, int] | None, Opt(
        "token budget of the generative tasks: N, or TASK=N[,TASK=N] (default: each task's "
        "own, sized for the real data)", parse=parse_max_gen_toks)] = None,
    model_args: Annotated[dict | None, Opt(
        "lm-eval's model_args, KEY=VALUE[,KEY=VALUE], meaning what they mean there and winning "
        "over ftbench's defaults: dtype, revision, attn_implementation; hf device, parallelize, "
        "device_map, ...; vllm tensor_parallel_size, gpu_memory_utilization, ... "
        "(docs/config.md); trust_remote_code=true is refused", parse=parse_model_args)] = None,
    suite: Annotated[str | None, Opt(
        "the domain suite of the tasks: a built-in name or a module that defines SUITE (its "
        "task folder joins the include path, its group is the default --tasks, and the results "
        "record it for ftbench report)", metavar="NAME|FILE.py")] = None,
    shard: Annotated[str | None, Opt(SHARD_HELP, metavar="I/N")] = None,
    force: Annotated[bool, Opt(FORCE_HELP)] = False,
    tracking: Annotated[str | None, Opt(TRACKING_HELP, metavar="BACKENDS")] = None,
) -> int:
    """`chat_template`, `system_instruction`, `fewshot_as_multiturn`, `tracking`: None = not
    given (the study's value with --study, else apply the template / lm-eval's defaults / no
    tracker)."""
    import json

    from ftbench.core import verbosity
    from ftbench.core.fingerprint import check_model_ref
    from ftbench.core.shard import parse_shard
    from ftbench.eval.backends import check_model_args
    from ftbench.eval.orchestrator import evaluate_models
    from ftbench.eval.specs import parse_model_list
    from ftbench.eval.summary import all_complete, print_summary
    from ftbench.pipelines.stage_inputs import eval_settings

    if bool(models) == bool(study):
        raise InputError("give exactly one of --models NAME=PATH[,...] or --study CONFIG.yaml")
    part = parse_shard(shard)
    study_cfg = None
    if study:
        from ftbench.pipelines.study_config import load_study_config

        study_cfg = load_study_config(study)
        specs = study_cfg.model_specs()
    else:
        specs = parse_model_list(models)
    from ftbench.core.tracking import from_option

    trackers = from_option(tracking, study_cfg.name if study_cfg else "ftbench", out,
                           study_cfg.tracking if study_cfg else None)
    model_args = check_model_args(model_args, backend or (
        study_cfg.eval.backend if study_cfg else "auto"), "--model-args")
    for spec in specs:  # before any work: a typo in a path is not a hub-id error later (the
        #                 folders' files: with the arguments, before --out, in evaluate_models)
        check_model_ref(spec.pretrained, f"--models {spec.name}", revision=spec.hub_revision(),
                        files=False)
        if spec.adapter:
            check_model_ref(spec.adapter, f"--models {spec.name} (adapter)", files=False)
    try:
        meta = json.loads(metadata) if metadata else None
    except json.JSONDecodeError as exc:
        raise InputError(f"--metadata is not valid JSON: {exc}") from None
    if meta is not None and not isinstance(meta, dict):
        raise InputError(f"--metadata must be a JSON object, got {metadata!r}")
    task_list = None
    if tasks is not None:
        task_list = [t.strip() for t in tasks.split(",") if t.strip()]
        if not task_list:
            raise InputError("--tasks: give at least one task or group")
    domain = {}
    if suite:  # a suite module's tasks, its task folder and its report vocabulary
        from ftbench.suites.registry import suite_record

        chosen = _suite(suite)
        domain = {"include_path": chosen.include_path(), "suite": suite_record(chosen)}
        task_list = task_list or [chosen.task_group]
    # the study's every eval.* key (with --study), each overridden by what the command gives
    settings = eval_settings(
        study_cfg, tasks=task_list, backend=backend, limit=limit,
        batch_size=batch_size, apply_chat_template=chat_template, metadata=meta,
        context_length=context_length, threads=threads, enable_thinking=thinking or None,
        max_gen_toks=max_gen_toks, model_args=model_args or None,
        system_instruction=system_instruction, fewshot_as_multiturn=fewshot_as_multiturn,
        **domain)
    console = verbosity.console()
    index = evaluate_models(specs, settings, out, console, force=force, shard=part)
    data = index.data
    if index.own is not None:  # a shard answers for its own models
        data = {**data, "models": {n: e for n, e in data["models"].items() if n in index.own}}
    asked = index.own if index.own is not None else [s.name for s in specs]
    print_summary(data, out, console, asked=asked)
    from ftbench.eval.tracking import track_results

    track_results(trackers, out, [m for m in asked
                                  if data["models"].get(m, {}).get("status") == "complete"])
    return 0 if all_complete(data, asked) else 1


def cmd_study(
    *,
    config: Annotated[Path, Opt("study config YAML", positional=True)],
    overrides: Annotated[list[str], Opt("key=value overrides (dotted: eval.limit=4)",
                                        positional=True)] = (),
    only: Annotated[str | None, Opt(ONLY_HELP)] = None,
    resume: Annotated[bool, Opt("(default behaviour) completed work is always reused")] = False,
    executor: Annotated[str | None, Opt(
        "run training runs and evaluations as Ray tasks (a cluster via RAY_ADDRESS or "
        "ray.address, else a local one; pip install 'ftbench[cluster]'); default: the config's "
        "executor, else local", choices=("local", "ray"))] = None,
    shard: Annotated[str | None, Opt("with --only train or --only eval: " + SHARD_HELP,
                                     metavar="I/N")] = None,
    force: Annotated[bool, Opt(FORCE_HELP)] = False,
    tracking: Annotated[str | None, Opt(TRACKING_HELP, metavar="BACKENDS")] = None,
) -> int:
    """`resume` is accepted for habit's sake: completed work is always reused."""
    return run_study_command(config, only, tracking_override(overrides, tracking), force, shard,
                             executor)


def run_study_command(config: Path, only: str | None, overrides: list[str], force: bool = False,
                      shard: str | None = None, executor: str | None = None,
                      suite_format: str | None = None) -> int:
    """`ftbench study` (and `ftbench glue`: `suite_format` reads that suite's older config
    format too)."""
    from ftbench.core import verbosity
    from ftbench.core.shard import parse_shard
    from ftbench.pipelines.study import run_study
    from ftbench.pipelines.study_config import STAGES, load_study_config

    part = parse_shard(shard)
    cfg = load_study_config(config, overrides, suite_format=suite_format)
    if executor is not None:
        cfg.executor = executor
    stages = [s for s in only.split(",") if s] if only else None
    manifest = run_study(cfg, stages, verbosity.console(), config_path=config, force=force,
                         shard=part)
    failed = [(s, v) for s, v in manifest["stages"].items()
              if s in (stages or STAGES) and v.get("status") == "failed"]
    if failed:
        stage, entry = failed[0]
        print(f"ftbench: study {cfg.name}: stage {stage} failed: {entry.get('error')}",
              file=sys.stderr)
        return 1
    total = sum(s.get("seconds", 0) for s in manifest["stages"].values())
    print(f"study {cfg.name}: done in {total:.0f} s; outputs in {cfg.out}")
    page = cfg.out / "report" / "index.html"
    if page.is_file() and "report" in (stages or STAGES):
        print(f"report: {page} (one page), {page.with_name('summary.md')} (markdown)")
    return 0


def cmd_push(
    *,
    source: Annotated[Path, Opt("a training run's directory or a report folder",
                                positional=True)],
    repo: Annotated[str, Opt("hub repository id, e.g. org/name")],
    adapter: Annotated[bool, Opt("push the run's adapter/ folder instead of merged/")] = False,
    private: Annotated[bool, Opt("create the repository as private")] = False,
) -> int:
    from ftbench.cli.push import push

    print(f"pushed: {push(source, repo, adapter=adapter, private=private)}")
    return 0


def cmd_tasks_path() -> None:
    from ftbench.core.paths import TASKS_DIR

    print(TASKS_DIR)


def cmd_demo(
    *,
    real: Annotated[bool, Opt(
        "the real-model demo instead: configs/demo_real.yaml (SmolLM2-135M-Instruct)")] = False,
    overrides: Annotated[list[str], Opt("key=value overrides of the demo config",
                                        positional=True)] = (),
) -> int:
    from ftbench.core.paths import CONFIGS_DIR

    return run_study_command(CONFIGS_DIR / ("demo_real.yaml" if real else "demo.yaml"), None,
                             list(overrides))


def cmd_glue(
    *,
    config: Annotated[Path, Opt("a study config of the glue suite, or a GLUE matrix config "
                                "(decoders, encoders, modes)", positional=True)],
    overrides: Annotated[list[str], Opt("key=value overrides (dotted: eval.limit=8)",
                                        positional=True)] = (),
    only: Annotated[str | None, Opt(ONLY_HELP)] = None,
    force: Annotated[bool, Opt(FORCE_HELP)] = False,
) -> int:
    """Kept for the GLUE matrix's users: the study, reading the matrix's older YAML too."""
    return run_study_command(config, only, list(overrides), force, suite_format="glue")


def call_handler(args: argparse.Namespace) -> int:
    """Call the subcommand's function with the parsed options as keyword arguments: a parameter
    is an option's `dest` (no positional lists kept by hand; `tests/cli` checks that every
    parameter has its option and every option its parameter)."""
    params = inspect.signature(args.handler).parameters
    rc = args.handler(**{name: getattr(args, name) for name in params})
    return rc if isinstance(rc, int) else 0


def cmd_report(
    *,
    source: Annotated[Path, Opt("study results directory or a flat results CSV",
                                positional=True)],
    out: Annotated[Path, Opt("directory of the report")],
    top_n: Annotated[int, Opt("models shown at the top and bottom of a long ranking")] = 5,
    compare: Annotated[str | None, Opt("two model names A,B for the paired comparison")] = None,
    baseline: Annotated[str | None, Opt(
        "the base model of the base-vs-fine-tuned table")] = None,
    metric: Annotated[str | None, Opt("per-sample metric of the paired comparison")] = None,
    tie_threshold: Annotated[float, Opt(
        "per-sample score difference counted as a tie (paired comparison)")] = 0.01,
    n_samples: Annotated[int, Opt(
        "example outputs shown per task and per paired comparison", flag="--samples")] = 5,
    mapping: Annotated[Path | None, Opt(
        "YAML/JSON: model → {family, params_b, train_size}")] = None,
    runs: Annotated[Path | None, Opt("training runs directory (loss curves)")] = None,
) -> int:
    from ftbench.report.build import report_main
    from ftbench.report.settings import check_report_settings

    flags = {"top_n": "--top-n", "tie_threshold": "--tie-threshold", "n_samples": "--samples"}
    check_report_settings(top_n, tie_threshold, n_samples, name=flags.__getitem__)
    pair = None
    if compare:
        parts = compare.split(",")
        if len(parts) != 2:
            raise InputError(f"--compare takes two model names A,B; got {compare!r}")
        pair = (parts[0], parts[1])
    report_main(source, out, top_n=top_n, compare=pair, baseline=baseline, metric=metric,
                tie_threshold=tie_threshold, n_samples=n_samples, mapping=mapping, runs=runs)
    return 0




def package_version() -> str:
    """The installed distribution's version; from a source checkout that is not installed,
    pyproject.toml's (the one place the version is written)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("ftbench")
    except PackageNotFoundError:
        import tomllib

        pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
        if pyproject.is_file():
            return tomllib.loads(pyproject.read_text())["project"]["version"]
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="ftbench", description=__doc__)
    p.add_argument("--version", action="version", version=f"%(prog)s {package_version()}")
    sub = p.add_subparsers(dest="command", required=True)

    add_command(sub, "tiny-model", cmd_tiny_model,
                "build the embedded tiny Llama model (offline, seconds)")
    add_command(sub, "tasks-path", cmd_tasks_path, "print the folder of ftbench's lm-eval tasks, "
                "for `lm_eval --include_path $(ftbench tasks-path)`")
    data = sub.add_parser("data", help="data preparation")
    dsub = data.add_subparsers(dest="data_command", required=True)
    add_command(dsub, "prepare", cmd_data_prepare,
                "raw articles → test split + nested chat-format train splits")
    add_command(dsub, "import-chat", cmd_data_import_chat, "chat JSONL splits ({messages: "
                "[system, user, assistant]} per row, the published study's format) → prepared "
                "layout")
    add_command(sub, "eval", cmd_eval, "evaluate every model of a study in one invocation")
    add_command(sub, "study", cmd_study, "data → training grid → evaluation → report, from one "
                "config")
    add_command(sub, "demo", cmd_demo, "the offline CPU demo: ftbench study configs/demo.yaml")
    add_command(sub, "train", cmd_train, "LoRA / QLoRA / full fine-tuning, one run or a grid")
    add_command(sub, "glue", cmd_glue, "the GLUE-small matrix (decoders zero/few-shot + LoRA, "
                "encoders): `ftbench study` on the glue suite")
    add_command(sub, "push", cmd_push, "upload a trained run's model folder (card + weights) or a "
                "report folder to the Hugging Face Hub (needs the hub reachable)")
    add_command(sub, "report", cmd_report, "tables, plots and statistics from result files")
    for leaf in _leaf_parsers(p):
        quiet = leaf.add_mutually_exclusive_group()
        quiet.add_argument("-q", "--quiet", dest="verbosity", action="store_const", const="quiet",
                           help="print only errors and the final summary")
        quiet.add_argument("-v", "--verbose", dest="verbosity", action="store_const",
                           const="verbose", help="also show the libraries' own output (progress "
                           "bars, warnings), which otherwise goes to the run's log file")
    return p


def _leaf_parsers(parser: argparse.ArgumentParser):
    """Every parser that runs a command (the subcommands' subcommands included)."""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield parser
        return
    for child in dict.fromkeys(subs[0].choices.values()):
        yield from _leaf_parsers(child)


def main(argv: list[str] | None = None) -> int:
    from ftbench.core.threads import prefer_passive_omp_wait

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    prefer_passive_omp_wait()  # before anything imports torch
    if not sys.stdout.isatty():
        # rich falls back to 80 columns off a terminal, which wraps every table of a logged run
        os.environ.setdefault("COLUMNS", "140")
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:  # `study CONFIG --only eval key=value`: overrides may follow the options
        if args.command in OVERRIDE_COMMANDS and all("=" in x and not x.startswith("-")
                                                     for x in extra):
            args.overrides = [*args.overrides, *extra]
        else:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
    from ftbench.core import verbosity

    previous = interrupts.install()  # SIGTERM behaves like Ctrl-C; neither is ever lost
    level = os.environ.get(verbosity.ENV)
    try:
        return _run(args)
    finally:
        interrupts.restore(previous)
        # -q / -v are this command's (its own processes inherit them); a caller of main() in
        # the same process keeps its own
        if level is None:
            os.environ.pop(verbosity.ENV, None)
        else:
            os.environ[verbosity.ENV] = level


def _run(args) -> int:
    """The command, its errors as one line and exit status; an interruption that arrived while
    it ran (even one whose KeyboardInterrupt a library swallowed) ends it with exit 130."""
    if getattr(args, "verbosity", None):
        from ftbench.core.verbosity import set_level

        set_level(args.verbosity)
    try:
        rc = call_handler(args)
        interrupts.check()
        return rc
    except InputError as exc:
        print(f"ftbench: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        interrupts.last_word(f"ftbench: interrupted ({interrupts.name_of(exc)}); finished work is "
                             "kept, run the same command again to resume")
        return 130
    except BrokenPipeError:  # `ftbench … | head`: the reader left early; not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as exc:
        if os.environ.get("FTBENCH_DEBUG") or not (
                exc.errno in UNWRITABLE or isinstance(exc, (FileExistsError, IsADirectoryError,
                                                            NotADirectoryError))):
            raise
        print(f"ftbench: error: {unwritable_line(exc)}", file=sys.stderr)
        return 2
    return 0


# a folder that cannot be written (read-only mount, permissions) or a full disk: one line
UNWRITABLE = {errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOSPC, errno.EDQUOT}


def unwritable_line(exc: OSError) -> str:
    """The folder and what to do, in one line; finished work is kept (every write is atomic)."""
    if exc.errno not in UNWRITABLE or not exc.filename:
        return str(exc)
    path = Path(exc.filename)
    folder = path if path.is_dir() else path.parent
    what = {errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is exceeded",
            errno.EROFS: "the file system is read-only"}.get(exc.errno, "permission denied")
    fix = ("free space" if exc.errno in (errno.ENOSPC, errno.EDQUOT)
           else "make it writable or give another output folder (--out / out_dir)")
    return (f"cannot write in {folder}: {what} [{errno.errorcode[exc.errno]}]; finished work is "
            f"kept — {fix}, then run the same command again")


if __name__ == "__main__":
    sys.exit(main())
