"""toyformer from Python: the toy attention model of the course's notebook 001, trained by toyformer's C++ engine.

    import toyformer
    run = toyformer.train(H=20, seed=2)          # the notebook's run: 5020 epochs of SGD 0.01, ~0.1 s
    run.outcome, run.share                       # 'solved', 0.99...
    run.attention_table(0)                       # pandas DataFrame labelled like `toyformer train`'s tables
    sw = toyformer.sweep(H=[10, 20, 40], seeds=100)
    sw.summary                                   # summary.csv as a DataFrame
    toyformer.sweep(grid={"heads": [1, 2], "layers": [1, 2]}, seeds=20)   # any axis: `toyformer sweep --grid`

Keyword arguments are the command's flags with underscores for dashes, checked by the same code: a bad value
raises ValueError with the command's message, a value of the wrong type raises TypeError, a device failure (a
CUDA error) raises RuntimeError. Training releases the GIL
(a notebook can sweep in a thread) and stops on Ctrl-C (KeyboardInterrupt). Arrays are float32 views of the
engine's buffers, read-only (copy one to change it).
"""
import json
import numbers
import os

import numpy as np

from . import _core

__all__ = ["train", "sweep", "attend", "load", "Run", "Sweep", "LAYERS", "WEIGHTS", "OUTCOME_RULES", "layer_names",
           "weight_names"]

#: The 14 layer names of the notebook's model, in Keras' model.layers order (a variant's: layer_names()).
LAYERS = tuple(_core.layer_names())
#: The notebook model's five weight arrays (Keras layout: a Dense kernel is [in, out]; a variant's: weight_names()).
WEIGHTS = tuple(_core.weight_names())
#: How a run is judged solved, stuck or unfinished (the words of `toyformer train --help`).
OUTCOME_RULES = _core.outcome_rules()

try:  # pandas is optional: without it tables are (values, row labels, column labels) and CSVs dicts of arrays
    import pandas as _pd
except ImportError:  # pragma: no cover - exercised by the tests with pandas hidden
    _pd = None


# --- keyword arguments -> the command's flags ----------------------------------------------------------------------

def _flag(name):
    return "--" + name.replace("_", "-")


def _int(name, v):
    if isinstance(v, bool) or not isinstance(v, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(v).__name__} {v!r}")
    return str(int(v))


def _float(name, v):
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(v).__name__} {v!r}")
    # As a user writes it on the command line ("0", "-1", "1.5", "1e-05"), so messages quote the same text.
    text = repr(float(v))
    return text[:-2] if text.endswith(".0") else text


def _str(name, v):
    if not isinstance(v, str):
        raise TypeError(f"{name} must be a str, got {type(v).__name__} {v!r}")
    return v


def _bool(name, v):
    if not isinstance(v, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {type(v).__name__} {v!r}")
    return bool(v)


# The training flags `train` and `sweep` share (apps/training_flags.h), with their kinds.
_TRAINING = dict(epochs=_int, batch=_int, optimizer=_str, lr=_float, momentum=_float, nesterov=_bool,
                 no_plateau=_bool, plateau_factor=_float, plateau_patience=_int, min_lr=_float, min_delta=_float,
                 cooldown=_int, loss=_str, device=_str, step=_str, early_stop=_int, early_stop_min_delta=_float,
                 solved_share=_float, heads=_int, wo=_bool, layers=_int, ffn=_int, norm=_str, no_pos=_bool,
                 no_residual=_bool, no_mask=_bool)
# The model variant's keyword arguments (a subset of _TRAINING; defaults = the notebook's model).
_ARCH = ("heads", "wo", "layers", "ffn", "norm", "no_pos", "no_residual", "no_mask")


def _arch_args(config):
    """The variant flags of a run.json / sweep config (a variant records its options; the notebook's records none)."""
    if "heads" not in config:
        return []
    values = dict(heads=config["heads"], wo=config["wo"], layers=config["layers"], ffn=config["ffn"],
                  norm=config["norm"], no_pos=not config["pos"], no_residual=not config["residual"],
                  no_mask=not config["mask"])
    return _args(values, {k: _TRAINING[k] for k in _ARCH})


def layer_names(heads=1, wo=False, layers=1, ffn=0, norm="none", no_pos=False, no_residual=False, no_mask=False):
    """The layer names of a model variant in creation order (the notebook's 14 with the defaults; a variant's block
    layers carry the prefix 'L<block>/': L0/Qmat, L0/AttnWts [N, heads, T, T], ...)."""
    return tuple(_core.layer_names(_args(dict(locals()), {k: _TRAINING[k] for k in _ARCH})))


def weight_names(heads=1, wo=False, layers=1, ffn=0, norm="none", no_pos=False, no_residual=False, no_mask=False):
    """The weight names of a model variant (the notebook's five with the defaults)."""
    return tuple(_core.weight_names(_args(dict(locals()), {k: _TRAINING[k] for k in _ARCH})))


def _args(values, kinds):
    """Flags for the engine's parser: '--name=value' for every given value (None: the command's default)."""
    out = []
    for name, kind in kinds.items():
        v = values[name]
        if v is None:
            continue
        if kind is _bool:
            if _bool(name, v):
                out.append(_flag(name))
        else:
            v = kind(name, v)
            # '--name=value' keeps a negative number a value; an empty value needs its own word.
            out += [_flag(name), v] if v == "" else [f"{_flag(name)}={v}"]
    return out


def _corpus(corpus):
    """(path flag value, sentences): None = the notebook's two sentences, a str = a corpus file, a list = sentences."""
    if corpus is None:
        return None, None
    if isinstance(corpus, (str, os.PathLike)):
        return os.fspath(corpus), None
    if isinstance(corpus, (list, tuple)) and all(isinstance(s, str) for s in corpus):
        return None, list(corpus)
    raise TypeError(f"corpus must be None, a path or a list of sentences (str), got {type(corpus).__name__}")


def _read_csv(text, text_columns=()):
    import io
    if _pd is not None:
        header = text.partition("\n")[0].split(",")
        return _pd.read_csv(io.StringIO(text), dtype={c: str for c in text_columns if c in header})
    data = np.genfromtxt(io.StringIO(text), delimiter=",", names=True, dtype=None, encoding="utf-8")
    return {name: np.atleast_1d(data[name]) for name in data.dtype.names}


def _iframe(html, height):
    import html as _html
    return (f'<iframe srcdoc="{_html.escape(html, quote=True)}" style="width:100%;height:{height}px;border:0" '
            'sandbox="allow-scripts"></iframe>')


def _table(values, rows, cols):
    if _pd is None:
        return values, rows, cols
    return _pd.DataFrame(values, index=_pd.Index(rows), columns=_pd.Index(cols))


# --- train ---------------------------------------------------------------------------------------------------------

class Run:
    """A trained toy model: what `toyformer train --json` prints and `--out DIR` writes, as Python objects."""

    def __init__(self, data):
        self._data = data
        result = json.loads(data.result_json)
        dump = data.dump
        #: The loss and learning rate of every epoch (float32 [epochs]).
        self.loss = dump["loss"]
        self.lr = dump["lr"]
        #: 'solved' | 'stuck' | 'unfinished' | 'none' (the corpus has no judged position).
        self.outcome = result["outcome"]
        #: The decision share the outcome rests on (the minimum over judged positions; None without one).
        self.share = result["share"]
        self.solved = result["solved"]
        self.final_loss = result["final_loss"]
        self.final_lr = result["final_lr"]
        self.epochs = result["epochs"]
        self.stopped_early = result["stopped_early"]
        self.lr_reductions = result["lr_reductions"]
        self.params = result["params"]
        self.us_per_step = result["us_per_step"]
        #: train --json's `verdict` object: outcome, share, because, positions.
        self.verdict = result["verdict"]
        #: The corpus' loss levels: floor (a perfect model) and undecided (every judged position a coin flip).
        self.loss_levels = {"floor": result["loss_floor"], "undecided": result["loss_undecided"]}
        #: The settings that decide the numbers, as run.json's `config`.
        self.config = json.loads(data.config_json)
        self.vocab = list(data.vocab)
        self.sequences = [list(s) for s in data.sequences]
        #: The weights by name (Keras layout): the notebook's XEmbed, PosEmbed, Qmat, Kmat, Vmat; a variant's own.
        self.weights = data.weights
        #: The model's layer names in creation order (the notebook's 14; a variant's own, see layer_names()).
        self.layer_names = tuple(_core.layer_names(_arch_args(self.config)))
        #: Every layer's output over the whole corpus at the final weights.
        self.activations = {name: dump[name] for name in self.layer_names}
        #: The attention layers: ('AttnWts',) for the notebook's model, a variant's ('L0/AttnWts', 'L1/AttnWts', ...).
        self.attention_layers = tuple(n for n in self.layer_names if n == "AttnWts" or n.endswith("/AttnWts"))
        #: A variant's attention from each judged position to its evidence, per attention layer and head
        #: ({'L0/AttnWts': [h0, h1], ...}, as run.json's metrics.attn_heads); None for the notebook's model.
        self.attn_heads = result.get("attn_heads")
        snaps = {k: v for k, v in dump.items() if k == "epochs" or "@" in k}
        #: With snapshot_every > 0: 'epochs' [S] and '<layer>@epochs' [S, ...], 'share@epochs' [S, J]; else None.
        self.snapshots = snaps or None
        self._json = result

    def json(self):
        """The object `toyformer train --json` prints, as a dict."""
        return dict(self._json)

    def _labels(self, seq):
        n = len(self.sequences)
        if isinstance(seq, bool) or not isinstance(seq, numbers.Integral):
            raise TypeError(f"seq must be an int, got {type(seq).__name__}")
        if not 0 <= seq < n:
            raise ValueError(f"seq {seq} out of range: the corpus has {n} sequences")
        return [self._data.position_label(int(seq), t) for t in range(len(self.sequences[seq]))]

    def predictions_table(self, seq=0):
        """Sequence `seq`'s predictions (the sigmoid outputs, `activation`): rows '3 the', columns the words."""
        rows = self._labels(seq)
        return _table(self.activations["activation"][seq], rows, list(self.vocab))

    def attention_table(self, seq=0, layer=None, head=0):
        """Sequence `seq`'s attention weights: rows attend to columns, both labelled '3 the'. layer: 'AttnWts' (the
        notebook's) or a variant's 'L<block>/AttnWts' (None: the first block's); head: which of its heads."""
        rows = self._labels(seq)
        if layer is None:
            layer = "AttnWts" if "AttnWts" in self.activations else "L0/AttnWts"
        if layer not in self.activations or not layer.endswith("AttnWts"):
            raise ValueError(f"layer {layer!r} is not an attention layer of this model "
                             f"({', '.join(n for n in self.layer_names if n.endswith('AttnWts'))})")
        w = self.activations[layer][seq]
        if w.ndim == 3:
            if not 0 <= head < w.shape[0]:
                raise ValueError(f"head {head} out of range: {layer} has {w.shape[0]} heads")
            w = w[head]
        elif head != 0:
            raise ValueError(f"head {head} out of range: {layer} has one head")
        return _table(w, rows, list(rows))

    def attention_tables(self, seq=0):
        """Sequence `seq`'s attention weights of every block and head: {(layer, head): table}, block by block
        ({('AttnWts', 0): ...} for the notebook's model)."""
        return {(layer, head): self.attention_table(seq, layer, head)
                for layer in self.attention_layers
                for head in range(self.activations[layer].shape[1] if self.activations[layer].ndim == 4 else 1)}

    def tables_text(self, seq=0):
        """The tables exactly as `toyformer train` prints them: (predictions, attention). The notebook's attention is
        its one table; a variant's is every block's and head's table, each under the line `train` prints above it
        ('sequence 0: attention weights (L0/AttnWts head 1, rows attend to columns)')."""
        self._labels(seq)
        return self._data.prediction_text(seq), self._data.attention_text(seq)

    def verdict_line(self):
        return self._data.verdict_line()

    def save(self, dir):
        """Write what `toyformer train --out DIR` writes: run.json, weights.npz, activations.npz, report.html, ..."""
        self._data.save(os.fspath(dir))

    def report(self):
        """The run's self-contained HTML report (what `train --report` writes)."""
        return self._data.report()

    def loss_svg(self):
        return self._data.loss_svg()

    def attention_svg(self):
        return self._data.attention_svg()

    def snapshot_svg(self):
        return self._data.snapshot_svg()

    def _repr_html_(self):
        return _iframe(self.report(), 900)

    def __repr__(self):
        share = "n/a" if self.share is None else f"{self.share:.3f}"
        return (f"<toyformer.Run H={self.config['H']} seed={self.config['seed']} {self.outcome} (share {share}), "
                f"final loss {self.final_loss:.4f} after {self.epochs} epochs>")


def train(H=20, seed=1, epochs=5020, batch=2, optimizer="sgd", lr=None, momentum=0.0, nesterov=False,
          no_plateau=False, plateau_factor=0.2, plateau_patience=10, min_lr=1e-4, min_delta=1e-4, cooldown=0,
          loss="keras", device="cpu", step="auto", corpus=None, early_stop=None, early_stop_min_delta=0.0,
          solved_share=0.9, snapshot_every=0, snapshot_layers="AttnWts,activation", heads=1, wo=False, layers=1,
          ffn=0, norm="none", no_pos=False, no_residual=False, no_mask=False):
    """Train the toy model as `toyformer train` does (same flags, defaults = the notebook's) and return a Run.

    lr=None: the optimizer's Keras default (sgd 0.01, rmsprop/adam 0.001); early_stop=None: off; corpus: None (the
    notebook's two sentences), a corpus file, or a list of sentences. snapshot_every=N records snapshot_layers at
    epoch 1, every N epochs and the last (Run.snapshots; "AttnWts" names every block's in a variant).
    The model variant: heads (of size H each, with W_O), wo (W_O with one head), layers, ffn (0: none),
    norm ("none" | "layer"), no_pos, no_residual, no_mask; a variant trains on the graph step.
    """
    values = dict(locals())
    path, sentences = _corpus(values.pop("corpus"))
    kinds = dict(H=_int, seed=_int, **_TRAINING, snapshot_every=_int, snapshot_layers=_str)
    args = _args(values, kinds)
    if path is not None:
        args.append(f"--corpus={path}")
    return Run(_core.train(args, sentences))


# --- sweep ---------------------------------------------------------------------------------------------------------

class Sweep:
    """Every point of a grid (H, or the axes of grid=) and seed, trained: runs.csv and summary.csv as DataFrames, the
    report, save(dir)."""

    def __init__(self, data):
        self._data = data
        #: One row per run, runs.csv's columns (H, [the grid's model axes,] seed, final_loss, outcome, share, ...; a
        #: grid with model axes adds attn_heads: the attention to the evidence of every (block, head), L0h0 L0h1 ...
        #: L1h0 ..., as a space-separated str).
        self.runs = _read_csv(data.runs_csv, text_columns=("attn_heads",))
        #: One row per grid point, summary.csv's columns (solved/stuck/unfinished counts, rates and 95% intervals, ...;
        #: with model axes also the axes and `path`, how the point's seeds trained).
        self.summary = _read_csv(data.summary_csv)
        #: Seconds per run (timing.csv), apart because they differ from run to run.
        self.timing = _read_csv(data.timing_csv)
        self.config = json.loads(data.sweep_json)["config"]

    def summary_text(self):
        """The table `toyformer sweep` prints."""
        return self._data.summary_table()

    def save(self, dir):
        """Write what `toyformer sweep --out DIR` writes: sweep.json, runs.csv, summary.csv, report.html, ..."""
        self._data.save(os.fspath(dir))

    def report(self):
        return self._data.report()

    def loss_svg(self):
        return self._data.loss_svg()

    def rate_svg(self):
        return self._data.rate_svg()

    def _repr_html_(self):
        return _iframe(self.report(), 900)

    def __repr__(self):
        return f"<toyformer.Sweep {len(self.runs['H'])} runs>\n{self.summary_text()}"


# The axes grid= takes, and the keyword argument that sets each outside the grid with its default (`toyformer sweep
# --grid`'s axes and flags; pos=False is no_pos=True).
_GRID_AXES = dict(H=("H", (10, 20, 40)), heads=("heads", 1), layers=("layers", 1), ffn=("ffn", 0),
                  norm=("norm", "none"), wo=("wo", False), pos=("no_pos", False), residual=("no_residual", False),
                  mask=("no_mask", False))


def _grid_value(axis, v):
    """One grid value as --grid writes it: true|false for the booleans, the int, or norm's str."""
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    if axis == "norm":
        return _str(f"grid[{axis!r}]", v)
    return _int(f"grid[{axis!r}]", v)


def _grid_words(grid):
    """grid={'heads': [1, 2], 'layers': [1, 2]} -> ['heads=1,2', 'layers=1,2'] (the axes in the dict's order)."""
    if not isinstance(grid, dict):
        raise TypeError(f"grid must be a dict of axis -> list of values, got {type(grid).__name__}")
    words = []
    for axis, values in grid.items():
        if not isinstance(axis, str):
            raise TypeError(f"grid's axes must be str, got {type(axis).__name__} {axis!r}")
        if isinstance(values, (str, bytes)) or not isinstance(values, (list, tuple, range, np.ndarray)):
            values = [values]
        words.append(f"{axis}=" + ",".join(_grid_value(axis, v) for v in values))
    return words


def _same(a, b):
    if isinstance(a, (list, tuple, np.ndarray)) and isinstance(b, (list, tuple)):
        return list(a) == list(b)
    return type(a) is type(b) and a == b


def sweep(H=(10, 20, 40), seeds=100, seed_start=1, epochs=5020, batch=2, optimizer="sgd", lr=None, momentum=0.0,
          nesterov=False, no_plateau=False, plateau_factor=0.2, plateau_patience=10, min_lr=1e-4, min_delta=1e-4,
          cooldown=0, loss="keras", device="cpu", step="auto", corpus=None, early_stop=None,
          early_stop_min_delta=0.0, solved_share=0.9, jobs=0, shard="1/1", heads=1, wo=False, layers=1, ffn=0,
          norm="none", no_pos=False, no_residual=False, no_mask=False, grid=None):
    """Train every (H, seed) as `toyformer sweep` does (jobs=0: one thread per core) and return a Sweep.

    grid: the axes of `toyformer sweep --grid`, a dict in grid order (the first axis the slowest), e.g.
    {"heads": [1, 2, 4], "layers": [1, 2]} or {"H": [10, 20], "pos": [True, False], "norm": ["none", "layer"]};
    axes H, heads, layers, ffn, norm, wo, pos, residual, mask. Without an H axis, H is the first axis. An axis in grid
    must keep its keyword argument's default (heads=2 with grid={"heads": ...} is refused, as on the command line);
    the other model arguments set every grid point.
    """
    values = dict(locals())
    path, sentences = _corpus(values.pop("corpus"))
    grid_words = [] if values.get("grid") is None else _grid_words(values["grid"])
    values.pop("grid")
    # An axis in the grid: its keyword at the default is not passed (the engine refuses one given both ways).
    named = {w.split("=", 1)[0] for w in grid_words}
    for axis, (kw, default) in _GRID_AXES.items():
        if axis in named and _same(values[kw], default):
            values[kw] = None
    h = values.pop("H")
    if h is None:
        hs = None
    elif isinstance(h, (list, tuple, np.ndarray)):
        hs = ",".join(_int("H", x) for x in h)
    else:
        hs = _int("H", h)
    kinds = dict(seeds=_int, seed_start=_int, jobs=_int, shard=_str, **_TRAINING)
    args = [] if hs is None else (["--H", hs] if hs == "" else [f"--H={hs}"])
    args += _args(values, kinds)
    if grid_words:
        args += ["--grid", *grid_words]
    if path is not None:
        args.append(f"--corpus={path}")
    return Sweep(_core.sweep(args, sentences))


# --- attend and load -----------------------------------------------------------------------------------------------

def _matrix(name, x):
    if x is None:
        return None
    if isinstance(x, (str, bytes, dict)):
        raise TypeError(f"{name} must be an array of numbers, got {type(x).__name__}")
    try:
        a = np.asarray(x)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{name} must be an array of numbers: {e}") from None
    if a.dtype.kind in "iub":
        return a.astype(np.int64)
    if a.dtype.kind != "f":
        raise TypeError(f"{name} must be an array of numbers, got dtype {a.dtype}")
    return a.astype(np.float64)


def attend(queries, keys, values=None, w_q=None, w_k=None, w_v=None, w_o=None, heads=1, mask=None, tokens=None):
    """Scaled dot-product attention as `toyformer attend --json` computes it; a dict of its fields.

    queries [n_q, d], keys [n_k, d_k], values [n_k, d_v] (default: keys); w_q, w_k, w_v, w_o: projections in numpy
    layout (x @ W); heads: blocks of columns; mask: None | 'causal'; tokens: labels (one list for both, or a dict
    with 'queries' and 'keys'). Arrays (float32): q, k, v, scores, scaled_scores, weights [heads, n_q, n_k],
    average_weights, output; and heads, d_model, d_head, scale, mask, tokens.
    """
    fields = {name: _matrix(name, x) for name, x in
              dict(queries=queries, keys=keys, values=values, w_q=w_q, w_k=w_k, w_v=w_v, w_o=w_o).items()}
    fields["heads"] = int(_int("heads", heads))
    if mask is not None:
        fields["mask"] = _str("mask", mask)
    if tokens is not None:
        if not isinstance(tokens, (list, tuple, dict)):
            raise TypeError(f"tokens must be a list of labels or a dict, got {type(tokens).__name__}")
        fields["tokens"] = json.dumps(tokens if isinstance(tokens, dict) else list(tokens))
    info, arrays = _core.attend(fields)
    out = json.loads(info)
    out.update(arrays)
    return out


def load(path):
    """Every array of an .npz that toyformer writes (activation dumps, weights, checkpoints): dict name -> float32."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such file")
    return _core.load(path)
