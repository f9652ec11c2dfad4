"""A worldwide synthetic world: other wikis beside the English one, their pageviews and
multilingual WordNet, and a share of images whose alt texts and list captions are in one of
those languages; an English world is untouched by the option."""

from __future__ import annotations

import bz2
import dataclasses

from wit_builder.queries.languages import dump_language
from wit_builder.synthetic import SyntheticWorld, WorldConfig
from wit_builder.synthetic.languages import COLOUR_WORDS, SHAPE_WORDS, foreign_caption
from wit_builder.synthetic.scenes import make_scene
from wit_builder.text.language_id import LanguageIdentifier


def test_a_worldwide_world_writes_each_wiki_and_captions_in_its_languages(tmp_path):
    config = dataclasses.replace(WorldConfig(seed=5, images=200, web_pages=40), languages=("de", "ru", "he", "zh"))
    world = SyntheticWorld(config)
    layout = world.write(tmp_path)
    dumps = sorted(tmp_path.glob("wiki/*wiki-*.xml*"))
    languages = set()
    for dump in dumps:
        with bz2.open(dump, "rt") as handle:
            languages.add(dump_language(handle.read(4000)))
    assert languages == {"en", "de", "ru", "he", "zh"}
    assert sorted(p.name for p in tmp_path.glob("wordnet-lmf/*.xml")) == ["omw-synthetic.xml"]
    assert (tmp_path / "pageviews" / "pageviews-20260101-230000.gz").exists()
    assert layout.wordnet_lmf_glob.endswith("wordnet-lmf/*.xml")
    catalog = world.catalog
    foreign = [image for image in catalog.images if catalog.caption_language(image)]
    assert 0.1 < len(foreign) / len(catalog.images) < 0.3
    alts = [alt.alt for page in catalog.pages for alt in page.images if alt.image_id in {i.image_id for i in foreign}]
    assert sum(any(w in alt for w in COLOUR_WORDS["zh"].values()) for alt in alts) > 0


def test_the_option_changes_nothing_but_the_foreign_images_alts():
    plain = SyntheticWorld(WorldConfig(seed=5, images=120, web_pages=30))
    config = dataclasses.replace(WorldConfig(seed=5, images=120, web_pages=30), languages=("de", "zh"))
    worldwide = SyntheticWorld(config)
    assert all(plain.catalog.caption_language(image) is None for image in plain.catalog.images)
    foreign = {i.image_id for i in worldwide.catalog.images if worldwide.catalog.caption_language(i)}
    assert foreign
    pairs = [
        (a, b)
        for page_a, page_b in zip(plain.catalog.pages, worldwide.catalog.pages, strict=True)
        for a, b in zip(page_a.images, page_b.images, strict=True)
    ]
    assert all(a.image_id == b.image_id for a, b in pairs)  # the same pages: no random draw moved
    assert all(a.alt == b.alt for a, b in pairs if a.image_id not in foreign)
    assert any(a.alt != b.alt for a, b in pairs if a.image_id in foreign)


def test_foreign_captions_name_the_scene_and_are_identified_as_their_language():
    identifier = LanguageIdentifier()
    for lang in ("de", "ru", "he", "zh"):
        found = 0
        for image_id in range(100):
            scene = make_scene(0, image_id)
            caption = foreign_caption(scene, lang)
            assert all(SHAPE_WORDS[lang][group.shape] in caption for group in scene.groups)
            found += identifier.identify(caption)[0] == lang
        assert found >= 97, (lang, found)
