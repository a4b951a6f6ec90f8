"""`report.composite`: a study's own weights of its suite's overall score, checked when the
config loads (one line naming the key, exit 2) and recorded with the results for the report."""

from __future__ import annotations

import pytest
import yaml
from cli_helpers import in_process, one_line_error

from ftbench.core.paths import CONFIGS_DIR
from ftbench.pipelines.stage_inputs import eval_settings
from ftbench.pipelines.study_config import load_study_config
from ftbench.report.domain import study_domain
from ftbench.suites.chat.suite import COMPOSITE

SAMPLE_CONFIG = CONFIGS_DIR / "chat_sample.yaml"


def _config(tmp_path, composite) -> str:
    data = yaml.safe_load(SAMPLE_CONFIG.read_text())
    data["report"]["composite"] = composite
    data["out_dir"] = str(tmp_path / "study")
    path = tmp_path / "chat.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return str(path)


def test_study_weights_are_scaled_recorded_and_read_back_by_the_report(tmp_path):
    cfg = load_study_config(_config(tmp_path, {"answer_rougeL": 3, "answer_keyword_overlap": 1,
                                               "answer_bertscore_f1": 0}))
    assert cfg.report.composite == {"answer_rougeL": 0.75, "answer_keyword_overlap": 0.25}
    record = eval_settings(cfg).for_index("hf")["suite"]  # what the results index keeps
    assert record == {"name": "chat", "origin": "built-in", "composite": cfg.report.composite}
    assert study_domain({"suite": record}, [], "index.json", []).composite == cfg.report.composite
    # without the key the suite's defaults rank, and nothing extra is recorded
    plain = load_study_config(SAMPLE_CONFIG)
    assert plain.report.composite is None and "composite" not in eval_settings(plain).suite
    assert study_domain({"suite": eval_settings(plain).suite}, [], "i", []).composite == COMPOSITE


@pytest.mark.parametrize("composite, needle", [
    ({"answer_rouge_l": 1.0}, "config key 'report.composite.answer_rouge_l'"),
    ({"answer_rougeL": -0.5}, "config key 'report.composite.answer_rougeL'"),
    ({"answer_rougeL": 0, "answer_keyword_overlap": 0}, "config key 'report.composite'"),
    ({"answer_rougeL": float("nan")}, "config key 'report.composite.answer_rougeL'"),
    ({"answer_rougeL": "heavy"}, "config key 'report.composite.answer_rougeL'"),
])
def test_bad_weights_stop_the_study_at_load_naming_the_key(tmp_path, capsys, composite, needle):
    config = _config(tmp_path, composite)  # NaN is written as YAML's .nan
    one_line_error(in_process(capsys, "study", config), config, needle)
    assert not (tmp_path / "study").exists()
