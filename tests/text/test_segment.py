"""Words where there are no spaces: ICU's dictionary segmentation, and the matching property
that rests on it (a query matches a caption exactly when its words are adjacent words of the
caption's segmentation)."""

from __future__ import annotations

import random

import pytest

from wit_builder.harvest.matcher import QueryMatcher
from wit_builder.text.segment import Segmenter, needs_segmenting
from wit_builder.text.tokens import unit_spans

# Everyday words of each script written without spaces (Tibetan: syllables, which ICU cuts at the tsheg).
WORDS = {
    "zh": ["北京", "天安门", "太阳", "猫", "狗", "红色", "汽车", "城市", "公园", "学生", "老师", "图书馆", "飞机"],
    "ja": ["東京", "猫", "犬", "自動車", "公園", "学生", "先生", "図書館", "飛行機", "桜", "寿司", "の", "は"],
    "th": ["แมว", "หมา", "สีแดง", "รถยนต์", "ภูเขา", "แม่น้ำ", "สวน", "นักเรียน", "ครู", "ห้องสมุด", "บ้าน"],
    "km": ["ឆ្មា", "ឆ្កែ", "ក្រហម", "ឡាន", "ភ្នំ", "ទន្លេ", "សួន", "សិស្ស", "គ្រូ", "ផ្ទះ"],
    "lo": ["ແມວ", "ໝາ", "ລົດ", "ພູເຂົາ", "ແມ່ນ້ຳ", "ສວນ", "ນັກຮຽນ", "ຄູ", "ເຮືອນ"],
    "my": ["ကြောင်", "ခွေး", "ကား", "တောင်", "မြစ်", "ပန်းခြံ", "ကျောင်းသား", "ဆရာ", "အိမ်"],
    "bo": ["བོད", "ཀྱི", "སྐད", "ཡིག", "ལྷ", "ས", "རི", "ཆུ"],
}
JOINER = {"bo": "་"}  # Tibetan writes a tsheg between syllables


@pytest.fixture(scope="module")
def segmenter() -> Segmenter:
    return Segmenter()


@pytest.mark.parametrize(
    ("text", "spaced"),
    [
        ("我爱北京天安门", "我 爱 北京 天安门"),
        ("東京タワーの夜景", "東京タワー の 夜景"),
        ("แมวสีดำนอนอยู่", "แมว สี ดำ นอน อยู่"),
        ("ឆ្មាខ្មៅដេក", "ឆ្មា ខ្មៅ ដេក"),
        ("ແມວສີດຳນອນ", "ແມວ ສີ ດຳ ນອນ"),
        ("ကြောင်မည်းသည်", "ကြောင် မည်း သည်"),
        ("བོད་ཀྱི་སྐད", "བོད་ཀྱི་སྐད"),  # the tsheg is a unit of its own already: no space needed
        ("2024年の東京", "2024年 の 東京"),  # a digit and a Han letter: one token, as the token rule has it
        ("a cat in 東京", "a cat in 東京"),
        ("𠀋東京", "𠀋 東京"),  # outside the BMP: ICU's UTF-16 offsets mapped back to characters
        ("plain English, untouched", "plain English, untouched"),
    ],
)
def test_spaced_writes_a_space_between_dictionary_words(segmenter, text, spaced):
    assert segmenter.spaced(text) == spaced


def test_text_without_those_scripts_is_returned_as_it_is(segmenter):
    for text in ["hello world", "Zürich café", "हिन्दी भाषा", "Ελληνικά", "مرحبا", ""]:
        assert not needs_segmenting(text)
        assert segmenter.spaced(text) is text


def units(text: str) -> list[tuple[str, bool]]:
    """The units of ``text``, each with whether whitespace comes before it (the unit rule)."""
    spans = unit_spans(text)
    return [(text[a:b], k > 0 and spans[k - 1][1] < a) for k, (a, b) in enumerate(spans)]


def occurs(query: list[tuple[str, bool]], caption: list[tuple[str, bool]]) -> bool:
    """Whether the query's units are adjacent units of the caption with the same spacing
    between them (the first unit's spacing does not matter)."""
    n = len(query)
    return any(
        caption[i][0] == query[0][0] and caption[i + 1 : i + n] == query[1:] for i in range(len(caption) - n + 1)
    )


@pytest.mark.parametrize("lang", sorted(WORDS))
def test_a_query_matches_exactly_when_its_words_occur_in_the_captions_segmentation(segmenter, lang):
    rng = random.Random(lang)
    words, joiner = WORDS[lang], JOINER.get(lang, "")
    captions = [joiner.join(rng.choices(words, k=rng.randint(2, 8))) for _ in range(150)]
    queries = sorted(
        {*words, *(joiner.join(rng.choices(words, k=2)) for _ in range(40)), *(w[: max(1, len(w) // 2)] for w in words)}
    )
    matcher = QueryMatcher(queries)
    found = expected = 0
    for caption in captions:
        spaced = units(segmenter.spaced(caption))
        want = sorted(q for q in queries if occurs(units(segmenter.spaced(q)), spaced))
        assert matcher(caption) == want, caption
        found, expected = found + len(want), expected + sum(q in caption for q in queries)
    # Not a property that holds vacuously: most substring occurrences are word matches, not all.
    assert 0 < found <= expected


def test_a_substring_across_two_words_is_not_a_match():
    matcher = QueryMatcher(["北京", "京天", "天安门"])
    assert matcher("我爱北京天安门") == ["北京", "天安门"]
