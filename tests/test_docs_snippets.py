"""Every Python block of README.md and docs/*.md runs as written, each in a fresh empty directory.

The rule for a block (docs/index.md states it for writers of the pages):

- a fenced block whose info string is ``python`` is a snippet: it is run with this interpreter as a
  script in an empty temporary directory, and must exit 0;
- a snippet must therefore be self-contained: it writes the files it reads and trains any model it
  uses (tiny ones, in seconds);
- the one exception is a block directly preceded by the line ``<!-- snippet: no-run -->`` (an HTML
  comment, invisible where the page is rendered): it is only compiled, not run. Use it for code that
  cannot run on its own, and sparingly.

Blocks of other languages (``bash``, unlabelled) are not run; a ``toml`` block of the guide is an
experiment spec, and is loaded and checked by :func:`lsbo.experiment.load_spec`.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NO_RUN_MARKER = "<!-- snippet: no-run -->"
_FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")


@dataclass(frozen=True)
class Snippet:
    """One fenced Python block: where it is, its code, and whether the no-run marker precedes it."""

    path: Path
    line: int  # 1-based line of the opening fence
    code: str
    run: bool

    @property
    def name(self) -> str:
        return f"{self.path.relative_to(ROOT) if self.path.is_relative_to(ROOT) else self.path}:{self.line}"


def extract_snippets(text: str, path: Path, language: str = "python") -> list[Snippet]:
    """The blocks of one ``language`` in a Markdown text, in order (other languages are skipped)."""
    lines = text.splitlines()
    snippets: list[Snippet] = []
    i = 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        fence, info = match["fence"], match["info"].strip()
        start = i
        body: list[str] = []
        i += 1
        while i < len(lines) and not (lines[i].strip().startswith(fence[0] * len(fence)) and lines[i].strip().strip(fence[0]) == ""):
            body.append(lines[i])
            i += 1
        i += 1  # past the closing fence
        if info == language:
            marked = start > 0 and lines[start - 1].strip() == NO_RUN_MARKER
            snippets.append(Snippet(path, start + 1, "\n".join(body) + "\n", run=not marked))
    return snippets


def documentation_files() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


SNIPPETS = [snippet for path in documentation_files() for snippet in extract_snippets(path.read_text(encoding="utf-8"), path)]


def test_the_extractor_follows_the_rule() -> None:
    text = "\n".join([
        "text", "```python", "print(1)", "```",
        "```bash", "echo no", "```",
        NO_RUN_MARKER, "```python", "import not_installed_anywhere", "```",
        "````python", "x = '```'", "````",
        "```", "plain", "```",
    ])
    found = extract_snippets(text, Path("page.md"))
    assert [(s.line, s.code, s.run) for s in found] == [
        (2, "print(1)\n", True),
        (9, "import not_installed_anywhere\n", False),
        (12, "x = '```'\n", True),
    ]


def test_the_documentation_has_snippets() -> None:
    """The README and the guide both hold runnable blocks, so an extraction that finds none fails here."""
    names = {s.path.name for s in SNIPPETS if s.run}
    assert "README.md" in names
    assert len([s for s in SNIPPETS if s.run and s.path.parent.name == "docs"]) >= 3


@pytest.mark.parametrize("snippet", SNIPPETS, ids=[s.name for s in SNIPPETS])
def test_snippet_runs_as_written(snippet: Snippet, tmp_path: Path) -> None:
    compile(snippet.code, snippet.name, "exec")
    if not snippet.run:
        return
    script = tmp_path / "snippet.py"
    script.write_text(snippet.code, encoding="utf-8")
    env = dict(os.environ, OMP_NUM_THREADS="1", LSBO_CACHE_DIR=str(tmp_path / "cache"), MPLBACKEND="Agg")
    result = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"{snippet.name} failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}"


SPECS = [spec for path in documentation_files() for spec in extract_snippets(path.read_text(encoding="utf-8"), path, "toml")]


@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
def test_spec_block_is_a_valid_experiment_spec(spec: Snippet, tmp_path: Path) -> None:
    from lsbo.experiment import load_spec

    path = tmp_path / "spec.toml"
    path.write_text(spec.code, encoding="utf-8")
    loaded = load_spec(path)  # a ConfigError naming the line and key if the guide's spec is wrong
    assert loaded.models, f"{spec.name}: the spec has no [[model]]"


def test_the_guide_has_a_spec_block() -> None:
    assert any(s.path.name == "experiments.md" for s in SPECS)
