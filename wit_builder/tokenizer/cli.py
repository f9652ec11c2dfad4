"""``wit-builder tokenizer``: train the BPE on a data set's captions and write ``tokenizer.json``.

Writes ``OUT/tokenizer.json`` (loadable by ``tokenizers.Tokenizer.from_file`` and by
``wit-train --tokenizer``) and ``OUT/stats.json`` (captions read, vocabulary size, the ids of
the special tokens, unreadable files). Both are written to a temporary name and renamed.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import fsspec

from wit_builder.stage_settings import Settings, option
from wit_builder.tokenizer.bpe import DEFAULT_VOCAB_SIZE


@dataclass(frozen=True, kw_only=True)
class TokenizerSettings(Settings):
    """``wit-builder tokenizer``."""

    input: str = option(
        metavar="PATH", role="input", help="a shard folder, a balance folder, or Parquet files with 'text'"
    )
    out: str = option(metavar="DIR", role="out", help="writes tokenizer.json and stats.json")
    vocab_size: int = option(
        DEFAULT_VOCAB_SIZE, metavar="N", help="ids in all, with the 2 special tokens", low=514, high=10**6
    )
    min_frequency: int = option(2, metavar="N", help="a merge must occur this often to be learned", low=1, high=10**12)


def run(settings: TokenizerSettings, _: Sequence[str] = ()) -> int:
    from wit_builder.atomic import write_atomically
    from wit_builder.errors import StageFailed
    from wit_builder.io.chunks import none_readable
    from wit_builder.io.json_files import write_json
    from wit_builder.io.stage_folders import check_out
    from wit_builder.stage_settings import SettingsError
    from wit_builder.stderr import warn_skipped
    from wit_builder.tokenizer.bpe import END_TOKEN, START_TOKEN, train_clip_bpe
    from wit_builder.tokenizer.captions import CaptionTally, caption_files, iter_clean_captions

    started = time.perf_counter()
    files = caption_files(settings.input)
    check_out(settings.out, "tokenizer")
    tally = CaptionTally()
    try:
        tokenizer = train_clip_bpe(iter_clean_captions(files, tally), settings.vocab_size, settings.min_frequency)
    except ValueError as error:
        if not tally.files:  # nothing could be read: the trainer saw no caption at all
            raise StageFailed(none_readable(list(tally.unreadable.items()), "captions (a 'text' column)")) from error
        raise SettingsError(str(error)) from error
    if not tally.files:
        raise StageFailed(none_readable(list(tally.unreadable.items()), "captions (a 'text' column)"))
    if tally.captions == tally.empty:
        raise StageFailed(f"no captions in {len(files)} file(s) of {settings.input}")
    out = settings.out.rstrip("/")
    filesystem, _ = fsspec.core.url_to_fs(out)
    filesystem.makedirs(out, exist_ok=True)
    write_atomically(f"{out}/tokenizer.json", tokenizer.to_str().encode("utf-8"))
    stats = {
        "input": settings.input,
        "files": len(files),
        "files_read": tally.files,
        "unreadable": tally.unreadable,
        "captions": tally.captions,
        "empty_captions": tally.empty,
        "characters": tally.characters,
        "vocab_size_asked": settings.vocab_size,
        "vocab_size": tokenizer.get_vocab_size(with_added_tokens=True),
        "start_token": {"text": START_TOKEN, "id": tokenizer.token_to_id(START_TOKEN)},
        "end_token": {"text": END_TOKEN, "id": tokenizer.token_to_id(END_TOKEN)},
        "seconds": round(time.perf_counter() - started, 2),
    }
    write_json(f"{out}/stats.json", stats, schema="stats.tokenizer")
    note = "" if stats["vocab_size"] == settings.vocab_size else " (the captions hold no more merges)"
    print(
        f"[tokenizer] {tally.captions:,} captions from {tally.files}/{len(files)} file(s) → "
        f"{stats['vocab_size']:,} ids{note}; end token {stats['end_token']['id']}; {out}/tokenizer.json "
        f"in {stats['seconds']:.1f}s"
    )
    warn_skipped("tokenizer", [{"path": path, "error": error} for path, error in tally.unreadable.items()])
    return 0  # unreadable files among good ones are skipped, named above and counted in stats.json
