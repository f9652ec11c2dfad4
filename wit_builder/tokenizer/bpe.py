"""Train a CLIP-style byte-level BPE with Hugging Face ``tokenizers``.

CLIP's vocabulary is byte-level BPE whose word-final pieces end in ``</w>``, with words split
by CLIP's regular expression (letters, single digits, contractions, runs of punctuation). The
start and end tokens are appended after training, so they are the vocabulary's last two ids and
the end token is the largest id: the text encoder pools at ``argmax(ids)``, as OpenAI's and
open_clip's do. ``vocab_size`` counts those two tokens, so the default 49,408 matches CLIP.

Like CLIP's vocabulary, ours starts with every byte symbol twice, plain and word-final
(``!`` and ``!</w>``), so any text encodes without an unknown token: a one-character word the
captions never showed (a lone ``!``) is still a word-final piece rather than silently dropped.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

START_TOKEN = "<|startoftext|>"
END_TOKEN = "<|endoftext|>"
DEFAULT_VOCAB_SIZE = 49_408
# CLIP's word pattern (simple_tokenizer.py), as a regex the Rust side understands.
CLIP_WORD_PATTERN = r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"""
WORD_END = "</w>"
BYTE_SYMBOLS = 256


def empty_clip_bpe() -> Tokenizer:
    """An untrained tokenizer with CLIP's normaliser, word splitting, byte level and decoder."""
    tokenizer = Tokenizer(models.BPE(end_of_word_suffix=WORD_END, continuing_subword_prefix=""))
    tokenizer.normalizer = normalizers.Sequence(
        [normalizers.NFC(), normalizers.Replace(Regex(r"\s+"), " "), normalizers.Lowercase()]
    )
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(CLIP_WORD_PATTERN), behavior="removed", invert=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    # "</w>" is a word boundary: turn it into byte-level's space before decoding the bytes.
    tokenizer.decoder = decoders.Sequence([decoders.Replace(WORD_END, "Ġ"), decoders.ByteLevel()])
    return tokenizer


def byte_symbols() -> list[str]:
    """The 256 byte-level symbols in CLIP's order: the printable bytes, which stand for
    themselves (so ``!`` is id 0), then the others, shifted past 255 (GPT-2's reversible map)."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    return [chr(byte) for byte in printable] + [chr(256 + n) for n in range(256 - len(printable))]


def with_every_byte_symbol(tokenizer: Tokenizer) -> Tokenizer:
    """The trained tokenizer with its vocabulary renumbered CLIP's way: the 256 byte symbols,
    the same 256 word-final, then the learned pieces in the order they were learned."""
    layout = json.loads(tokenizer.to_str())
    learned = sorted(layout["model"]["vocab"].items(), key=lambda item: item[1])
    symbols = byte_symbols()
    ordered = [*symbols, *(symbol + WORD_END for symbol in symbols)]
    seen = set(ordered)
    ordered += [piece for piece, _ in learned if piece not in seen]
    layout["model"]["vocab"] = {piece: index for index, piece in enumerate(ordered)}
    return Tokenizer.from_str(json.dumps(layout))


def train_clip_bpe(captions: Iterable[str], vocab_size: int = DEFAULT_VOCAB_SIZE, min_frequency: int = 2) -> Tokenizer:
    """A BPE of at most ``vocab_size`` ids, the last two being the start and end tokens. It has
    fewer when the captions hold fewer merges, or when the trainer already saw some word-final
    byte symbols (it is asked for 256 fewer pieces to leave room for them). ``captions`` should
    already be cleaned."""
    if vocab_size < 512 + 2:
        raise ValueError(
            f"--vocab-size must be at least 514 (256 byte symbols, plain and word-final, and 2 special tokens), "
            f"not {vocab_size}"
        )
    tokenizer = empty_clip_bpe()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size - 2 - BYTE_SYMBOLS,  # room for the word-final symbols added after
        min_frequency=min_frequency,
        end_of_word_suffix=WORD_END,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(captions, trainer)
    tokenizer = with_every_byte_symbol(tokenizer)
    tokenizer.add_special_tokens([START_TOKEN, END_TOKEN])
    return tokenizer
