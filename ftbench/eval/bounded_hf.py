"""lm-eval's hf backend with perplexity (`loglikelihood_rolling`) in bounded memory.

Upstream `HFLM.loglikelihood_rolling` batches windows by *rows*, pads them to the longest and
takes a full-vocabulary log-softmax of the whole batch: 8 rows × 5,860 tokens × 49,152 vocabulary
in fp32 is 9.2 GB of logits plus as much again for the log-softmax (19.7 GB peak RSS measured on
SmolLM2-135M). This subclass changes only that method:

- windows are batched by *tokens* (`rolling_batch_tokens`, default 8,192, whatever the model's
  context length; a single longer window runs alone), not rows;
- each batch runs the decoder once and the LM head on `logit_chunk_tokens` positions at a time,
  keeping only logsumexp and the target token's logit, so no [tokens × vocabulary] tensor larger
  than one chunk ever exists;
- the window is `max_length - 2` tokens, the length lm-eval's vLLM backend uses for the same
  context (`max_model_len - 2`: one position of context, one for generation), so hf and vLLM
  split an article identically and give the same perplexity.

The first batch is checked against the model's own forward pass (full logits on a short
prefix); a model whose head does something the chunked path does not reproduce falls back to
full logits per window, with a warning. Registered for lm-eval as `ftbench-hf`; `ftbench eval`
uses it for its hf backend. Stock `lm_eval --model hf` still works, with upstream's memory use
and window (`max_length`).
"""

from __future__ import annotations

import logging

import torch

from ftbench.core.context import perplexity_window
from ftbench.core.lm_eval_glue import (
    HFLM,
    get_rolling_token_windows,
    make_disjoint_window,
    register_model,
)

log = logging.getLogger(__name__)
Window = tuple[int, list[int], list[int]]  # (request index, context tokens, continuation tokens)
ROLLING_BATCH_TOKENS = 8192  # per forward pass (never less than one window)
CHECK_TOKENS = 48
CHECK_TOLERANCE = 1e-3


def token_batches(windows: list[Window], max_tokens: int) -> list[list[Window]]:
    """Longest first; a batch holds windows while rows × its longest ≤ max_tokens (≥ 1 window)."""
    order = sorted(windows, key=lambda w: -(len(w[1]) + len(w[2])))
    batches: list[list[Window]] = []
    for w in order:
        if batches and (len(batches[-1]) + 1) * _width(batches[-1][0]) <= max_tokens:
            batches[-1].append(w)
        else:
            batches.append([w])
    return batches


def _width(window: Window) -> int:
    """Model input length of a window: context + continuation minus the last token."""
    return len(window[1]) + len(window[2]) - 1


@register_model("ftbench-hf")
class BoundedHFLM(HFLM):
    """HFLM whose rolling loglikelihood keeps memory bounded by tokens, not rows × vocabulary."""

    def __init__(self, *args, logit_chunk_tokens: int | None = None,
                 rolling_batch_tokens: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        vocab = int(getattr(self.config, "vocab_size", 0) or self.tokenizer.vocab_size or 1)
        # ~128 MiB of fp32 logits per chunk by default (682 positions for a 49,152 vocabulary)
        self.logit_chunk_tokens = int(logit_chunk_tokens or max(64, (128 * 2**20) // (4 * vocab)))
        self.rolling_batch_tokens = int(rolling_batch_tokens or ROLLING_BATCH_TOKENS)
        self._chunked_ok: bool | None = None if self.backend == "causal" else False

    # --- the one overridden lm-eval method ---------------------------------------------------

    def loglikelihood_rolling(self, requests, disable_tqdm: bool = False) -> list[float]:
        if self.backend != "causal" or self.world_size > 1:
            return super().loglikelihood_rolling(requests, disable_tqdm=disable_tqdm)
        window = perplexity_window(self.max_length)
        windows: list[Window] = []
        for idx, req in enumerate(requests):
            (string,) = req.args
            for ctx, cont in map(make_disjoint_window, get_rolling_token_windows(
                    token_list=self.tok_encode(string), prefix_token=self.prefix_token_id,
                    max_seq_len=window, context_len=1)):
                windows.append((idx, ctx, cont))
        totals = [0.0] * len(requests)
        # a fixed token budget, not the context length: a 128k-context model must not batch
        # 128k tokens of articles into one forward pass (a longer single window runs alone)
        for batch in token_batches(windows, self.rolling_batch_tokens):
            for (idx, _, _), logprob in zip(batch, self._batch_logprobs(batch), strict=True):
                totals[idx] += logprob
        for req, total in zip(requests, totals, strict=True):
            self.cache_hook.add_partial("loglikelihood_rolling", req.args, total)
        return totals

    # --- scoring -------------------------------------------------------------------------------

    def _batch_logprobs(self, batch: list[Window]) -> list[float]:
        """Sum of log p(continuation) for each window of one batch (right-padded, causal)."""
        inputs = [(c + t)[:-1] for _, c, t in batch]
        width = max(len(x) for x in inputs)
        pad = self.tokenizer.pad_token_id or 0
        ids = torch.tensor([x + [pad] * (width - len(x)) for x in inputs], device=self.device)
        if self._chunked_ok is None:
            self._chunked_ok = self._check_chunked(ids[0, : min(CHECK_TOKENS, len(inputs[0]))])
        with torch.no_grad(), self._autocast():
            if self._chunked_ok:
                hidden = self._decoder()(input_ids=ids).last_hidden_state
                return [self._chunked_sum(hidden[i, len(x) - len(t): len(x)], t)
                        for i, (x, (_, _, t)) in enumerate(zip(inputs, batch, strict=True))]
            out = []
            for i, (x, (_, _, t)) in enumerate(zip(inputs, batch, strict=True)):
                logits = self._model_call(ids[i: i + 1, : len(x)])[0, len(x) - len(t):]
                out.append(self._logits_sum(logits, t))
            return out

    def _chunked_sum(self, hidden: torch.Tensor, targets: list[int]) -> float:
        head = self._head()
        total = 0.0
        for s in range(0, len(targets), self.logit_chunk_tokens):
            logits = self._finish_logits(head(hidden[s: s + self.logit_chunk_tokens]))
            total += self._logits_sum(logits, targets[s: s + self.logit_chunk_tokens])
            del logits
        return total

    def _logits_sum(self, logits: torch.Tensor, targets: list[int]) -> float:
        """Σ log softmax(logits)[target] without a [positions × vocabulary] log-softmax copy."""
        logits = logits.to(self.softmax_dtype or torch.float32)
        tgt = torch.tensor(targets, device=logits.device).unsqueeze(-1)
        return float((logits.gather(-1, tgt).squeeze(-1) - torch.logsumexp(logits, dim=-1)).sum())

    # --- model parts -------------------------------------------------------------------------

    def _base(self):
        model = self.model
        return model.get_base_model() if hasattr(model, "get_base_model") else model

    def _decoder(self):
        return self._base().get_decoder()

    def _head(self):
        return self._base().get_output_embeddings()

    def _finish_logits(self, logits: torch.Tensor) -> torch.Tensor:
        """What causal-LM heads do after the projection (Gemma 2/3: final logit soft-capping)."""
        cfg = self._base().config
        cap = getattr(getattr(cfg, "text_config", None) or cfg, "final_logit_softcapping", None)
        if cap:
            logits = torch.tanh(logits / cap) * cap
        return logits

    def _autocast(self):
        return torch.autocast(device_type=self.device.type, dtype=self.mixed_precision_dtype,
                              enabled=self.mixed_precision_dtype is not None)

    def _check_chunked(self, ids: torch.Tensor) -> bool:
        """True when decoder + head in chunks reproduce the model's own log-probabilities."""
        if len(ids) < 2:
            return True
        targets = ids[1:].tolist()
        try:
            with torch.no_grad(), self._autocast():
                ref = self._logits_sum(self._model_call(ids[None, :-1])[0], targets)
                hidden = self._decoder()(input_ids=ids[None, :-1]).last_hidden_state[0]
                got = self._chunked_sum(hidden, targets)
        except Exception as exc:  # a model without get_decoder/get_output_embeddings
            log.warning("bounded perplexity: chunked scoring unavailable (%s); using full "
                        "logits per window", exc)
            return False
        if abs(ref - got) > CHECK_TOLERANCE * max(1.0, abs(ref)):
            log.warning("bounded perplexity: chunked log-probs differ from the model's own "
                        "(%.6f vs %.6f); using full logits per window", got, ref)
            return False
        return True
