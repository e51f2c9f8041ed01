"""lsbo.distributed: the torchrun environment, batch slices, the GMM-KS terms over the gathered global batch,
and ``torchrun -m lsbo_cli train`` matching one process."""

from __future__ import annotations

import csv
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from lsbo.distributed import DataParallel, shard, torchrun_environment
from lsbo.errors import ConfigError
from tests.cli.test_train_cli import tiny_train_args


def test_the_torchrun_environment_names_a_group_of_two_or_more():
    assert torchrun_environment({}) is None
    assert torchrun_environment({"WORLD_SIZE": "1", "RANK": "0", "LOCAL_RANK": "0"}) is None
    assert torchrun_environment({"WORLD_SIZE": "4", "RANK": "3", "LOCAL_RANK": "1"}) == DataParallel(3, 4, 1)
    with pytest.raises(ConfigError, match="RANK 4 is outside WORLD_SIZE 2"):
        torchrun_environment({"WORLD_SIZE": "2", "RANK": "4", "LOCAL_RANK": "0"})
    with pytest.raises(ConfigError, match="whole numbers"):
        torchrun_environment({"WORLD_SIZE": "two"})


def test_each_rank_gets_its_contiguous_slice_of_the_global_batch():
    batch = torch.arange(12).reshape(6, 2)
    slices = [shard((batch, {"x": batch}), DataParallel(rank, 3, rank)) for rank in range(3)]
    assert torch.equal(torch.cat([s[0] for s in slices]), batch)
    assert all(torch.equal(s[0], s[1]["x"]) for s in slices)
    with pytest.raises(ConfigError, match="choose a batch_size divisible by torchrun's --nproc-per-node$"):
        shard(batch, DataParallel(0, 4, 0))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _gmm_total(regularizer, codes: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    terms = regularizer.loss_terms(codes * scale)  # the codes depend on a parameter every rank shares
    return terms["ks"] + terms["cv"]


def _gradient_on_two_ranks(rank: int, port: int, codes: torch.Tensor, out: str) -> None:
    """One rank of a 2-process gloo group: GMM terms of its half of ``codes``, the parameter gradient averaged as DDP does."""
    import torch.distributed as dist

    from lsbo.regularizers.gmm import GMMRegularizer

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2)
    try:
        regularizer = GMMRegularizer(3, n_components=4, batch_size=codes.shape[0], seed=0, n_weight_batches=5)
        scale = torch.ones(3, requires_grad=True)
        total = _gmm_total(regularizer, codes[rank * 4 : (rank + 1) * 4], scale)
        total.backward()
        dist.all_reduce(scale.grad)
        scale.grad /= 2
        if rank == 0:
            torch.save({"total": total.detach(), "gradient": scale.grad}, out)
    finally:
        dist.destroy_process_group()


def test_gmm_terms_over_the_gathered_batch_give_the_one_process_loss_and_gradient(tmp_path):
    from lsbo.regularizers.gmm import GMMRegularizer
    from lsbo.regularizers.losses import ks_loss

    codes = torch.randn(8, 3, generator=torch.Generator().manual_seed(1))
    out = str(tmp_path / "rank0.pt")
    # forked ranks start at once (spawned ones would import torch and lsbo again)
    torch.multiprocessing.start_processes(_gradient_on_two_ranks, args=(_free_port(), codes, out), nprocs=2,
                                          start_method="fork")
    two = torch.load(out)

    regularizer = GMMRegularizer(3, n_components=4, batch_size=8, seed=0, n_weight_batches=5)
    scale = torch.ones(3, requires_grad=True)
    total = _gmm_total(regularizer, codes, scale)
    total.backward()
    # two ranks' copies of the global loss, reduce-scattered by the gather and averaged by DDP: the one-process gradient
    assert torch.allclose(two["total"], total.detach(), rtol=1e-6)
    assert torch.allclose(two["gradient"], scale.grad, rtol=1e-5, atol=1e-7)
    # the alternative, each rank's own 4 codes, is a different statistic from the one the weights are for
    per_rank = (ks_loss(codes[:4], regularizer.prior) + ks_loss(codes[4:], regularizer.prior)) / 2
    assert not torch.isclose(per_rank, ks_loss(codes, regularizer.prior), rtol=1e-3)


def _metrics(model_dir: Path) -> list[dict[str, float]]:
    with open(model_dir / "metrics.csv", newline="") as handle:
        return [{k: float(v) for k, v in row.items() if k != "time_s"} for row in csv.DictReader(handle)]


def _torchrun(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, OMP_NUM_THREADS="1", COLUMNS="200")
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", "-m", "lsbo_cli", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)


def test_torchrun_on_two_cpu_processes_matches_one_process_and_resumes(tmp_path: Path, expr_dataset_path: Path, cli):
    one = tmp_path / "one"
    single = cli(*tiny_train_args(expr_dataset_path, one, epochs=2), env={"OMP_NUM_THREADS": "1"})
    assert single.returncode == 0, single.stderr[-2000:]

    two = tmp_path / "two"
    first = _torchrun(*tiny_train_args(expr_dataset_path, two, epochs=1))
    assert first.returncode == 0, first.stderr[-3000:]
    assert first.stdout.count("done: 1 epochs") == 1  # rank 0 alone reports (and writes)
    assert sorted(p.name for p in two.glob("checkpoint*")) == ["checkpoint.pt"]
    resumed = _torchrun(*tiny_train_args(expr_dataset_path, two, epochs=2), "--resume")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resuming from" in resumed.stderr

    expected, got = _metrics(one), _metrics(two)
    assert [row["epoch"] for row in got] == [1.0, 2.0]
    for reference, row in zip(expected, got):
        assert row.keys() == reference.keys()
        for key in reference:
            assert row[key] == pytest.approx(reference[key], rel=1e-4, abs=1e-6), key
