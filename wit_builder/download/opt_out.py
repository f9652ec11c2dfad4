"""What each machine-readable opt-out signal says about one URL: the rules, without the network.

The download stage honours every signal by default; ``--ignore-opt-out NAME,...`` switches some
off by name (``all`` for every one), and the settings record which were honoured. A URL refused
by a signal ends as ``opted_out``, with a ``Refusal`` saying which signal, where it came from and
the rule (``robots.txt http://h/robots.txt: Disallow: /img/``). The signals:

- ``robots`` (RFC 9309): the host's ``/robots.txt``, the group naming our product token, else
  ``*`` (parsed by protego). A 4xx means everything is allowed; a 5xx or an unreachable file
  means everything is disallowed, as the RFC says. ``Crawl-delay`` is a pause between requests
  to the host. Its ``Content-Usage`` lines are the ``content-usage`` signal's.
- ``x-robots-tag``: the response header's directives (``noai``, ``noimageai``, ``noml``...),
  unless addressed to another crawler (``otherbot: noai``).
- ``tdmrep`` (W3C TDMRep): the ``tdm-reservation: 1`` response header, and the host's
  ``/.well-known/tdmrep.json``, whose ``location`` patterns say which paths are reserved.
- ``content-usage`` (IETF AI preferences): a ``Content-Usage`` response header, or lines in
  robots.txt, as a Structured Fields dictionary. We train a model, so the preference that
  applies is the most specific one stated among ``train-ai`` and its parent ``bots`` (automated
  processing); ``n`` refuses. ``train-genai`` (generative training, a narrower use than ours)
  and ``search`` do not apply.
- ``ai-txt``: the host's ``/ai.txt``, robots-style rules over paths and file types
  (``Disallow: *.jpg``).

- ``meta``: the page's own ``<meta name="robots">`` (``noai``, ``noimageai``, ``noml``) or
  ``<meta name="tdm-reservation" content="1">``, read by harvest from the WAT record and
  carried with the pair (``page_opt_out``), so the image is refused without being requested.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

SIGNALS = ("robots", "x-robots-tag", "tdmrep", "content-usage", "ai-txt", "meta")
# X-Robots-Tag directives that carry a value after a colon, so "name:" is not a crawler's name.
VALUED_DIRECTIVES = ("unavailable_after", "max-snippet", "max-image-preview", "max-video-preview")
# The Content-Usage categories that cover training our model, most specific first.
TRAINING_CATEGORIES = ("train-ai", "bots")
# Host files are read up to this many bytes (RFC 9309 asks crawlers to parse at least 500 KiB).
HOST_FILE_LIMIT = 500 * 1024


def opt_out_signals(text: str) -> frozenset[str]:
    """``--ignore-opt-out``'s value: names separated by commas, or ``all``; an unknown name is a
    ValueError listing the known ones."""
    names = {part.strip().lower() for part in text.split(",") if part.strip()}
    if "all" in names:
        return frozenset(SIGNALS)
    unknown = sorted(names - set(SIGNALS))
    if unknown:
        raise ValueError(f"unknown opt-out signal {unknown[0]!r}; known: {', '.join(SIGNALS)} (or all)")
    return frozenset(names)


def directive_list(text: str) -> tuple[str, ...]:
    """``--x-robots-directives``' value: X-Robots-Tag directives separated by commas, lower-cased;
    an empty list is a ValueError (to honour none, ``--ignore-opt-out x-robots-tag``)."""
    names = tuple(dict.fromkeys(part.strip().lower() for part in text.split(",") if part.strip()))
    if not names:
        raise ValueError("no directive given; to honour none, use --ignore-opt-out x-robots-tag")
    if bad := [name for name in names if not name.replace("-", "").isalnum()]:
        raise ValueError(f"{bad[0]!r} is not an X-Robots-Tag directive name")
    return names


@dataclass(frozen=True)
class Refusal:
    """Why a URL may not be used: the signal, where it was found, and the rule."""

    signal: str
    source: str  # "robots.txt http://h/robots.txt", "X-Robots-Tag", "tdmrep.json http://h/.well-known/tdmrep.json"
    rule: str

    @property
    def evidence(self) -> str:
        """Where the signal was found and its rule, as the status row's ``evidence``."""
        return f"{self.source}: {self.rule}"

    def __str__(self) -> str:
        return self.evidence


def product_token(user_agent: str) -> str:
    """The crawler's name robots.txt groups address: the User-Agent up to its first "/"."""
    return user_agent.split("/", 1)[0].strip().lower()


def x_robots_tag_refusal(values: Iterable[str], user_agent: str, disallowed: Sequence[str]) -> Refusal | None:
    """The opt-out directive among ``X-Robots-Tag`` header values that applies to us, or None."""
    crawler = product_token(user_agent)
    for value in values:
        scope, colon, rest = value.partition(":")
        scope = scope.strip().lower()
        directives = value
        if colon and scope and " " not in scope and scope not in VALUED_DIRECTIVES and scope not in disallowed:
            if scope != crawler:
                continue  # addressed to another crawler
            directives = rest
        for directive in directives.split(","):
            if directive.strip().lower() in disallowed:
                return Refusal("x-robots-tag", "X-Robots-Tag", directive.strip().lower())
    return None


def tdm_header_refusal(value: str | None) -> Refusal | None:
    """The TDMRep ``tdm-reservation`` response header: ``1`` reserves the rights."""
    if value is not None and value.strip() == "1":
        return Refusal("tdmrep", "tdm-reservation header", "1")
    return None


def content_usage(value: str) -> dict[str, str] | None:
    """A ``Content-Usage`` value as {category: "y" or "n"}; None when it is not a Structured
    Fields dictionary (an unreadable preference is no preference)."""
    import http_sfv

    parsed = http_sfv.Dictionary()
    try:
        parsed.parse(value.encode("ascii", "replace"))
    except ValueError:
        return None
    preferences = {}
    for name, item in parsed.items():
        token = getattr(item, "value", None)
        if isinstance(token, str) and token in ("y", "n"):
            preferences[name] = token
    return preferences


def training_preference(preferences: dict[str, str]) -> tuple[str, str] | None:
    """The (category, "y"/"n") that decides for training a model, or None when none is stated."""
    for category in TRAINING_CATEGORIES:
        if category in preferences:
            return category, preferences[category]
    return None


def content_usage_refusal(value: str | None, source: str = "Content-Usage header") -> Refusal | None:
    if value is None:
        return None
    preferences = content_usage(value)
    decided = training_preference(preferences) if preferences else None
    if decided and decided[1] == "n":
        return Refusal("content-usage", source, f"{decided[0]}=n")
    return None


@dataclass(frozen=True)
class _Line:
    field: str
    value: str


def _directive_lines(text: str) -> list[_Line]:
    lines = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        name, colon, value = line.partition(":")
        if colon and name.strip():
            lines.append(_Line(name.strip().lower(), value.strip()))
    return lines


def _groups(lines: list[_Line]) -> list[tuple[list[str], list[_Line]]]:
    """robots.txt groups: (user agents, their rule lines); consecutive User-agent lines share one."""
    groups: list[tuple[list[str], list[_Line]]] = []
    agents: list[str] = []
    rules: list[_Line] = []
    for line in lines:
        if line.field == "user-agent":
            if rules:
                groups.append((agents, rules))
                agents, rules = [], []
            agents.append(line.value.lower())
        elif agents:
            rules.append(line)
    if agents:
        groups.append((agents, rules))
    return groups


def _our_group(groups: list[tuple[list[str], list[_Line]]], token: str) -> tuple[str, list[_Line]]:
    """The rules of the groups naming ``token`` (all of them, merged), else of ``*``'s."""
    named = [rules for agents, rules in groups if token in agents]
    if named:
        return token, [line for rules in named for line in rules]
    return "*", [line for agents, rules in groups if "*" in agents for line in rules]


@dataclass(frozen=True)
class PathPattern:
    """A robots.txt path pattern: ``*`` any run of characters, a final ``$`` the end of the
    path; otherwise it matches a prefix of the path. Matched by finding its pieces left to
    right, in time linear in the path, so a hostile pattern (``*a*a*a...``) cannot stall a
    worker as a backtracking regular expression would."""

    pieces: tuple[str, ...]
    anchored: bool

    @classmethod
    def of(cls, pattern: str) -> PathPattern:
        anchored = pattern.endswith("$")
        return cls(tuple(pattern.rstrip("$").split("*")), anchored)

    def match(self, path: str) -> bool:
        first, *rest = self.pieces
        if not path.startswith(first):
            return False
        if not rest:
            return not self.anchored or path == first
        position = len(first)
        *middle, last = rest
        for piece in middle:
            found = path.find(piece, position)
            if found < 0:
                return False
            position = found + len(piece)
        if self.anchored:
            return path.endswith(last) and len(path) - len(last) >= position
        return path.find(last, position) >= 0


def _longest_match(rules: list[tuple[str, PathPattern, str]], path: str) -> tuple[str, str] | None:
    """(allow or disallow, pattern) of the longest pattern matching ``path``; an Allow wins a
    tie (RFC 9309's rule)."""
    matching = [(len(pattern), kind == "allow", kind, pattern) for kind, regex, pattern in rules if regex.match(path)]
    if not matching:
        return None
    _, _, kind, pattern = max(matching)
    return kind, pattern


def _path_of(url: str) -> str:
    parts = urlsplit(url)
    return unquote(parts.path or "/") + (f"?{parts.query}" if parts.query else "")


@dataclass
class RobotsFile:
    """A host's robots.txt, read for one product token. ``status`` says how it was got:
    ``read`` (a 2xx), ``missing`` (a 4xx: everything allowed) or ``unreachable`` (a 5xx, a
    network failure: everything disallowed)."""

    url: str
    token: str
    status: str = "read"
    reason: str = ""
    _parser: object = None
    _group: str = "*"
    _rules: list[tuple[str, PathPattern, str]] = field(default_factory=list)  # (field, regex, pattern)
    _usage: list[tuple[str, dict[str, str], str]] = field(default_factory=list)  # (prefix, prefs, text)

    @classmethod
    def parse(cls, url: str, text: str, user_agent: str) -> RobotsFile:
        from protego import Protego

        token = product_token(user_agent)
        robots = cls(url, token, _parser=Protego.parse(text))
        group, lines = _our_group(_groups(_directive_lines(text)), token)
        robots._group = group
        for line in lines:
            if line.field in ("allow", "disallow") and line.value:
                robots._rules.append((line.field, PathPattern.of(line.value), line.value))
            elif line.field == "content-usage":
                scoped = line.value.startswith("/")
                prefix, _, preference = line.value.partition(" ") if scoped else ("/", "", line.value)
                prefs = content_usage(preference.strip())
                if prefs:
                    robots._usage.append((prefix, prefs, line.value))
        return robots

    @classmethod
    def unavailable(cls, url: str, user_agent: str, status: str, reason: str) -> RobotsFile:
        return cls(url, product_token(user_agent), status, reason)

    def refusal(self, url: str) -> Refusal | None:
        """Why robots.txt disallows ``url`` for us, or None."""
        source = f"robots.txt {self.url}"
        if self.status == "missing":
            return None
        if self.status == "unreachable":
            return Refusal("robots", source, f"unreachable ({self.reason}): everything disallowed")
        if self._parser.can_fetch(url, self.token):  # type: ignore[attr-defined]
            return None
        return Refusal("robots", source, self._deciding_rule(_path_of(url)))

    def _deciding_rule(self, path: str) -> str:
        """The rule protego applied: the longest matching pattern (an Allow wins a tie)."""
        deciding = _longest_match(self._rules, path)
        if deciding is None:
            return f"disallowed for User-agent: {self._group}"
        kind, pattern = deciding
        return f"{kind.capitalize()}: {pattern} (User-agent: {self._group})"

    def usage_refusal(self, url: str) -> Refusal | None:
        """A ``Content-Usage`` line of our group that says no to training for ``url``'s path."""
        path = _path_of(url)
        applying = [(len(prefix), prefs, text) for prefix, prefs, text in self._usage if path.startswith(prefix)]
        if not applying:
            return None
        _, prefs, text = max(applying, key=lambda rule: rule[0])
        decided = training_preference(prefs)
        if decided and decided[1] == "n":
            return Refusal("content-usage", f"robots.txt {self.url}", f"Content-Usage: {text}")
        return None

    def crawl_delay(self) -> float | None:
        if self._parser is None:
            return None
        return self._parser.crawl_delay(self.token)  # type: ignore[attr-defined]


@dataclass
class TdmRepFile:
    """A host's ``/.well-known/tdmrep.json``: a list of {``location``, ``tdm-reservation``}; the
    first location matching the path decides. A file that is absent or unreadable reserves
    nothing (TDMRep's rule)."""

    url: str
    rules: list[tuple[PathPattern, str, int]] = field(default_factory=list)  # (regex, location, reservation)

    @classmethod
    def parse(cls, url: str, text: str) -> TdmRepFile:
        try:
            entries = json.loads(text)
        except (ValueError, RecursionError):  # not JSON, or nested deeper than the parser goes
            return cls(url)
        rules = []
        for entry in entries if isinstance(entries, list) else []:
            if not isinstance(entry, dict) or not isinstance(entry.get("location"), str):
                continue
            location = entry["location"]
            reservation = entry.get("tdm-reservation")
            if reservation in (0, 1):
                path = location if location.startswith("/") else f"/{location}"
                rules.append((PathPattern.of(path), location, reservation))
        return cls(url, rules)

    def refusal(self, url: str) -> Refusal | None:
        path = _path_of(url)
        for regex, location, reservation in self.rules:
            if regex.match(path):
                if reservation == 1:
                    return Refusal("tdmrep", f"tdmrep.json {self.url}", f"{location} reserved")
                return None
        return None


@dataclass
class AiTxtFile:
    """A host's ``/ai.txt`` (robots.txt syntax, for AI use): its group for our token or ``*``;
    a pattern without a leading ``/`` (``*.jpg``) matches anywhere in the path."""

    url: str
    rules: list[tuple[str, PathPattern, str]] = field(default_factory=list)

    @classmethod
    def parse(cls, url: str, text: str, user_agent: str) -> AiTxtFile:
        _, lines = _our_group(_groups(_directive_lines(text)), product_token(user_agent))
        rules = []
        for line in lines:
            if line.field in ("allow", "disallow") and line.value:
                pattern = line.value if line.value.startswith("/") else f"/*{line.value}"
                rules.append((line.field, PathPattern.of(pattern), line.value))
        return cls(url, rules)

    def refusal(self, url: str) -> Refusal | None:
        path = _path_of(url)
        deciding = _longest_match(self.rules, path)
        if deciding is None:
            return None
        kind, pattern = deciding
        return Refusal("ai-txt", f"ai.txt {self.url}", f"Disallow: {pattern}") if kind == "disallow" else None
