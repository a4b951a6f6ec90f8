"""The bmw tasks end to end through lm-eval with canned answers in the shapes real models write.

A registered lm-eval LM returns, per (task, article), a fixed raw answer: reasoning blocks,
template residue, verbose sentences, negated and ambiguous labels, lists in every shape. The real
lm-eval pipeline builds the prompts (chat template = the JSON of the messages, so the test can
see exactly what a model is sent), applies the task's stops, runs our process_results and
metrics; the per-sample scores are checked by hand. The LM honours the token budget like a real
one (an answer longer than max_gen_toks is cut at the budget), so the runner's budget-hit count
is checked too.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from lm_eval.api.model import LM
from lm_eval.api.registry import register_model

from ftbench.core.io import read_jsonl
from ftbench.core.paths import TASKS_DIR
from ftbench.eval.results_files import samples_file
from ftbench.suites.bmw.prepare import PrepareResult, article_rows, write_prepared
from ftbench.suites.bmw.prompts import task_prompts
from ftbench.suites.bmw.schema import validate_article

TYPES = ["Press Release", "Press Release", "Press Release", "Speech", "Speech", "Press Kit",
         "Press Kit", "Fact & Figures"]
TAGS = [["BMW", "Production"], ["MINI", "Design"], ["Motorsport", "Events"], ["BMW", "People"],
        ["Sustainability", "Plants"], ["BMW i", "Neue Klasse"], ["Art Car", "Culture"],
        ["Sales Figures", "MINI"]]
WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"]


def _article(i: int) -> dict:
    w = WORDS[i]
    return {"title": f"The {w} plant opens its doors", "date": "01.01.2025", "type": TYPES[i],
            "summary": f"The {w} site starts production of {w} cars today.",
            "tags": TAGS[i], "url": f"https://example.org/{w}",
            "content": f"Munich. The {w} site starts production of {w} cars today. "
                       f"Workers at {w} built the line in two years."}


# raw answers per task, one per article (index = article); expected per-sample scores below
TYPE_ANSWERS = [
    "Based on its content and structure, I would classify this article as a **Press Release**.",
    "Press Release, Press Kit, Fact & Figures, or Speech",                 # lists every label
    "This is not a Press Kit; it is a Press Release.",                      # negated + committed
    "Press Release or Speech",                                              # ambiguous
    "<think>\nIt quotes a speech; could it be a press kit?\n</think>\n\nSpeech",
    "<think>\nLet me weigh whether this is a press kit or a press release",  # never closes
    "assistant\n\n**Press Kit**\n\nThis article bundles several press releases.",
    "It is a press release.",                                               # wrong label
]
TYPE_EXPECTED = [  # (acc, unparseable)
    (1, 0), (0, 1), (1, 0), (0, 1), (1, 0), (0, 1), (1, 0), (0, 0)]

TAG_ANSWERS = [
    "BMW, Production",
    "Here are the key topics:\n\n- MINI\n- Design",                       # preamble + blank line
    '["Motorsport", "Events"]',                                            # JSON
    "BMW, People [1]\n\n[1] Source: BMW Group PressClub",                  # footnote
    "Key Topics:\n1. **Sustainability**: the plant runs on green power.\n2. **Plants**: a new site.",
    "The article discusses the new site of the BMW Group and how the company expands its "
    "production network. Key Topics: 1. Neue Klasse: the new generation. 2. BMW i: electric cars.",
    "<think>\nart or culture?\n</think>\nArt Car, Culture, Munich",       # one extra tag
    "",
]
TAG_EXPECTED = [  # (f1, unparseable)
    (1.0, 0), (1.0, 0), (1.0, 0), (1.0, 0), (1.0, 0), (0.0, 1), (0.8, 0), (0.0, 1)]

VERBOSE = ("Summary of the article.\n\nThe site starts production today.\n\n"
           "Workers built the line in two years, and the plant is part of a large network.")
SUMM_ANSWERS = [
    None,  # = the reference itself
    VERBOSE,                                   # three paragraphs: all of it is scored
    "<think>\nThe article is about a plant.",  # unterminated reasoning: no answer
    None, None, None, None,
    "The hotel site starts production of hotel cars today.</s>\nuser: thanks!",  # residue
]
LONG_TITLE = " ".join(["word"] * 400)  # over the title budget: cut at max_gen_toks by the LM


def _answers() -> dict[tuple[str, str], str]:
    out = {}
    for i in range(len(WORDS)):
        a = _article(i)
        url = a["url"]
        out[("type", url)] = TYPE_ANSWERS[i]
        out[("tags", url)] = TAG_ANSWERS[i]
        out[("summarization", url)] = SUMM_ANSWERS[i] if SUMM_ANSWERS[i] is not None else a["summary"]
        out[("title", url)] = LONG_TITLE if i == 1 else a["title"]
    return out


def _tokenizer(texts: list[str]):
    """A real (word-level) HF tokenizer, so budgets and budget hits are counted in tokens."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    pre = pre_tokenizers.Whitespace()
    vocab = {"[UNK]": 0}
    for text in texts:
        for word, _ in pre.pre_tokenize_str(text):
            vocab.setdefault(word, len(vocab))
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]")


@register_model("ftbench-canned")
class CannedLM(LM):
    """Answers each generation request with the canned answer of its (task, article)."""

    def __init__(self, answers: dict | None = None, **_kwargs) -> None:
        super().__init__()
        self.answers = answers or {}
        self.tokenizer = _tokenizer(list(self.answers.values()))
        self.tokenizer.chat_template = "{{ messages | tojson }}"  # the runner checks for one
        self.max_gen_toks = 256
        self.seen: list[list[dict]] = []
        systems = {p.system: task for task, p in task_prompts().items()}
        self._task = systems.get
        self._urls: dict[tuple[str, str], str] = {}

    def register_inputs(self, rows: list[dict]) -> None:
        for row in rows:
            if row["task"] != "perplexity":
                self._urls[(row["task"], row["input"])] = row["url"]

    @property
    def tokenizer_name(self) -> str:
        return "ftbench-canned"

    def apply_chat_template(self, chat_history, add_generation_prompt=True) -> str:
        return json.dumps(chat_history)

    def generate_until(self, requests, disable_tqdm: bool = False) -> list[str]:
        out = []
        for req in requests:
            context, gen_kwargs = req.args
            messages = json.loads(context)
            self.seen.append(messages)
            task = self._task(messages[0]["content"])
            prefix = task_prompts()[task].render_user({"input": ""})
            url = self._urls[(task, messages[1]["content"][len(prefix):])]
            answer = self.answers[(task, url)]
            enc = self.tokenizer(answer, add_special_tokens=False, return_offsets_mapping=True)
            budget = gen_kwargs.get("max_gen_toks", self.max_gen_toks)
            if len(enc["input_ids"]) > budget:  # a real LM stops at the budget
                answer = answer[: enc["offset_mapping"][budget - 1][1]]
            for stop in gen_kwargs.get("until") or []:  # and at a stop sequence (removed)
                answer = answer.split(stop)[0]
            out.append(answer)
        return out

    def loglikelihood(self, requests, disable_tqdm: bool = False):
        raise NotImplementedError("only generative bmw tasks are run with canned answers")

    def loglikelihood_rolling(self, requests, disable_tqdm: bool = False):
        raise NotImplementedError("only generative bmw tasks are run with canned answers")


@pytest.fixture(scope="module")
def canned_run(tmp_path_factory):
    """Every generative bmw task through the runner's lm-eval call, on the canned LM."""
    from ftbench.core.context import ContextLength
    from ftbench.eval.specs import ModelSpec
    from ftbench.eval.tasks import task_manager
    from ftbench.eval.worker import ModelRun, WorkerJob, evaluate_task

    root = tmp_path_factory.mktemp("canned")
    rows = []
    for i in range(len(WORDS)):
        rows += article_rows(validate_article(_article(i), "articles.jsonl", i + 1), None)[0]
    data = write_prepared(PrepareResult(test=rows, train={}, manifest={}), root / "data")
    lm = CannedLM(answers=_answers())
    lm.register_inputs(rows)
    job = WorkerJob(spec=ModelSpec("canned", "canned"), tasks=[], model_dir=root / "canned",
                    backend="hf", metadata={"bmw_data": str(data)}, include_path=str(TASKS_DIR))
    job.model_dir.mkdir()
    tm = task_manager(str(TASKS_DIR), job.metadata, ["bmw_type"])
    run = ModelRun(lm, ContextLength(1 << 20, "test", 1 << 20), {}, tm, lm.tokenizer)
    files = {t: evaluate_task(run, job, t) for t in
             ("bmw_type", "bmw_tags", "bmw_summarization", "bmw_title")}
    return lm, job.model_dir, files, rows


def _samples(model_dir: Path, task: str) -> list[dict]:
    lines = read_jsonl(samples_file(model_dir, task))
    return sorted(lines, key=lambda s: WORDS.index(s["doc"]["url"].rsplit("/", 1)[-1]))


def test_prompts_sent_are_the_training_rows(canned_run):
    lm, _, _, rows = canned_run
    from ftbench.suites.bmw.prepare import to_chat

    expected = [to_chat(r)["messages"][:2] for r in rows if r["task"] != "perplexity"]
    assert sorted(map(json.dumps, lm.seen)) == sorted(map(json.dumps, expected))


def test_type_scores_only_committed_answers(canned_run):
    _, model_dir, files, _ = canned_run
    samples = _samples(model_dir, "bmw_type")
    assert [(s["acc"], s["unparseable"]) for s in samples] == TYPE_EXPECTED
    results = json.loads(files["bmw_type"].read_text())["results"]["bmw_type"]
    assert results["acc,none"] == pytest.approx(4 / 8)
    assert results["unparseable,none"] == pytest.approx(3 / 8)


def test_tags_scores_every_list_shape(canned_run):
    _, model_dir, _, _ = canned_run
    samples = _samples(model_dir, "bmw_tags")
    # article 7: {art car, culture, munich} vs {art car, culture}: P = 2/3, R = 1 -> F1 = 0.8
    assert [(round(s["f1"], 4), s["unparseable"]) for s in samples] == TAG_EXPECTED


def test_summaries_are_scored_whole_and_empty_answers_are_format_failures(canned_run):
    _, model_dir, _, _ = canned_run
    samples = _samples(model_dir, "bmw_summarization")
    assert samples[0]["rougeL"] == pytest.approx(1.0) and samples[0]["unparseable"] == 0
    # all three paragraphs count: 4 + 5 + 16 words (no blank-line stop cuts the answer)
    assert samples[1]["pred_words"] == 25
    assert samples[1]["length_ratio"] == pytest.approx(25 / 9)  # reference: 9 words
    assert (samples[2]["pred_words"], samples[2]["unparseable"], samples[2]["rougeL"]) == (0, 1, 0)
    # "</s>" is template residue: the next turn is not part of the answer
    assert samples[7]["rougeL"] == pytest.approx(1.0)


def test_runner_records_budget_stops_and_budget_hits(canned_run):
    _, model_dir, files, _ = canned_run
    title = json.loads(files["bmw_title"].read_text())
    block = title["ftbench"]["generation"]["bmw_title"]
    assert block["max_gen_toks"] == 128
    assert "\n" not in block["until"] and "<|im_end|>" in block["until"]
    assert (block["n"], block["budget_hits"]) == (8, 1)  # the 400-word title was cut at 128
    assert block["budget_hit_rate"] == pytest.approx(1 / 8)
    assert block["max_response_tokens"] == 128
    summ = json.loads(files["bmw_summarization"].read_text())["ftbench"]["generation"]
    assert summ["bmw_summarization"]["max_gen_toks"] == 512
    assert summ["bmw_summarization"]["budget_hits"] == 0
    assert title["ftbench"]["thinking"]["enable_thinking"] is False
    # the per-sample pred_words of the cut title is the whole (cut) answer
    assert _samples(model_dir, "bmw_title")[1]["pred_words"] == 128
