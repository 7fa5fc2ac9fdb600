# toyformer.sweep: the same runs as `toyformer sweep` (runs.csv, summary.csv, sweep.json and the plots byte for byte),
# DataFrames with the CSVs' columns, save(), display.
import os

import numpy as np
import pytest

import toyformer
from conftest import cli

pd = pytest.importorskip("pandas")


@pytest.mark.parametrize("kw, flags", [
    (dict(H=[10, 20], seeds=6, epochs=400), ["--H", "10,20", "--seeds", "6", "--epochs", "400"]),
    (dict(H=40, seeds=3, seed_start=7, epochs=300, optimizer="adam", early_stop=20, jobs=1, shard="2/3"),
     ["--H", "40", "--seeds", "3", "--seed-start", "7", "--epochs", "300", "--optimizer", "adam", "--early-stop",
      "20", "--jobs", "1", "--shard", "2/3"]),
], ids=["two-H", "adam-shard"])
def test_sweep_equals_cli(tmp_path, kw, flags):
    sw = toyformer.sweep(**kw)
    sw.save(tmp_path / "py")
    cli("sweep", "--quiet", "--out", tmp_path / "cli", *flags)
    names = sorted(os.listdir(tmp_path / "cli"))
    assert sorted(os.listdir(tmp_path / "py")) == names
    for n in names:
        if n in ("timing.csv",):
            continue
        assert (tmp_path / "py" / n).read_bytes() == (tmp_path / "cli" / n).read_bytes(), n
    runs = pd.read_csv(tmp_path / "cli" / "runs.csv")
    summary = pd.read_csv(tmp_path / "cli" / "summary.csv")
    pd.testing.assert_frame_equal(sw.runs, runs)
    pd.testing.assert_frame_equal(sw.summary, summary)
    assert list(sw.timing.columns) == list(pd.read_csv(tmp_path / "cli" / "timing.csv").columns)


def test_sweep_frames():
    sw = toyformer.sweep(H=[10, 20, 40], seeds=4, epochs=200)
    assert list(sw.runs.columns)[:3] == ["H", "seed", "final_loss"]
    assert {"outcome", "share", "solved"} <= set(sw.runs.columns)
    assert len(sw.runs) == 12 and list(sw.summary["H"]) == [10, 20, 40]
    for o in ("solved", "stuck", "unfinished"):
        assert {o, f"{o}_rate", f"{o}_rate_lo95", f"{o}_rate_hi95"} <= set(sw.summary.columns)
    assert (sw.summary[["solved", "stuck", "unfinished"]].sum(axis=1) == 4).all()
    assert set(sw.runs["outcome"]) <= {"solved", "stuck", "unfinished"}
    assert sw.runs["final_loss"].dtype == np.float64
    assert sw.config["H"] == [10, 20, 40] and sw.config["seeds"] == 4 and sw.config["corpus_source"] == "notebook"
    assert "<iframe" in sw._repr_html_() and sw.report().startswith("<!DOCTYPE html>")
    assert "<svg" in sw.rate_svg() and "<svg" in sw.loss_svg()
    assert "H" in sw.summary_text() and "12 runs" in repr(sw)


def test_sweep_runs_match_train():
    # A sweep's run is the run `train` makes with that H and seed.
    sw = toyformer.sweep(H=20, seeds=2, seed_start=1, epochs=300)
    for _, row in sw.runs.iterrows():
        run = toyformer.train(H=20, seed=int(row["seed"]), epochs=300)
        assert run.outcome == row["outcome"]
        assert f"{run.final_loss:.6g}"[:6] == f"{row['final_loss']:.6g}"[:6]
