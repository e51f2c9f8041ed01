"""Experiments from one spec file: models x training seeds, BO strategies x trials, tables with error bars.

``lsbo experiment run SPEC.toml`` trains, evaluates and optimises whatever is missing (resumably, in
parallel processes through :mod:`lsbo.executors`) and writes the tables; ``lsbo experiment status``
shows what is done. See :mod:`lsbo.experiment.spec` for the file format.
"""

from lsbo.experiment.runner import Layout, run_experiment, status_rows
from lsbo.experiment.spec import ExperimentSpec, load_spec
from lsbo.experiment.tables import write_tables

__all__ = ["ExperimentSpec", "Layout", "load_spec", "run_experiment", "status_rows", "write_tables"]
