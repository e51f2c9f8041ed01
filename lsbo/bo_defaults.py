"""The defaults of an optimisation run, in one place: :class:`lsbo.bo.BOConfig` and
:class:`lsbo.bo.retraining.RetrainOptions` take them, ``lsbo optimize`` shows them and an experiment
spec falls back on them. Light (no torch), so the command line can build its help from it.

The protocol's budget (docs/protocols.md §4): 5 trials of 5 iterations of 50 points.
"""

TRIALS = 5
ITERATIONS = 5
BATCH_SIZE = 50
#: inducing points of a sparse GP
N_INDUCING = 500
#: weighted retraining (Tripp et al. 2020): the rank-weighting k and the epochs of each fine-tuning
RANK_K = 1e-3
RETRAIN_EPOCHS = 1
