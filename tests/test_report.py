"""The embedded paper numbers match the reference file, and the tables/plots are written."""

from __future__ import annotations

from pathlib import Path

import pytest

from lsbo.report import PAPER_TABLE2, PAPER_TABLE3, bo_table_markdown, draw_molecule_grid, parse_paper_bo_tables, plot_best_so_far


def test_embedded_paper_tables_match_reference(shared_data: Path) -> None:
    reference = shared_data.parent / "reference" / "paper_results.md"
    if not reference.is_file():
        pytest.skip(f"{reference} not available")
    table2, table3 = parse_paper_bo_tables(reference.read_text(encoding="utf-8"))
    assert set(table2) == set(PAPER_TABLE2) and set(table3) == set(PAPER_TABLE3)
    for model, columns in PAPER_TABLE2.items():
        for task in ("expr", "mol"):
            assert table2[model][task] == pytest.approx(columns[task])
            for quantity in ("valid", "score"):
                assert table3[model][task][quantity] == pytest.approx(PAPER_TABLE3[model][task][quantity])


def _results(target: str, maximize: bool) -> dict:
    return {
        "target": target, "maximize": maximize, "n_trials": 2,
        "aggregate": {
            "top3": [{"score": 0.5, "string": "x + 1", "trial": 1}, {"score": 0.7, "string": "x", "trial": 2}],
            "fraction_valid_mean": 0.95, "fraction_valid_std": 0.05, "average_score_mean": 2.5, "average_score_std": 0.25,
        },
    }


def _rows(markdown: str) -> list[list[str]]:
    """The cells of every table row (pandas pads the columns to a common width)."""
    return [[cell.strip() for cell in line.strip().strip("|").split("|")] for line in markdown.splitlines() if line.startswith("|")]


def test_table_puts_ours_beside_the_paper_rows() -> None:
    rows = _rows(bo_table_markdown(_results("expr", False), "my-model"))
    assert ["GMM-DAE (paper)", "0.03", "0.40", "0.41"] in rows
    assert ["**my-model (ours)**", "0.50", "0.70", "-"] in rows
    assert ["**my-model (ours)**", "0.95 +- 0.05", "2.50 +- 0.25"] in rows
    assert ["GVAE", "0.28 +- 0.04", "-7.89 +- 1.90"] in _rows(bo_table_markdown(_results("logp", True), "m"))
    qed = bo_table_markdown(_results("qed", True), "m")
    assert "GVAE" not in qed and "reports no numbers" in qed


def test_every_table_names_its_unit_and_only_logp_shows_the_paper_rows() -> None:
    logp = bo_table_markdown(_results("logp", True), "m")
    unit_line = "Unit of every score column: penalized logP standardised with the fixed ZINC250k constants 'zinc250k'"
    assert logp.count(unit_line) == 3  # Table 2, Table 3 and the top strings
    for other in ("logp-dataset", "logp-raw"):
        text = bo_table_markdown(_results(other, True), "m")
        assert "GVAE" not in text and "unit of target logp" in text
        assert unit_line not in text and text.count("Unit of every score column:") == 3
    assert "Unit of every score column: log(1 + MSE)" in bo_table_markdown(_results("expr", False), "m")


def test_best_so_far_plot_and_molecule_grid(tmp_path: Path) -> None:
    trials = {1: [{"score": 3.0}, {"score": None}, {"score": 1.0}], 2: [{"score": 2.0}]}
    plot_best_so_far(trials, tmp_path / "best.png", maximize=False, training_best=2.5, title="t")
    assert (tmp_path / "best.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert draw_molecule_grid(["c1ccccc1", "CCO", "not-a-molecule"], [1.0, 2.0, 3.0], tmp_path / "grid.png")
    assert (tmp_path / "grid.png").stat().st_size > 1000
    assert not draw_molecule_grid(["((("], [1.0], tmp_path / "none.png")


def test_table_states_the_best_training_score_and_the_warnings() -> None:
    results = _results("expr", False) | {"best_training_score": 1.25, "warnings": ["every valid candidate (9 of 9) is the same string 'x'"]}
    text = bo_table_markdown(results, "m")
    assert ["best training string (ours)", "1.25", "-", "-"] in _rows(text)
    assert text.startswith("> **Warning:** every valid candidate (9 of 9) is the same string 'x'")
    assert "Warning" not in bo_table_markdown(_results("expr", False), "m")


def test_degenerate_candidates_and_models_are_warned_about() -> None:
    from lsbo.diagnostics import candidate_warnings, model_warnings

    same = [{"string": "x", "valid": True}] * 20
    assert "is the same string 'x'" in candidate_warnings(same)[0]
    few = [{"string": f"s{i % 2}", "valid": True} for i in range(1000)]  # uniqueness 0.002
    assert "uniqueness 0.002" in candidate_warnings(few)[0]
    assert "none of the 3 evaluated candidates was valid" in candidate_warnings([{"string": None, "valid": False}] * 3)[0]
    assert candidate_warnings([{"string": f"s{i}", "valid": True} for i in range(10)]) == []
    evaluation = {"reconstruction_accuracy": 0.0, "n_reconstructed": 50, "validity": 1.0, "uniqueness": 0.001, "n_unique": 1}
    assert model_warnings(evaluation) == ["the model reconstructs none of its 50 validation strings",
                                          "prior samples are nearly all the same string: uniqueness 0.001 (1 distinct)"]
    assert model_warnings({"reconstruction_accuracy": 0.8, "n_reconstructed": 50, "validity": 0.9, "uniqueness": 0.9}) == []
    merging = {"reconstruction_accuracy": 0.7, "n_reconstructed": 1000, "validity": 0.9, "uniqueness": 0.9,
               "n_merged_misses": 10, "merged_example": ["x * 1", "1 * 1"]}
    assert model_warnings(merging) == ["10 of the 1000 validation strings decode to another string with the same latent "
                                       "code (e.g. 'x * 1' comes back as '1 * 1'): the encoder cannot tell them apart, "
                                       "so no decoder can"]
    assert model_warnings({**merging, "n_merged_misses": 9}) == []  # under 1% of the strings: not a collapse
    assert model_warnings({**merging, "merged_example": None})[0].startswith("10 of the 1000 validation strings "
                                                                              "decode to another string with the same latent code:")
    edge = {"reconstruction_accuracy": 0.6, "n_reconstructed": 1000, "validity": 0.9, "uniqueness": 0.9,
            "n_first_symbol_misses": 390, "conv_padding": "valid"}
    assert model_warnings(edge) == ["390 of the 400 validation strings that do not come back are wrong from their first "
                                    "symbol on; the encoder's unpadded convolutions read that symbol through a single "
                                    "window per layer, and --conv-padding full gives it as many windows as the others"]
    assert model_warnings({**edge, "conv_padding": "full"}) == [
        "390 of the 400 validation strings that do not come back are wrong from their first symbol on"]
    assert model_warnings({**edge, "n_first_symbol_misses": 199}) == []  # under half of the misses
    assert model_warnings({**edge, "reconstruction_accuracy": 0.995, "n_first_symbol_misses": 5}) == []  # under 1% of the strings


def test_best_so_far_figure_has_title_axes_and_one_curve_per_trial() -> None:
    import matplotlib.pyplot as plt

    from lsbo.report import best_so_far_figure, best_so_far_title

    results = {"target": "expr", "n_trials": 2, "settings": {"iterations": 5, "batch_size": 50}}
    title = best_so_far_title(results, "expr-gmm")
    assert title == "Bayesian optimisation of expr in the latent space of expr-gmm\n2 trial(s) x 5 iterations x 50 points"
    trials = {1: [{"score": 3.0}, {"score": None}, {"score": 1.0}], 2: [{"score": 2.0}, {"score": 2.5}]}
    figure = best_so_far_figure(trials, maximize=False, training_best=2.5, title=title, target="expr")
    axes = figure.axes[0]
    assert axes.get_title() == title and axes.get_xlabel() == "oracle calls in the trial"
    assert axes.get_ylabel() == "best expr so far (lower is better)"
    assert [t.get_text() for t in axes.get_legend().get_texts()] == ["trial 1", "trial 2", "best training string"]
    assert list(axes.lines[0].get_ydata()) == [3.0, 3.0, 1.0] and list(axes.lines[1].get_ydata()) == [2.0, 2.0]
    plt.close(figure)
