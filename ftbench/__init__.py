"""ftbench: fine-tune small LLMs with LoRA/QLoRA and measure what it bought and cost, on lm-eval.

Layers, lowest first; a module imports only from its own layer or below (tests/test_layers.py):
`core` (files, fingerprints, manifests, model sources, the one lm-eval adapter) → `metrics`
(scoring arithmetic) → `suites` (each domain's data, prompts and report vocabulary) → `train`
(LoRA/QLoRA/full fine-tuning, grids) → `eval` (backends and the one-invocation runner) →
`report` (tables, statistics, plots, findings) → `pipelines` (study, GLUE matrix) → `cli`.
"""
