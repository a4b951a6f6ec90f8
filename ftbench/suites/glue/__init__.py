"""GLUE-small: data for the `tasks/glue_small` lm-eval tasks and the experiment matrix around them.

`data` (local JSONL or hub, stratified subsamples), `prompts` (chat rows for LoRA from the task
YAML), `suite` (the suite: prepared layout, report vocabulary), `options` (the study's
`suite_options`), `study` (what the suite adds to a study: variants, one part per task, the
encoder model kind, report sections), `encoder` (the encoder baseline), `report` (the matrix's
comparison in the study report), `matrix_config` (the matrix's older YAML as a study config).
"""
