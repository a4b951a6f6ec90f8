"""Dataset formatting: eval split by article, length fitting, and which tokens carry the loss."""

from __future__ import annotations

import json

import pytest

from ftbench.core.io import InputError, read_jsonl
from ftbench.train import data as data_mod
from ftbench.train.tiny_model import CHATML_TEMPLATE


@pytest.fixture(scope="module")
def tokenizer(tiny_model):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_model)


@pytest.fixture(scope="module")
def rows(sample_prepared):
    return data_mod.load_rows(sample_prepared / "train_16.jsonl")


def _plain_template_tokenizer(tokenizer):
    """The same tokenizer with a ChatML template lacking {% generation %} markers (like Llama 3.2)."""
    plain = tokenizer.__class__.from_pretrained(tokenizer.name_or_path)
    plain.chat_template = (CHATML_TEMPLATE.replace("{% generation %}", "")
                           .replace("{% endgeneration %}", ""))
    return plain


def test_eval_split_holds_out_whole_articles(rows):
    train, held = data_mod.split_eval(rows, 0.25, seed=3)
    train_ids = {r["article_id"] for r in train}
    held_ids = {r["article_id"] for r in held}
    assert not train_ids & held_ids and len(held_ids) == 4 and len(train_ids) == 12
    assert len(train) + len(held) == len(rows)
    assert data_mod.split_eval(rows, 0.0, seed=3) == (rows, [])


def test_fit_to_length_shortens_only_the_user_turn(rows, tokenizer):
    fitted, stats = data_mod.fit_to_length(rows, tokenizer, 256)
    assert stats["user_truncated"] > 0 and stats["dropped_too_long"] == 0
    by_id = {r["id"]: r for r in rows}
    for row in fitted:
        ids = tokenizer.apply_chat_template(row["messages"], tokenize=True, return_dict=True)
        assert len(ids["input_ids"]) <= 256
        orig = by_id[row["id"]]["messages"]
        assert row["messages"][0] == orig[0] and row["messages"][2] == orig[2]
        assert orig[1]["content"].startswith(row["messages"][1]["content"][:50])
    _, stats = data_mod.fit_to_length(rows, tokenizer, 40)
    assert stats["dropped_too_long"] == len(rows)


def test_bad_rows_are_named(tmp_path):
    path = tmp_path / "train_1.jsonl"
    path.write_text('{"id": "a", "messages": [{"role": "user", "content": "x"}]}\n')
    with pytest.raises(InputError, match="row 1: 'messages'"):
        data_mod.load_rows(path)


def test_a_row_without_a_system_turn_trains_on_its_user_turn(tmp_path):
    """Chat data without a system message (the chat suite keeps it so): the plain prompt is the
    user turn alone, as lm-eval renders an empty description; a user turn after a reply is not."""
    path = tmp_path / "train_1.jsonl"
    rows = [{"id": "a", "messages": [{"role": "user", "content": "Q?"},
                                     {"role": "assistant", "content": "A."}]}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    [row] = data_mod.load_rows(path)
    assert data_mod.plain_record(row["messages"]) == {"prompt": "Q?", "completion": " A."}
    path.write_text(json.dumps({"messages": [{"role": "assistant", "content": "A."},
                                             {"role": "user", "content": "Q?"}]}) + "\n")
    with pytest.raises(InputError, match="row 1: 'messages'"):
        data_mod.load_rows(path)


def test_loss_mask_choice_follows_the_chat_template(tokenizer):
    assert data_mod.choose_loss_mask(tokenizer, "auto") == "assistant"
    plain = _plain_template_tokenizer(tokenizer)
    assert data_mod.choose_loss_mask(plain, "auto") == "completion"
    with pytest.raises(InputError, match="'loss_mask'"):
        data_mod.choose_loss_mask(plain, "assistant")


@pytest.mark.parametrize("mode", ["assistant", "completion"])
def test_only_the_answer_is_trained(mode, tiny_model, tokenizer, sample_prepared):
    """What trl 1.16 actually puts in the labels, for both loss-mask modes."""
    from datasets import Dataset
    from transformers import AutoModelForCausalLM
    from trl import SFTConfig, SFTTrainer

    tok = tokenizer if mode == "assistant" else _plain_template_tokenizer(tokenizer)
    rows = read_jsonl(sample_prepared / "train_16.jsonl")[:3]
    rows, _ = data_mod.fit_to_length(rows, tok, 320)
    args = SFTConfig(output_dir="unused", max_steps=1, report_to=[], use_cpu=True, bf16=False,
                     gradient_checkpointing=False, max_length=320,
                     assistant_only_loss=mode == "assistant",
                     completion_only_loss=True if mode == "completion" else None)
    model = AutoModelForCausalLM.from_pretrained(tiny_model)
    trainer = SFTTrainer(model=model, args=args, processing_class=tok,
                         train_dataset=Dataset.from_list(data_mod.to_records(rows, mode)))
    for i, row in enumerate(rows):
        batch = trainer.data_collator([trainer.train_dataset[i]])
        labels = batch["labels"][0]
        trained = tok.decode(labels[labels != -100])
        assert trained.strip() == row["messages"][2]["content"] + "<|im_end|>"


def test_real_articles_fit_and_split(bmw500_prepared, tokenizer):
    """The 500 real articles (../shared/data): long rows are shortened, none is lost."""
    import json

    from ftbench.core.io import sha256_file
    from ftbench.train.data import check_train_file, load_train_data, read_manifest

    manifest = read_manifest(bmw500_prepared)
    path = check_train_file(bmw500_prepared, 100, manifest, "train_size")
    data = load_train_data(path, sha256_file(path), 0.1, 42, tokenizer, 1024)
    assert data.articles == 100 and data.fit_stats["dropped_too_long"] == 0
    assert data.fit_stats["rows"] == len(data.train_rows) + len(data.eval_rows)
    assert len({r["article_id"] for r in data.eval_rows}) == 10
    assert json.loads((bmw500_prepared / "manifest.json").read_text())["sizes"]["100"]["articles"] == 100


def _no_template_tokenizer(tokenizer):
    """The same tokenizer without a chat template (a base model's)."""
    bare = tokenizer.__class__.from_pretrained(tokenizer.name_or_path)
    bare.chat_template = None
    return bare


def test_prompt_format_follows_setting_and_template(tokenizer):
    assert data_mod.choose_prompt_format(tokenizer, "auto")[0] == "chat"
    assert data_mod.choose_prompt_format(tokenizer, "none")[0] == "plain"
    fmt, why = data_mod.choose_prompt_format(_no_template_tokenizer(tokenizer), "auto")
    assert (fmt, why) == ("plain", "the tokenizer has no chat template")
    assert data_mod.choose_loss_mask(tokenizer, "auto", "plain") == "completion"
    with pytest.raises(InputError, match="plain prompt format"):
        data_mod.choose_loss_mask(tokenizer, "assistant", "plain")


@pytest.mark.parametrize("task", ["summarization", "title", "tags", "type"])
def test_plain_prompt_is_what_lm_eval_sends_without_a_chat_template(task):
    """The plain training prompt equals lm-eval's own zero-shot context for the same article."""
    from lm_eval.tasks import get_task_dict

    from ftbench.eval.tasks import task_manager
    from ftbench.suites.bmw.prompts import task_prompts

    name = f"bmw_{task}"
    lm_task = get_task_dict([name], task_manager(tasks=[name]))[name]
    prompt = task_prompts()[task]
    for doc in list(lm_task.test_docs())[:3]:
        messages = [{"role": "system", "content": prompt.system},
                    {"role": "user", "content": prompt.render_user(doc)},
                    {"role": "assistant", "content": doc["target"]}]
        expected = lm_task.fewshot_context(doc, 0, apply_chat_template=False)
        assert data_mod.plain_prompt(messages) == expected


def test_plain_format_trains_the_answer_and_eos(tiny_model, tokenizer, sample_prepared):
    """What trl puts in the labels for plain rows: the delimiter, the answer, the EOS token."""
    from datasets import Dataset
    from transformers import AutoModelForCausalLM
    from trl import SFTConfig, SFTTrainer

    tok = _no_template_tokenizer(tokenizer)
    rows = read_jsonl(sample_prepared / "train_16.jsonl")[:3]
    rows, _ = data_mod.fit_to_length(rows, tok, 320, "plain")
    records = data_mod.to_records(rows, "completion", "plain")
    assert records[0]["prompt"].startswith(rows[0]["messages"][0]["content"])
    args = SFTConfig(output_dir="unused", max_steps=1, report_to=[], use_cpu=True, bf16=False,
                     max_length=320, completion_only_loss=True)
    trainer = SFTTrainer(model=AutoModelForCausalLM.from_pretrained(tiny_model), args=args,
                         processing_class=tok, train_dataset=Dataset.from_list(records))
    for i, row in enumerate(rows):
        labels = trainer.data_collator([trainer.train_dataset[i]])["labels"][0]
        trained = tok.decode(labels[labels != -100])
        assert trained == " " + row["messages"][2]["content"] + tok.eos_token
