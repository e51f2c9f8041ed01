"""Package discovery only; all metadata lives in pyproject.toml.

`cli/` and `grammars/` are installed under the names `lsbo_cli` and `lsbo_grammars` (see
`package-dir` in pyproject.toml); setuptools' automatic discovery cannot express that beside
`lsbo`'s own sub-packages, hence this file.
"""

from setuptools import find_packages, setup

setup(packages=find_packages(include=["lsbo", "lsbo.*"]) + ["lsbo_cli", "lsbo_grammars"])
