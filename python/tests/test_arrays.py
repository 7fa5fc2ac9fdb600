# Arrays from the engine: float32, the model's shapes, labelled tables, read-only views that own their memory (no
# copy into Python), and plain numpy tables when pandas is missing.
import os
import subprocess
import sys

import numpy as np
import pytest

import toyformer

N, T, V = 2, 5, 7  # the notebook: two sentences of five tokens, seven words


@pytest.fixture(scope="module")
def run():
    return toyformer.train(seed=2)


def test_dtypes_and_shapes(run):
    assert run.loss.dtype == np.float32 and run.loss.shape == (5020,)
    assert run.lr.dtype == np.float32 and run.lr.shape == (5020,)
    acts = run.activations
    assert list(acts) == list(toyformer.LAYERS) and len(acts) == 14
    for a in acts.values():
        assert a.dtype == np.float32
    assert acts["AttnWts"].shape == (N, T, T)
    assert acts["activation"].shape == (N, T, V)
    np.testing.assert_allclose(acts["AttnWts"].sum(axis=-1), 1, rtol=1e-5)
    H = run.config["H"]
    assert run.weights["Qmat"].shape[1] == H and run.weights["Kmat"].shape[1] == H
    assert run.weights["Vmat"].shape[1] == V
    assert isinstance(run.final_loss, float) and isinstance(run.share, float)
    assert run.outcome in ("solved", "stuck", "unfinished", "none")


def test_zero_copy_read_only(run):
    a = run.activations["AttnWts"]
    assert not a.flags.owndata and not a.flags.writeable and a.flags.c_contiguous
    assert type(a.base).__name__ == "PyCapsule"
    with pytest.raises(ValueError):
        a[0, 0, 0] = 1
    # The same buffer on every access of the same dict.
    assert run.activations["AttnWts"].__array_interface__["data"][0] == a.__array_interface__["data"][0]
    b = a.copy()
    b[0, 0, 0] = 1  # a copy is an ordinary array


def test_arrays_outlive_the_run():
    a = toyformer.train(epochs=5).activations["activation"]
    import gc
    gc.collect()
    assert np.isfinite(a).all() and a.shape == (N, T, V)


def test_tables_are_labelled_like_the_cli(run):
    pd = pytest.importorskip("pandas")
    p = run.predictions_table(0)
    assert isinstance(p, pd.DataFrame)
    assert list(p.index) == ["0 <ST>", "1 man", "2 ordrd", "3 the", "4 chkn"]
    assert list(p.columns) == run.vocab == ["<ST>", "the", "man", "chkn", "ordrd", "woman", "beef"]
    a = run.attention_table(1)
    assert list(a.index) == list(a.columns) == ["0 <ST>", "1 woman", "2 ordrd", "3 the", "4 beef"]
    np.testing.assert_array_equal(a.to_numpy(), run.activations["AttnWts"][1])
    # Solved: 'the' after man predicts chkn over beef.
    assert p.loc["3 the", "chkn"] > p.loc["3 the", "beef"]


def test_without_pandas():
    code = ("import sys; sys.modules['pandas'] = None\n"
            "import toyformer\n"
            "run = toyformer.train(seed=2, epochs=50)\n"
            "values, rows, cols = run.attention_table(0)\n"
            "assert values.shape == (5, 5) and rows[3] == '3 the' and cols == rows\n"
            "values, rows, cols = run.predictions_table(1)\n"
            "assert cols[3] == 'chkn' and rows[1] == '1 woman'\n"
            "sw = toyformer.sweep(H=10, seeds=2, epochs=50)\n"
            "assert list(sw.runs['seed']) == [1, 2] and sw.summary['H'].tolist() == [10]\n"
            "print('ok')\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=os.environ)
    assert p.returncode == 0 and p.stdout.strip() == "ok", p.stderr
