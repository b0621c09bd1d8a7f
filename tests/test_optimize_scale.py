"""Scale-out: --jobs 2 (threads with the kernel) and a Dask cluster give exactly the single-process results
(worker processes: tests/test_search_work_once.py)."""
from __future__ import annotations

import csv

import pytest

import main
from tests.optimize_helpers import write_small_sample

SEARCH = ["--start", "2023-02-01", "--end", "2023-02-02", "--param", "strategy.exit.take_profit_pct=0.5,2",
          "--param", "strategy.signal.centerline=45,55"]


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    return write_small_sample(tmp_path_factory.mktemp("sample"))


def rows_of(sample, out, *where: str) -> list[list[str]]:
    assert main.main(["optimize", "--data", str(sample), *SEARCH, "--out", str(out), *where]) == 0
    with open(out / "results.csv", newline="") as handle:
        return list(csv.reader(handle))  # finished rows are put back in grid order at the end


def test_two_jobs_equal_one_process(sample, tmp_path, capsys):
    alone = rows_of(sample, tmp_path / "one", "--jobs", "1")
    assert len(alone) == 5
    assert rows_of(sample, tmp_path / "pool", "--jobs", "2") == alone
    assert (tmp_path / "pool" / "best.yaml").read_text() == (tmp_path / "one" / "best.yaml").read_text()


def test_dask_cluster_equals_one_process(sample, tmp_path, capsys):
    import distributed  # a dev requirement (requirements-dev.txt); optional for users

    alone = rows_of(sample, tmp_path / "one", "--jobs", "1")
    cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, protocol="tcp",
                                       host="127.0.0.1",
                                       dashboard_address=None)
    try:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        assert rows_of(sample, tmp_path / "dask", "--cluster", cluster.scheduler_address) == alone
    finally:
        cluster.close()
    assert (tmp_path / "dask" / "best.yaml").read_text() == (tmp_path / "one" / "best.yaml").read_text()


def test_an_unreachable_cluster_is_one_sentence(sample, tmp_path, capsys):
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert main.main(["optimize", "--data", str(sample), *SEARCH, "--out", str(tmp_path / "x"),
                      "--cluster", f"tcp://127.0.0.1:{port}"]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and f"cannot reach the Dask scheduler at tcp://127.0.0.1:{port}" in error[0]
