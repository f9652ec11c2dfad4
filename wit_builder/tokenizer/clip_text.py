"""CLIP's caption clean-up, applied before any tokenizer sees a caption.

The same steps as OpenAI's ``simple_tokenizer`` and open_clip's ``tokenizer.py``: ftfy repairs
mojibake, HTML entities are unescaped (twice, for doubly escaped crawl text), runs of white
space become one space, and the text is lower-cased. Training and encoding both go through
``clean_caption``, so the tokenizer is trained on exactly what it will later be asked to encode.
"""

from __future__ import annotations

import html
import re

import ftfy

_WHITESPACE = re.compile(r"\s+")


def clean_caption(text: str) -> str:
    """``"Caf\\u00c3\\u00a9  &amp;amp; Bar"`` → ``"café & bar"``."""
    text = ftfy.fix_text(text)
    text = html.unescape(html.unescape(text))
    return _WHITESPACE.sub(" ", text).strip().lower()
