"""``cli_message``: library errors name parameters, the command line shows the flags (one place)."""

from __future__ import annotations

from lsbo.errors import ConfigError, DataError, LsboError, ObjectiveError
from lsbo_cli.main import cli_message


def test_a_leading_parameter_becomes_its_flag_and_prose_keeps_the_word() -> None:
    assert cli_message(ConfigError("learning_rate must be positive", parameter="learning_rate")) == "--lr must be positive"
    # one name: only where the message starts with it (the same word later is prose)
    assert (cli_message(ConfigError("device cuda: no CUDA device is available here", parameter="device"))
            == "--device cuda: no CUDA device is available here")
    assert cli_message(ConfigError("nothing to map")) == "nothing to map"


def test_every_subclass_carries_the_parameter() -> None:
    for error in (DataError("data x: not found", parameter="data"),
                  ObjectiveError("target 'x': expected one of", parameter="target")):
        assert isinstance(error, LsboError) and error.parameter is not None
    assert cli_message(DataError("data x: not found", parameter="data")) == "--data x: not found"
    assert cli_message(ObjectiveError("target 'x': bad", parameter="target")) == "--target 'x': bad"
    missing = DataError("mnist train split not found in /x/data/mnist; pass the directory as data_dir", parameter=("data_dir",))
    assert cli_message(missing, "images") == "mnist train split not found in /x/data/mnist; pass the directory as --data"


def test_a_tuple_maps_every_whole_word_occurrence_and_flags_follow_the_command() -> None:
    error = ConfigError("batch_size 5000 asks batch EI for 3 GiB; use a smaller batch_size", parameter=("batch_size",))
    assert cli_message(error, "optimize") == "--batch 5000 asks batch EI for 3 GiB; use a smaller --batch"
    assert cli_message(error, "train").startswith("--batch-size 5000")  # the training batch size
    choice = ConfigError("acquisition.name 'ts' with strategy protocol: expected one of qlogei, qei",
                         parameter=("acquisition.name", "strategy"))
    assert cli_message(choice, "optimize") == "--acquisition 'ts' with --strategy protocol: expected one of qlogei, qei"
    # an experiment's settings come from its spec file, whose keys are the parameter names
    assert cli_message(choice, "experiment") == str(choice)
