"""A toy domain written into a temporary folder: what a user adds to run ftbench on a new domain.

Two files and a task folder, nothing inside the package:
- `tasks/toy/`: lm-eval tasks `toy_upper` (generate the word in capitals, exact match) and
  `toy_kind` (fruit or animal, loglikelihood choice), group `toy`, and a `utils.py` whose
  `custom_dataset` reads the prepared `test.jsonl` named by the `toy_data` metadata key;
- `toy_suite.py`: `SUITE = Suite(...)`: its data source, its prompts (from the YAML), its
  preparation (words JSONL → the shared prepared layout) and its report vocabulary, with a
  composite score of its own (`COMPOSITE`) and what `toy_kind`'s answers are (a choice);
- `words.jsonl`: the raw data (one word and its kind per line).
"""

from __future__ import annotations

import json
from pathlib import Path

WORDS = [("apple", "fruit"), ("tiger", "animal"), ("pear", "fruit"), ("horse", "animal"),
         ("plum", "fruit"), ("zebra", "animal"), ("grape", "fruit"), ("otter", "animal"),
         ("mango", "fruit"), ("camel", "animal"), ("lemon", "fruit"), ("eagle", "animal")]

UTILS = '''
import datasets

from ftbench.suites.layout import test_rows


def load_toy_split(toy_task, toy_data=None, **metadata):
    """custom_dataset hook: lm-eval passes the metadata (toy_data) and dataset_kwargs."""
    rows = test_rows(toy_data, toy_task, "metadata toy_data")
    return datasets.DatasetDict({"test": datasets.Dataset.from_list(rows)})
'''

TEMPLATE = '''custom_dataset: !function utils.load_toy_split
test_split: test
doc_to_target: "{{target}}"
target_delimiter: " "
metadata:
  version: 1.0
'''

UPPER = '''include: _default_template_yaml
task: toy_upper
dataset_kwargs:
  toy_task: upper
output_type: generate_until
description: "You rewrite words."
doc_to_text: "Write this word in capital letters: {{input}}"
generation_kwargs:
  until: ["<|im_end|>", "\\n"]
  do_sample: false
  max_gen_toks: 8
metric_list:
  - {metric: exact_match, aggregation: mean, higher_is_better: true}
'''

KIND = '''include: _default_template_yaml
task: toy_kind
dataset_kwargs:
  toy_task: kind
output_type: multiple_choice
description: "You sort words."
doc_to_text: "Is this a fruit or an animal? {{input}}"
doc_to_choice: ["fruit", "animal"]
doc_to_target: "{{target}}"
metric_list:
  - {metric: acc, aggregation: mean, higher_is_better: true}
'''

GROUP = '''group: toy
task: [toy_upper, toy_kind]
aggregate_metric_list:
  - {metric: acc, aggregation: mean, weight_by_size: false}
metadata:
  version: 1.0
'''

SUITE_MODULE = '''"""The toy suite: words in capitals, fruit or animal."""

from pathlib import Path

from ftbench.core.io import read_jsonl
from ftbench.suites.base import DataSource, ReportVocab, Suite, TaskKind
from ftbench.suites.layout import prepare_examples
from ftbench.suites.prompts import read_prompts

TASKS_DIR = Path(__file__).parent / "tasks" / "toy"
PROMPTS = {"upper": "toy_upper.yaml", "kind": "toy_kind.yaml"}


def prepare(source, settings):
    rows = []
    for item in read_jsonl(source):
        word = item["word"]
        rows.append({"id": word + "-upper", "article_id": word, "task": "upper", "input": word,
                     "target": word.upper()})
        rows.append({"id": word + "-kind", "article_id": word, "task": "kind", "input": word,
                     "target": item["kind"]})
    return prepare_examples(rows, settings, read_prompts(TASKS_DIR, PROMPTS), str(source))


SUITE = Suite(
    name="toy", task_group="toy", tasks_dir=TASKS_DIR,
    data=DataSource(metadata_key="toy_data", env_var="FTBENCH_TOY_DATA"),
    prompt_files=PROMPTS, prepare_rows=prepare,
    vocab=ReportVocab(
        task_columns={"toy_upper": {"exact_match": "upper_exact_match"},
                      "toy_kind": {"acc": "kind_accuracy"}},
        headlines={"upper": ("upper_exact_match",), "kind": ("kind_accuracy",)},
        binary=frozenset({"upper_exact_match", "kind_accuracy"}),
        composite={"upper_exact_match": 0.7, "kind_accuracy": 0.3},
        task_kinds={"toy_kind": TaskKind("choice", name="kind", gold="target",
                                         labels=("fruit", "animal"))},
        item_noun="word"),
)
'''
COMPOSITE = {"upper_exact_match": 0.7, "kind_accuracy": 0.3}


def write_toy_domain(root: Path) -> Path:
    """The task folder, the suite module and the raw words under `root`; returns the module."""
    tasks = root / "tasks" / "toy"
    tasks.mkdir(parents=True)
    for name, text in {"_default_template_yaml": TEMPLATE, "toy_upper.yaml": UPPER,
                       "toy_kind.yaml": KIND, "toy.yaml": GROUP, "utils.py": UTILS}.items():
        (tasks / name).write_text(text, encoding="utf-8")
    (root / "words.jsonl").write_text(
        "".join(json.dumps({"word": w, "kind": k}) + "\n" for w, k in WORDS), encoding="utf-8")
    module = root / "toy_suite.py"
    module.write_text(SUITE_MODULE, encoding="utf-8")
    return module
