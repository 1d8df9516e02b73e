// Unroll's OpenCL C op library. The processor's kernel catalogue (dev.unroll.processor.kernel.Kernel) names every
// function here with its phases and work sizes; KernelCatalogueTest checks the two against each other.
//
// For each method K of dev.unroll.runtime.kernel.Kernels, one or more plain functions uk_K<suffix>: the method's
// parameters in order, each (array, offset) pair as one __global pointer already offset, each int as an int, and,
// when the phase uses it, a __local float* scratch last (its size and every work size come from the catalogue).
// A kernel of several phases has one function per phase, all with the same parameters, enqueued in order on an
// in-order queue. Each computes what ScalarKernels computes; no atomics: every output element is written by one
// work-item per phase, and every sum runs in an order fixed by the work sizes, so results are reproducible.
// Backward functions accumulate (+=) into their gradients, like the Java kernels.

// Side of a 2-D work-group (16 x 16 items).
#define UK_TILE 16
// uk_gemm: 64 x 64 outputs per work-group, k in steps of 16, rows of 66 floats for the staged b (see there); the
// catalogue's OpenClGeometry holds the same numbers (checked by KernelCatalogueTest).
#define UK_GEMM_T 64
#define UK_GEMM_TK 16
#define UK_GEMM_LDB 66
// The initial running maximum of llm.c's softmaxes.
#define UK_MAX_START -10000.0f
// sqrtf(2.0f / M_PI) as llm.c writes it (ScalarKernels.GELU_SCALING_FACTOR), bit for bit.
#define UK_GELU_SCALE 0x1.988452p-1f
#define UK_GELU_CUBE 0.044715f
// The exact GELU's 1/sqrt(2) and the normal density's 1/sqrt(2 pi).
#define UK_INV_SQRT2 0.70710678118654752f
#define UK_INV_SQRT_2PI 0.39894228040143268f
#define UK_RMSNORM_EPS 1e-5f

// ---------------------------------------------------------------------------------------------------------------
// Work-group reductions over dimension 0, whose size is a power of two; scratch holds one float per item (two for
// uk_group_sum2). Every item gets the result; the scratch may be reused afterwards.

float uk_group_sum(float v, __local float* s) {
  int lid = get_local_id(0);
  s[lid] = v;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int span = (int) get_local_size(0) / 2; span > 0; span >>= 1) {
    if (lid < span) {
      s[lid] += s[lid + span];
    }
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  float total = s[0];
  barrier(CLK_LOCAL_MEM_FENCE);
  return total;
}

float2 uk_group_sum2(float2 v, __local float* s) {
  int lid = get_local_id(0);
  int n = (int) get_local_size(0);
  s[lid] = v.x;
  s[n + lid] = v.y;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int span = n / 2; span > 0; span >>= 1) {
    if (lid < span) {
      s[lid] += s[lid + span];
      s[n + lid] += s[n + lid + span];
    }
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  float2 total = (float2) (s[0], s[n]);
  barrier(CLK_LOCAL_MEM_FENCE);
  return total;
}

float uk_group_max(float v, __local float* s) {
  int lid = get_local_id(0);
  s[lid] = v;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int span = (int) get_local_size(0) / 2; span > 0; span >>= 1) {
    if (lid < span && s[lid + span] > s[lid]) {
      s[lid] = s[lid + span];
    }
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  float m = s[0];
  barrier(CLK_LOCAL_MEM_FENCE);
  return m;
}

// 1/sqrt(hs), the attention scale.
float uk_attention_scale(int hs) {
  return 1.0f / sqrt((float) hs);
}

// ---------------------------------------------------------------------------------------------------------------
// Element-wise ops: one item per element (dimension 0), ids past the end do nothing.

void uk_encoderForward(__global float* out, __global const int* inp, __global const float* wte,
    __global const float* wpe, int B, int T, int C) {
  int i = get_global_id(0);
  if (i >= B * T * C) {
    return;
  }
  int n = i / C;
  int c = i - n * C;
  out[i] = wte[inp[n] * C + c] + wpe[(n % T) * C + c];
}

void uk_embeddingForward(__global float* out, __global const int* inp, __global const float* emb, int N, int C) {
  int i = get_global_id(0);
  if (i >= N * C) {
    return;
  }
  int n = i / C;
  out[i] = emb[inp[n] * C + (i - n * C)];
}

void uk_copy(__global float* dst, __global const float* src, int n) {
  int i = get_global_id(0);
  if (i < n) {
    dst[i] = src[i];
  }
}

void uk_zero(__global float* a, int n) {
  int i = get_global_id(0);
  if (i < n) {
    a[i] = 0.0f;
  }
}

void uk_copyRows(__global float* dst, int dstStride, __global const float* src, int srcStride, int rows,
    int width) {
  int i = get_global_id(0);
  if (i >= rows * width) {
    return;
  }
  int r = i / width;
  int c = i - r * width;
  dst[r * dstStride + c] = src[r * srcStride + c];
}

void uk_residualForward(__global float* out, __global const float* inp1, __global const float* inp2, int N) {
  int i = get_global_id(0);
  if (i < N) {
    out[i] = inp1[i] + inp2[i];
  }
}

void uk_residualBackward(__global float* dinp1, __global float* dinp2, __global const float* dout, int N) {
  int i = get_global_id(0);
  if (i < N) {
    dinp1[i] += dout[i];
    dinp2[i] += dout[i];
  }
}

void uk_geluForward(__global float* out, __global const float* inp, int N) {
  int i = get_global_id(0);
  if (i >= N) {
    return;
  }
  float x = inp[i];
  float cube = UK_GELU_CUBE * x * x * x;
  out[i] = 0.5f * x * (1.0f + tanh(UK_GELU_SCALE * (x + cube)));
}

void uk_geluBackward(__global float* dinp, __global const float* inp, __global const float* dout, int N) {
  int i = get_global_id(0);
  if (i >= N) {
    return;
  }
  float x = inp[i];
  float cube = UK_GELU_CUBE * x * x * x;
  float tanhArg = UK_GELU_SCALE * (x + cube);
  float tanhOut = tanh(tanhArg);
  float coshOut = cosh(tanhArg);
  float sechOut = 1.0f / (coshOut * coshOut);
  float localGrad = 0.5f * (1.0f + tanhOut)
      + x * 0.5f * sechOut * UK_GELU_SCALE * (1.0f + 3.0f * UK_GELU_CUBE * x * x);
  dinp[i] += localGrad * dout[i];
}

// The exact GELU, x Phi(x) with OpenCL's erf.
void uk_geluErfForward(__global float* out, __global const float* inp, int N) {
  int i = get_global_id(0);
  if (i >= N) {
    return;
  }
  float x = inp[i];
  out[i] = x * 0.5f * (1.0f + erf(x * UK_INV_SQRT2));
}

// dinp += dout (Phi(x) + x phi(x)), phi the normal density.
void uk_geluErfBackward(__global float* dinp, __global const float* inp, __global const float* dout, int N) {
  int i = get_global_id(0);
  if (i >= N) {
    return;
  }
  float x = inp[i];
  float cdf = 0.5f * (1.0f + erf(x * UK_INV_SQRT2));
  float pdf = exp(-0.5f * x * x) * UK_INV_SQRT_2PI;
  dinp[i] += (cdf + x * pdf) * dout[i];
}

void uk_tanhForward(__global float* out, __global const float* inp, int N) {
  int i = get_global_id(0);
  if (i < N) {
    out[i] = tanh(inp[i]);
  }
}

// From the forward's output: dinp += dout (1 - out^2).
void uk_tanhBackward(__global float* dinp, __global const float* out, __global const float* dout, int N) {
  int i = get_global_id(0);
  if (i < N) {
    float y = out[i];
    dinp[i] += dout[i] * (1.0f - y * y);
  }
}

// One item per pixel of (B, CH, H, W): it lands in patch (y / PH, x / PW) at (ch, y % PH, x % PW).
void uk_patches(__global float* out, __global const float* pixels, int B, int CH, int H, int W, int PH, int PW) {
  int i = get_global_id(0);
  if (i >= B * CH * H * W) {
    return;
  }
  int x = i % W;
  int y = (i / W) % H;
  int ch = (i / (W * H)) % CH;
  int b = i / (W * H * CH);
  int gw = W / PW;
  int p = (y / PH) * gw + x / PW;
  int np = (H / PH) * gw;
  out[(b * np + p) * (CH * PH * PW) + (ch * PH + y % PH) * PW + x % PW] = pixels[i];
}

// One item per element of out (B, NP+1, C): the class token or a patch, plus the position.
void uk_classTokenForward(__global float* out, __global const float* patches, __global const float* cls,
    __global const float* pos, int B, int NP, int C) {
  int i = get_global_id(0);
  if (i >= B * (NP + 1) * C) {
    return;
  }
  int c = i % C;
  int t = (i / C) % (NP + 1);
  int b = i / (C * (NP + 1));
  out[i] = (t == 0 ? cls[c] : patches[(b * NP + t - 1) * C + c]) + pos[t * C + c];
}

void uk_swigluForward(__global float* out, __global const float* gate, __global const float* up, int N) {
  int i = get_global_id(0);
  if (i >= N) {
    return;
  }
  float g = gate[i];
  float val = g * (1.0f / (1.0f + exp(-g)));
  out[i] = val * up[i];
}

void uk_swigluBackward(__global float* dgate, __global float* dup, __global const float* dout,
    __global const float* gate, __global const float* up, int N) {
  int i = get_global_id(0);
  if (i >= N) {
    return;
  }
  float g = gate[i];
  float sig = 1.0f / (1.0f + exp(-g));
  float silu = g * sig;
  float d = dout[i];
  dgate[i] += d * up[i] * (sig * (1.0f + g * (1.0f - sig)));
  dup[i] += d * silu;
}

// One item per rotated pair: rows * (width / 2) items.
void uk_rope(__global float* x, int rows, int stride, int width, int hs, int T, int pos0, int sign) {
  int pairs = width / 2;
  int id = get_global_id(0);
  if (id >= rows * pairs) {
    return;
  }
  int r = id / pairs;
  int i = 2 * (id - r * pairs);
  int pos = pos0 + r % T;
  int headDim = i % hs;
  float freq = 1.0f / pow(10000.0f, headDim / (float) hs);
  float val = pos * freq;
  float fcr = cos(val);
  float fci = sign * sin(val);
  __global float* p = x + r * stride + i;
  float v0 = p[0];
  float v1 = p[1];
  p[0] = v0 * fcr - v1 * fci;
  p[1] = v0 * fci + v1 * fcr;
}

// One item per row.
void uk_crossEntropyForward(__global float* losses, __global const float* probs, __global const int* targets,
    int N, int Vp) {
  int n = get_global_id(0);
  if (n < N) {
    losses[n] = -log(probs[n * Vp + targets[n]]);
  }
}

// Dimension 0 over the first V columns, dimension 1 over the N rows; padded columns are left alone.
void uk_crossEntropySoftmaxBackward(__global float* dlogits, __global const float* probs,
    __global const int* targets, int N, int V, int Vp) {
  int i = get_global_id(0);
  int n = get_global_id(1);
  if (i >= V || n >= N) {
    return;
  }
  float dloss = 1.0f / N;
  float indicator = i == targets[n] ? 1.0f : 0.0f;
  dlogits[n * Vp + i] += (probs[n * Vp + i] - indicator) * dloss;
}

// ---------------------------------------------------------------------------------------------------------------
// Scatters into embedding tables: one item per channel, walking the tokens in order, so that a row hit by several
// tokens is summed in the reference's order and by one item.

void uk_encoderBackward_dwte(__global float* dwte, __global float* dwpe, __global const float* dout,
    __global const int* inp, int B, int T, int C) {
  int c = get_global_id(0);
  if (c >= C) {
    return;
  }
  for (int n = 0; n < B * T; n++) {
    dwte[inp[n] * C + c] += dout[n * C + c];
  }
}

// One item per (t, c): dwpe[t, c] += dout[b, t, c] for b in order.
void uk_encoderBackward_dwpe(__global float* dwte, __global float* dwpe, __global const float* dout,
    __global const int* inp, int B, int T, int C) {
  int i = get_global_id(0);
  if (i >= T * C) {
    return;
  }
  float acc = dwpe[i];
  for (int b = 0; b < B; b++) {
    acc += dout[b * T * C + i];
  }
  dwpe[i] = acc;
}

// One item per element of dpatches (B, NP, C): dpatches[b, p] += dout[b, 1 + p].
void uk_classTokenBackward_dpatches(__global float* dpatches, __global float* dcls, __global float* dpos,
    __global const float* dout, int B, int NP, int C) {
  int i = get_global_id(0);
  if (i >= B * NP * C) {
    return;
  }
  int b = i / (NP * C);
  dpatches[i] += dout[i + (b + 1) * C];
}

// One item per (t, c) of pos: dpos[t, c] (and, at t = 0, dcls[c]) += dout[b, t, c] for b in order.
void uk_classTokenBackward_dparams(__global float* dpatches, __global float* dcls, __global float* dpos,
    __global const float* dout, int B, int NP, int C) {
  int i = get_global_id(0);
  if (i >= (NP + 1) * C) {
    return;
  }
  float acc = dpos[i];
  for (int b = 0; b < B; b++) {
    acc += dout[b * (NP + 1) * C + i];
  }
  dpos[i] = acc;
  if (i < C) {
    float accCls = dcls[i];
    for (int b = 0; b < B; b++) {
      accCls += dout[b * (NP + 1) * C + i];
    }
    dcls[i] = accCls;
  }
}

void uk_embeddingBackward(__global float* demb, __global const float* dout, __global const int* inp, int N,
    int C) {
  int c = get_global_id(0);
  if (c >= C) {
    return;
  }
  for (int n = 0; n < N; n++) {
    demb[inp[n] * C + c] += dout[n * C + c];
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Normalisations and the softmax: one work-group per row (group id in dimension 0), its items striding over the
// row, sums by uk_group_sum. The per-channel gradients of the weights: one item per channel walking the rows.

void uk_layernormForward(__global float* out, __global float* mean, __global float* rstd,
    __global const float* inp, __global const float* weight, __global const float* bias, int N, int C, float eps,
    __local float* scratch) {
  int n = get_group_id(0);
  int lid = get_local_id(0);
  int L = get_local_size(0);
  __global const float* x = inp + n * C;
  float s = 0.0f;
  for (int i = lid; i < C; i += L) {
    s += x[i];
  }
  float m = uk_group_sum(s, scratch) / C;
  float v = 0.0f;
  for (int i = lid; i < C; i += L) {
    float xshift = x[i] - m;
    v += xshift * xshift;
  }
  v = uk_group_sum(v, scratch) / C;
  float r = 1.0f / sqrt(v + eps);
  __global float* o = out + n * C;
  for (int i = lid; i < C; i += L) {
    float norm = r * (x[i] - m);
    o[i] = norm * weight[i] + bias[i];
  }
  if (lid == 0) {
    mean[n] = m;
    rstd[n] = r;
  }
}

void uk_layernormBackward_dinp(__global float* dinp, __global float* dweight, __global float* dbias,
    __global const float* dout, __global const float* inp, __global const float* weight,
    __global const float* mean, __global const float* rstd, int N, int C, __local float* scratch) {
  int n = get_group_id(0);
  int lid = get_local_id(0);
  int L = get_local_size(0);
  __global const float* x = inp + n * C;
  __global const float* d = dout + n * C;
  float m = mean[n];
  float s = rstd[n];
  float2 sums = (float2) (0.0f, 0.0f);
  for (int i = lid; i < C; i += L) {
    float norm = (x[i] - m) * s;
    float dnorm = weight[i] * d[i];
    sums.x += dnorm;
    sums.y += dnorm * norm;
  }
  sums = uk_group_sum2(sums, scratch);
  float dnormMean = sums.x / C;
  float dnormNormMean = sums.y / C;
  __global float* di = dinp + n * C;
  for (int i = lid; i < C; i += L) {
    float norm = (x[i] - m) * s;
    float dval = weight[i] * d[i];
    dval -= dnormMean;
    dval -= norm * dnormNormMean;
    dval *= s;
    di[i] += dval;
  }
}

void uk_layernormBackward_dparams(__global float* dinp, __global float* dweight, __global float* dbias,
    __global const float* dout, __global const float* inp, __global const float* weight,
    __global const float* mean, __global const float* rstd, int N, int C) {
  int c = get_global_id(0);
  if (c >= C) {
    return;
  }
  float dw = dweight[c];
  float db = dbias[c];
  for (int n = 0; n < N; n++) {
    float g = dout[n * C + c];
    float norm = (inp[n * C + c] - mean[n]) * rstd[n];
    db += g;
    dw += norm * g;
  }
  dweight[c] = dw;
  dbias[c] = db;
}

void uk_rmsnormForward(__global float* out, __global float* rstd, __global const float* inp,
    __global const float* weight, int N, int C, __local float* scratch) {
  int n = get_group_id(0);
  int lid = get_local_id(0);
  int L = get_local_size(0);
  __global const float* x = inp + n * C;
  float ss = 0.0f;
  for (int i = lid; i < C; i += L) {
    ss += x[i] * x[i];
  }
  ss = uk_group_sum(ss, scratch) / C;
  ss += UK_RMSNORM_EPS;
  float s = 1.0f / sqrt(ss);
  __global float* o = out + n * C;
  for (int i = lid; i < C; i += L) {
    o[i] = weight[i] * (s * x[i]);
  }
  if (lid == 0) {
    rstd[n] = s;
  }
}

void uk_rmsnormBackward_dinp(__global float* dinp, __global float* dweight, __global const float* dout,
    __global const float* inp, __global const float* weight, __global const float* rstd, int N, int C,
    __local float* scratch) {
  int n = get_group_id(0);
  int lid = get_local_id(0);
  int L = get_local_size(0);
  __global const float* x = inp + n * C;
  __global const float* d = dout + n * C;
  float s = rstd[n];
  float dot = 0.0f;
  for (int i = lid; i < C; i += L) {
    dot += d[i] * weight[i] * x[i];
  }
  dot = uk_group_sum(dot, scratch);
  float k = dot * s * s * s / C;
  __global float* di = dinp + n * C;
  for (int i = lid; i < C; i += L) {
    di[i] += s * weight[i] * d[i] - k * x[i];
  }
}

void uk_rmsnormBackward_dweight(__global float* dinp, __global float* dweight, __global const float* dout,
    __global const float* inp, __global const float* weight, __global const float* rstd, int N, int C) {
  int c = get_global_id(0);
  if (c >= C) {
    return;
  }
  float dw = dweight[c];
  for (int n = 0; n < N; n++) {
    dw += dout[n * C + c] * (rstd[n] * inp[n * C + c]);
  }
  dweight[c] = dw;
}

// Softmax over the first V of each row of Vp; the padding is set to 0.
void uk_softmaxForward(__global float* probs, __global const float* logits, int N, int V, int Vp,
    __local float* scratch) {
  int n = get_group_id(0);
  int lid = get_local_id(0);
  int L = get_local_size(0);
  __global const float* x = logits + n * Vp;
  __global float* p = probs + n * Vp;
  float maxval = UK_MAX_START;
  for (int i = lid; i < V; i += L) {
    if (x[i] > maxval) {
      maxval = x[i];
    }
  }
  maxval = uk_group_max(maxval, scratch);
  float sum = 0.0f;
  for (int i = lid; i < V; i += L) {
    float e = exp(x[i] - maxval);
    p[i] = e;
    sum += e;
  }
  sum = uk_group_sum(sum, scratch);
  for (int i = lid; i < V; i += L) {
    p[i] = p[i] / sum;
  }
  for (int i = V + lid; i < Vp; i += L) {
    p[i] = 0.0f;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Matrix products. One tiled GEMM serves the forward product and both backward products:
//   out[m * ldo + j] = init + sum over k < K, in order, of a(m, k) * b(j, k),   m < M, j < NN,
// with a(m, k) = A[m * am + k * ak] and b(j, k) = Bf[j * bn + k * bk] (or the bfloat16 Bh there when Bf is 0),
// init = out's own value when accumulating, else bias[j] (0 without bias).
//
// Work-groups of 16 x 16 items (dimension 0 along j, dimension 1 along m) over 64 x 64 output tiles: item (lx, ly)
// owns the 16 outputs at rows m0 + ly + 16p and columns j0 + lx + 16q (p, q < 4), so that neighbouring items own
// neighbouring columns (coalesced stores on GPUs, vector lanes on CPUs). k advances in steps of 16: the 64 x 16
// blocks of a and b pass through local memory (scratch: 64 * 16 + 16 * 66 floats), each item moving 4 floats of
// each, the items of a row of the work-group along the source's contiguous direction (16 consecutive k of one row,
// or 64 consecutive rows at one k), zero past the edges (adding 0 * 0 changes no sum); then every item adds its
// 16 x 4 x 4 products from there: two barriers per 64 * 64 * 16 multiply-adds. The a block keeps the source's
// layout (as[m][k], rows of 16, when ak == 1, else as[k][m], rows of 64): the items of a row of the work-group all
// read the same a. The b block is bs[k][j] in rows of 66, transposed on the way in when bk == 1 (66 so that the
// transposing stores of a GPU warp fall in distinct banks). As each output is summed in k order from its initial
// value, the result is the reference's loop, product by product; edge tests are known true at compile time when M,
// NN or K is a multiple of the tile.
//
// Written so that PoCL (OpenCL on the CPU, which runs the items of a work-group as a loop between barriers and
// vectorises that loop along dimension 0) gets contiguous vector loads too: the 16 sums are named scalars (a
// private array is kept item by item, not contiguous across items); the local addresses that depend on the item are
// computed after each barrier from get_local_id plus an opaque zero (k0 >> 30 or 29, 0 for any real K), because an
// address computed once before the loop is kept per item across the barrier and read back as a gather; and the
// inner loop finishes columns 0 and 1 before 2 and 3, so that 8 sums, not 16, are live at a time (16 spill on
// AVX2; the second pass reloads the same a, which any compiler folds into the first).

float uk_weight(__global const float* Bf, __global const ushort* Bh, int i) {
  return Bf != 0 ? Bf[i] : as_float(((uint) Bh[i]) << 16);
}

// The 16 sums of an item: c<p><q> for row m0 + ly + 16p, column j0 + lx + 16q.
#define UK_GEMM_ROW(X, p) X(p, 0) X(p, 1) X(p, 2) X(p, 3)
#define UK_GEMM_ALL(X) UK_GEMM_ROW(X, 0) UK_GEMM_ROW(X, 1) UK_GEMM_ROW(X, 2) UK_GEMM_ROW(X, 3)
#define UK_GEMM_M(p) (m0 + ly + UK_TILE * (p))
#define UK_GEMM_J(q) (j0 + lx + UK_TILE * (q))
#define UK_GEMM_IN(p, q) ((M % UK_GEMM_T == 0 || UK_GEMM_M(p) < M) && (NN % UK_GEMM_T == 0 || UK_GEMM_J(q) < NN))
#define UK_GEMM_START(p, q) float c##p##q = !UK_GEMM_IN(p, q) ? 0.0f : accumulate \
    ? out[UK_GEMM_M(p) * ldo + UK_GEMM_J(q)] : (bias != 0 ? bias[UK_GEMM_J(q)] : 0.0f);
#define UK_GEMM_MAC(p, q) c##p##q += a##p * b##q;
#define UK_GEMM_PUT(p, q) if (UK_GEMM_IN(p, q)) { out[UK_GEMM_M(p) * ldo + UK_GEMM_J(q)] = c##p##q; }

void uk_gemm(__global float* out, int ldo, __global const float* A, int am, int ak, __global const float* Bf,
    __global const ushort* Bh, int bn, int bk, __global const float* bias, int accumulate, int M, int NN, int K,
    __local float* scratch) {
  int lx = get_local_id(0);
  int ly = get_local_id(1);
  int j0 = get_group_id(0) * UK_GEMM_T;
  int m0 = get_group_id(1) * UK_GEMM_T;
  __local float* as = scratch;
  __local float* bs = scratch + UK_GEMM_T * UK_GEMM_TK;
  // staging: along k, item (lx, ly) moves (row ly + 16e, k lx); across rows, (row (ly % 4) * 16 + lx, k ly / 4 + 4e)
  int rk0 = ly;
  int rr = (ly % 4) * UK_TILE + lx;
  int kr0 = ly / 4;
  UK_GEMM_ALL(UK_GEMM_START)
  for (int k0 = 0; k0 < K; k0 += UK_GEMM_TK) {
    size_t x = get_local_id(0) + (size_t) (k0 >> 30);
    size_t y = get_local_id(1) + (size_t) (k0 >> 30);
#pragma unroll
    for (int e = 0; e < 4; e++) {
      int rk = rk0 + UK_TILE * e;
      int kr = kr0 + 4 * e;
      if (ak == 1) {
        bool in = (M % UK_GEMM_T == 0 || m0 + rk < M) && (K % UK_GEMM_TK == 0 || k0 + lx < K);
        as[(y + UK_TILE * e) * UK_GEMM_TK + x] = in ? A[(m0 + rk) * am + k0 + lx] : 0.0f;
      } else {
        bool in = (M % UK_GEMM_T == 0 || m0 + rr < M) && (K % UK_GEMM_TK == 0 || k0 + kr < K);
        as[(y / 4 + 4 * e) * UK_GEMM_T + (y % 4) * UK_TILE + x] = in ? A[(m0 + rr) * am + (k0 + kr) * ak] : 0.0f;
      }
      if (bk == 1) {
        bool in = (NN % UK_GEMM_T == 0 || j0 + rk < NN) && (K % UK_GEMM_TK == 0 || k0 + lx < K);
        bs[x * UK_GEMM_LDB + y + UK_TILE * e] = in ? uk_weight(Bf, Bh, (j0 + rk) * bn + k0 + lx) : 0.0f;
      } else {
        bool in = (NN % UK_GEMM_T == 0 || j0 + rr < NN) && (K % UK_GEMM_TK == 0 || k0 + kr < K);
        bs[(y / 4 + 4 * e) * UK_GEMM_LDB + (y % 4) * UK_TILE + x] =
            in ? uk_weight(Bf, Bh, (j0 + rr) * bn + (k0 + kr) * bk) : 0.0f;
      }
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    x = get_local_id(0) + (size_t) (k0 >> 29);
    y = get_local_id(1) + (size_t) (k0 >> 29);
    __local const float* br = bs + x;
#pragma unroll
    for (int h = 0; h < 2; h++) {
#pragma unroll
      for (int k = 0; k < UK_GEMM_TK; k++) {
        float a0, a1, a2, a3;
        if (ak == 1) {
          __local const float* ar = as + y * UK_GEMM_TK + k;
          a0 = ar[0];
          a1 = ar[UK_TILE * UK_GEMM_TK];
          a2 = ar[2 * UK_TILE * UK_GEMM_TK];
          a3 = ar[3 * UK_TILE * UK_GEMM_TK];
        } else {
          __local const float* ar = as + k * UK_GEMM_T + y;
          a0 = ar[0];
          a1 = ar[UK_TILE];
          a2 = ar[2 * UK_TILE];
          a3 = ar[3 * UK_TILE];
        }
        if (h == 0) {
          float b0 = br[k * UK_GEMM_LDB];
          float b1 = br[k * UK_GEMM_LDB + UK_TILE];
          UK_GEMM_MAC(0, 0) UK_GEMM_MAC(0, 1) UK_GEMM_MAC(1, 0) UK_GEMM_MAC(1, 1)
          UK_GEMM_MAC(2, 0) UK_GEMM_MAC(2, 1) UK_GEMM_MAC(3, 0) UK_GEMM_MAC(3, 1)
        } else {
          float b2 = br[k * UK_GEMM_LDB + 2 * UK_TILE];
          float b3 = br[k * UK_GEMM_LDB + 3 * UK_TILE];
          UK_GEMM_MAC(0, 2) UK_GEMM_MAC(0, 3) UK_GEMM_MAC(1, 2) UK_GEMM_MAC(1, 3)
          UK_GEMM_MAC(2, 2) UK_GEMM_MAC(2, 3) UK_GEMM_MAC(3, 2) UK_GEMM_MAC(3, 3)
        }
      }
    }
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  UK_GEMM_ALL(UK_GEMM_PUT)
}

// A few rows (decoding): one work-group per output (group ids: dimension 1 the output column o, dimension 2 the
// row n), its items striding over the C inputs, then a tree sum; reads the weights at full width.
void uk_gemv(__global float* out, __global const float* inp, __global const float* Bf, __global const ushort* Bh,
    __global const float* bias, int C, int OC, __local float* scratch) {
  int lid = get_local_id(0);
  int L = get_local_size(0);
  int o = get_group_id(1);
  int n = get_group_id(2);
  __global const float* x = inp + n * C;
  float s = 0.0f;
  for (int i = lid; i < C; i += L) {
    s += x[i] * uk_weight(Bf, Bh, o * C + i);
  }
  s = uk_group_sum(s, scratch);
  if (lid == 0) {
    out[n * OC + o] = (bias != 0 ? bias[o] : 0.0f) + s;
  }
}

void uk_matmulForward(__global float* out, __global const float* inp, __global const float* weight,
    __global const float* bias, int N, int C, int OC, __local float* scratch) {
  uk_gemm(out, OC, inp, C, 1, weight, 0, C, 1, bias, 0, N, OC, C, scratch);
}

void uk_matmulForward_vec(__global float* out, __global const float* inp, __global const float* weight,
    __global const float* bias, int N, int C, int OC, __local float* scratch) {
  uk_gemv(out, inp, weight, 0, bias, C, OC, scratch);
}

void uk_matmulForwardBf16(__global float* out, __global const float* inp, __global const ushort* weight,
    __global const float* bias, int N, int C, int OC, __local float* scratch) {
  uk_gemm(out, OC, inp, C, 1, 0, weight, C, 1, bias, 0, N, OC, C, scratch);
}

void uk_matmulForwardBf16_vec(__global float* out, __global const float* inp, __global const ushort* weight,
    __global const float* bias, int N, int C, int OC, __local float* scratch) {
  uk_gemv(out, inp, 0, weight, bias, C, OC, scratch);
}

// dinp (N, C) += dout (N, OC) . weight (OC, C)
void uk_matmulBackward_dinp(__global float* dinp, __global float* dweight, __global float* dbias,
    __global const float* dout, __global const float* inp, __global const float* weight, int N, int C, int OC,
    __local float* scratch) {
  uk_gemm(dinp, C, dout, OC, 1, weight, 0, 1, C, 0, 1, N, C, OC, scratch);
}

// dweight (OC, C) += dout (N, OC)^T . inp (N, C)
void uk_matmulBackward_dweight(__global float* dinp, __global float* dweight, __global float* dbias,
    __global const float* dout, __global const float* inp, __global const float* weight, int N, int C, int OC,
    __local float* scratch) {
  uk_gemm(dweight, C, dout, 1, OC, inp, 0, 1, C, 0, 1, OC, C, N, scratch);
}

// dbias[o] += column o of dout, rows in order; one item per output channel.
void uk_matmulBackward_dbias(__global float* dinp, __global float* dweight, __global float* dbias,
    __global const float* dout, __global const float* inp, __global const float* weight, int N, int C, int OC) {
  int o = get_global_id(0);
  if (dbias == 0 || o >= OC) {
    return;
  }
  float acc = dbias[o];
  for (int n = 0; n < N; n++) {
    acc += dout[n * OC + o];
  }
  dbias[o] = acc;
}

// ---------------------------------------------------------------------------------------------------------------
// Attention. Rows of qkv hold q (NH*hs), k (KVH*hs), v (KVH*hs); query head h reads kv head h / (NH / KVH).
// Training: one work-group per (b, h) (group id in dimension 1), its items over the query rows (or, for dk and dv,
// one per (b, kv head) over the key rows). No local memory; each item runs the reference's loops for its row.
// Causal when lengths is 0 (query t sees keys 0..t); else bidirectional (an encoder's): in row b the queries
// t < lengths[b] see the keys 0..lengths[b]-1, and the padded queries get zeros in out, preatt and att.

// The causal softmax's pieces over positions from, from + step, ... up to and including last, shared by training and
// decoding: the scaled scores q . k[t2] (k rows stride floats apart) into dst, returning their maximum; then
// exp(src - max) into dst (src may be dst), returning the sum; then the division by that sum (0 stays 0).
float uk_scores(__global float* dst, __global const float* q, __global const float* k, int stride, int hs,
    float scale, int from, int last, int step) {
  float maxval = UK_MAX_START;
  for (int t2 = from; t2 <= last; t2 += step) {
    float val = 0.0f;
    for (int i = 0; i < hs; i++) {
      val += q[i] * k[t2 * stride + i];
    }
    val *= scale;
    if (val > maxval) {
      maxval = val;
    }
    dst[t2] = val;
  }
  return maxval;
}

float uk_exp_shifted(__global float* dst, __global const float* src, float maxval, int from, int last, int step) {
  float expsum = 0.0f;
  for (int t2 = from; t2 <= last; t2 += step) {
    float expv = exp(src[t2] - maxval);
    expsum += expv;
    dst[t2] = expv;
  }
  return expsum;
}

void uk_normalise(__global float* x, float expsum, int from, int last, int step) {
  float expsumInv = expsum == 0.0f ? 0.0f : 1.0f / expsum;
  for (int t2 = from; t2 <= last; t2 += step) {
    x[t2] *= expsumInv;
  }
}

void uk_attention_fwd(__global float* out, __global float* preatt, __global float* att, __global const float* qkv,
    __global const int* lengths, int B, int T, int NH, int KVH, int hs) {
  int R = (NH + 2 * KVH) * hs;
  int C = NH * hs;
  int bh = get_group_id(1);
  int b = bh / NH;
  int h = bh - b * NH;
  int kvh = (h / (NH / KVH)) * hs;
  float scale = uk_attention_scale(hs);
  __global const float* base = qkv + b * T * R;
  __global const float* k = base + C + kvh;
  __global const float* v = base + C + KVH * hs + kvh;
  int n = lengths == 0 ? T : lengths[b];
  for (int t = get_local_id(0); t < T; t += get_local_size(0)) {
    __global const float* q = base + t * R + h * hs;
    __global float* pre = preatt + (bh * T + t) * T;
    __global float* a = att + (bh * T + t) * T;
    __global float* y = out + (b * T + t) * C + h * hs;
    // the last key this query sees; -1 for a padded query, whose rows are all zeros
    int last = lengths == 0 ? t : (t < n ? n - 1 : -1);
    if (last >= 0) {
      float maxval = uk_scores(pre, q, k, R, hs, scale, 0, last, 1);
      uk_normalise(a, uk_exp_shifted(a, pre, maxval, 0, last, 1), 0, last, 1);
    }
    for (int t2 = last + 1; t2 < T; t2++) {
      pre[t2] = 0.0f;
      a[t2] = 0.0f;
    }
    for (int i = 0; i < hs; i++) {
      float acc = 0.0f;
      for (int t2 = 0; t2 <= last; t2++) {
        acc += a[t2] * v[t2 * R + i];
      }
      y[i] = acc;
    }
  }
}

// Per query row: datt += v . dout, dpreatt += the softmax's backward, dq += scale * dpreatt . k.
void uk_attention_bwd_dq(__global float* dqkv, __global float* dpreatt, __global float* datt,
    __global const float* dout, __global const float* qkv, __global const float* att, __global const int* lengths,
    int B, int T, int NH, int KVH, int hs) {
  int R = (NH + 2 * KVH) * hs;
  int C = NH * hs;
  int bh = get_group_id(1);
  int b = bh / NH;
  int h = bh - b * NH;
  int kvh = (h / (NH / KVH)) * hs;
  float scale = uk_attention_scale(hs);
  __global const float* k = qkv + b * T * R + C + kvh;
  __global const float* v = k + KVH * hs;
  // a padded query's output is constant: nothing flows back from its row
  int rows = lengths == 0 ? T : lengths[b];
  for (int t = get_local_id(0); t < rows; t += get_local_size(0)) {
    int last = lengths == 0 ? t : rows - 1;
    __global const float* a = att + (bh * T + t) * T;
    __global float* da = datt + (bh * T + t) * T;
    __global float* dpre = dpreatt + (bh * T + t) * T;
    __global const float* dy = dout + (b * T + t) * C + h * hs;
    for (int t2 = 0; t2 <= last; t2++) {
      float s = da[t2];
      for (int i = 0; i < hs; i++) {
        s += v[t2 * R + i] * dy[i];
      }
      da[t2] = s;
    }
    // sum over t2 of att[t2] (indicator - att[t3]) datt[t2] = att[t3] (datt[t3] - sum over t2 of att[t2] datt[t2])
    float dot = 0.0f;
    for (int t2 = 0; t2 <= last; t2++) {
      dot += a[t2] * da[t2];
    }
    for (int t3 = 0; t3 <= last; t3++) {
      dpre[t3] += a[t3] * (da[t3] - dot);
    }
    __global float* dq = dqkv + (b * T + t) * R + h * hs;
    for (int i = 0; i < hs; i++) {
      float acc = dq[i];
      for (int t2 = 0; t2 <= last; t2++) {
        acc += k[t2 * R + i] * dpre[t2] * scale;
      }
      dq[i] = acc;
    }
  }
}

// Per key row t2 of kv head kh: dk += scale * dpreatt[t, t2] q_t and dv += att[t, t2] dout_t, over the query rows
// that see it (t >= t2 when causal, t < lengths[b] when not) and the query heads of kh, in the reference's order
// (t, then h).
void uk_attention_bwd_dkv(__global float* dqkv, __global float* dpreatt, __global float* datt,
    __global const float* dout, __global const float* qkv, __global const float* att, __global const int* lengths,
    int B, int T, int NH, int KVH, int hs) {
  int R = (NH + 2 * KVH) * hs;
  int C = NH * hs;
  int group = NH / KVH;
  int bk = get_group_id(1);
  int b = bk / KVH;
  int kh = bk - b * KVH;
  float scale = uk_attention_scale(hs);
  int keys = lengths == 0 ? T : lengths[b];
  for (int t2 = get_local_id(0); t2 < keys; t2 += get_local_size(0)) {
    __global float* dk = dqkv + (b * T + t2) * R + C + kh * hs;
    __global float* dv = dk + KVH * hs;
    int first = lengths == 0 ? t2 : 0;
    for (int i = 0; i < hs; i++) {
      float accK = dk[i];
      float accV = dv[i];
      for (int t = first; t < keys; t++) {
        __global const float* q = qkv + (b * T + t) * R + i;
        __global const float* dy = dout + (b * T + t) * C + i;
        for (int h = kh * group; h < (kh + 1) * group; h++) {
          int at = ((b * NH + h) * T + t) * T + t2;
          accK += q[h * hs] * dpreatt[at] * scale;
          accV += att[at] * dy[h * hs];
        }
      }
      dk[i] = accK;
      dv[i] = accV;
    }
  }
}

void uk_attentionForward(__global float* out, __global float* preatt, __global float* att,
    __global const float* qkv, int B, int T, int C, int NH) {
  uk_attention_fwd(out, preatt, att, qkv, 0, B, T, NH, NH, C / NH);
}

void uk_attentionForwardGqa(__global float* out, __global float* preatt, __global float* att,
    __global const float* qkv, int B, int T, int NH, int KVH, int hs) {
  uk_attention_fwd(out, preatt, att, qkv, 0, B, T, NH, KVH, hs);
}

void uk_attentionBackward_dq(__global float* dqkv, __global float* dpreatt, __global float* datt,
    __global const float* dout, __global const float* qkv, __global const float* att, int B, int T, int C,
    int NH) {
  uk_attention_bwd_dq(dqkv, dpreatt, datt, dout, qkv, att, 0, B, T, NH, NH, C / NH);
}

void uk_attentionBackward_dkv(__global float* dqkv, __global float* dpreatt, __global float* datt,
    __global const float* dout, __global const float* qkv, __global const float* att, int B, int T, int C,
    int NH) {
  uk_attention_bwd_dkv(dqkv, dpreatt, datt, dout, qkv, att, 0, B, T, NH, NH, C / NH);
}

void uk_attentionBackwardGqa_dq(__global float* dqkv, __global float* dpreatt, __global float* datt,
    __global const float* dout, __global const float* qkv, __global const float* att, int B, int T, int NH,
    int KVH, int hs) {
  uk_attention_bwd_dq(dqkv, dpreatt, datt, dout, qkv, att, 0, B, T, NH, KVH, hs);
}

void uk_attentionBackwardGqa_dkv(__global float* dqkv, __global float* dpreatt, __global float* datt,
    __global const float* dout, __global const float* qkv, __global const float* att, int B, int T, int NH,
    int KVH, int hs) {
  uk_attention_bwd_dkv(dqkv, dpreatt, datt, dout, qkv, att, 0, B, T, NH, KVH, hs);
}

void uk_attentionForwardBidirectional(__global float* out, __global float* preatt, __global float* att,
    __global const float* qkv, __global const int* lengths, int B, int T, int C, int NH) {
  uk_attention_fwd(out, preatt, att, qkv, lengths, B, T, NH, NH, C / NH);
}

void uk_attentionBackwardBidirectional_dq(__global float* dqkv, __global float* dpreatt, __global float* datt,
    __global const float* dout, __global const float* qkv, __global const float* att, __global const int* lengths,
    int B, int T, int C, int NH) {
  uk_attention_bwd_dq(dqkv, dpreatt, datt, dout, qkv, att, lengths, B, T, NH, NH, C / NH);
}

void uk_attentionBackwardBidirectional_dkv(__global float* dqkv, __global float* dpreatt, __global float* datt,
    __global const float* dout, __global const float* qkv, __global const float* att, __global const int* lengths,
    int B, int T, int C, int NH) {
  uk_attention_bwd_dkv(dqkv, dpreatt, datt, dout, qkv, att, lengths, B, T, NH, NH, C / NH);
}

// Decoding one position against the KV cache: one work-group per query head (group id in dimension 1), its items
// over the key positions 0..pos for the scores (group max and sum), then over the hs outputs. att (NH, T) gets the
// softmax, as in the reference.
void uk_attentionDecode(__global float* out, __global float* att, __global const float* q,
    __global const float* kcache, __global const float* vcache, int pos, int T, int NH, int KVH, int hs,
    __local float* scratch) {
  int lid = get_local_id(0);
  int L = get_local_size(0);
  int h = get_group_id(1);
  int kvDim = KVH * hs;
  int kvh = (h / (NH / KVH)) * hs;
  float scale = uk_attention_scale(hs);
  __global float* a = att + h * T;
  __global const float* qh = q + h * hs;
  __global const float* k = kcache + kvh;
  __global const float* v = vcache + kvh;
  float maxval = uk_group_max(uk_scores(a, qh, k, kvDim, hs, scale, lid, pos, L), scratch);
  float expsum = uk_group_sum(uk_exp_shifted(a, a, maxval, lid, pos, L), scratch);
  uk_normalise(a, expsum, lid, pos, L);
  barrier(CLK_GLOBAL_MEM_FENCE);
  for (int i = lid; i < hs; i += L) {
    float acc = 0.0f;
    for (int t2 = 0; t2 <= pos; t2++) {
      acc += a[t2] * v[t2 * kvDim + i];
    }
    out[h * hs + i] = acc;
  }
}
