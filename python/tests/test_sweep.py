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


# --- grid= (toyformer sweep --grid) ------------------------------------------------------------------------------

GRID = dict(H=10, seeds=2, epochs=100, grid={"heads": [1, 2], "layers": [1, 2]})
GRID_FLAGS = ["--H", "10", "--seeds", "2", "--epochs", "100", "--grid", "heads=1,2", "layers=1,2"]


def test_sweep_grid_equals_cli(tmp_path):
    sw = toyformer.sweep(**GRID)
    sw.save(tmp_path / "py")
    cli("sweep", "--quiet", "--out", tmp_path / "cli", *GRID_FLAGS)
    for n in sorted(os.listdir(tmp_path / "cli")):
        if n != "timing.csv":
            assert (tmp_path / "py" / n).read_bytes() == (tmp_path / "cli" / n).read_bytes(), n
    runs = pd.read_csv(tmp_path / "cli" / "runs.csv", dtype={"attn_heads": str})
    pd.testing.assert_frame_equal(sw.runs, runs)
    pd.testing.assert_frame_equal(sw.summary, pd.read_csv(tmp_path / "cli" / "summary.csv"))
    assert list(sw.runs.columns[:4]) == ["H", "heads", "layers", "seed"]
    assert list(sw.timing.columns) == ["H", "heads", "layers", "seed", "seconds", "us_per_step"]
    assert list(sw.summary.columns[:4]) == ["H", "heads", "layers", "runs"] and sw.summary.columns[-1] == "path"
    assert list(sw.summary["path"]) == ["fused stacks"] + ["graph stacks"] * 3
    # attn_heads: a str of one value per (block, head); attn_the_to_subject is the strongest.
    for _, row in sw.runs.iterrows():
        heads = [float(x) for x in row["attn_heads"].split()]
        assert len(heads) == row["heads"] * row["layers"]
        assert np.float32(max(heads)) == np.float32(row["attn_the_to_subject"])
    assert sw.config["grid"] == [{"axis": "H", "values": [10]}, {"axis": "heads", "values": [1, 2]},
                                 {"axis": "layers", "values": [1, 2]}]
    assert "path: fused stacks" in sw.summary_text()


def test_sweep_grid_values_and_order():
    # Booleans as True/False, norm as its str, H in the grid keeps its place (here: after norm).
    sw = toyformer.sweep(seeds=1, epochs=20, ffn=4, grid={"norm": ["layer", "none"], "H": [20, 10],
                                                          "mask": [False, True]})
    assert list(sw.runs.columns[:4]) == ["H", "norm", "mask", "seed"]
    assert list(zip(sw.runs["norm"], sw.runs["H"], sw.runs["mask"])) == [
        ("layer", 20, False), ("layer", 20, True), ("layer", 10, False), ("layer", 10, True),
        ("none", 20, False), ("none", 20, True), ("none", 10, False), ("none", 10, True)]
    assert sw.runs["mask"].dtype == bool
    assert sw.config["ffn"] == 4  # the keyword sets every grid point
    # H alone in the grid is the H-only sweep of before.
    a, b = toyformer.sweep(seeds=2, epochs=20, grid={"H": [10, 20]}), toyformer.sweep(H=[10, 20], seeds=2, epochs=20)
    pd.testing.assert_frame_equal(a.runs, b.runs)
    assert "attn_heads" not in a.runs.columns and "path" not in a.summary.columns


@pytest.mark.parametrize("kw, flags", [
    (dict(grid={"heads": [1, 2]}, heads=2), ["--heads", "2", "--grid", "heads=1,2"]),
    (dict(grid={"H": [10]}, H=[10, 20]), ["--H", "10,20", "--grid", "H=10"]),
    (dict(grid={"pos": [True, False]}, no_pos=True), ["--no-pos", "--grid", "pos=true,false"]),
    (dict(grid={"foo": [1]}), ["--grid", "foo=1"]),
    (dict(grid={"layers": [0]}), ["--grid", "layers=0"]),
    (dict(grid={"heads": []}), ["--grid", "heads="]),
    (dict(grid={"norm": ["batch"]}), ["--grid", "norm=batch"]),
], ids=["heads-twice", "H-twice", "pos-twice", "unknown", "range", "empty", "norm"])
def test_sweep_grid_refusals_are_the_cli_messages(kw, flags, tmp_path):
    from conftest import cli_error
    expected = cli_error("sweep", "--quiet", "--epochs", "1", "--seeds", "1", "--out", tmp_path / "cli", *flags)
    with pytest.raises(ValueError) as e:
        toyformer.sweep(**{"epochs": 1, "seeds": 1, **kw})
    assert str(e.value) == expected


@pytest.mark.parametrize("grid", [[("heads", [1])], {1: [1]}, {"heads": ["a"]}, {"heads": [1.5]}, {"norm": [1]}],
                         ids=repr)
def test_sweep_grid_bad_types(grid):
    with pytest.raises(TypeError):
        toyformer.sweep(epochs=1, seeds=1, grid=grid)
