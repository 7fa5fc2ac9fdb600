# toyformer.attend: the fields of `toyformer attend --json` for the same problem, as float32 arrays.
import glob
import json
import os

import numpy as np
import pytest

import toyformer
from conftest import cli

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROBLEMS = sorted(glob.glob(os.path.join(ROOT, "examples", "attend", "*.json")))
ARRAYS = ("q", "k", "v", "scores", "scaled_scores", "weights", "average_weights", "output")


def problem_kwargs(problem):
    kw = {k: v for k, v in problem.items() if k != "comment"}
    return kw


def extra_problems(tmp_path):
    rng = np.random.default_rng(7)
    x = rng.standard_normal((5, 6)).round(3)
    p = dict(queries=x.tolist(), keys=x.tolist(), w_q=rng.standard_normal((6, 4)).round(3).tolist(),
             w_k=rng.standard_normal((6, 4)).round(3).tolist(), w_v=rng.standard_normal((6, 4)).round(3).tolist(),
             w_o=rng.standard_normal((4, 3)).round(3).tolist(), heads=2, mask="causal",
             tokens=["a", "b", "c", "d", "e"])
    f = tmp_path / "p.json"
    f.write_text(json.dumps(p))
    return [str(f)]


@pytest.mark.parametrize("name", [os.path.basename(p) for p in PROBLEMS] + ["random-causal-2heads"])
def test_attend_equals_cli(name, tmp_path):
    path = os.path.join(ROOT, "examples", "attend", name) if name.endswith(".json") else extra_problems(tmp_path)[0]
    with open(path) as f:
        problem = json.load(f)
    expected = json.loads(cli("attend", "--json", path).stdout)
    got = toyformer.attend(**problem_kwargs(problem))
    assert set(got) == set(expected)
    for k, v in expected.items():
        if k in ARRAYS:
            assert got[k].dtype == np.float32
            np.testing.assert_array_equal(got[k], np.asarray(v, dtype=np.float32), err_msg=k)
        else:
            assert got[k] == v, k


def test_attend_numpy_inputs_and_defaults():
    q = np.eye(3, dtype=np.float32)
    out = toyformer.attend(q, q)
    assert out["weights"].shape == (1, 3, 3) and out["average_weights"].shape == (3, 3)
    assert out["output"].shape == (3, 3) and out["mask"] == "none" and out["heads"] == 1
    np.testing.assert_allclose(out["weights"].sum(axis=-1), 1, rtol=1e-6)
    causal = toyformer.attend(q, q, mask="causal")
    assert causal["weights"][0, 0, 1] == 0 and causal["weights"][0, 0, 0] == 1
    # Values default to the keys; a non-contiguous or integer input is fine.
    k = np.arange(12, dtype=np.int64).reshape(3, 4)[:, ::2]
    out = toyformer.attend([[1, 0]], k, values=k * 2)
    np.testing.assert_allclose(out["output"], out["weights"][0] @ (k * 2), rtol=1e-5)
