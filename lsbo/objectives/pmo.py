"""The RDKit-only oracles of the PMO benchmark (Gao et al., NeurIPS 2022), as GuacaMol defines them.

PMO ranks molecule optimisers on 23 oracles taken from TDC; twenty of them are GuacaMol's
goal-directed tasks (Brown et al., 2019) and need RDKit alone. Each task here is built from four
kinds of term, every one a number in [0, 1] for one molecule:

- :class:`Similarity`: the Tanimoto similarity of a fingerprint of the molecule to that of a fixed
  target (count-based Morgan ``ECFP4``/``ECFP6``/``FCFP4``, count-based atom pairs ``AP`` up to
  distance 10, or the 2D pharmacophore ``PHCO`` of Gobbi & Poppinger), optionally through a modifier;
- :class:`Descriptor`: an RDKit descriptor (logP, TPSA, Bertz, ring counts, an element count)
  through a modifier;
- :class:`Substructure`: 1 when a SMARTS pattern matches (or, for an anti-pattern, does not), else 0;
- :class:`Formula`: closeness to a molecular formula, the geometric mean of one Gaussian per element
  count (width 1) and one on the total atom count, hydrogens included (width 2);

combined by a geometric or arithmetic mean (:class:`Task`). The modifiers are GuacaMol's:
:class:`Gaussian`, its one-sided forms :class:`MinGaussian` (1 at or below ``mu``) and
:class:`MaxGaussian` (1 at or above ``mu``), and :class:`Clipped` (linear from 0 at 0 to 1 at
``upper``, clipped to [0, 1]). The definitions and where TDC's differ are in ``docs/objectives.md``;
``tests/objectives/test_pmo_golden.py`` checks every task against GuacaMol's own scores.

:data:`PMO_TASKS` registers them by their TDC names, with TDC's ``sa`` and the three classifier
oracles of :mod:`lsbo.objectives.tdc_models`; an invalid SMILES has no score (``None``). ``qed``,
PMO's twentieth RDKit task, is :class:`lsbo.objectives.qed.QED` (the same RDKit function).
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal, Protocol

from lsbo.objectives.base import Objective
from lsbo.objectives.logp import _molecule
from lsbo.objectives.sascore import SAScore
from lsbo.objectives.tdc_models import MODEL_FILES, TDCModelOracle
from lsbo.registry import Registry

__all__ = [
    "Clipped", "Descriptor", "Formula", "Gaussian", "MaxGaussian", "MinGaussian", "PMO_TASKS", "PMOObjective",
    "Similarity", "Substructure", "Task", "UNIT",
]

#: What the numbers of every task are.
UNIT = "PMO/GuacaMol task score (0 to 1)"


# --- score modifiers (GuacaMol's score_modifier definitions) -------------------------------------


class Modifier(Protocol):
    def __call__(self, x: float) -> float: ...


@dataclass(frozen=True)
class Gaussian:
    """``exp(-((x - mu) / sigma)^2 / 2)``: 1 at ``mu``."""

    mu: float
    sigma: float

    def __call__(self, x: float) -> float:
        return math.exp(-0.5 * ((x - self.mu) / self.sigma) ** 2)


@dataclass(frozen=True)
class MinGaussian:
    """1 for ``x <= mu``, the Gaussian's right half above (rewards staying under ``mu``)."""

    mu: float
    sigma: float

    def __call__(self, x: float) -> float:
        return Gaussian(self.mu, self.sigma)(max(x, self.mu))


@dataclass(frozen=True)
class MaxGaussian:
    """1 for ``x >= mu``, the Gaussian's left half below (rewards reaching ``mu``)."""

    mu: float
    sigma: float

    def __call__(self, x: float) -> float:
        return Gaussian(self.mu, self.sigma)(min(x, self.mu))


@dataclass(frozen=True)
class Clipped:
    """``x / upper`` clipped to [0, 1]: a similarity of ``upper`` or more is as good as identity."""

    upper: float

    def __call__(self, x: float) -> float:
        return min(1.0, max(0.0, x / self.upper))


# --- terms ---------------------------------------------------------------------------------------

FingerprintKind = Literal["ECFP4", "ECFP6", "FCFP4", "AP", "PHCO"]


def fingerprint(mol: Any, kind: FingerprintKind) -> Any:
    """The fingerprint GuacaMol names ``kind`` of an RDKit molecule (the vectors Tanimoto compares).

    ECFP4/ECFP6: Morgan counts of radius 2/3; FCFP4: Morgan counts of radius 2 on feature invariants;
    AP: atom-pair counts up to 10 bonds apart; PHCO: Gobbi's 2D pharmacophore bits. (RDKit's
    generators give the same vectors as the older ``GetMorganFingerprint`` and
    ``GetAtomPairFingerprint`` GuacaMol calls.)
    """
    from rdkit.Chem import rdFingerprintGenerator as generators

    if kind == "PHCO":
        from rdkit.Chem.Pharm2D import Generate, Gobbi_Pharm2D

        return Generate.Gen2DFingerprint(mol, Gobbi_Pharm2D.factory)
    if kind == "AP":
        return generators.GetAtomPairGenerator(maxDistance=10).GetSparseCountFingerprint(mol)
    radius = {"ECFP4": 2, "ECFP6": 3, "FCFP4": 2}[kind]
    if kind == "FCFP4":
        generator = generators.GetMorganGenerator(radius=radius, atomInvariantsGenerator=generators.GetMorganFeatureAtomInvGen())
    else:
        generator = generators.GetMorganGenerator(radius=radius)
    return generator.GetSparseCountFingerprint(mol)


def _parse(smiles: str) -> Any:
    mol = _molecule(smiles)
    if mol is None:
        raise ValueError(f"the target molecule {smiles!r} of a task does not parse")
    return mol


@dataclass(frozen=True)
class Similarity:
    """Tanimoto similarity of fingerprint ``kind`` to ``target`` (a SMILES), through ``modifier``."""

    target: str
    kind: FingerprintKind
    modifier: Modifier | None = None

    @cached_property
    def _target_fingerprint(self) -> Any:
        return fingerprint(_parse(self.target), self.kind)

    def __call__(self, mol: Any) -> float:
        from rdkit import DataStructs

        value = float(DataStructs.TanimotoSimilarity(fingerprint(mol, self.kind), self._target_fingerprint))
        return value if self.modifier is None else self.modifier(value)


def logp(mol: Any) -> float:
    """Wildman-Crippen logP (RDKit ``CalcCrippenDescriptors``, which ``Descriptors.MolLogP`` reads)."""
    from rdkit.Chem import rdMolDescriptors

    return float(rdMolDescriptors.CalcCrippenDescriptors(mol)[0])


def tpsa(mol: Any) -> float:
    """Topological polar surface area (RDKit ``CalcTPSA``, which ``Descriptors.TPSA`` is)."""
    from rdkit.Chem import rdMolDescriptors

    return float(rdMolDescriptors.CalcTPSA(mol))


def bertz(mol: Any) -> float:
    """Bertz's molecular complexity index (RDKit ``GraphDescriptors.BertzCT``)."""
    from rdkit.Chem import GraphDescriptors

    return float(GraphDescriptors.BertzCT(mol))


def ring_count(mol: Any) -> float:
    """Number of rings (SSSR, RDKit ``CalcNumRings``)."""
    from rdkit.Chem import rdMolDescriptors

    return float(rdMolDescriptors.CalcNumRings(mol))


def aromatic_ring_count(mol: Any) -> float:
    """Number of aromatic rings (RDKit ``CalcNumAromaticRings``)."""
    from rdkit.Chem import rdMolDescriptors

    return float(rdMolDescriptors.CalcNumAromaticRings(mol))


def element_count(element: str) -> Callable[[Any], float]:
    """The number of atoms of ``element`` (hydrogens made explicit first when ``element`` is H)."""

    def count(mol: Any) -> float:
        from rdkit import Chem

        atoms = Chem.AddHs(mol).GetAtoms() if element == "H" else mol.GetAtoms()
        return float(sum(1 for atom in atoms if atom.GetSymbol() == element))

    count.__name__ = f"count_{element}"
    return count


def atom_count(mol: Any) -> float:
    """The number of atoms, hydrogens included."""
    from rdkit import Chem

    return float(Chem.AddHs(mol).GetNumAtoms())


@dataclass(frozen=True)
class Descriptor:
    """``modifier(descriptor(mol))``."""

    descriptor: Callable[[Any], float]
    modifier: Modifier

    def __call__(self, mol: Any) -> float:
        return self.modifier(self.descriptor(mol))


@dataclass(frozen=True)
class Substructure:
    """1.0 when SMARTS ``pattern`` matches the molecule and ``present``, or does not match and not ``present``."""

    pattern: str
    present: bool = True

    @cached_property
    def _query(self) -> Any:
        from rdkit import Chem

        query = Chem.MolFromSmarts(self.pattern)
        if query is None:
            raise ValueError(f"SMARTS {self.pattern!r} of a task does not parse")
        return query

    def __call__(self, mol: Any) -> float:
        return 1.0 if mol.HasSubstructMatch(self._query) == self.present else 0.0


def geometric_mean(values: Sequence[float]) -> float:
    return math.prod(values) ** (1.0 / len(values))


def arithmetic_mean(values: Sequence[float]) -> float:
    return math.fsum(values) / len(values)


def parse_formula(formula: str) -> list[tuple[str, int]]:
    """``"C9H10N2O2PF2Cl"`` -> ``[("C", 9), ("H", 10), ("N", 2), ("O", 2), ("P", 1), ("F", 2), ("Cl", 1)]``."""
    return [(element, int(count) if count else 1) for element, count in re.findall(r"([A-Z][a-z]*)(\d*)", formula)]


@dataclass(frozen=True)
class Formula:
    """Closeness to molecular ``formula``: the geometric mean of ``Gaussian(n_e, 1)`` of each element's
    count and ``Gaussian(n, 2)`` of the total atom count with hydrogens (GuacaMol's isomer score)."""

    formula: str

    @cached_property
    def _terms(self) -> tuple[Descriptor, ...]:
        counts = parse_formula(self.formula)
        per_element = [Descriptor(element_count(element), Gaussian(n, 1.0)) for element, n in counts]
        return (*per_element, Descriptor(atom_count, Gaussian(sum(n for _, n in counts), 2.0)))

    def __call__(self, mol: Any) -> float:
        return geometric_mean([term(mol) for term in self._terms])


Term = Callable[[Any], float]


@dataclass(frozen=True)
class Task:
    """A PMO task: the ``mean`` (geometric or arithmetic) of its ``terms`` on a molecule."""

    name: str
    terms: tuple[Term, ...]
    mean: Literal["geometric", "arithmetic"] = "geometric"
    source: str = field(default="", compare=False)

    def score_mol(self, mol: Any) -> float:
        values = [term(mol) for term in self.terms]
        if len(values) == 1:
            return values[0]
        return geometric_mean(values) if self.mean == "geometric" else arithmetic_mean(values)


class PMOObjective(Objective):
    """A :class:`Task` as an objective (maximise, scores in [0, 1], ``None`` for an invalid SMILES)."""

    maximize = True
    unit = UNIT

    def __init__(self, task: Task) -> None:
        self.task = task
        self.name = task.name

    def __call__(self, strings: Sequence[str]) -> list[float | None]:
        scores: list[float | None] = []
        for string in strings:
            mol = _molecule(string)
            scores.append(None if mol is None else float(self.task.score_mol(mol)))
        return scores

    def is_valid(self, string: str) -> bool:
        return _molecule(string) is not None


# --- the tasks (GuacaMol's goal_directed_suite_v2 definitions, under TDC's names) ----------------

CELECOXIB = "CC1=CC=C(C=C1)C1=CC(=NN1C1=CC=C(C=C1)S(N)(=O)=O)C(F)(F)F"
TROGLITAZONE = "Cc1c(C)c2OC(C)(COc3ccc(CC4SC(=O)NC4=O)cc3)CCc2c(C)c1O"
THIOTHIXENE = "CN(C)S(=O)(=O)c1ccc2Sc3ccccc3C(=CCCN4CCN(C)CC4)c2c1"
ALBUTEROL = "CC(C)(C)NCC(O)c1ccc(O)c(CO)c1"
MESTRANOL = "COc1ccc2[C@H]3CC[C@@]4(C)[C@@H](CC[C@@]4(O)C#C)[C@@H]3CCc2c1"
CAMPHOR = "CC1(C)C2CCC1(C)C(=O)C2"
MENTHOL = "CC(C)C1CCC(C)CC1O"
TADALAFIL = "O=C1N(CC(N2C1CC3=C(C2C4=CC5=C(OCO5)C=C4)NC6=C3C=CC=C6)=O)C"
SILDENAFIL = "CCCC1=NN(C2=C1N=C(NC2=O)C3=C(C=CC(=C3)S(=O)(=O)N4CCN(CC4)C)OCC)C"
OSIMERTINIB = "COc1cc(N(C)CCN(C)C)c(NC(=O)C=C)cc1Nc2nccc(n2)c3cn(C)c4ccccc34"
FEXOFENADINE = "CC(C)(C(=O)O)c1ccc(cc1)C(O)CCCN2CCC(CC2)C(O)(c3ccccc3)c4ccccc4"
RANOLAZINE = "COc1ccccc1OCC(O)CN2CCN(CC(=O)Nc3c(C)cccc3C)CC2"
PERINDOPRIL = "O=C(OCC)C(NC(C(=O)N1C(C(=O)O)CC2CCCCC12)C)CCC"
AMLODIPINE = r"Clc1ccccc1C2C(=C(/N/C(=C2/C(=O)OCC)COCCN)C)\C(=O)OC"
SITAGLIPTIN = "Fc1cc(c(F)cc1F)CC(N)CC(=O)N3Cc2nnc(n2CC3)C(F)(F)F"
#: valsartan_smarts matches the properties of sitagliptin written as GuacaMol writes it there
SITAGLIPTIN_VALSARTAN = "NC(CC(=O)N1CCn2c(nnc2C(F)(F)F)C1)Cc1cc(F)c(F)cc1F"
ZALEPLON = "O=C(C)N(CC)C1=CC=CC(C2=CC=NC3=C(C=NN23)C#N)=C1"
DECO_SCAFFOLD_START = "CCCOc1cc2ncnc(Nc3ccc4ncsc4c3)c2cc1S(=O)(=O)C(C)(C)C"
QUINAZOLINE_SCAFFOLD = "[#7]-c1n[c;h1]nc2[c;h1]c(-[#8])[c;h0][c;h1]c12"


class _PropertyOf:
    """A descriptor's value on a fixed molecule, computed when first needed (task targets like
    "sitagliptin's logP" without parsing at import time)."""

    def __init__(self, descriptor: Callable[[Any], float], smiles: str) -> None:
        self.descriptor, self.smiles = descriptor, smiles

    @cached_property
    def value(self) -> float:
        return self.descriptor(_parse(self.smiles))


@dataclass(frozen=True)
class GaussianAround:
    """``Gaussian(mu, sigma)`` with ``mu`` a property of a reference molecule (resolved lazily)."""

    target: _PropertyOf
    sigma: float

    def __call__(self, x: float) -> float:
        return Gaussian(self.target.value, self.sigma)(x)


def _rediscovery(name: str, target: str) -> Task:
    return Task(name, (Similarity(target, "ECFP4", Clipped(1.0)),), source="GuacaMol similarity(rediscovery=True)")


def _tasks() -> list[Task]:
    sitagliptin_like = (
        Descriptor(logp, GaussianAround(_PropertyOf(logp, SITAGLIPTIN_VALSARTAN), 0.2)),
        Descriptor(tpsa, GaussianAround(_PropertyOf(tpsa, SITAGLIPTIN_VALSARTAN), 5.0)),
        Descriptor(bertz, GaussianAround(_PropertyOf(bertz, SITAGLIPTIN_VALSARTAN), 30.0)),
    )
    return [
        _rediscovery("celecoxib_rediscovery", CELECOXIB),
        _rediscovery("troglitazone_rediscovery", TROGLITAZONE),
        _rediscovery("thiothixene_rediscovery", THIOTHIXENE),
        Task("albuterol_similarity", (Similarity(ALBUTEROL, "FCFP4", Clipped(0.75)),), source="GuacaMol similarity"),
        Task("mestranol_similarity", (Similarity(MESTRANOL, "AP", Clipped(0.75)),), source="GuacaMol similarity"),
        Task("isomers_c7h8n2o2", (Formula("C7H8N2O2"),), source="GuacaMol isomers_c7h8n2o2"),
        Task("isomers_c9h10n2o2pf2cl", (Formula("C9H10N2O2PF2Cl"),), source="GuacaMol isomers_c9h10n2o2pf2cl"),
        Task("median1", (Similarity(MENTHOL, "ECFP4"), Similarity(CAMPHOR, "ECFP4")), source="GuacaMol median_camphor_menthol"),
        Task("median2", (Similarity(TADALAFIL, "ECFP6"), Similarity(SILDENAFIL, "ECFP6")),
             source="GuacaMol median_tadalafil_sildenafil"),
        Task("osimertinib_mpo", (
            Similarity(OSIMERTINIB, "FCFP4", Clipped(0.8)),
            Similarity(OSIMERTINIB, "ECFP6", MinGaussian(0.85, 0.1)),
            Descriptor(tpsa, MaxGaussian(100.0, 10.0)),
            Descriptor(logp, MinGaussian(1.0, 1.0)),
        ), source="GuacaMol hard_osimertinib"),
        Task("fexofenadine_mpo", (
            Similarity(FEXOFENADINE, "AP", Clipped(0.8)),
            Descriptor(tpsa, MaxGaussian(90.0, 10.0)),
            Descriptor(logp, MinGaussian(4.0, 1.0)),
        ), source="GuacaMol hard_fexofenadine"),
        Task("ranolazine_mpo", (
            Similarity(RANOLAZINE, "AP", Clipped(0.7)),
            Descriptor(logp, MaxGaussian(7.0, 1.0)),
            Descriptor(element_count("F"), Gaussian(1.0, 1.0)),
            Descriptor(tpsa, MaxGaussian(95.0, 20.0)),
        ), source="GuacaMol ranolazine_mpo"),
        Task("perindopril_mpo", (
            Similarity(PERINDOPRIL, "ECFP4"),
            Descriptor(aromatic_ring_count, Gaussian(2.0, 0.5)),
        ), source="GuacaMol perindopril_rings"),
        Task("amlodipine_mpo", (
            Similarity(AMLODIPINE, "ECFP4"),
            Descriptor(ring_count, Gaussian(3.0, 0.5)),
        ), source="GuacaMol amlodipine_rings"),
        Task("sitagliptin_mpo", (
            Similarity(SITAGLIPTIN, "ECFP4", Gaussian(0.0, 0.1)),
            Descriptor(logp, GaussianAround(_PropertyOf(logp, SITAGLIPTIN), 0.2)),
            Descriptor(tpsa, GaussianAround(_PropertyOf(tpsa, SITAGLIPTIN), 5.0)),
            Formula("C16H15F6N5O"),
        ), source="GuacaMol sitagliptin_replacement"),
        Task("zaleplon_mpo", (Similarity(ZALEPLON, "ECFP4"), Formula("C19H17N3O2")),
             source="GuacaMol zaleplon_with_other_formula"),
        Task("valsartan_smarts", (Substructure("CN(C=O)Cc1ccc(c2ccccc2)cc1"), *sitagliptin_like),
             source="GuacaMol valsartan_smarts"),
        Task("deco_hop", (
            Similarity(DECO_SCAFFOLD_START, "PHCO", Clipped(0.85)),
            Substructure("CS([#6])(=O)=O", present=False),
            Substructure("[#7]-c1ccc2ncsc2c1", present=False),
            Substructure(QUINAZOLINE_SCAFFOLD),
        ), mean="arithmetic", source="GuacaMol decoration_hop"),
        Task("scaffold_hop", (
            Similarity(DECO_SCAFFOLD_START, "PHCO", Clipped(0.75)),
            Substructure("[#6]-[#6]-[#6]-[#8]-[#6]~[#6]~[#6]~[#6]~[#6]-[#7]-c1ccc2ncsc2c1"),
            Substructure(QUINAZOLINE_SCAFFOLD, present=False),
        ), mean="arithmetic", source="GuacaMol scaffold_hop"),
    ]


#: PMO's oracles by their TDC names: the nineteen RDKit tasks beyond ``qed``, TDC's ``sa``, and the
#: classifier oracles ``drd2``, ``gsk3b``, ``jnk3`` (on model files the user supplies). Each entry is
#: an objective class or a ``functools.partial`` of one, called with no arguments to build the
#: objective (:func:`lsbo.objectives.build_objective` looks targets up here).
PMO_TASKS: Registry[Callable[[], Objective]] = Registry("target")
for _task in _tasks():
    PMO_TASKS.add(_task.name, functools.partial(PMOObjective, _task))
del _task
PMO_TASKS.add("sa", SAScore)
for _name in MODEL_FILES:
    PMO_TASKS.add(_name, functools.partial(TDCModelOracle, _name))
del _name
