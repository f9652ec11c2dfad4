"""Small wikis in other languages and scripts, for the worldwide queries stage: German (Latin
script), Russian (Cyrillic), Hebrew (written right to left) and Chinese (written without
spaces), each with its dump (``<siteinfo>`` naming its wiki), pageviews and a multilingual
WordNet in Global WordNet LMF XML.

Each language has a short vocabulary of real words, the colours and shapes of the synthetic
web's scenes among them, so that a worldwide world (``WorldConfig.languages``) can write some of
its images' alt texts in those languages (``foreign_caption``) and their words are queries.
Article prose draws them with Zipf's law (the k-th word about 1/k^0.7 as often as the first),
and every article also names one of the language's **titles**, two-word phrases that occur
nowhere else, so that their words bind (high PMI) and each title is both a bigram and a title
query. Chinese prose is written without
spaces, as Chinese is, so its words are only found through the segmenter.
"""

from __future__ import annotations

import gzip
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import quoteattr

from wit_builder.synthetic.scenes import Scene
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


# The scenes' colours and shapes in each language (base forms: the synthetic web does not decline).
# fmt: off
COLOUR_WORDS = {
    "de": {"red": "rot", "green": "grün", "blue": "blau", "yellow": "gelb", "orange": "orange", "purple": "lila",
           "black": "schwarz", "white": "weiß", "grey": "grau", "pink": "rosa"},
    "ru": {"red": "красный", "green": "зелёный", "blue": "синий", "yellow": "жёлтый", "orange": "оранжевый",
           "purple": "фиолетовый", "black": "чёрный", "white": "белый", "grey": "серый", "pink": "розовый"},
    "he": {"red": "אדום", "green": "ירוק", "blue": "כחול", "yellow": "צהוב", "orange": "כתום", "purple": "סגול",
           "black": "שחור", "white": "לבן", "grey": "אפור", "pink": "ורוד"},
    "zh": {"red": "红色", "green": "绿色", "blue": "蓝色", "yellow": "黄色", "orange": "橙色", "purple": "紫色",
           "black": "黑色", "white": "白色", "grey": "灰色", "pink": "粉色"},
}
SHAPE_WORDS = {
    "de": {"circle": "Kreis", "square": "Quadrat", "triangle": "Dreieck", "star": "Stern", "ring": "Ring",
           "cross": "Kreuz", "diamond": "Raute", "hexagon": "Sechseck"},
    "ru": {"circle": "круг", "square": "квадрат", "triangle": "треугольник", "star": "звезда", "ring": "кольцо",
           "cross": "крест", "diamond": "ромб", "hexagon": "шестиугольник"},
    "he": {"circle": "עיגול", "square": "ריבוע", "triangle": "משולש", "star": "כוכב", "ring": "טבעת",
           "cross": "צלב", "diamond": "מעוין", "hexagon": "משושה"},
    "zh": {"circle": "圆形", "square": "正方形", "triangle": "三角形", "star": "星形", "ring": "圆环",
           "cross": "十字", "diamond": "菱形", "hexagon": "六边形"},
}
# "a drawing of {things} on a {background} background", as each language says it.
CAPTION_FORMS = {
    "de": ("Eine Zeichnung: {things}, der Hintergrund ist {background}", " und "),
    "ru": ("Рисунок: {things} на фоне цвета {background}", " и "),
    "he": ("ציור של {things} על רקע {background}", " ו"),
    "zh": ("一幅画，{background}的背景上有{things}", "和"),
}
# fmt: on


def foreign_caption(scene: Scene, lang: str) -> str:
    """The scene's caption in ``lang``: its shapes' colours and names, and the background."""
    colours, shapes = COLOUR_WORDS[lang], SHAPE_WORDS[lang]
    form, joiner = CAPTION_FORMS[lang]
    if lang == "he":  # Hebrew puts the adjective after the noun
        things = [f"{shapes[g.shape]} {colours[g.colour]}" for g in scene.groups]
    elif lang == "zh":
        things = [f"{colours[g.colour]}的{shapes[g.shape]}" for g in scene.groups]
    else:
        things = [f"{colours[g.colour]} {shapes[g.shape]}" for g in scene.groups]
    return form.format(things=joiner.join(things), background=colours[scene.background])


def title_text(language: Language, title: tuple[str, str]) -> str:
    return " ".join(title) if language.spaced else "".join(title)


def vocabulary(language: Language) -> tuple[str, ...]:
    """The words its prose draws, most frequent first: its own, then the scenes' colours and
    shapes (common enough to be in the top tenth of its words)."""
    scene_words = [*COLOUR_WORDS[language.code].values(), *SHAPE_WORDS[language.code].values()]
    own = [word for word in language.words if word not in scene_words]
    return (*own[:7], *scene_words, *own[7:])


def article(language: Language, rng: random.Random, title: tuple[str, str], sentences: int = 6) -> str:
    """Wikitext prose: Zipf-drawn words, the title named in the first sentence and again later."""
    words = vocabulary(language)
    weights = [1 / rank**0.7 for rank in range(1, len(words) + 1)]
    joiner = " " if language.spaced else ""
    stop = "." if language.spaced else "。"
    lines = []
    for index in range(sentences):
        drawn = rng.choices(words, weights, k=rng.randint(6, 12))
        if index in (0, sentences - 1):
            drawn.insert(rng.randint(0, len(drawn)), title_text(language, title))
        lines.append(joiner.join(drawn) + stop)
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
    path.write_bytes(gzip.compress("".join(lines).encode("utf-8"), mtime=0))  # the same bytes on every run
    return path


def write_lmf(languages: Sequence[Language], path: Path) -> Path:
    """A Global WordNet LMF file with one lexicon per language (as the Open Multilingual
    Wordnet ships them), Chinese under its ISO 639-3 code ``cmn``, as OMW writes it. Its lemmas:
    the language's own, and the scenes' colours and shapes (WordNet has both)."""
    parts = ['<?xml version="1.0" encoding="UTF-8"?>\n<LexicalResource>\n']
    for language in languages:
        tag = "cmn-Hans" if language.code == "zh" else language.code
        parts.append(f'  <Lexicon id="omw-{language.code}" label="Synthetic" language="{tag}" version="1.0">\n')
        scene_words = [*COLOUR_WORDS[language.code].values(), *SHAPE_WORDS[language.code].values()]
        for number, lemma in enumerate(dict.fromkeys([*language.lemmas, *scene_words])):
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
    # The last hour of the day: an English world beside it writes the first hours.
    pageviews = write_pageviews(chosen, out / "pageviews" / "pageviews-20260101-230000.gz")
    lmf = write_lmf(chosen, out / "wordnet-lmf" / "omw-synthetic.xml")
    return dumps, pageviews, lmf
