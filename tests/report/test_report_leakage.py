"""Report section "Input leakage": audit of the scored documents beside the task's scores."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from ftbench.report.domain import Domain
from ftbench.report.leakage import leakage
from ftbench.report.loading import ReportData
from ftbench.report.section import Context, Options


def _ctx(tmp_path, manifest: dict | None) -> Context:
    if manifest is not None:
        data = tmp_path / "data"
        data.mkdir()
        (data / "manifest.json").write_text(json.dumps(manifest))
        (tmp_path / "index.json").write_text(json.dumps(
            {"settings": {"metadata": {"bmw_data": str(data)}}, "models": {}}))
    summ = pd.DataFrame({
        # doc 1 begins with its reference: its 3-word lead IS the reference (ROUGE-L 1);
        # doc 2's reference is nowhere in the input: lead "One two" vs "five six" = 0
        "prompt": ["Alpha beta gamma. Delta epsilon.", "One two three four"],
        "target": ["Alpha beta gamma.", "five six"]})
    title = pd.DataFrame({"prompt": ["Big news today: the plant opens"],
                          "target": ["the plant opens"]})
    table = pd.DataFrame({"model": ["m1", "m2"], "summ_rougeL_f1": [0.6, 0.4],
                          "title_rougeL_f1": [0.9, None]})
    data = ReportData(source=tmp_path, kind="study", table=table,
                      samples={"m1": {"bmw_summarization": summ, "bmw_title": title}},
                      domain=Domain("bmw", data_key="bmw_data"))
    return Context(data=data, options=Options())


def test_leakage_beside_scores_by_hand(tmp_path):
    sec = leakage(_ctx(tmp_path, {"strip_reference_from_input": False, "leakage": {}}))
    frame = sec.tables["leakage"].set_index("task")
    s = frame.loc["summarization"]
    assert (s["n"], s["reference_in_input"], s["input_starts_with_reference"]) == (2, 1, 1)
    assert s["copy_rougeL"] == pytest.approx(0.5)
    assert (s["best_model"], s["best_rougeL"], s["models_below_copy"], s["models"]) == (
        "m1", 0.6, 1, 2)
    t = frame.loc["title"]
    # the title is inside the input but not at its start; the 3-word lead "Big news today:"
    # shares nothing with it
    assert (t["n"], t["reference_in_input"], t["input_starts_with_reference"]) == (1, 1, 0)
    assert t["copy_rougeL"] == 0.0
    assert (t["best_model"], t["models"]) == ("m1", 1)
    text = " ".join(sec.text)
    assert "no (the published prompts)" in text
    assert "summarization: the reference is verbatim in 1/2 scored inputs (1 begin with it)" in text
    assert "1 of 2 models below the copy baseline" in text


def test_without_manifest_or_samples(tmp_path):
    sec = leakage(_ctx(tmp_path, None))
    assert "leakage" in sec.tables and not any("stripped" in t for t in sec.text)
    ctx = _ctx(tmp_path, None)
    ctx.data.samples = {}
    (why,) = leakage(ctx).skipped  # names every free-text task of the suites
    assert why.startswith("no per-sample logs of bmw_summarization or bmw_title")
    ctx.data.kind = "csv"
    assert "flat results table" in leakage(ctx).skipped[0]
