"""The general-skills suite (`tasks/general_small/`): lm-eval's own MMLU / HellaSwag / GSM8K tasks,
renamed, with their data from the hub (default) or from local files in the hub schema.

`data` loads and validates the rows (and subsamples the evaluation split); `task` turns an
lm-eval built-in task definition into a `general_small_*` task without touching its prompt,
metrics or filters.
"""
