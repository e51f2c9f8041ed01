"""Plugins: a user's modules that register components (strategies, regularizers, objectives, decoders, ...).

A plugin is a Python file or an importable module whose import registers its components with the
decorators of their registries (:mod:`lsbo.components`, docs/extending.md). The command line loads,
before it parses anything else (so the plugins' names are in ``--help`` choices and experiment specs):

1. every module of the ``lsbo.plugins`` entry-point group of the installed distributions;
2. those named in the ``LSBO_PLUGINS`` environment variable (:data:`os.pathsep`-separated);
3. those given with the repeatable global option ``lsbo --plugin MODULE_OR_FILE``.

A checkpoint stores its components by name, so a model trained with a plugin's component loads
again wherever that plugin is loaded. A plugin is imported once per process, however often it is
named; one that fails to import is a one-line :class:`lsbo.errors.ConfigError` naming it and the cause.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import ModuleType

from lsbo.errors import ConfigError

__all__ = ["ENTRY_POINT_GROUP", "ENVIRONMENT_VARIABLE", "environment_plugins", "load_plugin", "load_plugins", "loaded_plugins",
           "plugins_in_arguments", "resolved"]

ENTRY_POINT_GROUP = "lsbo.plugins"
ENVIRONMENT_VARIABLE = "LSBO_PLUGINS"
#: The root option of the command line that names a plugin.
OPTION = "--plugin"

# what was given (a module name, or a file's resolved path) -> the imported module
_LOADED: dict[str, ModuleType] = {}


def loaded_plugins() -> tuple[str, ...]:
    """The plugins imported so far in this process: module names and resolved file paths, in order."""
    return tuple(_LOADED)


def _is_file(spec: str) -> bool:
    return spec.endswith(".py") or os.sep in spec or (os.altsep is not None and os.altsep in spec) or Path(spec).is_file()


def resolved(spec: str) -> str:
    """How a plugin is named to another process: a file by its absolute path, a module by its name."""
    text = str(spec).strip()
    return str(Path(text).expanduser().resolve()) if _is_file(text) else text


def load_plugin(spec: str) -> ModuleType:
    """Import the plugin ``spec``: a Python file (a path, or a name ending in ``.py``) or a module name.

    A file is imported under a module name of its own (``lsbo_plugin_<stem>_<hash of its path>``),
    registered in :data:`sys.modules` first, so its dataclasses and pickled references resolve.
    """
    text = str(spec).strip()
    if not text:
        raise ConfigError("plugin '': expected a module name or a Python file", parameter="plugin")
    if _is_file(text):
        path = Path(text).expanduser().resolve()
        key = str(path)
        if key in _LOADED:
            return _LOADED[key]
        if not path.is_file():
            raise ConfigError(f"plugin {text!r}: no such file", parameter="plugin")
        name = f"lsbo_plugin_{path.stem}_{hashlib.sha1(key.encode()).hexdigest()[:8]}".replace("-", "_")
        module_spec = importlib.util.spec_from_file_location(name, path)
        if module_spec is None or module_spec.loader is None:
            raise ConfigError(f"plugin {text!r}: not a Python file", parameter="plugin")
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[name] = module
        try:
            module_spec.loader.exec_module(module)
        except Exception as err:
            del sys.modules[name]
            raise _import_failed(text, err) from err
    else:
        key = text
        if key in _LOADED:
            return _LOADED[key]
        try:
            module = importlib.import_module(text)
        except Exception as err:
            raise _import_failed(text, err) from err
    _LOADED[key] = module
    return module


def _import_failed(spec: str, err: Exception) -> ConfigError:
    cause = str(err).strip().splitlines()[0] if str(err).strip() else ""
    return ConfigError(f"plugin {spec!r} failed to import: {type(err).__name__}" + (f": {cause}" if cause else ""),
                       parameter="plugin")


def _entry_point_plugins() -> list[str]:
    from importlib.metadata import entry_points

    return [entry.value for entry in entry_points(group=ENTRY_POINT_GROUP)]


def environment_plugins(environ: os._Environ[str] | dict[str, str] | None = None) -> list[str]:
    """The plugins named in :data:`ENVIRONMENT_VARIABLE` (empty entries skipped)."""
    value = (os.environ if environ is None else environ).get(ENVIRONMENT_VARIABLE, "")
    return [part.strip() for part in value.split(os.pathsep) if part.strip()]


def load_plugins(given: Iterable[str] = (), *, environment: bool = True, entry_points: bool = True) -> list[ModuleType]:
    """Import the entry-point plugins, then the environment's, then ``given`` (see the module docstring)."""
    specs = [*(_entry_point_plugins() if entry_points else []), *(environment_plugins() if environment else []), *given]
    return [load_plugin(spec) for spec in specs]


def plugins_in_arguments(args: Sequence[str]) -> list[str]:
    """The values of ``--plugin`` among the root options of a command line (before the command word).

    The other root options are all switches, so the first word that is not an option, nor the value
    of ``--plugin``, is the command; ``--plugin`` after it would be that command's (unknown) option.
    """
    found: list[str] = []
    words = iter(args)
    for word in words:
        if word == OPTION:
            value = next(words, None)
            if value is None:
                raise ConfigError(f"{OPTION} needs a value: a module name or a Python file", parameter="plugin")
            found.append(value)
        elif word.startswith(OPTION + "="):
            found.append(word[len(OPTION) + 1:])
        elif not word.startswith("-"):
            break
    return found
