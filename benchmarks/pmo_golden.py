"""Golden values of the PMO tasks, computed by GuacaMol's own scoring functions (not by lsbo).

Writes ``tests/objectives/data/pmo_golden.json``, which ``tests/objectives/test_pmo_golden.py``
checks lsbo's tasks against without GuacaMol installed. Run it in a separate virtual environment
that has ``guacamol==0.5.5`` (installed with ``--no-deps``) beside the RDKit, NumPy and SciPy lsbo
uses; GuacaMol 0.5.5 imports ``scipy.histogram`` (removed from SciPy) and the ``fcd`` package (used
by its distribution benchmarks only), so this script puts back the one and stubs the other before
importing it::

    python benchmarks/pmo_golden.py --smiles ZINC_SUBSET.smi --every 100 --out tests/objectives/data/pmo_golden.json

The molecules are every ``--every``-th line of the SMILES file, each task's reference molecules,
and edge cases (salts, charges, isotopes, explicit hydrogens, exact isomers of the formula tasks,
SMARTS matches, invalid strings). A string lsbo cannot parse is stored with ``null`` scores (GuacaMol
gives it its corrupt score -1). ``sa`` is RDKit's Contrib ``sascorer`` as TDC uses it.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import os
import platform
import sys
import types

import numpy
import scipy

scipy.histogram = numpy.histogram  # type: ignore[attr-defined]  # GuacaMol 0.5.5 imports it from SciPy
sys.modules.setdefault("fcd", types.ModuleType("fcd"))  # only its Frechet benchmark uses FCD

from guacamol import standard_benchmarks as sb  # noqa: E402
from rdkit import Chem, RDLogger, rdBase  # noqa: E402
from rdkit.Chem import RDConfig  # noqa: E402


# name (TDC's) -> GuacaMol's scoring function, as in goal_directed_suite_v2 (isomers_c7h8n2o2: its
# own benchmark, geometric mean; qed: qed_benchmark)
def guacamol_tasks() -> dict[str, object]:
    suite = {
        "qed": sb.qed_benchmark(),
        "celecoxib_rediscovery": sb.similarity(smiles="CC1=CC=C(C=C1)C1=CC(=NN1C1=CC=C(C=C1)S(N)(=O)=O)C(F)(F)F",
                                               name="Celecoxib", fp_type="ECFP4", threshold=1.0, rediscovery=True),
        "troglitazone_rediscovery": sb.similarity(smiles="Cc1c(C)c2OC(C)(COc3ccc(CC4SC(=O)NC4=O)cc3)CCc2c(C)c1O",
                                                  name="Troglitazone", fp_type="ECFP4", threshold=1.0, rediscovery=True),
        "thiothixene_rediscovery": sb.similarity(smiles="CN(C)S(=O)(=O)c1ccc2Sc3ccccc3C(=CCCN4CCN(C)CC4)c2c1",
                                                 name="Thiothixene", fp_type="ECFP4", threshold=1.0, rediscovery=True),
        "albuterol_similarity": sb.similarity(smiles="CC(C)(C)NCC(O)c1ccc(O)c(CO)c1", name="Albuterol",
                                              fp_type="FCFP4", threshold=0.75),
        "mestranol_similarity": sb.similarity(smiles="COc1ccc2[C@H]3CC[C@@]4(C)[C@@H](CC[C@@]4(O)C#C)[C@@H]3CCc2c1",
                                              name="Mestranol", fp_type="AP", threshold=0.75),
        "isomers_c7h8n2o2": sb.isomers_c7h8n2o2(),
        "isomers_c9h10n2o2pf2cl": sb.isomers_c9h10n2o2pf2cl(),
        "median1": sb.median_camphor_menthol(),
        "median2": sb.median_tadalafil_sildenafil(),
        "osimertinib_mpo": sb.hard_osimertinib(),
        "fexofenadine_mpo": sb.hard_fexofenadine(),
        "ranolazine_mpo": sb.ranolazine_mpo(),
        "perindopril_mpo": sb.perindopril_rings(),
        "amlodipine_mpo": sb.amlodipine_rings(),
        "sitagliptin_mpo": sb.sitagliptin_replacement(),
        "zaleplon_mpo": sb.zaleplon_with_other_formula(),
        "valsartan_smarts": sb.valsartan_smarts(),
        "deco_hop": sb.decoration_hop(),
        "scaffold_hop": sb.scaffold_hop(),
    }
    return {name: benchmark.objective for name, benchmark in suite.items()}


REFERENCE_MOLECULES = [
    "CC1=CC=C(C=C1)C1=CC(=NN1C1=CC=C(C=C1)S(N)(=O)=O)C(F)(F)F",  # celecoxib
    "Cc1c(C)c2OC(C)(COc3ccc(CC4SC(=O)NC4=O)cc3)CCc2c(C)c1O",  # troglitazone
    "CN(C)S(=O)(=O)c1ccc2Sc3ccccc3C(=CCCN4CCN(C)CC4)c2c1",  # thiothixene
    "CC(C)(C)NCC(O)c1ccc(O)c(CO)c1",  # albuterol
    "COc1ccc2[C@H]3CC[C@@]4(C)[C@@H](CC[C@@]4(O)C#C)[C@@H]3CCc2c1",  # mestranol
    "CC1(C)C2CCC1(C)C(=O)C2",  # camphor
    "CC(C)C1CCC(C)CC1O",  # menthol
    "O=C1N(CC(N2C1CC3=C(C2C4=CC5=C(OCO5)C=C4)NC6=C3C=CC=C6)=O)C",  # tadalafil
    "CCCC1=NN(C2=C1N=C(NC2=O)C3=C(C=CC(=C3)S(=O)(=O)N4CCN(CC4)C)OCC)C",  # sildenafil
    "COc1cc(N(C)CCN(C)C)c(NC(=O)C=C)cc1Nc2nccc(n2)c3cn(C)c4ccccc34",  # osimertinib
    "CC(C)(C(=O)O)c1ccc(cc1)C(O)CCCN2CCC(CC2)C(O)(c3ccccc3)c4ccccc4",  # fexofenadine
    "COc1ccccc1OCC(O)CN2CCN(CC(=O)Nc3c(C)cccc3C)CC2",  # ranolazine
    "O=C(OCC)C(NC(C(=O)N1C(C(=O)O)CC2CCCCC12)C)CCC",  # perindopril
    r"Clc1ccccc1C2C(=C(/N/C(=C2/C(=O)OCC)COCCN)C)\C(=O)OC",  # amlodipine
    "Fc1cc(c(F)cc1F)CC(N)CC(=O)N3Cc2nnc(n2CC3)C(F)(F)F",  # sitagliptin
    "NC(CC(=O)N1CCn2c(nnc2C(F)(F)F)C1)Cc1cc(F)c(F)cc1F",  # sitagliptin, as valsartan_smarts writes it
    "O=C(C)N(CC)C1=CC=CC(C2=CC=NC3=C(C=NN23)C#N)=C1",  # zaleplon
    "CCCOc1cc2ncnc(Nc3ccc4ncsc4c3)c2cc1S(=O)(=O)C(C)(C)C",  # deco/scaffold hop start
]

EDGE_CASES = [
    "Cc1ccc(N)c([N+](=O)[O-])c1",  # an exact C7H8N2O2 isomer
    "Nc1ccc(C(=O)O)cc1N",  # another C7H8N2O2
    "NC(=O)c1ccc(O)c(N)c1",  # another C7H8N2O2
    "OC(=O)C(N)Cc1cc(F)c(F)cc1OP(Cl)N",  # near C9H10N2O2PF2Cl
    "NC(Cc1cc(F)c(F)cc1)C(=O)OP(N)Cl",  # an exact C9H10N2O2PF2Cl isomer
    "CCCCC(=O)N(Cc1ccc(cc1)-c1ccccc1-c1nn[nH]n1)C(C(C)C)C(O)=O",  # valsartan (matches the SMARTS)
    "CN(C=O)Cc1ccc(-c2ccccc2)cc1",  # the valsartan SMARTS as a molecule
    # the valsartan SMARTS with properties nearer sitagliptin's (scores 1e-5 to 0.03)
    "NCC(=O)N(C=O)Cc1ccc(-c2ccc(F)cc2)cc1",
    "CN(C=O)Cc1ccc(-c2ccc(C(N)=O)cc2O)cc1",
    "O=CN(CC(N)=O)Cc1ccc(-c2cc(F)c(F)cc2F)cc1",
    "O=CN(CCN)Cc1ccc(-c2ccc(F)cc2F)cc1C(=O)N",
    "NC(=O)CN(C=O)Cc1ccc(-c2ccc(cc2)C(F)(F)F)cc1",
    "COc1cc2ncnc(Nc3ccccc3)c2cc1O",  # keeps the quinazoline scaffold
    "CCCOc1cc(Nc2ccc3ncsc3c2)ccc1N",  # keeps the decoration
    "CC(=O)[O-].[Na+]",  # a salt: two fragments
    "C[N+](C)(C)C",  # a cation
    "[13CH4]",  # an isotope
    "[2H]OC([2H])([2H])[2H]",  # deuterium
    "[H]OC([H])([H])[H]",  # explicit hydrogens
    "C",  # methane
    "[Cl-]",  # one charged atom
    "F[B-](F)(F)F",  # tetrafluoroborate
    "C1CCCCCCCCCCCCCCCCC1",  # a macrocycle
    "c1ccc2cc3ccccc3cc2c1",  # anthracene
    "O=C(O)C[C@H](N)C(=O)O",  # a stereocentre
    "C/C=C/C",  # a stereo double bond
    "FC(F)(F)C(F)(F)C(F)(F)F",  # perfluoropropane
    "OP(=O)(O)OP(=O)(O)O",  # pyrophosphoric acid
    "CCN(CC)CCNC(=O)c1ccc(N)cc1",  # procainamide
    "Cn1cnc2c1c(=O)n(C)c(=O)n2C",  # caffeine
    # not valid molecules: lsbo gives no score
    "C1CC",
    "c1cccc1",
    "CC(C)(C)(C)C",
    "xyz",
    "",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smiles", required=True, help="a SMILES file, one molecule a line")
    parser.add_argument("--every", type=int, default=100, help="take every N-th line")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    RDLogger.DisableLog("rdApp.*")

    corrupt: list[str] = []

    class Recorder(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            corrupt.append(record.getMessage())

    logging.getLogger("guacamol").addHandler(Recorder())
    logging.getLogger("guacamol").setLevel(logging.WARNING)

    with open(args.smiles) as handle:
        lines = [line.strip() for line in handle if line.strip()]
    molecules = lines[:: args.every] + REFERENCE_MOLECULES + EDGE_CASES

    spec = importlib.util.spec_from_file_location("sascorer", os.path.join(RDConfig.RDContribDir, "SA_Score", "sascorer.py"))
    assert spec is not None and spec.loader is not None
    sascorer = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sascorer)

    tasks = guacamol_tasks()
    rows = []
    for smiles in molecules:
        mol = Chem.MolFromSmiles(smiles) if smiles else None
        scores: dict[str, float | None] = {}
        for name, function in tasks.items():
            value = float(function.score(smiles))  # type: ignore[attr-defined]
            if mol is None:
                assert smiles == "" or value == -1.0, (name, smiles, value)  # GuacaMol's corrupt score
                scores[name] = None
            else:
                assert value != -1.0, (name, smiles)
                scores[name] = value
        scores["sa"] = None if mol is None else float(sascorer.calculateScore(mol))
        rows.append({"smiles": smiles, "scores": scores})
    if corrupt:
        raise SystemExit(f"GuacaMol failed on some molecules: {corrupt[:3]}")

    from importlib.metadata import version

    names = [*tasks, "sa"]
    header = {
        "produced_by": "benchmarks/pmo_golden.py: GuacaMol's own scoring functions (goal_directed_suite_v2 definitions)",
        "versions": {"guacamol": version("guacamol"), "rdkit": rdBase.rdkitVersion, "numpy": numpy.__version__,
                     "python": platform.python_version()},
        "molecules": f"every {args.every}th line of {os.path.basename(args.smiles)}, the tasks' reference molecules, edge cases",
        "tasks": names,
    }
    # one molecule a line: [SMILES, [score of each task in the order of "tasks"]]
    body = ",\n".join(json.dumps([row["smiles"], [row["scores"][name] for name in names]]) for row in rows)
    with open(args.out, "w") as handle:
        handle.write(json.dumps(header, indent=1)[:-2] + ',\n "rows": [\n' + body + "\n]}\n")
    print(f"{len(rows)} molecules x {len(tasks) + 1} tasks -> {args.out}")


if __name__ == "__main__":
    main()
