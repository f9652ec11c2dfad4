"""``croissant.json``: the shard set as Croissant 1.1 (MLCommons), with the Responsible-AI
vocabulary (RAI 1.0) filled from what the chain recorded.

- **distribution**: every tar and every index Parquet file, with its SHA-256 and size, and
  a FileSet per kind (the indexes; the images inside the tars);
- **recordSet** ``samples``: one record per sample, read through the index files: its key,
  caption, language, matched queries and the other ``KEY.json`` fields, each typed;
- **recordSet** ``images``: each tar member image, its key taken from the member's name, so
  it joins ``samples`` on ``key``;
- **RAI**: the collection (sources, crawls, opt-out signals honoured and their counts), the
  preprocessing (query list, caps, dedup, filters with counts), personal and sensitive
  information (faces blurred; blocklists by name and count, never their contents), biases
  (each language's head and tail share of the query matches), limitations, maintenance.

Nothing in it depends on the machine or the time it was written, so two runs over the same
data write the same bytes.
"""

from __future__ import annotations

from wit_builder import __version__
from wit_builder.publish.facts import ReleaseFacts
from wit_builder.publish.rai_text import rai_properties

CONFORMS_TO = "http://mlcommons.org/croissant/1.1"
RAI_CONFORMS_TO = "http://mlcommons.org/croissant/RAI/1.0"

CONTEXT = {
    "@language": "en",
    "@vocab": "https://schema.org/",
    "citeAs": "cr:citeAs",
    "column": "cr:column",
    "conformsTo": "dct:conformsTo",
    "containedIn": "cr:containedIn",
    "cr": "http://mlcommons.org/croissant/",
    "rai": "http://mlcommons.org/croissant/RAI/",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "dct": "http://purl.org/dc/terms/",
    "equivalentProperty": "cr:equivalentProperty",
    "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract",
    "field": "cr:field",
    "fileProperty": "cr:fileProperty",
    "fileObject": "cr:fileObject",
    "fileSet": "cr:fileSet",
    "format": "cr:format",
    "includes": "cr:includes",
    "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath",
    "key": "cr:key",
    "md5": "cr:md5",
    "parentField": "cr:parentField",
    "path": "cr:path",
    "recordSet": "cr:recordSet",
    "references": "cr:references",
    "regex": "cr:regex",
    "repeated": "cr:repeated",
    "replace": "cr:replace",
    "samplingRate": "cr:samplingRate",
    "sc": "https://schema.org/",
    "separator": "cr:separator",
    "source": "cr:source",
    "subField": "cr:subField",
    "transform": "cr:transform",
}

# The index columns a record carries, with their Croissant types and what they hold.
SAMPLE_FIELDS = (
    (
        "key",
        "sc:Text",
        "The sample's key: its members in the tars are KEY.jpg (or another image type), KEY.json, KEY.txt.",
    ),
    ("uid", "sc:Text", "A hash of the normalised image URL: the pair's identity across stages and releases."),
    ("url", "sc:URL", "Where the image was fetched from."),
    ("text", "sc:Text", "The caption (alt text) that matched a query."),
    ("page_url", "sc:URL", "The page the image was found on, where known."),
    ("source", "sc:Text", "The WAT file or pair list the pair was harvested from."),
    ("lang", "sc:Text", "The caption's language (ISO 639-1), where identified."),
    ("image_format", "sc:Text", "The stored image's format."),
    ("width", "sc:Integer", "The stored image's width in pixels."),
    ("height", "sc:Integer", "The stored image's height in pixels."),
    ("original_width", "sc:Integer", "The image's width as fetched."),
    ("original_height", "sc:Integer", "The image's height as fetched."),
    ("sha256", "sc:Text", "SHA-256 of the stored image's bytes."),
    ("phash", "sc:Integer", "The image's 64-bit perceptual hash (DCT), as a signed integer."),
    ("faces_blurred", "sc:Integer", "How many faces were blurred in the image, where face blurring ran."),
    ("fetched_at", "sc:Text", "When the image was fetched (UTC, ISO 8601)."),
    ("body_sha256", "sc:Text", "SHA-256 of the bytes the URL served, before decoding."),
    ("consent", "sc:Text", "The host files that allowed the fetch, as JSON: file, url, outcome, sha256, fetched_at."),
)
MEDIA_TYPES = {"jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp"}


def croissant(facts: ReleaseFacts) -> dict:
    """The Croissant document of the shard set ``facts`` describes."""
    release = facts.release
    document = {
        "@context": CONTEXT,
        "@type": "sc:Dataset",
        "name": facts.name,
        "description": _description(facts),
        "conformsTo": [CONFORMS_TO, RAI_CONFORMS_TO],
        "license": release.get("license") or "unknown",
        "version": release.get("version") or "1.0.0",
        "creator": {"@type": "sc:Organization", "name": f"wit-builder {__version__}"},
        "keywords": ["image-text pairs", "CLIP", "WebDataset", "web crawl"],
        "inLanguage": sorted(facts.languages),
        "distribution": _distribution(facts),
        "recordSet": [_samples_record_set(facts.index_columns), _images_record_set(facts)],
        **rai_properties(facts),  # each from a stage's record; a stage not recorded says so
    }
    if release.get("citation"):
        document["citeAs"] = release["citation"]
    if facts.base_url:  # where it is served; a folder not yet published has no URL to give
        document["url"] = facts.base_url
    return document


def _description(facts: ReleaseFacts) -> str:
    languages = ", ".join(f"{lang} {lf.samples:,}" for lang, lf in facts.languages.items())
    return (
        f"{facts.samples:,} image-text pairs in {len(facts.tars):,} WebDataset tar shards, collected with "
        f"wit-builder {__version__}: web images whose caption contains a query from a Wikipedia-derived list, "
        f"capped per query, downloaded, verified and deduplicated. Captions by language: {languages}."
    )


def _url(facts: ReleaseFacts, name: str) -> str:
    return f"{facts.base_url.rstrip('/')}/{name}" if facts.base_url else name


def _distribution(facts: ReleaseFacts) -> list[dict]:
    files = [
        {
            "@type": "cr:FileObject",
            "@id": f"tar/{tar.name}",
            "name": tar.name,
            "description": f"WebDataset shard: {tar.samples:,} samples",
            "contentUrl": _url(facts, tar.name),
            "contentSize": f"{tar.bytes} B",
            "encodingFormat": "application/x-tar",
            "sha256": tar.sha256,
        }
        for tar in facts.tars
    ]
    files += [
        {
            "@type": "cr:FileObject",
            "@id": f"index/{index.name}",
            "name": index.name,
            "description": f"Parquet index of {index.name.removesuffix('.parquet')}.tar: one row a sample",
            "contentUrl": _url(facts, index.name),
            "contentSize": f"{index.bytes} B",
            "encodingFormat": "application/x-parquet",
            "sha256": index.sha256,
        }
        for index in facts.indexes
    ]
    files.append(
        {
            "@type": "cr:FileSet",
            "@id": "indexes",
            "name": "indexes",
            "description": "The shards' Parquet indexes (the index files above), read beside this file",
            "encodingFormat": "application/x-parquet",
            "includes": "[0-9]*.parquet",
        }
    )
    for extension in sorted({_extension(f) for f in facts.image_formats}):
        files.append(
            {
                "@type": "cr:FileSet",
                "@id": f"images-{extension}",
                "name": f"images-{extension}",
                "description": f"The {extension} images inside the tars",
                "containedIn": [{"@id": f"tar/{tar.name}"} for tar in facts.tars],
                "encodingFormat": MEDIA_TYPES.get(extension, f"image/{extension}"),
                "includes": f"*.{extension}",
            }
        )
    return files


def _extension(image_format: str) -> str:
    return {"jpeg": "jpg"}.get(image_format.lower(), image_format.lower())


def _samples_record_set(columns: frozenset[str]) -> dict:
    """The index columns the files hold (``lang`` and ``faces_blurred`` only where a stage wrote
    them), each a field."""
    fields = [
        {
            "@type": "cr:Field",
            "@id": f"samples/{name}",
            "name": name,
            "description": description,
            "dataType": data_type,
            "source": {"fileSet": {"@id": "indexes"}, "extract": {"column": name}},
        }
        for name, data_type, description in SAMPLE_FIELDS
        if name in columns
    ]
    fields.insert(
        6,
        {
            "@type": "cr:Field",
            "@id": "samples/matches",
            "name": "matches",
            "description": "The queries the caption matched.",
            "dataType": "sc:Text",
            "repeated": True,
            "source": {"fileSet": {"@id": "indexes"}, "extract": {"column": "matches"}},
        },
    )
    return {
        "@type": "cr:RecordSet",
        "@id": "samples",
        "name": "samples",
        "description": "One record per sample, read through the shards' index files.",
        "key": {"@id": "samples/key"},
        "field": fields,
    }


def _images_record_set(facts: ReleaseFacts) -> dict:
    extension = _extension(next(iter(facts.image_formats), "jpg"))
    return {
        "@type": "cr:RecordSet",
        "@id": "images",
        "name": "images",
        "description": f"The {extension} images inside the tars, keyed as the samples are.",
        "field": [
            {
                "@type": "cr:Field",
                "@id": "images/key",
                "name": "key",
                "dataType": "sc:Text",
                "references": {"field": {"@id": "samples/key"}},
                "source": {
                    "fileSet": {"@id": f"images-{extension}"},
                    "extract": {"fileProperty": "filename"},
                    "transform": {"regex": r"^([^.]+)"},  # the member's name up to its extension
                },
            },
            {
                "@type": "cr:Field",
                "@id": "images/image",
                "name": "image",
                "dataType": "sc:ImageObject",
                "source": {"fileSet": {"@id": f"images-{extension}"}, "extract": {"fileProperty": "content"}},
            },
        ],
    }
