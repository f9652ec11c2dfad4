"""Captions to CLIP token rows: ``[start, pieces…, end, 0, 0, …]`` of ``context_length`` ids.

Any ``tokenizer.json`` works (``wit-train --tokenizer PATH``). The start and end tokens are
found by name (CLIP's, else the usual BOS/EOS names); a caption longer than the context is cut
and still ends with the end token, as open_clip does. Text in a caption that looks like a
special token is encoded as plain text, so a crawled caption cannot forge an end token.
"""

from __future__ import annotations

import fsspec
import numpy as np
from tokenizers import Tokenizer

from wit_builder.errors import UsageError
from wit_builder.tokenizer.bpe import END_TOKEN, START_TOKEN
from wit_builder.tokenizer.clip_text import clean_caption

CONTEXT_LENGTH = 77
START_NAMES = (START_TOKEN, "<s>", "<bos>", "[CLS]", "<|begin_of_text|>")
END_NAMES = (END_TOKEN, "</s>", "<eos>", "[SEP]", "<|end_of_text|>")


class TokenizerError(UsageError):
    """A tokenizer file that cannot serve as a CLIP text tokenizer."""


def _find_token(tokenizer: Tokenizer, names: tuple[str, ...], role: str) -> int:
    for name in names:
        token_id = tokenizer.token_to_id(name)
        if token_id is not None:
            return token_id
    raise TokenizerError(f"the tokenizer has no {role} token (looked for {', '.join(names)})")


class CaptionTokenizer:
    """Encodes cleaned captions into fixed-length id rows; pickles (for data-loader workers)."""

    def __init__(self, tokenizer_json: str, context_length: int = CONTEXT_LENGTH):
        if context_length < 3:
            raise TokenizerError(f"the context length must be at least 3, not {context_length}")
        self.json = tokenizer_json
        self.tokenizer = Tokenizer.from_str(tokenizer_json)
        self.tokenizer.no_truncation()
        self.tokenizer.no_padding()
        self.tokenizer.encode_special_tokens = True
        self.context_length = context_length
        self.start_id = _find_token(self.tokenizer, START_NAMES, "start")
        self.end_id = _find_token(self.tokenizer, END_NAMES, "end")
        self.vocab_size = self.tokenizer.get_vocab_size(with_added_tokens=True)

    @classmethod
    def from_file(cls, path: str, context_length: int = CONTEXT_LENGTH) -> CaptionTokenizer:
        """A local path or any fsspec URL of a ``tokenizer.json``, or a folder holding one."""
        filesystem, _ = fsspec.core.url_to_fs(path)
        if filesystem.isdir(path):
            path = f"{path.rstrip('/')}/tokenizer.json"
        try:
            with fsspec.open(path, "rt", encoding="utf-8") as handle:
                text = handle.read()
        except FileNotFoundError:
            raise TokenizerError(f"no tokenizer file at {path}") from None
        try:
            return cls(text, context_length)
        except Exception as error:
            if isinstance(error, TokenizerError):
                raise
            raise TokenizerError(f"{path} is not a tokenizers JSON file ({error})") from None

    @property
    def end_is_largest(self) -> bool:
        """True when pooling at ``argmax(ids)`` finds the end token (CLIP's and open_clip's rule)."""
        return self.end_id == self.vocab_size - 1

    def __getstate__(self) -> dict:
        return {"json": self.json, "context_length": self.context_length}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["json"], state["context_length"])

    def __call__(self, captions: list[str]) -> np.ndarray:
        """An ``int64`` array of shape ``(len(captions), context_length)``, zero-padded."""
        rows = np.zeros((len(captions), self.context_length), np.int64)
        encodings = self.tokenizer.encode_batch([clean_caption(text) for text in captions], add_special_tokens=False)
        keep = self.context_length - 2
        for row, encoding in zip(rows, encodings, strict=False):
            ids = encoding.ids[:keep]
            row[0] = self.start_id
            row[1 : len(ids) + 1] = ids
            row[len(ids) + 1] = self.end_id
        return rows

    def decode(self, row: np.ndarray) -> str:
        """The text of one row: what lies between the start token and the first end token."""
        ids = [int(i) for i in row]
        if ids and ids[0] == self.start_id:
            ids = ids[1:]
        if self.end_id in ids:
            ids = ids[: ids.index(self.end_id)]
        return self.tokenizer.decode(ids).strip()
