"""`ftbench` command line: one subcommand per stage; each is a thin typed call into a package.

Errors a user can fix (bad input, bad config) print one clear line and exit 2, no traceback.
"""

from __future__ import annotations

import argparse
import inspect
import os
import sys
from pathlib import Path

from ftbench.core import interrupts
from ftbench.core.io import InputError


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (exit 2) like every other input error."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(s) for s in text.split(",") if s.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be comma-separated integers, got {text!r}") from None
    if not sizes or min(sizes) <= 0:
        raise argparse.ArgumentTypeError(f"must be positive integers, got {text!r}")
    return sizes


def _test_size(text: str) -> float | int:
    from ftbench.suites.layout import check_test_size

    try:
        return check_test_size(float(text))
    except (ValueError, InputError):
        raise argparse.ArgumentTypeError(
            f"must be a fraction in (0, 1) or a whole number of test articles, got {text!r}"
        ) from None


def _limit(text: str) -> int | float:
    """lm-eval's --limit: a whole number of examples per task, or a fraction in (0, 1)."""
    from ftbench.eval.tasks import check_limit

    try:
        return check_limit(float(text))
    except (ValueError, InputError):
        raise argparse.ArgumentTypeError(
            f"must be a whole number of examples (>= 1) or a fraction in (0, 1), got {text!r}"
        ) from None


def _batch_size(text: str) -> int | str:
    if text.isdigit() and int(text) > 0:
        return int(text)
    head, _, tail = text.partition(":")
    if head == "auto" and (not tail or (tail.isdigit() and int(tail) > 0)):
        return text
    raise argparse.ArgumentTypeError(f"must be a positive integer, 'auto' or 'auto:N', "
                                     f"got {text!r}")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


def cmd_tiny_model(out: Path, corpus: Path | None, steps: int, seed: int) -> None:
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


def cmd_data_prepare(raw: Path, out: Path, sizes: tuple[int, ...], test_size: float | int,
                     seed: int, max_input_words: int | None, skip_invalid: bool,
                     strip_reference: bool = False, suite: str = "") -> None:
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


def cmd_data_import_chat(source: Path, out: Path, split: str | None, suite: str = "") -> None:
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


def _max_gen_toks(text: str) -> int | dict[str, int]:
    """`--max-gen-toks 256` (every generative task) or `TASK=256,OTHER_TASK=64` per task."""
    try:
        if "=" not in text:
            value: int | dict[str, int] = int(text)
        else:
            value = {k.strip(): int(v) for k, v in (p.split("=", 1) for p in text.split(",") if p)}
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--max-gen-toks takes N or TASK=N[,TASK=N]; got {text!r}") from None
    if min([value] if isinstance(value, int) else value.values() or [0]) <= 0:
        raise argparse.ArgumentTypeError(f"--max-gen-toks must be positive; got {text!r}")
    return value


def _model_args(text: str) -> dict:
    """`--model-args tensor_parallel_size=2,gpu_memory_utilization=0.9` (values read as YAML
    scalars); the keys are checked against the backend in cmd_eval."""
    import yaml

    args: dict = {}
    for item in filter(None, (p.strip() for p in text.split(","))):
        key, sep, raw = (s.strip() for s in item.partition("="))
        if not sep or not key:
            raise argparse.ArgumentTypeError(f"--model-args takes KEY=VALUE[,KEY=VALUE]; got {item!r}")
        try:
            args[key] = yaml.safe_load(raw) if raw else None
        except yaml.YAMLError:
            args[key] = raw
    return args


def cmd_eval(models: str | None, study: Path | None, tasks: str | None, out: Path,
             backend: str | None,
             limit: int | float | None, batch_size: int | str | None, chat_template: bool,
             metadata: str | None, context_length: int | None = None,
             threads: int | None = None, thinking: bool = False,
             max_gen_toks: int | dict[str, int] | None = None, force: bool = False,
             model_args: dict | None = None, shard: str | None = None,
             system_instruction: str | None = None,
             fewshot_as_multiturn: bool | None = None, suite: str | None = None) -> int:
    """`chat_template`, `system_instruction`, `fewshot_as_multiturn`: None = not given (the
    study's value with --study, else apply the template / lm-eval's defaults)."""
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
    model_args = check_model_args(model_args, backend or (
        study_cfg.eval.backend if study_cfg else "auto"), "--model-args")
    for spec in specs:  # before any work: a typo in a path is not a hub-id error later
        check_model_ref(spec.pretrained, f"--models {spec.name}", revision=spec.hub_revision())
        if spec.adapter:
            check_model_ref(spec.adapter, f"--models {spec.name} (adapter)")
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
    return 0 if all_complete(data, asked) else 1


def cmd_study(config: Path, only: str | None, overrides: list[str], force: bool = False,
              shard: str | None = None, executor: str | None = None, resume: bool = True) -> int:
    """`resume` is accepted for habit's sake: completed work is always reused."""
    return run_study_command(config, only, overrides, force, shard, executor)


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


def cmd_train(config: Path, overrides: list[str], force: bool = False,
              shard: str | None = None) -> int:
    from ftbench.cli.train import train_main
    from ftbench.core.shard import parse_shard

    return train_main(config, overrides, force=force, shard=parse_shard(shard))


def cmd_tasks_path() -> None:
    from ftbench.core.paths import TASKS_DIR

    print(TASKS_DIR)


def cmd_demo(real: bool, overrides: list[str]) -> int:
    from ftbench.core.paths import CONFIGS_DIR

    return cmd_study(CONFIGS_DIR / ("demo_real.yaml" if real else "demo.yaml"), None, overrides)


def cmd_glue(config: Path, overrides: list[str], only: str | None = None,
             force: bool = False) -> int:
    """Kept for the GLUE matrix's users: the study, reading the matrix's older YAML too."""
    return run_study_command(config, only, overrides, force, suite_format="glue")


def call_handler(args: argparse.Namespace) -> int:
    """Call the subcommand's function with the parsed options as keyword arguments: a parameter
    is an option's `dest` (no positional lists kept by hand; `tests/cli` checks that every
    parameter has its option and every option its parameter)."""
    params = inspect.signature(args.handler).parameters
    rc = args.handler(**{name: getattr(args, name) for name in params})
    return rc if isinstance(rc, int) else 0


def cmd_report(source: Path, out: Path, top_n: int, compare: str | None, baseline: str | None,
               metric: str | None, tie_threshold: float, n_samples: int, mapping: Path | None,
               runs: Path | None) -> int:
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


FORCE_HELP = ("recompute outputs whose inputs changed (config, data, model, versions) instead of "
              "stopping; old training runs are replaced, old eval results moved to "
              "RESULTS/.ftbench/superseded/")
OVERRIDE_COMMANDS = ("study", "demo", "train", "glue")
SHARD_HELP = ("evaluate / train only shard I of N (1 <= I <= N; e.g. $SLURM_ARRAY_TASK_ID/"
              "$SLURM_ARRAY_TASK_COUNT): the models or runs sorted by name, every N-th; a later "
              "run without --shard (or ftbench report) derives the index and reuses them all")


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

    t = sub.add_parser("tiny-model", help="build the embedded tiny Llama model (offline, seconds)")
    t.set_defaults(handler=cmd_tiny_model)
    t.add_argument("--out", type=Path, required=True, help="directory the model is written to")
    t.add_argument("--corpus", type=Path, default=None, help="raw JSONL (default: bundled sample)")
    t.add_argument("--steps", type=int, default=300, help="pre-training steps")
    t.add_argument("--seed", type=int, default=0, help="random seed of the weights and the pre-training")

    sub.add_parser("tasks-path", help="print the folder of ftbench's lm-eval tasks, for "
                   "`lm_eval --include_path $(ftbench tasks-path)`").set_defaults(
        handler=cmd_tasks_path)

    d = sub.add_parser("data", help="data preparation")
    dsub = d.add_subparsers(dest="data_command", required=True)
    dp = dsub.add_parser("prepare", help="raw articles → test split + nested chat-format train splits")
    dp.set_defaults(handler=cmd_data_prepare)
    dp.add_argument("raw", type=Path, help="raw articles, JSONL (one article per line)")
    dp.add_argument("--out", type=Path, required=True, help="directory of the prepared data")
    dp.add_argument("--sizes", type=_sizes, default=(500, 1000, 1500, 2000),
                    help="nested train sizes in articles, comma-separated (default: "
                         "500,1000,1500,2000)")
    dp.add_argument("--test-size", type=_test_size, default=0.1,
                    help="test articles: a count (e.g. 50) or a fraction (e.g. 0.1)")
    dp.add_argument("--seed", type=int, default=42, help="seed of the test/train split")
    dp.add_argument("--max-input-words", type=int, default=None,
                    help="truncate article text in prompts to this many words")
    dp.add_argument("--skip-invalid", action="store_true",
                    help="skip (and count) invalid lines instead of stopping at the first")
    dp.add_argument("--strip-reference-from-input", dest="strip_reference", action="store_true",
                    help="remove a verbatim leading copy of the summary from the article text in "
                         "prompts (off: the published study's prompts, byte for byte)")

    di = dsub.add_parser("import-chat", help="chat JSONL splits ({messages: [system, user, "
                         "assistant]} per row, the published study's format) → prepared layout")
    di.set_defaults(handler=cmd_data_import_chat)
    di.add_argument("source", type=Path, help="a chat JSONL file or a directory of them")
    di.add_argument("--out", type=Path, required=True, help="directory of the prepared data")
    di.add_argument("--split", choices=("test", "train"), default=None,
                    help="for a single file whose name says neither test nor train")
    for sp in (dp, di):
        sp.add_argument("--suite", default="", help="the domain suite: a built-in name or the "
                        "path of a module that defines SUITE (default: the default suite)")

    e = sub.add_parser("eval", help="evaluate every model of a study in one invocation")
    e.set_defaults(handler=cmd_eval)
    e.add_argument("--models", help="NAME=PATH or NAME=BASE::ADAPTER, comma-separated")
    e.add_argument("--study", type=Path, help="study config listing the models")
    e.add_argument("--tasks", default=None, help="lm-eval tasks/groups, comma-separated "
                   "(default: the study's eval.tasks with --study, else the default suite's group)")
    e.add_argument("--out", type=Path, required=True, help="results directory of the study")
    e.add_argument("--backend", choices=("auto", "hf", "vllm"), default=None,
                   help="lm-eval model type (default: the study's eval.backend with --study, else "
                        "auto: vllm when it can run here, else hf)")
    e.add_argument("--limit", type=_limit, default=None,
                   help="examples per task (a count, or a fraction in (0, 1))")
    e.add_argument("--batch-size", type=_batch_size, default=None,
                   help="default: 8 (hf), auto (vllm)")
    e.add_argument("--apply-chat-template", dest="chat_template",
                   action=argparse.BooleanOptionalAction, default=None,
                   help="format prompts with each model's chat template, as lm-eval's "
                        "--apply_chat_template (default: apply; a model without a template, or "
                        "one set chat_template=none, gets plain prompts); recorded in every "
                        "results file")
    e.add_argument("--no-chat-template", dest="chat_template", action="store_false",
                   help="the same as --no-apply-chat-template (older spelling)")
    e.add_argument("--system-instruction", default=None, metavar="TEXT",
                   help="system message before every prompt (lm-eval --system_instruction; "
                        "default: none); part of what results are reused for")
    e.add_argument("--fewshot-as-multiturn", action=argparse.BooleanOptionalAction,
                   default=None,
                   help="few-shot examples as separate chat turns (lm-eval "
                        "--fewshot_as_multiturn; default: lm-eval's, on with the chat template); "
                        "part of what results are reused for")
    e.add_argument("--metadata", default=None, help="JSON passed to the tasks (lm-eval --metadata)")
    e.add_argument("--context-length", type=_positive_int, default=None,
                   help="tokens per sequence, at most each model's own (default: the model's)")
    e.add_argument("--threads", type=_positive_int, default=None,
                   help="torch intra-op threads (default: OMP_NUM_THREADS, else the allowed CPUs)")
    e.add_argument("--thinking", action="store_true",
                   help="let reasoning models think (chat templates get enable_thinking; default "
                        "off); raise --max-gen-toks to leave room for the reasoning")
    e.add_argument("--max-gen-toks", type=_max_gen_toks, default=None,
                   help="token budget of the generative tasks: N, or TASK=N[,TASK=N] "
                        "(default: each task's own, sized for the real data)")
    e.add_argument("--model-args", type=_model_args, default=None,
                   help="lm-eval's model_args, KEY=VALUE[,KEY=VALUE], meaning what they mean "
                        "there and winning over ftbench's defaults: dtype, revision, "
                        "attn_implementation; hf device, parallelize, device_map, ...; vllm "
                        "tensor_parallel_size, gpu_memory_utilization, ... (docs/config.md); "
                        "trust_remote_code=true is refused")
    e.add_argument("--suite", default=None, metavar="NAME|FILE.py",
                   help="the domain suite of the tasks: a built-in name or a module that defines "
                        "SUITE (its task folder joins the include path, its group is the default "
                        "--tasks, and the results record it for ftbench report)")
    e.add_argument("--shard", default=None, metavar="I/N", help=SHARD_HELP)
    e.add_argument("--force", action="store_true", help=FORCE_HELP)

    st = sub.add_parser("study", help="data → training grid → evaluation → report, from one config")
    st.set_defaults(handler=cmd_study)
    st.add_argument("config", type=Path, help="study config YAML")
    st.add_argument("overrides", nargs="*", help="key=value overrides (dotted: eval.limit=4)")
    st.add_argument("--only", default=None, help="comma-separated stages: data,models,train,eval,report")
    st.add_argument("--resume", action="store_true",
                    help="(default behaviour) completed work is always reused")
    st.add_argument("--executor", choices=("local", "ray"), default=None,
                    help="run training runs and evaluations as Ray tasks (a cluster via "
                         "RAY_ADDRESS or ray.address, else a local one; pip install "
                         "'ftbench[cluster]'); default: the config's executor, else local")
    st.add_argument("--shard", default=None, metavar="I/N",
                    help="with --only train or --only eval: " + SHARD_HELP)
    st.add_argument("--force", action="store_true", help=FORCE_HELP)

    dm = sub.add_parser("demo", help="the offline CPU demo: ftbench study configs/demo.yaml")
    dm.set_defaults(handler=cmd_demo)
    dm.add_argument("--real", action="store_true",
                    help="the real-model demo instead: configs/demo_real.yaml (SmolLM2-135M-Instruct)")
    dm.add_argument("overrides", nargs="*", help="key=value overrides of the demo config")

    tr = sub.add_parser("train", help="LoRA / QLoRA / full fine-tuning, one run or a grid")
    tr.set_defaults(handler=cmd_train)
    tr.add_argument("config", type=Path, help="training config YAML (one run or a grid)")
    tr.add_argument("overrides", nargs="*", help="key=value overrides (dotted: lora.r=8)")
    tr.add_argument("--shard", default=None, metavar="I/N", help=SHARD_HELP)
    tr.add_argument("--force", action="store_true", help=FORCE_HELP)

    gl = sub.add_parser("glue", help="the GLUE-small matrix (decoders zero/few-shot + LoRA, "
                                     "encoders): `ftbench study` on the glue suite")
    gl.set_defaults(handler=cmd_glue)
    gl.add_argument("config", type=Path, help="a study config of the glue suite, or a GLUE "
                                              "matrix config (decoders, encoders, modes)")
    gl.add_argument("overrides", nargs="*", help="key=value overrides (dotted: eval.limit=8)")
    gl.add_argument("--only", default=None, help="comma-separated stages: data,models,train,eval,report")
    gl.add_argument("--force", action="store_true", help=FORCE_HELP)

    rp = sub.add_parser("report", help="tables, plots and statistics from result files")
    rp.set_defaults(handler=cmd_report)
    rp.add_argument("source", type=Path, help="study results directory or a flat results CSV")
    rp.add_argument("--out", type=Path, required=True, help="directory of the report")
    rp.add_argument("--top-n", type=int, default=5, help="models shown at the top and bottom of a long ranking")
    rp.add_argument("--compare", default=None, help="two model names A,B for the paired comparison")
    rp.add_argument("--baseline", default=None, help="the base model of the base-vs-fine-tuned table")
    rp.add_argument("--metric", default=None, help="per-sample metric of the paired comparison")
    rp.add_argument("--tie-threshold", type=float, default=0.01,
                    help="per-sample score difference counted as a tie (paired comparison)")
    rp.add_argument("--samples", dest="n_samples", type=int, default=5,
                    help="example outputs shown per task and per paired comparison")
    rp.add_argument("--mapping", type=Path, default=None,
                    help="YAML/JSON: model → {family, params_b, train_size}")
    rp.add_argument("--runs", type=Path, default=None, help="training runs directory (loss curves)")
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
    previous = interrupts.install()  # SIGTERM behaves like Ctrl-C; neither is ever lost
    try:
        return _run(args)
    finally:
        interrupts.restore(previous)


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
    except (PermissionError, FileExistsError, IsADirectoryError, NotADirectoryError) as exc:
        if os.environ.get("FTBENCH_DEBUG"):
            raise
        print(f"ftbench: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
