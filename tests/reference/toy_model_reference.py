#!/usr/bin/python3
"""Independent PyTorch reference for the toyformer toy attention model.

Regenerate every fixture (run from the repository root or anywhere):

    /usr/bin/python3 tests/reference/toy_model_reference.py

Other modes:

    /usr/bin/python3 tests/reference/toy_model_reference.py --drift
        float32-vs-float64 (and float32-vs-float32 variant) drift study of all
        fixture cases (incl. the 5020-epoch one); writes tests/reference/drift_report.json
    /usr/bin/python3 tests/reference/toy_model_reference.py --check
        regenerate in memory and compare bit-for-bit with the stored fixtures

Semantics follow shared/KERAS_SEMANTICS.md (Keras 2.10, legacy OptimizerV2);
see tests/reference/README.md for the formulas and their source references.
Uses Debian's torch (python3-torch, 1.13) and numpy; everything in float32
unless a float64 run is requested explicitly.
"""

import argparse
import json
import math
import os
import sys

# Bit-for-bit reproducibility across machines: Debian's torch multiplies through OpenBLAS, which
# picks its kernels for the CPU at run time, and different kernels round differently. The stored
# fixtures were made with OpenBLAS's Sandybridge kernels; pin them before torch loads OpenBLAS.
os.environ.setdefault("OPENBLAS_CORETYPE", "Sandybridge")

import numpy as np  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)  # deterministic reduction order

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.normpath(os.path.join(HERE, "..", "fixtures"))

# ----------------------------------------------------------------------------
# Data: the notebook's corpus (seed 001), 0-based ids
# ----------------------------------------------------------------------------
VOCAB = ["<ST>", "the", "man", "chkn", "ordrd", "woman", "beef"]
V = E = 7
B, T = 2, 5
SEQ_IDS = [[0, 2, 4, 1, 3], [0, 5, 4, 1, 6]]
TARGETS = [[2, 4, 1, 3, 0], [5, 4, 1, 6, 0]]
POSITIONS = [[0, 1, 2, 3, 4], [0, 1, 2, 3, 4]]

LAYER_NAMES = ["Xseqids", "PosInput", "XEmbed", "PosEmbed", "XwithPos", "Qmat",
               "Kmat", "dot", "lambda", "AttnWts", "Vmat", "Voutput", "skipadd",
               "activation"]
PARAM_NAMES = ["XEmbed", "PosEmbed", "Qmat", "Kmat", "Vmat"]

F32 = np.float32
EPS_F32 = F32(1e-7)          # backend_config.epsilon() as float32
ONE_MINUS_EPS_F32 = F32(1.0) - EPS_F32   # 1 - epsilon_ in float32 (backend.py)
MASK_NEG = -1e9              # softmax._large_compatible_negative (float32 exact)


# ----------------------------------------------------------------------------
# Initial weights
# ----------------------------------------------------------------------------
def init_weights(seed, H):
    """numpy RandomState(seed); draws in the order XEmbed, PosEmbed, Qmat, Kmat, Vmat.

    Embeddings: uniform(-0.05, 0.05)  (Keras RandomUniform defaults).
    Dense kernels: glorot uniform, limit = sqrt(6 / (fan_in + fan_out)).
    Sampled in float64 by numpy, then rounded to float32.
    """
    rs = np.random.RandomState(seed)

    def glorot(fan_in, fan_out):
        lim = math.sqrt(6.0 / (fan_in + fan_out))
        return rs.uniform(-lim, lim, size=(fan_in, fan_out)).astype(F32)

    w = {}
    w["XEmbed"] = rs.uniform(-0.05, 0.05, size=(V, E)).astype(F32)
    w["PosEmbed"] = rs.uniform(-0.05, 0.05, size=(T, E)).astype(F32)
    w["Qmat"] = glorot(E, H)
    w["Kmat"] = glorot(E, H)
    w["Vmat"] = glorot(E, V)
    return w


# ----------------------------------------------------------------------------
# Forward pass and losses
# ----------------------------------------------------------------------------
def scale_f32(H):
    # scale_constant = tf.constant(np.divide(1, np.sqrt(H)), dtype=tf.float32)
    return F32(np.divide(1, np.sqrt(H)))


def forward(p, H, dtype):
    """p: dict of leaf tensors. Returns dict of all 14 layer outputs."""
    ids = torch.tensor(SEQ_IDS, dtype=torch.long)
    pos = torch.tensor(POSITIONS, dtype=torch.long)
    out = {}
    out["Xseqids"] = ids.to(dtype)
    out["PosInput"] = pos.to(dtype)
    xe = p["XEmbed"][ids]                       # [B,T,E]
    pe = p["PosEmbed"][pos]                     # [B,T,E]
    out["XEmbed"] = xe
    out["PosEmbed"] = pe
    x = xe + pe
    out["XwithPos"] = x
    q = torch.matmul(x, p["Qmat"])              # [B,T,H]
    k = torch.matmul(x, p["Kmat"])              # [B,T,H]
    out["Qmat"] = q
    out["Kmat"] = k
    dot = torch.matmul(q, k.transpose(1, 2))    # [B,T,T]
    out["dot"] = dot
    lam = dot * torch.tensor(float(scale_f32(H)), dtype=dtype)
    out["lambda"] = lam
    mask = torch.tril(torch.ones(T, T, dtype=dtype))
    adder = (1.0 - mask) * torch.tensor(MASK_NEG, dtype=dtype)
    attn = torch.softmax(lam + adder, dim=-1)
    out["AttnWts"] = attn
    vm = torch.matmul(x, p["Vmat"])             # [B,T,V]
    out["Vmat"] = vm
    vout = torch.matmul(attn, vm)
    out["Voutput"] = vout
    z = vout + x
    out["skipadd"] = z
    out["activation"] = torch.sigmoid(z)
    return out


def loss_from(out, kind, dtype):
    tgt = torch.tensor(TARGETS, dtype=torch.long).reshape(-1)
    z = out["skipadd"].reshape(-1, V)
    if kind == "keras":
        # Keras uses the cached pre-sigmoid logits (_keras_logits):
        # softmax cross-entropy on skipadd, mean over the 10 positions.
        logits = z
    elif kind == "normalized":
        # from_logits=False path without _keras_logits:
        # clip_by_value = minimum(p, 1-eps) then maximum(., eps); gradient passes
        # where eps <= p <= 1-eps (inclusive), exactly 0 outside.
        # torch.minimum/maximum split the gradient at ties, so use where().
        p = torch.sigmoid(z)
        hi = torch.tensor(float(ONE_MINUS_EPS_F32), dtype=dtype)
        lo = torch.tensor(float(EPS_F32), dtype=dtype)
        pc = torch.where(p <= hi, p, hi)
        pc = torch.where(pc >= lo, pc, lo)
        logits = torch.log(pc)   # then the same sparse softmax-CE kernel
    else:
        raise ValueError(kind)
    per = torch.nn.functional.cross_entropy(logits, tgt, reduction="none")
    return per.sum() / torch.tensor(10.0, dtype=dtype)


# ----------------------------------------------------------------------------
# Optimizers (Keras 2.10 legacy OptimizerV2 semantics, by hand)
# ----------------------------------------------------------------------------
def c(x, dtype):
    """Scalar constant as a 0-dim tensor of the run's dtype (value already f32-rounded)."""
    return torch.tensor(float(x), dtype=dtype)


class SGD:
    """SGD(learning_rate, momentum, nesterov), legacy gradient_descent.py.

    momentum == 0:  var -= grad * lr            (ApplyGradientDescent kernel)
        Embedding (IndexedSlices) grads in legacy Keras go through
        ResourceScatterAdd(-g*lr) per occurrence (no dedup); with
        per_occurrence=True that is mimicked, otherwise the dense summed
        gradient is used (the C++ contract in KERAS_SEMANTICS.md §5).
    momentum > 0 (ApplyKerasMomentum / SparseApplyKerasMomentum, deduped):
        accum = accum * momentum - grad * lr
        nesterov: var += accum * momentum - grad * lr
        else:     var += accum
    """

    def __init__(self, lr=0.01, momentum=0.0, nesterov=False, dtype=torch.float32,
                 per_occurrence=False):
        self.lr = F32(lr)
        self.momentum = F32(momentum)
        self.nesterov = nesterov
        self.dtype = dtype
        self.per_occurrence = per_occurrence
        self.accum = {}

    def step(self, params, grads, occ_grads=None):
        lr = c(self.lr, self.dtype)
        for n in params:   # the toy model's PARAM_NAMES order (any model's names)
            w, g = params[n], grads[n]
            if self.momentum == 0:
                if self.per_occurrence and occ_grads is not None and n in occ_grads:
                    rows, vals = occ_grads[n]
                    for r, gv in zip(rows, vals):   # ResourceScatterAdd, in order
                        w[r] += -gv * lr
                else:
                    w -= g * lr
            else:
                mom = c(self.momentum, self.dtype)
                a = self.accum.setdefault(n, torch.zeros_like(w))
                a.copy_(a * mom - g * lr)
                if self.nesterov:
                    w += a * mom - g * lr
                else:
                    w += a


class RMSprop:
    """RMSprop(lr=0.001, rho=0.9, momentum=0, eps=1e-7, centered=False), legacy rmsprop.py.

    momentum == 0 does NOT use the ApplyRMSProp kernel; it is the Python path
    (same for dense and deduped-sparse grads):
        rms = rho * rms + (1 - rho) * g^2          (1 - rho computed in float32)
        var = var - lr * g / (sqrt(rms) + eps)
    """

    def __init__(self, lr=0.001, rho=0.9, eps=1e-7, dtype=torch.float32):
        self.lr, self.rho, self.eps = F32(lr), F32(rho), F32(eps)
        self.one_minus_rho = F32(1.0) - self.rho
        self.dtype = dtype
        self.rms = {}

    def step(self, params, grads, occ_grads=None):
        d = self.dtype
        lr, rho, omr, eps = (c(self.lr, d), c(self.rho, d), c(self.one_minus_rho, d),
                             c(self.eps, d))
        for n in params:   # the toy model's PARAM_NAMES order (any model's names)
            w, g = params[n], grads[n]
            r = self.rms.setdefault(n, torch.zeros_like(w))
            r.copy_(rho * r + omr * torch.square(g))
            w.copy_(w - lr * g / (torch.sqrt(r) + eps))


class Adam:
    """Adam(lr=0.001, beta_1=0.9, beta_2=0.999, eps=1e-7, amsgrad=False), legacy adam.py.

    t = iterations + 1; b1p = beta1^t, b2p = beta2^t (float32 pow)
    Dense kernels (Qmat, Kmat, Vmat) -> ResourceApplyAdam (ApplyAdamNonCuda):
        alpha = lr * sqrt(1 - b2p) / (1 - b1p)
        m += (g - m) * (1 - beta1)
        v += (g^2 - v) * (1 - beta2)
        var -= (m * alpha) / (sqrt(v) + eps)
    Embeddings (IndexedSlices, deduped) -> Python _resource_apply_sparse:
        lr_ = lr * (sqrt(1 - b2p) / (1 - b1p))
        m = m * beta1 + g * (1 - beta1);  v = v * beta2 + (g * g) * (1 - beta2)
        var -= lr_ * m / (sqrt(v) + eps)
    (Mathematically identical; they differ only in float rounding. All rows of
    both embedding tables are used every step, so sparse == dense here.)
    """

    def __init__(self, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-7, dtype=torch.float32):
        self.lr, self.b1, self.b2, self.eps = F32(lr), F32(beta1), F32(beta2), F32(eps)
        self.dtype = dtype
        self.m, self.v = {}, {}
        self.iterations = 0

    def step(self, params, grads, occ_grads=None):
        d = self.dtype
        t = F32(self.iterations + 1)
        b1p = np.power(self.b1, t)
        b2p = np.power(self.b2, t)
        one = F32(1.0)
        alpha_kernel = self.lr * np.sqrt(one - b2p) / (one - b1p)
        lr_sparse = self.lr * (np.sqrt(one - b2p) / (one - b1p))
        omb1, omb2 = one - self.b1, one - self.b2
        for n in params:   # the toy model's PARAM_NAMES order (any model's names)
            w, g = params[n], grads[n]
            m = self.m.setdefault(n, torch.zeros_like(w))
            v = self.v.setdefault(n, torch.zeros_like(w))
            if n in ("XEmbed", "PosEmbed"):
                m.copy_(m * c(self.b1, d) + g * c(omb1, d))
                v.copy_(v * c(self.b2, d) + (g * g) * c(omb2, d))
                w.copy_(w - c(lr_sparse, d) * m / (torch.sqrt(v) + c(self.eps, d)))
            else:
                m.copy_(m + (g - m) * c(omb1, d))
                v.copy_(v + (torch.square(g) - v) * c(omb2, d))
                w.copy_(w - (m * c(alpha_kernel, d)) / (torch.sqrt(v) + c(self.eps, d)))
        self.iterations += 1


# ----------------------------------------------------------------------------
# ReduceLROnPlateau (KERAS_SEMANTICS.md §6), cooldown 0, mode min
# ----------------------------------------------------------------------------
class Plateau:
    def __init__(self, factor=0.2, patience=10, min_lr=1e-4, min_delta=1e-4):
        self.factor, self.patience, self.min_lr, self.min_delta = (
            factor, patience, min_lr, min_delta)
        self.best = np.inf
        self.wait = 0

    def on_epoch_end(self, current, lr_f32):
        """current: python float of the float32 epoch loss. Returns new float32 lr."""
        if np.less(current, self.best - self.min_delta):
            self.best = current
            self.wait = 0
            return lr_f32, False
        self.wait += 1
        if self.wait >= self.patience:
            if lr_f32 > F32(self.min_lr):
                new_lr = float(lr_f32) * self.factor
                new_lr = max(new_lr, self.min_lr)
                self.wait = 0
                return F32(new_lr), True
        return lr_f32, False


# ----------------------------------------------------------------------------
# Training
# ----------------------------------------------------------------------------
def to_params(w, dtype):
    return {n: torch.tensor(w[n], dtype=dtype) for n in PARAM_NAMES}


def compute_grads(params, H, kind, dtype, want_occ=False):
    leaves = {n: params[n].detach().clone().requires_grad_(True) for n in PARAM_NAMES}
    out = forward(leaves, H, dtype)
    occ = None
    if want_occ:
        out["XEmbed"].retain_grad()
        out["PosEmbed"].retain_grad()
    loss = loss_from(out, kind, dtype)
    loss.backward()
    grads = {n: leaves[n].grad.detach() for n in PARAM_NAMES}
    if want_occ:
        # per-occurrence rows (flattened B*T order) like _GatherGrad's IndexedSlices
        occ = {
            "XEmbed": ([i for s in SEQ_IDS for i in s],
                       out["XEmbed"].grad.reshape(-1, E).detach()),
            "PosEmbed": ([i for s in POSITIONS for i in s],
                         out["PosEmbed"].grad.reshape(-1, E).detach()),
        }
    return loss.detach(), grads, occ


def make_optimizer(cfg, dtype, per_occurrence=False):
    o = cfg["optimizer"]
    if o["name"] == "SGD":
        return SGD(o["learning_rate"], o.get("momentum", 0.0), o.get("nesterov", False),
                   dtype=dtype, per_occurrence=per_occurrence)
    if o["name"] == "RMSprop":
        return RMSprop(o["learning_rate"], o["rho"], o["epsilon"], dtype=dtype)
    if o["name"] == "Adam":
        return Adam(o["learning_rate"], o["beta_1"], o["beta_2"], o["epsilon"], dtype=dtype)
    raise ValueError(o)


def train(cfg, w0, dtype=torch.float32, per_occurrence=False):
    H, kind, epochs = cfg["H"], cfg["loss"], cfg["epochs"]
    params = to_params(w0, dtype)
    opt = make_optimizer(cfg, dtype, per_occurrence)
    plateau = Plateau() if cfg["plateau"] else None
    losses, lrs, reductions = [], [], []
    for e in range(epochs):
        loss, grads, occ = compute_grads(params, H, kind, dtype, want_occ=per_occurrence)
        losses.append(float(loss))
        lrs.append(opt.lr)
        with torch.no_grad():
            opt.step(params, grads, occ)
        if plateau is not None:
            # logs["loss"] is the python float of the float32 loss
            new_lr, reduced = plateau.on_epoch_end(float(loss), opt.lr)
            if reduced:
                reductions.append(e)
                opt.lr = new_lr
    with torch.no_grad():
        out = forward(params, H, dtype)
        final_loss = float(loss_from(out, kind, dtype))
    return {"losses": losses, "lrs": lrs, "reductions": reductions, "params": params,
            "final_out": out, "final_loss": final_loss}


# ----------------------------------------------------------------------------
# Fixture writing
# ----------------------------------------------------------------------------
def tolist(a):
    if isinstance(a, torch.Tensor):
        a = a.detach().cpu().numpy()
    return np.asarray(a).astype(np.float64).tolist()


def verdict(out):
    act = out["activation"].detach().numpy()
    pred = act.argmax(axis=-1)
    return {"pos3_argmax_seq0": int(pred[0, 3]), "pos3_argmax_seq1": int(pred[1, 3]),
            "expected_seq0": 3, "expected_seq1": 6,
            "holds": bool(pred[0, 3] == 3 and pred[1, 3] == 6),
            "argmax_all_positions": pred.tolist()}


CASES = [
    dict(file="toy_h20_keras_sgd_plateau.json", H=20, seed=1, loss="keras",
         optimizer=dict(name="SGD", learning_rate=0.01, momentum=0.0, nesterov=False),
         plateau=True, epochs=5020, full=True),
    dict(file="toy_h10_normalized_sgd.json", H=10, seed=2, loss="normalized",
         optimizer=dict(name="SGD", learning_rate=0.01, momentum=0.0, nesterov=False),
         plateau=False, epochs=300, full=False),
    dict(file="toy_h40_keras_adam.json", H=40, seed=3, loss="keras",
         optimizer=dict(name="Adam", learning_rate=0.001, beta_1=0.9, beta_2=0.999,
                        epsilon=1e-7, amsgrad=False),
         plateau=False, epochs=300, full=False),
    dict(file="toy_h20_keras_rmsprop.json", H=20, seed=4, loss="keras",
         optimizer=dict(name="RMSprop", learning_rate=0.001, rho=0.9, momentum=0.0,
                        epsilon=1e-7, centered=False),
         plateau=False, epochs=300, full=False),
    dict(file="toy_h20_keras_sgd_momentum.json", H=20, seed=5, loss="keras",
         optimizer=dict(name="SGD", learning_rate=0.01, momentum=0.9, nesterov=True),
         plateau=False, epochs=300, full=False),
]

PLATEAU_CFG = dict(monitor="loss", factor=0.2, patience=10, min_lr=1e-4, min_delta=1e-4,
                   cooldown=0, mode="min", active_epochs="all")


def common_config(case):
    cfg = {k: case[k] for k in ("H", "seed", "loss", "optimizer", "plateau", "epochs")}
    cfg.update(B=B, T=T, V=V, E=E, vocab=VOCAB, seq_ids=SEQ_IDS, targets=TARGETS,
               positions=POSITIONS, scale_f32=float(scale_f32(case["H"])),
               dtype="float32",
               loss_recorded="loss at the weights BEFORE that epoch's update",
               init="numpy RandomState(seed), order XEmbed,PosEmbed,Qmat,Kmat,Vmat; "
                    "embeddings U(-0.05,0.05), kernels glorot U(+-sqrt(6/(fan_in+fan_out))); "
                    "float64 samples rounded to float32")
    if case["plateau"]:
        cfg["plateau_config"] = PLATEAU_CFG
    return cfg


def build_case(case):
    w0 = init_weights(case["seed"], case["H"])
    r = train(case, w0)
    doc = {"config": common_config(case),
           "init_weights": {n: tolist(w0[n]) for n in PARAM_NAMES},
           "initial_loss": r["losses"][0],
           "losses": r["losses"],
           "final_loss_after_training": r["final_loss"]}
    if case["full"]:
        lr_values = sorted(set(float(x) for x in r["lrs"]), reverse=True)
        doc["lr_values"] = lr_values
        doc["lr_index_per_epoch"] = [lr_values.index(float(x)) for x in r["lrs"]]
        doc["lr_reduced_at_epoch_end_0based"] = r["reductions"]
        doc["lr_reduction_note"] = (
            "reduction at 0-based epoch e happens in on_epoch_end(e); epoch e+1 is the "
            "first to use the new lr (Keras prints 'Epoch e+1: ReduceLROnPlateau ...'). "
            "lr used in epoch e = lr_values[lr_index_per_epoch[e]]")
        doc["final_weights"] = {n: tolist(r["params"][n]) for n in PARAM_NAMES}
    doc["final_activations"] = {n: tolist(r["final_out"][n]) for n in LAYER_NAMES}
    doc["verdict"] = verdict(r["final_out"])
    return doc, r


def build_grads_fixture():
    H, seed = 20, 1
    w0 = init_weights(seed, H)
    params = to_params(w0, torch.float32)
    doc = {"config": {"H": H, "seed": seed, "B": B, "T": T, "V": V, "E": E,
                      "seq_ids": SEQ_IDS, "targets": TARGETS, "positions": POSITIONS,
                      "scale_f32": float(scale_f32(H)), "dtype": "float32",
                      "note": "same initial weights as toy_h20_keras_sgd_plateau.json"},
           "init_weights": {n: tolist(w0[n]) for n in PARAM_NAMES}}
    for kind in ("keras", "normalized"):
        loss, grads, _ = compute_grads(params, H, kind, torch.float32)
        # dL/dskipadd as an intermediate check
        leaves = {n: params[n].clone() for n in PARAM_NAMES}
        out = forward(leaves, H, torch.float32)
        z = out["skipadd"].detach().requires_grad_(True)
        out2 = dict(out)
        out2["skipadd"] = z
        l2 = loss_from(out2, kind, torch.float32)
        l2.backward()
        # float64 reference of the same quantities (for tolerance setting)
        loss64, grads64, _ = compute_grads(to_params(w0, torch.float64), H, kind,
                                           torch.float64)
        doc[kind] = {"loss": float(loss),
                     "grads": {n: tolist(grads[n]) for n in PARAM_NAMES},
                     "dloss_dskipadd": tolist(z.grad),
                     "loss_float64": float(loss64),
                     "grads_float64": {n: tolist(grads64[n]) for n in PARAM_NAMES},
                     "max_abs_grad_diff_f32_vs_f64": max(
                         float((grads[n].double() - grads64[n]).abs().max())
                         for n in PARAM_NAMES)}
    return doc


def dumps(doc):
    # one top-level key per line; compact arrays; floats via repr (shortest
    # round-trip, <= 17 significant digits, exact for float32 values)
    parts = []
    for k, v in doc.items():
        parts.append(json.dumps(k) + ": " + json.dumps(v, separators=(",", ":")))
    return "{\n" + ",\n".join(parts) + "\n}\n"


def dump(doc, path):
    text = dumps(doc)
    with open(path, "w") as f:
        f.write(text)
    return len(text)


def gradcheck_sanity():
    """float64 finite-difference check of autograd grads (both losses)."""
    w0 = init_weights(1, 20)
    for kind in ("keras", "normalized"):
        leaves = {n: torch.tensor(w0[n], dtype=torch.float64, requires_grad=True)
                  for n in PARAM_NAMES}

        def f(*args):
            return loss_from(forward(dict(zip(PARAM_NAMES, args)), 20, torch.float64),
                             kind, torch.float64)
        ok = torch.autograd.gradcheck(f, tuple(leaves[n] for n in PARAM_NAMES),
                                      eps=1e-6, atol=1e-8, rtol=1e-6)
        print(f"gradcheck float64 ({kind}): {ok}")


def generate_all(write=True):
    results = {}
    for case in CASES:
        doc, r = build_case(case)
        results[case["file"]] = doc
        if write:
            n = dump(doc, os.path.join(FIXTURES, case["file"]))
        else:
            n = 0
        v = doc["verdict"]
        extra = ""
        if case["full"]:
            extra = f" reductions(0-based)={doc['lr_reduced_at_epoch_end_0based']}"
        print(f"{case['file']}: initial loss {doc['initial_loss']:.7f} "
              f"last-epoch loss {doc['losses'][-1]:.7f} final {doc['final_loss_after_training']:.7f} "
              f"verdict={v['holds']} ({v['pos3_argmax_seq0']},{v['pos3_argmax_seq1']})"
              f"{extra} size={n}")
    g = build_grads_fixture()
    results["toy_h20_grads_step0.json"] = g
    if write:
        n = dump(g, os.path.join(FIXTURES, "toy_h20_grads_step0.json"))
        print(f"toy_h20_grads_step0.json: keras loss {g['keras']['loss']:.7f} "
              f"normalized loss {g['normalized']['loss']:.7f} size={n}")
    return results


# ----------------------------------------------------------------------------
# Drift study
# ----------------------------------------------------------------------------
def plateau_margins(losses, min_delta=1e-4):
    """Smallest |loss_e - (best_e - min_delta)| over the epochs: how far each
    improved/not-improved decision was from flipping."""
    best = np.inf
    margins = []
    for L in losses:
        thr = best - min_delta
        if np.isfinite(thr):
            margins.append(abs(L - thr))
        if L < thr:
            best = L
    m = np.array(margins)
    return {"min_margin": float(m.min()), "argmin_epoch": int(m.argmin()) + 1,
            "n_epochs_with_margin_below_1e-6": int((m < 1e-6).sum()),
            "n_epochs_with_margin_below_1e-5": int((m < 1e-5).sum())}


def compare_runs(a, b, case):
    """Differences between run a (float32 reference) and run b."""
    La, Lb = np.array(a["losses"]), np.array(b["losses"])
    d = np.abs(La - Lb)
    rel = d / np.abs(Lb)
    wdiff = {n: float((a["params"][n].double() - b["params"][n].double()).abs().max())
             for n in PARAM_NAMES}
    wscale = {n: float(b["params"][n].double().abs().max()) for n in PARAM_NAMES}
    adiff, arel = {}, {}
    for n in LAYER_NAMES:
        x, y = a["final_out"][n].double(), b["final_out"][n].double()
        adiff[n] = float((x - y).abs().max())
        arel[n] = float(((x - y).abs() / (y.abs().max())).max()) if y.abs().max() > 0 else 0.0
    ep = case["epochs"]
    cuts = [0, 10, 100, 1000, 3000, ep] if ep > 1000 else [0, 10, 100, ep]
    blocks = {f"{lo}-{hi}": {"max_abs": float(d[lo:hi].max()),
                              "max_rel": float(rel[lo:hi].max())}
              for lo, hi in zip(cuts[:-1], cuts[1:])}
    return {
        "max_abs_loss_diff_all_epochs": float(d.max()),
        "argmax_epoch": int(d.argmax()),
        "max_rel_loss_diff_all_epochs": float(rel.max()),
        "abs_loss_diff_last_epoch": float(d[-1]),
        "final_loss_diff": abs(a["final_loss"] - b["final_loss"]),
        "by_epoch_range": blocks,
        "max_abs_final_weight_diff": wdiff,
        "max_abs_final_weight": wscale,
        "max_abs_final_activation_diff": adiff,
        "max_final_activation_diff_rel_to_layer_max": arel,
        "reductions": b["reductions"],
        "same_reductions": b["reductions"] == a["reductions"],
        "verdict_holds": verdict(b["final_out"])["holds"],
    }


def drift_study():
    rep = {"what": "float32 reference vs (a) the same computation in float64 with the same "
                   "f32-rounded constants and lr schedule logic, (b) a float32 variant that "
                   "applies legacy-Keras per-occurrence ScatterAdd SGD updates to the "
                   "embeddings (different summation order)",
           "cases": {}}
    for case in CASES:
        w0 = init_weights(case["seed"], case["H"])
        r32 = train(case, w0, torch.float32)
        r64 = train(case, w0, torch.float64)
        entry = {"f32_vs_f64": compare_runs(r32, r64, case),
                 "f32_reductions": r32["reductions"]}
        if case["optimizer"]["name"] == "SGD" and case["optimizer"]["momentum"] == 0:
            rocc = train(case, w0, torch.float32, per_occurrence=True)
            entry["f32_vs_f32_per_occurrence"] = compare_runs(r32, rocc, case)
        if case["plateau"]:
            entry["plateau_margins_f32"] = plateau_margins(r32["losses"])
            entry["plateau_margins_f64"] = plateau_margins(r64["losses"])
        rep["cases"][case["file"]] = entry
        print(case["file"], "f32 vs f64: max|dloss| =",
              entry["f32_vs_f64"]["max_abs_loss_diff_all_epochs"],
              "max|dW| =", max(entry["f32_vs_f64"]["max_abs_final_weight_diff"].values()),
              "max|dact| =", max(entry["f32_vs_f64"]["max_abs_final_activation_diff"].values()))
    path = os.path.join(HERE, "drift_report.json")
    with open(path, "w") as f:
        json.dump(rep, f, indent=1)
    print("wrote", path)


def crosscheck_torch_optim():
    """Sanity check of the hand-written optimizers against torch.optim where the
    formulas coincide (RMSprop: identical formula; SGD nesterov: identical up to
    rounding for constant lr) or nearly coincide (Adam: torch adds eps to
    sqrt(v_hat) instead of sqrt(v), i.e. eps differs by a factor sqrt(1-b2^t))."""
    specs = [
        (CASES[3], lambda ps: torch.optim.RMSprop(ps, lr=0.001, alpha=0.9, eps=1e-7)),
        (CASES[4], lambda ps: torch.optim.SGD(ps, lr=0.01, momentum=0.9, nesterov=True)),
        (CASES[2], lambda ps: torch.optim.Adam(ps, lr=0.001, betas=(0.9, 0.999), eps=1e-7)),
        (CASES[1], lambda ps: torch.optim.SGD(ps, lr=0.01)),
    ]
    for case, mk in specs:
        w0 = init_weights(case["seed"], case["H"])
        ours = train(case, w0)
        leaves = [torch.tensor(w0[n], requires_grad=True) for n in PARAM_NAMES]
        opt = mk(leaves)
        losses = []
        for _ in range(case["epochs"]):
            opt.zero_grad()
            loss = loss_from(forward(dict(zip(PARAM_NAMES, leaves)), case["H"],
                                     torch.float32), case["loss"], torch.float32)
            losses.append(float(loss))
            loss.backward()
            opt.step()
        d = np.abs(np.array(losses) - np.array(ours["losses"]))
        wd = max(float((leaves[i].detach() - ours["params"][n]).abs().max())
                 for i, n in enumerate(PARAM_NAMES))
        print(f"{case['file']}: vs torch.optim max|dloss|={d.max():.3e} "
              f"last={d[-1]:.3e} max|dW|={wd:.3e}")


def check_fixtures():
    res = generate_all(write=False)
    bad = 0
    for fname, doc in res.items():
        with open(os.path.join(FIXTURES, fname)) as f:
            stored = json.load(f)
        same = json.dumps(stored, sort_keys=True) == json.dumps(
            json.loads(json.dumps(doc)), sort_keys=True)
        print(f"{fname}: {'identical' if same else 'DIFFERENT'}")
        bad += not same
    return bad


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--drift", action="store_true")
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--gradcheck", action="store_true")
    ap.add_argument("--crosscheck", action="store_true")
    a = ap.parse_args()
    if a.drift:
        drift_study()
    elif a.crosscheck:
        crosscheck_torch_optim()
    elif a.check:
        sys.exit(1 if check_fixtures() else 0)
    else:
        if a.gradcheck:
            gradcheck_sanity()
        os.makedirs(FIXTURES, exist_ok=True)
        generate_all(write=True)


if __name__ == "__main__":
    main()
