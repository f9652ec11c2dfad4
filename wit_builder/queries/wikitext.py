"""Wikitext to plain prose: mwparserfromhell's tokenizer, read as a stream.

What produces tokens: prose, headings, bold and italic text, and the visible text of internal
links (``[[Target|shown text]]`` gives "shown text", ``[[Target]]`` gives "Target").
What does not: templates and infoboxes (parameters included), ``<ref>`` and other invisible
tags (math, gallery, code, ...), tables, file/image/media links with their captions, category
links, interlanguage links (``[[fr:Titre]]``), comments and behaviour switches (``__NOTOC__``).

Why a stream: mwparserfromhell parses in two steps, a C tokenizer (about 13 MB/s per core) and
a Python builder that turns its flat token list into a tree of node objects (about 3 MB/s),
which ``strip_code`` then walks. The tree is thrown away at once, so this module walks the
token list itself, the way the builder does, and writes each construct's visible text as it
closes. The rules are the tree's, construct for construct (``Node.__strip__`` and
``Wikicode.strip_code(normalize=True, collapse=True)``, after dropping the non-prose nodes
at the depths the tree path reached), so the prose is the same string: a test holds the two
equal on the synthetic dumps and on mwparserfromhell's own test corpus.
"""

from __future__ import annotations

import html.entities
import re
from collections.abc import Callable

from mwparserfromhell.definitions import is_visible
from mwparserfromhell.parser import tokens as tk
from mwparserfromhell.parser.builder import Builder

try:  # the C tokenizer ships in mwparserfromhell's wheels; the pure-Python one gives the same tokens
    from mwparserfromhell.parser._tokenizer import CTokenizer as _Tokenizer
except ImportError:  # pragma: no cover
    from mwparserfromhell.parser.tokenizer import Tokenizer as _Tokenizer

# Tags whose content is not prose. mwparserfromhell already hides a few (math, gallery, ...)
# as invisible; the rest would leak code, formulas, references or gallery captions.
NON_PROSE_TAGS = frozenset(
    "ref references gallery math chem ce code pre source syntaxhighlight score timeline graph "
    "mapframe maplink templatestyles imagemap hiero inputbox poem table".split()
)
# Namespaces in any case; interlanguage prefixes ("fr:", "zh-yue:") in lower case only, so an
# article such as [[Ego: The Story]] keeps its link text.
NON_PROSE_LINK = re.compile(
    r"^\s*(?:(?i:file|image|media|category|wikt|wiktionary|commons)|[a-z]{2,3}(?:-[a-z]{2,8})?)\s*:"
)
# __NOTOC__, __NOEDITSECTION__, ...: mwparserfromhell leaves them as text.
BEHAVIOUR_SWITCH = re.compile(r"__[A-Z]+__")

_TEXT = tk.Text


def _collapse(parts: list[str]) -> str:
    """One level's text as ``Wikicode.strip_code(collapse=True)`` gives it: newlines trimmed at
    both ends, three or more in a row cut to two."""
    text = "".join(parts).strip("\n")
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text


class _ProseWriter:
    """One page's token list, read once from the front. Each ``_read_*`` method starts after a
    construct's opening token, consumes up to and including its closing one, and returns the
    construct's visible text ("" for none). ``prune`` says whether non-prose tags and links
    are dropped here: the tree path dropped them under headings, link text and titles, tag
    contents and bracketed link titles, but never inside template arguments' defaults or link
    URLs, so neither does this."""

    def __init__(self, tokens: list) -> None:
        self.tokens = tokens
        self.at = 0
        self.readers: dict[type, Callable[[bool], str]] = {
            tk.TemplateOpen: self._skip_template,
            tk.ArgumentOpen: self._read_argument,
            tk.WikilinkOpen: self._read_wikilink,
            tk.ExternalLinkOpen: self._read_external_link,
            tk.HTMLEntityStart: self._read_entity,
            tk.HeadingStart: self._read_heading,
            tk.CommentStart: self._skip_comment,
            tk.TagOpenOpen: self._read_tag,
        }

    def prose(self) -> str:
        parts = []
        tokens, readers, end = self.tokens, self.readers, len(self.tokens)
        while self.at < end:
            token = tokens[self.at]
            self.at += 1
            if type(token) is _TEXT:
                parts.append(token["text"])
            else:
                parts.append(readers[type(token)](True))
        return _collapse(parts)

    def _read_until(self, stops: tuple[type, ...], prune: bool) -> tuple[list[str], type]:
        """The visible text of each node up to the first token of a ``stops`` type at this level,
        which is consumed and returned with the parts."""
        parts = []
        tokens, readers = self.tokens, self.readers
        while True:
            token = tokens[self.at]
            self.at += 1
            kind = type(token)
            if kind is _TEXT:
                parts.append(token["text"])
            elif kind in stops:
                return parts, kind
            else:
                parts.append(readers[kind](prune))

    def _source(self, start: int, end: int) -> str:
        """The wikitext of tokens[start:end] as the tree prints it: plain text joined, anything
        else (a rare template in a link title or tag name) built by mwparserfromhell itself."""
        span = self.tokens[start:end]
        if all(type(token) is _TEXT for token in span):
            return "".join(token["text"] for token in span)
        return str(Builder().build(list(span)))

    def _skip_template(self, prune: bool) -> str:
        """Templates are dropped whole, parameters included. The token list is well nested, so
        the matching close is where the count of open templates returns to zero."""
        tokens, depth = self.tokens, 1
        while depth:
            kind = type(tokens[self.at])
            self.at += 1
            if kind is tk.TemplateOpen:
                depth += 1
            elif kind is tk.TemplateClose:
                depth -= 1
        return ""

    def _skip_comment(self, prune: bool) -> str:
        while type(self.tokens[self.at]) is not tk.CommentEnd:
            self.at += 1
        self.at += 1
        return ""

    def _read_argument(self, prune: bool) -> str:
        """``{{{name|default}}}`` shows its default; the tree never pruned inside it."""
        default = None
        while True:
            parts, stop = self._read_until((tk.ArgumentSeparator, tk.ArgumentClose), False)
            if stop is tk.ArgumentClose:
                return _collapse(parts) if default is not None else ""
            default = True

    def _read_wikilink(self, prune: bool) -> str:
        """``[[title|text]]`` shows its text, or its title; file, category and interlanguage
        links show nothing. As in the builder, the title is the part before the last bar."""
        segments = []  # (first token, end token, visible parts) of each part between bars
        while True:
            start = self.at
            parts, stop = self._read_until((tk.WikilinkSeparator, tk.WikilinkClose), prune)
            segments.append((start, self.at - 1, parts))
            if stop is tk.WikilinkClose:
                break
        title_start, title_end, _ = segments[-2] if len(segments) > 1 else segments[0]
        if prune and NON_PROSE_LINK.match(self._source(title_start, title_end)):
            return ""
        return _collapse(segments[-1][2])

    def _read_external_link(self, prune: bool) -> str:
        """``[url title]`` shows its title (nothing without one); a bare URL shows itself. The
        tree pruned the title but never the URL."""
        brackets = self.tokens[self.at - 1]["brackets"]
        url = title = None
        parts_prune = False
        while True:
            parts, stop = self._read_until((tk.ExternalLinkSeparator, tk.ExternalLinkClose), parts_prune)
            if stop is tk.ExternalLinkClose:
                if url is None:
                    url = parts
                else:
                    title = parts
                break
            url, parts_prune = parts, prune
        if brackets:
            return _collapse(title) if title is not None else ""
        return _collapse(url)

    def _read_entity(self, prune: bool) -> str:
        """``&amp;``, ``&#931;``, ``&#x3a3;`` as the character they name."""
        tokens = self.tokens
        token = tokens[self.at]
        if type(token) is tk.HTMLEntityNumeric:
            token = tokens[self.at + 1]
            if type(token) is tk.HTMLEntityHex:
                value = chr(int(tokens[self.at + 2]["text"], 16))
                self.at += 4
            else:
                value = chr(int(token["text"]))
                self.at += 3
            return value
        self.at += 2
        return chr(html.entities.name2codepoint[token["text"]])

    def _read_heading(self, prune: bool) -> str:
        parts, _ = self._read_until((tk.HeadingEnd,), prune)
        return _collapse(parts)

    def _read_tag(self, prune: bool) -> str:
        """``<tag attrs>contents</tag>`` and wiki markup (bold, italics, lists, tables) shows
        its contents, unless the tag is invisible or not prose; attributes show nothing."""
        name_start, name_end = self.at, None
        contents = None
        while True:
            _name, stop = self._read_until(
                (tk.TagAttrStart, tk.TagCloseOpen, tk.TagCloseSelfclose, tk.TagOpenClose, tk.TagCloseClose),
                prune,
            )
            if name_end is None:
                name_end = self.at - 1
            if stop is tk.TagAttrStart:
                self._skip_attribute()
            elif stop is tk.TagCloseOpen:
                contents_parts, _ = self._read_until((tk.TagOpenClose,), prune)
                contents = contents_parts
                self._read_until((tk.TagCloseClose,), prune)  # the closing tag's name
                break
            else:
                break
        if contents is None:
            return ""
        name = self._source(name_start, name_end)
        if prune and name.strip().lower() in NON_PROSE_TAGS:
            return ""
        return _collapse(contents) if is_visible(name) else ""

    def _skip_attribute(self) -> None:
        """An attribute's name and value, up to (not including) the next attribute or the end
        of the opening tag."""
        tokens, readers = self.tokens, self.readers
        stops = (tk.TagAttrStart, tk.TagCloseOpen, tk.TagCloseSelfclose)
        while True:
            kind = type(tokens[self.at])
            if kind in stops:
                return
            self.at += 1
            if kind is not _TEXT and kind is not tk.TagAttrEquals and kind is not tk.TagAttrQuote:
                readers[kind](False)


def wikitext_to_prose(wikitext: str) -> str:
    """The readable prose of an article's wikitext, one paragraph or heading per line."""
    tokens = _Tokenizer().tokenize(BEHAVIOUR_SWITCH.sub(" ", wikitext), 0, False)
    return _ProseWriter(tokens).prose()
