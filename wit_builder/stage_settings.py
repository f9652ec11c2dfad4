"""A stage's settings as one typed dataclass: defaults, types and help are written once, there.

The command-line flags (``add_flags``), the settings from parsed flags (``from_flags``) and the
settings from a TOML table of ``wit-builder run`` (``from_table``) are all derived from it, so a
default cannot differ between the command line and a config, and a field cannot be filled by
position (the dataclasses are keyword-only).

A field becomes a flag when it is declared with ``option(...)``; a field whose type is itself a
settings dataclass (a stage's rules, say) contributes its own options, flattened, so a stage's
rules can be built and reused without its inputs. The flag of field ``min_text_chars`` is
``--min-text-chars`` and its config key is ``min_text_chars``; a boolean whose default is True
takes the name of the flag that turns it off (``--no-dedupe`` sets ``dedupe`` to False).

Types understood: ``int``, ``float``, ``str``, ``bool``, ``X | None``, and ``tuple[str, ...]``
(a flag that may repeat, or a TOML list). Anything else is read by the option's ``parse``
function from the flag's text (``"64MiB"``, ``"jpg,png"``), which a config may also give.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import types
import typing
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from wit_builder.errors import UsageError

_KEY = "wit_builder_option"


class SettingsError(UsageError):
    """A setting that cannot be used, with the flag or config key that holds it."""


@dataclasses.dataclass(frozen=True)
class Option:
    """How a settings field appears on the command line and in a config."""

    help: str
    flag: str | None = None  # the flag's name without "--" (default: from the field's name)
    metavar: str | None = None
    group: str | None = None  # the help section it is listed under
    choices: tuple[str, ...] | None = None
    parse: Callable[[str], Any] | None = None  # text (flag or config) to the field's value
    shown: str | None = None  # how the default is shown in help, when repr-like text misleads
    exclusive: str | None = None  # options sharing this name may not be given together
    role: str | None = None  # "input" (a path the stage reads) or "out" (the folder it writes)
    low: float | None = None  # a number's smallest value (every number option has both bounds)
    high: float | None = None  # its largest (math.inf: no limit, and inf itself is allowed)
    bare: str | None = None  # the value of the flag given without one, and of ``true`` in a config


def option(default: Any = dataclasses.MISSING, *, help: str, **how: Any) -> Any:
    """A settings field with a flag; without a default, the flag is required."""
    return dataclasses.field(default=default, metadata={_KEY: Option(help=help, **how)})


def nested(cls: type, *, group: str | None = None) -> Any:
    """A nested settings dataclass (its defaults), whose options are listed under ``group``."""
    return dataclasses.field(default_factory=cls, metadata={_KEY: group})


class Settings:
    """The base of every settings dataclass: its options' bounds hold however it is built (from
    flags, from a config table, or in code), checked in ``__post_init__``. A subclass with a
    ``__post_init__`` of its own calls this one."""

    def __post_init__(self) -> None:
        hints = typing.get_type_hints(type(self))
        for field in dataclasses.fields(self):  # type: ignore[arg-type]
            how = field.metadata.get(_KEY)
            value = getattr(self, field.name)
            if isinstance(how, Option) and value is not None:
                try:
                    within_bounds(how, _unwrap_optional(hints[field.name])[0], value)
                except ValueError as error:
                    raise ValueError(f"--{(how.flag or field.name).replace('_', '-')}: {error}") from None


@dataclasses.dataclass(frozen=True)
class _Flag:
    path: tuple[str, ...]  # field names from the stage's settings down to this one
    field: dataclasses.Field
    kind: Any  # the field's type without "| None"
    optional: bool
    how: Option
    group: str | None

    @property
    def key(self) -> str:
        return (self.how.flag or self.field.name.replace("_", "-")).replace("-", "_")

    @property
    def name(self) -> str:
        return "--" + self.key.replace("_", "-")

    @property
    def required(self) -> bool:
        return self.field.default is dataclasses.MISSING and self.field.default_factory is dataclasses.MISSING

    @property
    def default(self) -> Any:
        if self.field.default is not dataclasses.MISSING:
            return self.field.default
        if self.field.default_factory is not dataclasses.MISSING:
            return self.field.default_factory()
        return None

    @property
    def repeats(self) -> bool:
        return typing.get_origin(self.kind) is tuple and self.how.parse is None

    @property
    def switch(self) -> bool:
        return self.kind is bool


def _unwrap_optional(kind: Any) -> tuple[Any, bool]:
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        arguments = [a for a in typing.get_args(kind) if a is not type(None)]
        if len(arguments) == 1:
            return arguments[0], True
    return kind, False


def flags_of(cls: type, path: tuple[str, ...] = (), group: str | None = None) -> Iterator[_Flag]:
    """Every option of ``cls`` and of its nested settings, in declaration order."""
    hints = typing.get_type_hints(cls)
    for field in dataclasses.fields(cls):
        how = field.metadata.get(_KEY, dataclasses.MISSING)
        if how is dataclasses.MISSING:
            continue  # a field for code, not for people (a tuning constant, say)
        if not isinstance(how, Option):  # nested settings
            yield from flags_of(hints[field.name], (*path, field.name), how or group)
            continue
        kind, optional = _unwrap_optional(hints[field.name])
        yield _Flag((*path, field.name), field, kind, optional, how, how.group or group)


def _shown_default(flag: _Flag) -> str | None:
    if flag.how.shown is not None:
        return flag.how.shown
    default = flag.default
    if flag.required or default is None or flag.switch or default == ():
        return None
    if isinstance(default, tuple):
        return ",".join(map(str, default))
    return str(default)


def add_flags(parser: argparse.ArgumentParser, cls: type) -> None:
    """Add a flag for every option of ``cls``; help shows each default."""
    groups: dict[str | None, Any] = {None: parser}
    exclusive: dict[str, Any] = {}
    for flag in flags_of(cls):
        if flag.group not in groups:
            groups[flag.group] = parser.add_argument_group(flag.group)
        container = groups[flag.group]
        if flag.how.exclusive:
            if flag.how.exclusive not in exclusive:
                exclusive[flag.how.exclusive] = container.add_mutually_exclusive_group()
            container = exclusive[flag.how.exclusive]
        shown = _shown_default(flag)
        notes = [f"default: {shown}"] if shown else []
        if flag.how.low is not None and flag.how.high is not None:
            notes.append(f"{_number(flag.how.low)} to {_number(flag.how.high)}")
        text = flag.how.help + (f" ({'; '.join(notes)})" if notes else "")
        keywords: dict[str, Any] = {"dest": flag.key, "help": text.replace("%", "%%")}
        if flag.switch:
            keywords["action"] = "store_false" if flag.default else "store_true"
        else:
            if flag.how.metavar or not flag.how.choices:  # choices show themselves: {jpg,png,webp}
                keywords["metavar"] = flag.how.metavar or flag.key.upper()
            keywords["default"] = None
            keywords["required"] = flag.required
            if flag.repeats:
                keywords["action"] = "append"
            if flag.how.bare is not None:
                keywords["nargs"], keywords["const"] = "?", flag.how.bare
            if flag.how.choices:
                keywords["choices"] = flag.how.choices
        container.add_argument(flag.name, **keywords)


_NUMBERS = {int: ("a whole number", int), float: ("a number", (int, float))}


NONE = "none"  # an optional setting's "not set" as text: TOML has no null, and a flag takes text


def _convert(flag: _Flag, value: Any) -> Any:
    """A config or flag value as the field's type, within the option's bounds; ValueError
    names what was expected. An optional setting (``X | None``) takes ``none`` for None."""
    if flag.optional and isinstance(value, str) and value.strip().lower() == NONE:
        return None
    return within_bounds(flag.how, flag.kind, _as_type(flag, value))


def bounded_number(kind: type, low: float, high: float) -> Callable[[str], Any]:
    """An argparse ``type`` for a flag declared outside a settings class (``run --plan-workers``,
    ``verify --workers``): the same parse and range rule as every settings option (NaN never,
    infinity only where ``high`` is), its error naming the range."""
    how = Option(help="", low=low, high=high)

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            wanted = f"{_NUMBERS[kind][0]} from {range_text(low, high)}"
            raise argparse.ArgumentTypeError(f"expected {wanted}, got {text!r}") from None
        try:
            return within_bounds(how, kind, value)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    parse.__name__ = kind.__name__  # argparse names the type in its messages
    return parse


def range_text(low: float, high: float) -> str:
    """``1 to 10,000``, as ``--help`` shows every option's range."""
    return f"{_number(low)} to {_number(high)}"


def within_bounds(how: Option, kind: Any, value: Any) -> Any:
    """``value`` when it lies within the option's bounds (numbers only; NaN never, infinity only
    where the upper bound is infinite), else ValueError saying the range."""
    low, high = how.low, how.high
    if isinstance(value, bool) or not isinstance(value, int | float) or (low is None and high is None):
        return value
    wanted = f"{_NUMBERS.get(kind, ('a number',))[0]} from {_number(low)} to {_number(high)}"
    if math.isnan(value) or (math.isinf(value) and value != high):
        raise ValueError(f"expected {wanted}, got {value!r}")
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"expected {wanted}, got {value!r}")
    return value


def _number(bound: float | None) -> str:
    if bound is None:
        return "?"
    if math.isinf(bound):
        return "infinity"
    return f"{int(bound):,}" if float(bound).is_integer() and abs(bound) >= 10_000 else f"{bound:g}"


def _as_type(flag: _Flag, value: Any) -> Any:
    kind = flag.kind
    if flag.how.bare is not None and isinstance(value, bool):
        value = flag.how.bare if value else ""
    if isinstance(value, str) and flag.how.parse is not None:
        return flag.how.parse(value)
    if flag.how.choices and value not in flag.how.choices:
        raise ValueError(f"expected one of {', '.join(flag.how.choices)}, got {value!r}")
    if kind is bool:
        if not isinstance(value, bool):
            raise ValueError(f"expected true or false, got {value!r}")
        return value
    if kind in _NUMBERS:
        wanted, accepted = _NUMBERS[kind]
        if isinstance(value, str):
            try:
                return kind(value)
            except ValueError:
                raise ValueError(f"expected {wanted}, got {value!r}") from None
        if isinstance(value, bool) or not isinstance(value, accepted):
            raise ValueError(f"expected {wanted}, got {value!r}")
        return kind(value)
    if kind is str:
        if not isinstance(value, str):
            raise ValueError(f"expected text, got {value!r}")
        return value
    if flag.repeats:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list | tuple) or not all(isinstance(item, str) for item in items):
            raise ValueError(f"expected text or a list of texts, got {value!r}")
        return tuple(items)
    if flag.how.parse is not None and isinstance(value, list | tuple):
        return flag.how.parse(",".join(map(str, value)))
    raise ValueError(f"expected text, got {value!r}")


def _build(cls: type, values: Mapping[tuple[str, ...], Any], path: tuple[str, ...] = ()) -> Any:
    """``cls`` with the given values (by field path) and its defaults elsewhere."""
    hints = typing.get_type_hints(cls)
    arguments: dict[str, Any] = {}
    for field in dataclasses.fields(cls):
        here = (*path, field.name)
        how = field.metadata.get(_KEY, dataclasses.MISSING)
        if how is not dataclasses.MISSING and not isinstance(how, Option):
            arguments[field.name] = _build(hints[field.name], values, here)
        elif here in values:
            arguments[field.name] = values[here]
    return cls(**arguments)


def from_flags(cls: type, namespace: argparse.Namespace) -> Any:
    """Settings from parsed flags (flags not given keep the dataclass's default)."""
    values: dict[tuple[str, ...], Any] = {}
    for flag in flags_of(cls):
        value = getattr(namespace, flag.key, None)
        if flag.switch:
            if value != flag.default:
                values[flag.path] = value
        elif value is not None:
            try:
                values[flag.path] = _convert(flag, value if not flag.repeats else tuple(value))
            except ValueError as error:
                raise SettingsError(f"{flag.name}: {error}") from None
    try:
        return _build(cls, values)
    except ValueError as error:
        raise SettingsError(str(error)) from None


def from_table(cls: type, table: Mapping[str, Any], where: str = "") -> Any:
    """Settings from a config table; an unknown key or a wrong type is a ValueError naming it."""
    flags = {flag.key: flag for flag in flags_of(cls)}
    values: dict[tuple[str, ...], Any] = {}
    for key, value in table.items():
        name = f"{where}.{key}" if where else key
        if key not in flags:
            raise SettingsError(f"{name}: unknown setting (known: {', '.join(sorted(flags))})")
        flag = flags[key]
        try:
            value = _convert(flag, value)
        except ValueError as error:
            raise SettingsError(f"{name}: {error}") from None
        # A switch that turns a default-on field off ("case_insensitive = true") inverts it.
        values[flag.path] = (not value) if flag.switch and flag.default is True else value
    missing = [key for key, flag in flags.items() if flag.required and flag.path not in values]
    if missing:
        raise SettingsError(f"{where or 'config'}: missing {', '.join(missing)}")
    try:
        return _build(cls, values)
    except ValueError as error:
        raise SettingsError(f"{where}: {error}" if where else str(error)) from None


def _value_at(settings: Any, path: tuple[str, ...]) -> Any:
    value = settings
    for name in path:
        value = getattr(value, name)
    return value


def paths_with_role(settings: Any, role: str) -> list[tuple[str, str]]:
    """(flag, path) for every path the settings give an option of ``role`` ("input", "out")."""
    found = []
    for flag in flags_of(type(settings)):
        if flag.how.role != role:
            continue
        value = _value_at(settings, flag.path)
        for path in value if isinstance(value, tuple) else (value,):
            if isinstance(path, str) and path:
                found.append((flag.name, path))
    return found


def to_table(settings: Any, paths: Callable[[str], str] | None = None) -> dict[str, Any]:
    """Settings as a config table, every option present (the inverse of ``from_table``); an
    option that is not set (None) is left out, as TOML has no null. ``paths`` rewrites the
    values of path options (inputs and out), e.g. to their canonical form for a stage key."""
    table: dict[str, Any] = {}
    for flag in flags_of(type(settings)):
        value = _value_at(settings, flag.path)
        if paths is not None and flag.how.role and value is not None:
            value = tuple(map(paths, value)) if isinstance(value, tuple) else paths(value)
        if flag.switch and flag.default is True:
            value = not value  # the config names the switch that turns it off
        if isinstance(value, frozenset):
            value = sorted(value)
        elif isinstance(value, tuple):
            value = list(value)
        if value is None and flag.optional and flag.default is not None:
            value = NONE  # set to none on purpose: the default would be something
        if value is not None:
            table[flag.key] = value
    return table


def format_toml(document: Mapping[str, Any]) -> str:
    """A config as TOML: top-level keys first, then one table per mapping."""

    def value_text(value: Any) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, float):
            return "inf" if value == float("inf") else repr(value)
        if isinstance(value, int):
            return str(value)
        if isinstance(value, list | tuple):
            return "[" + ", ".join(value_text(item) for item in value) + "]"
        return json.dumps(str(value), ensure_ascii=False)

    lines = [f"{key} = {value_text(value)}" for key, value in document.items() if not isinstance(value, Mapping)]
    for name, table in document.items():
        if isinstance(table, Mapping):
            lines += ["", f"[{name}]", *(f"{key} = {value_text(value)}" for key, value in table.items())]
    return "\n".join(lines) + "\n"
