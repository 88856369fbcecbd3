"""Sentence embeddings with the verified all-MiniLM-L6-v2 files on TF ``transformers``.

Why this library: Rasa 3.6 already runs on TensorFlow 2.12, and ``transformers``
4.36.2 (the pin of ``rasa[transformers]``) loads the official ``model.safetensors``
into ``TFBertModel`` without torch, so the embeddings add one well-kept library and
no second runtime. Tokenising is done by ``tokenizers`` (Rust) from the official
``tokenizer.json``. Pooling is the model's own: the mean of the token vectors
under the attention mask, then L2 normalisation, so a dot product is a cosine.

One encoder per process (:func:`get_encoder`): every component that needs
embeddings shares the weights instead of loading them again.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from functools import lru_cache
from pathlib import Path
from typing import Any, List, Sequence

import numpy as np

from clinic_assistant.embeddings.files import DEFAULT_DIR, verify

#: Size of one sentence vector.
DIMENSIONS = 384
#: Tokens per text, [CLS] and [SEP] included. The model was trained on 128-token
#: inputs; the cap also bounds the cost of any message, however long.
MAX_TOKENS = 128
#: Texts per forward pass; bounds the memory of one call.
BATCH_SIZE = 32
#: Recent texts whose vectors are kept: the AnswerGate and the red-flag second
#: opinion both embed a one-sentence message, and the second asks for it again.
#: Bounded (about 1.5 KB a vector, texts at most 2,000 characters).
CACHE_SIZE = 256


class SentenceEncoder:
    """Texts -> unit-length 384-d float32 vectors (cosine similarity = dot product)."""

    def __init__(self, folder: Path = DEFAULT_DIR, max_tokens: int = MAX_TOKENS) -> None:
        verify(folder)
        # Never reach a model hub: only the verified files in ``folder`` are used.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import tensorflow as tf
        from tokenizers import Tokenizer
        from transformers import TFBertModel

        self.folder = folder
        self.max_tokens = max_tokens
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tokenizer.enable_truncation(max_length=max_tokens)
        self._tokenizer.no_padding()
        self._model = TFBertModel.from_pretrained(str(folder), local_files_only=True)
        self._lock = threading.Lock()
        self._recent: OrderedDict[str, np.ndarray] = OrderedDict()
        spec = tf.TensorSpec(shape=(None, None), dtype=tf.int32)
        self._forward: Any = tf.function(self._pooled, input_signature=[spec, spec])

    def _pooled(self, ids: Any, mask: Any) -> Any:
        """Mean of the token vectors under the mask, L2-normalised (inside a tf.function)."""
        import tensorflow as tf

        tokens = self._model(input_ids=ids, attention_mask=mask, training=False)[0]
        weights = tf.cast(tf.expand_dims(mask, -1), tokens.dtype)
        summed = tf.reduce_sum(tokens * weights, axis=1)
        counts = tf.maximum(tf.reduce_sum(weights, axis=1), 1e-9)
        return tf.math.l2_normalize(summed / counts, axis=1)

    def token_ids(self, text: str) -> List[int]:
        """The model's token ids of ``text`` (at most :data:`MAX_TOKENS`)."""
        return list(self._tokenizer.encode(text).ids)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """One unit vector per text, shape ``(len(texts), 384)``; empty input -> ``(0, 384)``.

        Vectors of recently seen texts come from a small cache; only the rest are run.
        """
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        with self._lock:
            known = {text: self._recent[text] for text in texts if text in self._recent}
            for text in known:
                self._recent.move_to_end(text)
        missing = list(dict.fromkeys(text for text in texts if text not in known))
        if missing:
            for text, vector in zip(missing, self._run(missing), strict=True):
                known[text] = vector.copy()  # not a view that keeps the batch alive
            with self._lock:
                for text in missing:
                    self._recent[text] = known[text]
                while len(self._recent) > CACHE_SIZE:
                    self._recent.popitem(last=False)
        return np.stack([known[text] for text in texts]).astype(np.float32, copy=False)

    def _run(self, texts: Sequence[str]) -> np.ndarray:
        """The model's vectors of ``texts``, in batches."""
        out: List[np.ndarray] = []
        for start in range(0, len(texts), BATCH_SIZE):
            batch = self._tokenizer.encode_batch(list(texts[start : start + BATCH_SIZE]))
            width = max(len(encoding.ids) for encoding in batch)
            ids = np.zeros((len(batch), width), dtype=np.int32)
            mask = np.zeros((len(batch), width), dtype=np.int32)
            for row, encoding in enumerate(batch):
                ids[row, : len(encoding.ids)] = encoding.ids
                mask[row, : len(encoding.ids)] = 1
            # TF graphs are thread-safe, but one pass at a time keeps memory flat.
            with self._lock:
                out.append(np.asarray(self._forward(ids, mask), dtype=np.float32))
        return np.concatenate(out, axis=0)

    def encode_one(self, text: str) -> np.ndarray:
        """The unit vector of one text, shape ``(384,)``."""
        return self.encode([text])[0]


@lru_cache(maxsize=2)
def get_encoder(folder: Path = DEFAULT_DIR) -> SentenceEncoder:
    """The process's shared encoder for ``folder`` (loaded once, on first use)."""
    return SentenceEncoder(folder)
