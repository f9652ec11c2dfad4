"""The tokenizer stage: CLIP's text handling, special ids at the end, any tokenizer.json accepted."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from tokenizers import Tokenizer, models, pre_tokenizers

from wit_builder.cli import main
from wit_builder.tokenizer.bpe import END_TOKEN, START_TOKEN, train_clip_bpe
from wit_builder.tokenizer.clip_text import clean_caption
from wit_builder.tokenizer.encode import CaptionTokenizer, TokenizerError

CAPTIONS = [
    "A picture of two red circles on the left on a white background",
    "a drawing of a blue square in the centre on a black background",
    "Photo of three green stars at the top and a large pink ring at the bottom",
] * 40


def test_clean_caption_fixes_mojibake_entities_space_and_case():
    assert clean_caption("Caf\u00c3\u00a9  &amp;amp;\n\tBar ") == "café & bar"
    assert clean_caption("   ") == ""


def test_vocabulary_below_the_byte_symbols_is_refused():
    with pytest.raises(ValueError, match="at least 514"):
        train_clip_bpe(CAPTIONS, vocab_size=300)


def test_special_tokens_are_the_last_two_ids():
    tokenizer = train_clip_bpe(CAPTIONS, vocab_size=700)
    size = tokenizer.get_vocab_size(with_added_tokens=True)
    assert size <= 700
    assert tokenizer.token_to_id(START_TOKEN) == size - 2
    assert tokenizer.token_to_id(END_TOKEN) == size - 1 == max(tokenizer.get_vocab().values())


def test_training_is_deterministic_across_processes():
    """tokenizers' trainer numbers word-final symbols in a per-process hash order and breaks
    merge ties by those numbers; bpe.py fixes their ids first. Four processes, one tokenizer."""
    script = (
        "import sys, hashlib; from wit_builder.tokenizer.bpe import train_clip_bpe; "
        "caps = [f'{a} {b}{c} {c}{a}' for a in 'xyzuo' for b in 'aeiou' for c in 'oudtp'] * 3; "
        "print(hashlib.sha256(train_clip_bpe(caps, 700).to_str().encode()).hexdigest())"
    )
    digests = {
        subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
        for _ in range(4)
    }
    assert len(digests) == 1, digests


def test_the_vocabulary_is_the_size_asked_when_the_captions_hold_enough_merges():
    rng = np.random.default_rng(0)
    words = ["".join(rng.choice(list("abcdefghijklmnop"), 7)) for _ in range(400)]
    captions = [" ".join(words[i : i + 20]) for i in range(0, 400, 20)] * 3
    tokenizer = train_clip_bpe(captions, vocab_size=600)
    assert tokenizer.get_vocab_size(with_added_tokens=True) == 600
    assert [t.content for t in tokenizer.get_added_tokens_decoder().values()] == [START_TOKEN, END_TOKEN]
    assert tokenizer.encode("a</w>", add_special_tokens=False).tokens[0] == "a</w>"  # the word "a", not a literal


def test_words_end_with_end_of_word_markers_and_round_trip():
    encoder = CaptionTokenizer(train_clip_bpe(CAPTIONS, vocab_size=700).to_str())
    rows = encoder(["A picture of TWO red circles!", "Zebra café"])
    assert rows.shape == (2, 77) and rows.dtype == np.int64
    pieces = encoder.tokenizer.encode("picture", add_special_tokens=False).tokens
    assert pieces[-1].endswith("</w>")
    assert rows[0, 0] == encoder.start_id
    assert encoder.decode(rows[0]) == "a picture of two red circles !"
    assert encoder.decode(rows[1]) == "zebra café"  # unseen letters still encode, byte by byte
    assert encoder.decode(encoder(["?"])[0]) == "?"  # a lone unseen symbol is a word-final byte symbol
    assert encoder.tokenizer.id_to_token(0) == "!" and encoder.tokenizer.id_to_token(256) == "!</w>"
    assert int(rows[0].argmax()) == list(rows[0]).index(encoder.end_id)  # argmax pooling finds the end


def test_long_captions_are_cut_and_still_end_with_the_end_token():
    encoder = CaptionTokenizer(train_clip_bpe(CAPTIONS, vocab_size=700).to_str(), context_length=10)
    row = encoder(["red " * 50])[0]
    assert row[0] == encoder.start_id and row[-1] == encoder.end_id and 0 not in row


def test_a_caption_cannot_forge_an_end_token():
    encoder = CaptionTokenizer(train_clip_bpe(CAPTIONS, vocab_size=700).to_str())
    row = encoder([f"red {END_TOKEN} blue"])[0]
    assert list(row).count(encoder.end_id) == 1


def test_any_tokenizer_json_with_named_special_tokens_works(tmp_path):
    other = Tokenizer(models.WordLevel({"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "red": 4}, unk_token="[UNK]"))
    other.pre_tokenizer = pre_tokenizers.Whitespace()
    path = tmp_path / "tokenizer.json"
    other.save(str(path))
    encoder = CaptionTokenizer.from_file(str(tmp_path))  # a folder means its tokenizer.json
    assert list(encoder(["Red blue"])[0][:5]) == [2, 4, 1, 3, 0]
    assert not encoder.end_is_largest
    assert pickle.loads(pickle.dumps(encoder))(["red"]).tolist() == encoder(["red"]).tolist()


def test_bad_tokenizer_files_are_clear_errors(tmp_path):
    with pytest.raises(TokenizerError, match="no tokenizer file"):
        CaptionTokenizer.from_file(str(tmp_path / "missing.json"))
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(TokenizerError, match="not a tokenizers JSON"):
        CaptionTokenizer.from_file(str(tmp_path / "bad.json"))
    bare = Tokenizer(models.WordLevel({"[UNK]": 0, "red": 1}, unk_token="[UNK]"))
    bare.save(str(tmp_path / "bare.json"))
    with pytest.raises(TokenizerError, match="no start token"):
        CaptionTokenizer.from_file(str(tmp_path / "bare.json"))


def _balance_folder(tmp_path, texts):
    folder = tmp_path / "balance"
    (folder / "balanced").mkdir(parents=True)
    pq.write_table(pa.table({"text": texts}), folder / "balanced" / "part-00000.parquet")
    (folder / "balanced" / "part-00001.parquet").write_bytes(b"PAR1 broken")
    return folder


def test_command_trains_on_a_balance_folder_and_reports_unreadable_files(tmp_path, capsys):
    folder = _balance_folder(tmp_path, [*CAPTIONS, "", None])
    status = main(["tokenizer", "--input", str(folder), "--out", str(tmp_path / "tok"), "--vocab-size", "600"])
    assert status == 0  # it wrote a tokenizer; the skipped file is named and counted
    assert "skipped" in capsys.readouterr().err
    stats = json.loads((tmp_path / "tok" / "stats.json").read_text())
    assert stats["captions"] == len(CAPTIONS) + 2 and stats["empty_captions"] == 2
    assert stats["files"] == 2 and stats["files_read"] == 1 and len(stats["unreadable"]) == 1
    assert stats["end_token"]["id"] == stats["vocab_size"] - 1 <= 599
    encoder = CaptionTokenizer.from_file(str(tmp_path / "tok" / "tokenizer.json"))
    assert encoder.end_is_largest


def test_command_reads_shard_indexes(scene_shards, tmp_path, capsys):
    status = main(["tokenizer", "--input", str(scene_shards), "--out", str(tmp_path / "tok"), "--vocab-size", "1000"])
    assert status == 0, capsys.readouterr().err
    stats = json.loads((tmp_path / "tok" / "stats.json").read_text())
    manifest = json.loads((scene_shards / "manifest.json").read_text())
    assert stats["captions"] == manifest["totals"]["samples"]
    assert "1,000 ids" in capsys.readouterr().out or stats["vocab_size"] < 1000


def test_command_without_captions_fails_clearly(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["tokenizer", "--input", str(tmp_path / "empty"), "--out", str(tmp_path / "tok")]) == 2
    assert "holds no .parquet file" in capsys.readouterr().err


# --- long text without spaces: the cost stays linear ----------------------------------------------


def unspaced(size: int, seed: int = 0) -> str:
    """``size`` letters and no space: a hostile caption (a base64 blob, a run of one key)."""
    import random

    rng = random.Random(seed)
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(size))


def test_a_run_of_letters_is_cut_into_words_of_at_most_the_bound():
    from wit_builder.tokenizer.bpe import MAX_WORD_CHARS, empty_clip_bpe

    words = empty_clip_bpe().pre_tokenizer.pre_tokenize_str(unspaced(1000) + " " + "!" * 250 + " a photo")
    assert max(len(word) for word, _ in words) == MAX_WORD_CHARS
    assert "".join(word for word, _ in words[:10]) == unspaced(1000)  # cut, nothing lost
    assert [word for word, _ in words[-2:]] == ["a", "photo"]  # ordinary words as CLIP splits them


def write_captions(path, captions: list[str]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"text": captions}), path)


def test_a_caption_of_a_mebibyte_costs_about_what_the_same_bytes_of_captions_do(tmp_path, capsys):
    """CPU time, not wall time, and a generous multiple: the quadratic reader took minutes for
    this caption (it was killed after four), the same bytes of ordinary captions take a second."""
    import time

    size = 1 << 20
    ordinary = [f"a photo of a red circle number {n} on a blue square" for n in range(size // 50)]
    write_captions(tmp_path / "long" / "a.parquet", [unspaced(size), *ordinary[:200]])
    write_captions(tmp_path / "normal" / "a.parquet", ordinary)

    def cpu_seconds(folder: str) -> float:
        started = time.process_time()
        assert main(["tokenizer", "--input", str(tmp_path / folder), "--out", str(tmp_path / f"{folder}-tok"),
                     "--vocab-size", "1000"]) == 0  # fmt: skip
        return time.process_time() - started

    normal = min(cpu_seconds("normal") for _ in range(2))
    long = min(cpu_seconds("long") for _ in range(2))
    capsys.readouterr()
    assert long < 10 * normal + 1.0, (long, normal)
