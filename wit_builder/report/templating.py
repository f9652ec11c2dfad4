"""The report pages' templates (``report/templates/``, Jinja2): the pages are computed in Python
and rendered here, so what a page says and how it looks are kept apart. Every value is escaped
unless it is ``Markup`` (the SVG charts, a section's rendered HTML)."""

from __future__ import annotations

import functools
from importlib import resources
from typing import Any

import jinja2
from markupsafe import Markup

from wit_builder.wording import counted

__all__ = ["Markup", "render", "style"]


@functools.cache
def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("wit_builder.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,  # a name the page lacks is an error, not a blank
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters["counted"] = counted  # {{ n|counted("pair") }}: "1 pair", "2 pairs"
    return environment


def render(template: str, **context: Any) -> str:
    return _environment().get_template(template).render(**context)


@functools.cache
def style() -> str:
    """The pages' shared CSS, inlined in each page so it opens offline."""
    return resources.files("wit_builder.report").joinpath("templates/style.css").read_text(encoding="utf-8")
