"""Typed registries of the things plugins provide, with provenance.

A :class:`Registry` maps names to objects of one kind (fill models, venues,
strategies, ...) and remembers which plugin registered each, so a clash names
both plugins and ``flint plugins`` can say who provided what.
"""

from collections.abc import Callable, Iterator, Mapping
from typing import Any, Generic, Protocol, TypeVar

import attrs

T = TypeVar("T")


class PluginError(Exception):
    """A plugin failed to load or registered something invalid."""


class DuplicateNameError(PluginError):
    """A name was registered twice without ``override=True``."""


class PluginNotFound(KeyError):
    """Nothing is registered under a name (a ``KeyError``, hence a ``LookupError``).

    ``kind`` and ``name`` say what was asked for, ``registered`` what exists, and
    ``hint`` how to get it (which distribution to install), when known.
    ``reason`` replaces the opening "unknown <kind> '<name>'" of the message.
    """

    def __init__(
        self,
        kind: str,
        name: object,
        registered: list[str],
        *,
        hint: str | None = None,
        reason: str | None = None,
    ) -> None:
        self.kind = kind
        self.name = name
        self.registered = registered
        self.hint = hint
        known = ", ".join(registered) or "none"
        message = f"{reason or f'unknown {kind} {name!r}'}; registered: {known}"
        self.message = f"{message}; {hint}" if hint else message
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


@attrs.frozen
class Provenance:
    """Which plugin (and distribution) provided something."""

    plugin: str
    dist: str | None = None
    version: str | None = None

    def __str__(self) -> str:
        if self.dist:
            return f"plugin '{self.plugin}' ({self.dist} {self.version})"
        return f"plugin '{self.plugin}'"


@attrs.frozen
class Registration(Generic[T]):
    """One registered object: its name, the object, who registered it and extra metadata."""

    kind: str
    name: str
    obj: T
    provenance: Provenance
    description: str = ""
    meta: Mapping[str, Any] = attrs.field(factory=dict)
    overrides: "Registration[T] | None" = None


class Register(Protocol):
    """The callback handed to registration hooks."""

    def __call__(
        self,
        name: str,
        obj: Any,
        *,
        override: bool = False,
        description: str | None = None,
        **meta: Any,
    ) -> None: ...


def describe(obj: object) -> str:
    """A one-line description: ``obj.description`` if set, else a callable's docstring."""
    text = getattr(obj, "description", None)
    if not isinstance(text, str) or not text.strip():
        text = getattr(obj, "__doc__", None) if callable(obj) else None
    return (text or "").strip().split("\n", 1)[0].strip()


class Registry(Generic[T]):
    """Name -> object map of one kind, rejecting duplicates and invalid objects.

    ``validate(name, obj)`` returns an error message (``None`` if valid).
    """

    def __init__(
        self, kind: str, validate: Callable[[str, object], str | None] | None = None
    ) -> None:
        self.kind = kind
        self._validate = validate
        self._entries: dict[str, Registration[T]] = {}

    def check(self, name: str, obj: object) -> None:
        """Raise :class:`PluginError` if ``name``/``obj`` cannot be registered."""
        if not isinstance(name, str) or not name.strip():
            raise PluginError(f"{self.kind} name must be a non-empty string, got {name!r}")
        if self._validate is not None:
            problem = self._validate(name, obj)
            if problem:
                raise PluginError(f"{self.kind} '{name}': {problem}")

    def add(
        self,
        name: str,
        obj: T,
        provenance: Provenance,
        *,
        override: bool = False,
        description: str | None = None,
        meta: Mapping[str, Any] | None = None,
    ) -> Registration[T]:
        """Register ``obj`` as ``name``; raise on duplicates unless ``override``."""
        self.check(name, obj)
        existing = self._entries.get(name)
        if existing is not None and not override:
            raise self.duplicate(name, provenance)
        entry = Registration(
            kind=self.kind,
            name=name,
            obj=obj,
            provenance=provenance,
            description=description if description is not None else describe(obj),
            meta=dict(meta or {}),
            overrides=existing,
        )
        self._entries[name] = entry
        return entry

    def duplicate(self, name: str, provenance: Provenance) -> DuplicateNameError:
        """The error of registering ``name`` again, from ``provenance``."""
        existing = self._entries[name]
        return DuplicateNameError(
            f"{self.kind} '{name}' from {provenance} is already registered by "
            f"{existing.provenance}; pass override=True to replace it"
        )

    def get(self, name: str) -> T:
        """The object registered as ``name``; :class:`PluginNotFound` lists the known names."""
        return self.entry(name).obj

    def entry(self, name: str) -> Registration[T]:
        """The full registration of ``name`` (object, provenance, metadata)."""
        try:
            return self._entries[name]
        except KeyError:
            raise PluginNotFound(self.kind, name, self.names()) from None

    def names(self) -> list[str]:
        """Registered names, sorted."""
        return sorted(self._entries)

    def entries(self) -> list[Registration[T]]:
        """All registrations, sorted by name."""
        return [self._entries[n] for n in sorted(self._entries)]

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {self.names()!r})"
