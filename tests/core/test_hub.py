"""A hub model is identified by the commit it names, never by what the local cache holds.

The bug this guards against: a hub base was fingerprinted by its cached snapshot's files, so
before the first download (no files) and after it (files) it had two identities, and a study on
hub models stopped after training with "trained from other inputs". The cache used here is the
layout huggingface_hub writes (scripts/hub_cache.py); a loopback server answers the hub API's
model-info call for the cold-cache case.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from file_modules import load_script

from ftbench.core import hub
from ftbench.core.fingerprint import changes, model_fingerprint
from ftbench.core.io import InputError

REPO_ID = "ftbench-test/tiny-llama"


hub_cache = load_script("hub_cache")


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty hub cache that ftbench.core.hub and huggingface_hub both read."""
    from huggingface_hub import constants

    path = tmp_path / "hf" / "hub"
    path.mkdir(parents=True)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return path


def _partial_copy(model: Path, dest: Path, names: tuple[str, ...]) -> Path:
    dest.mkdir(parents=True)
    for name in names:
        (dest / name).write_bytes((model / name).read_bytes())
    return dest


def test_identity_is_the_commit_before_and_after_the_weights_arrive(tiny_model, cache, tmp_path):
    # what the cache holds when only the config has been fetched (a download under way)
    partial = _partial_copy(tiny_model, tmp_path / "partial", ("config.json",))
    commit = hub_cache.tree_commit(tiny_model)
    hub_cache.add_to_cache(partial, REPO_ID, cache, commit=commit)
    cold = model_fingerprint(REPO_ID)
    hub_cache.add_to_cache(tiny_model, REPO_ID, cache, commit=commit)  # the whole snapshot now
    warm = model_fingerprint(REPO_ID)
    assert cold["digest"] == warm["digest"]
    assert warm["pretrained"]["kind"] == "hub" and warm["pretrained"]["commit"] == commit
    assert len(warm["pretrained"]["files"]) > len(cold["pretrained"]["files"]) == 1
    # the layout is the real one: huggingface_hub finds the snapshot file by id
    from huggingface_hub import try_to_load_from_cache

    hit = try_to_load_from_cache(REPO_ID, "model.safetensors")
    assert isinstance(hit, str) and Path(hit).parent.name == commit


def test_a_new_upstream_commit_is_a_new_model_and_named(tiny_model, cache, tmp_path):
    old = hub_cache.add_to_cache(tiny_model, REPO_ID, cache)
    before = model_fingerprint(REPO_ID)
    changed = _partial_copy(tiny_model, tmp_path / "v2",
                            tuple(p.name for p in tiny_model.iterdir() if p.is_file()))
    cfg = json.loads((changed / "config.json").read_text())
    (changed / "config.json").write_text(json.dumps({**cfg, "rms_norm_eps": 1e-5}))
    new = hub_cache.add_to_cache(changed, REPO_ID, cache)
    after = model_fingerprint(REPO_ID)
    assert new != old and after["digest"] != before["digest"]
    assert any(f"pretrained.commit: {old[:12]} → {new[:12]}" in c
               for c in changes(before, after, limit=20))
    # a pinned revision keeps the old commit (its snapshot is still cached)
    assert model_fingerprint(REPO_ID, revision=old)["digest"] == before["digest"]


def test_offline_uncached_hub_id_is_one_line_naming_it(cache):
    from ftbench.core.fingerprint import check_model_ref

    # fingerprinting does not raise (in an evaluation that model fails alone, at its turn) ...
    assert model_fingerprint("nobody/absent-model")["pretrained"]["commit"] is None
    with pytest.raises(InputError) as err:  # ... loading it says why, in one line
        check_model_ref("nobody/absent-model", "model x")
    message = str(err.value)
    assert "nobody/absent-model" in message and "HF_HUB_OFFLINE" in message
    assert "\n" not in message


class _ModelInfo(BaseHTTPRequestHandler):
    """The one hub API call identity needs: GET /api/models/<id>/revision/<rev> → its sha."""

    commits: ClassVar[dict[str, str]] = {}
    calls: ClassVar[list[str]] = []

    def do_GET(self):  # http.server's name
        self.calls.append(self.path)
        parts = self.path.split("?")[0].strip("/").split("/")
        if parts[:2] == ["api", "models"] and "revision" in parts:
            repo = "/".join(parts[2:parts.index("revision")])
            if repo in self.commits:
                body = json.dumps({"id": repo, "modelId": repo, "sha": self.commits[repo],
                                   "siblings": []}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
        self.send_response(404)
        self.send_header("X-Error-Code", "RepoNotFound")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_hub():
    server = HTTPServer(("127.0.0.1", 0), _ModelInfo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, _ModelInfo
    server.shutdown()
    _ModelInfo.calls.clear()


def _identity_in_subprocess(cache: Path, env: dict) -> dict:
    code = ("import json; from ftbench.core.fingerprint import model_fingerprint as f; "
            f"print(json.dumps(f({REPO_ID!r})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "HF_HUB_CACHE": str(cache), **env})
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_cold_cache_online_and_warm_cache_offline_agree(tiny_model, tmp_path, fake_hub):
    server, handler = fake_hub
    cache = tmp_path / "cache"
    commit = hub_cache.tree_commit(tiny_model)
    handler.commits[REPO_ID] = commit
    online = {"HF_HUB_OFFLINE": "0", "HF_ENDPOINT": f"http://127.0.0.1:{server.server_port}"}
    cold = _identity_in_subprocess(cache, online)  # nothing cached: the hub API says which commit
    assert any(REPO_ID in c for c in handler.calls)
    assert cold["pretrained"]["commit"] == commit and cold["pretrained"]["files"] == {}
    hub_cache.add_to_cache(tiny_model, REPO_ID, cache, commit=commit)  # what the download writes
    warm = _identity_in_subprocess(cache, {"HF_HUB_OFFLINE": "1"})
    assert warm["digest"] == cold["digest"]
    # upstream moves: online the new commit is seen, although the cache still names the old one
    handler.commits[REPO_ID] = "f" * 40
    moved = _identity_in_subprocess(cache, online)
    assert moved["pretrained"]["commit"] == "f" * 40 and moved["digest"] != warm["digest"]


def test_unknown_repo_online_is_refused_not_looked_up_in_the_cache(tmp_path, fake_hub):
    server, _ = fake_hub
    env = {**os.environ, "HF_HUB_CACHE": str(tmp_path), "HF_HUB_OFFLINE": "0",
           "HF_ENDPOINT": f"http://127.0.0.1:{server.server_port}"}
    code = "from ftbench.core.hub import resolve_commit; resolve_commit('nobody/none')"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env=env)
    assert out.returncode != 0 and "nobody/none" in out.stderr
    assert "RepositoryNotFoundError" in out.stderr


def test_a_revision_that_is_a_commit_needs_no_lookup(cache):
    assert hub.resolve_commit("any/model", "a" * 40) == "a" * 40
    assert hub.is_hub_id("org/name") and not hub.is_hub_id("./local")
