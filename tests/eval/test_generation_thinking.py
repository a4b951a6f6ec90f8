"""Reasoning models (ftbench/eval/generation.py): enable_thinking reaches a Qwen3-style chat
template; thinking is stripped.

The template below is the generation-prompt logic of Qwen3's public chat template (ChatML turns;
with `enable_thinking=False` it closes an empty `<think>` block so the model answers at once,
otherwise the model opens its own block). It is written into a small local model's tokenizer
config: nothing is downloaded.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from file_modules import load_file

from ftbench.eval.generation import (
    generation_record,
    template_reads_thinking,
    thinking_model_args,
)

QWEN3_STYLE_TEMPLATE = (
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}"
    "{{- '<|im_start|>assistant\\n' }}"
    "{%- if enable_thinking is defined and enable_thinking is false %}"
    "{{- '<think>\\n\\n</think>\\n\\n' }}"
    "{%- endif %}"
    "{%- endif %}"
)
MESSAGES = [{"role": "system", "content": "You classify articles."},
            {"role": "user", "content": "Identify the type."}]


@pytest.fixture(scope="module")
def qwen3_style_model(tmp_path_factory) -> Path:
    """A 2-layer random Llama with a byte-level BPE tokenizer and the Qwen3-style template."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    out = tmp_path_factory.mktemp("qwen3_style")
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    special = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    tok.train_from_iterator(["Press Release Press Kit Speech <think> </think> classify article"],
                            trainers.BpeTrainer(vocab_size=300, special_tokens=special,
                                                initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    hf_tok = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>",
                                     pad_token="<|endoftext|>", bos_token=None,
                                     chat_template=QWEN3_STYLE_TEMPLATE)
    hf_tok.save_pretrained(out)
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(hf_tok), hidden_size=32, intermediate_size=64,
                         num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=2,
                         max_position_embeddings=4096, eos_token_id=hf_tok.eos_token_id,
                         pad_token_id=hf_tok.pad_token_id, tie_word_embeddings=True)
    LlamaForCausalLM(config).save_pretrained(out)
    return out


def _hflm(path: Path, thinking: bool):
    from lm_eval.models.huggingface import HFLM

    return HFLM(pretrained=str(path), dtype="float32", device="cpu", batch_size=2,
                **thinking_model_args("hf", thinking))


def test_thinking_off_by_default_closes_an_empty_block(qwen3_style_model):
    lm = _hflm(qwen3_style_model, thinking=False)
    prompt = lm.apply_chat_template(MESSAGES)
    assert prompt.endswith("<|im_start|>assistant\n<think>\n\n</think>\n\n")
    assert template_reads_thinking(lm.tokenizer)


def test_thinking_on_leaves_the_block_to_the_model(qwen3_style_model):
    lm = _hflm(qwen3_style_model, thinking=True)
    prompt = lm.apply_chat_template(MESSAGES)
    assert prompt.endswith("<|im_start|>assistant\n") and "<think>" not in prompt
    # lm-eval's own enable_thinking=True would refuse loglikelihood tasks; ours does not
    assert not lm.enable_thinking


def test_vllm_args_reach_the_template_the_same_way(qwen3_style_model):
    """lm-eval's vllm backend passes `enable_thinking=<model arg>` to the template."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(qwen3_style_model)
    off = thinking_model_args("vllm", False)
    assert tok.apply_chat_template(MESSAGES, tokenize=False, add_generation_prompt=True,
                                   enable_thinking=off["enable_thinking"]).endswith(
        "<think>\n\n</think>\n\n")
    assert thinking_model_args("vllm", True) == {}  # the template's default: it thinks
    # a template without the switch ignores the argument (ChatML, SmolLM2, the tiny model)
    plain = "{% for m in messages %}{{ m.content }}{% endfor %}"
    assert tok.apply_chat_template(MESSAGES, tokenize=False, chat_template=plain,
                                   enable_thinking=False) == "You classify articles.Identify the type."


def test_worker_records_thinking_and_strips_blocks_before_scoring(qwen3_style_model, tmp_path):
    """The worker's lm-eval call on the Qwen3-style model: the prompt closes the block, the
    results say so, and a thinking block in an answer never reaches the type parser."""
    from ftbench.core.paths import TASKS_DIR
    from ftbench.eval.results_files import samples_file
    from ftbench.eval.specs import ModelSpec
    from ftbench.eval.worker import WorkerJob, evaluate_task, open_model

    job = WorkerJob(spec=ModelSpec("qwen3-style", str(qwen3_style_model)), tasks=["bmw_type"],
                    model_dir=tmp_path / "m", backend="hf", limit=2, batch_size=2,
                    max_gen_toks=8, include_path=str(TASKS_DIR))
    job.model_dir.mkdir()
    path = evaluate_task(open_model(job), job, "bmw_type")
    results = json.loads(path.read_text())
    assert results["ftbench"]["thinking"] == {"enable_thinking": False,
                                              "template_reads_thinking": True}
    assert results["ftbench"]["generation"]["bmw_type"]["max_gen_toks"] == 8  # the override
    assert results["configs"]["bmw_type"]["generation_kwargs"]["max_gen_toks"] == 8
    samples = [json.loads(x) for x in samples_file(job.model_dir, "bmw_type").open()]
    assert len(samples) == 2
    for s in samples:
        assert s["arguments"]["gen_args_0"]["arg_0"].endswith("<think>\n\n</think>\n\n")
    # scoring sees no reasoning: the same doc answered with a block around a label
    process_type = load_file(TASKS_DIR / "bmw" / "utils.py", "bmw_utils").process_type

    doc = samples[0]["doc"]
    scored = process_type(doc, [f"<think>\nSpeech? Press Kit?\n</think>\n\n{doc['type']}"])
    assert (scored["acc"], scored["unparseable"]) == (1.0, 0.0)
    cut = process_type(doc, ["<think>\nSpeech? Press Kit? Let me"])  # budget ran out thinking
    assert (cut["acc"], cut["unparseable"]) == (0.0, 1.0)


def test_generation_record_counts_budget_hits_with_the_tokenizer(qwen3_style_model):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(qwen3_style_model)
    budget_answer = tok.decode(tok("Press Release " * 20, add_special_tokens=False)["input_ids"][:12])
    config = {"output_type": "generate_until",
              "generation_kwargs": {"max_gen_toks": 12, "until": ["<|im_end|>"]}}
    samples = [{"resps": [[budget_answer]]}, {"resps": [["Speech"]]}, {"resps": [[""]]}]
    record = generation_record(config, samples, tok)
    assert record == {"max_gen_toks": 12, "until": ["<|im_end|>"], "n": 3, "budget_hits": 1,
                      "budget_hit_rate": pytest.approx(1 / 3), "max_response_tokens": 12}
    assert generation_record({"output_type": "loglikelihood"}, samples, tok) is None
    assert generation_record(config, samples, None)["budget_hits"] is None
