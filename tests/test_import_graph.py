"""The import graph of ``lsbo`` and ``lsbo_cli``: no cycles and no upward imports.

Every module's imports are read with :mod:`ast`, those inside functions included (a function-level
import is still a dependency; it only runs later), those under ``if TYPE_CHECKING:`` excluded (they
never run). ``from package import name`` is an edge to ``package.name`` where that is a module. The
implicit import of a module's parent packages is not an edge.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: Source folder -> the package it is installed as.
PACKAGES = {"lsbo": "lsbo", "cli": "lsbo_cli"}

_SUBSYSTEMS = ("lsbo.grammar", "lsbo.data", "lsbo.regularizers", "lsbo.train", "lsbo.models", "lsbo.objectives",
               "lsbo.report", "lsbo.diagnostics", "lsbo.evaluate", "lsbo.images", "lsbo.bo", "lsbo.experiment")
#: The layers, from the bottom: a module of one may import its own layer and those before it, never
#: a later one nor any of the subsystems above them (:data:`_SUBSYSTEMS`); the library never imports
#: the command line.
LAYERS: tuple[tuple[str, ...], ...] = (
    # foundation: errors, registries, settings, files, devices, plugins, the options schema
    ("lsbo.errors", "lsbo.registry", "lsbo.components", "lsbo.settings", "lsbo.logs", "lsbo.persistence", "lsbo.progress",
     "lsbo.device", "lsbo.plugins", "lsbo.checkpoint", "lsbo.distributed", "lsbo.paper", "lsbo.options", "lsbo.priors",
     "lsbo.executors_base", "lsbo.executors", "lsbo.executors_ray"),
    ("lsbo.grammar",),
    ("lsbo.data",),
)
#: Packages above the data layers that must not import each other in this direction.
NEVER_IMPORTS: dict[str, tuple[str, ...]] = {
    "lsbo.regularizers": ("lsbo.grammar", "lsbo.data", "lsbo.train", "lsbo.models", "lsbo.objectives", "lsbo.images", "lsbo.bo",
                          "lsbo.experiment"),
    "lsbo.train": ("lsbo.grammar", "lsbo.data", "lsbo.models", "lsbo.images", "lsbo.bo", "lsbo.experiment"),
    "lsbo.objectives": ("lsbo.models", "lsbo.train", "lsbo.images", "lsbo.bo", "lsbo.experiment"),
    "lsbo.models": ("lsbo.objectives", "lsbo.images", "lsbo.evaluate", "lsbo.bo", "lsbo.experiment"),
    "lsbo.images": ("lsbo.models", "lsbo.bo", "lsbo.experiment"),
    "lsbo.bo": ("lsbo.images", "lsbo.experiment"),
}


def _modules() -> dict[str, Path]:
    modules = {}
    for folder, package in PACKAGES.items():
        for path in sorted((REPO / folder).rglob("*.py")):
            parts = [package, *path.relative_to(REPO / folder).with_suffix("").parts]
            modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    type_only = {id(node) for branch in ast.walk(tree) if isinstance(branch, ast.If) and "TYPE_CHECKING" in ast.unparse(branch.test)
                 for statement in branch.body for node in ast.walk(statement)}
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    targets: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1] + ([node.module] if node.module else []))
            targets.update(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names)
    edges = set()
    for target in targets:
        while target and target not in modules:  # a name inside a module, or another distribution
            target = target.rpartition(".")[0]
        if target and target != name:
            edges.add(target)
    return edges


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def upward_edges(graph: dict[str, set[str]]) -> list[str]:
    found = []
    for module, targets in graph.items():
        for target in targets:
            if module.startswith("lsbo.") and _within(target, "lsbo_cli"):
                found.append(f"{module} -> {target} (the library imports the command line)")
            for rank, layer in enumerate(LAYERS):
                if any(_within(module, package) for package in layer):
                    below = {p for earlier in LAYERS[: rank + 1] for p in earlier}
                    above = [p for p in (*[q for later in LAYERS[rank + 1:] for q in later], *_SUBSYSTEMS) if p not in below]
                    if any(_within(target, package) for package in above):
                        found.append(f"{module} -> {target} (layer {rank} imports a higher one)")
            for package, forbidden in NEVER_IMPORTS.items():
                if _within(module, package) and any(_within(target, f) for f in forbidden):
                    found.append(f"{module} -> {target} ({package} must not import it)")
    return sorted(found)


def test_the_parser_sees_function_level_imports_and_skips_type_checking_ones() -> None:
    graph = import_graph()
    assert "lsbo.models" in graph["lsbo.experiment.runner"]  # `from lsbo.models import ...` inside train_options
    assert "lsbo.bo.strategies" not in graph["lsbo.components"]  # only under TYPE_CHECKING
    assert "lsbo_cli.schema" in graph["lsbo_cli.train"]


def test_the_detectors_find_a_cycle_and_an_upward_import() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert upward_edges({"lsbo.grammar.parser": {"lsbo.models.trained"}, "lsbo.models.trained": {"lsbo.images.training"},
                         "lsbo.errors": set()}) == [
        "lsbo.grammar.parser -> lsbo.models.trained (layer 1 imports a higher one)",
        "lsbo.models.trained -> lsbo.images.training (lsbo.models must not import it)",
    ]


def test_no_module_imports_one_that_imports_it_back() -> None:
    assert cycles(import_graph()) == []


def test_no_upward_imports() -> None:
    assert upward_edges(import_graph()) == []
