"""GLUE runs through the study pipeline with the numbers the GLUE matrix gave before it became a
study: every experiment's scores and every per-example prediction equal those commit 28b0116's
`ftbench glue` wrote for the same config (`tests/golden/glue_quick/README.md` says how).

The matrix config in the older format (`matrix_config.yaml`, the quick preset as it was) runs
through `ftbench glue`, which reads it as a study of the glue suite: one prepared folder and one
LoRA adapter per task, the decoder modes as variants of one evaluation invocation, MiniLM as a
model of kind `encoder`, the matrix as a section of the study report. Compared: the comparison
table's deterministic columns (n, accuracy and its CI, majority and chance accuracy, the
binomial test, balanced accuracy, macro-F1, MCC, unparseable share, collapse) and the (idx, gold,
predicted) of every item of every experiment; not the costs (time, memory), which differ run to
run.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from ftbench.core.io import read_jsonl

GOLDEN = Path(__file__).parent / "golden" / "glue_quick"
SCORES = ["experiment", "model", "kind", "task", "mode", "n", "acc", "acc_ci_lo", "acc_ci_hi",
          "majority_acc", "chance_acc", "p_vs_majority", "vs_majority", "balanced_acc",
          "macro_f1", "mcc", "unparseable", "collapsed"]
SHRINK = ["tasks=[sst2,rte,mnli]", "eval_n=24", "eval.limit=8", "lora_train_n=32",
          "lora.max_steps=4", "lora.batch_size=4", "lora.eval_fraction=0.0", "encoder.train_n=32",
          "encoder.max_steps=2", "encoder.max_length=32"]
RUNS = {  # golden folder -> the extra overrides of that run
    "generative": [],
    "loglikelihood": ["modes=[zero_shot,few_shot]", "eval.scoring=loglikelihood"],
}


@pytest.mark.slow
@pytest.mark.parametrize("run", sorted(RUNS))
def test_the_matrix_through_the_study_gives_the_old_numbers(run, tiny_model, glue_dir, tmp_path,
                                                           monkeypatch):
    from ftbench.cli.main import main

    monkeypatch.setenv("FTBENCH_GLUE_DATA", str(glue_dir))
    out = tmp_path / "study"
    assert main(["glue", str(GOLDEN / "matrix_config.yaml"), f"out_dir={out}",
                 f"decoders=[{{name: tiny, path: {tiny_model}}}]", *SHRINK, *RUNS[run]]) == 0
    want = pd.read_csv(GOLDEN / run / "comparison.csv")[SCORES]
    got = pd.read_csv(out / "report" / "tables" / "glue_comparison.csv")[SCORES]
    assert sorted(got["experiment"]) == sorted(want["experiment"])
    pd.testing.assert_frame_equal(got.set_index("experiment").sort_index(),
                                  want.set_index("experiment").sort_index(),
                                  check_exact=False, rtol=1e-9, atol=1e-12)
    golden = json.loads((GOLDEN / run / "predictions.json").read_text())
    for name, items in golden.items():
        folder = out / "report" / "experiments" / name
        sources = json.loads((folder / "metrics.json").read_text())["sources"]
        if "samples" in sources:  # a decoder: its lm-eval per-sample log
            rows = [[s["doc"].get("idx"), s["mcc"]["gold"], s["mcc"]["pred"]]
                    for s in read_jsonl(sources["samples"])]
        else:  # an encoder: its predictions
            rows = [[p["idx"], p["gold"], p["pred"]]
                    for p in read_jsonl(Path(sources["run_dir"]) / "predictions.jsonl")]
        assert rows == items, name
