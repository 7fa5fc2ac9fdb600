#!/usr/bin/python3
"""Independent PyTorch reference for a family of variants of the toy attention model.

    /usr/bin/python3 tests/reference/toy_variants_reference.py              # write tests/fixtures/variants/*.json
    /usr/bin/python3 tests/reference/toy_variants_reference.py --check      # regenerate in memory, compare byte for byte
    /usr/bin/python3 tests/reference/toy_variants_reference.py --gradcheck  # float64 gradcheck of every case's loss
    /usr/bin/python3 tests/reference/toy_variants_reference.py --drift      # drift study behind the tolerances (~40 s)

Options: heads, H, wo (output projection, forced on when heads > 1), layers, ffn (hidden width,
0 = none), norm ("none" | "layer"), pos, residual, mask. The corpus, the float32 conventions, the
Keras loss from the logits, the Keras 2.10 legacy SGD and ReduceLROnPlateau all come from
toy_model_reference.py; every mode first checks that the default variant IS that model.
See tests/reference/README.md, section "Model variants".
"""

import argparse
import json
import math
import os
import sys

import toy_model_reference as ref  # first: it pins OPENBLAS_CORETYPE before torch loads OpenBLAS

import numpy as np
import torch

torch.set_num_threads(1)
F32, B, T, E, V = ref.F32, ref.B, ref.T, ref.E, ref.V
OUT_DIR = os.path.join(ref.FIXTURES, "variants")
LN_EPS = F32(1e-3)          # keras.layers.LayerNormalization default epsilon
DEFAULTS = dict(heads=1, H=20, wo=False, layers=1, ffn=0, norm="none", pos=True,
                residual=True, mask=True)
CASES = {
    "heads2_h10": dict(heads=2, H=10),
    "wo_h20": dict(wo=True),
    "heads4_h5": dict(heads=4, H=5),
    "layers2": dict(layers=2),
    "ffn16": dict(ffn=16),
    "norm": dict(norm="layer"),
    "ffn16_norm": dict(ffn=16, norm="layer"),
    "no_pos": dict(pos=False),
    "no_residual": dict(residual=False),
    "no_mask": dict(mask=False),
    "combo": dict(heads=2, H=10, layers=2, ffn=16, norm="layer"),
}
# Seed 1 except where seed 1 trains at the edge of stability (LayerNorm + SGD 0.01: the loss
# oscillates and ulp differences grow to ~1e-3 relative, README "Model variants"); those cases use
# the first seed of 1..8 whose run is well conditioned (ffn16_norm 8 also exercises the plateau).
SEEDS = {"ffn16_norm": 8, "combo": 4}
TRAIN = dict(loss="keras", plateau=True, epochs=300,
             optimizer=dict(name="SGD", learning_rate=0.01, momentum=0.0, nesterov=False))


def options(case):
    o = dict(DEFAULTS, **CASES[case])
    o["wo"] = o["wo"] or o["heads"] > 1
    return o


def case_weights(case):
    return init_weights(options(case), SEEDS.get(case, 1))


# ----------------------------------------------------------------------------
# Weights: names, shapes and the numpy draw order are the same list
# ----------------------------------------------------------------------------
def weight_specs(o):
    """[(name, full shape, init)] in draw order; init is 'emb', ('glorot', fan_in, fan_out),
    'zeros' or 'ones'."""
    hH, D = o["heads"] * o["H"], o["ffn"]
    qk = (E, o["heads"], o["H"]) if o["wo"] else (E, o["H"])
    vv = (E, o["heads"], o["H"]) if o["wo"] else (E, E)
    s = [("XEmbed", (V, E), "emb")]
    if o["pos"]:
        s.append(("PosEmbed", (T, E), "emb"))
    for l in range(o["layers"]):
        P = f"L{l}/"
        s += [(P + "Qmat", qk, ("glorot", E, hH)), (P + "Kmat", qk, ("glorot", E, hH)),
              (P + "Vmat", vv, ("glorot", E, hH if o["wo"] else E))]
        if o["wo"]:
            s.append((P + "Omat", (o["heads"], o["H"], E), ("glorot", hH, E)))
        if o["norm"] == "layer":
            s += [(P + "norm1/gamma", (E,), "ones"), (P + "norm1/beta", (E,), "zeros")]
        if D:
            s += [(P + "ffn1/kernel", (E, D), ("glorot", E, D)), (P + "ffn1/bias", (D,), "zeros"),
                  (P + "ffn2/kernel", (D, E), ("glorot", D, E)), (P + "ffn2/bias", (E,), "zeros")]
            if o["norm"] == "layer":
                s += [(P + "norm2/gamma", (E,), "ones"), (P + "norm2/beta", (E,), "zeros")]
    return s


def init_weights(o, seed):
    rs = np.random.RandomState(seed)
    w = {}
    for name, shape, how in weight_specs(o):
        if how == "emb":
            a = rs.uniform(-0.05, 0.05, size=shape)
        elif how == "zeros" or how == "ones":
            a = np.full(shape, 1.0 if how == "ones" else 0.0)
        else:   # glorot uniform over the 2-D view [fan_in, fan_out], row-major = the full shape
            _, fi, fo = how
            lim = math.sqrt(6.0 / (fi + fo))
            a = rs.uniform(-lim, lim, size=(fi, fo)).reshape(shape)
        w[name] = a.astype(F32)
    return w


# ----------------------------------------------------------------------------
# Forward pass
# ----------------------------------------------------------------------------
def layer_norm(x, gamma, beta, dtype):
    n = ref.c(x.shape[-1], dtype)
    mean = x.sum(-1, keepdim=True) / n
    d = x - mean
    var = (d * d).sum(-1, keepdim=True) / n          # population variance, two-pass
    rstd = 1.0 / torch.sqrt(var + ref.c(LN_EPS, dtype))
    return d * rstd * gamma + beta


def residual(out, name, x, y, o):
    """x + y, recorded as activation `name`, with the residual option; else y (no new name)."""
    if not o["residual"]:
        return y
    out[name] = x + y
    return out[name]


def forward(p, o, dtype):
    """p: dict of weight tensors. Returns (all named activations in order, logits z)."""
    ids = torch.tensor(ref.SEQ_IDS, dtype=torch.long)
    pos = torch.tensor(ref.POSITIONS, dtype=torch.long)
    heads, H = o["heads"], o["H"]
    out = {"Xseqids": ids.to(dtype)}
    if o["pos"]:
        out["PosInput"] = pos.to(dtype)
    x = out["XEmbed"] = p["XEmbed"][ids]
    if o["pos"]:
        out["PosEmbed"] = p["PosEmbed"][pos]
        x = out["XwithPos"] = x + out["PosEmbed"]
    scale = ref.c(ref.scale_f32(H), dtype)
    adder = (1.0 - torch.tril(torch.ones(T, T, dtype=dtype))) * ref.c(ref.MASK_NEG, dtype)
    for l in range(o["layers"]):
        P = f"L{l}/"
        q = out[P + "Qmat"] = x @ p[P + "Qmat"].reshape(E, -1)
        k = out[P + "Kmat"] = x @ p[P + "Kmat"].reshape(E, -1)
        dots, lams, atts, vs = [], [], [], []
        v = x @ p[P + "Vmat"].reshape(E, -1)
        for i in range(heads):
            cols = slice(i * H, (i + 1) * H)
            dot = torch.matmul(q[..., cols], k[..., cols].transpose(1, 2))
            lam = dot * scale
            att = torch.softmax(lam + adder if o["mask"] else lam, dim=-1)
            dots.append(dot)
            lams.append(lam)
            atts.append(att)
            vs.append(torch.matmul(att, v[..., cols] if o["wo"] else v))
        out[P + "dot"] = torch.stack(dots, 1)
        out[P + "lambda"] = torch.stack(lams, 1)
        out[P + "AttnWts"] = torch.stack(atts, 1)
        out[P + "Vmat"] = v
        y = out[P + "Voutput"] = torch.cat(vs, -1)
        if o["wo"]:
            y = out[P + "Omat"] = y @ p[P + "Omat"].reshape(heads * H, E)
        x = residual(out, P + "skipadd", x, y, o)
        if o["norm"] == "layer":
            x = out[P + "norm1"] = layer_norm(x, p[P + "norm1/gamma"], p[P + "norm1/beta"], dtype)
        if o["ffn"]:
            h = out[P + "ffn1"] = torch.relu(x @ p[P + "ffn1/kernel"] + p[P + "ffn1/bias"])
            f = out[P + "ffn2"] = h @ p[P + "ffn2/kernel"] + p[P + "ffn2/bias"]
            x = residual(out, P + "ffnadd", x, f, o)
            if o["norm"] == "layer":
                x = out[P + "norm2"] = layer_norm(x, p[P + "norm2/gamma"], p[P + "norm2/beta"],
                                                 dtype)
    out["activation"] = torch.sigmoid(x)
    return out, x


def loss_of(z, dtype):
    """Keras' default loss for this model: softmax CE from the logits z, mean over B*T."""
    return ref.loss_from({"skipadd": z}, "keras", dtype)


def grads_at(p, o, dtype, want_occ=False):
    """Loss, d loss / d each weight, the activations; with want_occ also the embedding gradients
    per occurrence (rows in B*T order), as legacy Keras' IndexedSlices (for ref.SGD)."""
    leaves = {n: t.detach().clone().requires_grad_(True) for n, t in p.items()}
    out, z = forward(leaves, o, dtype)
    emb = {"XEmbed": ref.SEQ_IDS, "PosEmbed": ref.POSITIONS} if want_occ else {}
    emb = {n: rows for n, rows in emb.items() if n in out}
    for n in emb:
        out[n].retain_grad()
    loss = loss_of(z, dtype)
    loss.backward()
    occ = {n: ([i for s in rows for i in s], out[n].grad.reshape(-1, E)) for n, rows in emb.items()}
    return loss.detach(), {n: t.grad.detach() for n, t in leaves.items()}, out, occ


# ----------------------------------------------------------------------------
# Training (ref's SGD and ReduceLROnPlateau; the LR used in epoch e is recorded)
# ----------------------------------------------------------------------------
def train(o, w0, dtype=torch.float32, per_occurrence=False):
    params = {n: torch.tensor(a, dtype=dtype) for n, a in w0.items()}
    opt = ref.make_optimizer(TRAIN, dtype, per_occurrence)
    plateau = ref.Plateau()
    losses, lrs, reductions = [], [], []
    for e in range(TRAIN["epochs"]):
        loss, grads, _, occ = grads_at(params, o, dtype, per_occurrence)
        losses.append(float(loss))
        lrs.append(opt.lr)
        with torch.no_grad():
            opt.step(params, grads, occ)
        opt.lr, reduced = plateau.on_epoch_end(float(loss), opt.lr)
        if reduced:
            reductions.append(e)
    with torch.no_grad():
        final_loss = float(loss_of(forward(params, o, dtype)[1], dtype))
    return dict(losses=losses, lrs=lrs, reductions=reductions, params=params,
                final_loss=final_loss)


# ----------------------------------------------------------------------------
# Fixtures
# ----------------------------------------------------------------------------
# Recommended C++ tolerances. WORST_LOSS_DRIFT: the largest relative loss difference over the
# 300 epochs that --drift measured per case (float64, per-occurrence SGD, +-1-ulp init weights,
# OpenBLAS Sandybridge/SkylakeX/Haswell/Zen kernels; README "Model variants"). The loss tolerance
# is >= 20x that; the other entries hold for every case (measured worst in the comment).
WORST_LOSS_DRIFT = dict(heads2_h10=2.7e-7, wo_h20=2.6e-7, heads4_h5=2.7e-7, layers2=2.4e-7,
                        ffn16=3.3e-7, norm=4.2e-7, ffn16_norm=3.9e-6, no_pos=2.8e-7,
                        no_residual=2.6e-7, no_mask=2.6e-7, combo=1.4e-5)
LOSS_TOL = dict(ffn16_norm=1e-4, combo=3e-4)   # 1e-5 for the others


def tolerance(case):
    m, tol = WORST_LOSS_DRIFT[case], LOSS_TOL.get(case, 1e-5)
    return dict(losses_rel=tol, final_loss_rel=tol,
                final_weights_abs=5e-5,                     # measured <= 1.9e-6
                initial_loss_rel=1e-6,                      # measured <= 1.1e-7
                step0_grads_rel_to_tensor_max=1e-5,         # measured <= 6.0e-7
                step0_activations_rel_to_layer_max=1e-5,    # measured <= 3.4e-7
                lr_reductions="exact",                      # plateau margins >= 8e-6 (README)
                reason=f"worst measured relative loss drift {m:.1e} (f64, per-occurrence SGD, "
                       f"1-ulp init noise, other BLAS kernels); {tol:.0e} is {tol / m:.0f}x that")


def config(case, o):
    return dict(options=o, option_defaults=DEFAULTS, seed=SEEDS.get(case, 1), **TRAIN,
                plateau_config=ref.PLATEAU_CFG, B=B, T=T, V=V, E=E, vocab=ref.VOCAB,
                seq_ids=ref.SEQ_IDS, targets=ref.TARGETS, positions=ref.POSITIONS,
                scale_f32=float(ref.scale_f32(o["H"])), layernorm_epsilon_f32=float(LN_EPS),
                dtype="float32", loss_note="sparse categorical CE from the logits z (the last x), "
                "mean over the B*T positions; activation = sigmoid(z)",
                loss_recorded="loss at the weights BEFORE that epoch's update",
                init="numpy RandomState(seed), drawn in init_weights order; embeddings "
                     "U(-0.05,0.05), kernels glorot U(+-sqrt(6/(fan_in+fan_out))) over the 2-D "
                     "view; biases/beta 0, gamma 1 (not drawn); float64 samples rounded to float32")


def build(case):
    o, w0 = options(case), case_weights(case)
    p0 = {n: torch.tensor(a) for n, a in w0.items()}
    loss0, g0, out0, _ = grads_at(p0, o, torch.float32)
    r = train(o, w0)
    assert r["losses"][0] == float(loss0)
    lr_values = sorted({float(x) for x in r["lrs"]}, reverse=True)
    doc = {"config": config(case, o),
           "tolerance": tolerance(case),
           "init_weights": {n: ref.tolist(a) for n, a in w0.items()},
           "initial_loss": r["losses"][0],
           "step0_activations": {n: ref.tolist(a) for n, a in out0.items()},
           "step0_grads": {n: ref.tolist(g) for n, g in g0.items()},
           "losses": r["losses"],
           "lr_values": lr_values,
           "lr_index_per_epoch": [lr_values.index(float(x)) for x in r["lrs"]],
           "lr_reduced_at_epoch_end_0based": r["reductions"],
           "final_loss_after_training": r["final_loss"],
           "final_weights": {n: ref.tolist(t) for n, t in r["params"].items()}}
    return doc


def self_check():
    """The all-defaults variant is the notebook model: same init draws, bit-identical forward."""
    o = dict(DEFAULTS)
    w = init_weights(o, 1)
    w_ref = ref.init_weights(1, 20)
    rename = {"XEmbed": "XEmbed", "PosEmbed": "PosEmbed", "L0/Qmat": "Qmat", "L0/Kmat": "Kmat",
              "L0/Vmat": "Vmat"}
    assert list(w) == list(rename) and all(np.array_equal(w[n], w_ref[rename[n]]) for n in w)
    out, z = forward({n: torch.tensor(a) for n, a in w.items()}, o, torch.float32)
    out_ref = ref.forward(ref.to_params(w_ref, torch.float32), 20, torch.float32)
    assert len(out) == len(ref.LAYER_NAMES)
    for n, t in out.items():
        m = n[3:] if n.startswith("L0/") else n
        t = t[:, 0] if m in ("dot", "lambda", "AttnWts") else t   # [B,1,T,T] -> [B,T,T]
        assert torch.equal(t, out_ref[m]), n
    assert torch.equal(loss_of(z, torch.float32), ref.loss_from(out_ref, "keras", torch.float32))
    print("self-check: the default variant equals toy_model_reference.forward bit for bit")


def gradcheck():
    for case in CASES:
        o = options(case)
        w = case_weights(case)
        names = list(w)
        leaves = tuple(torch.tensor(w[n], dtype=torch.float64, requires_grad=True) for n in names)

        def f(*args):
            return loss_of(forward(dict(zip(names, args)), o, torch.float64)[1], torch.float64)
        ok = torch.autograd.gradcheck(f, leaves, eps=1e-6, atol=1e-8, rtol=1e-6)
        print(f"gradcheck float64 {case}: {ok} ({sum(a.size for a in w.values())} weights)")


def rel_to_max(a, b):
    """max|a-b| / max|b| (0 when b is all zero)."""
    a, b = a.double(), b.double()
    m = float(b.abs().max())
    return float((a - b).abs().max()) / m if m > 0 else float((a - b).abs().max())


def max_rel(a, b):
    a, b = np.array(a), np.array(b)
    rel = np.abs(a - b) / np.abs(b)
    return rel.max(), rel.argmax()


def drift(trials=8):
    """Per case, the float32 run against: float64 (same f32-rounded constants); float32 with legacy
    Keras' per-occurrence ScatterAdd embedding update (another summation order); `trials` float32
    runs from init weights moved by -1/0/+1 ulp each (half of them per-occurrence): the envelope
    shows how much the training amplifies rounding; the stored fixture (0 with the pinned BLAS
    kernels; run with another OPENBLAS_CORETYPE to measure kernel sensitivity)."""
    print(f"OPENBLAS_CORETYPE={os.environ['OPENBLAS_CORETYPE']}. Max relative loss difference "
          "over the epochs (at epoch); |dW| = max abs final-weight difference; g0/act0 = step-0 "
          "f32-vs-f64 grads/activations relative to each tensor's max")
    print(f"{'case':12s} {'f64':>16s} {'|dW| f64':>8s} {'per-occ':>16s} {'ulp noise':>9s} "
          f"{'|dW| ulp':>8s} {'fixture':>8s} {'g0':>7s} {'act0':>7s}  LR reductions  min margin")
    for case in CASES:
        o, w0 = options(case), case_weights(case)
        r32, r64 = train(o, w0, torch.float32), train(o, w0, torch.float64)
        rocc = train(o, w0, torch.float32, per_occurrence=True)
        rs, dn, dwn, reds = np.random.RandomState(0), 0.0, 0.0, {tuple(r32["reductions"])}
        for t in range(trials):
            ulp = {n: (a * (1 + rs.randint(-1, 2, a.shape) * 2.0 ** -23)).astype(F32)
                   for n, a in w0.items()}
            rn = train(o, ulp, per_occurrence=bool(t % 2))
            dn = max(dn, max_rel(rn["losses"], r32["losses"])[0])
            dwn = max(dwn, max_abs_diff(rn["params"], r32["params"]))
            reds |= {tuple(rn["reductions"]), tuple(r64["reductions"]), tuple(rocc["reductions"])}
        with open(os.path.join(OUT_DIR, case + ".json")) as f:
            fix = json.load(f)
        dfix = (max_rel(r32["losses"], fix["losses"])[0]
                if fix["config"]["seed"] == SEEDS.get(case, 1) else float("nan"))
        _, g32, a32, _ = grads_at({n: torch.tensor(a) for n, a in w0.items()}, o, torch.float32)
        _, g64, a64, _ = grads_at({n: torch.tensor(a, dtype=torch.float64)
                                   for n, a in w0.items()}, o, torch.float64)
        dg = max(rel_to_max(g32[n], g64[n]) for n in g32)
        da = max(rel_to_max(a32[n], a64[n]) for n in a32)
        (d64, e64), (docc, eocc) = (max_rel(r32["losses"], r64["losses"]),
                                    max_rel(r32["losses"], rocc["losses"]))
        mg = ref.plateau_margins(r32["losses"])["min_margin"]
        print(f"{case:12s} {d64:8.2e} ({e64:3d}) {max_abs_diff(r32['params'], r64['params']):8.1e}"
              f" {docc:8.2e} ({eocc:3d}) {dn:9.2e} {dwn:8.1e} {dfix:8.1e} {dg:7.1e} {da:7.1e}  "
              f"{r32['reductions'] if len(reds) == 1 else sorted(reds)}  {mg:.1e}")


def max_abs_diff(p, q):
    return max(float((p[n].double() - q[n].double()).abs().max()) for n in p)


def generate(write):
    bad = 0
    os.makedirs(OUT_DIR, exist_ok=True)
    for case in CASES:
        doc = build(case)
        text = ref.dumps(doc)
        path = os.path.join(OUT_DIR, case + ".json")
        if write:
            with open(path, "w") as f:
                f.write(text)
            status = "written"
        else:
            with open(path) as f:
                status = "identical" if f.read() == text else "DIFFERENT"
            bad += status != "identical"
        print(f"{case:12s} {status}: initial loss {doc['initial_loss']:.7f} last-epoch "
              f"{doc['losses'][-1]:.7f} final {doc['final_loss_after_training']:.7f} "
              f"reductions {doc['lr_reduced_at_epoch_end_0based']} {len(text) // 1024} KB")
    return bad


def main():
    ap = argparse.ArgumentParser()
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--check", action="store_true")
    g.add_argument("--gradcheck", action="store_true")
    g.add_argument("--drift", action="store_true")
    a = ap.parse_args()
    self_check()
    if a.gradcheck:
        gradcheck()
    elif a.drift:
        drift()
    else:
        sys.exit(1 if generate(write=not a.check) else 0)


if __name__ == "__main__":
    main()
