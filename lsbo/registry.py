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

A registry can also *declare* its built-in names with the module that registers each
(``builtins={"protocol": "lsbo.bo.strategies"}``): :meth:`Registry.names` then lists them without
importing anything (the command line builds its ``--help`` choices from the names without loading
torch), and :meth:`Registry.get` imports the declaring module on first use, whose decorator fills
the entry. The registries of the kinds a user extends are declared that way in
:mod:`lsbo.components`.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable, Iterator, Mapping
from typing import Generic, TypeVar, overload

from lsbo.errors import ConfigError

__all__ = ["PLUGIN_HINT", "Registry", "close_matches"]

T = TypeVar("T")

#: Appended to an unknown name's message when no registered name is close: the name may be a plugin's.
PLUGIN_HINT = "; a component of a plugin is known once the plugin is loaded (--plugin MODULE_OR_FILE or LSBO_PLUGINS)"


def close_matches(name: str, names: list[str] | tuple[str, ...], n: int = 3) -> list[str]:
    """Up to ``n`` of ``names`` that look like ``name`` (for "did you mean" messages)."""
    return difflib.get_close_matches(str(name).strip().lower(), list(names), n=n, cutoff=0.5)


class Registry(Generic[T]):
    """Named components of one kind, in registration order.

    Args:
        kind: what the components are, for messages (``"decoder"``).
        parameter: the library parameter that selects one (default: ``kind``); errors name it, and
            the command line turns it into its flag.
        builtins: the built-in names, in order, each with the module whose import registers it
            (see the module docstring); only that module may register a declared name.
    """

    def __init__(self, kind: str, parameter: str | None = None, *, builtins: Mapping[str, str] | None = None) -> None:
        self.kind = kind
        self.parameter = parameter or kind
        self._items: dict[str, T] = {}
        self._declared: dict[str, str] = {str(name).lower(): module for name, module in (builtins or {}).items()}

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
        """Register ``obj`` under ``name`` (lower case); a :class:`ValueError` if the name is taken
        (a declared built-in name is taken by anything but its declaring module)."""
        key = str(name).strip().lower()
        if not key:
            raise ValueError(f"a {self.kind} needs a non-empty name")
        declared = self._declared.get(key)
        module = str(getattr(obj, "__module__", ""))
        if key in self._items or (declared is not None and module != declared and not module.startswith(declared + ".")):
            raise ValueError(f"{self.kind} {key!r} is already registered")
        self._items[key] = obj

    def remove(self, name: str) -> T:
        """Unregister ``name`` (not a declared built-in) and return its component: for code that
        registers one for a while (a test's temporary strategy)."""
        key = str(name).strip().lower()
        if key in self._declared:
            raise ValueError(f"{self.kind} {key!r} is built in and cannot be removed")
        return self._items.pop(key)

    def check(self, name: object) -> str:
        """``name`` normalised (stripped, lower case) if it is registered; a ConfigError naming the
        parameter and the closest names otherwise."""
        key = str(getattr(name, "value", name)).strip().lower()
        if key not in self:
            names = self.names()
            near = close_matches(key, names)
            hint = f" (did you mean {', '.join(near)}?)" if near else PLUGIN_HINT
            raise ConfigError(
                f"{self.parameter} {name!r}: expected one of {', '.join(names)}{hint}", parameter=self.parameter
            )
        return key

    def get(self, name: object) -> T:
        """The component registered as ``name`` (see :meth:`check`); a declared built-in's module is
        imported first if it has not been."""
        key = self.check(name)
        if key not in self._items:
            importlib.import_module(self._declared[key])
            if key not in self._items:
                raise RuntimeError(f"{self._declared[key]} declares {self.kind} {key!r} but does not register it")
        return self._items[key]

    def names(self) -> tuple[str, ...]:
        """The names, built-ins first (declared order, else registration order), then plugins'."""
        return tuple(self._declared) + tuple(key for key in self._items if key not in self._declared)

    def __contains__(self, name: object) -> bool:
        key = str(name).strip().lower()
        return key in self._items or key in self._declared

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}: {', '.join(self.names())})"
