"""General-skill data: the bundled fixtures follow the hub schemas and are correct; local files are
validated line by line; the subsample is seeded; without local data the hub is used."""

from __future__ import annotations

import ast
import json
import operator
import re
from collections import Counter

import pytest

from ftbench.core.io import InputError
from ftbench.suites.general.data import (
    ENV_VAR,
    SAMPLE_DIR,
    SCHEMAS,
    load_benchmark,
    read_split,
    subsample_indices,
)

SPLITS = {"mmlu_high_school_computer_science": ("test", "dev"),
          "hellaswag": ("validation", "train"), "gsm8k": ("test", "train")}
_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
        ast.Div: operator.truediv, ast.USub: operator.neg}


def _arith(expr: str) -> float:
    """Evaluate + - * / arithmetic only (the calculator annotations of GSM8K answers)."""
    def ev(node):
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return node.value
        if isinstance(node, ast.BinOp):
            return _OPS[type(node.op)](ev(node.left), ev(node.right))
        if isinstance(node, ast.UnaryOp):
            return _OPS[type(node.op)](ev(node.operand))
        raise ValueError(f"not arithmetic: {expr}")
    return ev(ast.parse(expr, mode="eval"))


@pytest.mark.parametrize("benchmark", list(SPLITS))
def test_bundled_fixtures_follow_the_hub_schema(benchmark):
    eval_split, shots = SPLITS[benchmark]
    rows = read_split(SAMPLE_DIR, benchmark, eval_split)
    assert len(rows) >= 24, "a few dozen evaluation items"
    assert len(read_split(SAMPLE_DIR, benchmark, shots)) >= 5, "enough for 5-shot prompts"
    texts = [json.dumps(r, sort_keys=True) for r in rows]
    assert len(set(texts)) == len(texts), "no duplicate items"
    if benchmark != "gsm8k":  # answers spread over A-D, so "always A" scores about 25%
        key = "answer" if benchmark.startswith("mmlu") else "label"
        counts = Counter(str(r[key]) for r in rows)
        assert len(counts) == 4 and min(counts.values()) >= len(rows) // 4 - 1


def test_gsm8k_fixture_arithmetic_is_correct():
    for split in ("test", "train"):
        for row in read_split(SAMPLE_DIR, "gsm8k", split):
            reasoning, final = row["answer"].rsplit("\n#### ", 1)
            calcs = re.findall(r"<<([^=>]+)=([^>]+)>>", reasoning)
            assert calcs, row["question"]
            for expr, value in calcs:
                assert _arith(expr) == pytest.approx(float(value)), (expr, value)
            # the final answer is stated in the last reasoning line
            assert re.search(rf"(?<![\d.]){re.escape(final)}(?![\d])",
                             reasoning.splitlines()[-1]), row["question"]


def test_local_rows_are_validated_with_file_line_and_field(tmp_path):
    folder = tmp_path / "mmlu_high_school_computer_science"
    folder.mkdir()
    good = {"question": "q?", "subject": "s", "choices": ["a", "b", "c", "d"], "answer": 2}
    bad = {**good, "answer": "C"}
    (folder / "test.jsonl").write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n")
    with pytest.raises(InputError, match=r"test\.jsonl:2: field 'answer' must be int"):
        read_split(tmp_path, "mmlu_high_school_computer_science", "test")
    (folder / "test.jsonl").write_text(json.dumps({**good, "choices": ["a", "b"]}) + "\n")
    with pytest.raises(InputError, match=r"test\.jsonl:1: field 'choices' must be a list of 4"):
        read_split(tmp_path, "mmlu_high_school_computer_science", "test")
    with pytest.raises(InputError, match=r"dev\.jsonl: not found"):
        read_split(tmp_path, "mmlu_high_school_computer_science", "dev")


def test_gsm8k_answer_without_final_number_is_rejected(tmp_path):
    (tmp_path / "gsm8k").mkdir()
    (tmp_path / "gsm8k" / "test.jsonl").write_text(
        json.dumps({"question": "1+1?", "answer": "It is 2."}) + "\n")
    with pytest.raises(InputError, match=r"test\.jsonl:1: field 'answer' must end with '#### "):
        read_split(tmp_path, "gsm8k", "test")


def test_subsample_is_seeded_sorted_and_keeps_all_when_n_is_large():
    a = subsample_indices(100, 10, seed=7)
    assert a == subsample_indices(100, 10, seed=7) and a == sorted(a) and len(set(a)) == 10
    assert a != subsample_indices(100, 10, seed=8)
    assert subsample_indices(5, 10) == list(range(5)) == subsample_indices(5, None)


def test_sample_data_subsamples_only_the_evaluation_split(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    kwargs = {"hub_path": "openai/gsm8k", "hub_name": "main", "splits": ["test", "train"],
              "eval_split": "test", "general_data": "sample"}
    ds = load_benchmark("gsm8k", general_n=5, general_seed=3, **kwargs)
    assert len(ds["test"]) == 5 and len(ds["train"]) == 8
    full = read_split(SAMPLE_DIR, "gsm8k", "test")
    keep = subsample_indices(len(full), 5, 3)
    assert list(ds["test"]["question"]) == [full[i]["question"] for i in keep]
    # metadata from lm-eval's CLI (version, model args ...) is passed along and ignored
    again = load_benchmark("gsm8k", general_n="5", general_seed="3", version=1.0, **kwargs)
    assert list(again["test"]["question"]) == list(ds["test"]["question"])


def test_env_var_names_the_directory_and_the_hub_is_the_default(monkeypatch, tmp_path):
    kwargs = {"hub_path": "cais/mmlu", "hub_name": "high_school_computer_science",
              "splits": ["test", "dev"], "eval_split": "test"}
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    with pytest.raises(InputError, match=str(tmp_path / "mmlu_high_school_computer_science")):
        load_benchmark("mmlu_high_school_computer_science", **kwargs)
    monkeypatch.delenv(ENV_VAR)
    # no local data: the upstream hub dataset is asked for (offline here, so it fails naming it)
    with pytest.raises(Exception, match="cais/mmlu"):
        load_benchmark("mmlu_high_school_computer_science", **kwargs)
    assert set(SCHEMAS) == set(SPLITS)
