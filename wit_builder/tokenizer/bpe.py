"""Train a CLIP-style byte-level BPE with Hugging Face ``tokenizers``.

CLIP's vocabulary is byte-level BPE whose word-final pieces end in ``</w>``, with words split
by CLIP's regular expression (letters, single digits, contractions, runs of punctuation), each
run at most ``MAX_WORD_CHARS`` long, so that the cost stays linear in the text. The
start and end tokens are appended after training, so they are the vocabulary's last two ids and
the end token is the largest id: the text encoder pools at ``argmax(ids)``, as OpenAI's and
open_clip's do. ``vocab_size`` counts those two tokens, so the default 49,408 matches CLIP.

Like CLIP's vocabulary, ours starts with every byte symbol twice, plain and word-final
(``!`` and ``!</w>``), so any text encodes without an unknown token: a one-character word the
captions never showed (a lone ``!``) is still a word-final piece rather than silently dropped.

Training is deterministic: the same captions give a byte-identical ``tokenizer.json``. Left to
itself, ``tokenizers``' BPE trainer numbers each word-final symbol (``o</w>``) when it first
meets it while walking a hash map in a per-process random order, and breaks ties between
merges of equal count by those numbers, so two runs could learn ``o o</w>`` and ``o u</w>`` in
either order. The 256 word-final symbols are therefore handed to the trainer up front (as its
"special tokens", its one way to fix ids before training), then removed from the special tokens
so text never matches them literally; they stay in the vocabulary as ordinary pieces.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

START_TOKEN = "<|startoftext|>"
END_TOKEN = "<|endoftext|>"
DEFAULT_VOCAB_SIZE = 49_408
# The longest pre-token (a run of letters, or of punctuation) BPE sees; a longer run is cut
# into pieces of at most this many characters. BPE's cost grows with the square of a word's
# length: one caption of 64 KiB without a space took 4.6 s, one of 256 KiB 100 s. No word of a
# real caption comes near 100 letters (German compounds stop around 60-80).
MAX_WORD_CHARS = 100
# CLIP's word pattern (simple_tokenizer.py), as a regex the Rust side understands, with its runs
# bounded at MAX_WORD_CHARS.
CLIP_WORD_PATTERN = (
    r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|"""
    rf"""\p{{L}}{{1,{MAX_WORD_CHARS}}}|[\p{{N}}]|[^\s\p{{L}}\p{{N}}]{{1,{MAX_WORD_CHARS}}}"""
)
WORD_END = "</w>"


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


def word_final_symbols() -> list[str]:
    return [symbol + WORD_END for symbol in byte_symbols()]


def with_every_byte_symbol(tokenizer: Tokenizer) -> Tokenizer:
    """The trained tokenizer with its vocabulary renumbered CLIP's way: the 256 byte symbols,
    the same 256 word-final, then the learned pieces in the order they were learned. The
    word-final symbols, the trainer's special tokens (module docstring), become ordinary pieces:
    ``a</w>`` written in a caption is text, not a token."""
    layout = json.loads(tokenizer.to_str())
    learned = sorted(layout["model"]["vocab"].items(), key=lambda item: item[1])
    finals = word_final_symbols()
    ordered = [*byte_symbols(), *finals]
    seen = set(ordered)
    ordered += [piece for piece, _ in learned if piece not in seen]
    layout["model"]["vocab"] = {piece: index for index, piece in enumerate(ordered)}
    layout["added_tokens"] = [token for token in layout["added_tokens"] if token["content"] not in seen]
    return Tokenizer.from_str(json.dumps(layout))


def train_clip_bpe(captions: Iterable[str], vocab_size: int = DEFAULT_VOCAB_SIZE, min_frequency: int = 2) -> Tokenizer:
    """A BPE of ``vocab_size`` ids, the last two being the start and end tokens; fewer when the
    captions hold fewer merges. ``captions`` should already be cleaned. The same captions give
    the same tokenizer, byte for byte (module docstring)."""
    if vocab_size < 512 + 2:
        raise ValueError(
            f"--vocab-size must be at least 514 (256 byte symbols, plain and word-final, and 2 special tokens), "
            f"not {vocab_size}"
        )
    tokenizer = empty_clip_bpe()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size - 2,  # the start and end tokens are added after
        min_frequency=min_frequency,
        special_tokens=word_final_symbols(),  # their ids fixed before training: deterministic ties
        end_of_word_suffix=WORD_END,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(captions, trainer)
    tokenizer = with_every_byte_symbol(tokenizer)
    tokenizer.add_special_tokens([START_TOKEN, END_TOKEN])
    return tokenizer
