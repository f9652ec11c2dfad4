"""Writing a shard set's release files: ``croissant.json`` and ``README.md``, each whole and
atomically, from the folder as it is now. The shard stage writes them just before its manifest;
a takedown writes them again after rewriting its shards."""

from __future__ import annotations

CROISSANT = "croissant.json"
CARD = "README.md"


def write_release_files(folder: str, manifest: dict) -> None:
    """Both files of the shard set in ``folder`` whose manifest is (or is about to be) ``manifest``;
    its ``release`` entry holds what the publisher said (licence, citation, name)."""
    from wit_builder.atomic import write_atomically
    from wit_builder.io.json_files import write_json
    from wit_builder.publish.card import dataset_card
    from wit_builder.publish.croissant import croissant
    from wit_builder.publish.facts import gather

    folder = folder.rstrip("/")
    facts = gather(folder, manifest, manifest.get("release") or {})
    write_json(f"{folder}/{CROISSANT}", croissant(facts), ensure_ascii=False)
    write_atomically(f"{folder}/{CARD}", dataset_card(facts))
