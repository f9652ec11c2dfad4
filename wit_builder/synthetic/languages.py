"""Small wikis in other languages and scripts, for the worldwide queries stage: German (Latin
script), Russian (Cyrillic), Hebrew (written right to left) and Chinese (written without
spaces), each with its dump (``<siteinfo>`` naming its wiki), pageviews and a multilingual
WordNet in Global WordNet LMF XML.

Each language has a short vocabulary of real words. Article prose draws them with Zipf's law
(the k-th word about 1/k as often as the first), and every article also names one of the
language's **titles**, two-word phrases that occur nowhere else, so that their words bind
(high PMI) and each title is both a bigram and a title query. Chinese prose is written without
spaces, as Chinese is, so its words are only found through the segmenter.
"""

from __future__ import annotations

import gzip
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import quoteattr

from wit_builder.synthetic.wikidump import write_wiki_dump
from wit_builder.synthetic.wikipages import WikiPage


@dataclass(frozen=True)
class Language:
    code: str  # the wiki's code
    script: str
    words: tuple[str, ...]  # most frequent first
    titles: tuple[tuple[str, str], ...]  # two-word titles, each word used in no other phrase
    lemmas: tuple[str, ...]  # its WordNet's lemmas
    spaced: bool = True


# fmt: off
LANGUAGES: dict[str, Language] = {
    "de": Language(
        "de",
        "Latin",
        ("der", "die", "und", "ist", "ein", "mit", "auf", "Haus", "Hund", "Katze", "rot", "blau", "grün", "Baum",
         "Stadt", "Fluss", "Berg", "Auto", "Vogel", "Himmel", "Wasser", "Brücke", "Garten", "Fenster", "Straße"),
        (("Kölner", "Dom"), ("Schwarzwälder", "Kirschtorte"), ("Brandenburger", "Tor"), ("Bodensee", "Ufer")),
        ("Hund", "Katze", "Baum", "Haus", "Vogel", "Wasser"),
    ),
    "ru": Language(
        "ru",
        "Cyrillic",
        ("и", "в", "на", "это", "с", "дом", "собака", "кошка", "красный", "синий", "зелёный", "дерево", "город",
         "река", "гора", "машина", "птица", "небо", "вода", "мост", "сад", "окно", "улица"),
        (("Красная", "площадь"), ("Зимний", "дворец"), ("Байкальский", "заповедник"), ("Невский", "проспект")),
        ("собака", "кошка", "дерево", "дом", "птица", "вода"),
    ),
    "he": Language(
        "he",
        "Hebrew",
        ("של", "את", "על", "עם", "הוא", "בית", "כלב", "חתול", "אדום", "כחול", "ירוק", "עץ", "עיר", "נהר", "הר",
         "מכונית", "ציפור", "שמיים", "מים", "גשר", "גן", "חלון", "רחוב"),
        (("הכותל", "המערבי"), ("ים", "המלח"), ("מגדל", "דוד"), ("נחל", "עמוד")),
        ("כלב", "חתול", "עץ", "בית", "ציפור", "מים"),
    ),
    "zh": Language(
        "zh",
        "Han",
        ("的", "是", "在", "和", "有", "房子", "狗", "猫", "红色", "蓝色", "绿色", "树", "城市", "河流", "山",
         "汽车", "鸟", "天空", "水", "桥", "花园", "窗户", "街道"),
        (("北京", "天安门"), ("长城", "遗址"), ("西湖", "龙井"), ("故宫", "博物院")),
        ("狗", "猫", "树", "房子", "鸟", "水"),
        spaced=False,
    ),
}
# fmt: on


def title_text(language: Language, title: tuple[str, str]) -> str:
    return " ".join(title) if language.spaced else "".join(title)


def article(language: Language, rng: random.Random, title: tuple[str, str], sentences: int = 6) -> str:
    """Wikitext prose: Zipf-drawn words, the title named in the first sentence and again later."""
    weights = [1 / rank for rank in range(1, len(language.words) + 1)]
    joiner = " " if language.spaced else ""
    stop = "." if language.spaced else "。"
    lines = []
    for index in range(sentences):
        words = rng.choices(language.words, weights, k=rng.randint(6, 12))
        if index in (0, sentences - 1):
            words.insert(rng.randint(0, len(words)), title_text(language, title))
        lines.append(joiner.join(words) + stop)
    return f"'''{title_text(language, title)}'''\n\n" + "\n".join(lines) + "\n"


def wiki_pages(language: Language, articles: int, seed: int) -> list[WikiPage]:
    rng = random.Random(f"{seed}-{language.code}")
    pages = []
    for number in range(articles):
        title = language.titles[number % len(language.titles)]
        name = title_text(language, title) + ("" if number < len(language.titles) else f" {number}")
        pages.append(WikiPage(number + 1, name, 0, article(language, rng, title)))
    return pages


def write_pageviews(languages: Sequence[Language], path: Path, views: int = 120) -> Path:
    """An hourly pageviews file: each language's titles, under its project code."""
    lines = []
    for language in languages:
        for rank, title in enumerate(language.titles):
            name = title_text(language, title).replace(" ", "_")
            lines.append(f"{language.code} {name} {views // (rank + 1)} 0\n")
            lines.append(f"{language.code}.m {name} 9999 0\n")  # mobile: not counted unless asked
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.writelines(lines)
    return path


def write_lmf(languages: Sequence[Language], path: Path) -> Path:
    """A Global WordNet LMF file with one lexicon per language (as the Open Multilingual
    Wordnet ships them), Chinese under its ISO 639-3 code ``cmn``, as OMW writes it."""
    parts = ['<?xml version="1.0" encoding="UTF-8"?>\n<LexicalResource>\n']
    for language in languages:
        tag = "cmn-Hans" if language.code == "zh" else language.code
        parts.append(f'  <Lexicon id="omw-{language.code}" label="Synthetic" language="{tag}" version="1.0">\n')
        for number, lemma in enumerate(language.lemmas):
            parts.append(
                f'    <LexicalEntry id="omw-{language.code}-{number}-n">\n'
                f'      <Lemma writtenForm={quoteattr(lemma)} partOfSpeech="n"/>\n'
                f'      <Sense id="omw-{language.code}-{number}-n-1" synset="omw-{language.code}-0{number}-n"/>\n'
                "    </LexicalEntry>\n"
            )
        parts.append("  </Lexicon>\n")
    parts.append("</LexicalResource>\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(parts), encoding="utf-8")
    return path


def write_world_wikis(out: Path, languages: Sequence[str] = tuple(LANGUAGES), articles: int = 60, seed: int = 0):
    """Each language's dump under ``out/wiki``, one pageviews file and one LMF wordnet; returns
    (dump files, pageviews file, LMF file)."""
    chosen = [LANGUAGES[code] for code in languages]
    dumps = [
        path
        for language in chosen
        for path in write_wiki_dump(wiki_pages(language, articles, seed), out / "wiki", lang=language.code)
    ]
    pageviews = write_pageviews(chosen, out / "pageviews" / "pageviews-20260101-000000.gz")
    lmf = write_lmf(chosen, out / "wordnet-lmf" / "omw-synthetic.xml")
    return dumps, pageviews, lmf
