"""Multi-turn chat rows: the earlier turns stay separate turns, and the evaluation prompt that
lm-eval renders with a real tokenizer's chat template is exactly what training renders for the
same conversation, less the answer (system turns included)."""

from __future__ import annotations

import json

import pytest

from ftbench.core.paths import TASKS_DIR
from ftbench.eval.tasks import task_manager
from ftbench.suites.chat.formats import conversation, read_chat_file
from ftbench.suites.chat.prepare import prepare_rows
from ftbench.suites.layout import PrepareSettings
from ftbench.train.data import load_rows, plain_record

SYS = "You answer in one short sentence."
ROWS = [
    {"id": "m1", "messages": [
        {"role": "system", "content": SYS},
        {"role": "user", "content": "Name a fruit."}, {"role": "assistant", "content": "Apple."},
        {"role": "user", "content": "And a red one?"},
        {"role": "assistant", "content": "A strawberry is red."},
        {"role": "user", "content": "Which one is sweeter?"},
        {"role": "assistant", "content": "The strawberry is usually sweeter."}]},
    {"id": "m2", "messages": [
        {"role": "user", "content": "Count to two."}, {"role": "assistant", "content": "1, 2."},
        {"role": "user", "content": "Now to three."},
        {"role": "assistant", "content": "1, 2, 3."}]},
]


@pytest.fixture(scope="module")
def chats(tmp_path_factory):
    path = tmp_path_factory.mktemp("turns") / "turns.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in ROWS), encoding="utf-8")
    return path


def test_earlier_turns_are_kept_as_turns_for_training(chats):
    _, rows = read_chat_file(chats)
    first = rows[0]
    assert (first["input"], first["turns"], len(first["history"])) == (
        "Which one is sweeter?", 5, 4)
    assert conversation(first) == ROWS[0]["messages"]  # the train row is the chat as read
    assert conversation(rows[1]) == ROWS[1]["messages"]
    result = prepare_rows(chats, PrepareSettings(sizes=(1,), test_size=1, seed=0))
    (train_row,) = result.train[1]
    by_id = {r["id"]: r for r in rows}
    assert train_row["messages"] == conversation(by_id[train_row["id"]])


def test_train_rows_take_multi_turn_chats_and_refuse_a_broken_order(tmp_path):
    good = tmp_path / "train_2.jsonl"
    good.write_text("".join(json.dumps({"id": r["id"], "messages": r["messages"]}) + "\n"
                            for r in ROWS), encoding="utf-8")
    assert len(load_rows(good)) == 2
    bad = tmp_path / "train_bad.jsonl"
    broken = ROWS[1]["messages"][:1] + ROWS[1]["messages"][2:]  # user, user, assistant
    bad.write_text(json.dumps({"id": "x", "messages": broken}) + "\n", encoding="utf-8")
    from ftbench.core.io import InputError

    with pytest.raises(InputError, match="row 1: 'messages' must be system"):
        load_rows(bad)


def test_the_eval_prompt_is_the_training_render_less_the_answer(chats, tiny_model_quick):
    from transformers import AutoTokenizer

    from ftbench.core.lm_eval_glue import HFLM

    tok = AutoTokenizer.from_pretrained(str(tiny_model_quick))
    assert tok.chat_template  # a real chat template (ChatML), with a system role
    lm = HFLM(pretrained=str(tiny_model_quick), device="cpu")
    tm = task_manager(TASKS_DIR, {"chat_data": str(chats)})
    tasks = tm.load(["chat"])["tasks"]
    _, rows = read_chat_file(chats)
    for name in ("chat_answer", "chat_perplexity"):
        task = tasks[name]
        docs = {d["id"]: d for d in task.test_docs()}
        for row in rows:
            messages = conversation(row)
            trained = tok.apply_chat_template(messages, tokenize=False)
            asked = task.fewshot_context(docs[row["id"]], task.config.num_fewshot,
                                         apply_chat_template=True, fewshot_as_multiturn=True,
                                         chat_template=lm.apply_chat_template)
            assert asked == tok.apply_chat_template(messages[:-1], tokenize=False,
                                                    add_generation_prompt=True)
            assert trained.startswith(asked)
            assert trained[len(asked):].startswith(messages[-1]["content"])
            assert asked.count("<|im_start|>user") == (row["turns"] + 1) // 2
    # without a chat template both sides use the same plain text too (the answer task's)
    task = tasks["chat_answer"]
    for doc, row in zip(task.test_docs(), rows, strict=True):
        plain = task.fewshot_context(doc, task.config.num_fewshot)
        assert plain == plain_record(conversation(row))["prompt"]
    first = plain_record(conversation(rows[0]))["prompt"]
    assert first == (f"{SYS}Name a fruit. Apple.\n\nAnd a red one? A strawberry is red.\n\n"
                     "Which one is sweeter?")


LONG = " ".join(f"Point {i}: the harvest of the orchard was counted and weighed again." for i in
                range(12))  # ~130 words: one earlier turn no small context holds twice
CONTEXT = 512  # the chat_answer YAML keeps 256 answer tokens free, the margin 16: 240 for prompts
CUT_ROWS = [
    {"id": "long", "messages": [
        {"role": "system", "content": SYS},
        {"role": "user", "content": "First: " + LONG}, {"role": "assistant", "content": LONG},
        {"role": "user", "content": "Second question, short."},
        {"role": "assistant", "content": "A short second answer."},
        {"role": "user", "content": "Which point came last?"},
        {"role": "assistant", "content": "Point 11."}]},
    ROWS[1],
]


def test_earlier_turns_that_overflow_the_context_are_dropped_whole(tmp_path, tiny_model_quick):
    """The oldest turns go, whole (user + assistant), until the prompt the chat template renders
    fits the context less the answer budget; the system message and the final user turn stay,
    each row records the turns it lost, the results file's prompt counts sum them; a row whose
    final turn alone does not fit stops with its id."""
    from transformers import AutoTokenizer

    from ftbench.core.lm_eval_glue import HFLM
    from ftbench.eval.prompt_stats import prompt_stats
    from ftbench.suites.fit_context import TURNS_KEY, fit_rows, n_tokens, safety_margin

    path = tmp_path / "long.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in CUT_ROWS), encoding="utf-8")
    tok = AutoTokenizer.from_pretrained(str(tiny_model_quick))
    lm = HFLM(pretrained=str(tiny_model_quick), device="cpu")
    tm = task_manager(TASKS_DIR, {"chat_data": str(path), "pretrained": str(tiny_model_quick),
                                  "max_length": CONTEXT})
    task = tm.load(["chat_answer"])["tasks"]["chat_answer"]
    docs = {d["id"]: d for d in task.test_docs()}
    limit = CONTEXT - 256 - safety_margin(CONTEXT)
    full = conversation(read_chat_file(path)[1][0])[:-1]
    whole = tok.apply_chat_template(full, tokenize=False, add_generation_prompt=True)
    assert n_tokens(tok, whole) > limit  # the whole conversation would not fit
    long, short = docs["long"], docs["m2"]
    assert (long[TURNS_KEY], short[TURNS_KEY]) == (2, 0)  # the first pair only
    asked = task.fewshot_context(long, task.config.num_fewshot, apply_chat_template=True,
                                 fewshot_as_multiturn=True, chat_template=lm.apply_chat_template)
    # exactly the conversation less its first user / assistant pair (and less the answer)
    kept = [full[0], *full[3:]]
    assert asked == tok.apply_chat_template(kept, tokenize=False, add_generation_prompt=True)
    assert n_tokens(tok, asked) <= limit and "First:" not in asked
    # what the runner writes into the results file's ftbench.prompts[chat_answer]
    stats = prompt_stats([{"doc": d, "arguments": []} for d in docs.values()],
                         {"output_type": "generate_until"}, CONTEXT, tok, 0)
    assert (stats["turns_dropped_rows"], stats["turns_dropped"], stats["truncated"]) == (1, 2, 0)

    # a final user turn that alone overflows: refused with the row's id, not cut
    huge = {**CUT_ROWS[0], "id": "huge", "messages": [
        *CUT_ROWS[0]["messages"][:5], {"role": "user", "content": LONG + " " + LONG},
        {"role": "assistant", "content": "No."}]}
    path.write_text(json.dumps(huge) + "\n", encoding="utf-8")
    _, rows = read_chat_file(path)
    meta = {"pretrained": str(tiny_model_quick), "max_length": CONTEXT,
            "config_source": str(TASKS_DIR / "chat" / "chat_answer.yaml")}
    with pytest.raises(ValueError, match="row huge: its final user turn alone needs"):
        fit_rows(rows, meta)
