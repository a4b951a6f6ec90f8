"""The GLUE-small suite: tasks/glue_small, LoRA train rows in the shared prepared layout.

The glue_small tasks read the GLUE data directory itself (`glue_data`: the HF glue JSONL schema,
else the hub), so a study on this suite points `data.source` at that directory and the tasks at
it; preparation writes what training needs: per GLUE task a seeded, label-stratified train sample
(nested sizes = rows per task) as chat rows with the generative task's prompt, and the evaluation
rows the tasks will score (`test.jsonl`, for the record and the overlap check). With
`suite_options.tasks` the study is the GLUE-small experiment matrix (`ftbench.suites.glue.study`):
one (task, split) cell per prepared directory, prepared the same way.
"""

from __future__ import annotations

from pathlib import Path

from ftbench.suites.base import DataSource, ReportVocab, Suite
from ftbench.suites.glue.data import ENV_DATA, HUB_DATASET
from ftbench.suites.glue.prepare import cells_fingerprint, prepare_cells
from ftbench.suites.glue.prompts import GLUE_TASKS_DIR, PROMPT_FILES
from ftbench.suites.glue.study import HOOKS
from ftbench.suites.prompts import load_task_yaml


def _task_names() -> list[str]:
    """The leaf glue_small tasks (file names; the group files hold no task)."""
    return sorted(p.stem for p in GLUE_TASKS_DIR.glob("glue_small_*.yaml")
                  if p.stem not in ("glue_small", "glue_small_gen"))


def hub_datasets(task: str) -> list[tuple[str, str | None]]:
    """The hub dataset a glue_small task reads without `glue_data`: nyu-mll/glue, config = its
    GLUE task (`dataset_kwargs.glue_task` of its YAML, includes merged), so an offline study
    stops at load, not after training."""
    path = GLUE_TASKS_DIR / f"{task}.yaml"
    if not path.is_file():
        return []
    glue = (load_task_yaml(path).get("dataset_kwargs") or {}).get("glue_task")
    return [(HUB_DATASET, glue)] if glue else []


def _vocab() -> ReportVocab:
    """`glue_small_sst2_gen` / `acc` → column `sst2_gen_acc`; headline: accuracy."""
    columns, headlines, binary, lower = {}, {}, set(), set()
    for task in _task_names():
        short = task.removeprefix("glue_small_")
        columns[task] = {m: f"{short}_{m}" for m in ("acc", "macro_f1", "mcc", "unparseable")}
        headlines[short] = (f"{short}_acc", f"{short}_macro_f1", f"{short}_mcc")
        binary |= {f"{short}_acc", f"{short}_unparseable"}
        lower.add(f"{short}_unparseable")
    return ReportVocab(task_columns=columns, headlines=headlines, binary=frozenset(binary),
                       lower_is_better=frozenset(lower))


def _pretraining(prepared: Path | None, corpus: Path | None):
    """GLUE's sentences are too short and too few to pre-train a language model on: `path: tiny`
    in a glue study is the embedded model every other command builds by default (the default
    suite's bundled sample), as the GLUE matrix always built it."""
    from ftbench.train.tiny_model import pretraining_data

    return pretraining_data(None, None, corpus)


SUITE = Suite(
    name="glue", task_group="glue_small", tasks_dir=GLUE_TASKS_DIR,
    data=DataSource(metadata_key="glue_data", env_var=ENV_DATA, reads="dir",
                    hub_datasets=hub_datasets),
    prompt_files=PROMPT_FILES,
    prepare_rows=lambda source, settings: prepare_cells(str(source), settings),
    fingerprint_fn=lambda sha, settings: cells_fingerprint(sha, settings),
    source_kind="dir", vocab=_vocab(), pretraining=_pretraining, study=HOOKS,
)
