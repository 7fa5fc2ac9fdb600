#!/usr/bin/env python3
"""The toy model's whole training in JAX (CPU, float32): a timing peer for `toyformer bench`/`sweep` and a cross-check.

Needs JAX (`scripts/bench_peers.sh` makes `.venv-peers/` with `pip install jax`); run it with that interpreter:

    .venv-peers/bin/python tests/reference/jax_toy.py --init w.npz --check d.npz   # same loss curve as toyformer?
    .venv-peers/bin/python tests/reference/jax_toy.py --bench [--H 10,20,40]       # us/step, whole training in a jit
    .venv-peers/bin/python tests/reference/jax_toy.py --vmap 100 --H 20            # us/model-step, jit(vmap) of seeds
    .venv-peers/bin/python tests/reference/jax_toy.py --sweep [--devices N]        # 3 H x 100 seeds, total wall
    .venv-peers/bin/python tests/reference/jax_toy.py --large [--threads 1]        # B=32 T=256 E=512 H=512 step

Model (README, tests/reference/bench_toy.py, shared KERAS_SEMANTICS.md): x = XEmbed[ids] + PosEmbed[pos] (V=E=7,
T=5); Q, K, V = x W (Keras Dense layout, no bias); S = (Q K^T) * f32(1/sqrt(H)) + (1 - tril) * -1e9 (Keras'
Softmax mask adder); A = softmax(S); z = A V + x ("skipadd"); sigmoid(z) is the model's output, computed for the
final predictions (inside the training loop XLA drops it as dead code: it is off the loss and gradient path, as in
Keras); loss = mean over the 10 positions of softmax cross-entropy on z (Keras uses the pre-sigmoid logits); SGD
w <- w - lr*g, lr float32 0.01; ReduceLROnPlateau(monitor loss, factor 0.2, patience 10, min_lr 1e-4, min_delta 1e-4
absolute, cooldown 0, mode min) active over all epochs as in `toyformer train`: epoch e's loss is the loss before
its update; improvement is loss < best - 1e-4 in float64, and lr <- f32(max(f64(lr) * 0.2, 1e-4)) while
lr > f32(1e-4). The weights and arithmetic are float32; only the plateau rule's bookkeeping (best, the comparison, the
lr product) is float64, as Keras does it in NumPy, so jax_enable_x64 is on and every array is made float32
explicitly. The batch is the notebook's two sentences, full batch, one step per epoch.

Timing: the whole training (all epochs, the plateau rule, the loss/lr history) is one lax.scan inside one jax.jit;
after a compile call and a warm-up call, repeats are timed with block_until_ready and the median is reported.
--bench/--vmap/--sweep initialize weights at random with NumPy (Keras' distributions: U(-0.05, 0.05) embeddings,
Glorot-uniform kernels): the timings do not depend on the values. --init takes toyformer's weights (.npz from
`toyformer train --epochs 0 --save-weights w.npz`) for the cross-check.

Threads: --threads 1 pins this process to one CPU (sched_setaffinity, before JAX starts, so XLA sizes its thread
pools to it) and sets XLA_FLAGS=--xla_cpu_multi_thread_eigen=false; check with /usr/bin/time that user <= wall.
--devices N (default: 1; --sweep: every CPU this process may use) splits the seeds of a jit(vmap) over N XLA host
devices (--xla_force_host_platform_device_count) so that all cores work. --json prints one JSON object on stdout.
"""
import argparse
import json
import math
import os
import platform
import statistics
import sys
import time

V, T = 7, 5
IDS = [[0, 2, 4, 1, 3], [0, 5, 4, 1, 6]]
TARGETS = [[2, 4, 1, 3, 0], [5, 4, 1, 6, 0]]
NAMES = ("XEmbed", "PosEmbed", "Qmat", "Kmat", "Vmat")


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--bench", action="store_true", help="us per step, whole training in one jit, per H")
    mode.add_argument("--vmap", type=int, metavar="N", help="jit(vmap) of the training over N seeds: us per model-step")
    mode.add_argument("--sweep", action="store_true", help="3 H x --seeds seeds (three vmapped calls): total wall")
    mode.add_argument("--large", action="store_true", help="one causal attention layer's training step (B,T,E,H)")
    ap.add_argument("--init", metavar="NPZ", help="initial weights in toyformer's layout (XEmbed, PosEmbed, Qmat, "
                    "Kmat, Vmat)")
    ap.add_argument("--check", metavar="NPY_OR_NPZ", help="toyformer's per-epoch loss (.npy, or .npz with 'loss' and "
                    "'lr' from train --dump-activations): compare the curves and the lr reduction epochs")
    ap.add_argument("--dump", metavar="NPZ", help="--init/--check: write JAX's per-epoch 'loss' and 'lr' (.npz)")
    ap.add_argument("--follow-lr", action="store_true", help="--check: train with the reference's lr of each "
                    "epoch instead of JAX's own plateau rule (compares the curves past a plateau near tie)")
    ap.add_argument("--tol", type=float, default=1e-4, help="--check: largest allowed |loss difference| (1e-4)")
    ap.add_argument("--H", default=None, help="head size(s): --bench/--sweep take a list (default 10,20,40); "
                    "others one (default 20, or from --init)")
    ap.add_argument("--epochs", type=int, default=None, help="epochs (default 5020; --check: the reference's length)")
    ap.add_argument("--seeds", type=int, default=100, help="--sweep: seeds per H (100)")
    ap.add_argument("--seed", type=int, default=1, help="JAX RNG seed for random weights (1)")
    ap.add_argument("--repeats", type=int, default=None, help="timed calls, median reported (--bench 5, --vmap 3, "
                    "--sweep 1, --large: steps 10)")
    ap.add_argument("--warmup", type=int, default=1, help="untimed calls/steps after the compile (1)")
    ap.add_argument("--threads", type=int, default=0, help="1: one CPU only (affinity + XLA flag); 0: all (default)")
    ap.add_argument("--devices", type=int, default=None, help="XLA host devices to split vmapped seeds over")
    ap.add_argument("--B", type=int, default=32)
    ap.add_argument("--T", type=int, default=256)
    ap.add_argument("--E", type=int, default=512)
    ap.add_argument("--Hl", type=int, default=512, help="--large: projected size H")
    ap.add_argument("--json", action="store_true", help="one JSON object on stdout (the rest goes to stderr)")
    a = ap.parse_args(argv)
    if a.check and (a.bench or a.vmap or a.sweep or a.large):
        ap.error("--check is a mode of its own")
    return a


def first_differing_decision(loss_a, loss_b, min_delta=1e-4, patience=10, factor=0.2, min_lr=1e-4):
    """Run Keras' plateau rule (NumPy, float64 tests, float32 lr) on two loss curves; return the first epoch whose
    improvement test decides differently as (epoch, loss_a, loss_b, margin_a, margin_b), margin = loss - (best -
    min_delta) (negative: an improvement), or None."""
    import numpy as np
    states = [[np.inf, 0, np.float32(0.01)], [np.inf, 0, np.float32(0.01)]]
    for e, (la, lb) in enumerate(zip(loss_a, loss_b)):
        margins, better = [], []
        for st, l in zip(states, (float(la), float(lb))):
            margins.append(l - (st[0] - min_delta))
            better.append(l < st[0] - min_delta)
            if better[-1]:
                st[0], st[1] = l, 0
            else:
                st[1] += 1
                if st[1] >= patience and st[2] > np.float32(min_lr):
                    st[2], st[1] = np.float32(max(np.float64(st[2]) * factor, min_lr)), 0
        if better[0] != better[1]:
            return e, float(la), float(lb), margins[0], margins[1]
    return None


def setup_environment(a):
    """Thread and device settings that must be in place before JAX is imported."""
    flags = os.environ.get("XLA_FLAGS", "").split()
    if a.threads == 1:
        cpus = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpus[0]})
        flags.append("--xla_cpu_multi_thread_eigen=false")
    elif a.threads > 1:
        cpus = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, set(cpus[:a.threads]))
    if a.devices is None:
        a.devices = len(os.sched_getaffinity(0)) if a.sweep else 1
    if a.devices > 1:
        flags.append(f"--xla_force_host_platform_device_count={a.devices}")
    if flags:
        os.environ["XLA_FLAGS"] = " ".join(flags)
    os.environ.setdefault("JAX_PLATFORMS", "cpu")


def log(a, *args):
    print(*args, file=sys.stderr if a.json else sys.stdout, flush=True)


def main(argv=None):
    a = parse_args(argv)
    setup_environment(a)
    import numpy as np
    import jax
    import jax.numpy as jnp
    jax.config.update("jax_enable_x64", True)  # float64 only for the plateau rule's scalars; arrays are float32
    f32, f64 = jnp.float32, jnp.float64

    info = {"jax": jax.__version__, "devices": [str(d) for d in jax.devices()], "backend": jax.default_backend(),
            "xla_flags": os.environ.get("XLA_FLAGS", ""), "cpus": sorted(os.sched_getaffinity(0)),
            "machine": platform.machine()}
    log(a, f"JAX {jax.__version__} ({jax.default_backend()}), devices {info['devices']}, "
           f"XLA_FLAGS='{info['xla_flags']}', CPUs {info['cpus']}")

    ids = jnp.asarray(IDS, dtype=jnp.int32)
    targets = jnp.asarray(TARGETS, dtype=jnp.int32).reshape(-1)
    positions = jnp.arange(T, dtype=jnp.int32)
    adder = jnp.asarray((1.0 - np.tril(np.ones((T, T), np.float32))) * np.float32(-1e9), dtype=f32)

    def forward(p):
        H = p["Qmat"].shape[-1]
        scale = np.float32(1.0 / np.sqrt(H))  # Keras: tf.constant(np.divide(1, np.sqrt(H)), dtype=tf.float32)
        x = p["XEmbed"][ids] + p["PosEmbed"][positions][None]
        q, k, vm = x @ p["Qmat"], x @ p["Kmat"], x @ p["Vmat"]
        s = jnp.einsum("bih,bjh->bij", q, k) * scale + adder
        z = jax.nn.softmax(s, axis=-1) @ vm + x
        return z, jax.nn.sigmoid(z)

    def loss_fn(p):
        z, _ = forward(p)
        logp = jax.nn.log_softmax(z.reshape(-1, V), axis=-1)
        return -jnp.take_along_axis(logp, targets[:, None], axis=1).sum() / f32(targets.shape[0])

    FACTOR, PATIENCE, MIN_LR, MIN_DELTA = 0.2, 10, 1e-4, 1e-4

    def make_train(epochs, forced_lr=None):
        """The whole training as one lax.scan; forced_lr (one lr per epoch) replaces the plateau rule's lr."""
        def train(p):
            def epoch(carry, lr_in):
                p, lr, best, wait = carry
                if lr_in is not None:
                    lr = lr_in
                loss, g = jax.value_and_grad(loss_fn)(p)
                p = jax.tree_util.tree_map(lambda w, gw: w - gw * lr, p, g)
                l64 = loss.astype(f64)
                better = l64 < best - MIN_DELTA
                best = jnp.where(better, l64, best)
                wait = jnp.where(better, 0, wait + 1)
                cut = (~better) & (wait >= PATIENCE) & (lr > f32(MIN_LR))
                new_lr = jnp.where(cut, jnp.maximum(lr.astype(f64) * FACTOR, MIN_LR).astype(f32), lr)
                wait = jnp.where(cut, 0, wait)
                return (p, new_lr, best, wait), (loss, lr, cut)
            carry0 = (p, f32(0.01), f64(jnp.inf), jnp.int32(0))
            xs = None if forced_lr is None else jnp.asarray(forced_lr, dtype=f32)
            (p, lr, _, _), (losses, lrs, cuts) = jax.lax.scan(epoch, carry0, xs, length=epochs)
            return p, losses, lrs, cuts, lr, forward(p)[1]
        return train

    def random_params(rng, H):
        """Keras' distributions, drawn with NumPy on the host (eager JAX ops would each cost an XLA compile)."""
        glorot = lambda shape: rng.uniform(-1, 1, shape).astype(np.float32) * np.float32(math.sqrt(6.0 / sum(shape)))
        p = {"XEmbed": rng.uniform(-0.05, 0.05, (V, V)).astype(np.float32),
             "PosEmbed": rng.uniform(-0.05, 0.05, (T, V)).astype(np.float32),
             "Qmat": glorot((V, H)), "Kmat": glorot((V, H)), "Vmat": glorot((V, V))}
        return {k: jnp.asarray(v) for k, v in p.items()}

    def stacked_params(rng, H, n):
        ps = [random_params(rng, H) for _ in range(n)]
        return {k: jnp.asarray(np.stack([np.asarray(q[k]) for q in ps])) for k in NAMES}

    def load_params(path):
        z = np.load(path)
        missing = [n for n in NAMES if n not in z]
        if missing:
            sys.exit(f"jax_toy: {path} lacks {', '.join(missing)}")
        p = {n: jnp.asarray(z[n], dtype=f32) for n in NAMES}
        H = p["Qmat"].shape[1]
        want = {"XEmbed": (V, V), "PosEmbed": (T, V), "Qmat": (V, H), "Kmat": (V, H), "Vmat": (V, V)}
        for n in NAMES:
            if tuple(p[n].shape) != want[n]:
                sys.exit(f"jax_toy: {path}: {n} has shape {tuple(p[n].shape)}, expected {want[n]}")
        return p

    def timed(fn, *args, repeats=1, warmup=1):
        t0 = time.perf_counter()
        compiled = fn.lower(*args).compile()
        compile_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        jax.block_until_ready(compiled(*args))
        first_s = time.perf_counter() - t0
        for _ in range(max(0, warmup - 1)):
            jax.block_until_ready(compiled(*args))
        walls = []
        out = None
        for _ in range(max(1, repeats)):
            t0 = time.perf_counter()
            out = jax.block_until_ready(compiled(*args))
            walls.append(time.perf_counter() - t0)
        return out, compile_s, first_s, walls

    def hs(default):
        return [int(h) for h in (a.H or default).split(",")]

    result = dict(info)
    rc = 0
    if a.check or (a.init and not (a.bench or a.vmap or a.sweep or a.large)):
        p0 = load_params(a.init) if a.init else random_params(np.random.default_rng(a.seed), hs("20")[0])
        ref_loss = ref_lr = None
        if a.check:
            if a.check.endswith(".npy"):
                ref_loss = np.load(a.check).astype(np.float64).ravel()
            else:
                z = np.load(a.check)
                ref_loss = z["loss"].astype(np.float64).ravel()
                ref_lr = z["lr"].astype(np.float64).ravel() if "lr" in z else None
        epochs = a.epochs if a.epochs is not None else (len(ref_loss) if ref_loss is not None else 5020)
        H = int(p0["Qmat"].shape[1])
        forced = None
        if a.follow_lr:
            if ref_lr is None or len(ref_lr) < epochs:
                sys.exit("jax_toy: --follow-lr needs a reference .npz with an 'lr' array of at least --epochs values")
            forced = ref_lr[:epochs].astype(np.float32)
        _, losses, lrs, cuts, lr, _ = jax.jit(make_train(epochs, forced))(p0)
        losses, lrs, cuts = np.asarray(losses, np.float64), np.asarray(lrs, np.float64), np.asarray(cuts)
        red = [int(e) for e in np.nonzero(cuts)[0]]  # 0-based epochs at whose end the lr was cut
        if a.dump:
            np.savez(a.dump, loss=losses.astype(np.float32), lr=lrs.astype(np.float32))
        log(a, f"H={H}, {epochs} epochs{' (lr forced to the reference lr of each epoch)' if forced is not None else ''}"
               f": first loss {losses[0]:.7f}, final loss {losses[-1]:.7f}, final lr {float(lr):.7g}, "
               f"{'the plateau rule would cut' if forced is not None else 'lr cut'} at the end of epochs (0-based) "
               f"{red}")
        result.update(H=H, epochs=epochs, first_loss=losses[0], final_loss=losses[-1], reductions=red,
                      follow_lr=forced is not None)
        if ref_loss is not None:
            n = min(epochs, len(ref_loss))
            if n < epochs or n < len(ref_loss):
                log(a, f"note: comparing the first {n} epochs (JAX {epochs}, reference {len(ref_loss)})")
            d = np.abs(losses[:n] - ref_loss[:n])
            worst = int(np.argmax(d)) if n else 0
            ok_loss = bool(n > 0 and np.all(np.isfinite(d)) and d.max() <= a.tol)
            line = (f"max |loss(JAX) - loss(toyformer)| over {n} epochs: {d.max():.3e} at epoch {worst} "
                    f"(tolerance {a.tol:g}); final losses JAX {losses[n - 1]:.7f}, toyformer {ref_loss[n - 1]:.7f}")
            result.update(max_abs_dloss=float(d.max()), worst_epoch=worst, ref_final_loss=float(ref_loss[n - 1]))
            ok_lr = True
            if ref_lr is not None and forced is None:
                # Cuts visible in an lr-per-epoch history: lr[e+1] != lr[e] (a cut after the last epoch is not).
                ref_red = [int(e) for e in np.nonzero(np.diff(ref_lr[:n]))[0]]
                jax_red = [e for e in red if e < n - 1]
                ok_lr = ref_red == jax_red
                lr_d = float(np.max(np.abs(lrs[:n] - ref_lr[:n]))) if n else 0.0
                line += (f"\nlr reductions after epochs: JAX {jax_red}, toyformer {ref_red} -> "
                         f"{'same' if ok_lr else 'DIFFERENT'}; max |lr difference| {lr_d:.3g}")
                result.update(ref_reductions=ref_red, same_reductions=ok_lr, max_abs_dlr=lr_d)
                if not ok_lr:
                    tie = first_differing_decision(losses[:n], ref_loss[:n])
                    if tie:
                        e, lj, lt, mj, mt = tie
                        line += (f"\nthe plateau rule's improvement test (loss < best - 1e-4) first decides differently"
                                 f" at epoch {e}: JAX loss {lj:.9f} (margin {mj:+.3e}), toyformer {lt:.9f} (margin "
                                 f"{mt:+.3e}), |loss difference| there {abs(lj - lt):.3e}")
                        if max(abs(mj), abs(mt)) <= 1e-6:
                            line += ("\n-> a near tie: both losses lie within rounding of the threshold, so float32 "
                                     "summation order decides it (rerun with --follow-lr to compare the curves under "
                                     "toyformer's lr schedule)")
                        result.update(tie_epoch=e, tie_margin_jax=mj, tie_margin_ref=mt)
            elif ref_lr is None:
                line += "\n(no 'lr' array in the reference: reductions not compared)"
            log(a, line)
            rc = 0 if ok_loss and ok_lr else 1
            result["ok"] = rc == 0
            log(a, "check: " + ("PASS" if rc == 0 else "FAIL"))
    elif a.bench:
        epochs = a.epochs or 5020
        rows = []
        for H in hs("10,20,40"):
            p = load_params(a.init) if a.init else random_params(np.random.default_rng(a.seed), H)
            if int(p["Qmat"].shape[1]) != H:
                sys.exit(f"jax_toy: --init has H={p['Qmat'].shape[1]}, not {H}")
            out, cs, fs, walls = timed(jax.jit(make_train(epochs)), p, repeats=a.repeats or 5, warmup=a.warmup)
            us = statistics.median(walls) * 1e6 / epochs
            rows.append({"H": H, "us_per_step": us, "us_per_step_min": min(walls) * 1e6 / epochs,
                         "compile_s": cs, "final_loss": float(np.asarray(out[1])[-1]), "repeats": len(walls)})
            log(a, f"  H={H:<3} {us:8.2f} us/step (median of {len(walls)} whole {epochs}-epoch trainings in one jit; "
                   f"min {rows[-1]['us_per_step_min']:.2f}; compile {cs:.2f} s; final loss {rows[-1]['final_loss']:.4f})")
        result.update(mode="bench", epochs=epochs, results=rows)
    elif a.vmap or a.sweep:
        epochs = a.epochs or 5020
        n = a.vmap or a.seeds
        ndev = a.devices
        devs = jax.devices()[:ndev]
        train_v = jax.jit(jax.vmap(make_train(epochs)))
        pad = (-n) % len(devs)  # the seeds axis must split evenly over the devices
        rows = []
        for H in hs("10,20,40" if a.sweep else "20"):
            p = stacked_params(np.random.default_rng(a.seed), H, n + pad)
            if len(devs) > 1:
                from jax.sharding import Mesh, NamedSharding, PartitionSpec
                sh = NamedSharding(Mesh(np.array(devs), ("seeds",)), PartitionSpec("seeds"))
                p = jax.device_put(p, sh)
            t0 = time.perf_counter()
            out, cs, fs, walls = timed(train_v, p, repeats=a.repeats or (1 if a.sweep else 3), warmup=a.warmup)
            first_total = time.perf_counter() - t0 - sum(walls)  # compile + first (warm-up) calls
            wall = statistics.median(walls)
            rows.append({"H": H, "models": n, "padded": pad, "wall_s": wall, "compile_s": cs,
                         "first_call_s": fs, "compile_and_first_s": first_total,
                         "us_per_model_step": wall * 1e6 / ((n + pad) * epochs),
                         "mean_final_loss": float(np.mean(np.asarray(out[1])[:n, -1]))})
            log(a, f"  H={H:<3} {n} models{f' (+{pad} padding)' if pad else ''} on {len(devs)} device(s): "
                   f"{wall:.3f} s per call (median of {len(walls)}), {rows[-1]['us_per_model_step']:.2f} us per "
                   f"model-step; compile {cs:.2f} s, first call {fs:.3f} s")
        result.update(mode="sweep" if a.sweep else "vmap", epochs=epochs, devices=len(devs), results=rows,
                      random_init=True)
        if a.sweep:
            total = sum(r["wall_s"] for r in rows)
            comp = sum(r["compile_s"] for r in rows)
            result.update(total_wall_s=total, total_compile_s=comp)
            log(a, f"sweep {len(rows)} H x {n} seeds x {epochs} epochs: {total:.2f} s wall for the three compiled "
                   f"calls (+ {comp:.2f} s XLA compile before them)")
    elif a.large:
        B, TT, E, H = a.B, a.T, a.E, a.Hl
        rng = np.random.default_rng(a.seed)  # host-side draws: no eager XLA compiles
        x = jnp.asarray(rng.uniform(-1, 1, (B, TT, E)).astype(np.float32))
        tg = jnp.asarray(rng.integers(0, H, (B, TT)).astype(np.int32))
        lim = np.float32(math.sqrt(6.0 / (E + H)))
        ws = [jnp.asarray(rng.uniform(-1, 1, (E, H)).astype(np.float32) * lim) for _ in range(3)]
        causal = jnp.asarray(np.triu(np.full((TT, TT), -np.inf, np.float32), 1))
        inv = f32(1.0 / math.sqrt(H))

        def loss(ws, x, tg):
            q, k, v = (x @ w for w in ws)
            s = jnp.einsum("bih,bjh->bij", q, k) * inv + causal
            o = jax.nn.softmax(s, axis=-1) @ v
            logp = jax.nn.log_softmax(o, axis=-1)
            return -jnp.take_along_axis(logp, tg[..., None], axis=-1).mean()

        @jax.jit
        def step(ws, x, tg):
            l, g = jax.value_and_grad(loss)(ws, x, tg)
            return [w - f32(0.01) * gw for w, gw in zip(ws, g)], l

        t0 = time.perf_counter()
        compiled = step.lower(ws, x, tg).compile()
        cs = time.perf_counter() - t0
        for _ in range(max(1, a.warmup)):
            ws, l = compiled(ws, x, tg)
        jax.block_until_ready(ws)
        steps = a.repeats or 10
        per = []
        t0 = time.perf_counter()
        for _ in range(steps):
            t1 = time.perf_counter()
            ws, l = compiled(ws, x, tg)
            jax.block_until_ready(ws)
            per.append(time.perf_counter() - t1)
        ms = (time.perf_counter() - t0) * 1e3 / steps
        fwd = 2.0 * B * TT * (3.0 * E * H + 2.0 * TT * H)
        gflops = 3.0 * fwd / (ms * 1e-3) / 1e9
        result.update(mode="large", B=B, T=TT, E=E, H=H, ms_per_step=ms, ms_median=statistics.median(per) * 1e3,
                      steps=steps, compile_s=cs, gflops=gflops, loss=float(l), threads=a.threads or "all")
        log(a, f"jax attention layer training step, B={B} T={TT} E={E} H={H} single head, cpu: {ms:.3f} ms/step "
               f"(mean of {steps}; median {result['ms_median']:.3f}; ~{gflops:.1f} GFLOP/s; compile {cs:.2f} s; "
               f"threads {'1' if a.threads == 1 else 'all'})")
    else:
        sys.exit("jax_toy: give a mode: --check/--init, --bench, --vmap N, --sweep or --large (see --help)")
    if a.json:
        print(json.dumps(result, default=float))
    return rc


if __name__ == "__main__":
    sys.exit(main())
