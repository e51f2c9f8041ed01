"""One registry pattern for every kind of component (codec, decoder, regularizer, strategy, ...).

A :class:`Registry` maps a component's name to the object that builds it (usually a class). It is
filled by a decorator, at import time of the module that defines the component, so a component is
one file plus its ``@REGISTRY.register`` line; a user's components join the same registries when
their module is imported as a plugin (:mod:`lsbo.plugins`). Names are case-insensitive (stored in
lower case); an unknown name is a :class:`lsbo.errors.ConfigError` that names the parameter and the
closest registered names.

Example::

    DECODERS: Registry[type[StepDecoder]] = Registry("decoder")

    @DECODERS.register("autoregressive")
    class AutoregressiveDecoder(StepDecoder): ...

    DECODERS.get("Autoregressive")  # -> AutoregressiveDecoder
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar, overload

from lsbo.errors import ConfigError

__all__ = ["Registry", "close_matches"]

T = TypeVar("T")


def close_matches(name: str, names: list[str] | tuple[str, ...], n: int = 3) -> list[str]:
    """Up to ``n`` of ``names`` that look like ``name`` (for "did you mean" messages)."""
    return difflib.get_close_matches(str(name).strip().lower(), list(names), n=n, cutoff=0.5)


class Registry(Generic[T]):
    """Named components of one kind, in registration order.

    Args:
        kind: what the components are, for messages (``"decoder"``).
        parameter: the library parameter that selects one (default: ``kind``); errors name it, and
            the command line turns it into its flag.
    """

    def __init__(self, kind: str, parameter: str | None = None) -> None:
        self.kind = kind
        self.parameter = parameter or kind
        self._items: dict[str, T] = {}

    @overload
    def register(self, name: str) -> Callable[[T], T]: ...

    @overload
    def register(self, name: T) -> T: ...

    def register(self, name):  # type: ignore[no-untyped-def]
        """Decorator: ``@REGISTRY.register("name")``, or ``@REGISTRY.register`` for an object with a
        ``name`` attribute. Registering a name twice is an error (a plugin cannot silently replace
        a built-in)."""
        if isinstance(name, str):
            key = name

            def decorate(obj: T) -> T:
                self.add(key, obj)
                return obj

            return decorate
        obj = name
        key = getattr(obj, "name", None)
        if not isinstance(key, str) or not key:
            raise TypeError(f"{self.kind} {obj!r} has no `name` attribute: use @register('its-name')")
        self.add(key, obj)
        return obj

    def add(self, name: str, obj: T) -> None:
        """Register ``obj`` under ``name`` (lower case); a :class:`ValueError` if the name is taken."""
        key = str(name).strip().lower()
        if not key:
            raise ValueError(f"a {self.kind} needs a non-empty name")
        if key in self._items:
            raise ValueError(f"{self.kind} {key!r} is already registered")
        self._items[key] = obj

    def check(self, name: object) -> str:
        """``name`` normalised (stripped, lower case) if it is registered; a ConfigError naming the
        parameter and the closest names otherwise."""
        key = str(getattr(name, "value", name)).strip().lower()
        if key not in self._items:
            names = self.names()
            near = close_matches(key, names)
            hint = f" (did you mean {', '.join(near)}?)" if near else ""
            raise ConfigError(
                f"{self.parameter} {name!r}: expected one of {', '.join(names)}{hint}", parameter=self.parameter
            )
        return key

    def get(self, name: object) -> T:
        """The component registered as ``name`` (see :meth:`check`)."""
        return self._items[self.check(name)]

    def names(self) -> tuple[str, ...]:
        """The registered names, in registration order (built-ins first, then plugins)."""
        return tuple(self._items)

    def __contains__(self, name: object) -> bool:
        return str(name).strip().lower() in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(tuple(self._items))

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}: {', '.join(self._items)})"
