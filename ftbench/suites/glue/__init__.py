"""GLUE-small: data for the `tasks/glue_small` lm-eval tasks and the experiment matrix around them.

`data` (local JSONL or hub, stratified subsamples), `prompts` (chat rows for LoRA from the task
YAML), `config` (the matrix YAML), `matrix` (runs it), `outputs` (per-experiment files and the
comparison), `cli` (`ftbench glue`). The encoder baseline lives in `ftbench/train/encoder.py`.
"""
