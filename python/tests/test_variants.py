# The model variants from Python: the same flags as `toyformer train` (heads, wo, layers, ffn, norm, no_pos,
# no_residual, no_mask), the same numbers, and the variant's own layer and weight names.
import json

import pytest

import toyformer
from conftest import cli, flags

VARIANTS = [
    dict(H=10, heads=2, epochs=150),
    dict(H=20, wo=True, layers=2, epochs=100, seed=3),
    dict(H=8, ffn=16, norm="layer", no_pos=True, epochs=120),
    dict(no_residual=True, no_mask=True, epochs=80),
]


@pytest.mark.parametrize("kw", VARIANTS, ids=lambda kw: ",".join(f"{k}={v}" for k, v in kw.items()))
def test_variant_equals_cli_json(kw):
    run = toyformer.train(**kw)
    j = json.loads(cli("train", "--json", "--quiet", *flags(kw)).stdout)
    mine = run.json()
    for d in (j, mine):
        d.pop("us_per_step")
    assert mine == j
    arch = {k: v for k, v in kw.items() if k in ("heads", "wo", "layers", "ffn", "norm", "no_pos", "no_residual",
                                                  "no_mask")}
    assert run.layer_names == toyformer.layer_names(**arch)
    assert tuple(run.weights) == toyformer.weight_names(**arch)
    assert set(run.activations) == set(run.layer_names)


def test_names():
    assert toyformer.layer_names() == toyformer.LAYERS
    assert toyformer.weight_names() == toyformer.WEIGHTS
    names = toyformer.layer_names(heads=2, layers=2, ffn=4, norm="layer")
    assert names[:5] == ("Xseqids", "PosInput", "XEmbed", "PosEmbed", "XwithPos")
    assert "L1/AttnWts" in names and "L0/norm2" in names and names[-1] == "activation"
    assert "PosEmbed" not in toyformer.weight_names(no_pos=True)
    assert toyformer.weight_names(heads=2)[2:] == ("L0/Qmat", "L0/Kmat", "L0/Vmat", "L0/Omat")


def test_attention_table_per_head():
    run = toyformer.train(H=10, heads=2, epochs=30)
    w = run.activations["L0/AttnWts"]
    assert w.shape == (2, 2, 5, 5)
    t = run.attention_table(1, head=1)
    values = t.values if hasattr(t, "values") else t[0]
    assert (values == w[1, 1]).all()
    with pytest.raises(ValueError, match="head 2 out of range"):
        run.attention_table(0, head=2)
    with pytest.raises(ValueError, match="not an attention layer"):
        run.attention_table(0, layer="L0/Qmat")


def test_bad_variant_refused():
    with pytest.raises(ValueError, match="--heads"):
        toyformer.train(heads=0, epochs=1)
    with pytest.raises(ValueError, match="--step fused"):
        toyformer.train(heads=2, step="fused", epochs=1)
    with pytest.raises(TypeError):
        toyformer.train(norm=1, epochs=1)
