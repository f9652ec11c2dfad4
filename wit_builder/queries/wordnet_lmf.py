"""Multilingual WordNet lemmas from Global WordNet LMF XML, the format of the Open Multilingual
Wordnet's files and the one the ``wn`` package reads; nothing is downloaded.

A file holds one or more ``<Lexicon language="...">``; each ``<LexicalEntry>``'s ``<Lemma
writtenForm="...">`` is a query of that lexicon's language (every lemma, no cap, as Meta CLIP
2 takes them). Languages are given as BCP 47 tags; the primary subtag is the wiki's code, and
the ISO 639-3 codes some wordnets use are mapped to it (``cmn`` → ``zh``, ``arb`` → ``ar``).
Underscores become spaces ("hot_dog" → "hot dog"), as in WordNet 3.0.

The file is read as a stream (``iterparse``), each entry dropped once read, so a 100 MB
wordnet costs a few MB. A file that is not well-formed XML keeps the lemmas before the break,
and the break is reported as a ``MalformedLine``.
"""

from __future__ import annotations

from collections.abc import Iterator
from xml.etree import ElementTree

import fsspec

from wit_builder.queries.wordnet import MalformedLine

# ISO 639-3 codes of wordnets whose wiki has a two-letter code (macrolanguage members included).
ISO_639_3_TO_WIKI = {
    "arb": "ar", "bul": "bg", "cat": "ca", "cmn": "zh", "dan": "da", "ell": "el", "eng": "en", "eus": "eu",
    "fas": "fa", "fin": "fi", "fra": "fr", "glg": "gl", "heb": "he", "hrv": "hr", "ind": "id", "isl": "is",
    "ita": "it", "jpn": "ja", "lit": "lt", "nld": "nl", "nno": "nn", "nob": "no", "nb": "no", "pol": "pl",
    "por": "pt", "ron": "ro", "rus": "ru", "slk": "sk", "slv": "sl", "spa": "es", "swe": "sv", "tha": "th",
    "zsm": "ms", "deu": "de", "ukr": "uk", "kor": "ko", "vie": "vi", "tur": "tr", "hin": "hi",
}  # fmt: skip


def wiki_language(tag: str) -> str:
    """The wiki code of a lexicon's BCP 47 language tag (``cmn-Hans`` → ``zh``, ``fr`` → ``fr``)."""
    primary = tag.strip().split("-", 1)[0].split("_", 1)[0].lower()
    return ISO_639_3_TO_WIKI.get(primary, primary)


def read_lmf_lemmas(path: str) -> Iterator[tuple[str, str] | MalformedLine]:
    """(language, lemma) for every lemma of an LMF file, in file order; a ``MalformedLine`` for
    a lemma outside any lexicon or with no written form, and for XML that breaks off."""
    lang: str | None = None
    try:
        with fsspec.open(path, "rb", compression="infer") as handle:
            for event, element in ElementTree.iterparse(handle, events=("start", "end")):
                tag = element.tag.rsplit("}", 1)[-1]
                if event == "start" and tag == "Lexicon":
                    lang = wiki_language(element.get("language", ""))
                elif event == "end" and tag == "Lemma":
                    form = (element.get("writtenForm") or "").strip()
                    if lang and form:
                        yield lang, form.replace("_", " ")
                    else:
                        yield MalformedLine(path, "a <Lemma> without writtenForm or outside a <Lexicon>")
                elif event == "end" and tag in ("LexicalEntry", "Synset"):
                    element.clear()
    except ElementTree.ParseError as error:
        yield MalformedLine(path, f"not well-formed XML: {error}")
