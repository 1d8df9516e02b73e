// AdamW and the loss on the device: the kernels DeviceModel runs itself, the same for every model.

#define UNROLL_NORM_GROUP 256
#define UNROLL_NORM_CHUNK 16384

// partials[g] = sum of squares of g's chunk of UNROLL_NORM_CHUNK values; a work-group of UNROLL_NORM_GROUP
// items per chunk, each summing a strided run, then a tree in local memory. The host adds the partials in order.
__kernel void unroll_sum_squares(__global const float* g, int go, __global float* partials, int po, int n) {
  __local float sums[UNROLL_NORM_GROUP];
  int lid = get_local_id(0);
  int start = get_group_id(0) * UNROLL_NORM_CHUNK;
  int end = min(n, start + UNROLL_NORM_CHUNK);
  float s = 0.0f;
  for (int i = start + lid; i < end; i += UNROLL_NORM_GROUP) {
    float x = g[go + i];
    s += x * x;
  }
  sums[lid] = s;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int span = UNROLL_NORM_GROUP / 2; span > 0; span >>= 1) {
    if (lid < span) {
      sums[lid] += sums[lid + span];
    }
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  if (lid == 0) {
    partials[po + get_group_id(0)] = sums[0];
  }
}

// One AdamW step of parameter i, as dev.unroll.runtime.AdamW computes it: g = grad * scale;
// m = b1 m + (1-b1) g; v = b2 v + (1-b2) g g; p -= lr ((m / c1) / (sqrt(v / c2) + eps) + wd p).
__kernel void unroll_adamw(__global float* p, int po, __global const float* grad, int gro, __global float* m,
    int mo, __global float* v, int vo, int n, float scale, float b1, float b2, float c1, float c2, float lr,
    float wd, float eps) {
  int i = get_global_id(0);
  if (i >= n) {
    return;
  }
  float g = grad[gro + i] * scale;
  float mi = b1 * m[mo + i] + (1.0f - b1) * g;
  float vi = b2 * v[vo + i] + (1.0f - b2) * g * g;
  m[mo + i] = mi;
  v[vo + i] = vi;
  float pi = p[po + i];
  p[po + i] = pi - lr * ((mi / c1) / (sqrt(vi / c2) + eps) + wd * pi);
}

// out[0] = mean of x[0..n), summed in order by one work-item (n is batch * context: small).
__kernel void unroll_mean(__global const float* x, int xo, __global float* out, int oo, int n) {
  if (get_global_id(0) != 0) {
    return;
  }
  float s = 0.0f;
  for (int i = 0; i < n; i++) {
    s += x[xo + i];
  }
  out[oo] = s / n;
}
