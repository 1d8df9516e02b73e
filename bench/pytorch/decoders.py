#!/usr/bin/env python3
"""PyTorch reference timings for Unroll's training benchmarks (issue 19: PyTorch in the benchmark report).

Times a GPT-2 decoder written here in plain PyTorch, as nanoGPT writes it, at the named shapes of Unroll's
TrainingStepBenchmark (tiny, baby, medium, gpt2): tokens/s of a training step (forward, cross-entropy, backward,
AdamW) and of the forward with its loss, on 1 and 2 threads, float32. GFLOP/s use the same FLOP count as Unroll's
report (6*N*B*T + 12*L*C*B*T^2 per step), printed in the header so the figures can be checked by hand.

The machine, BLAS, thread and timing helpers are encoders.py's, so both scripts measure the same way.

  /usr/bin/python3 decoders.py                                  # tiny, baby, medium, gpt2 on 1 and 2 threads
  /usr/bin/python3 decoders.py --shapes tiny,baby --threads 2 --json out.json
  /usr/bin/python3 decoders.py --check                          # numeric self-check on a small GPT, then exit
"""

import argparse
import dataclasses
import math
import os
import platform
import statistics
import sys

import torch
import torch.nn.functional as F
from torch import nn

from encoders import Blas, Checks, cpu_flag, cpu_model, int_list, keep_freed_memory, make_optimizer, \
    positive_int, set_threads, time_step, torch_cpu_capability, write_json_atomically

FORMULA = ("training step FLOPs = 6 * N * B * T + 12 * L * C * B * T^2; forward = a third of it; N = every "
           "trainable parameter (the tied token table once, the position table, biases and LayerNorms), B = batch, "
           "T = context, L = layers, C = dim")


@dataclasses.dataclass(frozen=True)
class Shape:
    """A GPT-2 shape as Unroll's bench Shapes.java declares it; hidden is 4 * dim as in GPT-2."""
    name: str
    vocab: int
    context: int
    dim: int
    heads: int
    layers: int
    batch: int

    @property
    def tokens(self):
        return self.batch * self.context


SHAPES = {s.name: s for s in (
    Shape("tiny", vocab=65, context=64, dim=64, heads=4, layers=2, batch=8),
    Shape("baby", vocab=65, context=64, dim=128, heads=4, layers=4, batch=12),
    Shape("medium", vocab=65, context=256, dim=384, heads=6, layers=6, batch=4),
    Shape("gpt2", vocab=50257, context=64, dim=768, heads=12, layers=12, batch=4),
)}


# ---------------------------------------------------------------------------------------------------------------
# GPT-2 as nanoGPT writes it: pre-LayerNorm blocks (eps 1e-5), fused q/k/v projection, causal attention, tanh GELU,
# biases everywhere, final LayerNorm, the output projection tied to the token table; no dropout (Unroll trains
# without it). Parameter names as nanoGPT's.
# ---------------------------------------------------------------------------------------------------------------

class CausalSelfAttention(nn.Module):
    def __init__(self, s):
        super().__init__()
        self.heads = s.heads
        self.c_attn = nn.Linear(s.dim, 3 * s.dim)
        self.c_proj = nn.Linear(s.dim, s.dim)
        # Additive mask: 0 on and below the diagonal, -inf above (nanoGPT's non-flash path masks the same keys).
        self.register_buffer("mask", torch.full((s.context, s.context), float("-inf")).triu(1), persistent=False)

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = self.c_attn(x).split(d, dim=2)

        def split(y):  # (b, t, d) -> (b, heads, t, d / heads)
            return y.view(b, t, self.heads, d // self.heads).transpose(1, 2)

        q, k, v = split(q), split(k), split(v)
        scores = (q * (1.0 / math.sqrt(d // self.heads))) @ k.transpose(-1, -2) + self.mask[:t, :t]
        y = torch.softmax(scores, dim=-1) @ v
        return self.c_proj(y.transpose(1, 2).reshape(b, t, d))


class Mlp(nn.Module):
    def __init__(self, s):
        super().__init__()
        self.c_fc = nn.Linear(s.dim, 4 * s.dim)
        self.c_proj = nn.Linear(4 * s.dim, s.dim)

    def forward(self, x):
        return self.c_proj(F.gelu(self.c_fc(x), approximate="tanh"))


class Block(nn.Module):
    def __init__(self, s):
        super().__init__()
        self.ln_1 = nn.LayerNorm(s.dim, eps=1e-5)
        self.attn = CausalSelfAttention(s)
        self.ln_2 = nn.LayerNorm(s.dim, eps=1e-5)
        self.mlp = Mlp(s)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class Gpt(nn.Module):
    def __init__(self, s):
        super().__init__()
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(s.vocab, s.dim),
            wpe=nn.Embedding(s.context, s.dim),
            h=nn.ModuleList(Block(s) for _ in range(s.layers)),
            ln_f=nn.LayerNorm(s.dim, eps=1e-5)))
        self.lm_head = nn.Linear(s.dim, s.vocab, bias=False)
        self.lm_head.weight = self.transformer.wte.weight  # tied, as GPT-2
        for name, p in self.named_parameters():
            # nanoGPT's initialisation: N(0, 0.02), the residual projections scaled by 1/sqrt(2 * layers); zero
            # biases; LayerNorms 1 and 0. Speed does not depend on it; plausible values keep softmax and GELU on
            # their ordinary paths.
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, std=0.02 / math.sqrt(2 * s.layers))
            elif p.dim() == 2:
                nn.init.normal_(p, std=0.02)
            elif ".ln_" in name or "ln_f" in name:
                nn.init.ones_(p) if name.endswith("weight") else nn.init.zeros_(p)
            else:
                nn.init.zeros_(p)

    def forward(self, ids, targets):
        t = ids.shape[1]
        tr = self.transformer
        x = tr.wte(ids) + tr.wpe.weight[:t]
        for block in tr.h:
            x = block(x)
        logits = self.lm_head(tr.ln_f(x))
        return F.cross_entropy(logits.view(-1, logits.shape[-1]), targets.view(-1))


# ---------------------------------------------------------------------------------------------------------------
# FLOPs
# ---------------------------------------------------------------------------------------------------------------

def parameters(model):
    """N: every distinct trainable parameter (model.parameters() yields the tied table once)."""
    return sum(p.numel() for p in model.parameters())


def closed_form_parameters(s):
    """N of GPT-2 in closed form: token and position tables; per layer two LayerNorms (2C each), q/k/v (3C^2 + 3C),
    the attention projection (C^2 + C), the MLP (4C^2 + 4C and 4C^2 + C); the final LayerNorm; the head tied."""
    c = s.dim
    return s.vocab * c + s.context * c + s.layers * (12 * c * c + 13 * c) + 2 * c


def training_flops(s):
    return 6 * closed_form_parameters(s) * s.tokens + 12 * s.layers * s.dim * s.batch * s.context ** 2


# ---------------------------------------------------------------------------------------------------------------
# The steps to time
# ---------------------------------------------------------------------------------------------------------------

def batch(s, seed):
    g = torch.Generator().manual_seed(seed + 1)
    return (torch.randint(s.vocab, (s.batch, s.context), generator=g),
            torch.randint(s.vocab, (s.batch, s.context), generator=g))


def training_step(model, ids, targets):
    optimizer = make_optimizer(model)
    model.train()

    def step():
        optimizer.zero_grad(set_to_none=True)
        model(ids, targets).backward()
        optimizer.step()
    return step


def forward_step(model, ids, targets):
    model.eval()

    def step():
        with torch.no_grad():
            model(ids, targets)
    return step


# ---------------------------------------------------------------------------------------------------------------
# --check
# ---------------------------------------------------------------------------------------------------------------

def textbook_causal_attention(x, attn):
    """One row (t, d) in float64: every head, query and key spelled out, each query seeing keys 0..i."""
    t, d = x.shape
    heads = attn.heads
    dh = d // heads
    qkv = x @ attn.c_attn.weight.double().T + attn.c_attn.bias.double()
    q, k, v = qkv[:, :d], qkv[:, d:2 * d], qkv[:, 2 * d:]
    out = torch.zeros(t, d, dtype=torch.float64)
    for h in range(heads):
        cols = slice(h * dh, (h + 1) * dh)
        for i in range(t):
            scores = torch.tensor([float(q[i, cols] @ k[j, cols]) / math.sqrt(dh) for j in range(i + 1)],
                                  dtype=torch.float64)
            weights = torch.exp(scores - scores.max())
            weights = weights / weights.sum()
            for j in range(i + 1):
                out[i, cols] += weights[j] * v[j, cols]
    return out @ attn.c_proj.weight.double().T + attn.c_proj.bias.double()


def run_checks():
    """A small GPT (vocab 37, context 9, dim 24, heads 3, layers 2) against textbook math; N_matmul against its
    closed form at every named shape; returns the number of failed comparisons."""
    checks = Checks()
    small = Shape("check", vocab=37, context=9, dim=24, heads=3, layers=2, batch=3)
    for s in (small, *SHAPES.values()):
        checks.equal(f"{s.name}: N counted from the modules vs closed form", parameters(Gpt(s)),
                     closed_form_parameters(s))
    torch.manual_seed(5)
    model = Gpt(small).eval()
    checks.equal("output projection is the token table", model.lm_head.weight is model.transformer.wte.weight,
                 True)
    g = torch.Generator().manual_seed(6)
    with torch.no_grad():
        for p in model.parameters():  # away from nanoGPT's init, so that zero biases or unit scales hide nothing
            p.copy_(0.3 * torch.randn(p.shape, generator=g))
        x = torch.randn(small.batch, small.context, small.dim, generator=g)
        got = model.transformer.h[0].attn(x)
        for row in range(small.batch):
            checks.close(f"causal attention, row {row}, vs explicit loop", got[row],
                         textbook_causal_attention(x[row].double(), model.transformer.h[0].attn), 2e-5)
        y = torch.linspace(-6, 6, 101)
        checks.close("GELU vs its tanh approximation's formula", F.gelu(y, approximate="tanh"),
                     0.5 * y.double() * (1 + torch.tanh(math.sqrt(2 / math.pi) * (y.double() + 0.044715
                                                                                   * y.double() ** 3))), 1e-6)
        ids, targets = batch(small, 11)
        later = ids.clone()
        later[:, 5:] = (later[:, 5:] + 1) % small.vocab
        tr = model.transformer

        def logits(tokens):
            h = tr.wte(tokens) + tr.wpe.weight[:tokens.shape[1]]
            for block in tr.h:
                h = block(h)
            return model.lm_head(tr.ln_f(h))
        checks.close("positions 0..4 do not see later tokens", logits(later)[:, :5], logits(ids)[:, :5], 0.0)
        want = -logits(ids).double().log_softmax(-1).gather(-1, targets[..., None]).mean()
        checks.close("loss vs mean of -log softmax[target]", model(ids, targets), want, 1e-5)
    if checks.failed:
        print(f"{len(checks.failed)} check(s) FAILED: " + "; ".join(checks.failed))
    else:
        print("all checks passed")
    return len(checks.failed)


# ---------------------------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------------------------

def shape_list(text):
    names = text.split(",")
    unknown = [n for n in names if n not in SHAPES]
    if unknown or not text:
        raise argparse.ArgumentTypeError(f"--shapes takes names from {','.join(SHAPES)} separated by commas, got "
                                         f"'{text}'")
    return [SHAPES[n] for n in names]


def parse_args(argv):
    p = argparse.ArgumentParser(description="PyTorch reference timings for Unroll's training benchmarks: GPT-2 "
                                            "(nanoGPT) at the named shapes, float32, CPU.")
    p.add_argument("--shapes", type=shape_list, default=list(SHAPES.values()),
                   help="shapes to time, comma-separated, from " + ", ".join(
                       f"{s.name} (layers {s.layers}, dim {s.dim}, context {s.context}, batch {s.batch})"
                       for s in SHAPES.values()) + "; default all")
    p.add_argument("--threads", type=int_list("--threads"), default=[1, 2],
                   help="intra-op thread counts to time, comma-separated (default 1,2)")
    p.add_argument("--warmup", type=positive_int("--warmup"), default=3,
                   help="untimed iterations before each timed series (default 3)")
    p.add_argument("--iters", type=positive_int("--iters"), default=10,
                   help="timed iterations per series; the median is reported (default 10)")
    p.add_argument("--malloc", choices=["keep", "default"], default="keep",
                   help="keep: glibc keeps freed memory for reuse, as jemalloc or tcmalloc would (default); "
                        "default: glibc's own thresholds")
    p.add_argument("--seed", type=int, default=1234, help="seed for weights and tokens (default 1234)")
    p.add_argument("--json", metavar="FILE", help="also write the results as JSON to FILE")
    p.add_argument("--check", action="store_true", help="check the model against textbook math, then exit")
    args = p.parse_args(argv)
    if args.json is not None:
        folder = os.path.dirname(os.path.abspath(args.json))
        if not os.path.isdir(folder) or not os.access(folder, os.W_OK):
            p.error(f"--json {args.json}: folder {folder} does not exist or is not writable")
    return args


def main(argv):
    args = parse_args(argv)
    if args.check:
        return 1 if run_checks() else 0

    malloc = "glibc defaults"
    if args.malloc == "keep":
        malloc = "glibc, keeps freed memory" if keep_freed_memory() else "unchanged (mallopt not available)"
    torch.set_num_interop_threads(1)  # must precede any parallel work
    blas = Blas()
    print(f"torch {torch.__version__}, python {platform.python_version()}, float32, GPT-2 as nanoGPT")
    print(f"CPU: {cpu_model()}, avx512f {'yes' if cpu_flag('avx512f') else 'no'}, {os.cpu_count()} CPUs")
    print(f"BLAS: {blas.describe()}; OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}; "
          f"torch kernels: {torch_cpu_capability()}; malloc: {malloc}")
    print(f"FLOPs: {FORMULA}")
    for s in args.shapes:
        print(f"  {s.name}: vocab {s.vocab}, context {s.context}, dim {s.dim}, heads {s.heads}, layers {s.layers}, "
              f"batch {s.batch}, N {closed_form_parameters(s):,} -> training step {training_flops(s) / 1e9:.3f} "
              f"GFLOP, forward {training_flops(s) / 3e9:.3f} GFLOP")
    print(f"warm-up {args.warmup}, timed iterations {args.iters}; median of per-iteration times; forward: the loss "
          "under torch.no_grad()")
    print()
    header = f"{'shape':<7} {'mode':<9} {'threads':>7} {'median ms':>10} {'tokens/s':>10} {'GFLOP/s':>8} " \
             f"{'min ms':>9} {'max ms':>9} {'cores':>7}"
    print(header)
    print("-" * len(header))

    results = []
    for s in args.shapes:
        torch.manual_seed(args.seed)
        model = Gpt(s)
        ids, targets = batch(s, args.seed)
        for mode, make, flops in (("training", training_step, training_flops(s)),
                                  ("forward", forward_step, training_flops(s) // 3)):
            for n in args.threads:
                set_threads(n, blas)
                times, cpu = time_step(make(model, ids, targets), args.warmup, args.iters)
                median = statistics.median(times)
                cores_held = 100 * cpu / (sum(times) * n)  # as in encoders.py: near 100% on an idle machine
                row = {"model": s.name, "mode": mode, "threads": n, "median_ms": median * 1e3,
                       "min_ms": min(times) * 1e3, "max_ms": max(times) * 1e3, "iters": args.iters,
                       "warmup": args.warmup, "batch": s.batch, "tokens_per_row": s.context, "item": "tokens",
                       "items_per_s": s.tokens / median, "steps_per_s": 1 / median, "flops": flops,
                       "gflops": flops / median / 1e9, "cpu_share_percent": cores_held}
                results.append(row)
                print(f"{s.name:<7} {mode:<9} {n:>7} {row['median_ms']:>10.2f} {row['items_per_s']:>10.0f} "
                      f"{row['gflops']:>8.2f} {row['min_ms']:>9.2f} {row['max_ms']:>9.2f} {cores_held:>6.0f}%",
                      flush=True)
        del model
    print("(cores: CPU time the process got while timed, as a share of the threads' cores - well under 100% means "
          "other work shared the cores and the row is slower than the machine)")

    if args.json:
        write_json_atomically(args.json, {
            "script": "decoders.py", "torch": torch.__version__, "python": platform.python_version(),
            "cpu": cpu_model(), "avx512f": cpu_flag("avx512f"), "cpus": os.cpu_count(), "blas": blas.path,
            "openblas_core": blas.core, "openblas_coretype_env": os.environ.get("OPENBLAS_CORETYPE"),
            "torch_cpu_capability": torch_cpu_capability(), "malloc": malloc, "attention": "matmul",
            "seed": args.seed, "flop_formula": FORMULA, "results": results})
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
