package dev.unroll.runtime.simd;

import static dev.unroll.runtime.simd.Gemm.GEMM_KC;
import static dev.unroll.runtime.simd.Gemm.GEMM_NC;
import static dev.unroll.runtime.simd.Gemm.PANELS;
import static dev.unroll.runtime.simd.Gemm.gemmBlocks;
import static dev.unroll.runtime.simd.Gemm.gemmPanels;
import static dev.unroll.runtime.simd.Gemm.packTransposed;
import static dev.unroll.runtime.simd.Vectors.L;
import static dev.unroll.runtime.simd.Vectors.S;
import static dev.unroll.runtime.simd.Vectors.SWAP_EIGHTH;
import static dev.unroll.runtime.simd.Vectors.SWAP_HALF;
import static dev.unroll.runtime.simd.Vectors.SWAP_QUARTER;
import static dev.unroll.runtime.simd.Vectors.SWAP_SIXTEENTH;
import static dev.unroll.runtime.simd.Vectors.dot;
import static dev.unroll.runtime.simd.Vectors.onePerThread;

import dev.unroll.runtime.thread.WorkerPool;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;

/**
 * The float32 matmul, forward and backward. The forward from 32 rows as a GEMM on packed blocks of the weight,
 * split over the pool by output channel; below, as dot products (four rows by two weight rows at a time), by rows;
 * below 4 rows (decoding has one) as matrix-vector products reading four weight rows at a time, by output
 * channel. The backward's dinp by rows (by columns when it has fewer rows than columns), its dweight and dbias by
 * output channel, both on {@link Gemm}.
 */
final class Matmul {

  /** Floats of the weight rows the dot-product forward reuses (128 KiB): they stay in L2 while the rows stream. */
  private static final int TILE_FLOATS = 32 * 1024;

  /**
   * From this many rows, the forward runs as a GEMM on packed blocks of the weight ({@link #matmulForwardGemm});
   * below, as dot products ({@link #matmulForwardRows}), where transposing the weight would cost more than it saves.
   */
  private static final int GEMM_FORWARD_ROWS = 32;

  private Matmul() {}

  /** {@link dev.unroll.runtime.kernel.Kernels#matmulForward}. */
  static void forward(float[] out, int outOff, float[] inp, int inpOff, float[] weight, int weightOff, float[] bias,
      int biasOff, int N, int C, int OC) {
    WorkerPool pool = WorkerPool.acquire(2L * N * C * OC);
    if (pool == null) {
      if (N < 4) {
        matmulForwardColumns(out, outOff, inp, inpOff, weight, weightOff, bias, biasOff, C, OC, N, 0, OC);
      } else if (N >= GEMM_FORWARD_ROWS) {
        matmulForwardGemm(out, outOff, inp, inpOff, weight, weightOff, bias, biasOff, N, C, OC, 0, OC);
      } else {
        matmulForwardRows(out, outOff, inp, inpOff, weight, weightOff, bias, biasOff, C, OC, 0, N);
      }
      return;
    }
    KernelJob job = J.task(N < 4 ? FORWARD_COLUMNS : N >= GEMM_FORWARD_ROWS ? FORWARD_GEMM : FORWARD_ROWS)
        .out(out, outOff).inp(inp, inpOff).weight(weight, weightOff).bias(bias, biasOff).N(N).C(C).OC(OC);
    if (N < 4) {
      // too few rows to share (decoding has one): share the output columns, 16 at a time (four per stream); each
      // still gets the tail's dot
      pool.run(job, OC, onePerThread(OC, 16));
    } else if (N >= GEMM_FORWARD_ROWS) {
      // shares of output channels, so that each block of the weight is packed once. They start at whole vectors,
      // so only the last channels (past the last whole vector) take the scalar tail, as on one thread, and span
      // whole pairs of vectors, the register block's width (but the last). At 64 channels, one-vector shares fell to Gemm's general loops
      // (four rows by one vector) and made two threads slower than one. Two threads' speed over one's at the tiny
      // shape's products (512 rows; one JVM, alternating; 2-vCPU AMD EPYC, AVX-512), one-vector shares then these:
      // 64 -> 64 channels 0.25x then 1.07x, 256 -> 64 0.45x then 1.87x, 64 -> 192 0.94x then 1.38x
      pool.run(job, OC, 2 * L);
    } else {
      // shares start at multiples of 4 rows, so every row falls in the same 4-row block or tail as on one thread
      pool.run(job, N, 4);
    }
  }

  /** The arguments of this room's parallel tasks (see {@link KernelJob}). */
  private static final KernelJob J = new KernelJob();

  /** Output channels of the GEMM form. */
  private static final KernelJob.Task FORWARD_GEMM = (from, to) -> matmulForwardGemm(J.out, J.outOff, J.inp,
      J.inpOff, J.weight, J.weightOff, J.bias, J.biasOff, J.N, J.C, J.OC, from, to);

  /** Output columns of the matrix-vector form. */
  private static final KernelJob.Task FORWARD_COLUMNS = (from, to) -> matmulForwardColumns(J.out, J.outOff, J.inp,
      J.inpOff, J.weight, J.weightOff, J.bias, J.biasOff, J.C, J.OC, J.N, from, to);

  /** Rows of the dot-product form. */
  private static final KernelJob.Task FORWARD_ROWS = (from, to) -> matmulForwardRows(J.out, J.outOff, J.inp,
      J.inpOff, J.weight, J.weightOff, J.bias, J.biasOff, J.C, J.OC, from, to);

  /**
   * Output channels [from, to) of {@link #forward}, every row, as a GEMM: out starts as the bias, then for
   * each block of the weight (GEMM_NC output channels by GEMM_KC input channels, in order of input channel) the
   * block is transposed into the thread's panels, so that output channels are contiguous, and {@link Gemm#gemmPanels}
   * adds inp times it, six rows by two vectors of channels at a time with no horizontal sums (the dot-product form
   * spends a reduction per output, dear when C is small). Every output gets bias + its terms in order of input
   * channel.
   */
  private static void matmulForwardGemm(float[] out, int outOff, float[] inp, int inpOff, float[] weight,
      int weightOff, float[] bias, int biasOff, int N, int C, int OC, int from, int to) {
    for (int n = 0; n < N; n++) {
      if (bias == null) {
        Arrays.fill(out, outOff + n * OC + from, outOff + n * OC + to, 0.0f);
      } else {
        System.arraycopy(bias, biasOff + from, out, outOff + n * OC + from, to - from);
      }
    }
    float[] panels = PANELS.get();
    for (int j0 = from; j0 < to; j0 += GEMM_NC) {
      int jt = Math.min(GEMM_NC, to - j0);
      for (int k0 = 0; k0 < C; k0 += GEMM_KC) {
        int kt = Math.min(GEMM_KC, C - k0);
        packTransposed(weight, weightOff + j0 * C + k0, C, kt, jt, panels);
        gemmPanels(out, outOff + j0, OC, inp, inpOff + k0, C, 1, panels, N, kt, jt);
      }
    }
  }

  /**
   * Columns [from, to) of {@link #forward} for fewer than 4 rows: what the row path's tail computes, each
   * column's {@link Vectors#dot}. This is decoding's matrix-vector product, bound by memory bandwidth: it reads four
   * weight rows at a time from the four quarters of the range ({@link #dot4Rows}), since a core keeps more reads in
   * flight over several streams far apart than over one (measured, one core: 11 GB/s with one stream, 17 with four).
   */
  private static void matmulForwardColumns(float[] out, int outOff, float[] inp, int inpOff, float[] weight,
      int weightOff, float[] bias, int biasOff, int C, int OC, int N, int from, int to) {
    int q = (to - from) / 4;
    for (int n = 0; n < N; n++) {
      int x = inpOff + n * C;
      int y = outOff + n * OC;
      for (int o = from; o < from + q; o++) {
        dot4Rows(out, y, inp, x, weight, weightOff, bias, biasOff, C, o, o + q, o + 2 * q, o + 3 * q);
      }
      for (int o = from + 4 * q; o < to; o++) {
        float b = bias == null ? 0.0f : bias[biasOff + o];
        out[y + o] = b + dot(inp, x, weight, weightOff + o * C, C);
      }
    }
  }

  /**
   * out[y + r] = bias[r] + {@link Vectors#dot}(inp at x, weight row r) for the four rows r0..r3, each summed exactly as
   * dot sums it (the same bits), reading the four rows side by side.
   */
  private static void dot4Rows(float[] out, int y, float[] inp, int x, float[] weight, int weightOff,
      float[] bias, int biasOff, int C, int r0, int r1, int r2, int r3) {
    int w0 = weightOff + r0 * C;
    int w1 = weightOff + r1 * C;
    int w2 = weightOff + r2 * C;
    int w3 = weightOff + r3 * C;
    int bound = S.loopBound(C);
    int i = 0;
    float s0 = 0.0f;
    float s1 = 0.0f;
    float s2 = 0.0f;
    float s3 = 0.0f;
    if (bound > 0) {
      FloatVector a0 = FloatVector.zero(S);
      FloatVector b0 = a0;
      FloatVector a1 = a0;
      FloatVector b1 = a0;
      FloatVector a2 = a0;
      FloatVector b2 = a0;
      FloatVector a3 = a0;
      FloatVector b3 = a0;
      for (; i + L < bound; i += 2 * L) {
        FloatVector xa = FloatVector.fromArray(S, inp, x + i);
        FloatVector xb = FloatVector.fromArray(S, inp, x + i + L);
        a0 = xa.fma(FloatVector.fromArray(S, weight, w0 + i), a0);
        b0 = xb.fma(FloatVector.fromArray(S, weight, w0 + i + L), b0);
        a1 = xa.fma(FloatVector.fromArray(S, weight, w1 + i), a1);
        b1 = xb.fma(FloatVector.fromArray(S, weight, w1 + i + L), b1);
        a2 = xa.fma(FloatVector.fromArray(S, weight, w2 + i), a2);
        b2 = xb.fma(FloatVector.fromArray(S, weight, w2 + i + L), b2);
        a3 = xa.fma(FloatVector.fromArray(S, weight, w3 + i), a3);
        b3 = xb.fma(FloatVector.fromArray(S, weight, w3 + i + L), b3);
      }
      if (i < bound) {
        FloatVector xa = FloatVector.fromArray(S, inp, x + i);
        a0 = xa.fma(FloatVector.fromArray(S, weight, w0 + i), a0);
        a1 = xa.fma(FloatVector.fromArray(S, weight, w1 + i), a1);
        a2 = xa.fma(FloatVector.fromArray(S, weight, w2 + i), a2);
        a3 = xa.fma(FloatVector.fromArray(S, weight, w3 + i), a3);
        i += L;
      }
      a0 = a0.add(b0); // dot's tree, written out (see Vectors.SWAP_HALF)
      a0 = a0.add(a0.rearrange(SWAP_HALF));
      a0 = a0.add(a0.rearrange(SWAP_QUARTER));
      if (L >= 8) {
        a0 = a0.add(a0.rearrange(SWAP_EIGHTH));
      }
      if (L >= 16) {
        a0 = a0.add(a0.rearrange(SWAP_SIXTEENTH));
      }
      s0 = a0.lane(0);
      a1 = a1.add(b1);
      a1 = a1.add(a1.rearrange(SWAP_HALF));
      a1 = a1.add(a1.rearrange(SWAP_QUARTER));
      if (L >= 8) {
        a1 = a1.add(a1.rearrange(SWAP_EIGHTH));
      }
      if (L >= 16) {
        a1 = a1.add(a1.rearrange(SWAP_SIXTEENTH));
      }
      s1 = a1.lane(0);
      a2 = a2.add(b2);
      a2 = a2.add(a2.rearrange(SWAP_HALF));
      a2 = a2.add(a2.rearrange(SWAP_QUARTER));
      if (L >= 8) {
        a2 = a2.add(a2.rearrange(SWAP_EIGHTH));
      }
      if (L >= 16) {
        a2 = a2.add(a2.rearrange(SWAP_SIXTEENTH));
      }
      s2 = a2.lane(0);
      a3 = a3.add(b3);
      a3 = a3.add(a3.rearrange(SWAP_HALF));
      a3 = a3.add(a3.rearrange(SWAP_QUARTER));
      if (L >= 8) {
        a3 = a3.add(a3.rearrange(SWAP_EIGHTH));
      }
      if (L >= 16) {
        a3 = a3.add(a3.rearrange(SWAP_SIXTEENTH));
      }
      s3 = a3.lane(0);
    }
    for (; i < C; i++) {
      float xi = inp[x + i];
      s0 += xi * weight[w0 + i];
      s1 += xi * weight[w1 + i];
      s2 += xi * weight[w2 + i];
      s3 += xi * weight[w3 + i];
    }
    out[y + r0] = (bias == null ? 0.0f : bias[biasOff + r0]) + s0;
    out[y + r1] = (bias == null ? 0.0f : bias[biasOff + r1]) + s1;
    out[y + r2] = (bias == null ? 0.0f : bias[biasOff + r2]) + s2;
    out[y + r3] = (bias == null ? 0.0f : bias[biasOff + r3]) + s3;
  }

  /** Rows [from, to) of {@link #forward}; from is a multiple of 4. */
  private static void matmulForwardRows(float[] out, int outOff, float[] inp, int inpOff, float[] weight,
      int weightOff, float[] bias, int biasOff, int C, int OC, int from, int to) {
    // tiles of weight rows small enough to stay in L2 while every row of inp passes by
    int tile = Math.max(2, TILE_FLOATS / Math.max(C, 1)) & ~1;
    for (int o0 = 0; o0 < OC; o0 += tile) {
      int o1 = Math.min(OC, o0 + tile);
      int n = from;
      for (; n + 4 <= to; n += 4) {
        int x = inpOff + n * C;
        int y = outOff + n * OC;
        int o = o0;
        for (; o + 2 <= o1; o += 2) {
          dot4x2(out, y + o, OC, inp, x, C, weight, weightOff + o * C, bias, biasOff + o);
        }
        if (o < o1) {
          dot4x1(out, y + o, OC, inp, x, C, weight, weightOff + o * C, bias, biasOff + o);
        }
      }
      for (; n < to; n++) {
        int x = inpOff + n * C;
        int y = outOff + n * OC;
        for (int o = o0; o < o1; o++) {
          float b = bias == null ? 0.0f : bias[biasOff + o];
          out[y + o] = b + dot(inp, x, weight, weightOff + o * C, C);
        }
      }
    }
  }

  /**
   * Four rows of inp (at x, stride C) against two rows of weight (at w, stride C): writes out[y + r*OC + c] for
   * r in 0..3, c in 0..1.
   */
  private static void dot4x2(float[] out, int y, int OC, float[] inp, int x, int C, float[] weight, int w,
      float[] bias, int bo) {
    int x1 = x + C;
    int x2 = x1 + C;
    int x3 = x2 + C;
    int w1 = w + C;
    int bound = S.loopBound(C);
    float s00 = 0.0f;
    float s01 = 0.0f;
    float s10 = 0.0f;
    float s11 = 0.0f;
    float s20 = 0.0f;
    float s21 = 0.0f;
    float s30 = 0.0f;
    float s31 = 0.0f;
    int i = 0;
    if (bound > 0) {
      FloatVector a00 = FloatVector.zero(S);
      FloatVector a01 = FloatVector.zero(S);
      FloatVector a10 = FloatVector.zero(S);
      FloatVector a11 = FloatVector.zero(S);
      FloatVector a20 = FloatVector.zero(S);
      FloatVector a21 = FloatVector.zero(S);
      FloatVector a30 = FloatVector.zero(S);
      FloatVector a31 = FloatVector.zero(S);
      for (; i < bound; i += L) {
        FloatVector v0 = FloatVector.fromArray(S, weight, w + i);
        FloatVector v1 = FloatVector.fromArray(S, weight, w1 + i);
        FloatVector u = FloatVector.fromArray(S, inp, x + i);
        a00 = u.fma(v0, a00);
        a01 = u.fma(v1, a01);
        u = FloatVector.fromArray(S, inp, x1 + i);
        a10 = u.fma(v0, a10);
        a11 = u.fma(v1, a11);
        u = FloatVector.fromArray(S, inp, x2 + i);
        a20 = u.fma(v0, a20);
        a21 = u.fma(v1, a21);
        u = FloatVector.fromArray(S, inp, x3 + i);
        a30 = u.fma(v0, a30);
        a31 = u.fma(v1, a31);
      }
      a00 = a00.add(a00.rearrange(SWAP_HALF));
      a00 = a00.add(a00.rearrange(SWAP_QUARTER));
      if (L >= 8) {
        a00 = a00.add(a00.rearrange(SWAP_EIGHTH));
      }
      if (L >= 16) {
        a00 = a00.add(a00.rearrange(SWAP_SIXTEENTH));
      }
      s00 = a00.lane(0);
      a01 = a01.add(a01.rearrange(SWAP_HALF));
      a01 = a01.add(a01.rearrange(SWAP_QUARTER));
      if (L >= 8) {
        a01 = a01.add(a01.rearrange(SWAP_EIGHTH));
      }
      if (L >= 16) {
        a01 = a01.add(a01.rearrange(SWAP_SIXTEENTH));
      }
      s01 = a01.lane(0);
      a10 = a10.add(a10.rearrange(SWAP_HALF));
      a10 = a10.add(a10.rearrange(SWAP_QUARTER));
      if (L >= 8) {
        a10 = a10.add(a10.rearrange(SWAP_EIGHTH));
      }
      if (L >= 16) {
        a10 = a10.add(a10.rearrange(SWAP_SIXTEENTH));
      }
      s10 = a10.lane(0);
      a11 = a11.add(a11.rearrange(SWAP_HALF));
      a11 = a11.add(a11.rearrange(SWAP_QUARTER));
      if (L >= 8) {
        a11 = a11.add(a11.rearrange(SWAP_EIGHTH));
      }
      if (L >= 16) {
        a11 = a11.add(a11.rearrange(SWAP_SIXTEENTH));
      }
      s11 = a11.lane(0);
      a20 = a20.add(a20.rearrange(SWAP_HALF));
      a20 = a20.add(a20.rearrange(SWAP_QUARTER));
      if (L >= 8) {
        a20 = a20.add(a20.rearrange(SWAP_EIGHTH));
      }
      if (L >= 16) {
        a20 = a20.add(a20.rearrange(SWAP_SIXTEENTH));
      }
      s20 = a20.lane(0);
      a21 = a21.add(a21.rearrange(SWAP_HALF));
      a21 = a21.add(a21.rearrange(SWAP_QUARTER));
      if (L >= 8) {
        a21 = a21.add(a21.rearrange(SWAP_EIGHTH));
      }
      if (L >= 16) {
        a21 = a21.add(a21.rearrange(SWAP_SIXTEENTH));
      }
      s21 = a21.lane(0);
      a30 = a30.add(a30.rearrange(SWAP_HALF));
      a30 = a30.add(a30.rearrange(SWAP_QUARTER));
      if (L >= 8) {
        a30 = a30.add(a30.rearrange(SWAP_EIGHTH));
      }
      if (L >= 16) {
        a30 = a30.add(a30.rearrange(SWAP_SIXTEENTH));
      }
      s30 = a30.lane(0);
      a31 = a31.add(a31.rearrange(SWAP_HALF));
      a31 = a31.add(a31.rearrange(SWAP_QUARTER));
      if (L >= 8) {
        a31 = a31.add(a31.rearrange(SWAP_EIGHTH));
      }
      if (L >= 16) {
        a31 = a31.add(a31.rearrange(SWAP_SIXTEENTH));
      }
      s31 = a31.lane(0);
    }
    for (; i < C; i++) {
      float v0 = weight[w + i];
      float v1 = weight[w1 + i];
      s00 += inp[x + i] * v0;
      s01 += inp[x + i] * v1;
      s10 += inp[x1 + i] * v0;
      s11 += inp[x1 + i] * v1;
      s20 += inp[x2 + i] * v0;
      s21 += inp[x2 + i] * v1;
      s30 += inp[x3 + i] * v0;
      s31 += inp[x3 + i] * v1;
    }
    float b0 = bias == null ? 0.0f : bias[bo];
    float b1 = bias == null ? 0.0f : bias[bo + 1];
    out[y] = b0 + s00;
    out[y + 1] = b1 + s01;
    out[y + OC] = b0 + s10;
    out[y + OC + 1] = b1 + s11;
    out[y + 2 * OC] = b0 + s20;
    out[y + 2 * OC + 1] = b1 + s21;
    out[y + 3 * OC] = b0 + s30;
    out[y + 3 * OC + 1] = b1 + s31;
  }

  /** Four rows of inp against one row of weight; see {@link #dot4x2}. */
  private static void dot4x1(float[] out, int y, int OC, float[] inp, int x, int C, float[] weight, int w,
      float[] bias, int bo) {
    int x1 = x + C;
    int x2 = x1 + C;
    int x3 = x2 + C;
    int bound = S.loopBound(C);
    float s0 = 0.0f;
    float s1 = 0.0f;
    float s2 = 0.0f;
    float s3 = 0.0f;
    int i = 0;
    if (bound > 0) {
      FloatVector a0 = FloatVector.zero(S);
      FloatVector a1 = FloatVector.zero(S);
      FloatVector a2 = FloatVector.zero(S);
      FloatVector a3 = FloatVector.zero(S);
      for (; i < bound; i += L) {
        FloatVector v = FloatVector.fromArray(S, weight, w + i);
        a0 = FloatVector.fromArray(S, inp, x + i).fma(v, a0);
        a1 = FloatVector.fromArray(S, inp, x1 + i).fma(v, a1);
        a2 = FloatVector.fromArray(S, inp, x2 + i).fma(v, a2);
        a3 = FloatVector.fromArray(S, inp, x3 + i).fma(v, a3);
      }
      a0 = a0.add(a0.rearrange(SWAP_HALF));
      a0 = a0.add(a0.rearrange(SWAP_QUARTER));
      if (L >= 8) {
        a0 = a0.add(a0.rearrange(SWAP_EIGHTH));
      }
      if (L >= 16) {
        a0 = a0.add(a0.rearrange(SWAP_SIXTEENTH));
      }
      s0 = a0.lane(0);
      a1 = a1.add(a1.rearrange(SWAP_HALF));
      a1 = a1.add(a1.rearrange(SWAP_QUARTER));
      if (L >= 8) {
        a1 = a1.add(a1.rearrange(SWAP_EIGHTH));
      }
      if (L >= 16) {
        a1 = a1.add(a1.rearrange(SWAP_SIXTEENTH));
      }
      s1 = a1.lane(0);
      a2 = a2.add(a2.rearrange(SWAP_HALF));
      a2 = a2.add(a2.rearrange(SWAP_QUARTER));
      if (L >= 8) {
        a2 = a2.add(a2.rearrange(SWAP_EIGHTH));
      }
      if (L >= 16) {
        a2 = a2.add(a2.rearrange(SWAP_SIXTEENTH));
      }
      s2 = a2.lane(0);
      a3 = a3.add(a3.rearrange(SWAP_HALF));
      a3 = a3.add(a3.rearrange(SWAP_QUARTER));
      if (L >= 8) {
        a3 = a3.add(a3.rearrange(SWAP_EIGHTH));
      }
      if (L >= 16) {
        a3 = a3.add(a3.rearrange(SWAP_SIXTEENTH));
      }
      s3 = a3.lane(0);
    }
    for (; i < C; i++) {
      float v = weight[w + i];
      s0 += inp[x + i] * v;
      s1 += inp[x1 + i] * v;
      s2 += inp[x2 + i] * v;
      s3 += inp[x3 + i] * v;
    }
    float b = bias == null ? 0.0f : bias[bo];
    out[y] = b + s0;
    out[y + OC] = b + s1;
    out[y + 2 * OC] = b + s2;
    out[y + 3 * OC] = b + s3;
  }

  /** {@link dev.unroll.runtime.kernel.Kernels#matmulBackward}. */
  static void backward(float[] dinp, int dinpOff, float[] dweight, int dweightOff, float[] dbias, int dbiasOff,
      float[] dout, int doutOff, float[] inp, int inpOff, float[] weight, int weightOff, int N, int C, int OC) {
    long work = 2L * N * C * OC;
    // dinp (N,C) += dout (N,OC) · weight (OC,C), by rows of dinp, or by columns when there are fewer rows than
    // columns: each share packs every block of the weight it reads, and a share of few rows spreads that over few
    // tiles (gpt2's classifier, 50304 x 768, was packed once per share of 64 rows). Either way each element gets
    // the same operations, so the same bits.
    WorkerPool pool = WorkerPool.acquire(work);
    if (pool == null) {
      matmulBackwardInput(dinp, dinpOff, dout, doutOff, weight, weightOff, N, C, OC, 0, N, 0, C);
    } else {
      KernelJob job = J.task(N >= C ? BACKWARD_INPUT_ROWS : BACKWARD_INPUT_COLUMNS).dinp(dinp, dinpOff)
          .dout(dout, doutOff).weight(weight, weightOff).N(N).C(C).OC(OC);
      if (N >= C) {
        pool.run(job, N, 6);
      } else {
        pool.run(job, C, 2 * L);
      }
    }
    // dweight (OC,C) += doutᵀ (OC,N) · inp (N,C) and dbias, by output channel: each element sums over N in order
    pool = WorkerPool.acquire(work);
    if (pool == null) {
      matmulBackwardWeightRows(dweight, dweightOff, dbias, dbiasOff, dout, doutOff, inp, inpOff, N, C, OC, 0, OC);
    } else {
      // shares of six output channels (the GEMM's tile): with 128 channels on two threads, shares of 48 (a whole
      // number of vectors and tiles) split 80/48 at best, shares of 6 72/56
      pool.run(J.task(BACKWARD_WEIGHT).dweight(dweight, dweightOff).dbias(dbias, dbiasOff).dout(dout, doutOff)
          .inp(inp, inpOff).N(N).C(C).OC(OC), OC, 6);
    }
  }

  /** dinp's part of {@link #backward}, by rows of dinp. */
  private static final KernelJob.Task BACKWARD_INPUT_ROWS = (from, to) -> matmulBackwardInput(J.dinp, J.dinpOff,
      J.dout, J.doutOff, J.weight, J.weightOff, J.N, J.C, J.OC, from, to, 0, J.C);

  /** dinp's part of {@link #backward}, by columns of dinp. */
  private static final KernelJob.Task BACKWARD_INPUT_COLUMNS = (from, to) -> matmulBackwardInput(J.dinp, J.dinpOff,
      J.dout, J.doutOff, J.weight, J.weightOff, J.N, J.C, J.OC, 0, J.N, from, to);

  /** dweight's and dbias' part of {@link #backward}, by output channel. */
  private static final KernelJob.Task BACKWARD_WEIGHT = (from, to) -> matmulBackwardWeightRows(J.dweight,
      J.dweightOff, J.dbias, J.dbiasOff, J.dout, J.doutOff, J.inp, J.inpOff, J.N, J.C, J.OC, from, to);

  /**
   * Rows [r0, r1) by columns [j0, j1) of dinp in {@link #backward}: dinp += dout · weight, blocked by
   * {@link Gemm#gemmBlocks}; j0 is a multiple of two vectors.
   */
  private static void matmulBackwardInput(float[] dinp, int dinpOff, float[] dout, int doutOff, float[] weight,
      int weightOff, int N, int C, int OC, int r0, int r1, int j0, int j1) {
    gemmBlocks(dinp, dinpOff + r0 * C + j0, dout, doutOff + r0 * OC, OC, 1, weight, weightOff + j0, C, r1 - r0, OC,
        j1 - j0);
  }

  /**
   * Output channels [from, to) of dweight and dbias in {@link #backward}: dweight += doutᵀ · inp, blocked by
   * {@link Gemm#gemmBlocks}; from is a multiple of the vector length.
   */
  private static void matmulBackwardWeightRows(float[] dweight, int dweightOff, float[] dbias, int dbiasOff,
      float[] dout, int doutOff, float[] inp, int inpOff, int N, int C, int OC, int from, int to) {
    gemmBlocks(dweight, dweightOff + from * C, dout, doutOff + from, 1, OC, inp, inpOff, C, to - from, N, C);
    // dbias (OC) += column sums of dout, whole vectors within [from, to) (a share may start anywhere), then one at
    // a time: each sum is the same adds in the same order either way
    if (dbias != null) {
      int o = from;
      for (; o <= to - L; o += L) {
        FloatVector acc = FloatVector.fromArray(S, dbias, dbiasOff + o);
        for (int n = 0; n < N; n++) {
          acc = acc.add(FloatVector.fromArray(S, dout, doutOff + n * OC + o));
        }
        acc.intoArray(dbias, dbiasOff + o);
      }
      for (; o < to; o++) {
        float s = dbias[dbiasOff + o];
        for (int n = 0; n < N; n++) {
          s += dout[doutOff + n * OC + o];
        }
        dbias[dbiasOff + o] = s;
      }
    }
  }
}
