"""The synthetic language: a Zipf-distributed vocabulary shared by the dump and the web.

The words the images are described with (colours, shapes, positions, counts) sit among the
frequent words of the dump, so the query list built from the dump really does match the
captions on the synthetic web, as Wikipedia-derived queries match real alt texts.

Three word sets are kept apart on purpose, so tests can prove a rule by looking for them:
- ``prose``: the Zipf vocabulary article text is drawn from;
- ``collocations``: pairs of words that never occur apart (high pointwise mutual information);
- ``markup_words``: words that only ever occur inside markup the queries stage must ignore
  (templates, refs, tables, file and category links, comments, non-article pages).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from wit_builder.synthetic.config import WorldConfig
from wit_builder.synthetic.seeding import python_rng

FUNCTION_WORDS = (
    "the of and in a to is was for on as by with from at that it an which are were "
    "this be or his its has had their also first one after been new two they but not "
    "other into more during most her when who than all some these"
).split()

COLOURS = ("red", "green", "blue", "yellow", "orange", "purple", "black", "white", "grey", "pink")
SHAPES = ("circle", "square", "triangle", "star", "ring", "cross", "diamond", "hexagon")
POSITIONS = ("left", "right", "top", "bottom", "centre", "corner", "middle")
COUNT_WORDS = ("one", "two", "three", "four", "five")
SCENE_WORDS = ("picture", "photo", "drawing", "image", "background", "small", "large", "shape")

# Words with internal apostrophes/hyphens and non-ASCII letters, to exercise tokenisation.
SPECIAL_WORDS = ("o'malley", "rock-face", "café", "zürich", "naïve", "well-known", "don't")

_ONSETS = "b c d f g h j k l m n p r s t v w z br kr st th sh tr pl gr dr".split()
_VOWELS = "a e i o u ai ea oo ei ou".split()
_CODAS = ["", "", "", "n", "r", "l", "s", "th", "m", "k"]


def concept_words() -> tuple[str, ...]:
    """Every word the scene captions are built from."""
    return COLOURS + SHAPES + POSITIONS + COUNT_WORDS + SCENE_WORDS


def _pseudo_words(count: int, seed: int, stream: str, taken: set[str]) -> list[str]:
    """``count`` new pronounceable words, none already in ``taken`` (which is updated)."""
    rng = python_rng(seed, "vocabulary", stream)
    words: list[str] = []
    while len(words) < count:
        syllables = rng.choice((2, 2, 3, 3, 3, 4))
        word = "".join(rng.choice(_ONSETS) + rng.choice(_VOWELS) for _ in range(syllables))
        word += rng.choice(_CODAS)
        if word not in taken:
            taken.add(word)
            words.append(word)
    return words


@dataclass(frozen=True)
class Vocabulary:
    """Words by rank with their Zipf probabilities, plus the word sets kept apart."""

    prose: tuple[str, ...]
    collocations: tuple[tuple[str, str], ...]
    markup_words: tuple[str, ...]
    title_words: tuple[str, ...]

    @classmethod
    def build(cls, config: WorldConfig) -> Vocabulary:
        taken = set(FUNCTION_WORDS) | set(concept_words()) | set(SPECIAL_WORDS)
        pseudo = _pseudo_words(config.vocabulary_size, config.seed, "prose", taken)
        # Function words lead; concept words are spread over the frequent ranks so every
        # caption word clears a realistic unigram threshold; the rest follow Zipf's law.
        ranked: list[str] = list(FUNCTION_WORDS)
        frequent = list(concept_words()) + list(SPECIAL_WORDS)
        rng = python_rng(config.seed, "vocabulary", "interleave")
        rng.shuffle(frequent)
        ranked.extend(w for pair in zip(frequent, pseudo, strict=False) for w in pair)
        ranked.extend(pseudo[len(frequent) :])
        pair_words = _pseudo_words(2 * config.collocations, config.seed, "collocation", taken)
        collocations = tuple(zip(pair_words[0::2], pair_words[1::2], strict=True))
        markup = _pseudo_words(max(60, config.vocabulary_size // 20), config.seed, "markup", taken)
        title = _pseudo_words(config.articles * 2, config.seed, "title", taken)
        return cls(
            prose=tuple(ranked),
            collocations=collocations,
            markup_words=tuple(markup),
            title_words=tuple(title),
        )

    @cached_property
    def probabilities(self) -> np.ndarray:
        """Zipf–Mandelbrot weights p(rank) ∝ 1 / (rank + 2.7)^1.07, as fitted to English."""
        ranks = np.arange(len(self.prose), dtype=np.float64)
        weights = 1.0 / np.power(ranks + 2.7, 1.07)
        return weights / weights.sum()

    def sample(self, rng: np.random.Generator, count: int) -> list[str]:
        """``count`` words drawn independently from the Zipf distribution."""
        indices = rng.choice(len(self.prose), size=count, p=self.probabilities)
        prose = self.prose
        return [prose[i] for i in indices]
