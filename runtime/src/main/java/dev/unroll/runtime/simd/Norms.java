package dev.unroll.runtime.simd;

import static dev.unroll.runtime.simd.Vectors.L;
import static dev.unroll.runtime.simd.Vectors.S;
import static dev.unroll.runtime.simd.Vectors.SWAP_EIGHTH;
import static dev.unroll.runtime.simd.Vectors.SWAP_HALF;
import static dev.unroll.runtime.simd.Vectors.SWAP_QUARTER;
import static dev.unroll.runtime.simd.Vectors.SWAP_SIXTEENTH;
import static dev.unroll.runtime.simd.Vectors.dot;

import dev.unroll.runtime.thread.WorkerPool;
import jdk.incubator.vector.FloatVector;

/**
 * LayerNorm (GPT-2) and RMSNorm (LLAMA), forward and backward. LayerNorm's forward and its backward's dinp split
 * over the pool by rows, its dweight and dbias by channels (each a sum over rows in row order, by one thread);
 * RMSNorm runs on the calling thread. Each row's reductions stay in registers, in {@link VectorMath#sum}'s tree.
 */
final class Norms {

  /** llama2.c's RMSNorm epsilon, added to the mean of squares. */
  private static final float RMSNORM_EPS = 1e-5f;

  private Norms() {}

  /** {@link dev.unroll.runtime.kernel.Kernels#layernormForward}. */
  static void layernormForward(float[] out, int outOff, float[] mean, int meanOff, float[] rstd, int rstdOff,
      float[] inp, int inpOff, float[] weight, int weightOff, float[] bias, int biasOff, int N, int C, float eps) {
    WorkerPool pool = WorkerPool.acquire(8L * N * C);
    if (pool == null) {
      layernormForwardRows(out, outOff, mean, meanOff, rstd, rstdOff, inp, inpOff, weight, weightOff, bias, biasOff,
          C, eps, 0, N);
      return;
    }
    pool.run(J.task(LAYERNORM_FORWARD).out(out, outOff).mean(mean, meanOff).rstd(rstd, rstdOff).inp(inp, inpOff)
        .weight(weight, weightOff).bias(bias, biasOff).C(C).eps(eps), N, 1);
  }

  /** The arguments of this room's parallel tasks (see {@link KernelJob}). */
  private static final KernelJob J = new KernelJob();

  /** {@link #layernormForward}'s rows. */
  private static final KernelJob.Task LAYERNORM_FORWARD = (from, to) -> layernormForwardRows(J.out, J.outOff, J.mean,
      J.meanOff, J.rstd, J.rstdOff, J.inp, J.inpOff, J.weight, J.weightOff, J.bias, J.biasOff, J.C, J.eps, from, to);

  /** Rows [from, to) of {@link #layernormForward}. */
  private static void layernormForwardRows(float[] out, int outOff, float[] mean, int meanOff, float[] rstd,
      int rstdOff, float[] inp, int inpOff, float[] weight, int weightOff, float[] bias, int biasOff, int C, float eps,
      int from, int to) {
    int bound = S.loopBound(C);
    for (int n = from; n < to; n++) {
      int x = inpOff + n * C;
      int o = outOff + n * C;
      // mean
      float m = 0.0f;
      int i = 0;
      if (bound > 0) {
        FloatVector acc = FloatVector.zero(S);
        for (; i < bound; i += L) {
          acc = acc.add(FloatVector.fromArray(S, inp, x + i));
        }
        acc = acc.add(acc.rearrange(SWAP_HALF)); // VectorMath.sum's tree, written out (see Vectors.SWAP_HALF)
        acc = acc.add(acc.rearrange(SWAP_QUARTER));
        if (L >= 8) {
          acc = acc.add(acc.rearrange(SWAP_EIGHTH));
        }
        if (L >= 16) {
          acc = acc.add(acc.rearrange(SWAP_SIXTEENTH));
        }
        m = acc.lane(0);
      }
      for (; i < C; i++) {
        m += inp[x + i];
      }
      m = m / C;
      // biased variance
      float v = 0.0f;
      i = 0;
      if (bound > 0) {
        FloatVector vm = FloatVector.broadcast(S, m);
        FloatVector acc = FloatVector.zero(S);
        for (; i < bound; i += L) {
          FloatVector d = FloatVector.fromArray(S, inp, x + i).sub(vm);
          acc = d.fma(d, acc);
        }
        acc = acc.add(acc.rearrange(SWAP_HALF)); // VectorMath.sum's tree, written out (see Vectors.SWAP_HALF)
        acc = acc.add(acc.rearrange(SWAP_QUARTER));
        if (L >= 8) {
          acc = acc.add(acc.rearrange(SWAP_EIGHTH));
        }
        if (L >= 16) {
          acc = acc.add(acc.rearrange(SWAP_SIXTEENTH));
        }
        v = acc.lane(0);
      }
      for (; i < C; i++) {
        float d = inp[x + i] - m;
        v += d * d;
      }
      v = v / C;
      float s = 1.0f / (float) Math.sqrt(v + eps);
      // normalise, scale, shift
      i = 0;
      if (bound > 0) {
        FloatVector vm = FloatVector.broadcast(S, m);
        FloatVector vs = FloatVector.broadcast(S, s);
        for (; i < bound; i += L) {
          FloatVector norm = FloatVector.fromArray(S, inp, x + i).sub(vm).mul(vs);
          norm.mul(FloatVector.fromArray(S, weight, weightOff + i))
              .add(FloatVector.fromArray(S, bias, biasOff + i))
              .intoArray(out, o + i);
        }
      }
      for (; i < C; i++) {
        float norm = s * (inp[x + i] - m);
        out[o + i] = norm * weight[weightOff + i] + bias[biasOff + i];
      }
      mean[meanOff + n] = m;
      rstd[rstdOff + n] = s;
    }
  }

  /** {@link dev.unroll.runtime.kernel.Kernels#layernormBackward}. */
  static void layernormBackward(float[] dinp, int dinpOff, float[] dweight, int dweightOff, float[] dbias,
      int dbiasOff, float[] dout, int doutOff, float[] inp, int inpOff, float[] weight, int weightOff, float[] mean,
      int meanOff, float[] rstd, int rstdOff, int N, int C) {
    // two passes, so that dweight and dbias (sums over rows) are each added up by one thread in row order: dinp by
    // rows, then dweight and dbias by channels
    WorkerPool pool = WorkerPool.acquire(12L * N * C);
    if (pool == null) {
      layernormBackwardRows(dinp, dinpOff, dout, doutOff, inp, inpOff, weight, weightOff, mean, meanOff, rstd,
          rstdOff, C, 0, N);
    } else {
      pool.run(J.task(LAYERNORM_BACKWARD_ROWS).dinp(dinp, dinpOff).dout(dout, doutOff).inp(inp, inpOff)
          .weight(weight, weightOff).mean(mean, meanOff).rstd(rstd, rstdOff).C(C), N, 1);
    }
    pool = WorkerPool.acquire(4L * N * C);
    if (pool == null) {
      layernormBackwardChannels(dweight, dweightOff, dbias, dbiasOff, dout, doutOff, inp, inpOff, mean, meanOff,
          rstd, rstdOff, N, C, 0, C);
    } else {
      pool.run(J.task(LAYERNORM_BACKWARD_CHANNELS).dweight(dweight, dweightOff).dbias(dbias, dbiasOff)
          .dout(dout, doutOff).inp(inp, inpOff).mean(mean, meanOff).rstd(rstd, rstdOff).N(N).C(C), C, L);
    }
  }

  /** dinp's rows of {@link #layernormBackward}. */
  private static final KernelJob.Task LAYERNORM_BACKWARD_ROWS = (from, to) -> layernormBackwardRows(J.dinp,
      J.dinpOff, J.dout, J.doutOff, J.inp, J.inpOff, J.weight, J.weightOff, J.mean, J.meanOff, J.rstd, J.rstdOff, J.C,
      from, to);

  /** dweight's and dbias' channels of {@link #layernormBackward}. */
  private static final KernelJob.Task LAYERNORM_BACKWARD_CHANNELS = (from, to) -> layernormBackwardChannels(J.dweight,
      J.dweightOff, J.dbias, J.dbiasOff, J.dout, J.doutOff, J.inp, J.inpOff, J.mean, J.meanOff, J.rstd, J.rstdOff, J.N,
      J.C, from, to);

  /** dinp for rows [from, to) of {@link #layernormBackward}. */
  private static void layernormBackwardRows(float[] dinp, int dinpOff, float[] dout, int doutOff, float[] inp,
      int inpOff, float[] weight, int weightOff, float[] mean, int meanOff, float[] rstd, int rstdOff, int C,
      int from, int to) {
    int bound = S.loopBound(C);
    for (int n = from; n < to; n++) {
      int x = inpOff + n * C;
      int d = doutOff + n * C;
      int di = dinpOff + n * C;
      float m = mean[meanOff + n];
      float s = rstd[rstdOff + n];
      // the two reductions of the normalisation's backward
      float dnormMean = 0.0f;
      float dnormNormMean = 0.0f;
      int i = 0;
      if (bound > 0) {
        FloatVector vm = FloatVector.broadcast(S, m);
        FloatVector vs = FloatVector.broadcast(S, s);
        FloatVector accMean = FloatVector.zero(S);
        FloatVector accNormMean = FloatVector.zero(S);
        for (; i < bound; i += L) {
          FloatVector norm = FloatVector.fromArray(S, inp, x + i).sub(vm).mul(vs);
          FloatVector dnorm = FloatVector.fromArray(S, weight, weightOff + i)
              .mul(FloatVector.fromArray(S, dout, d + i));
          accMean = accMean.add(dnorm);
          accNormMean = dnorm.fma(norm, accNormMean);
        }
        // VectorMath.sum's tree, written out (see Vectors.SWAP_HALF)
        accMean = accMean.add(accMean.rearrange(SWAP_HALF));
        accMean = accMean.add(accMean.rearrange(SWAP_QUARTER));
        if (L >= 8) {
          accMean = accMean.add(accMean.rearrange(SWAP_EIGHTH));
        }
        if (L >= 16) {
          accMean = accMean.add(accMean.rearrange(SWAP_SIXTEENTH));
        }
        dnormMean = accMean.lane(0);
        // VectorMath.sum's tree, written out (see Vectors.SWAP_HALF)
        accNormMean = accNormMean.add(accNormMean.rearrange(SWAP_HALF));
        accNormMean = accNormMean.add(accNormMean.rearrange(SWAP_QUARTER));
        if (L >= 8) {
          accNormMean = accNormMean.add(accNormMean.rearrange(SWAP_EIGHTH));
        }
        if (L >= 16) {
          accNormMean = accNormMean.add(accNormMean.rearrange(SWAP_SIXTEENTH));
        }
        dnormNormMean = accNormMean.lane(0);
      }
      for (; i < C; i++) {
        float norm = (inp[x + i] - m) * s;
        float dnorm = weight[weightOff + i] * dout[d + i];
        dnormMean += dnorm;
        dnormNormMean += dnorm * norm;
      }
      dnormMean = dnormMean / C;
      dnormNormMean = dnormNormMean / C;
      // dinp
      i = 0;
      if (bound > 0) {
        FloatVector vm = FloatVector.broadcast(S, m);
        FloatVector vs = FloatVector.broadcast(S, s);
        FloatVector vMean = FloatVector.broadcast(S, dnormMean);
        FloatVector vNormMean = FloatVector.broadcast(S, dnormNormMean);
        for (; i < bound; i += L) {
          FloatVector norm = FloatVector.fromArray(S, inp, x + i).sub(vm).mul(vs);
          FloatVector dnorm = FloatVector.fromArray(S, weight, weightOff + i)
              .mul(FloatVector.fromArray(S, dout, d + i));
          FloatVector dval = dnorm.sub(vMean).sub(norm.mul(vNormMean)).mul(vs);
          FloatVector.fromArray(S, dinp, di + i).add(dval).intoArray(dinp, di + i);
        }
      }
      for (; i < C; i++) {
        float norm = (inp[x + i] - m) * s;
        float dnorm = weight[weightOff + i] * dout[d + i];
        dinp[di + i] += (dnorm - dnormMean - norm * dnormNormMean) * s;
      }
    }
  }

  /**
   * dweight and dbias for channels [from, to) of {@link #layernormBackward}, each a sum over all N rows in order;
   * from is a multiple of the vector length.
   */
  private static void layernormBackwardChannels(float[] dweight, int dweightOff, float[] dbias, int dbiasOff,
      float[] dout, int doutOff, float[] inp, int inpOff, float[] mean, int meanOff, float[] rstd, int rstdOff,
      int N, int C, int from, int to) {
    int vecEnd = Math.min(to, S.loopBound(C));
    for (int n = 0; n < N; n++) {
      int x = inpOff + n * C;
      int d = doutOff + n * C;
      float m = mean[meanOff + n];
      float s = rstd[rstdOff + n];
      int i = from;
      if (i < vecEnd) {
        FloatVector vm = FloatVector.broadcast(S, m);
        FloatVector vs = FloatVector.broadcast(S, s);
        for (; i < vecEnd; i += L) {
          FloatVector norm = FloatVector.fromArray(S, inp, x + i).sub(vm).mul(vs);
          FloatVector g = FloatVector.fromArray(S, dout, d + i);
          FloatVector.fromArray(S, dbias, dbiasOff + i).add(g).intoArray(dbias, dbiasOff + i);
          norm.fma(g, FloatVector.fromArray(S, dweight, dweightOff + i)).intoArray(dweight, dweightOff + i);
        }
      }
      for (; i < to; i++) {
        float norm = (inp[x + i] - m) * s;
        float g = dout[d + i];
        dbias[dbiasOff + i] += g;
        dweight[dweightOff + i] += norm * g;
      }
    }
  }

  /** {@link dev.unroll.runtime.kernel.Kernels#rmsnormForward}, on the calling thread. */
  static void rmsnormForward(float[] out, int outOff, float[] rstd, int rstdOff, float[] inp, int inpOff,
      float[] weight, int weightOff, int N, int C) {
    int bound = S.loopBound(C);
    for (int n = 0; n < N; n++) {
      int x = inpOff + n * C;
      int o = outOff + n * C;
      float ss = dot(inp, x, inp, x, C) / C + RMSNORM_EPS;
      float s = 1.0f / (float) Math.sqrt(ss);
      int i = 0;
      if (bound > 0) {
        FloatVector vs = FloatVector.broadcast(S, s);
        for (; i < bound; i += L) {
          FloatVector.fromArray(S, inp, x + i).mul(vs).mul(FloatVector.fromArray(S, weight, weightOff + i))
              .intoArray(out, o + i);
        }
      }
      for (; i < C; i++) {
        out[o + i] = weight[weightOff + i] * (s * inp[x + i]);
      }
      rstd[rstdOff + n] = s;
    }
  }

  /** {@link dev.unroll.runtime.kernel.Kernels#rmsnormBackward}, on the calling thread. */
  static void rmsnormBackward(float[] dinp, int dinpOff, float[] dweight, int dweightOff, float[] dout, int doutOff,
      float[] inp, int inpOff, float[] weight, int weightOff, float[] rstd, int rstdOff, int N, int C) {
    int bound = S.loopBound(C);
    for (int n = 0; n < N; n++) {
      int x = inpOff + n * C;
      int d = doutOff + n * C;
      int di = dinpOff + n * C;
      float s = rstd[rstdOff + n];
      // dx_i = rstd·w_i·g_i - x_i·rstd³/C · sum_j g_j·w_j·x_j
      float sum = 0.0f;
      int i = 0;
      if (bound > 0) {
        FloatVector acc = FloatVector.zero(S);
        for (; i < bound; i += L) {
          FloatVector gw = FloatVector.fromArray(S, dout, d + i).mul(FloatVector.fromArray(S, weight, weightOff + i));
          acc = gw.fma(FloatVector.fromArray(S, inp, x + i), acc);
        }
        acc = acc.add(acc.rearrange(SWAP_HALF)); // VectorMath.sum's tree, written out (see Vectors.SWAP_HALF)
        acc = acc.add(acc.rearrange(SWAP_QUARTER));
        if (L >= 8) {
          acc = acc.add(acc.rearrange(SWAP_EIGHTH));
        }
        if (L >= 16) {
          acc = acc.add(acc.rearrange(SWAP_SIXTEENTH));
        }
        sum = acc.lane(0);
      }
      for (; i < C; i++) {
        sum += dout[d + i] * weight[weightOff + i] * inp[x + i];
      }
      float k = sum * s * s * s / C;
      i = 0;
      if (bound > 0) {
        FloatVector vs = FloatVector.broadcast(S, s);
        FloatVector vk = FloatVector.broadcast(S, -k);
        for (; i < bound; i += L) {
          FloatVector g = FloatVector.fromArray(S, dout, d + i);
          FloatVector xv = FloatVector.fromArray(S, inp, x + i);
          xv.mul(vs).fma(g, FloatVector.fromArray(S, dweight, dweightOff + i)).intoArray(dweight, dweightOff + i);
          FloatVector dval = FloatVector.fromArray(S, weight, weightOff + i).mul(g).mul(vs).add(xv.mul(vk));
          FloatVector.fromArray(S, dinp, di + i).add(dval).intoArray(dinp, di + i);
        }
      }
      for (; i < C; i++) {
        float g = dout[d + i];
        dweight[dweightOff + i] += g * (s * inp[x + i]);
        dinp[di + i] += s * weight[weightOff + i] * g - k * inp[x + i];
      }
    }
  }
}
