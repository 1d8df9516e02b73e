#!/usr/bin/env python3
"""PyTorch reference timings for Unroll's encoder benchmarks (issue 16, "Speed").

Times a BERT text encoder with a sequence-classification head and a ViT image classifier, written here in plain
PyTorch (no transformers library), at the shapes Unroll's JMH encoder benchmarks use: inference throughput and a
training step (forward, cross-entropy, backward, AdamW), on 1 and 2 threads, float32. GFLOP/s use the same FLOP
count as Unroll's report, printed in the header so the figures can be checked by hand.

The modules follow Hugging Face's BertForSequenceClassification and ViTForImageClassification, down to the names
of their parameters, without dropout (Unroll trains without it, so both sides do the same work).

  python3 encoders.py                       # both models, 1 and 2 threads
  python3 encoders.py --model text --threads 2 --iters 20 --json out.json
  python3 encoders.py --check               # numeric self-check on tiny shapes, then exit
"""

import argparse
import ctypes
import ctypes.util
import dataclasses
import json
import math
import os
import platform
import statistics
import sys
import tempfile
import time

import torch
import torch.nn.functional as F
from torch import nn

FORMULA = ("forward FLOPs = 2 * N_matmul * tokens + 4 * layers * dim * batch * T^2; training step = 3 * forward; "
           "N_matmul = weights that multiply activations (every Linear and Conv weight, pooler and classifier "
           "included; embedding tables, biases and LayerNorms not), tokens = batch * T, T = tokens per row "
           "(padded length for text; patches + 1 for images)")


@dataclasses.dataclass(frozen=True)
class TextShape:
    """BERT's shape: the sentence-embedding shape of the issue by default."""
    layers: int = 6
    dim: int = 384
    heads: int = 12
    hidden: int = 1536
    context: int = 128
    vocab: int = 30522
    type_vocab: int = 2
    classes: int = 2


@dataclasses.dataclass(frozen=True)
class ImageShape:
    """ViT's shape: ViT-Tiny/16 at 224x224 with ImageNet's 1000 classes by default."""
    layers: int = 12
    dim: int = 192
    heads: int = 3
    hidden: int = 768
    image: tuple = (224, 224)
    patch: int = 16
    channels: int = 3
    classes: int = 1000

    @property
    def tokens(self):
        return (self.image[0] // self.patch) * (self.image[1] // self.patch) + 1


# ---------------------------------------------------------------------------------------------------------------
# Attention
#
# Two ways to compute softmax(q k^T / sqrt(d_head) + mask) v over (batch, heads, T, d_head):
#   "matmul": two batched matmuls and a softmax, as Hugging Face's eager BERT and ViT do;
#   "sdpa":   torch.nn.functional.scaled_dot_product_attention (torch 2.0 and later).
# On Debian's torch 1.13.1 (2 cores, AMD EPYC, OpenBLAS 0.3.21) the public SDPA does not exist yet; its private
# forerunner F._scaled_dot_product_attention gives bit-identical outputs (the same math on CPU) and, timed against
# "matmul" at both shapes forward and backward, was not consistently faster, so "matmul" is the default; "sdpa"
# stays selectable for newer torch versions, where it may win.
# ---------------------------------------------------------------------------------------------------------------

def attention_matmul(q, k, v, mask):
    # Scaling q before the product is the same math as scaling the scores, on T/d_head times fewer numbers.
    scores = (q * (1.0 / math.sqrt(q.shape[-1]))) @ k.transpose(-1, -2)
    if mask is not None:
        scores = scores + mask
    return torch.softmax(scores, dim=-1) @ v


def attention_sdpa(q, k, v, mask):
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask)


ATTENTION = {"matmul": attention_matmul, "sdpa": attention_sdpa}


def sdpa_available():
    return hasattr(F, "scaled_dot_product_attention")


class SelfAttention(nn.Module):
    """Multi-head self-attention with separate query, key and value projections (Hugging Face's layout)."""

    def __init__(self, dim, heads, attend):
        super().__init__()
        self.heads = heads
        self.attend = attend
        self.query = nn.Linear(dim, dim)
        self.key = nn.Linear(dim, dim)
        self.value = nn.Linear(dim, dim)

    def forward(self, x, mask):
        b, t, d = x.shape

        def split(y):  # (b, t, d) -> (b, heads, t, d / heads)
            return y.view(b, t, self.heads, d // self.heads).transpose(1, 2)

        out = self.attend(split(self.query(x)), split(self.key(x)), split(self.value(x)), mask)
        return out.transpose(1, 2).reshape(b, t, d)


class Dense(nn.Module):
    """A Linear under the name "dense", so that parameter names match Hugging Face's."""

    def __init__(self, inputs, outputs):
        super().__init__()
        self.dense = nn.Linear(inputs, outputs)

    def forward(self, x):
        return self.dense(x)


# ---------------------------------------------------------------------------------------------------------------
# BERT: post-LayerNorm blocks, exact GELU, eps 1e-12, tanh pooler on the first token, linear classifier
# ---------------------------------------------------------------------------------------------------------------

class BertAttention(nn.Module):
    def __init__(self, s, attend):
        super().__init__()
        self.self = SelfAttention(s.dim, s.heads, attend)
        self.output = Dense(s.dim, s.dim)
        self.output.LayerNorm = nn.LayerNorm(s.dim, eps=1e-12)

    def forward(self, x, mask):
        return self.output.LayerNorm(x + self.output(self.self(x, mask)))


class BertLayer(nn.Module):
    def __init__(self, s, attend):
        super().__init__()
        self.attention = BertAttention(s, attend)
        self.intermediate = Dense(s.dim, s.hidden)
        self.output = Dense(s.hidden, s.dim)
        self.output.LayerNorm = nn.LayerNorm(s.dim, eps=1e-12)

    def forward(self, x, mask):
        x = self.attention(x, mask)
        return self.output.LayerNorm(x + self.output(F.gelu(self.intermediate(x))))


class BertEmbeddings(nn.Module):
    def __init__(self, s):
        super().__init__()
        self.word_embeddings = nn.Embedding(s.vocab, s.dim)
        self.position_embeddings = nn.Embedding(s.context, s.dim)
        self.token_type_embeddings = nn.Embedding(s.type_vocab, s.dim)
        self.LayerNorm = nn.LayerNorm(s.dim, eps=1e-12)

    def forward(self, ids, types):
        positions = self.position_embeddings.weight[:ids.shape[1]]
        return self.LayerNorm(self.word_embeddings(ids) + positions + self.token_type_embeddings(types))


class BertEncoder(nn.Module):
    def __init__(self, s, attend):
        super().__init__()
        self.layer = nn.ModuleList(BertLayer(s, attend) for _ in range(s.layers))

    def forward(self, x, mask):
        for layer in self.layer:
            x = layer(x, mask)
        return x


class BertModel(nn.Module):
    def __init__(self, s, attend):
        super().__init__()
        self.embeddings = BertEmbeddings(s)
        self.encoder = BertEncoder(s, attend)
        self.pooler = Dense(s.dim, s.dim)

    def forward(self, ids, types, mask):
        hidden = self.encoder(self.embeddings(ids, types), mask)
        return hidden, torch.tanh(self.pooler(hidden[:, 0]))


class BertClassifier(nn.Module):
    """BertModel and a linear head on the pooled first token; parameter names as BertForSequenceClassification's."""

    def __init__(self, s, attend):
        super().__init__()
        self.bert = BertModel(s, attend)
        self.classifier = nn.Linear(s.dim, s.classes)
        init_like_hugging_face(self)

    def forward(self, ids, types, mask):
        return self.classifier(self.bert(ids, types, mask)[1])


def padding_mask(lengths, width):
    """Additive key mask (rows, 1, 1, width): 0 where a key is inside its row's length, the float32 minimum beyond
    it (Hugging Face's choice: finite, so softmax never meets -inf - -inf). None when every row is full, since then
    nothing is masked."""
    lengths = torch.as_tensor(lengths)
    if bool((lengths == width).all()):
        return None
    outside = torch.arange(width)[None, :] >= lengths[:, None]
    return (outside.float() * torch.finfo(torch.float32).min)[:, None, None, :]


# ---------------------------------------------------------------------------------------------------------------
# ViT: patch projection as a strided Conv2d, class token, position embeddings, pre-LayerNorm blocks, exact GELU,
# final LayerNorm, classifier on the class token
# ---------------------------------------------------------------------------------------------------------------

class ViTPatchEmbeddings(nn.Module):
    def __init__(self, s):
        super().__init__()
        self.projection = nn.Conv2d(s.channels, s.dim, kernel_size=s.patch, stride=s.patch)

    def forward(self, pixels):
        # (b, dim, rows, cols) -> (b, rows * cols, dim), patches in row-major order.
        return self.projection(pixels).flatten(2).transpose(1, 2)


class ViTEmbeddings(nn.Module):
    def __init__(self, s):
        super().__init__()
        self.cls_token = nn.Parameter(torch.zeros(1, 1, s.dim))
        self.position_embeddings = nn.Parameter(torch.zeros(1, s.tokens, s.dim))
        self.patch_embeddings = ViTPatchEmbeddings(s)

    def forward(self, pixels):
        patches = self.patch_embeddings(pixels)
        cls = self.cls_token.expand(patches.shape[0], -1, -1)
        return torch.cat((cls, patches), dim=1) + self.position_embeddings


class ViTAttention(nn.Module):
    def __init__(self, s, attend):
        super().__init__()
        self.attention = SelfAttention(s.dim, s.heads, attend)
        self.output = Dense(s.dim, s.dim)

    def forward(self, x):
        return self.output(self.attention(x, None))


class ViTLayer(nn.Module):
    def __init__(self, s, attend):
        super().__init__()
        self.layernorm_before = nn.LayerNorm(s.dim, eps=1e-12)
        self.attention = ViTAttention(s, attend)
        self.layernorm_after = nn.LayerNorm(s.dim, eps=1e-12)
        self.intermediate = Dense(s.dim, s.hidden)
        self.output = Dense(s.hidden, s.dim)

    def forward(self, x):
        x = x + self.attention(self.layernorm_before(x))
        return x + self.output(F.gelu(self.intermediate(self.layernorm_after(x))))


class ViTEncoder(nn.Module):
    def __init__(self, s, attend):
        super().__init__()
        self.layer = nn.ModuleList(ViTLayer(s, attend) for _ in range(s.layers))

    def forward(self, x):
        for layer in self.layer:
            x = layer(x)
        return x


class ViTModel(nn.Module):
    def __init__(self, s, attend):
        super().__init__()
        self.embeddings = ViTEmbeddings(s)
        self.encoder = ViTEncoder(s, attend)
        self.layernorm = nn.LayerNorm(s.dim, eps=1e-12)

    def forward(self, pixels):
        return self.layernorm(self.encoder(self.embeddings(pixels)))


class ViTClassifier(nn.Module):
    """ViTModel and a linear head on the class token; parameter names as ViTForImageClassification's."""

    def __init__(self, s, attend):
        super().__init__()
        self.vit = ViTModel(s, attend)
        self.classifier = nn.Linear(s.dim, s.classes)
        init_like_hugging_face(self)

    def forward(self, pixels):
        return self.classifier(self.vit(pixels)[:, 0])


def init_like_hugging_face(model):
    """Normal(0, 0.02) weights, embeddings, class token and position table; zero biases; LayerNorm 1 and 0. Speed
    does not depend on the values, but finite, plausible ones keep the softmax and GELU on their ordinary paths."""
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            nn.init.normal_(m.weight, std=0.02)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, std=0.02)
        elif isinstance(m, nn.LayerNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, ViTEmbeddings):
            nn.init.normal_(m.cls_token, std=0.02)
            nn.init.normal_(m.position_embeddings, std=0.02)


# ---------------------------------------------------------------------------------------------------------------
# FLOPs
# ---------------------------------------------------------------------------------------------------------------

def matmul_params(model):
    """N_matmul: the weights of every Linear and Conv2d (the ones that multiply activations)."""
    return sum(m.weight.numel() for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d)))


def forward_flops(n_matmul, layers, dim, batch, t):
    return 2 * n_matmul * batch * t + 4 * layers * dim * batch * t * t


def text_matmul_params(s):
    """N_matmul of BERT in closed form: q, k, v, attention output, two FFN matrices per layer; pooler; head."""
    return s.layers * (4 * s.dim * s.dim + 2 * s.dim * s.hidden) + s.dim * s.dim + s.dim * s.classes


def image_matmul_params(s):
    """N_matmul of ViT in closed form: four attention and two FFN matrices per layer; patch projection; head."""
    return (s.layers * (4 * s.dim * s.dim + 2 * s.dim * s.hidden) + s.channels * s.patch * s.patch * s.dim
            + s.dim * s.classes)


# ---------------------------------------------------------------------------------------------------------------
# The cases to time
# ---------------------------------------------------------------------------------------------------------------

@dataclasses.dataclass
class Case:
    """A model with fixed inputs, ready to run forward (inference) or a training step."""
    model_name: str
    item: str                 # what one row is: "sentences" or "images"
    model: nn.Module
    inputs: tuple
    labels: torch.Tensor
    batch: int
    t: int                    # tokens per row (padded)
    layers: int
    dim: int
    n_matmul: int

    @property
    def flops_forward(self):
        return forward_flops(self.n_matmul, self.layers, self.dim, self.batch, self.t)


def text_case(shape, batch, lengths, attend, seed):
    torch.manual_seed(seed)
    model = BertClassifier(shape, attend)
    g = torch.Generator().manual_seed(seed + 1)
    ids = torch.randint(shape.vocab, (batch, shape.context), generator=g)
    types = torch.zeros(batch, shape.context, dtype=torch.long)
    labels = torch.randint(shape.classes, (batch,), generator=g)
    return Case("text", "sentences", model, (ids, types, padding_mask(lengths, shape.context)), labels, batch,
                shape.context, shape.layers, shape.dim, matmul_params(model))


def image_case(shape, batch, attend, seed):
    torch.manual_seed(seed)
    model = ViTClassifier(shape, attend)
    g = torch.Generator().manual_seed(seed + 1)
    pixels = torch.randn(batch, shape.channels, *shape.image, generator=g)
    labels = torch.randint(shape.classes, (batch,), generator=g)
    return Case("image", "images", model, (pixels,), labels, batch, shape.tokens, shape.layers, shape.dim,
                matmul_params(model))


def make_optimizer(model):
    # Unroll's AdamW defaults (lr 1e-3, betas (0.9, 0.999), eps 1e-8, decay 0.01 on every parameter).
    # foreach=False: the per-tensor loop, which torch 1.13 uses by default on CPU anyway; saying it keeps newer
    # versions (that default to foreach) on the same algorithm.
    return torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01,
                             foreach=False)


def inference_step(case):
    def step():
        with torch.inference_mode():
            case.model(*case.inputs)
    case.model.eval()
    return step


def training_step(case):
    optimizer = make_optimizer(case.model)
    case.model.train()

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(case.model(*case.inputs), case.labels)
        loss.backward()
        optimizer.step()
    return step


def time_step(step, warmup, iters):
    """Per-iteration wall times in seconds after `warmup` untimed iterations, and the CPU time the process got over
    the timed ones (all its threads together)."""
    for _ in range(warmup):
        step()
    times = []
    cpu_start = time.process_time()
    for _ in range(iters):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return times, time.process_time() - cpu_start


# ---------------------------------------------------------------------------------------------------------------
# The machine and its BLAS
# ---------------------------------------------------------------------------------------------------------------

def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def cpu_flag(flag):
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return flag in line.split(":", 1)[1].split()
    except OSError:
        pass
    return False


def torch_cpu_capability():
    """The vector width torch's own kernels (GELU, softmax, LayerNorm, ...) were dispatched to, as torch reports it.
    torch 1.13 picks AVX2 even where AVX-512 exists unless ATEN_CPU_CAPABILITY=avx512 asks for it."""
    for line in torch.__config__.show().splitlines():
        if "CPU capability usage" in line:
            return line.split(":", 1)[1].strip()
    return "unknown"


class Blas:
    """The BLAS that serves torch's float32 GEMMs: the library file that defines sgemm_ as torch's CPU library
    resolves it, and OpenBLAS's kernel name and thread control where it is OpenBLAS. Debian's torch links the
    generic libblas.so.3, so which BLAS runs is the system's choice (update-alternatives) or LD_LIBRARY_PATH's."""

    def __init__(self):
        self.path = "unknown"
        self.core = None
        self._set_threads = None
        try:
            torch_lib = os.path.join(os.path.dirname(torch.__file__), "lib", "libtorch_cpu.so")
            sgemm = ctypes.cast(ctypes.CDLL(torch_lib).sgemm_, ctypes.c_void_p).value
            self.path = self._file_of(sgemm) or "unknown"
            blas = ctypes.CDLL(self.path)
            if hasattr(blas, "openblas_get_corename"):
                blas.openblas_get_corename.restype = ctypes.c_char_p
                self.core = blas.openblas_get_corename().decode()
                self._set_threads = blas.openblas_set_num_threads
        except (OSError, AttributeError):
            pass  # torch without a separate BLAS (e.g. MKL linked in): describe it as unknown and time it anyway

    @staticmethod
    def _file_of(address):
        class DlInfo(ctypes.Structure):
            _fields_ = [("dli_fname", ctypes.c_char_p), ("dli_fbase", ctypes.c_void_p),
                        ("dli_sname", ctypes.c_char_p), ("dli_saddr", ctypes.c_void_p)]
        libdl = ctypes.CDLL(ctypes.util.find_library("dl") or "libc.so.6")
        info = DlInfo()
        if libdl.dladdr(ctypes.c_void_p(address), ctypes.byref(info)) == 0 or not info.dli_fname:
            return None
        return os.path.realpath(info.dli_fname.decode())

    def set_threads(self, n):
        # OpenBLAS built for OpenMP follows torch.set_num_threads already; one built on pthreads needs telling.
        if self._set_threads is not None:
            self._set_threads(n)

    def describe(self):
        return self.path + (f" (OpenBLAS core {self.core})" if self.core else "")


def keep_freed_memory():
    """Tells glibc's malloc to keep the memory it frees (no mmap per large block, no trimming of the heap's top).
    With its defaults, the activations an inference pass frees go back to the kernel and the next pass faults them
    in again, zeroed: ~16,000 page faults per ViT-Tiny forward here, which made inference 2x slower per FLOP than
    training (whose saved activations keep the heap up). PyTorch users swap in jemalloc or tcmalloc for this; the
    same effect needs no package this way. Returns whether glibc accepted both settings."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3  # from glibc's malloc.h
        return bool(libc.mallopt(m_mmap_threshold, 1 << 30) and libc.mallopt(m_trim_threshold, (1 << 31) - 1))
    except (OSError, AttributeError):
        return False  # not glibc: its allocator has its own policy


def set_threads(n, blas):
    torch.set_num_threads(n)
    blas.set_threads(n)


# ---------------------------------------------------------------------------------------------------------------
# --check: the script's models against textbook math on tiny shapes
# ---------------------------------------------------------------------------------------------------------------

class Checks:
    """Collects named comparisons; each prints its largest difference and the bound it must stay under."""

    def __init__(self):
        self.failed = []

    def close(self, name, actual, expected, tol):
        diff = (actual.double() - expected.double()).abs().max().item()
        ok = diff <= tol and actual.shape == expected.shape
        print(f"  {'ok  ' if ok else 'FAIL'} {name}: max |diff| {diff:.3g} (bound {tol:g})")
        if not ok:
            self.failed.append(name)

    def equal(self, name, actual, expected):
        ok = actual == expected
        print(f"  {'ok  ' if ok else 'FAIL'} {name}: {actual} (expected {expected})")
        if not ok:
            self.failed.append(name)


def textbook_layer_norm(x, weight, bias, eps):
    mean = x.mean(-1, keepdim=True)
    var = ((x - mean) ** 2).mean(-1, keepdim=True)  # biased variance, as LayerNorm's definition has it
    return (x - mean) / torch.sqrt(var + eps) * weight + bias


def textbook_gelu(x):
    return 0.5 * x * (1 + torch.erf(x / math.sqrt(2)))


def textbook_attention(x, sa, heads, keys):
    """One row (t, d), attention to its first `keys` positions only; every head and query spelled out."""
    t, d = x.shape
    dh = d // heads
    q = x @ sa.query.weight.double().T + sa.query.bias.double()
    k = x @ sa.key.weight.double().T + sa.key.bias.double()
    v = x @ sa.value.weight.double().T + sa.value.bias.double()
    out = torch.zeros(t, d, dtype=torch.float64)
    for h in range(heads):
        cols = slice(h * dh, (h + 1) * dh)
        for i in range(t):
            scores = torch.tensor([float(q[i, cols] @ k[j, cols]) / math.sqrt(dh) for j in range(keys)],
                                  dtype=torch.float64)
            weights = torch.exp(scores - scores.max())
            weights = weights / weights.sum()
            for j in range(keys):
                out[i, cols] += weights[j] * v[j, cols]
    return out


def linear(x, layer):
    return x @ layer.weight.double().T + layer.bias.double()


def textbook_bert_row(model, ids, types):
    """BERT on one unpadded row in float64: embeddings, post-LN blocks, tanh pooler, head."""
    bert, eps = model.bert, 1e-12
    e = bert.embeddings
    t = len(ids)
    x = (e.word_embeddings.weight.double()[ids] + e.position_embeddings.weight.double()[:t]
         + e.token_type_embeddings.weight.double()[types])
    x = textbook_layer_norm(x, e.LayerNorm.weight.double(), e.LayerNorm.bias.double(), eps)
    for layer in bert.encoder.layer:
        a = layer.attention
        heads = a.self.heads
        y = linear(textbook_attention(x, a.self, heads, t), a.output.dense)
        x = textbook_layer_norm(x + y, a.output.LayerNorm.weight.double(), a.output.LayerNorm.bias.double(), eps)
        y = linear(textbook_gelu(linear(x, layer.intermediate.dense)), layer.output.dense)
        x = textbook_layer_norm(x + y, layer.output.LayerNorm.weight.double(), layer.output.LayerNorm.bias.double(),
                                eps)
    pooled = torch.tanh(linear(x[0], bert.pooler.dense))
    return x, linear(pooled, model.classifier)


def textbook_vit_image(model, pixels, patch):
    """ViT on one image (channels, height, width) in float64, patches cut out by hand and multiplied by the
    flattened kernel (channel, kernel row, kernel column: the order of Conv2d's weight)."""
    vit, eps = model.vit, 1e-12
    conv = vit.embeddings.patch_embeddings.projection
    kernel = conv.weight.double().reshape(conv.weight.shape[0], -1)
    _, height, width = pixels.shape
    rows = []
    for r in range(0, height, patch):
        for c in range(0, width, patch):
            rows.append(pixels[:, r:r + patch, c:c + patch].double().reshape(-1) @ kernel.T + conv.bias.double())
    x = (torch.cat([vit.embeddings.cls_token.double()[0], torch.stack(rows)])
         + vit.embeddings.position_embeddings.double()[0])
    t = x.shape[0]
    for layer in vit.encoder.layer:
        h = textbook_layer_norm(x, layer.layernorm_before.weight.double(), layer.layernorm_before.bias.double(), eps)
        sa = layer.attention.attention
        x = x + linear(textbook_attention(h, sa, sa.heads, t), layer.attention.output.dense)
        h = textbook_layer_norm(x, layer.layernorm_after.weight.double(), layer.layernorm_after.bias.double(), eps)
        x = x + linear(textbook_gelu(linear(h, layer.intermediate.dense)), layer.output.dense)
    x = textbook_layer_norm(x, vit.layernorm.weight.double(), vit.layernorm.bias.double(), eps)
    return linear(x[0], model.classifier)


def textbook_adamw(param, grad, step, lr, betas, eps, decay):
    """One AdamW step from zero moments (Loshchilov and Hutter: decay applied to the weight, not the gradient)."""
    m = (1 - betas[0]) * grad
    v = (1 - betas[1]) * grad * grad
    m_hat = m / (1 - betas[0] ** step)
    v_hat = v / (1 - betas[1] ** step)
    return param * (1 - lr * decay) - lr * m_hat / (torch.sqrt(v_hat) + eps)


def randomize_for_checks(model, seed):
    """Weights that make every textbook detail visible, where Hugging Face's N(0, 0.02) hides them: projections of
    std 1/sqrt(fan-in), so attention is far from uniform and GELU meets inputs of either sign around 1 (its tanh
    approximation then differs by ~1e-3); LayerNorm scales and shifts away from 1 and 0; embedding tables, class
    token and position table of std 0.01, so the first LayerNorm sees a variance near 3e-4, where an eps of 1e-5
    instead of 1e-12 moves its output by a few percent."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Linear, nn.Conv2d)):
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) / math.sqrt(m.weight[0].numel()))
                m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=g))
            elif isinstance(m, nn.LayerNorm):
                m.weight.copy_(1 + 0.3 * torch.randn(m.weight.shape, generator=g))
                m.bias.copy_(0.3 * torch.randn(m.bias.shape, generator=g))
            elif isinstance(m, nn.Embedding):
                m.weight.copy_(0.01 * torch.randn(m.weight.shape, generator=g))
            elif isinstance(m, ViTEmbeddings):
                m.cls_token.copy_(0.01 * torch.randn(m.cls_token.shape, generator=g))
                m.position_embeddings.copy_(0.01 * torch.randn(m.position_embeddings.shape, generator=g))
    return model


def run_checks(attention_names):
    """Tiny BERT (vocab 101, context 13, dim 48, heads 3, rows of lengths 13, 7 and 1) and tiny ViT (8x6 image,
    2x2 patches, 3 channels) against the textbook functions above; returns the number of failed comparisons."""
    checks = Checks()
    text = TextShape(layers=2, dim=48, heads=3, hidden=64, context=13, vocab=101, type_vocab=2, classes=3)
    image = ImageShape(layers=2, dim=24, heads=3, hidden=40, image=(8, 6), patch=2, channels=3, classes=4)
    lengths = [13, 7, 1]
    tol = 2e-5  # float32 against float64 through two layers at these sizes: observed errors stay under 1e-6

    checks.equal("BERT N_matmul, counted from modules vs closed form",
                 matmul_params(BertClassifier(text, attention_matmul)), text_matmul_params(text))
    checks.equal("ViT N_matmul, counted from modules vs closed form",
                 matmul_params(ViTClassifier(image, attention_matmul)), image_matmul_params(image))
    full = TextShape()
    checks.equal("BERT N_matmul at the benchmark shape", matmul_params(BertClassifier(full, attention_matmul)),
                 text_matmul_params(full))
    vit = ImageShape()
    checks.equal("ViT-Tiny N_matmul at the benchmark shape", matmul_params(ViTClassifier(vit, attention_matmul)),
                 image_matmul_params(vit))

    g = torch.Generator().manual_seed(8)
    ids = torch.randint(text.vocab, (len(lengths), text.context), generator=g)
    types = torch.randint(text.type_vocab, (len(lengths), text.context), generator=g)
    mask = padding_mask(lengths, text.context)
    for name in attention_names:
        attend = ATTENTION[name]
        print(f"attention: {name}")
        model = randomize_for_checks(BertClassifier(text, attend), 7).eval()
        with torch.no_grad():
            # Attention with the padding mask against the per-row, per-head, per-query loop.
            sa = model.bert.encoder.layer[0].attention.self
            x = torch.randn(len(lengths), text.context, text.dim, generator=g)
            got = sa(x, mask)
            for row, n in enumerate(lengths):
                checks.close(f"masked attention, row of length {n}, vs explicit loop", got[row],
                             textbook_attention(x[row].double(), sa, sa.heads, n), tol)
            # The whole padded batch against each row run alone at its own length.
            hidden, pooled = model.bert(ids, types, mask)
            logits = model.classifier(pooled)
            for row, n in enumerate(lengths):
                want_hidden, want_logits = textbook_bert_row(model, ids[row, :n], types[row, :n])
                checks.close(f"BERT hidden states, row of length {n}, vs unpadded textbook BERT", hidden[row, :n],
                             want_hidden, tol)
                checks.close(f"BERT logits, row of length {n}, vs unpadded textbook BERT", logits[row],
                             want_logits, tol)
            # Padding positions change nothing: fill them with other tokens and types.
            noisy_ids, noisy_types = ids.clone(), types.clone()
            for row, n in enumerate(lengths):
                noisy_ids[row, n:] = torch.randint(text.vocab, (text.context - n,), generator=g)
                noisy_types[row, n:] = 1 - noisy_types[row, n:]
            checks.close("BERT logits with other tokens in the padding", model(noisy_ids, noisy_types, mask),
                         logits, 0.0)

            vit_model = randomize_for_checks(ViTClassifier(image, attend), 9).eval()
            pixels = torch.randn(2, image.channels, *image.image, generator=g)
            got = vit_model(pixels)
            for i in range(pixels.shape[0]):
                checks.close(f"ViT logits, image {i}, vs textbook ViT (patches cut by hand)", got[i],
                             textbook_vit_image(vit_model, pixels[i], image.patch), tol)

    # The training step: cross-entropy by its definition, and one AdamW step by its formula, on the tiny BERT.
    model = randomize_for_checks(BertClassifier(text, attention_matmul), 7)
    labels = torch.tensor([0, 2, 1])
    optimizer = make_optimizer(model)
    optimizer.zero_grad(set_to_none=True)
    logits = model(ids, types, mask)
    loss = F.cross_entropy(logits, labels)
    log_p = logits.double().log_softmax(-1)
    checks.close("cross-entropy vs mean of -log softmax[label]", loss,
                 -log_p[torch.arange(3), labels].mean(), 1e-6)
    loss.backward()
    before = {n: (p.detach().double().clone(), p.grad.double().clone()) for n, p in model.named_parameters()}
    optimizer.step()
    group = optimizer.param_groups[0]
    # Relative to the parameter (or to lr, the size of one step, where the parameter is near 0): float32 rounds the
    # update a few times, a few ulps (2^-23 each); a coupled decay or another hyperparameter is off by >= 1e-5.
    worst_name, worst = None, -1.0
    for n, p in model.named_parameters():
        want = textbook_adamw(*before[n], 1, group["lr"], group["betas"], group["eps"], group["weight_decay"])
        diff = ((p.detach().double() - want).abs() / want.abs().clamp(min=group["lr"])).max().item()
        if diff > worst:
            worst_name, worst = n, diff
    checks.close(f"AdamW step vs its formula, relative, every parameter (worst: {worst_name})", torch.tensor(worst),
                 torch.tensor(0.0), 4 * 2.0 ** -23)

    if checks.failed:
        print(f"{len(checks.failed)} check(s) FAILED: " + "; ".join(checks.failed))
    else:
        print("all checks passed")
    return len(checks.failed)


# ---------------------------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------------------------

def positive_int(option):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{option} must be a whole number >= 1, got '{text}'")
        if value < 1:
            raise argparse.ArgumentTypeError(f"{option} must be a whole number >= 1, got {value}")
        return value
    return parse


def int_list(option):
    def parse(text):
        try:
            values = [int(part) for part in text.split(",")]
        except ValueError:
            raise argparse.ArgumentTypeError(f"{option} takes whole numbers separated by commas (e.g. 1,2), "
                                             f"got '{text}'")
        if any(v < 1 for v in values):
            raise argparse.ArgumentTypeError(f"{option} values must be >= 1, got '{text}'")
        return values
    return parse


def parse_args(argv):
    p = argparse.ArgumentParser(description="PyTorch reference timings for Unroll's BERT and ViT encoder "
                                            "benchmarks (float32, CPU).")
    p.add_argument("--model", choices=["text", "image", "all"], default="all",
                   help="text: BERT (layers 6, dim 384, heads 12, context 128); image: ViT-Tiny/16 at 224x224; "
                        "default all")
    p.add_argument("--threads", type=int_list("--threads"), default=[1, 2],
                   help="intra-op thread counts to time, comma-separated (default 1,2)")
    p.add_argument("--warmup", type=positive_int("--warmup"), default=3,
                   help="untimed iterations before each timed series (default 3)")
    p.add_argument("--iters", type=positive_int("--iters"), default=10,
                   help="timed inference iterations; the median is reported (default 10)")
    p.add_argument("--train-iters", type=positive_int("--train-iters"),
                   help="timed training steps (default: --iters)")
    p.add_argument("--batch", type=positive_int("--batch"), default=8, help="rows per batch, both models (default 8)")
    p.add_argument("--lengths", type=int_list("--lengths"),
                   help="text row lengths, one per row, each 1..128 (default: every row 128)")
    p.add_argument("--attention", choices=sorted(ATTENTION), default="matmul",
                   help="attention implementation (default matmul; sdpa needs torch 2.0 or later)")
    p.add_argument("--malloc", choices=["keep", "default"], default="keep",
                   help="keep: glibc keeps freed memory for reuse, as jemalloc or tcmalloc would (default); "
                        "default: glibc's own thresholds, which page-fault activations in again on every pass")
    p.add_argument("--seed", type=int, default=1234, help="seed for weights and inputs (default 1234)")
    p.add_argument("--json", metavar="FILE", help="also write the results as JSON to FILE")
    p.add_argument("--check", action="store_true",
                   help="check the models against textbook BERT and ViT math on tiny shapes, then exit")
    args = p.parse_args(argv)
    context = TextShape().context
    if args.lengths is None:
        args.lengths = [context] * args.batch
    elif len(args.lengths) != args.batch:
        p.error(f"--lengths gives {len(args.lengths)} lengths but --batch is {args.batch}: give one per row")
    elif any(n > context for n in args.lengths):
        p.error(f"--lengths values must be at most the context, {context}; got {args.lengths}")
    if args.attention == "sdpa" and not sdpa_available():
        p.error(f"--attention sdpa needs torch.nn.functional.scaled_dot_product_attention (torch 2.0 or later); "
                f"this is torch {torch.__version__}: use --attention matmul")
    if args.json is not None:
        folder = os.path.dirname(os.path.abspath(args.json))
        if not os.path.isdir(folder) or not os.access(folder, os.W_OK):
            p.error(f"--json {args.json}: folder {folder} does not exist or is not writable")
    if args.train_iters is None:
        args.train_iters = args.iters
    return args


def write_json_atomically(path, data):
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".encoders-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=2)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def main(argv):
    args = parse_args(argv)
    if args.check:
        names = ["matmul"] + (["sdpa"] if sdpa_available() else [])
        return 1 if run_checks(names) else 0

    malloc = "glibc defaults"
    if args.malloc == "keep":
        malloc = "glibc, keeps freed memory" if keep_freed_memory() else "unchanged (mallopt not available)"
    torch.set_num_interop_threads(1)  # must precede any parallel work
    blas = Blas()
    text_shape, image_shape = TextShape(), ImageShape()
    cases = []
    if args.model in ("text", "all"):
        cases.append(text_case(text_shape, args.batch, args.lengths, ATTENTION[args.attention], args.seed))
    if args.model in ("image", "all"):
        cases.append(image_case(image_shape, args.batch, ATTENTION[args.attention], args.seed))

    print(f"torch {torch.__version__}, python {platform.python_version()}, float32, attention {args.attention}")
    print(f"CPU: {cpu_model()}, avx512f {'yes' if cpu_flag('avx512f') else 'no'}, {os.cpu_count()} CPUs")
    print(f"BLAS: {blas.describe()}; OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}; "
          f"torch kernels: {torch_cpu_capability()}; malloc: {malloc}")
    print(f"FLOPs: {FORMULA}")
    for c in cases:
        print(f"  {c.model_name}: batch {c.batch}, T {c.t}, layers {c.layers}, dim {c.dim}, N_matmul {c.n_matmul:,}"
              f" -> forward {c.flops_forward / 1e9:.3f} GFLOP, training step {3 * c.flops_forward / 1e9:.3f} GFLOP")
    if args.model in ("text", "all"):
        print(f"  text row lengths: {','.join(map(str, args.lengths))}")
    print(f"warm-up {args.warmup}, timed iterations {args.iters} (inference) and {args.train_iters} (training); "
          "median of per-iteration times")
    print()
    header = f"{'model':<6} {'mode':<10} {'threads':>7} {'median ms':>10} {'items/s':>9} {'steps/s':>8} " \
             f"{'GFLOP/s':>8} {'min ms':>9} {'max ms':>9} {'cores':>7}"
    print(header)
    print("-" * len(header))

    results = []
    for c in cases:
        for mode, make, iters, flops in (("inference", inference_step, args.iters, c.flops_forward),
                                         ("training", training_step, args.train_iters, 3 * c.flops_forward)):
            for n in args.threads:
                set_threads(n, blas)
                times, cpu = time_step(make(c), args.warmup, iters)
                median = statistics.median(times)
                # The share of n cores the process held while timed: near 100% on an idle machine (OpenMP threads
                # spin a while before they sleep, so short waits count), well under it when other work took them.
                cores_held = 100 * cpu / (sum(times) * n)
                row = {"model": c.model_name, "mode": mode, "threads": n, "median_ms": median * 1e3,
                       "min_ms": min(times) * 1e3, "max_ms": max(times) * 1e3, "iters": iters,
                       "warmup": args.warmup, "batch": c.batch, "tokens_per_row": c.t, "item": c.item,
                       "items_per_s": c.batch / median, "steps_per_s": 1 / median, "flops": flops,
                       "gflops": flops / median / 1e9, "cpu_share_percent": cores_held}
                results.append(row)
                print(f"{c.model_name:<6} {mode:<10} {n:>7} {row['median_ms']:>10.2f} {row['items_per_s']:>9.2f} "
                      f"{row['steps_per_s']:>8.3f} {row['gflops']:>8.2f} {row['min_ms']:>9.2f} "
                      f"{row['max_ms']:>9.2f} {cores_held:>6.0f}%", flush=True)
    print("(items: sentences for text, images for image; cores: CPU time the process got while timed, as a share of "
          "the threads' cores - well under 100% means other work shared the cores and the row is slower than the "
          "machine)")

    if args.json:
        write_json_atomically(args.json, {
            "torch": torch.__version__, "python": platform.python_version(), "cpu": cpu_model(),
            "avx512f": cpu_flag("avx512f"), "cpus": os.cpu_count(), "blas": blas.path, "openblas_core": blas.core,
            "openblas_coretype_env": os.environ.get("OPENBLAS_CORETYPE"),
            "torch_cpu_capability": torch_cpu_capability(), "malloc": malloc, "attention": args.attention,
            "lengths": args.lengths, "seed": args.seed, "flop_formula": FORMULA, "results": results})
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
