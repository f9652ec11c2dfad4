"""The pages of the synthetic Wikipedia: articles, redirects and non-article pages, as data.

Article text is real wikitext: templates, refs, tables, file and category links, comments,
headings, bold and internal links. Words that only the markup uses come from
``Vocabulary.markup_words``, so a test can prove that none of them becomes a token; link text
comes from prose or titles, because link text is prose.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from wit_builder.synthetic.config import WorldConfig
from wit_builder.synthetic.seeding import numpy_rng, python_rng
from wit_builder.synthetic.vocabulary import COLOURS, SHAPES, Vocabulary

NAMESPACES: dict[int, str] = {
    -2: "Media", -1: "Special", 0: "", 1: "Talk", 2: "User", 3: "User talk", 4: "Wikipedia",
    5: "Wikipedia talk", 6: "File", 7: "File talk", 10: "Template", 11: "Template talk",
    14: "Category", 15: "Category talk", 100: "Portal", 118: "Draft",
}  # fmt: skip

OTHER_NAMESPACES = (1, 4, 6, 10, 14)


@dataclass(frozen=True)
class WikiPage:
    """One page of the dump. ``title`` carries its namespace prefix, as dumps write it."""

    page_id: int
    title: str
    namespace: int
    text: str
    redirect_to: str | None = None


def article_titles(config: WorldConfig, vocabulary: Vocabulary) -> list[str]:
    """Unique article titles: single names, two-word names and scene phrases ("Red circle")."""
    rng = python_rng(config.seed, "titles")
    names = iter(vocabulary.title_words)
    scene_phrases = [f"{c.capitalize()} {s}" for c in COLOURS for s in SHAPES]
    rng.shuffle(scene_phrases)
    titles: list[str] = []
    seen: set[str] = set()
    while len(titles) < config.articles:
        roll = rng.random()
        if roll < 0.15 and scene_phrases:
            title = scene_phrases.pop()
        elif roll < 0.40:
            title = f"{next(names).capitalize()} {next(names)}"
        else:
            title = next(names).capitalize()
        if title not in seen:
            seen.add(title)
            titles.append(title)
    return titles


class _ArticleWriter:
    """Writes the wikitext of one article from its private random stream."""

    def __init__(self, vocabulary: Vocabulary, titles: list[str], rng: np.random.Generator):
        self.vocabulary = vocabulary
        self.titles = titles
        self.rng = rng

    def markup_words(self, count: int) -> str:
        words = self.vocabulary.markup_words
        return " ".join(words[i] for i in self.rng.integers(0, len(words), size=count))

    def markup_name(self) -> str:
        return self.markup_words(1).capitalize()

    def sentences(
        self, words: list[str], subject: str, collocations: list[tuple[str, str]], continues: bool = False
    ) -> str:
        """Prose: sentences of 6–20 words, with links, the subject and collocations woven in.

        ``continues``: the first sentence continues text already written, so stays lower case.
        """
        rng = self.rng
        out: list[str] = []
        position = 0
        while position < len(words):
            length = int(rng.integers(6, 21))
            sentence = list(words[position : position + length])
            position += length
            for i in range(len(sentence)):
                roll = rng.random()
                if roll < 0.04:
                    target = self.titles[int(rng.integers(0, len(self.titles)))]
                    sentence[i] = f"[[{target}]]" if rng.random() < 0.6 else f"[[{target}|{sentence[i]}]]"
                elif roll < 0.05:
                    sentence[i] = f"'''{sentence[i]}'''"
                elif roll < 0.06:
                    sentence[i] = str(int(rng.integers(1800, 2030)))
                elif roll < 0.08:
                    sentence[i] += ","
            if rng.random() < 0.15:
                sentence.insert(int(rng.integers(0, len(sentence) + 1)), subject)
            if collocations:
                first, second = collocations.pop()
                sentence.insert(int(rng.integers(0, len(sentence) + 1)), f"{first} {second}")
            if not (continues and not out):
                sentence[0] = sentence[0][:1].upper() + sentence[0][1:]
            ending = "." if rng.random() < 0.9 else ("?" if rng.random() < 0.5 else "!")
            text = " ".join(sentence).rstrip(",") + ending
            if rng.random() < 0.1:
                site, title = self.markup_words(1), self.markup_words(3)
                text += f"<ref>{{{{cite web |url=http://{site}.invalid/ |title={title}}}}}</ref>"
            elif rng.random() < 0.05:
                text += f'<ref name="{self.markup_words(1)}" />'
            out.append(text)
        return " ".join(out)

    def table(self) -> str:
        header = " !! ".join(self.markup_words(1) for _ in range(3))
        rows = "\n".join(
            "|-\n| " + " || ".join(self.markup_words(1) for _ in range(3)) for _ in range(int(self.rng.integers(2, 5)))
        )
        return f'{{| class="wikitable"\n|+ {self.markup_words(2)}\n|-\n! {header}\n{rows}\n|}}'

    def article(self, title: str, word_count: int, collocations: list[tuple[str, str]]) -> str:
        rng = self.rng
        words = self.vocabulary.sample(rng, word_count)
        paragraphs = max(1, word_count // 90)
        per_paragraph = max(1, len(words) // paragraphs)
        parts = [
            f"{{{{Short description|{self.markup_words(4)}}}}}",
            f"{{{{Infobox {self.markup_words(1)}\n| name = {title}\n| image = {self.markup_name()}.jpg\n"
            f"| caption = {self.markup_words(3)}\n}}}}",
            f"'''{title}''' is " + self.sentences(words[:per_paragraph], title, collocations, continues=True),
        ]
        for index in range(1, paragraphs):
            chunk = words[index * per_paragraph : (index + 1) * per_paragraph]
            if not chunk:
                break
            roll = rng.random()
            if roll < 0.3:
                parts.append(f"== {' '.join(self.vocabulary.sample(rng, 2)).capitalize()} ==")
            elif roll < 0.4:
                parts.append(self.table())
            elif roll < 0.5:
                parts.append(f"[[File:{self.markup_name()}.jpg|thumb|{self.markup_words(4)}]]")
            elif roll < 0.55:
                parts.append(f"<!-- {self.markup_words(5)} -->")
            parts.append(self.sentences(chunk, title, collocations))
        while collocations:  # more planned than there were sentences: closing sentences
            parts.append(self.sentences(self.vocabulary.sample(rng, 6), title, collocations))
        parts.append("== References ==\n{{Reflist}}")
        parts.extend(
            f"[[Category:{self.markup_name()} {self.markup_words(1)}]]" for _ in range(int(rng.integers(1, 4)))
        )
        return "\n\n".join(parts)


def _collocation_plan(config: WorldConfig, vocabulary: Vocabulary) -> list[list[tuple[str, str]]]:
    """Which collocations each article carries: each pair 3–30 times, spread over articles."""
    rng = numpy_rng(config.seed, "collocations")
    per_article: list[list[tuple[str, str]]] = [[] for _ in range(config.articles)]
    for pair in vocabulary.collocations:
        for article in rng.integers(0, config.articles, size=int(rng.integers(3, 31))):
            per_article[int(article)].append(pair)
    return per_article


def build_wiki_pages(config: WorldConfig, vocabulary: Vocabulary) -> list[WikiPage]:
    """Every page of the dump, in page-id order."""
    titles = article_titles(config, vocabulary)
    plan = _collocation_plan(config, vocabulary)
    lengths = numpy_rng(config.seed, "article-lengths").lognormal(
        np.log(config.mean_words_per_article), 0.6, size=config.articles
    )
    layout = python_rng(config.seed, "page-layout")
    markup = vocabulary.markup_words
    pages: list[WikiPage] = []
    page_id = 10
    for index, title in enumerate(titles):
        writer = _ArticleWriter(vocabulary, titles, numpy_rng(config.seed, "article", index))
        text = writer.article(title, max(20, int(lengths[index])), list(plan[index]))
        pages.append(WikiPage(page_id, title, 0, text))
        page_id += layout.randint(1, 5)
        if layout.random() < config.redirect_share:
            alias = f"{layout.choice(markup).capitalize()} {layout.choice(markup)}"
            pages.append(
                WikiPage(page_id, alias, 0, f"#REDIRECT [[{title}]]\n\n{{{{R from alternative name}}}}", title)
            )
            page_id += layout.randint(1, 5)
        if layout.random() < config.other_namespace_share:
            namespace = layout.choice(OTHER_NAMESPACES)
            name = f"{layout.choice(markup).capitalize()} {layout.choice(markup)}"
            body = " ".join(layout.choice(markup) for _ in range(40))
            pages.append(WikiPage(page_id, f"{NAMESPACES[namespace]}:{name}", namespace, f"{body} [[{title}]] ~~~~"))
            page_id += layout.randint(1, 5)
    return pages
