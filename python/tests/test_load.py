# toyformer.load: every npz toyformer writes (activation dumps, weights, checkpoints) and numpy's own files.
import numpy as np

import toyformer
from conftest import cli


def check_same(path):
    got = toyformer.load(path)
    ref = np.load(path)
    assert list(got) == list(ref.keys())
    for k in ref.keys():
        assert got[k].dtype == np.float32
        np.testing.assert_array_equal(got[k], ref[k].astype(np.float32), err_msg=k)
    return got


def test_load_what_train_writes(tmp_path):
    cli("train", "--quiet", "--epochs", "50", "--dump-activations", tmp_path / "a.npz", "--save-weights",
        tmp_path / "w.npz", "--checkpoint-every", "25", "--checkpoint-dir", tmp_path / "ck", "--snapshot-every", "10",
        "--dump-grads")
    a = check_same(tmp_path / "a.npz")
    assert set(toyformer.LAYERS) <= set(a) and "grad/param/Qmat" in a and "AttnWts@epochs" in a
    assert list(check_same(tmp_path / "w.npz")) == list(toyformer.WEIGHTS)
    check_same(tmp_path / "ck" / "checkpoint.npz")


def test_load_what_python_writes_and_numpy_files(tmp_path):
    run = toyformer.train(epochs=20)
    run.save(tmp_path / "run")
    a = check_same(tmp_path / "run" / "activations.npz")
    for k in toyformer.LAYERS:
        np.testing.assert_array_equal(a[k], run.activations[k])
    np.savez(tmp_path / "np.npz", x=np.arange(6, dtype=np.int64).reshape(2, 3), y=np.float64(2.5),
             z=np.asfortranarray(np.arange(6.0).reshape(2, 3)))
    got = check_same(tmp_path / "np.npz")
    assert got["y"].shape == () and got["z"].flags.c_contiguous
