#!/usr/bin/env python3
"""nanoGPT's CPU "baby Shakespeare" run in plain PyTorch, evaluated as Unroll's text sample evaluates (issue 19).

Trains the character model of nanoGPT's README (config/train_shakespeare_char.py with --device=cpu --block_size=64
--batch_size=12 --n_layer=4 --n_head=4 --n_embd=128 --max_iters=2000 --lr_decay_iters=2000 --dropout=0.0) on tiny
Shakespeare: the sorted distinct characters as the vocabulary, the first 90% to train; AdamW lr 1e-3, betas
(0.9, 0.99), weight decay 0.1, gradient clipping 1.0, 100 warm-up steps, cosine to 1e-4 at step 2000. Then it
reports the validation loss two ways: nanoGPT's estimate (the mean of 20 batches of 12 random windows of the
held-out 10%) and the loss over the whole held-out split in consecutive windows of the context, every token but
the first predicted once (what Unroll's `Main --text` reports as its final validation loss).

--arch nanogpt (the default) is nanoGPT's model: no biases (train.py's bias = False), exact GELU, weight decay on
the matrices and tables only. --arch unroll is Unroll's GPT2 family: biases, tanh GELU, decay on every parameter
(decoders.py's model).

  /usr/bin/python3 shakespeare_char.py --text ../../samples/src/main/resources/dev/unroll/samples/tinyshakespeare.txt
  /usr/bin/python3 shakespeare_char.py --arch unroll --seed 1 --threads 2 --text FILE
"""

import argparse
import math
import time

import torch
import torch.nn.functional as F

from decoders import Gpt, Mlp, Shape


def nanogpt_lr(step, steps, warmup, peak):
    """nanoGPT's get_lr: linear warm-up, then a cosine down to a tenth of the peak at `steps`."""
    low = peak / 10
    if step < warmup:
        return peak * (step + 1) / (warmup + 1)
    if step > steps:
        return low
    ratio = (step - warmup) / (steps - warmup)
    return low + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (peak - low)


def exact_gelu_forward(self, x):
    return self.c_proj(F.gelu(self.c_fc(x)))


def make_model(shape, arch):
    model = Gpt(shape)
    if arch == "nanogpt":
        # nanoGPT's GPT with bias=False: Linear and LayerNorm layers without biases; nn.GELU() is the exact one.
        for module in model.modules():
            if isinstance(module, (torch.nn.Linear, torch.nn.LayerNorm)) and module.bias is not None:
                module.bias = None
        Mlp.forward = exact_gelu_forward
    return model


def make_optimizer(model, arch, lr):
    if arch == "nanogpt":
        # nanoGPT's configure_optimizers: decay the parameters of two or more dimensions only.
        params = [p for p in model.parameters() if p.requires_grad]
        groups = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": 0.1},
                  {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
    else:
        groups = [{"params": list(model.parameters()), "weight_decay": 0.1}]
    return torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.99), eps=1e-8, foreach=False)


@torch.no_grad()
def estimate(model, data, shape, generator, batches=20):
    """nanoGPT's estimate_loss on one split: the mean loss of `batches` batches of random windows."""
    losses = []
    for _ in range(batches):
        ix = torch.randint(len(data) - shape.context, (shape.batch,), generator=generator)
        x = torch.stack([data[i:i + shape.context] for i in ix])
        y = torch.stack([data[i + 1:i + 1 + shape.context] for i in ix])
        losses.append(model(x, y).item())
    return sum(losses) / len(losses)


@torch.no_grad()
def whole_split(model, data, shape):
    """The loss over every token of `data` but the first, in consecutive windows of the context."""
    total, count = 0.0, 0
    targets = len(data) - 1
    for w in range(0, targets, shape.context):
        n = min(shape.context, targets - w)
        total += model(data[w:w + n].unsqueeze(0), data[w + 1:w + 1 + n].unsqueeze(0)).item() * n
        count += n
    return total / count


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--text", required=True, help="tiny Shakespeare (or another text)")
    parser.add_argument("--arch", choices=("nanogpt", "unroll"), default="nanogpt")
    parser.add_argument("--seed", type=int, default=1337)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    with open(args.text, encoding="utf-8") as f:
        text = f.read()
    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    data = torch.tensor([stoi[c] for c in text], dtype=torch.long)
    n = int(len(data) * 0.9)
    train, val = data[:n], data[n:]
    shape = Shape("baby", vocab=len(chars), context=64, dim=128, heads=4, layers=4, batch=12)
    model = make_model(shape, args.arch)
    opt = make_optimizer(model, args.arch, 1e-3)
    print(f"torch {torch.__version__}, {args.threads} threads, arch {args.arch}, seed {args.seed}, vocabulary "
          f"{len(chars)}, {sum(p.numel() for p in model.parameters()):,} parameters, {args.steps} steps")

    seconds = 0.0
    for step in range(args.steps):
        start = time.perf_counter()
        for group in opt.param_groups:
            group["lr"] = nanogpt_lr(step, args.steps, 100, 1e-3)
        ix = torch.randint(len(train) - shape.context, (shape.batch,))
        x = torch.stack([train[i:i + shape.context] for i in ix])
        y = torch.stack([train[i + 1:i + 1 + shape.context] for i in ix])
        loss = model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        seconds += time.perf_counter() - start
        if (step + 1) % 250 == 0:
            print(f"step {step + 1}: train loss {loss.item():.4f}, {seconds:.1f} s", flush=True)
    model.eval()
    generator = torch.Generator().manual_seed(args.seed)
    print(f"trained in {seconds:.1f} s; val loss: nanoGPT's estimate (20 batches of 12 random windows) "
          f"{estimate(model, val, shape, generator):.4f}, whole held-out split {whole_split(model, val, shape):.4f}")


if __name__ == "__main__":
    main()
