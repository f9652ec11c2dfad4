"""The knobs of the synthetic world, in one typed object."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class WorldConfig:
    """Sizes of every part of the synthetic world; the seed fixes every byte.

    ``WorldConfig.scaled(s)`` grows all parts together; the defaults (scale 1) make a world
    that builds in a few seconds and still exercises every rule of every stage.
    """

    seed: int = 0
    # Wikipedia dump
    articles: int = 300
    vocabulary_size: int = 6000
    mean_words_per_article: int = 350
    collocations: int = 40
    redirect_share: float = 0.15
    other_namespace_share: float = 0.12
    dump_files: int = 2
    # pageviews
    pageview_hours: int = 4
    # WordNet
    wordnet_synsets: int = 400
    # synthetic web
    images: int = 600
    web_pages: int = 150
    images_per_page: int = 8
    hosts: int = 3
    fault_share: float = 0.12
    # Common Crawl WAT files
    wat_files: int = 2
    # Worldwide: other wikis (synthetic.languages), and the share of images whose alt texts are
    # in one of their languages. Empty: an English-only world, byte for byte as before.
    languages: tuple[str, ...] = ()
    foreign_alt_share: float = 0.2
    # Curation by model's ground truth (``catalog``): a share of images whose every caption is
    # misaligned (another scene's, or a generic line around a query word), and groups of the
    # same scene re-rendered (shifted, colours jittered) under other URLs, beyond a perceptual
    # hash's radius. Both 0: the world is byte for byte as before.
    misaligned_share: float = 0.0
    near_copy_groups: int = 0
    near_copies: int = 4

    @classmethod
    def scaled(cls, scale: float, seed: int = 0, languages: tuple[str, ...] = ()) -> WorldConfig:
        """A world ``scale`` times the default size (vocabulary grows sub-linearly, as Heaps' law)."""
        if scale <= 0:
            raise ValueError(f"scale must be positive, got {scale}")
        base = cls()

        def grow(value: int, minimum: int = 1) -> int:
            return max(minimum, round(value * scale))

        return cls(
            seed=seed,
            articles=grow(base.articles, 20),
            vocabulary_size=max(1000, round(base.vocabulary_size * scale**0.6)),
            collocations=grow(base.collocations, 5),
            dump_files=max(1, min(8, round(base.dump_files * scale**0.5))),
            wordnet_synsets=grow(base.wordnet_synsets, 50),
            images=grow(base.images, 40),
            web_pages=grow(base.web_pages, 10),
            wat_files=max(1, min(16, round(base.wat_files * scale**0.5))),
            languages=tuple(languages),
        )

    def to_dict(self) -> dict[str, object]:
        return asdict(self)
