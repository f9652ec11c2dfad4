"""The query-list contract between stages: harvest and balance name it in stats.json, later stages read it."""

from __future__ import annotations

import json

import pytest

from wit_builder.io.upstream import query_list_named_by, query_list_record


def test_a_stage_folder_names_its_query_list(tmp_path):
    (tmp_path / "stats.json").write_text(json.dumps({"inputs": query_list_record("gs://b/run/queries")}))
    assert query_list_named_by(str(tmp_path)) == "gs://b/run/queries"


def test_no_stats_or_no_list_is_none(tmp_path):
    assert query_list_named_by(str(tmp_path)) is None
    (tmp_path / "stats.json").write_text(json.dumps({"inputs": {"queries": None}}))
    assert query_list_named_by(str(tmp_path)) is None


@pytest.mark.parametrize(
    ("content", "message"),
    [("{not json", "not JSON"), ('{"inputs": {"queries": 7}}', "expected inputs.queries"),
     ('{"inputs": ["queries"]}', "expected inputs.queries"), ("[1, 2]", "expected inputs.queries")],
)  # fmt: skip
def test_a_stats_file_that_breaks_the_contract_is_named(tmp_path, content, message):
    (tmp_path / "stats.json").write_text(content)
    with pytest.raises(ValueError, match=message) as caught:
        query_list_named_by(str(tmp_path))
    assert str(tmp_path / "stats.json") in str(caught.value)
