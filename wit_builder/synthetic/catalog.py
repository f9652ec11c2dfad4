"""What the synthetic web holds: images (with their scripted faults) and the pages embedding them.

The catalogue is a pure function of the world's config. The server renders from it and the WAT
and URL-list writers describe it, so what a crawl file says is exactly what the server serves.
URLs depend on where the server listens, so they are rendered from a list of base URLs (one
per host) only when needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from html import escape

from wit_builder.synthetic.config import WorldConfig
from wit_builder.synthetic.opt_out_sites import META_FAULTS, OPT_OUT_FAULTS, SITES, site_host
from wit_builder.synthetic.scenes import Scene, make_scene
from wit_builder.synthetic.seeding import numpy_rng, python_rng

# Every scripted fault, what the server does, and the download status it should end in.
FAULTS: dict[str, tuple[str, str]] = {
    "not_found": ("404 Not Found", "http_error"),
    "server_error_then_ok": ("500 on the first request for the URL, 200 with the image after", "ok"),
    "rate_limited_then_ok": ("429 with Retry-After: 1 on the first request, 200 after", "ok"),
    "slow": ("waits the server's slow delay (default 3 s) before answering", "timeout"),
    "truncated": ("promises the full Content-Length, sends half the body, drops the connection", "http_error"),
    "broken_image": ("a complete HTTP body holding only the first 60% of the image file", "decode_error"),
    "wrong_type": ("an HTML document served as image/jpeg", "not_image"),
    "html": ("an HTML document served as text/html", "not_image"),
    "redirect": ("302 to the image's plain URL", "ok"),
    "redirect_loop": ("302 between two URLs forever", "http_error"),
    "noai": ("the image with X-Robots-Tag: noai, noimageai", "opted_out"),
    **OPT_OUT_FAULTS,  # every other opt-out signal (``opt_out_sites``)
}
SIZE_CLASSES = ("normal", "tiny", "huge")
EXTENSIONS = ("jpg", "png", "webp")


@dataclass(frozen=True)
class ImageEntry:
    image_id: int
    host: int
    extension: str
    width: int
    height: int
    fault: str | None
    size_class: str
    scene: Scene
    jitter: int = 0  # > 0: a near copy, the scene re-rendered (``scenes.render_scene``)
    copy_of: int | None = None  # a near copy's original image

    @property
    def name(self) -> str:
        return f"{self.image_id}.{self.extension}"

    @property
    def path(self) -> str:
        """The server path: ``/img/ID.EXT``, or ``/f/FAULT/ID.EXT`` for a scripted fault."""
        return f"/f/{self.fault}/{self.name}" if self.fault else f"/img/{self.name}"

    def url(self, base_urls: list[str]) -> str:
        return base_urls[self.host] + self.path

    @property
    def caption(self) -> str:
        return self.scene.caption


# How a page's <img src> refers to an image; each resolves to the image's URL.
SRC_FORMS = ("relative", "root_relative", "absolute", "protocol_relative", "base_relative")


@dataclass(frozen=True)
class PageImage:
    """One ``<img>`` on a page: an image of the catalogue (or a ``data:`` placeholder) and its alt.

    ``alt`` is the attribute as the HTML source writes it, entities included (``&amp;``), which
    is also what a WAT record carries.
    """

    image_id: int | None
    src_form: str
    alt: str


@dataclass(frozen=True)
class WebPage:
    page_id: int
    host: int
    title: str
    images: tuple[PageImage, ...]
    uses_base: bool
    metas: tuple[tuple[str, str], ...] = ()  # (name, content) of <meta> tags beyond the usual

    @property
    def path(self) -> str:
        return f"/pages/{self.page_id}.html"

    def url(self, base_urls: list[str]) -> str:
        return base_urls[self.host] + self.path

    def base_href(self, base_urls: list[str]) -> str | None:
        return f"{base_urls[self.host]}/img/" if self.uses_base else None


DATA_URI = "data:image/gif;base64,R0lGODlhAQABAAAAACw="
JUNK_ALTS = ("", "IMG_0042", "logo", "click here", "   ", "spacer")


class WebCatalog:
    """Images and pages of the synthetic web, built deterministically from the config."""

    def __init__(self, config: WorldConfig, article_titles: list[str]):
        self.config = config
        self.article_titles = article_titles

    @property
    def host_count(self) -> int:
        """The ordinary hosts, then one per opt-out site (``opt_out_sites.SITES``)."""
        return self.config.hosts + len(SITES)

    @cached_property
    def images(self) -> list[ImageEntry]:
        config = self.config
        rng = python_rng(config.seed, "catalog", "images")
        order = list(range(config.images))
        rng.shuffle(order)
        n_faulty = min(config.images, max(len(FAULTS), round(config.fault_share * config.images)))
        fault_names = list(FAULTS)
        fault_of = {image_id: fault_names[k % len(fault_names)] for k, image_id in enumerate(order[:n_faulty])}
        entries = []
        for image_id in range(config.images):
            roll = rng.random()
            size_class = "tiny" if roll < 0.04 else "huge" if roll < 0.055 else "normal"
            if size_class == "tiny":
                width, height = rng.randint(8, 24), rng.randint(8, 24)
            elif size_class == "huge":
                width, height = rng.randint(2500, 4000), rng.randint(2500, 4000)
            else:
                width, height = rng.randint(160, 640), rng.randint(160, 640)
            extension = rng.choices(EXTENSIONS, weights=(70, 20, 10))[0]
            fault = fault_of.get(image_id)
            site = site_host(fault, config.hosts)
            entries.append(
                ImageEntry(
                    image_id=image_id,
                    host=image_id % config.hosts if site is None else site,
                    extension=extension,
                    width=width,
                    height=height,
                    fault=fault,
                    size_class=size_class,
                    scene=make_scene(config.seed, image_id),
                )
            )
        return entries + self._near_copies(entries)

    def _near_copies(self, originals: list[ImageEntry]) -> list[ImageEntry]:
        """``near_copy_groups`` originals (plain, normal-sized), each re-rendered
        ``near_copies`` times under new ids after every original: JPEGs on the ordinary hosts."""
        config = self.config
        if not config.near_copy_groups:
            return []
        rng = python_rng(config.seed, "catalog", "near-copies")
        plain = [image for image in originals if image.fault is None and image.size_class == "normal"]
        chosen = sorted(rng.sample(plain, min(config.near_copy_groups, len(plain))), key=lambda image: image.image_id)
        copies = []
        for original in chosen:
            for k in range(config.near_copies):
                image_id = len(originals) + len(copies)
                copies.append(
                    ImageEntry(image_id, image_id % config.hosts, "jpg", original.width, original.height, None,
                               "normal", original.scene, jitter=original.image_id * 1000 + k + 1,
                               copy_of=original.image_id)
                )  # fmt: skip
        return copies

    @cached_property
    def misaligned(self) -> dict[int, str]:
        """Image id → the misaligned caption every alt text and list row gives it, for a
        ``misaligned_share`` of the plain images (not near copies nor their originals): most
        often another scene's caption, else a generic line or a product code around a word
        of its own caption (so the harvest still matches it)."""
        config = self.config
        if not config.misaligned_share:
            return {}
        rng = python_rng(config.seed, "catalog", "misaligned")
        images = self.images
        grouped = {image.copy_of for image in images if image.copy_of is not None}
        candidates = [i for i in images if i.fault is None and i.copy_of is None and i.image_id not in grouped]
        chosen = rng.sample(candidates, round(config.misaligned_share * len(candidates)))
        captions = {}
        for image in chosen:
            roll = rng.random()
            word = rng.choice([group.colour for group in image.scene.groups])
            if roll < 0.7:
                other = rng.choice(candidates)
                while other.scene.groups == image.scene.groups:
                    other = rng.choice(candidates)
                captions[image.image_id] = other.caption
            elif roll < 0.85:
                captions[image.image_id] = f"click here for more {word} deals and offers"
            else:
                captions[image.image_id] = f"SKU {rng.randint(10000, 99999)}-{word.upper()} in stock"
        return captions

    def shown_caption(self, image: ImageEntry) -> str:
        """The English caption the web gives an image: its scene's, or its misaligned one."""
        return self.misaligned.get(image.image_id, image.caption)

    def caption_language(self, image: ImageEntry) -> str | None:
        """The language of a worldwide world's image's alt texts (``WorldConfig.languages``), or
        None for English; decided by the image alone, so its alts agree and English worlds'
        random draws are untouched."""
        languages = self.config.languages
        if not languages:
            return None
        draw = python_rng(self.config.seed, "caption-language", image.image_id).random()
        if draw >= self.config.foreign_alt_share:
            return None
        return languages[image.image_id % len(languages)]

    def caption_in_its_language(self, image: ImageEntry) -> str:
        """The caption an image's alts and list rows give: English, or in a worldwide world
        its caption language's (``caption_language``)."""
        lang = self.caption_language(image)
        if lang is None:
            return self.shown_caption(image)
        from wit_builder.synthetic.languages import foreign_caption

        return foreign_caption(image.scene, lang)

    def _alt_text(self, image: ImageEntry, rng) -> str:
        """Mostly the caption; sometimes junk, a title-prefixed caption, entities or odd spacing.
        In a worldwide world, a share of images have every alt in one of its other languages."""
        roll = rng.random()
        if self.caption_language(image) is not None and roll >= 0.08:
            return self.caption_in_its_language(image)
        caption = self.shown_caption(image)
        if roll < 0.08:
            return rng.choice(JUNK_ALTS)
        if roll < 0.16:
            return f"{rng.choice(self.article_titles)}: {caption}"
        if roll < 0.20:
            return caption.replace(" and ", " &amp; ")
        if roll < 0.24:
            return "  " + caption.replace(" ", "\n ", 2) + "  "
        return caption

    @cached_property
    def pages(self) -> list[WebPage]:
        config = self.config
        rng = python_rng(config.seed, "catalog", "pages")
        # Popular images appear on many pages (Zipf), as logos and stock photos do.
        popularity = numpy_rng(config.seed, "catalog", "popularity")
        weights = 1.0 / (popularity.permutation(config.images) + 1.0) ** 0.8
        weights /= weights.sum()
        pages = []
        for page_id in range(config.web_pages):
            count = rng.randint(max(1, config.images_per_page // 2), config.images_per_page * 3 // 2)
            chosen = popularity.choice(config.images, size=count, p=weights)
            uses_base = rng.random() < 0.15
            images = []
            for image_id in chosen:
                image = self.images[int(image_id)]
                if image.fault in META_FAULTS:
                    continue  # only on its own page, below
                form = "base_relative" if uses_base else rng.choice(SRC_FORMS[:-1])
                images.append(PageImage(image.image_id, form, self._alt_text(image, rng)))
            if rng.random() < 0.3:  # a lazy-loading placeholder, as many real pages have
                images.insert(0, PageImage(None, "data", "loading"))
            pages.append(
                WebPage(page_id, page_id % config.hosts, rng.choice(self.article_titles), tuple(images), uses_base)
            )
        for fault, (_, _, meta) in META_FAULTS.items():  # a page of its own per page-level opt-out
            images = tuple(
                PageImage(image.image_id, "absolute", self._alt_text(image, rng))
                for image in self.images
                if image.fault == fault
            )
            title = rng.choice(self.article_titles)
            pages.append(WebPage(len(pages), 0, title, images, uses_base=False, metas=(meta,)))
        return pages

    def src(self, page: WebPage, item: PageImage, base_urls: list[str]) -> str:
        """The ``src`` attribute exactly as the page's HTML writes it."""
        if item.image_id is None:
            return DATA_URI
        image = self.images[item.image_id]
        if image.host != page.host or item.src_form == "absolute":
            return image.url(base_urls)
        if item.src_form == "base_relative":  # resolves against <base href=".../img/">
            return image.path.removeprefix("/img/") if not image.fault else image.path
        if item.src_form == "protocol_relative":
            return "//" + image.url(base_urls).split("://", 1)[1]
        if item.src_form == "relative":
            return ".." + image.path
        return image.path

    def page_html(self, page: WebPage, base_urls: list[str]) -> str:
        base = page.base_href(base_urls)
        head = f'<base href="{escape(base)}">' if base else ""
        head += "".join(f'<meta name="{escape(name)}" content="{escape(content)}">' for name, content in page.metas)
        others = [(page.page_id + k) % self.config.web_pages for k in (1, 7)]
        body = "\n".join(
            f'<figure><img src="{escape(self.src(page, item, base_urls))}" alt="{item.alt}"></figure>'
            for item in page.images
        )
        links = " ".join(f'<a href="/pages/{other}.html">page {other}</a>' for other in others)
        return (
            f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>{escape(page.title)}</title>{head}</head>\n'
            f"<body><h1>{escape(page.title)}</h1>\n{body}\n<p>{links}</p></body></html>\n"
        )

    def expected_image_urls(self, base_urls: list[str]) -> dict[str, ImageEntry]:
        """Every image URL the pages refer to, resolved, mapped to its image."""
        return {image.url(base_urls): image for image in self.images}
