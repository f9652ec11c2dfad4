"""The curation proof's arithmetic: precision and recall of each filter against a known truth."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from wit_builder.curation_proof import filter_scores, proof_lines


def test_filters_are_scored_against_the_truth(tmp_path):
    run = tmp_path / "run"
    (run / "download" / "samples").mkdir(parents=True)
    (run / "curate" / "curation").mkdir(parents=True)
    uids = [f"u{i}" for i in range(10)]
    pq.write_table(pa.table({"uid": uids, "url": [f"http://h/{i}.jpg" for i in range(10)]}),
                   run / "download" / "samples" / "a.parquet")  # fmt: skip
    # u0-u3 misaligned; u6, u7, u8 one group of near copies (two of them should go).
    truth = {f"http://h/{i}.jpg": {"misaligned": i < 4, "near_copy_group": 6 if i in (6, 7, 8) else -1}
             for i in range(10)}  # fmt: skip
    status = ["low_clip_score", "low_clip_score", "ok", "ok", "low_clip_score", "ok", "ok",
              "semantic_duplicate", "semantic_duplicate", "semantic_duplicate"]  # fmt: skip
    pq.write_table(pa.table({"uid": uids, "status": status}), run / "curate" / "curation" / "a.parquet")
    scores = filter_scores(run, truth)
    low, copies = scores["low_clip_score"], scores["semantic_duplicate"]
    assert (low["dropped"], low["truly_misaligned"], low["misaligned_embedded"]) == (3, 2, 4)
    assert low["precision"] == round(2 / 3, 4) and low["recall"] == 0.5
    assert (copies["dropped"], copies["truly_copies"], copies["should_go"]) == (3, 2, 2)
    assert copies["precision"] == round(2 / 3, 4) and copies["recall"] == 1.0
    gain = {"seeds": [0, 1], "summary": {"image_to_text_R@1": {"uncurated_mean": 0.1, "curated_mean": 0.2,
            "gain_mean": 0.1, "seed_spread": 0.01, "every_seed_gains": True}}}  # fmt: skip
    text = proof_lines({"filters": scores, "gain": gain})
    assert "precision 0.6667, recall 0.5 of 4 misaligned pairs" in text and "gain +0.100" in text
    assert "image → text R@1  uncurated 0.100, curated 0.200" in text and "image_to_text" not in text
