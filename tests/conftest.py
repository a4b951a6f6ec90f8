"""Shared fixtures: offline environment, the real data in ../shared, the embedded tiny model, and
one finished tiny study that every test which only reads a study shares."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from run_once import built_once

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"

for var, value in {
    "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
    "TOKENIZERS_PARALLELISM": "false", "HF_HOME": str(REPO / ".cache" / "huggingface"),
    "FTBENCH_CACHE": str(REPO / ".cache" / "ftbench"),  # converted real models, reused across runs
    # what the `ftbench` command sets before torch loads (ftbench/core/threads.py): idle OpenMP
    # threads sleep instead of spinning, so in-process tests do not starve a child process or,
    # beside another busy process, each other
    "OMP_WAIT_POLICY": "PASSIVE",
}.items():
    os.environ.setdefault(var, value)
if os.environ.get("PYTEST_XDIST_WORKER"):  # two workers share the 2 cores: one torch thread each
    os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(scope="session")
def bmw_raw() -> Path:
    return _shared("bmw/articles_500.jsonl")


@pytest.fixture(scope="session")
def peer_csv() -> Path:
    """The real published 24-model results table."""
    return _shared("bmw/peer_model_comparison.csv")


def _shared(relative: str) -> Path:
    path = SHARED_DATA / relative
    if not path.exists():
        pytest.skip(f"real data not found at {path} (../shared beside the repo)")
    return path


@pytest.fixture(scope="session")
def glue_dir() -> Path:
    return _shared("glue")


@pytest.fixture(scope="session")
def bmw500_prepared(tmp_path_factory, bmw_raw) -> Path:
    """The real 500 articles prepared with a small test split (shared by the tests that need it)."""
    from ftbench.suites.bmw.prepare import prepare_file, write_prepared

    out = tmp_path_factory.mktemp("bmw500") / "prepared"
    write_prepared(prepare_file(bmw_raw, sizes=(100, 200, 400), test_size=0.1, seed=42), out)
    return out


@pytest.fixture(scope="session")
def toy(tmp_path_factory):
    """The toy domain of tests/suites/toy_domain.py (a task folder + one suite module outside the
    package), written once: a process registers one suite named `toy`, so the tests that load
    it share this one."""
    from toy_domain import write_toy_domain

    root = tmp_path_factory.mktemp("toy-domain")
    return root, write_toy_domain(root)


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """The embedded tiny model, built once per test run (~30 s on 2 cores)."""
    from ftbench.train.tiny_model import build_tiny_model

    return built_once(tmp_path_factory, "tiny", lambda d: build_tiny_model(d / "tiny-llama"))


@pytest.fixture(scope="session")
def tiny_model_quick(tmp_path_factory) -> Path:
    """The tiny model pre-trained for study_fixture.QUICK_PRETRAIN_STEPS steps (a study's
    `tiny_pretrain_steps`): seconds to build, for tests that make a study rebuild its model and
    do not care what it answers. Read it, never change it."""
    from study_fixture import QUICK_PRETRAIN_STEPS

    from ftbench.train.tiny_model import TinyModelConfig, build_tiny_model

    config = TinyModelConfig(pretrain_steps=QUICK_PRETRAIN_STEPS)
    return built_once(tmp_path_factory, "tiny-quick",
                      lambda d: build_tiny_model(d / "tiny-llama", config=config))


def _tiny_lora(tiny_model, out: Path, seed: int, rank: int) -> Path:
    """A LoRA of rank `rank` on the tiny model's q/v projections with random (non-zero) weights
    drawn from `seed`: a fine-tune without training one."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_pretrained(tiny_model)
    cfg = LoraConfig(r=rank, lora_alpha=2 * rank, target_modules=["q_proj", "v_proj"],
                     init_lora_weights=False, task_type="CAUSAL_LM")
    get_peft_model(model, cfg).save_pretrained(out)
    return out


@pytest.fixture(scope="session")
def tiny_adapter(tiny_model, tmp_path_factory) -> Path:
    """A LoRA adapter on the tiny model with non-zero weights (so it changes the outputs): a
    fine-tune without training one."""
    return _tiny_lora(tiny_model, tmp_path_factory.mktemp("adapter") / "lora", seed=0, rank=4)


@pytest.fixture(scope="session")
def tiny_adapter_b(tiny_model, tmp_path_factory) -> Path:
    """A second LoRA of the tiny model (rank 8, other weights, so other answers)."""
    return _tiny_lora(tiny_model, tmp_path_factory.mktemp("adapter-b") / "lora", seed=1, rank=8)


@pytest.fixture
def model_loads(monkeypatch) -> list[str]:
    """The path of every causal LM loaded from disk in this process during the test (hf
    evaluation runs in-process): `AutoModelForCausalLM.from_pretrained`, counted."""
    from transformers import AutoModelForCausalLM

    loads: list[str] = []
    real = AutoModelForCausalLM.from_pretrained

    def counted(path, *args, **kwargs):
        loads.append(str(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(AutoModelForCausalLM, "from_pretrained", counted)
    return loads


@pytest.fixture(scope="session")
def finished_study(tmp_path_factory, tiny_model):
    """The session's finished tiny study (tests/study_fixture.py): read it; to change a study,
    change a copy (`study_fixture.copy_study`)."""
    from study_fixture import build_finished_study

    return built_once(tmp_path_factory, "finished_study",
                      lambda d: build_finished_study(d / "demo", tiny_model))


# pytest-xdist (`make test` runs `-n 2`): the long tests are handed out first (those that start
# a vLLM engine, then the other `slow` ones), so that no worker is left alone with one at the end.
# xdist hands the first quarter of the collected items out in turn (item 0 to one worker, item 1
# to the other, ...), and a session fixture built once (tests/run_once.py) keeps the worker that
# asks second waiting, idle, until the first has built it. So the order alternates between the
# tests on the tiny model's fixtures (one worker builds them) and the rest (real models, the
# wheel, the report study's own models: the other worker's work meanwhile). The collection
# order is the workers' (this hook runs where the items are collected, the same in each).
ON_THE_TINY_MODEL = {"tiny_model", "finished_study", "tiny_adapter"}


def _longest_first(items: list) -> list:
    return sorted(items, key=lambda item: (not item.get_closest_marker("vllm"),
                                           not item.get_closest_marker("slow")))


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return
    tiny = _longest_first([i for i in items if ON_THE_TINY_MODEL & set(i.fixturenames)])
    rest = _longest_first([i for i in items if not ON_THE_TINY_MODEL & set(i.fixturenames)])
    alternated = [item for pair in zip(tiny, rest) for item in pair]
    n = min(len(tiny), len(rest))
    items[:] = alternated + tiny[n:] + rest[n:]
