#!/usr/bin/env python3
"""The toy model's training step in idiomatic PyTorch eager, for a side-by-side figure with `toyformer bench`.

    /usr/bin/python3 tests/reference/bench_toy.py [--device cpu|cuda] [--H 10,20,40] [--steps 2000]

Step (what `toyformer bench` times): Embedding(7,7) + positional Embedding(5,7) -> Q, K, V = x W (no bias) ->
causal softmax(Q K^T / sqrt(H)) V + x -> sigmoid (computed, as the Keras model does) -> softmax cross-entropy on the
pre-sigmoid logits (Keras' loss) -> backward -> SGD(lr 0.01). Batch: the notebook's two sentences. Prints us per
step back to back (CUDA: one synchronize at the end) and with the loss read back every step (loss.item(), which is
what ReduceLROnPlateau needs once per epoch).
"""
import argparse
import math
import time

import torch


class Toy(torch.nn.Module):
    def __init__(self, H, V=7, T=5):
        super().__init__()
        self.tok = torch.nn.Embedding(V, V)
        self.pos = torch.nn.Embedding(T, V)
        self.q = torch.nn.Linear(V, H, bias=False)
        self.k = torch.nn.Linear(V, H, bias=False)
        self.v = torch.nn.Linear(V, V, bias=False)
        self.scale = 1.0 / math.sqrt(H)
        self.register_buffer("mask", torch.triu(torch.full((T, T), float("-inf")), diagonal=1))
        self.register_buffer("positions", torch.arange(T))

    def forward(self, ids):
        x = self.tok(ids) + self.pos(self.positions)
        a = torch.softmax(self.q(x) @ self.k(x).transpose(1, 2) * self.scale + self.mask, dim=-1)
        z = a @ self.v(x) + x
        return z, torch.sigmoid(z)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--H", default="10,20,40")
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--threads", type=int, default=1, help="CPU threads (torch.set_num_threads)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    dev = torch.device(a.device)
    ids = torch.tensor([[0, 2, 4, 1, 3], [0, 5, 4, 1, 6]], device=dev)
    targets = torch.tensor([[2, 4, 1, 3, 0], [5, 4, 1, 6, 0]], device=dev).reshape(-1)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    print(f"PyTorch {torch.__version__} eager, toy model step (forward + backward + SGD), device {a.device}")
    for H in (int(h) for h in a.H.split(",")):
        torch.manual_seed(1)
        model = Toy(H).to(dev)
        opt = torch.optim.SGD(model.parameters(), lr=0.01)

        def step():
            opt.zero_grad(set_to_none=True)
            z, _ = model(ids)
            loss = torch.nn.functional.cross_entropy(z.reshape(-1, 7), targets)
            loss.backward()
            opt.step()
            return loss

        for _ in range(a.warmup):
            step()
        sync()
        t0 = time.perf_counter()
        for _ in range(a.steps):
            step()
        sync()
        t1 = time.perf_counter()
        for _ in range(a.steps):
            step().item()
        t2 = time.perf_counter()
        print(f"  H={H:<3} {(t1 - t0) * 1e6 / a.steps:9.1f} us/step  {(t2 - t1) * 1e6 / a.steps:9.1f} us/step "
              f"with the loss read back")


if __name__ == "__main__":
    main()
