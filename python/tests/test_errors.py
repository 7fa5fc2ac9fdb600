# Bad arguments: a value the command refuses raises ValueError with the command's own message (checked against the
# binary's stderr for the same flags); a value of the wrong type raises TypeError; nothing crashes the interpreter.
import numpy as np
import pytest

import toyformer
from conftest import cli_error

# (keyword arguments, the same as flags of `toyformer train`)
TRAIN_BAD_VALUES = [
    (dict(H=0), ["--H", "0"]),
    (dict(H=-3), ["--H=-3"]),
    (dict(epochs=-1), ["--epochs=-1"]),
    (dict(batch=3), ["--batch", "3"]),
    (dict(batch=0), ["--batch", "0"]),
    (dict(optimizer="adamw"), ["--optimizer", "adamw"]),
    (dict(loss="mse"), ["--loss", "mse"]),
    (dict(device="tpu"), ["--device", "tpu"]),
    (dict(step="eager"), ["--step", "eager"]),
    (dict(solved_share=0.4), ["--solved-share", "0.4"]),
    (dict(solved_share=1.5), ["--solved-share", "1.5"]),
    (dict(early_stop=-2), ["--early-stop=-2"]),
    (dict(early_stop_min_delta=-0.1), ["--early-stop-min-delta=-0.1"]),
    (dict(snapshot_every=-1), ["--snapshot-every=-1"]),
    (dict(lr=0.0), ["--lr", "0"]),
    (dict(momentum=-0.5), ["--momentum=-0.5"]),
    (dict(plateau_factor=1.5), ["--plateau-factor", "1.5"]),
    (dict(plateau_patience=-1), ["--plateau-patience=-1"]),
    (dict(min_lr=-1.0), ["--min-lr=-1"]),
    (dict(cooldown=-1), ["--cooldown=-1"]),
    (dict(corpus="/nonexistent/corpus.txt"), ["--corpus", "/nonexistent/corpus.txt"]),
    (dict(snapshot_every=10, snapshot_layers="Nope"), ["--snapshot-every", "10", "--snapshot-layers", "Nope",
                                                       "--out", "/nonexistent/never-written"]),
    (dict(snapshot_every=10, snapshot_layers="AttnWts,AttnWts"),
     ["--snapshot-every", "10", "--snapshot-layers", "AttnWts,AttnWts", "--out", "/nonexistent/never-written"]),
]


def ids(case):
    return ",".join(f"{k}={v}" for k, v in case[0].items())


@pytest.mark.parametrize("case", TRAIN_BAD_VALUES, ids=ids)
def test_train_bad_value_raises_the_cli_message(case):
    kw, flags = case
    expected = cli_error("train", "--quiet", "--epochs", kw.get("epochs", 1), *flags) if "epochs" not in kw else \
        cli_error("train", "--quiet", *flags)
    with pytest.raises(ValueError) as e:
        toyformer.train(**{"epochs": 1, **kw})
    assert str(e.value) == expected


def test_train_bad_corpus_list():
    with pytest.raises(ValueError, match="corpus"):
        toyformer.train(corpus=["a b c", "a b"], epochs=1)
    with pytest.raises(ValueError):
        toyformer.train(corpus=[], epochs=1)


TRAIN_BAD_TYPES = [
    dict(H="20"), dict(H=2.5), dict(H=True), dict(seed=1.0), dict(epochs="10"), dict(optimizer=1), dict(lr="0.1"),
    dict(lr=[0.1]), dict(nesterov="yes"), dict(no_plateau=1), dict(corpus=5), dict(corpus=["a b", 3]),
    dict(solved_share="0.9"), dict(snapshot_layers=["AttnWts"]),
]


@pytest.mark.parametrize("kw", TRAIN_BAD_TYPES, ids=lambda kw: ",".join(f"{k}={v!r}" for k, v in kw.items()))
def test_train_bad_type_raises_type_error(kw):
    with pytest.raises(TypeError):
        toyformer.train(**{"epochs": 1, **kw})


def test_train_unknown_keyword():
    with pytest.raises(TypeError):
        toyformer.train(epochs=1, learning_rate=0.1)


SWEEP_BAD_VALUES = [
    (dict(H=[10, 0]), ["--H", "10,0"]),
    (dict(H=[10, 10]), ["--H", "10,10"]),
    (dict(H=[]), ["--H", ""]),
    (dict(seeds=0), ["--seeds", "0"]),
    (dict(jobs=-1), ["--jobs=-1"]),
    (dict(shard="3/2"), ["--shard", "3/2"]),
    (dict(shard="x"), ["--shard", "x"]),
    (dict(batch=3), ["--batch", "3"]),
    (dict(optimizer="adamw"), ["--optimizer", "adamw"]),
    (dict(solved_share=0.2), ["--solved-share", "0.2"]),
    (dict(plateau_factor=2.0), ["--plateau-factor", "2"]),
]


@pytest.mark.parametrize("case", SWEEP_BAD_VALUES, ids=ids)
def test_sweep_bad_value_raises_the_cli_message(case, tmp_path):
    kw, flags = case
    defaults = [] if "seeds" in kw else ["--seeds", "1"]
    expected = cli_error("sweep", "--quiet", "--epochs", "1", *defaults, "--out", tmp_path / "cli", *flags)
    with pytest.raises(ValueError) as e:
        toyformer.sweep(**{"epochs": 1, "seeds": 1, **kw})
    assert str(e.value) == expected


@pytest.mark.parametrize("kw", [dict(H="10,20"), dict(H=[10, 2.5]), dict(seeds=1.5), dict(jobs="2"),
                                dict(shard=1), dict(nesterov="no")], ids=repr)
def test_sweep_bad_type_raises_type_error(kw):
    with pytest.raises(TypeError):
        toyformer.sweep(**{"epochs": 1, "seeds": 1, **kw})


def test_attend_bad_shapes_raise_the_cli_message(tmp_path):
    import json
    cases = [
        dict(queries=[[1, 0], [0, 1]], keys=[[1, 0, 0], [0, 1, 0]]),           # d differs without projections
        dict(queries=[[1, 0], [0, 1]], keys=[[1, 0], [0, 1]], values=[[1, 2]]),  # values rows != keys rows
        dict(queries=[1, 0], keys=[[1, 0]]),                                    # a vector, not a matrix
        dict(queries=[[1, 0]], keys=[[1, 0]], w_q=[[1, 0, 0]]),                 # w_q rows != d
        dict(queries=[[1, 0]], keys=[[1, 0]], heads=0),
        dict(queries=[[1, 0]], keys=[[1, 0]], heads=3),
        dict(queries=[[1, 0]], keys=[[1, 0]], mask="diagonal"),
        dict(queries=[[1, 1e39]], keys=[[1, 0]]),  # beyond float32
        dict(queries=[[1, 0], [0, 1]], keys=[[1, 0], [0, 1]], tokens=["a"]),
    ]
    for case in cases:
        f = tmp_path / "p.json"
        f.write_text(json.dumps(case))
        expected = cli_error("attend", f)
        with pytest.raises(ValueError) as e:
            toyformer.attend(**case)
        # The command names the file first ("FILE: field: ..."); the field's message is the same.
        assert expected == f"{f}: {e.value}", case


@pytest.mark.parametrize("kw", [dict(queries="abc", keys=[[1.0]]), dict(queries=[[1.0]], keys={"a": 1}),
                                dict(queries=[["a", "b"]], keys=[[1.0, 2.0]]),
                                dict(queries=[[1.0]], keys=[[1.0]], heads=1.5),
                                dict(queries=[[1.0]], keys=[[1.0]], mask=1),
                                dict(queries=[[1.0]], keys=[[1.0]], tokens="a")], ids=repr)
def test_attend_bad_types(kw):
    with pytest.raises(TypeError):
        toyformer.attend(**kw)


def test_load_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        toyformer.load(tmp_path / "missing.npz")
    (tmp_path / "bad.npz").write_text("not a zip")
    with pytest.raises(ValueError, match="bad.npz"):
        toyformer.load(tmp_path / "bad.npz")


def test_run_table_bad_seq():
    run = toyformer.train(epochs=1)
    with pytest.raises(ValueError):
        run.attention_table(2)
    with pytest.raises(ValueError):
        run.predictions_table(-1)
    with pytest.raises(TypeError):
        run.attention_table("0")


def test_save_into_unwritable_place(tmp_path):
    run = toyformer.train(epochs=1)
    (tmp_path / "file").write_text("x")
    with pytest.raises((OSError, ValueError)):
        run.save(tmp_path / "file" / "sub")


def test_interpreter_survives_errors():
    for _ in range(3):
        with pytest.raises(ValueError):
            toyformer.train(H=0)
    assert toyformer.train(epochs=2).epochs == 2
