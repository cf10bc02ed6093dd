"""Sentence embeddings ``e(q)`` for steering matrices (embedded all-MiniLM-L6-v2).

Mean pooling of the last hidden state over non-padding tokens followed by L2
normalisation, as sentence-transformers does for all-MiniLM-L6-v2.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from probekit.errors import ProbekitError

__all__ = ["SentenceEmbedder"]


class SentenceEmbedder:
    """Encode sentences to unit vectors with a BERT-style encoder.

    Parameters
    ----------
    model : str or LoadedModel
        An encoder name for :func:`probekit.models.load_model` (default the embedded
        ``minilm-l6``) or an already loaded model (``kind == "encoder"``).
    max_length : int
        Token limit per sentence (MiniLM was trained with 256; 128 covers questions).
    batch_size : int
    progress : bool
        Show a progress bar.

    Raises
    ------
    ProbekitError
        A model without a tokenizer (or a name :func:`~probekit.models.load_model`
        cannot load).

    References
    ----------
    Reimers & Gurevych (2019), "Sentence-BERT", EMNLP (mean pooling);
    Wang et al. (2020), "MiniLM", NeurIPS (all-MiniLM-L6-v2 model card: mean pooling +
    L2 normalisation).
    """

    def __init__(self, model="minilm-l6", max_length: int = 128, batch_size: int = 32, progress: bool = False):
        if isinstance(model, str):
            from probekit.models import load_model

            model = load_model(model)
        if getattr(model, "tokenizer", None) is None:
            raise ProbekitError(f"model {getattr(model, 'name', model)!r} has no tokenizer; "
                                "a sentence embedder needs a text encoder")
        self.loaded = model
        self.max_length = int(max_length)
        self.batch_size = int(batch_size)
        self.progress = progress

    @property
    def dim(self) -> int:
        """Embedding dimension ``d_embed``."""
        return int(self.loaded.model.config.hidden_size)

    def encode(self, sentences: Sequence[str]) -> np.ndarray:
        """Embed sentences.

        Parameters
        ----------
        sentences : sequence of str

        Returns
        -------
        numpy.ndarray of float32, shape (n_sentences, d_embed)
            Unit-norm rows.

        Raises
        ------
        ProbekitError
            An empty list or a non-string entry.
        """
        if isinstance(sentences, str):
            sentences = [sentences]
        sentences = list(sentences)
        if not sentences or not all(isinstance(s, str) for s in sentences):
            raise ProbekitError("encode needs a non-empty list of strings")
        tok, model = self.loaded.tokenizer, self.loaded.model
        device = next(model.parameters()).device
        out = []
        for start in tqdm(range(0, len(sentences), self.batch_size), desc="embedding", disable=not self.progress):
            batch = tok(sentences[start:start + self.batch_size], padding=True, truncation=True,
                        max_length=self.max_length, return_tensors="pt").to(device)
            with torch.no_grad():
                hidden = model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            out.append(torch.nn.functional.normalize(pooled, dim=-1).float().cpu().numpy())
        return np.concatenate(out)
