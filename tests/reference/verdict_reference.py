#!/usr/bin/env python3
"""Independent reference for toyformer's verdict (apps/lib/training/verdict.cpp): judged positions, decision shares and
loss levels, written from the definitions in README ("A verdict students can trust") with the Python standard
library only (no numpy, no toyformer code).

Inputs: the final activations (skipadd, activation) of the PyTorch-made toy fixtures in tests/fixtures/.
Output: tests/fixtures/verdict_reference.json, read by tests/test_verdict.cpp.

Rerun from the repository root:  python3 tests/reference/verdict_reference.py
"""
import json
import math
import os

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "fixtures")

NOTEBOOK = ["man ordered the chicken", "woman ordered the beef"]
THREE_NOUNS = ["man ordered the chicken", "woman ordered the beef", "child ordered the fish"]


def corpus(sentences):
    """Vocabulary <ST> then words by first appearance; every sentence gets <ST> prepended."""
    vocab = ["<ST>"]
    seqs = []
    for s in sentences:
        ids = [0]
        for w in s.split():
            if w not in vocab:
                vocab.append(w)
            ids.append(vocab.index(w))
        seqs.append(ids)
    return vocab, seqs


def target(seq, t):
    return seq[t + 1] if t + 1 < len(seq) else seq[0]


def next_distribution(seqs, key):
    """{key: {next token: count}} over all positions, key(seq, t) -> hashable."""
    d = {}
    for s in seqs:
        for t in range(len(s)):
            d.setdefault(key(s, t), {}).setdefault(target(s, t), 0)
            d[key(s, t)][target(s, t)] += 1
    return d


def judged(seqs):
    by_prefix = next_distribution(seqs, lambda s, t: tuple(s[: t + 1]))
    by_token = next_distribution(seqs, lambda s, t: s[t])
    out = []
    for si, s in enumerate(seqs):
        for t in range(len(s)):
            if len(by_prefix[tuple(s[: t + 1])]) == 1 and len(by_token[s[t]]) > 1:
                competitors = sorted(k for k in by_token[s[t]] if k != target(s, t))
                out.append({"seq": si, "pos": t, "target": target(s, t), "competitors": competitors})
    return out


def entropy(counts):
    n = sum(counts.values())
    return -sum(k / n * math.log(k / n) for k in counts.values())


def loss_levels(seqs):
    by_prefix = next_distribution(seqs, lambda s, t: tuple(s[: t + 1]))
    by_token = next_distribution(seqs, lambda s, t: s[t])
    positions = sum(len(s) for s in seqs)
    floor = sum(entropy(by_prefix[tuple(s[: t + 1])]) for s in seqs for t in range(len(s))) / positions
    extra = sum(entropy(by_token[seqs[j["seq"]][j["pos"]]]) for j in judged(seqs)) / positions
    return {"floor": floor, "undecided": floor + extra}


def shares(seqs, skipadd, activation, loss):
    out = []
    for j in judged(seqs):
        z = skipadd[j["seq"]][j["pos"]]
        a = activation[j["seq"]][j["pos"]]
        if loss == "keras":
            m = max(z)
            p = [math.exp(v - m) for v in z]  # softmax up to its normalizer, which the share cancels
        else:
            p = [min(max(v, 1e-7), 1 - 1e-7) for v in a]  # Keras' clip; the normalizer cancels
        rival = max(j["competitors"], key=lambda k: p[k])
        out.append({"seq": j["seq"], "pos": j["pos"], "rival": rival, "share": p[j["target"]] / (p[j["target"]] + p[rival])})
    return out


def main():
    _, nb = corpus(NOTEBOOK)
    _, three = corpus(THREE_NOUNS)
    doc = {
        "note": "made by tests/reference/verdict_reference.py (standard library only) from the fixtures' final "
                "activations; shares are p(target)/(p(target)+max p(competitor)) on softmax(skipadd) (keras) or the "
                "clipped sigmoid (normalized)",
        "loss_levels": {"notebook": loss_levels(nb), "three_nouns": loss_levels(three)},
        "judged": {"notebook": judged(nb), "three_nouns": judged(three)},
        "fixtures": {},
    }
    for name in sorted(os.listdir(FIXTURES)):
        if not name.startswith("toy_h") or "grads" in name:
            continue
        fx = json.load(open(os.path.join(FIXTURES, name)))
        acts = fx["final_activations"]
        seqs = fx["config"]["seq_ids"]  # the fixture's own ids (the notebook's vocabulary order)
        doc["fixtures"][name] = {
            loss: shares(seqs, acts["skipadd"], acts["activation"], loss) for loss in ("keras", "normalized")
        }
    with open(os.path.join(FIXTURES, "verdict_reference.json"), "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
