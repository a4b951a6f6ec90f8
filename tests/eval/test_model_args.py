"""`eval.model_args` / per-model `model_args` / `--model-args`: the engine's own knobs (vLLM
tensor/data parallelism, hf device maps) reach lm-eval's model constructor, unknown keys stop at
config load with one line, and the args are part of what a results file is reused for."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import yaml
from rich.console import Console

from ftbench.core.io import InputError
from ftbench.eval.backends import MODEL_ARGS, check_model_args
from ftbench.eval.orchestrator import EvalSettings, evaluate_models, run_fingerprint
from ftbench.eval.specs import ModelSpec
from ftbench.eval.worker import WorkerJob, build_lm

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "ftbench" / "sample_data" / "bmw_sample.jsonl"


def test_known_keys_pass_and_unknown_keys_name_the_key():
    assert check_model_args({"tensor_parallel_size": 2, "gpu_memory_utilization": 0.9},
                            "vllm", "x") == {"tensor_parallel_size": 2,
                                             "gpu_memory_utilization": 0.9}
    assert check_model_args({"parallelize": True, "device_map": "auto"}, "hf", "x")
    assert check_model_args(None, "hf", "x") == {}
    with pytest.raises(InputError, match=r"where: unknown key 'tensor_paralel_size' \(did you "
                                         r"mean 'tensor_parallel_size'\?\)"):
        check_model_args({"tensor_paralel_size": 2}, "vllm", "where")
    with pytest.raises(InputError, match=r"unknown key 'zzz' \(not a known model arg\)"):
        check_model_args({"zzz": 1}, "vllm", "where")
    with pytest.raises(InputError, match=r"unknown key 'parallelize' \(a key of the hf backend, "
                                         "not of vllm"):
        check_model_args({"parallelize": True}, "vllm", "where")
    # auto accepts either engine's keys; they are checked again once the backend is resolved
    assert check_model_args({"parallelize": True, "data_parallel_size": 2}, "auto", "x")
    with pytest.raises(InputError, match=r"where.tensor_parallel_size: expected a positive integer"):
        check_model_args({"tensor_parallel_size": 0}, "vllm", "where")
    with pytest.raises(InputError, match="expected a number, string or boolean"):
        check_model_args({"device_map": {"": 0}}, "hf", "where")
    assert {"tensor_parallel_size", "data_parallel_size", "max_model_len",
            "gpu_memory_utilization"} <= set(MODEL_ARGS["vllm"])
    assert {"parallelize", "device_map", "max_memory_per_gpu"} <= set(MODEL_ARGS["hf"])


def test_lm_eval_keys_mean_what_they_mean_there_and_remote_code_is_refused():
    """`lm_eval --model_args` habits: dtype, device, revision, attn_implementation pass;
    trust_remote_code only as false."""
    lm_eval_habits = {"dtype": "bfloat16", "device": "cuda:1", "revision": "v1.0",
                      "attn_implementation": "sdpa", "trust_remote_code": False}
    assert check_model_args(lm_eval_habits, "hf", "x") == lm_eval_habits
    assert check_model_args({"dtype": "float16", "revision": "v1.0",
                             "trust_remote_code": False}, "vllm", "x")
    for value in (True, "yes", 1):
        with pytest.raises(InputError, match=r"where.trust_remote_code: only false is accepted"):
            check_model_args({"trust_remote_code": value}, "hf", "where")


def test_a_user_dtype_wins_over_ftbench_default_and_counts_in_the_fingerprint():
    job = WorkerJob(spec=ModelSpec("m", "/models/m"), tasks=[], model_dir=Path("/tmp/x"),
                    backend="hf", on_cpu=True, extra_model_args={"dtype": "bfloat16"})
    assert job.model_args(64)["dtype"] == "bfloat16"  # ftbench's own: float32 on a CPU
    fp, record = {"digest": "model"}, {"digest": "settings"}
    assert run_fingerprint(ModelSpec("m", "/m", extra_args={"dtype": "bfloat16"}), fp, record) \
        != run_fingerprint(ModelSpec("m", "/m"), fp, record)
    assert EvalSettings(tasks=["t"], model_args={"dtype": "bfloat16"}).for_index("hf")[
        "model_args"] == {"dtype": "bfloat16"}


def test_passthrough_reaches_the_engine_args_and_context_keys_become_the_context():
    spec = ModelSpec("m", "/models/m", extra_args={"gpu_memory_utilization": 0.95})
    job = WorkerJob(spec=spec, tasks=["bmw_type"], model_dir=Path("/tmp/x"), backend="vllm",
                    on_cpu=False, extra_model_args={"tensor_parallel_size": 4,
                                                    "max_model_len": 4096,
                                                    "gpu_memory_utilization": 0.95})
    args = job.model_args(context_length=4096)
    assert args["tensor_parallel_size"] == 4
    assert args["gpu_memory_utilization"] == 0.95  # overrides ftbench's own 0.8
    assert args["max_model_len"] == 4096 and job.context_override() == 4096
    hf = WorkerJob(spec=ModelSpec("m", "/models/m"), tasks=[], model_dir=Path("/tmp/x"),
                   backend="hf", extra_model_args={"max_length": 64, "parallelize": True})
    assert hf.context_override() == 64
    assert hf.model_args(64) == {"pretrained": "/models/m", "dtype": "float32", "max_length": 64,
                                 "parallelize": True, "enable_thinking": False}
    # an explicit context length wins over the engine key
    hf.context_length = 32
    assert hf.context_override() == 32


def test_model_args_count_in_the_fingerprints():
    record = {"digest": "settings"}
    fp = {"digest": "model"}
    plain = ModelSpec("m", "/models/m")
    tuned = ModelSpec("m", "/models/m", extra_args={"tensor_parallel_size": 2})
    other = ModelSpec("m", "/models/m", extra_args={"tensor_parallel_size": 4})
    fps = {run_fingerprint(s, fp, record) for s in (plain, tuned, other)}
    assert len(fps) == 3
    # the study-wide args are part of the shared settings digest, absent when unset (old
    # results stay reusable after an upgrade)
    assert "model_args" not in EvalSettings(tasks=["bmw_type"]).for_index("hf")
    assert EvalSettings(tasks=["bmw_type"], model_args={"parallelize": True}).for_index("hf")[
        "model_args"] == {"parallelize": True}


def test_the_hf_engine_gets_the_args(tiny_model, tmp_path):
    """A real lm-eval LM built from the job: the passthrough reached transformers."""
    job = WorkerJob(spec=ModelSpec("tiny", str(tiny_model)), tasks=["bmw_type"],
                    model_dir=tmp_path, backend="hf",
                    extra_model_args={"attn_implementation": "eager", "max_length": 96})
    lm = build_lm(job, job.context_override())
    assert lm.model.config._attn_implementation == "eager"
    assert lm.max_length == 96
    # lm-eval's own keys: a user's dtype and device win over ftbench's float32 / cpu (the
    # worker's own `device` would otherwise collide: "got multiple values for 'device'")
    import torch

    job.extra_model_args = {"dtype": "bfloat16", "device": "cpu"}
    lm = build_lm(job, job.context_override())
    assert lm.model.dtype == torch.bfloat16
    assert str(lm.device) == "cpu" and next(lm.model.parameters()).device.type == "cpu"


def _study(tmp_path: Path, tiny_model: Path, eval_stage: dict, model_extra: dict | None = None
           ) -> Path:
    out = tmp_path / "study"
    (out / "models").mkdir(parents=True)
    (out / "models" / "tiny").symlink_to(tiny_model)
    config = tmp_path / "s.yaml"
    config.write_text(yaml.safe_dump({
        "name": "s", "out_dir": str(out),
        "data": {"source": str(SAMPLE), "sizes": [8], "test_size": 16, "seed": 42},
        "models": [{"name": "tiny", "path": "tiny", **(model_extra or {})}],
        "train": {"max_steps": 2}, "eval": eval_stage}))
    return config


@pytest.mark.parametrize("stage,model,key", [
    ({"backend": "hf", "model_args": {"tensor_parallel_size": 2}}, None,
     "config key 'eval.model_args': unknown key 'tensor_parallel_size'"),
    ({"backend": "vllm", "model_args": {"gpu_memory_utilisation": 0.9}}, None,
     "unknown key 'gpu_memory_utilisation'"),
    ({"backend": "vllm"}, {"model_args": {"parallelize": True}},
     "config key 'models.model_args' (tiny): unknown key 'parallelize'"),
])
def test_unknown_key_in_a_study_config_is_one_line_exit_2(tmp_path, capsys, stage, model, key):
    from ftbench.cli.main import main

    (tmp_path / "m").mkdir()
    config = _study(tmp_path, tmp_path / "m", stage, model)
    rc = main(["study", str(config)])
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert rc == 2 and len(err) == 1, err
    assert str(config) in err[0] and key in err[0]
    assert not (tmp_path / "study" / "data").exists()  # before any work


def test_lm_eval_keys_pass_the_command_line_and_remote_code_is_one_line_exit_2(tmp_path,
                                                                               capsys):
    from ftbench.cli.main import main

    (tmp_path / "m").mkdir()
    argv = ["eval", "--models", f"t={tmp_path / 'm'}", "--backend", "hf", "--out",
            str(tmp_path / "r"), "--tasks", "bmw_typ"]
    # accepted: the run gets as far as the task names (a typo, with a suggestion)
    rc = main([*argv, "--model-args", "dtype=bfloat16,device=cpu,revision=main"])
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert rc == 2 and len(err) == 1 and "unknown task 'bmw_typ'" in err[0], err
    assert "did you mean 'bmw_type'" in err[0]
    rc = main([*argv, "--model-args", "trust_remote_code=true"])
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert rc == 2 and len(err) == 1, err
    assert "--model-args.trust_remote_code: only false is accepted" in err[0]
    assert "own Python code" in err[0]
    assert not (tmp_path / "r").exists()


def test_unknown_key_on_the_command_line_is_one_line_exit_2(tmp_path, capsys, tiny_model):
    from ftbench.cli.main import main

    rc = main(["eval", "--models", f"t={tiny_model}", "--backend", "hf", "--out",
               str(tmp_path / "r"), "--model-args", "parallelize=true,tensor_parallel_size=2"])
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert rc == 2 and len(err) == 1 and "--model-args: unknown key 'tensor_parallel_size'" in err[0]
    assert not (tmp_path / "r").exists()


@pytest.mark.slow
def test_args_reach_the_results_and_a_change_is_never_answered_from_old_results(tiny_model,
                                                                                 tmp_path):
    quiet = Console(file=io.StringIO(), width=120)
    out = tmp_path / "results"
    spec = ModelSpec("tiny", str(tiny_model), extra_args={"attn_implementation": "eager"})
    settings = EvalSettings(tasks=["bmw_type"], backend="hf", limit=2,
                            model_args={"max_length": 384})
    store = evaluate_models([spec], settings, out, quiet)
    assert store.data["models"]["tiny"]["status"] == "complete"
    results = json.loads(next((out / "tiny").glob("results_*.json")).read_text())
    assert results["config"]["model_args"]["attn_implementation"] == "eager"
    assert results["ftbench"]["context"]["context_length"] == 384
    assert store.data["settings"]["model_args"] == {"max_length": 384}
    # another per-model arg: the model's results are not reused
    changed = ModelSpec("tiny", str(tiny_model), extra_args={"attn_implementation": "sdpa"})
    with pytest.raises(InputError, match="model tiny: .*results_.* was made with another model "
                                         "or other settings"):
        evaluate_models([changed], settings, out, quiet)
    # other study-wide args: the settings changed
    with pytest.raises(InputError, match="model_args.max_length: 384 → 256"):
        evaluate_models([spec], EvalSettings(tasks=["bmw_type"], backend="hf", limit=2,
                                             model_args={"max_length": 256}), out, quiet)
