"""The demo's result tables for docs/benchmarks.md, from a report's CSV tables.

    python scripts/demo_table.py work/demo/report           # print the tables
    python scripts/demo_table.py work/demo/report --check   # exit 1 and a diff if the page differs

prints the markdown that sits between the `demo-table` markers of docs/benchmarks.md; a fresh
`make demo` run gives the same text (the demo is deterministic on this machine: `--check` after
`make demo` says so), and `tests/test_bmw_golden.py` checks the page against the frozen demo
study's report.
"""

from __future__ import annotations

import argparse
import csv
import difflib
import sys
from pathlib import Path

MODELS = ("tiny-llama-base", "tiny-llama-16", "tiny-llama-48")
HEAD = "| metric | base | LoRA, 16 articles | LoRA, 48 articles |\n|---|---|---|---|"


def _rows(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _f(value: str, digits: int = 3) -> str:
    return f"{float(value):.{digits}f}"


def _share(value: str) -> str:
    return f"{100 * float(value):.0f}%" if value not in ("", None) else "—"


def demo_tables(report: Path) -> str:
    """The two markdown tables and the sentence on significance, from `report/tables/`."""
    tables = Path(report) / "tables"
    m = {r["model"]: r for r in _rows(tables / "models.csv")}
    fmt = {(r["model"], r["task"]): r for r in _rows(tables / "answer_format.csv")}
    rank = {r["model"]: r for r in _rows(tables / "ranking.csv")}

    def line(label, cell):
        return f"| {label} | " + " | ".join(cell(name) for name in MODELS) + " |"

    lines = [HEAD,
             line("type accuracy (share of answers with no committed type)", lambda n:
                  f"{_f(m[n]['type_accuracy'])} ({_share(fmt[(n, 'bmw_type')]['unparseable'])})"),
             line("tag F1 (share of answers with no tag list)", lambda n:
                  f"{_f(m[n]['tag_f1'])} ({_share(fmt[(n, 'bmw_tags')]['unparseable'])})"),
             line("title ROUGE-L / BERTScore F1", lambda n:
                  f"{_f(m[n]['title_rougeL_f1'])} / {_f(m[n]['title_bertscore_f1'])}"),
             line("summary ROUGE-L / BERTScore F1", lambda n:
                  f"{_f(m[n]['summ_rougeL_f1'])} / {_f(m[n]['summ_bertscore_f1'])}"),
             line("summary length ratio (answers at the token budget)", lambda n:
                  f"{_f(m[n]['summ_length_ratio'], 2)} "
                  f"({_share(fmt[(n, 'bmw_summarization')]['budget_hit_rate'])})"),
             line("word perplexity of article text", lambda n:
                  f"{float(m[n]['word_perplexity']):,.0f}"),
             line("overall score (95% bootstrap CI)", lambda n:
                  f"{_f(rank[n]['overall_score'])} ({_f(rank[n]['ci_lo'])}–"
                  f"{_f(rank[n]['ci_hi'])})")]
    p = {r["model"]: r for r in _rows(tables / "base_vs_finetuned.csv")
         if r["metric"] == "overall_score"}
    lines += ["", "Paired permutation test of each fine-tuned model against the base on the "
              f"overall score per article, Holm-adjusted over the 3 pairs of models: LoRA 16 "
              f"p_holm = {float(p['tiny-llama-16']['p_holm']):.4f}, LoRA 48 p_holm = "
              f"{float(p['tiny-llama-48']['p_holm']):.4f}.", "",
              "| benchmark / metric | base | LoRA 16: value, lost / gained, p | "
              "LoRA 48: value, lost / gained, p |", "|---|---|---|---|"]
    forgetting = [r for r in _rows(tables / "forgetting.csv") if r["headline"] == "True"]
    for bench in dict.fromkeys(r["benchmark"] for r in forgetting):
        rows = {r["model"]: r for r in forgetting if r["benchmark"] == bench}
        first = next(iter(rows.values()))
        cells = [f"{_f(r['finetuned_value'])}, {r['lost']} / {r['gained']}, "
                 f"{float(r['p']):.2f}" for r in (rows[n] for n in MODELS[1:])]
        lines.append(f"| {bench}, {first['metric']} ({first['filter']}) | "
                     f"{_f(first['base_value'])} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


PAGE = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
START, END = "<!-- demo-table:start -->\n", "<!-- demo-table:end -->"


def shown_tables(page: Path = PAGE) -> str:
    """The text between the `demo-table` markers of docs/benchmarks.md."""
    return page.read_text(encoding="utf-8").split(START)[1].split(END)[0]


def check(report: Path, page: Path = PAGE) -> list[str]:
    """The unified diff from the page's tables to the report's (empty: they agree)."""
    return list(difflib.unified_diff(shown_tables(page).splitlines(),
                                     demo_tables(report).splitlines(),
                                     f"{page} (demo-table)", f"{report}", lineterm=""))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path, help="a demo report folder (work/demo/report)")
    parser.add_argument("--check", action="store_true",
                        help="compare with docs/benchmarks.md instead of printing")
    args = parser.parse_args(argv)
    if not args.check:
        sys.stdout.write(demo_tables(args.report))
        return 0
    diff = check(args.report)
    print("\n".join(diff) if diff else f"docs/benchmarks.md shows {args.report}'s tables")
    return 1 if diff else 0


if __name__ == "__main__":
    sys.exit(main())
