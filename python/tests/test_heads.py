# toyformer.Run for a model variant: every block's and head's attention (tables, text as `toyformer train` prints it,
# the attention to the evidence per head), equal to the command's output and files.
import json

import numpy as np

import toyformer
from conftest import cli

VARIANT = dict(heads=2, H=6, layers=2, ffn=4, norm="layer", seed=3, epochs=60)
FLAGS = ["--heads", "2", "--H", "6", "--layers", "2", "--ffn", "4", "--norm", "layer", "--seed", "3", "--epochs", "60"]


def test_tables_text_shows_every_head_as_train_prints_it():
    run = toyformer.train(**VARIANT)
    out = cli("train", *FLAGS).stdout
    assert run.attention_layers == ("L0/AttnWts", "L1/AttnWts")
    for s in range(2):
        pred, attn = run.tables_text(s)
        assert f"sequence {s}: predictions (activation)\n{pred}" in out
        assert attn in out
        for layer in run.attention_layers:
            for h in range(2):
                assert f"sequence {s}: attention weights ({layer} head {h}, rows attend to columns)\n" in attn
        assert attn.count("rows attend to columns") == 4


def test_attention_tables_hold_each_head():
    run = toyformer.train(**VARIANT)
    tables = run.attention_tables(1)
    assert list(tables) == [("L0/AttnWts", 0), ("L0/AttnWts", 1), ("L1/AttnWts", 0), ("L1/AttnWts", 1)]
    for (layer, h), table in tables.items():
        values = table.values if hasattr(table, "values") else table[0]
        np.testing.assert_array_equal(values, run.activations[layer][1, h])
    notebook = toyformer.train(epochs=5)
    assert notebook.attention_layers == ("AttnWts",) and notebook.attn_heads is None
    assert list(notebook.attention_tables(0)) == [("AttnWts", 0)]
    assert "rows attend to columns" not in notebook.tables_text(0)[1]  # the notebook's: the table alone


def test_attn_heads_equal_the_command_and_run_json(tmp_path):
    run = toyformer.train(**VARIANT)
    j = json.loads(cli("train", "--json", "--quiet", *FLAGS).stdout)
    mine = run.json()
    for d in (j, mine):
        d.pop("us_per_step")
    assert mine == j
    assert run.attn_heads == j["attn_heads"]
    assert sorted(run.attn_heads) == ["L0/AttnWts", "L1/AttnWts"] and all(len(v) == 2 for v in run.attn_heads.values())
    assert j["attn_the_to_subject"] == max(max(v) for v in run.attn_heads.values())
    run.save(tmp_path / "py")
    with open(tmp_path / "py" / "run.json") as f:
        assert json.load(f)["metrics"]["attn_heads"] == run.attn_heads


def test_variant_figures_have_a_panel_per_head():
    run = toyformer.train(**VARIANT, snapshot_every=20)
    svg = run.attention_svg()
    for s in range(2):
        for layer in (0, 1):
            for h in (0, 1):
                assert svg.count(f">sequence {s}: L{layer} head {h}</text>") == 1
    snaps = run.snapshot_svg()
    assert ">sequence 1, L1 head 1, epoch 60</text>" in snaps
    assert run.report().count("<h4>L1 head 0</h4>") == 2  # the slider's table, per sequence
