"""The component registries: declared built-ins listed without importing them, filled by their
modules' decorators, guarded against a plugin taking a built-in's name."""

from __future__ import annotations

import subprocess
import sys

import pytest

from lsbo.errors import ConfigError
from lsbo.registry import PLUGIN_HINT, Registry


def test_the_command_line_lists_the_builtin_names_without_importing_torch() -> None:
    code = ("import sys, lsbo_cli.main, lsbo.options\n"
            "from lsbo.components import OBJECTIVES, REGULARIZERS, STRATEGIES\n"
            "print(STRATEGIES.names(), REGULARIZERS.names(), OBJECTIVES.names(), lsbo.options.OPTIONS['regularizer'].choice_names())\n"
            "assert 'torch' not in sys.modules, 'torch was imported'\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[0] == (
        "('protocol', 'turbo') ('gmm', 'vae', 'cvvae', 'rae', 'wae', 'ae') ('logp', 'logp-dataset', 'logp-raw', 'expr', 'qed') "
        "('gmm', 'vae', 'cvvae', 'rae', 'wae', 'ae')"
    )


def test_a_declared_name_is_filled_by_its_module_and_by_no_other() -> None:
    registry: Registry[object] = Registry("widget", builtins={"json": "json"})
    assert registry.names() == ("json",) and "JSON" in registry

    class Impostor:
        __module__ = "somewhere.else"

    with pytest.raises(ValueError, match="widget 'json' is already registered"):
        registry.add("json", Impostor)
    with pytest.raises(RuntimeError, match="json declares widget 'json' but does not register it"):
        registry.get("json")  # json is imported, and registers nothing
    registry.add("mine", Impostor)
    assert registry.names() == ("json", "mine") and registry.get("MINE") is Impostor
    assert registry.remove("mine") is Impostor and registry.names() == ("json",)
    with pytest.raises(ValueError, match="built in"):
        registry.remove("json")


def test_an_unknown_name_suggests_a_close_one_or_a_plugin() -> None:
    from lsbo.components import STRATEGIES

    with pytest.raises(ConfigError) as close:
        STRATEGIES.check("protocl")
    assert str(close.value) == "strategy 'protocl': expected one of protocol, turbo (did you mean protocol?)"
    with pytest.raises(ConfigError) as far:
        STRATEGIES.check("bayesian-magic")
    assert str(far.value) == f"strategy 'bayesian-magic': expected one of protocol, turbo{PLUGIN_HINT}"
    assert far.value.parameter == "strategy"
