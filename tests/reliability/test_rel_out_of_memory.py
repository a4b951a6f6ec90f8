"""Out of memory ends in ftbench's words: the model or run, the stage, what to try; the model
fails alone (the others go on) and the exit status is non-zero.

The evaluation case is real: `ftbench eval` runs under a hard address-space limit
(`RLIMIT_AS`) that the tiny model fits in and a model with a 2M-token vocabulary does not (its
weights are a sparse file: no disk, no RAM spent), so one of its allocations fails for real.
"""

from __future__ import annotations

import json
import resource
import struct
import subprocess
from pathlib import Path

import pytest
from cli_helpers import cli_env, ftbench_cmd, index

from ftbench.core import out_of_memory

LIMIT = int(4.5 * 2**30)  # the tiny model's evaluation peaks near 3 GiB of address space here
BIG_VOCAB = 2_000_000  # its embedding is 1 GiB; perplexity's logits need far more


def _with_vocab(tiny: Path, out: Path, vocab: int) -> Path:
    """The tiny model with its (tied) embedding grown to `vocab` rows of zeros, written sparse."""
    import shutil

    shutil.copytree(tiny, out)
    raw = (tiny / "model.safetensors").read_bytes()
    size = struct.unpack("<Q", raw[:8])[0]
    header, data = json.loads(raw[8:8 + size]), raw[8 + size:]
    new, chunks, pos = {"__metadata__": header.pop("__metadata__", {})}, [], 0
    (embed, info), = [(k, v) for k, v in header.items() if "embed_tokens" in k]
    for name, meta in header.items():
        if name != embed:
            begin, end = meta["data_offsets"]
            new[name] = {**meta, "data_offsets": [pos, pos + end - begin]}
            chunks.append(data[begin:end])
            pos += end - begin
    nbytes = vocab * info["shape"][1] * 4
    new[embed] = {**info, "shape": [vocab, info["shape"][1]], "data_offsets": [pos, pos + nbytes]}
    head = json.dumps(new).encode()
    head += b" " * (-len(head) % 8)
    with (out / "model.safetensors").open("wb") as fh:
        fh.write(struct.pack("<Q", len(head)) + head + b"".join(chunks))
        fh.truncate(8 + len(head) + pos + nbytes)
    config = json.loads((out / "config.json").read_text())
    (out / "config.json").write_text(json.dumps({**config, "vocab_size": vocab}))
    return out


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (LIMIT, LIMIT))


@pytest.mark.slow
def test_eval_out_of_memory_names_model_stage_and_remedy_and_the_others_go_on(tmp_path,
                                                                              tiny_model):
    big = _with_vocab(tiny_model, tmp_path / "big", BIG_VOCAB)
    res = tmp_path / "results"
    done = subprocess.run(
        ftbench_cmd("eval", "--models", f"big={big},small={tiny_model}", "--tasks",
                    "bmw_perplexity", "--limit", "2", "--backend", "hf", "--out", res),
        env=cli_env(), capture_output=True, text=True, timeout=600, preexec_fn=_limit_memory)
    said = " ".join((done.stdout + done.stderr).split())
    assert done.returncode == 1, said[-3000:]
    assert "Traceback" not in done.stderr and "bad_alloc" not in done.stderr, said[-3000:]
    models = index(res)["models"]
    assert models["small"]["status"] == "complete", models["small"]
    assert models["big"]["status"] == "failed"
    error = models["big"]["tasks"]["bmw_perplexity"]["error"]
    line = error.splitlines()[0]
    assert line.startswith("out of memory evaluating task bmw_perplexity (model big); try a "
                           "smaller --batch-size, a smaller --limit, a smaller dtype"), line
    assert "the library said: RuntimeError: [enforce fail" in line and "can't allocate" in line
    assert " ".join(f"big / bmw_perplexity: {line}".split()) in said  # the line on the terminal


def test_failed_allocations_are_recognised_and_others_are_not():
    import torch

    caught = []
    for allocate in (lambda: torch.empty(1 << 46), lambda: bytearray(1 << 60)):
        try:
            allocate()
        except Exception as exc:  # a real failed allocation, not a constructed one
            caught.append(exc)
    assert len(caught) == 2 and all(out_of_memory.is_out_of_memory(e) for e in caught), caught
    try:
        try:
            torch.empty(1 << 46)
        except RuntimeError as exc:
            raise ValueError("while loading") from exc
    except ValueError as wrapped:
        assert out_of_memory.is_out_of_memory(wrapped)  # the cause counts
    try:
        torch.zeros(2) @ torch.zeros(3)
    except RuntimeError as exc:
        assert not out_of_memory.is_out_of_memory(exc)
    assert not out_of_memory.is_out_of_memory(OSError(2, "No such file"))


def test_training_out_of_memory_names_the_run_its_phase_and_its_settings(tmp_path, prepared,
                                                                        tiny_model):
    """A run's failure record (`train_one` catches it; the grid goes on) in ftbench's words."""
    import torch

    from ftbench.train.config import TrainConfig
    from ftbench.train.grid import _error_line, plan

    cfg = TrainConfig(output_dir=str(tmp_path / "runs"), data_dir=str(prepared),
                      base_model=str(tiny_model),
                      model_name="tiny", train_size=16, batch_size=8, max_seq_length=512)
    try:
        torch.empty(1 << 46)
    except RuntimeError as exc:
        line = _error_line(cfg, plan(cfg)[0], exc, "exporting")
    assert line.startswith("out of memory while exporting (run tiny-16); try a smaller "
                           "batch_size (now 8;"), line
    assert "max_seq_length (now 512)" in line and "can't allocate memory" in line
    assert _error_line(cfg, plan(cfg)[0], ValueError("bad"), "training") == "ValueError: bad"
