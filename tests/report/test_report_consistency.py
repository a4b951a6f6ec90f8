"""A report that never contradicts itself (issue 25): one verdict per pair, every verdict naming
its family, `significant` following p_holm, sentences right for one model and for ties, the
terminal quoting the report's headline metrics, hints in the CLI's own syntax.

`CLOSE` is a synthetic study whose fine-tuned models sit 0.004 and 0.008 above the base: some
raw p-values fall below 0.05 while their Holm-adjusted ones do not, which is where adjusting each
table on its own (Holm over 2 in one, over 3 in another) gave one pair two verdicts.
"""

from __future__ import annotations

import ast
import io
import json
import re
import tomllib
from pathlib import Path

import pandas as pd
import pytest
from report_synthetic import context, item_study
from rich.console import Console

from ftbench.cli.main import build_parser, main
from ftbench.eval.summary import print_summary as eval_summary
from ftbench.report import findings, terminal
from ftbench.report.build import compute_sections
from ftbench.report.general_results import headline as general_headline
from ftbench.report.stats import ALPHA
from ftbench.report.tables import task_headlines
from ftbench.report.vocab import TASK_COLUMNS

REPO = Path(__file__).resolve().parents[2]
CLOSE = {"m-base": {"quality": 0.5, "family": "M"},
         "m-ft-0": {"quality": 0.504, "family": "M", "train_size": 100},
         "m-ft-1": {"quality": 0.508, "family": "M", "train_size": 200}}


def _report(models: dict, **options):
    ctx = context(item_study(models), **options)
    sections = compute_sections(ctx)
    return ctx, sections, {n: f for s in sections for n, f in s.tables.items()}


@pytest.fixture(scope="module")
def close():
    return _report(CLOSE)


def _pair(a: str, b: str) -> frozenset:
    return frozenset((a, b))


def test_the_close_study_has_p_values_that_holm_moves_across_alpha(close):
    """The premise of the tests below: adjustment changes a verdict in this study."""
    pw = close[2]["pairwise_significance"]
    assert ((pw["p"] < ALPHA) & (pw["p_holm"] >= ALPHA)).any()


def test_significant_follows_the_adjusted_p_it_sits_beside(close):
    tables = close[2]
    checked = 0
    for name, frame in tables.items():
        if {"significant", "p_holm"} <= set(frame.columns):
            tested = frame[frame["p_holm"].notna()]
            assert (tested["significant"] == (tested["p_holm"] < ALPHA)).all(), name
            checked += len(tested)
    assert checked >= len(tables["pairwise_significance"]) + len(tables["paired_summary"])


def test_one_pair_gets_one_verdict_in_every_table_and_sentence(close):
    ctx, _, tables = close
    pw = tables["pairwise_significance"]
    truth = {_pair(r.model_a, r.model_b): (r.p_holm, r.significant) for r in pw.itertuples()}
    assert len(truth) == 3  # every pair of the three models

    lead = tables["significance_vs_leader"].set_index("model")
    leader = lead.index[lead["vs_leader"] == "leader"][0]
    for model, row in lead.drop(leader).iterrows():
        p_holm, sig = truth[_pair(leader, model)]
        assert row["p_holm"] == pytest.approx(p_holm) and (row["vs_leader"] == "sig.") == sig

    for r in tables["adjacent_ranks"].itertuples():
        p_holm, sig = truth[_pair(r.model, r.next_model)]
        assert r.p_holm == pytest.approx(p_holm) and (r.verdict == "resolved") == sig

    bvf = tables["base_vs_finetuned"]
    score = bvf[bvf["metric"] == ctx.score]
    for r in score.itertuples():
        p_holm, sig = truth[_pair(r.base, r.model)]
        assert r.p_holm == pytest.approx(p_holm) and bool(r.significant) == sig

    text = findings.gains(ctx, tables).text
    ups = sum(truth[_pair(r.base, r.model)][1] and r.abs_change > 0 for r in score.itertuples())
    downs = sum(truth[_pair(r.base, r.model)][1] and r.abs_change < 0 for r in score.itertuples())
    assert (f"; of the {len(score)} models compared with the base, {ups} "
            f"{'is' if ups == 1 else 'are'} significantly above it and {downs} significantly "
            "below") in text

    rec = tables["recommendations"].set_index("recommendation").loc["best overall"]
    rivals = [m for m in lead.index if m != leader]
    tied = [m for m in rivals if not truth[_pair(leader, m)][1]]
    assert rec["verdict"] == ("tie" if tied else "resolved")
    assert set(filter(None, rec["tied_with"].split(", "))) == set(tied)


def test_every_verdict_names_its_family_and_correction(close):
    ctx, sections, tables = close
    k = len(tables["pairwise_significance"])
    family = f"Holm over {k} comparisons of {ctx.score}: every pair of the 3 models"
    for name in ("pairwise_significance", "adjacent_ranks"):
        assert tables[name]["correction"].str.startswith(family).all(), name
    lead = tables["significance_vs_leader"]
    assert lead.loc[lead["vs_leader"] != "leader", "correction"].str.startswith(family).all()
    for key in ("leader", "resolution", "gains"):
        assert family in getattr(findings, key)(ctx, tables).text, key
    assert family in tables["recommendations"].set_index("recommendation").at[
        "best overall", "evidence"]
    ranking = next(s for s in sections if s.key == "ranking")
    assert any(family in line for line in ranking.text)
    # a base-comparison metric other than the score: the base against each other model
    bvf = tables["base_vs_finetuned"]
    rouge = bvf[bvf["metric"] == "summ_rougeL_f1"]
    n = int(rouge["p"].notna().sum())
    assert (rouge["correction"] == f"Holm over {n} comparisons of summ_rougeL_f1: the base "
                                   "m-base vs each other model").all()
    # the paired section is one more view of the same families
    paired = tables["paired_summary"].set_index("metric")
    a, b = ctx.shared.pair
    for metric, row in paired.iterrows():
        other = bvf[(bvf["model"] == b) & (bvf["metric"] == metric)]
        if a == ctx.shared.base and not other.empty:
            assert row["p_holm"] == pytest.approx(other["p_holm"].iloc[0])
            assert row["correction"] == other["correction"].iloc[0]


def test_a_single_model_is_compared_with_nobody():
    ctx, _, tables = _report({"solo": CLOSE["m-ft-1"]})
    text = findings.leader(ctx, tables).text
    assert "only model with a score" in text
    assert "significantly below" not in text and "n/a" not in text
    assert "pairwise_significance" not in tables or tables["pairwise_significance"].empty


def test_models_with_equal_scores_share_the_lead():
    data = item_study({"m-a": CLOSE["m-ft-1"], "m-b": CLOSE["m-ft-1"], "m-c": {"quality": 0.3}})
    data.samples["m-b"] = {t: f.copy() for t, f in data.samples["m-a"].items()}
    data.table.loc[data.table["model"] == "m-b", data.table.columns[1:]] = \
        data.table.loc[data.table["model"] == "m-a", data.table.columns[1:]].to_numpy()
    ctx = context(data)
    sections = compute_sections(ctx)
    tables = {n: f for s in sections for n, f in s.tables.items()}
    text = findings.leader(ctx, tables).text
    assert text.startswith("**m-a** and **m-b** share the lead on overall_score")
    assert " leads " not in text
    ranking = next(s for s in sections if s.key == "ranking")
    assert any(line.startswith("Shared lead (2 models with the same score): **m-a**, **m-b**")
               for line in ranking.text)


def test_the_report_terminal_shows_only_headline_metric_rows(close):
    ctx, sections, tables = close
    out = io.StringIO()
    terminal.print_summary(ctx, sections, {"summary": "summary.md", "tables": {}, "plots": {}},
                           Console(file=out, width=400))
    rows = "\n".join(line for line in out.getvalue().splitlines() if "│" in line)
    heads = set(task_headlines(ctx.table))
    shown = set(tables["paired_summary"]["metric"]) | set(tables["base_vs_finetuned"]["metric"])
    assert heads & shown and shown - heads - {ctx.score}
    for metric in shown:
        found = re.search(rf"│ *{re.escape(metric)} *│", rows) is not None
        assert found == (metric in heads or metric == ctx.score), metric


def _lm_eval_results(model_dir: Path, results: dict) -> None:
    model_dir.mkdir(parents=True)
    (model_dir / "results_2026-01-01T00-00-00.json").write_text(json.dumps({"results": results}))


def test_the_eval_summary_quotes_the_report_headline_of_each_task(tmp_path):
    results = {
        "bmw_summarization": {"alias": "s", "score,none": 0.2138, "rougeL,none": 0.0815,
                              "bertscore_f1,none": 0.61},
        "bmw_title": {"score,none": 0.31, "rouge1,none": 0.2, "rougeL,none": 0.12},
        "general_small_hellaswag": {"acc,none": 0.042, "acc_stderr,none": 0.01,
                                    "acc_norm,none": 0.54},
        "general_small_gsm8k": {"exact_match,strict-match": 0.11,
                                "exact_match,flexible-extract": 0.27}}
    _lm_eval_results(tmp_path / "m", results)
    out = io.StringIO()
    eval_summary({"models": {"m": {"status": "complete"}}}, tmp_path, Console(file=out, width=300))
    text = out.getvalue()
    # the report's choice: a suite task's headline column, a general benchmark's headline key
    table = pd.DataFrame([{"model": "m", **{TASK_COLUMNS[t][k.split(",")[0]]: v
                                            for t in ("bmw_summarization", "bmw_title")
                                            for k, v in results[t].items()
                                            if k.split(",")[0] in TASK_COLUMNS[t]}}])
    columns = {TASK_COLUMNS[t][m]: (t, m) for t in ("bmw_summarization", "bmw_title")
               for m in TASK_COLUMNS[t]}
    expected = {columns[c] for c in task_headlines(table)}
    for task in ("general_small_hellaswag", "general_small_gsm8k"):
        keys = [tuple(k.split(",")) for k in results[task] if "_stderr" not in k]
        metric, filt = general_headline(keys)
        expected.add((task, metric if filt == "none" else f"{metric} [{filt}]"))
    assert len(expected) == 4
    for task, metric in expected:
        key = f"{metric.split(' ')[0]},{metric.split('[')[1][:-1] if '[' in metric else 'none'}"
        row = next(line for line in text.splitlines() if task.split("_", 1)[1] in line)
        assert metric in row and f"{results[task][key]:.4g}" in row, (task, row)
    assert f"{results['bmw_summarization']['score,none']:.4g}" not in text
    assert f"{results['general_small_hellaswag']['acc,none']:.4g}" not in text


def _report_strings() -> list[str]:
    """Every string literal (f-string parts included) of the report package."""
    found = []
    for path in sorted((REPO / "ftbench" / "report").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                found.append(node.value)
    return found


def _options() -> dict[str, set[str]]:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    return {name: {o for a in p._actions for o in a.option_strings}
            for name, p in sub.choices.items()}


def test_every_hint_shows_the_real_cli_syntax():
    options = _options()
    everywhere = set().union(*options.values())
    bad = []
    for text in _report_strings():
        bad += [f"{m!r} in {text!r}" for m in re.findall(r"\b[a-z_]+=[A-Z]{2,}\b", text)]
        command = re.search(r"ftbench (\w[\w-]*)", text)
        known = options.get(command.group(1), everywhere) if command else everywhere
        bad += [f"{flag} in {text!r}" for flag in re.findall(r"(?<![\w-])--[a-z][a-z-]*", text)
                if flag not in known]
    assert not bad, "hints that are not ftbench's CLI syntax:\n" + "\n".join(bad)
    assert {"--baseline", "--runs", "--mapping"} <= options["report"]


def test_version_prints_the_package_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    from importlib.metadata import PackageNotFoundError, version
    try:
        expected = version("ftbench")
    except PackageNotFoundError:
        expected = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert capsys.readouterr().out.strip() == f"ftbench {expected}"
