"""ftbench.metrics.extraction: reasoning blocks and chat-template residue (hand-checked)."""

from __future__ import annotations

import pytest

from ftbench.metrics.extraction import extract_answer, strip_reasoning, strip_template_residue


@pytest.mark.parametrize(
    ("raw", "answer"),
    [
        # plain answers pass through (stripped)
        ("Press Release", "Press Release"),
        ("  BMW, MINI \n", "BMW, MINI"),
        ("", ""),
        (None, ""),
        # a closed reasoning block (Qwen3 with thinking on), before or around the answer
        ("<think>\nThe article announces a product.\n</think>\n\nPress Release", "Press Release"),
        ("<think>Press Kit? no.</think>Speech", "Speech"),
        ("<THINK>x</THINK>\nBMW, MINI", "BMW, MINI"),
        ("<thinking>hmm</thinking> Title of the year", "Title of the year"),
        # Qwen3 with enable_thinking=False still emits an empty block
        ("<think>\n\n</think>\n\nBMW opens a plant", "BMW opens a plant"),
        # the template opened the block inside the prompt: only the closing tag is generated
        ("The article is about sales.\n</think>\n\nPress Release", "Press Release"),
        # an unterminated block: the model ran out of tokens while reasoning -> no answer
        ("<think>\nLet me look at the structure of the article. It has quotes", ""),
        ("<think>a</think><think>b, still thinking", ""),
        # chat-template residue: end-of-turn markers end the answer, later turns are dropped
        ("Press Release<|im_end|>\n<|im_start|>user\nAnd now?", "Press Release"),
        ("BMW, MINI<|eot_id|>", "BMW, MINI"),
        ("A title<end_of_turn>\n<start_of_turn>user", "A title"),
        ("Speech</s>", "Speech"),
        # role headers that reached the decoded text
        ("<|im_start|>assistant\nPress Kit", "Press Kit"),
        ("<|start_header_id|>assistant<|end_header_id|>\n\nPress Kit<|eot_id|>", "Press Kit"),
        ("<start_of_turn>model\nPress Kit", "Press Kit"),
        ("assistant\n\nBMW, MINI", "BMW, MINI"),
        ("Assistant:\nBMW, MINI", "BMW, MINI"),
        # both: a header, a reasoning block, an end-of-turn marker
        ("<|im_start|>assistant\n<think>\nhmm\n</think>\n\nFact & Figures<|im_end|>",
         "Fact & Figures"),
        # words that merely contain a role name are kept
        ("Assistant coach joins BMW M Motorsport", "Assistant coach joins BMW M Motorsport"),
        ("Model year 2026: the new X5", "Model year 2026: the new X5"),
    ],
)
def test_extract_answer(raw, answer):
    assert extract_answer(raw) == answer


def test_parts_are_usable_alone():
    assert strip_reasoning("<think>a</think>b") == "b"
    assert strip_reasoning("b<think>unfinished") == "b"
    assert strip_template_residue("x<|im_end|>y") == "x"


def test_extraction_module_is_pure():
    import subprocess
    import sys
    from pathlib import Path

    code = ("import sys, ftbench.metrics.extraction, ftbench.metrics.label_answer; "
            "assert 'lm_eval' not in sys.modules and 'torch' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[2])
