"""The ``lsbo`` command line (installed as the ``lsbo_cli`` package): a thin Typer layer over the
library API. One module per command group; each exposes ``register(app)``. Modules import heavy
libraries (torch, rdkit, botorch) inside their commands so ``lsbo --help`` stays fast."""
