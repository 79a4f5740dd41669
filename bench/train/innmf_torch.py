#!/usr/bin/python3
"""The iN-NMF model of `innmf train` (defaults), written in PyTorch, for bench/train/run.sh.

Same model as innmf's (DESIGN.md §1, per-component templates, grid activations = the paper's
explicit H), same data (read from innmf's point file), same loss and optimizer:

  y        = m^p                                    (p = 0.5), an (n_frames, n_bins) grid
  γ(x)     = [cos(π·2^j·x + b_j), sin(π·2^j·x + b_j)]_j=0..9 (interleaved), x = f / f_ref,
             f_ref = Nyquist, b_j fixed random phases
  MLP_k    = Linear(20→64), 3 × [Linear(64→64), sin], Linear(64→1)   (k = 1..K, K = 20)
  W(f)     = softplus(MLP_k(γ(f)))  at the unique frequencies only (501 bins, not per point)
  H        = softplus(θ), one θ row per STFT frame
  ŷ        = H · Wᵀ                                 (n_frames, n_bins)
  L        = mean over points of y·log(y/ŷ) − y + ŷ, ŷ floored at float32 eps
  optimizer: torch.optim.Rprop(lr=1e-3), defaults etas (0.5, 1.2), step sizes (1e-6, 50);
             full batch, autograd (no torch.no_grad in the step).

Two implementations of the K networks:
  naive    a Python loop over K nn.Sequential modules (the obvious PyTorch code);
  batched  the K networks as grouped weights (K, in, out) evaluated with torch.baddbmm.
Both are initialised identically (torch.nn.Linear default init of the naive modules, copied
into the grouped tensors), so `--check` can compare their losses and gradients.

Writes one JSON line per epoch ({"epoch", "loss", "seconds", "cpu_seconds"}, like innmf's --metrics)
where "seconds" is the wall time of zero_grad + forward + backward + optimizer step of that epoch
and "cpu_seconds" the process CPU time (all threads) it took.
"""

import argparse
import json
import math
import os
import sys
import time

import h5py
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

EPS = float(np.finfo(np.float32).eps)


def load_grid(path, power):
    """Targets y (frames, bins) of every grid clip of an innmf point file, stacked along time,
    and the bin frequencies [Hz] and f_ref (Nyquist)."""
    with h5py.File(path, "r") as f:
        clips = f["clips"]
        offsets, counts = clips["offset"][()], clips["count"][()]
        n_times, n_freqs = clips["n_times"][()], clips["n_freqs"][()]
        rates = clips["sample_rate"][()]
        m = f["points/m"]
        fr = f["points/f"]
        blocks, freqs = [], None
        for c in range(len(offsets)):
            nt, nf = int(n_times[c]), int(n_freqs[c])
            if nt * nf != int(counts[c]):
                sys.exit(f"{path}: clip {c} is not a complete grid (n_times·n_freqs != count)")
            o = int(offsets[c])
            # Points of a grid clip are time-major: frame 0's bins, frame 1's bins, …
            blocks.append(np.asarray(m[o:o + nt * nf], dtype=np.float64).reshape(nt, nf))
            fc = np.asarray(fr[o:o + nf], dtype=np.float64)
            if freqs is None:
                freqs = fc
            elif len(fc) != len(freqs) or np.any(fc != freqs):
                sys.exit(f"{path}: clips with different frequency grids are not supported here")
        f_ref = float(np.max(rates)) / 2
    y = np.concatenate(blocks, axis=0) ** power
    return y.astype(np.float32), freqs, f_ref


def fourier_features(x, phases):
    """γ(x): (n, 2·n_fourier), computed in double like innmf, interleaved cos, sin."""
    j = np.arange(len(phases))
    angle = math.pi * np.ldexp(1.0, j)[None, :] * x[:, None] + phases[None, :]
    out = np.empty((len(x), 2 * len(phases)))
    out[:, 0::2] = np.cos(angle)
    out[:, 1::2] = np.sin(angle)
    return torch.from_numpy(out.astype(np.float32))


class Sin(nn.Module):
    def forward(self, x):
        return torch.sin(x)


def make_network(n_in, hidden, layers):
    mods = [nn.Linear(n_in, hidden)]  # no activation after the first layer (paper)
    for _ in range(layers - 1):
        mods += [nn.Linear(hidden, hidden), Sin()]
    mods.append(nn.Linear(hidden, 1))
    return nn.Sequential(*mods)


class NaiveTemplates(nn.Module):
    """K separate nn.Sequential networks, evaluated one after the other."""

    def __init__(self, nets):
        super().__init__()
        self.nets = nn.ModuleList(nets)

    def forward(self, X):  # X (U, D) → pre-softplus (K, U)
        return torch.cat([net(X).T for net in self.nets], dim=0)


class BatchedTemplates(nn.Module):
    """The same K networks as grouped weights: layer l is W_l (K, in, out), b_l (K, 1, out)."""

    def __init__(self, nets):
        super().__init__()
        linears = [[m for m in net if isinstance(m, nn.Linear)] for net in nets]
        n_layers = len(linears[0])
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for l in range(n_layers):
            w = torch.stack([ls[l].weight.detach().T for ls in linears])  # (K, in, out)
            b = torch.stack([ls[l].bias.detach()[None, :] for ls in linears])  # (K, 1, out)
            self.weights.append(nn.Parameter(w.contiguous().clone()))
            self.biases.append(nn.Parameter(b.contiguous().clone()))

    def forward(self, X):  # X (U, D) → pre-softplus (K, U)
        K = self.weights[0].shape[0]
        a = torch.baddbmm(self.biases[0], X.expand(K, -1, -1), self.weights[0])  # (K, U, h)
        for l in range(1, len(self.weights) - 1):
            a = torch.sin(torch.baddbmm(self.biases[l], a, self.weights[l]))
        out = torch.baddbmm(self.biases[-1], a, self.weights[-1])  # (K, U, 1)
        return out[:, :, 0]


class Model(nn.Module):
    def __init__(self, y, freqs, f_ref, rank, hidden, layers, n_fourier, impl, seed):
        super().__init__()
        gen = np.random.default_rng(seed)
        self.phases = gen.uniform(0.0, 2 * math.pi, n_fourier)
        torch.manual_seed(seed)
        nets = [make_network(2 * n_fourier, hidden, layers) for _ in range(rank)]
        self.templates = NaiveTemplates(nets) if impl == "naive" else BatchedTemplates(nets)
        self.register_buffer("X", fourier_features(freqs / f_ref, self.phases))
        self.register_buffer("y", torch.from_numpy(y))
        yd = y.astype(np.float64)
        # Σ y·log y − y: the constant part of the KL divergence (0·log 0 = 0).
        self.constant = float(np.sum(np.where(yd > 0, yd * np.log(np.where(yd > 0, yd, 1)), 0) - yd))
        self.n_points = y.size
        # Initial activations like innmf's: ŷ ≈ K·mean(W)·h0 matches mean(y), jitter U(0.5, 1.5).
        with torch.no_grad():  # initialisation only, not training
            probe = fourier_features(np.linspace(0, 1, 256), self.phases)
            mean_w = max(1e-6, float(F.softplus(self.templates(probe)).mean()))
        h0 = max(1e-6, float(y.mean()) / (rank * mean_w))
        h = h0 * gen.uniform(0.5, 1.5, (y.shape[0], rank))
        self.theta = nn.Parameter(torch.from_numpy(np.log(np.expm1(h)).astype(np.float32)))

    def loss(self):
        W = F.softplus(self.templates(self.X))      # (K, U)
        H = F.softplus(self.theta)                  # (T, K)
        yhat = torch.clamp(H @ W, min=EPS)          # (T, U)
        return (self.constant + torch.sum(yhat - self.y * torch.log(yhat))) / self.n_points


def check(args, y, freqs, f_ref):
    """Batched and naive give the same loss and gradients from the same initialisation."""
    models = {impl: Model(y, freqs, f_ref, args.rank, args.hidden, args.layers, args.n_fourier, impl,
                          args.seed) for impl in ("naive", "batched")}
    grads = {}
    for impl, model in models.items():
        loss = model.loss()
        loss.backward()
        flat = []
        if impl == "naive":
            per_layer = {}
            for net in model.templates.nets:
                for l, m in enumerate([m for m in net if isinstance(m, nn.Linear)]):
                    per_layer.setdefault(l, []).append((m.weight.grad.T, m.bias.grad))
            for l in sorted(per_layer):
                flat.append(torch.stack([w for w, _ in per_layer[l]]).flatten())
                flat.append(torch.stack([b for _, b in per_layer[l]]).flatten())
        else:
            for w, b in zip(model.templates.weights, model.templates.biases):
                flat += [w.grad.flatten(), b.grad.flatten()]
        flat.append(model.theta.grad.flatten())
        grads[impl] = (float(loss), torch.cat(flat))
    (ln, gn), (lb, gb) = grads["naive"], grads["batched"]
    rel = float((gn - gb).norm() / gn.norm())
    print(json.dumps({"check": "naive vs batched", "loss_naive": ln, "loss_batched": lb,
                      "grad_relative_difference": rel}))
    return abs(ln - lb) <= 1e-5 * abs(ln) and rel < 1e-4


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("points", help="innmf point file (innmf features … --n-fft 1000 --hop 500)")
    p.add_argument("--impl", choices=["batched", "naive"], default="batched")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--epochs", type=int, default=55)
    p.add_argument("--target-loss", type=float, default=None,
                   help="keep going after --epochs until the loss is ≤ this (or --max-seconds)")
    p.add_argument("--max-seconds", type=float, default=float("inf"),
                   help="stop after this much training time [s], even before --epochs")
    p.add_argument("--metrics", default=None, help="JSON lines, one per epoch")
    p.add_argument("--rank", type=int, default=20)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--n-fourier", type=int, default=10)
    p.add_argument("--power", type=float, default=0.5)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--foreach", action="store_true", help="Rprop(foreach=True)")
    p.add_argument("--check", action="store_true", help="compare naive and batched gradients, exit")
    args = p.parse_args()

    torch.set_num_threads(args.threads)
    y, freqs, f_ref = load_grid(args.points, args.power)
    if args.check:
        sys.exit(0 if check(args, y, freqs, f_ref) else 1)

    model = Model(y, freqs, f_ref, args.rank, args.hidden, args.layers, args.n_fourier, args.impl, args.seed)
    opt = torch.optim.Rprop(model.parameters(), lr=args.lr, foreach=True if args.foreach else None)
    out = open(args.metrics, "w") if args.metrics else None
    info = {"torch": torch.__version__, "threads": torch.get_num_threads(), "impl": args.impl,
            "frames": y.shape[0], "bins": y.shape[1], "points": int(y.size),
            "parameters": sum(q.numel() for q in model.parameters()),
            "blas": os.environ.get("INNMF_BENCH_BLAS", "system libblas.so.3")}
    print(json.dumps(info), file=sys.stderr)
    start = time.perf_counter()
    epoch = 0
    while True:
        epoch += 1
        t0, c0 = time.perf_counter(), time.process_time()
        opt.zero_grad(set_to_none=True)
        loss = model.loss()
        loss.backward()
        opt.step()
        value = loss.item()
        seconds = time.perf_counter() - t0
        cpu = time.process_time() - c0
        if not math.isfinite(value):
            sys.exit(f"epoch {epoch}: loss {value}")
        if out:
            out.write(json.dumps({"epoch": epoch, "loss": value, "seconds": seconds, "cpu_seconds": cpu}) + "\n")
        elapsed = time.perf_counter() - start
        if elapsed >= args.max_seconds:
            break
        if epoch >= args.epochs and (args.target_loss is None or value <= args.target_loss):
            break
    if out:
        out.close()
    print(json.dumps({"epochs": epoch, "loss": value, "seconds": elapsed}), file=sys.stderr)


if __name__ == "__main__":
    main()
