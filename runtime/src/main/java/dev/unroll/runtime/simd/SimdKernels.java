package dev.unroll.runtime.simd;

import dev.unroll.runtime.kernel.Kernels;
import dev.unroll.runtime.number.Bf16;
import dev.unroll.runtime.number.Int8;
import dev.unroll.runtime.thread.WorkerPool.Args;
import dev.unroll.runtime.thread.WorkerPool.RangeTask;
import dev.unroll.runtime.thread.WorkerPool;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicReferenceArray;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link Kernels} on the Java Vector API, with the species the CPU prefers. Vector bodies with scalar tails;
 * matmuls are register-blocked GEMMs (six rows by two vectors of columns at a time, on blocks of the reused
 * operand packed into panels that stay in L2; the forward as dot products, four rows by two weight rows, below 32
 * rows); training's attention runs on the same six-by-two micro-kernel, per (batch, head): the scores, the
 * weighted sum and the four backward products are GEMMs over packed panels of keys, values, queries or dout;
 * decoding's matrix-vector products read four streams at a time (two for int8 weights, which are bound by their
 * conversion to floats rather than by memory).
 * Results match {@code ScalarKernels} up to float rounding: sums run in a different order, products are fused, and
 * exp and tanh come from {@link VectorMath}, which gives the same bits interpreted or compiled (so results are
 * deterministic).
 *
 * <p>Threads: kernels large enough to pay for a hand-off ({@link WorkerPool#MIN_PARALLEL_WORK}) split over the
 * {@link WorkerPool}: matmul forward by output channel from 32 rows (by rows below), layernorm, softmax and the
 * encoder by rows; matmul backward's dinp by rows (by columns when it has fewer rows than columns) and its dweight
 * and dbias by output channel; attention by (batch, head); pointwise kernels and zero by ranges of whole vectors;
 * decoding's matrix-vector products (float32, bfloat16 and int8) by output rows, one share per thread, and its
 * attention by head. Every output element is computed by one thread in the same order as on one thread, so results
 * are bit-identical for every thread count. {@code encoderBackward} (a scatter-add into token rows) and
 * {@code crossEntropyForward} (a sum over rows) stay on the calling thread.
 *
 * <p>Allocation: none once C2 has compiled the kernels, provided that no vector reaches a call C2 does not inline
 * (hence the helpers below return scalars or write arrays, and {@link VectorMath}'s exp and tanh work on arrays),
 * and that every vector loop with a loop-carried vector (an accumulator) lies within C2's parse budget. Past
 * NodeCountInliningCutoff (18,000 ideal nodes) in one compilation, C2 defers the rest of the method's Vector API
 * calls; a deferred call's result is a vector of no exact class, and the next operation on it is inlined behind a
 * class check. When the compilation has seen too many class-check traps (C2 adds them up over every inlined method,
 * and warm-up leaves some in the Vector API's own methods), that check falls back to a real virtual call, for
 * which the vector is allocated. Where no vector is loop-carried, the check folds away once the deferred call is
 * inlined; on an accumulator it cannot, and every pass allocates. Which fallback C2 picks depends on profiles, so
 * such a kernel allocates in some runs and not in others. A Vector API call costs some 400 nodes, exp's vector body
 * 8,000, {@link #dot} 5,000 to 6,500; a method over 325 bytes of bytecode (FreqInlineSize) is never inlined, and so
 * is a budget of its own. ({@code dot4x2} and {@code geluBackwardRange} go a little past the budget, but after
 * dot4x2's accumulators and in gelu's pointwise body.)
 *
 * <p>Why exp and tanh take arrays: a method over 35 bytes (MaxInlineSize) is inlined only where C2's profile says
 * its call runs at least a quarter as often as the method that makes it (InlineFrequencyRatio), and a method that
 * is compiled on its own (exp's vector form was, to about 1 kB of code) is then not inlined at a colder call at
 * all. That profile depends on the shape (a softmax over fewer keys than a vector has lanes skips its vector loop:
 * on AVX-512, 16 lanes, a decoder with a context of 16 reached attention's exp on one call in 16), on what ran
 * before, and on when the compilations happened: seen with exp taking and returning vectors, decoding int8 EVEN on
 * AVX-512 allocated 1,536 bytes a round for good (exp not inlined into {@code gqaScoresSoftmax}, "too big"), a
 * Llama decode after other models allocated in {@code swigluForward} (exp "already compiled into a medium
 * method"), and on a busy machine {@code geluBackwardRange} allocated in some runs of the kernel test and not in
 * others. With arrays in and out no vector crosses those calls, whatever C2 decides. The pointwise kernels compute
 * the arguments of exp or tanh a chunk at a time into a thread's {@link #SCRATCH} and combine the results after.
 */
public final class SimdKernels implements Kernels {

  /** The one instance; the class holds no state. */
  public static final SimdKernels INSTANCE = new SimdKernels();

  private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

  private static final int L = S.length();

  /**
   * Lane permutations for adding a vector's lanes in {@link VectorMath#sum}'s tree, written out where a method
   * reduces several vectors: a call per reduction there was not inlined by C2, and a vector passed to a call that is
   * not inlined is allocated.
   */
  private static final VectorShuffle<Float> SWAP_HALF = swap(L / 2);
  private static final VectorShuffle<Float> SWAP_QUARTER = swap(L / 4);
  private static final VectorShuffle<Float> SWAP_EIGHTH = swap(L / 8);
  private static final VectorShuffle<Float> SWAP_SIXTEENTH = swap(L / 16);

  /** Floats of the weight rows the dot-product forward reuses (128 KiB): they stay in L2 while the rows stream. */
  private static final int TILE_FLOATS = 32 * 1024;

  /**
   * A GEMM's blocks: GEMM_KC terms by GEMM_NC columns of the operand it reuses (128 KiB, in L2). Shares of rows are
   * multiples of six (the GEMM's tile), so that few rows take its slower remainder loops.
   */
  private static final int GEMM_KC = 256;
  private static final int GEMM_NC = 128;

  /** Each thread's packed block of a GEMM operand (GEMM_KC by GEMM_NC), made on its first GEMM and reused after. */
  private static final ThreadLocal<float[]> PANELS = ThreadLocal.withInitial(() -> new float[GEMM_KC * GEMM_NC]);

  /** Rows of a transposed GEMM operand copied at a time (see {@link #gemmBlocks}): 768 KiB, in L3. */
  private static final int GEMM_MB = 768;

  /** Each thread's GEMM_MB rows of a transposed GEMM operand, GEMM_KC terms each (see {@link #gemmBlocks}). */
  private static final ThreadLocal<float[]> A_ROWS = ThreadLocal.withInitial(() -> new float[GEMM_MB * GEMM_KC]);

  /** Floats the pointwise kernels with an exp or a tanh work on at a time (see {@link #SCRATCH}). */
  private static final int CHUNK = 256;

  /**
   * Each thread's two chunks of scratch for the pointwise kernels: they compute exp's or tanh's arguments into one
   * for {@link VectorMath}'s array methods, which keep every vector inside them (see the class comment).
   */
  private static final ThreadLocal<float[]> SCRATCH = ThreadLocal.withInitial(() -> new float[2 * CHUNK]);

  private static final float GELU_SCALING_FACTOR = (float) Math.sqrt((float) (2.0 / Math.PI));

  private static final float GELU_CUBE = 0.044715f;

  private static final float LAYERNORM_EPS = 1e-5f;

  /** Initial running maximum in llm.c's softmaxes. */
  private static final float MAX_START = -10000.0f;

  private SimdKernels() {}

  /** Lane i takes lane i ^ d; the identity for d = 0 (a level that vectors of this length do not have). */
  private static VectorShuffle<Float> swap(int d) {
    return VectorShuffle.fromOp(S, i -> i ^ d);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // small vector helpers; each returns a scalar or writes an array, so no vector leaves a method

  /** Sum of a[ao..ao+n) * b[bo..bo+n). */
  private static float dot(float[] a, int ao, float[] b, int bo, int n) {
    int bound = S.loopBound(n);
    int i = 0;
    float s = 0.0f;
    if (bound > 0) {
      FloatVector acc0 = FloatVector.zero(S);
      FloatVector acc1 = FloatVector.zero(S);
      for (; i + L < bound; i += 2 * L) {
        acc0 = FloatVector.fromArray(S, a, ao + i).fma(FloatVector.fromArray(S, b, bo + i), acc0);
        acc1 = FloatVector.fromArray(S, a, ao + i + L).fma(FloatVector.fromArray(S, b, bo + i + L), acc1);
      }
      if (i < bound) {
        acc0 = FloatVector.fromArray(S, a, ao + i).fma(FloatVector.fromArray(S, b, bo + i), acc0);
        i += L;
      }
      acc0 = acc0.add(acc1);
      acc0 = acc0.add(acc0.rearrange(SWAP_HALF));
      acc0 = acc0.add(acc0.rearrange(SWAP_QUARTER));
      if (L >= 8) {
        acc0 = acc0.add(acc0.rearrange(SWAP_EIGHTH));
      }
      if (L >= 16) {
        acc0 = acc0.add(acc0.rearrange(SWAP_SIXTEENTH));
      }
      s = acc0.lane(0);
    }
    for (; i < n; i++) {
      s += a[ao + i] * b[bo + i];
    }
    return s;
  }

  /** y[yo..yo+n) += alpha * x[xo..xo+n). */
  private static void axpy(float[] y, int yo, float alpha, float[] x, int xo, int n) {
    int bound = S.loopBound(n);
    int i = 0;
    if (bound > 0) {
      FloatVector va = FloatVector.broadcast(S, alpha);
      for (; i < bound; i += L) {
        FloatVector.fromArray(S, x, xo + i).fma(va, FloatVector.fromArray(S, y, yo + i)).intoArray(y, yo + i);
      }
    }
    for (; i < n; i++) {
      y[yo + i] += alpha * x[xo + i];
    }
  }

  /** y[yo..yo+n) += x[xo..xo+n). */
  private static void addInto(float[] y, int yo, float[] x, int xo, int n) {
    int bound = S.loopBound(n);
    int i = 0;
    for (; i < bound; i += L) {
      FloatVector.fromArray(S, y, yo + i).add(FloatVector.fromArray(S, x, xo + i)).intoArray(y, yo + i);
    }
    for (; i < n; i++) {
      y[yo + i] += x[xo + i];
    }
  }

  /** out[oo..oo+n) = a[ao..ao+n) + b[bo..bo+n). */
  private static void add(float[] out, int oo, float[] a, int ao, float[] b, int bo, int n) {
    int bound = S.loopBound(n);
    int i = 0;
    for (; i < bound; i += L) {
      FloatVector.fromArray(S, a, ao + i).add(FloatVector.fromArray(S, b, bo + i)).intoArray(out, oo + i);
    }
    for (; i < n; i++) {
      out[oo + i] = a[ao + i] + b[bo + i];
    }
  }

  /**
   * out[oo + i] = e^(in[io + i] - max) for i &lt; n, and their sum: the whole vectors' lanes summed in
   * {@link VectorMath#sum}'s tree, then the rest in order. The exp pass of every softmax; {@code in} may be
   * {@code out}.
   */
  private static float expShifted(float[] in, int io, float max, float[] out, int oo, int n) {
    int bound = S.loopBound(n);
    int i = 0;
    if (bound > 0) {
      FloatVector vmax = FloatVector.broadcast(S, max);
      for (; i < bound; i += L) {
        FloatVector.fromArray(S, in, io + i).sub(vmax).intoArray(out, oo + i);
      }
    }
    for (; i < n; i++) {
      out[oo + i] = in[io + i] - max;
    }
    VectorMath.exp(out, oo, n);
    float sum = 0.0f;
    i = 0;
    if (bound > 0) {
      FloatVector acc = FloatVector.zero(S);
      for (; i < bound; i += L) {
        acc = acc.add(FloatVector.fromArray(S, out, oo + i));
      }
      acc = acc.add(acc.rearrange(SWAP_HALF)); // VectorMath.sum's tree, written out (see SWAP_HALF)
      acc = acc.add(acc.rearrange(SWAP_QUARTER));
      if (L >= 8) {
        acc = acc.add(acc.rearrange(SWAP_EIGHTH));
      }
      if (L >= 16) {
        acc = acc.add(acc.rearrange(SWAP_SIXTEENTH));
      }
      sum = acc.lane(0);
    }
    for (; i < n; i++) {
      sum += out[oo + i];
    }
    return sum;
  }

  /** a[ao..ao+n) *= s. */
  private static void scale(float[] a, int ao, float s, int n) {
    int bound = S.loopBound(n);
    int i = 0;
    if (bound > 0) {
      FloatVector vs = FloatVector.broadcast(S, s);
      for (; i < bound; i += L) {
        FloatVector.fromArray(S, a, ao + i).mul(vs).intoArray(a, ao + i);
      }
    }
    for (; i < n; i++) {
      a[ao + i] *= s;
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // encoder

  @Override
  public void encoderForward(float[] out, int outOff, int[] inp, float[] wte, int wteOff, float[] wpe, int wpeOff,
      int B, int T, int C) {
    WorkerPool pool = WorkerPool.acquire((long) B * T * C);
    if (pool == null) {
      encoderForwardRows(out, outOff, inp, wte, wteOff, wpe, wpeOff, T, C, 0, B * T);
      return;
    }
    Args a = pool.args();
    a.f0 = out;
    a.i0 = outOff;
    a.n0 = inp;
    a.f1 = wte;
    a.i1 = wteOff;
    a.f2 = wpe;
    a.i2 = wpeOff;
    a.i3 = T;
    a.i4 = C;
    pool.run(ENCODER_FORWARD, B * T, 1);
  }

  private static final RangeTask ENCODER_FORWARD =
      (a, from, to) -> encoderForwardRows(a.f0, a.i0, a.n0, a.f1, a.i1, a.f2, a.i2, a.i3, a.i4, from, to);

  /** Positions [from, to) of {@link #encoderForward}. */
  private static void encoderForwardRows(float[] out, int outOff, int[] inp, float[] wte, int wteOff, float[] wpe,
      int wpeOff, int T, int C, int from, int to) {
    for (int bt = from; bt < to; bt++) {
      add(out, outOff + bt * C, wte, wteOff + inp[bt] * C, wpe, wpeOff + (bt % T) * C, C);
    }
  }

  @Override
  public void encoderBackward(float[] dwte, int dwteOff, float[] dwpe, int dwpeOff, float[] dout, int doutOff,
      int[] inp, int B, int T, int C) {
    for (int b = 0; b < B; b++) {
      for (int t = 0; t < T; t++) {
        int d = doutOff + (b * T + t) * C;
        addInto(dwte, dwteOff + inp[b * T + t] * C, dout, d, C);
        addInto(dwpe, dwpeOff + t * C, dout, d, C);
      }
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // layernorm

  @Override
  public void layernormForward(float[] out, int outOff, float[] mean, int meanOff, float[] rstd, int rstdOff,
      float[] inp, int inpOff, float[] weight, int weightOff, float[] bias, int biasOff, int N, int C) {
    WorkerPool pool = WorkerPool.acquire(8L * N * C);
    if (pool == null) {
      layernormForwardRows(out, outOff, mean, meanOff, rstd, rstdOff, inp, inpOff, weight, weightOff, bias, biasOff,
          C, 0, N);
      return;
    }
    Args a = pool.args();
    a.f0 = out;
    a.i0 = outOff;
    a.f1 = mean;
    a.i1 = meanOff;
    a.f2 = rstd;
    a.i2 = rstdOff;
    a.f3 = inp;
    a.i3 = inpOff;
    a.f4 = weight;
    a.i4 = weightOff;
    a.f5 = bias;
    a.i5 = biasOff;
    a.i6 = C;
    pool.run(LAYERNORM_FORWARD, N, 1);
  }

  private static final RangeTask LAYERNORM_FORWARD = (a, from, to) -> layernormForwardRows(a.f0, a.i0, a.f1, a.i1,
      a.f2, a.i2, a.f3, a.i3, a.f4, a.i4, a.f5, a.i5, a.i6, from, to);

  /** Rows [from, to) of {@link #layernormForward}. */
  private static void layernormForwardRows(float[] out, int outOff, float[] mean, int meanOff, float[] rstd,
      int rstdOff, float[] inp, int inpOff, float[] weight, int weightOff, float[] bias, int biasOff, int C, int from,
      int to) {
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
        acc = acc.add(acc.rearrange(SWAP_HALF)); // VectorMath.sum's tree, written out (see SWAP_HALF)
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
        acc = acc.add(acc.rearrange(SWAP_HALF)); // VectorMath.sum's tree, written out (see SWAP_HALF)
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
      float s = 1.0f / (float) Math.sqrt(v + LAYERNORM_EPS);
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

  @Override
  public void layernormBackward(float[] dinp, int dinpOff, float[] dweight, int dweightOff, float[] dbias,
      int dbiasOff, float[] dout, int doutOff, float[] inp, int inpOff, float[] weight, int weightOff, float[] mean,
      int meanOff, float[] rstd, int rstdOff, int N, int C) {
    // two passes, so that dweight and dbias (sums over rows) are each added up by one thread in row order: dinp by
    // rows, then dweight and dbias by channels
    WorkerPool pool = WorkerPool.acquire(12L * N * C);
    if (pool == null) {
      layernormBackwardRows(dinp, dinpOff, dout, doutOff, inp, inpOff, weight, weightOff, mean, meanOff, rstd,
          rstdOff, C, 0, N);
    } else {
      layernormBackwardArgs(pool, dinp, dinpOff, dweight, dweightOff, dbias, dbiasOff, dout, doutOff, inp,
          inpOff, weight, weightOff, mean, meanOff, rstd, rstdOff, N, C);
      pool.run(LAYERNORM_BACKWARD_ROWS, N, 1);
    }
    pool = WorkerPool.acquire(4L * N * C);
    if (pool == null) {
      layernormBackwardChannels(dweight, dweightOff, dbias, dbiasOff, dout, doutOff, inp, inpOff, mean, meanOff,
          rstd, rstdOff, N, C, 0, C);
    } else {
      layernormBackwardArgs(pool, dinp, dinpOff, dweight, dweightOff, dbias, dbiasOff, dout, doutOff, inp, inpOff,
          weight, weightOff, mean, meanOff, rstd, rstdOff, N, C);
      pool.run(LAYERNORM_BACKWARD_CHANNELS, C, L);
    }
  }

  private static void layernormBackwardArgs(WorkerPool pool, float[] dinp, int dinpOff, float[] dweight,
      int dweightOff, float[] dbias, int dbiasOff, float[] dout, int doutOff, float[] inp, int inpOff,
      float[] weight, int weightOff, float[] mean, int meanOff, float[] rstd, int rstdOff, int N, int C) {
    Args a = pool.args();
    a.f0 = dinp;
    a.i0 = dinpOff;
    a.f1 = dweight;
    a.i1 = dweightOff;
    a.f2 = dbias;
    a.i2 = dbiasOff;
    a.f3 = dout;
    a.i3 = doutOff;
    a.f4 = inp;
    a.i4 = inpOff;
    a.f5 = weight;
    a.i5 = weightOff;
    a.f6 = mean;
    a.i6 = meanOff;
    a.f7 = rstd;
    a.i7 = rstdOff;
    a.i8 = N;
    a.i9 = C;
  }

  private static final RangeTask LAYERNORM_BACKWARD_ROWS = (a, from, to) -> layernormBackwardRows(a.f0, a.i0, a.f3,
      a.i3, a.f4, a.i4, a.f5, a.i5, a.f6, a.i6, a.f7, a.i7, a.i9, from, to);

  private static final RangeTask LAYERNORM_BACKWARD_CHANNELS = (a, from, to) -> layernormBackwardChannels(a.f1,
      a.i1, a.f2, a.i2, a.f3, a.i3, a.f4, a.i4, a.f6, a.i6, a.f7, a.i7, a.i8, a.i9, from, to);

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
        accMean = accMean.add(accMean.rearrange(SWAP_HALF)); // VectorMath.sum's tree, written out (see SWAP_HALF)
        accMean = accMean.add(accMean.rearrange(SWAP_QUARTER));
        if (L >= 8) {
          accMean = accMean.add(accMean.rearrange(SWAP_EIGHTH));
        }
        if (L >= 16) {
          accMean = accMean.add(accMean.rearrange(SWAP_SIXTEENTH));
        }
        dnormMean = accMean.lane(0);
        accNormMean = accNormMean.add(accNormMean.rearrange(SWAP_HALF)); // VectorMath.sum's tree, written out (see SWAP_HALF)
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

  // ---------------------------------------------------------------------------------------------------------------
  // matmul

  @Override
  public void matmulForward(float[] out, int outOff, float[] inp, int inpOff, float[] weight, int weightOff,
      float[] bias, int biasOff, int N, int C, int OC) {
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
    Args a = pool.args();
    a.f0 = out;
    a.i0 = outOff;
    a.f1 = inp;
    a.i1 = inpOff;
    a.f2 = weight;
    a.i2 = weightOff;
    a.f3 = bias;
    a.i3 = biasOff;
    a.i4 = C;
    a.i5 = OC;
    a.i6 = N;
    if (N < 4) {
      // too few rows to share (decoding has one): share the output columns, 16 at a time (four per stream); each
      // still gets the tail's dot
      pool.run(MATMUL_FORWARD_COLUMNS, OC, onePerThread(OC, 16));
      return;
    }
    if (N >= GEMM_FORWARD_ROWS) {
      // shares of output channels, so that each block of the weight is packed once; they start at whole vectors,
      // so only the last channels (past the last whole vector) take the scalar tail, as on one thread
      pool.run(MATMUL_FORWARD_GEMM, OC, L);
      return;
    }
    // shares start at multiples of 4 rows, so every row falls in the same 4-row block or tail as on one thread
    pool.run(MATMUL_FORWARD, N, 4);
  }

  /**
   * From this many rows, the forward runs as a GEMM on packed blocks of the weight ({@link #matmulForwardGemm});
   * below, as dot products ({@link #matmulForwardRows}), where transposing the weight would cost more than it saves.
   */
  private static final int GEMM_FORWARD_ROWS = 32;

  private static final RangeTask MATMUL_FORWARD_GEMM = (a, from, to) -> matmulForwardGemm(a.f0, a.i0, a.f1, a.i1,
      a.f2, a.i2, a.f3, a.i3, a.i6, a.i4, a.i5, from, to);

  /**
   * Output channels [from, to) of {@link #matmulForward}, every row, as a GEMM: out starts as the bias, then for
   * each block of the weight (GEMM_NC output channels by GEMM_KC input channels, in order of input channel) the
   * block is transposed into the thread's panels, so that output channels are contiguous, and {@link #gemmPanels}
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

  private static final RangeTask MATMUL_FORWARD_COLUMNS = (a, from, to) -> matmulForwardColumns(a.f0, a.i0, a.f1,
      a.i1, a.f2, a.i2, a.f3, a.i3, a.i4, a.i5, a.i6, from, to);

  /**
   * Columns [from, to) of {@link #matmulForward} for fewer than 4 rows: what the row path's tail computes, each
   * column's {@link #dot}. This is decoding's matrix-vector product, bound by memory bandwidth: it reads four
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
   * out[y + r] = bias[r] + {@link #dot}(inp at x, weight row r) for the four rows r0..r3, each summed exactly as
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
      a0 = a0.add(b0); // dot's tree, written out (see SWAP_HALF)
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

  private static final RangeTask MATMUL_FORWARD = (a, from, to) -> matmulForwardRows(a.f0, a.i0, a.f1, a.i1, a.f2,
      a.i2, a.f3, a.i3, a.i4, a.i5, from, to);

  /** Rows [from, to) of {@link #matmulForward}; from is a multiple of 4. */
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

  @Override
  public void matmulBackward(float[] dinp, int dinpOff, float[] dweight, int dweightOff, float[] dbias,
      int dbiasOff, float[] dout, int doutOff, float[] inp, int inpOff, float[] weight, int weightOff, int N, int C,
      int OC) {
    long work = 2L * N * C * OC;
    // dinp (N,C) += dout (N,OC) · weight (OC,C), by rows of dinp, or by columns when there are fewer rows than
    // columns: each share packs every block of the weight it reads, and a share of few rows spreads that over few
    // tiles (gpt2's classifier, 50304 x 768, was packed once per share of 64 rows). Either way each element gets
    // the same operations, so the same bits.
    WorkerPool pool = WorkerPool.acquire(work);
    if (pool == null) {
      matmulBackwardInput(dinp, dinpOff, dout, doutOff, weight, weightOff, N, C, OC, 0, N, 0, C);
    } else {
      matmulBackwardArgs(pool, dinp, dinpOff, dweight, dweightOff, dbias, dbiasOff, dout, doutOff, inp, inpOff,
          weight, weightOff, N, C, OC);
      if (N >= C) {
        pool.run(MATMUL_BACKWARD_INPUT_ROWS, N, 6);
      } else {
        pool.run(MATMUL_BACKWARD_INPUT_COLUMNS, C, 2 * L);
      }
    }
    // dweight (OC,C) += doutᵀ (OC,N) · inp (N,C) and dbias, by output channel: each element sums over N in order
    pool = WorkerPool.acquire(work);
    if (pool == null) {
      matmulBackwardWeightRows(dweight, dweightOff, dbias, dbiasOff, dout, doutOff, inp, inpOff, N, C, OC, 0, OC);
    } else {
      matmulBackwardArgs(pool, dinp, dinpOff, dweight, dweightOff, dbias, dbiasOff, dout, doutOff, inp, inpOff,
          weight, weightOff, N, C, OC);
      pool.run(MATMUL_BACKWARD_WEIGHT, OC, 3 * L);
    }
  }

  private static void matmulBackwardArgs(WorkerPool pool, float[] dinp, int dinpOff, float[] dweight,
      int dweightOff, float[] dbias, int dbiasOff, float[] dout, int doutOff, float[] inp, int inpOff,
      float[] weight, int weightOff, int N, int C, int OC) {
    Args a = pool.args();
    a.f0 = dinp;
    a.i0 = dinpOff;
    a.f1 = dweight;
    a.i1 = dweightOff;
    a.f2 = dbias;
    a.i2 = dbiasOff;
    a.f3 = dout;
    a.i3 = doutOff;
    a.f4 = inp;
    a.i4 = inpOff;
    a.f5 = weight;
    a.i5 = weightOff;
    a.i6 = N;
    a.i7 = C;
    a.i8 = OC;
  }

  private static final RangeTask MATMUL_BACKWARD_INPUT_ROWS = (a, from, to) -> matmulBackwardInput(a.f0, a.i0, a.f3,
      a.i3, a.f5, a.i5, a.i6, a.i7, a.i8, from, to, 0, a.i7);

  private static final RangeTask MATMUL_BACKWARD_INPUT_COLUMNS = (a, from, to) -> matmulBackwardInput(a.f0, a.i0,
      a.f3, a.i3, a.f5, a.i5, a.i6, a.i7, a.i8, 0, a.i6, from, to);

  private static final RangeTask MATMUL_BACKWARD_WEIGHT = (a, from, to) -> matmulBackwardWeightRows(a.f1, a.i1,
      a.f2, a.i2, a.f3, a.i3, a.f4, a.i4, a.i6, a.i7, a.i8, from, to);

  /**
   * Rows [r0, r1) by columns [j0, j1) of dinp in {@link #matmulBackward}: dinp += dout · weight, blocked by
   * {@link #gemmBlocks}; j0 is a multiple of two vectors.
   */
  private static void matmulBackwardInput(float[] dinp, int dinpOff, float[] dout, int doutOff, float[] weight,
      int weightOff, int N, int C, int OC, int r0, int r1, int j0, int j1) {
    gemmBlocks(dinp, dinpOff + r0 * C + j0, dout, doutOff + r0 * OC, OC, 1, weight, weightOff + j0, C, r1 - r0, OC,
        j1 - j0);
  }

  /**
   * Output channels [from, to) of dweight and dbias in {@link #matmulBackward}: dweight += doutᵀ · inp, blocked by
   * {@link #gemmBlocks}; from is a multiple of the vector length.
   */
  private static void matmulBackwardWeightRows(float[] dweight, int dweightOff, float[] dbias, int dbiasOff,
      float[] dout, int doutOff, float[] inp, int inpOff, int N, int C, int OC, int from, int to) {
    gemmBlocks(dweight, dweightOff + from * C, dout, doutOff + from, 1, OC, inp, inpOff, C, to - from, N, C);
    // dbias (OC) += column sums of dout
    if (dbias != null) {
      int vecEnd = Math.min(to, S.loopBound(OC));
      int o = from;
      for (; o < vecEnd; o += L) {
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

  /**
   * c (M by cols, rows ld floats apart) += a (M by K; a[r, k] at a0 + r*ars + k*aks) times b (K by cols, rows ld
   * floats apart), by blocks of GEMM_NC columns and GEMM_KC terms: each block of b is packed into the thread's
   * panels (128 KiB, in L2 while the rows pass by), and each six-row tile of c takes GEMM_KC terms in registers
   * between a load and a store (short runs spend their time loading and storing c). Terms in order of k.
   *
   * <p>An a stored transposed (aks != 1, ars = 1: dout's columns in a weight gradient) is first copied, GEMM_MB rows
   * by GEMM_KC terms at a time, into rows that run along k ({@link #transposeRows}), and that block's rows then meet
   * every block of b (each c element still takes its terms in order of k). Read in place, a's six adjacent floats
   * per k, a cache line from the next k's, ran 27% slower in L1; copied six rows at a time before each block of b,
   * the copies took a tenth of the weight gradient. Two threads, in-JVM A/B: gpt2's training step 71.0 -> 77.1 ->
   * 77.5 tokens/s (read in place, six rows per block of b, GEMM_MB rows once), medium 804 -> 825 -> 881, baby
   * 7.59k -> 7.96k -> 8.75k (the machine's speed drifts between runs; each arrow is one run).
   */
  private static void gemmBlocks(float[] c, int c0, float[] a, int a0, int ars, int aks, float[] b, int b0, int ld,
      int M, int K, int cols) {
    float[] panels = PANELS.get();
    if (aks != 1) {
      if (ars != 1) {
        throw badStrides(ars, aks);
      }
      float[] rows = A_ROWS.get();
      for (int r0 = 0; r0 < M; r0 += GEMM_MB) {
        int mb = Math.min(GEMM_MB, M - r0);
        for (int k0 = 0; k0 < K; k0 += GEMM_KC) {
          int kt = Math.min(GEMM_KC, K - k0);
          transposeRows(a, a0 + r0 + k0 * aks, aks, mb, kt, rows);
          for (int j0 = 0; j0 < cols; j0 += GEMM_NC) {
            int jt = Math.min(GEMM_NC, cols - j0);
            packRows(b, b0 + k0 * ld + j0, ld, kt, jt, panels);
            gemmPanels(c, c0 + r0 * ld + j0, ld, rows, 0, kt, 1, panels, mb, kt, jt);
          }
        }
      }
      return;
    }
    for (int j0 = 0; j0 < cols; j0 += GEMM_NC) {
      int jt = Math.min(GEMM_NC, cols - j0);
      for (int k0 = 0; k0 < K; k0 += GEMM_KC) {
        int kt = Math.min(GEMM_KC, K - k0);
        packRows(b, b0 + k0 * ld + j0, ld, kt, jt, panels);
        gemmPanels(c, c0 + j0, ld, a, a0 + k0 * aks, ars, aks, panels, M, kt, jt);
      }
    }
  }

  /** The GEMMs take an a whose rows run along k (aks = 1) or lie side by side (ars = 1): not this one. */
  private static IllegalArgumentException badStrides(int ars, int aks) {
    return new IllegalArgumentException("a GEMM operand with rows " + ars + " and terms " + aks + " floats apart");
  }

  /**
   * rows[r * kt + k] = a[a0 + k * aks + r] for r &lt; m, k &lt; kt: rows of a transposed operand (a weight gradient's
   * dout columns) as rows that run along k, for {@link #gemm6x2Rows}.
   */
  private static void transposeRows(float[] a, int a0, int aks, int m, int kt, float[] rows) {
    int r = 0;
    for (; r + 6 <= m; r += 6) {
      int t = r * kt;
      for (int k = 0; k < kt; k++) {
        int ak = a0 + k * aks + r;
        rows[t + k] = a[ak];
        rows[t + kt + k] = a[ak + 1];
        rows[t + 2 * kt + k] = a[ak + 2];
        rows[t + 3 * kt + k] = a[ak + 3];
        rows[t + 4 * kt + k] = a[ak + 4];
        rows[t + 5 * kt + k] = a[ak + 5];
      }
    }
    for (; r < m; r++) {
      for (int k = 0; k < kt; k++) {
        rows[r * kt + k] = a[a0 + k * aks + r];
      }
    }
  }

  /**
   * Copies b[k, j] (k &lt; K, j &lt; cols; at b0 + k*ldb + j) into {@link #gemmPanels}' layout: panels of two vectors of
   * columns, each K rows of 2L floats one after another, then the columns left over (cols mod 2L) as one narrower
   * panel. A GEMM then reads its operand as one stream: the rows of a block far apart in memory (a row of 768 or
   * 3072 floats) fall into few cache sets and evict one another.
   */
  private static void packRows(float[] b, int b0, int ldb, int K, int cols, float[] panels) {
    int full = cols / (2 * L);
    for (int p = 0; p < full; p++) {
      int dst = p * K * 2 * L;
      int src = b0 + p * 2 * L;
      for (int k = 0; k < K; k++) {
        FloatVector.fromArray(S, b, src + k * ldb).intoArray(panels, dst + k * 2 * L);
        FloatVector.fromArray(S, b, src + k * ldb + L).intoArray(panels, dst + k * 2 * L + L);
      }
    }
    int w = cols - full * 2 * L;
    int dst = full * K * 2 * L;
    for (int k = 0; k < K; k++) {
      System.arraycopy(b, b0 + k * ldb + full * 2 * L, panels, dst + k * w, w);
    }
  }

  /** {@link #packRows} of the transpose: b[k, j] = w[w0 + j*ldw + k] (a block of a weight, rows by channels). */
  private static void packTransposed(float[] w, int w0, int ldw, int K, int cols, float[] panels) {
    for (int j = 0; j < cols; j++) {
      int p = j / (2 * L);
      int width = Math.min(2 * L, cols - p * 2 * L);
      int dst = p * K * 2 * L + j - p * 2 * L;
      int src = w0 + j * ldw;
      for (int k = 0; k < K; k++) {
        panels[dst + k * width] = w[src + k];
      }
    }
  }

  /**
   * c[r, j] += sum over k in order of a[r, k] * b[k, j], for r &lt; M, j &lt; cols, k &lt; K, with b packed by
   * {@link #packRows} or {@link #packTransposed}. Element (r, j) of c is at c0 + r*ldc + j, a[r, k] at a0 + r*ars
   * + k*aks. Each c element gets its terms in the order of k, as the scalar loops add them (however the rows and
   * columns are grouped: the same bits); six rows by two vectors of columns at a time ({@link #gemm6x2Rows}), then the
   * general loops for the rows past the last six and the narrow panel.
   */
  private static void gemmPanels(float[] c, int c0, int ldc, float[] a, int a0, int ars, int aks, float[] panels,
      int M, int K, int cols) {
    for (int r = 0; r < M; r += 6) {
      stripGemm(c, c0 + r * ldc, ldc, a, a0 + r * ars, ars, aks, panels, K, 0, Math.min(6, M - r), K, cols, cols);
    }
  }


  /**
   * Six rows by two vectors of columns of {@link #gemmPanels}, from column j (folded into c0 and b0): twelve
   * accumulators, so that the FMA units always have independent work (with eight, FMA latency times the two FMA
   * pipes is not covered), and per k two loads of b and six broadcasts of a for twelve FMAs. A method of its own:
   * its loop stays within C2's parse budget (see the class comment).
   *
   * <p>This one for a whose rows run along k (a matmul's input, dout's rows; aks = 1), {@link #gemm6x2Columns} for
   * a whose rows are adjacent floats (a transposed operand; ars = 1). One general kernel indexed a[r·ars + k·aks]:
   * with k·aks C2 cannot prove the index in bounds once per call, and checked six loads per k, 10% slower in L1;
   * these two measured medium's training step 731 -> 793 tokens/s and gpt2's 65.3 -> 70.3 on two threads.
   */
  private static void gemm6x2Rows(float[] c, int c0, int ldc, float[] a, int a0, int ars, float[] b, int b0,
      int ldb, int K) {
    int cr1 = c0 + ldc;
    int cr2 = cr1 + ldc;
    int cr3 = cr2 + ldc;
    int cr4 = cr3 + ldc;
    int cr5 = cr4 + ldc;
    int ar1 = a0 + ars;
    int ar2 = ar1 + ars;
    int ar3 = ar2 + ars;
    int ar4 = ar3 + ars;
    int ar5 = ar4 + ars;
    FloatVector c00 = FloatVector.fromArray(S, c, c0);
    FloatVector c01 = FloatVector.fromArray(S, c, c0 + L);
    FloatVector c10 = FloatVector.fromArray(S, c, cr1);
    FloatVector c11 = FloatVector.fromArray(S, c, cr1 + L);
    FloatVector c20 = FloatVector.fromArray(S, c, cr2);
    FloatVector c21 = FloatVector.fromArray(S, c, cr2 + L);
    FloatVector c30 = FloatVector.fromArray(S, c, cr3);
    FloatVector c31 = FloatVector.fromArray(S, c, cr3 + L);
    FloatVector c40 = FloatVector.fromArray(S, c, cr4);
    FloatVector c41 = FloatVector.fromArray(S, c, cr4 + L);
    FloatVector c50 = FloatVector.fromArray(S, c, cr5);
    FloatVector c51 = FloatVector.fromArray(S, c, cr5 + L);
    for (int k = 0; k < K; k++) {
      int bk = b0 + k * ldb;
      FloatVector v0 = FloatVector.fromArray(S, b, bk);
      FloatVector v1 = FloatVector.fromArray(S, b, bk + L);
      FloatVector g = FloatVector.broadcast(S, a[a0 + k]);
      c00 = v0.fma(g, c00);
      c01 = v1.fma(g, c01);
      g = FloatVector.broadcast(S, a[ar1 + k]);
      c10 = v0.fma(g, c10);
      c11 = v1.fma(g, c11);
      g = FloatVector.broadcast(S, a[ar2 + k]);
      c20 = v0.fma(g, c20);
      c21 = v1.fma(g, c21);
      g = FloatVector.broadcast(S, a[ar3 + k]);
      c30 = v0.fma(g, c30);
      c31 = v1.fma(g, c31);
      g = FloatVector.broadcast(S, a[ar4 + k]);
      c40 = v0.fma(g, c40);
      c41 = v1.fma(g, c41);
      g = FloatVector.broadcast(S, a[ar5 + k]);
      c50 = v0.fma(g, c50);
      c51 = v1.fma(g, c51);
    }
    c00.intoArray(c, c0);
    c01.intoArray(c, c0 + L);
    c10.intoArray(c, cr1);
    c11.intoArray(c, cr1 + L);
    c20.intoArray(c, cr2);
    c21.intoArray(c, cr2 + L);
    c30.intoArray(c, cr3);
    c31.intoArray(c, cr3 + L);
    c40.intoArray(c, cr4);
    c41.intoArray(c, cr4 + L);
    c50.intoArray(c, cr5);
    c51.intoArray(c, cr5 + L);
  }

  /**
   * {@link #gemm6x2Rows} where a's six rows are adjacent floats (ars = 1: a transposed operand, dout's columns in a
   * weight gradient, dpreatt's in attention's dk): one index per k, a[a0 + k·aks + r] for r &lt; 6.
   */
  private static void gemm6x2Columns(float[] c, int c0, int ldc, float[] a, int a0, int aks, float[] b, int b0,
      int ldb, int K) {
    int cr1 = c0 + ldc;
    int cr2 = cr1 + ldc;
    int cr3 = cr2 + ldc;
    int cr4 = cr3 + ldc;
    int cr5 = cr4 + ldc;
    FloatVector c00 = FloatVector.fromArray(S, c, c0);
    FloatVector c01 = FloatVector.fromArray(S, c, c0 + L);
    FloatVector c10 = FloatVector.fromArray(S, c, cr1);
    FloatVector c11 = FloatVector.fromArray(S, c, cr1 + L);
    FloatVector c20 = FloatVector.fromArray(S, c, cr2);
    FloatVector c21 = FloatVector.fromArray(S, c, cr2 + L);
    FloatVector c30 = FloatVector.fromArray(S, c, cr3);
    FloatVector c31 = FloatVector.fromArray(S, c, cr3 + L);
    FloatVector c40 = FloatVector.fromArray(S, c, cr4);
    FloatVector c41 = FloatVector.fromArray(S, c, cr4 + L);
    FloatVector c50 = FloatVector.fromArray(S, c, cr5);
    FloatVector c51 = FloatVector.fromArray(S, c, cr5 + L);
    for (int k = 0; k < K; k++) {
      int bk = b0 + k * ldb;
      int ak = a0 + k * aks;
      FloatVector v0 = FloatVector.fromArray(S, b, bk);
      FloatVector v1 = FloatVector.fromArray(S, b, bk + L);
      FloatVector g = FloatVector.broadcast(S, a[ak]);
      c00 = v0.fma(g, c00);
      c01 = v1.fma(g, c01);
      g = FloatVector.broadcast(S, a[ak + 1]);
      c10 = v0.fma(g, c10);
      c11 = v1.fma(g, c11);
      g = FloatVector.broadcast(S, a[ak + 2]);
      c20 = v0.fma(g, c20);
      c21 = v1.fma(g, c21);
      g = FloatVector.broadcast(S, a[ak + 3]);
      c30 = v0.fma(g, c30);
      c31 = v1.fma(g, c31);
      g = FloatVector.broadcast(S, a[ak + 4]);
      c40 = v0.fma(g, c40);
      c41 = v1.fma(g, c41);
      g = FloatVector.broadcast(S, a[ak + 5]);
      c50 = v0.fma(g, c50);
      c51 = v1.fma(g, c51);
    }
    c00.intoArray(c, c0);
    c01.intoArray(c, c0 + L);
    c10.intoArray(c, cr1);
    c11.intoArray(c, cr1 + L);
    c20.intoArray(c, cr2);
    c21.intoArray(c, cr2 + L);
    c30.intoArray(c, cr3);
    c31.intoArray(c, cr3 + L);
    c40.intoArray(c, cr4);
    c41.intoArray(c, cr4 + L);
    c50.intoArray(c, cr5);
    c51.intoArray(c, cr5 + L);
  }

  /**
   * {@link #gemmPanels}' general loops: the rows left over by its six-row tiles and the narrow panel, four rows by
   * one vector, then single rows and single columns; every c element's terms in the order of k.
   */
  private static void gemmAccumulateFrom(float[] c, int c0, int ldc, float[] a, int a0, int ars, int aks,
      float[] b, int b0, int ldb, int M, int K, int cols) {
    int bound = S.loopBound(cols);
    int r = 0;
    for (; r + 4 <= M; r += 4) {
      int cr0 = c0 + r * ldc;
      int cr1 = cr0 + ldc;
      int cr2 = cr1 + ldc;
      int cr3 = cr2 + ldc;
      int ar0 = a0 + r * ars;
      int ar1 = ar0 + ars;
      int ar2 = ar1 + ars;
      int ar3 = ar2 + ars;
      int j = 0;
      for (; j < bound; j += L) {
        FloatVector c0v = FloatVector.fromArray(S, c, cr0 + j);
        FloatVector c1v = FloatVector.fromArray(S, c, cr1 + j);
        FloatVector c2v = FloatVector.fromArray(S, c, cr2 + j);
        FloatVector c3v = FloatVector.fromArray(S, c, cr3 + j);
        for (int k = 0; k < K; k++) {
          int ak = k * aks;
          FloatVector v = FloatVector.fromArray(S, b, b0 + k * ldb + j);
          c0v = v.fma(FloatVector.broadcast(S, a[ar0 + ak]), c0v);
          c1v = v.fma(FloatVector.broadcast(S, a[ar1 + ak]), c1v);
          c2v = v.fma(FloatVector.broadcast(S, a[ar2 + ak]), c2v);
          c3v = v.fma(FloatVector.broadcast(S, a[ar3 + ak]), c3v);
        }
        c0v.intoArray(c, cr0 + j);
        c1v.intoArray(c, cr1 + j);
        c2v.intoArray(c, cr2 + j);
        c3v.intoArray(c, cr3 + j);
      }
      for (; j < cols; j++) {
        float s0 = c[cr0 + j];
        float s1 = c[cr1 + j];
        float s2 = c[cr2 + j];
        float s3 = c[cr3 + j];
        for (int k = 0; k < K; k++) {
          int ak = k * aks;
          float v = b[b0 + k * ldb + j];
          s0 += a[ar0 + ak] * v;
          s1 += a[ar1 + ak] * v;
          s2 += a[ar2 + ak] * v;
          s3 += a[ar3 + ak] * v;
        }
        c[cr0 + j] = s0;
        c[cr1 + j] = s1;
        c[cr2 + j] = s2;
        c[cr3 + j] = s3;
      }
    }
    for (; r < M; r++) {
      int cr = c0 + r * ldc;
      int ar = a0 + r * ars;
      int j = 0;
      for (; j < bound; j += L) {
        FloatVector acc = FloatVector.fromArray(S, c, cr + j);
        for (int k = 0; k < K; k++) {
          acc = FloatVector.fromArray(S, b, b0 + k * ldb + j).fma(FloatVector.broadcast(S, a[ar + k * aks]), acc);
        }
        acc.intoArray(c, cr + j);
      }
      for (; j < cols; j++) {
        float s = c[cr + j];
        for (int k = 0; k < K; k++) {
          s += a[ar + k * aks] * b[b0 + k * ldb + j];
        }
        c[cr + j] = s;
      }
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // attention

  @Override
  public void attentionForward(float[] out, int outOff, float[] preatt, int preattOff, float[] att, int attOff,
      float[] qkv, int qkvOff, int B, int T, int C, int NH) {
    attentionForwardGqa(out, outOff, preatt, preattOff, att, attOff, qkv, qkvOff, B, T, NH, NH, C / NH);
  }

  @Override
  public void attentionForwardGqa(float[] out, int outOff, float[] preatt, int preattOff, float[] att, int attOff,
      float[] qkv, int qkvOff, int B, int T, int NH, int KVH, int hs) {
    WorkerPool pool = WorkerPool.acquire(2L * B * T * T * NH * hs);
    if (pool == null) {
      attentionForwardHeads(out, outOff, preatt, preattOff, att, attOff, qkv, qkvOff, T, NH, KVH, hs, 0, B * NH);
      return;
    }
    Args a = pool.args();
    a.f0 = out;
    a.i0 = outOff;
    a.f1 = preatt;
    a.i1 = preattOff;
    a.f2 = att;
    a.i2 = attOff;
    a.f3 = qkv;
    a.i3 = qkvOff;
    a.i4 = T;
    a.i5 = NH;
    a.i6 = KVH;
    a.i7 = hs;
    pool.run(ATTENTION_FORWARD, B * NH, 1);
  }

  private static final RangeTask ATTENTION_FORWARD = (a, from, to) -> attentionForwardHeads(a.f0, a.i0, a.f1, a.i1,
      a.f2, a.i2, a.f3, a.i3, a.i4, a.i5, a.i6, a.i7, from, to);

  /**
   * (batch, query head) pairs [from, to), numbered b·NH + h, of {@link #attentionForwardGqa}. A row of qkv holds
   * q (NH·hs), k and v (KVH·hs each); query head h reads kv head h / (NH / KVH). GPT-2 is KVH = NH. Two GEMMs per
   * head on the thread's packed panels: the scores q·kᵀ·scale ({@link #causalScoresGemm}), the causal softmax row
   * by row, then att·v ({@link #causalRowsGemm}). The per-head work is in methods called once per head, so that the
   * JIT compiles it within a few steps (a loop entered a few times per step waits long for its counters: measured,
   * seconds of interpreted strips).
   */
  private static void attentionForwardHeads(float[] out, int outOff, float[] preatt, int preattOff, float[] att,
      int attOff, float[] qkv, int qkvOff, int T, int NH, int KVH, int hs, int from, int to) {
    int R = (NH + 2 * KVH) * hs;
    int C = NH * hs;
    int group = NH / KVH;
    float scale = (float) (1.0 / (float) Math.sqrt(hs));
    float[] panels = attentionPanels(hs);
    for (int bh = from; bh < to; bh++) {
      int b = bh / NH;
      int h = bh % NH;
      int kvh = (h / group) * hs;
      int base = qkvOff + b * T * R;
      int pre = preattOff + bh * T * T;
      int a0 = attOff + bh * T * T;
      int y0 = outOff + b * T * C + h * hs;
      causalScoresGemm(preatt, pre, qkv, base + h * hs, R, qkv, base + C + kvh, R, T, hs, scale, false, panels);
      causalSoftmaxRows(preatt, pre, att, a0, out, y0, C, T, hs);
      causalRowsGemm(out, y0, C, att, a0, qkv, base + C + KVH * hs + kvh, R, T, hs, 1.0f, panels);
    }
  }

  /** The causal softmax of every row of one head's scores; zeroes the head's output rows for the sum after. */
  private static void causalSoftmaxRows(float[] preatt, int pre, float[] att, int a0, float[] out, int y0, int C,
      int T, int hs) {
    for (int t = 0; t < T; t++) {
      causalSoftmaxRow(preatt, pre + t * T, att, a0 + t * T, t + 1, T);
      Arrays.fill(out, y0 + t * C, y0 + t * C + hs, 0.0f);
    }
  }

  /**
   * Scores of one head, each row t only up to its own key: dst[t, t2] = x[t]·y[t2]·scale for t2 &lt;= t, written
   * (or added, when {@code add}); rows of x and y are hs floats, xld and yld apart. By blocks of
   * {@link #scoreKeys} keys, transposed (and scaled) as they are packed, and six-row strips that stop at their last
   * row's keys, each computed into a scratch tile past the panels, of which every row takes only its own keys. T by
   * T, rows T apart.
   */
  private static void causalScoresGemm(float[] dst, int d0, float[] x, int x0, int xld, float[] y, int y0, int yld,
      int T, int hs, float scale, boolean add, float[] panels) {
    int jb = scoreKeys(hs);
    int scratch = hs * jb; // past the transposed block: six rows of jb keys
    for (int j0 = 0; j0 < T; j0 += jb) {
      int jt = Math.min(jb, T - j0);
      packTransposed(y, y0 + j0 * yld, yld, hs, jt, panels);
      if (scale != 1.0f) {
        scale(panels, 0, scale, hs * jt);
      }
      for (int r = j0 / 6 * 6; r < T; r += 6) {
        int m = Math.min(6, T - r);
        int cols = Math.min(jt, (r + m - j0 + 2 * L - 1) / (2 * L) * (2 * L));
        Arrays.fill(panels, scratch, scratch + m * jb, 0.0f);
        stripGemm(panels, scratch, jb, x, x0 + r * xld, xld, 1, panels, hs, 0, m, hs, jt, cols);
        for (int i = 0; i < m; i++) {
          int n = Math.min(cols, r + i + 1 - j0);
          int row = d0 + (r + i) * T + j0;
          if (n <= 0) {
            continue;
          }
          if (add) {
            addInto(dst, row, panels, scratch + i * jb, n);
          } else {
            System.arraycopy(panels, scratch + i * jb, dst, row, n);
          }
        }
      }
    }
  }

  /**
   * c[t] += sum over t2 &lt;= t of a[t, t2]·b[t2]·scale, for one head: a is T by T (rows T apart), rows of b and c are
   * hs floats, ldb and ldc apart. By blocks of {@link #termRows} rows of b, packed (and scaled), and six-row strips
   * that stop at their last row's terms; a strip's last terms past a row's own position must hold zeros in a.
   */
  private static void causalRowsGemm(float[] c, int c0, int ldc, float[] a, int a0, float[] b, int b0, int ldb,
      int T, int hs, float scale, float[] panels) {
    int kb = termRows(hs);
    for (int k0 = 0; k0 < T; k0 += kb) {
      int kt = Math.min(kb, T - k0);
      packRowsScaled(b, b0 + k0 * ldb, ldb, kt, hs, scale, panels);
      for (int r = k0 / 6 * 6; r < T; r += 6) {
        int m = Math.min(6, T - r);
        stripGemm(c, c0 + r * ldc, ldc, a, a0 + r * T + k0, T, 1, panels, kt, 0, m, Math.min(kt, r + m - k0), hs,
            hs);
      }
    }
  }

  /** {@link #packRows}, then every packed value times {@code scale} (unless it is 1). */
  private static void packRowsScaled(float[] b, int b0, int ldb, int K, int cols, float scale, float[] panels) {
    packRows(b, b0, ldb, K, cols, panels);
    if (scale != 1.0f) {
      scale(panels, 0, scale, K * cols);
    }
  }

  /**
   * c[t2] += sum over t &gt;= t2 of a[t, t2]·b[t]·scale, for one head: {@link #causalRowsGemm} with a transposed.
   * Each strip starts at its first row's terms; the ones before a later row's own position must hold zeros in a.
   */
  private static void causalColumnsGemm(float[] c, int c0, int ldc, float[] a, int a0, float[] b, int b0, int ldb,
      int T, int hs, float scale, float[] panels) {
    int kb = termRows(hs);
    for (int k0 = 0; k0 < T; k0 += kb) {
      int kt = Math.min(kb, T - k0);
      packRowsScaled(b, b0 + k0 * ldb, ldb, kt, hs, scale, panels);
      for (int r = 0; r < k0 + kt; r += 6) {
        int m = Math.min(6, T - r);
        int koff = Math.max(0, r - k0);
        stripGemm(c, c0 + r * ldc, ldc, a, a0 + (k0 + koff) * T + r, 1, T, panels, kt, koff, m, kt - koff, hs, hs);
      }
    }
  }

  /**
   * Keys per block of {@link #causalScoresGemm} for heads of hs: GEMM_NC, or fewer (whole pairs of vectors) when
   * the transposed block and its six-row scratch would not fit in GEMM_KC·GEMM_NC floats.
   */
  private static int scoreKeys(int hs) {
    return Math.min(GEMM_NC, Math.max(2 * L, GEMM_KC * GEMM_NC / (hs + 6) / (2 * L) * (2 * L)));
  }

  /** Rows of b per block of {@link #causalRowsGemm} and {@link #causalColumnsGemm}: GEMM_KC, fewer for wide heads. */
  private static int termRows(int hs) {
    return Math.min(GEMM_KC, Math.max(6, GEMM_KC * GEMM_NC / hs));
  }

  /**
   * The thread's panels, large enough for attention's blocks at head size hs: GEMM_KC·GEMM_NC floats unless the
   * heads are thousands of floats wide, when they are replaced once by a larger array.
   */
  private static float[] attentionPanels(int hs) {
    int floats = Math.max((hs + 6) * scoreKeys(hs), hs * termRows(hs));
    float[] panels = PANELS.get();
    if (panels.length < floats) {
      panels = new float[floats];
      PANELS.set(panels);
    }
    return panels;
  }

  /**
   * c (m &lt;= 6 rows, ldc apart) += a (m by K) times terms [koff, koff + K) and the first {@code cols} columns of
   * panels packed by {@link #packRows} or {@link #packTransposed} from {@code kt} terms and {@code width} columns;
   * {@code cols} is {@code width} or a multiple of two vectors, and a0 points at term koff of a's first row. a's
   * rows run along k (aks = 1) or lie side by side (ars = 1): the two kernels there are.
   */
  private static void stripGemm(float[] c, int c0, int ldc, float[] a, int a0, int ars, int aks, float[] panels,
      int kt, int koff, int m, int K, int width, int cols) {
    if (aks != 1 && ars != 1) {
      throw badStrides(ars, aks);
    }
    int full = cols / (2 * L);
    for (int p = 0; p < full; p++) {
      int b0 = (p * kt + koff) * 2 * L;
      if (m == 6 && aks == 1) {
        gemm6x2Rows(c, c0 + p * 2 * L, ldc, a, a0, ars, panels, b0, 2 * L, K);
      } else if (m == 6) {
        gemm6x2Columns(c, c0 + p * 2 * L, ldc, a, a0, aks, panels, b0, 2 * L, K);
      } else {
        gemmAccumulateFrom(c, c0 + p * 2 * L, ldc, a, a0, ars, aks, panels, b0, 2 * L, m, K, 2 * L);
      }
    }
    int w = cols - full * 2 * L;
    if (w > 0) {
      gemmAccumulateFrom(c, c0 + full * 2 * L, ldc, a, a0, ars, aks, panels, full * kt * 2 * L + koff * w, w, m, K,
          w);
    }
  }

  /**
   * One row of attention's softmax: att[a + t2] = softmax of preatt[pre + t2] over the causal prefix t2 &lt; count,
   * then zeros in both rows from count to T.
   */
  private static void causalSoftmaxRow(float[] preatt, int pre, float[] att, int a, int count, int T) {
    float maxval = MAX_START;
    for (int t2 = 0; t2 < count; t2++) {
      if (preatt[pre + t2] > maxval) {
        maxval = preatt[pre + t2];
      }
    }
    float expsum = expShifted(preatt, pre, maxval, att, a, count);
    scale(att, a, expsum == 0.0f ? 0.0f : 1.0f / expsum, count);
    Arrays.fill(preatt, pre + count, pre + T, 0.0f);
    Arrays.fill(att, a + count, a + T, 0.0f);
  }



  @Override
  public void attentionBackward(float[] dqkv, int dqkvOff, float[] dpreatt, int dpreattOff, float[] datt,
      int dattOff, float[] dout, int doutOff, float[] qkv, int qkvOff, float[] att, int attOff, int B, int T, int C,
      int NH) {
    attentionBackwardGqa(dqkv, dqkvOff, dpreatt, dpreattOff, datt, dattOff, dout, doutOff, qkv, qkvOff, att, attOff,
        B, T, NH, NH, C / NH);
  }

  @Override
  public void attentionBackwardGqa(float[] dqkv, int dqkvOff, float[] dpreatt, int dpreattOff, float[] datt,
      int dattOff, float[] dout, int doutOff, float[] qkv, int qkvOff, float[] att, int attOff, int B, int T, int NH,
      int KVH, int hs) {
    WorkerPool pool = WorkerPool.acquire(4L * B * T * T * NH * hs);
    if (pool == null) {
      attentionBackwardHeads(dqkv, dqkvOff, dpreatt, dpreattOff, datt, dattOff, dout, doutOff, qkv, qkvOff, att,
          attOff, T, NH, KVH, hs, 0, B * KVH);
      return;
    }
    Args a = pool.args();
    a.f0 = dqkv;
    a.i0 = dqkvOff;
    a.f1 = dpreatt;
    a.i1 = dpreattOff;
    a.f2 = datt;
    a.i2 = dattOff;
    a.f3 = dout;
    a.i3 = doutOff;
    a.f4 = qkv;
    a.i4 = qkvOff;
    a.f5 = att;
    a.i5 = attOff;
    a.i6 = T;
    a.i7 = NH;
    a.i8 = KVH;
    a.i9 = hs;
    pool.run(ATTENTION_BACKWARD, B * KVH, 1);
  }

  /**
   * (batch, kv head) pairs [from, to), numbered b·KVH + g, of {@link #attentionBackwardGqa}: the query heads that
   * share kv head g, in order. A pair writes only its own heads' slices of dqkv (its query heads' dq, its kv
   * head's dk and dv), adding into them in the same order on any number of threads. GEMMs per query head on the
   * thread's packed panels, in the order the gradients need: datt += dout·vᵀ ({@link #causalScoresGemm}), the
   * softmax's backward row by row into dpreatt, then dv += attᵀ·dout ({@link #causalColumnsGemm}), dq +=
   * dpreatt·k·scale ({@link #causalRowsGemm}) and dk += dpreattᵀ·q·scale. The terms a strip takes past a row's own
   * position read att or dpreatt above the diagonal, which hold zeros (the forward writes them; nothing writes
   * dpreatt there), so they add nothing.
   */
  private static void attentionBackwardHeads(float[] dqkv, int dqkvOff, float[] dpreatt, int dpreattOff,
      float[] datt, int dattOff, float[] dout, int doutOff, float[] qkv, int qkvOff, float[] att, int attOff, int T,
      int NH, int KVH, int hs, int from, int to) {
    int R = (NH + 2 * KVH) * hs;
    int C = NH * hs;
    int group = NH / KVH;
    float scale = (float) (1.0 / (float) Math.sqrt(hs));
    float[] panels = attentionPanels(hs);
    for (int bg = from; bg < to; bg++) {
      int b = bg / KVH;
      int kvh = (bg % KVH) * hs;
      int base = qkvOff + b * T * R;
      int dbase = dqkvOff + b * T * R;
      int k0 = C + kvh;
      int v0 = C + KVH * hs + kvh;
      for (int h = (bg % KVH) * group; h < (bg % KVH + 1) * group; h++) {
        int bh = b * NH + h;
        int pa = attOff + bh * T * T;
        int pda = dattOff + bh * T * T;
        int pdp = dpreattOff + bh * T * T;
        int dy = doutOff + b * T * C + h * hs;
        causalScoresGemm(datt, pda, dout, dy, C, qkv, base + v0, R, T, hs, 1.0f, true, panels);
        softmaxBackwardRows(dpreatt, pdp, datt, pda, att, pa, T);
        causalColumnsGemm(dqkv, dbase + v0, R, att, pa, dout, dy, C, T, hs, 1.0f, panels);
        causalRowsGemm(dqkv, dbase + h * hs, R, dpreatt, pdp, qkv, base + k0, R, T, hs, scale, panels);
        causalColumnsGemm(dqkv, dbase + k0, R, dpreatt, pdp, qkv, base + h * hs, R, T, hs, scale, panels);
      }
    }
  }

  /** The softmax's backward of every row of one head: dpreatt += att·(datt - att·datt), row t up to its own key. */
  private static void softmaxBackwardRows(float[] dpreatt, int pdp, float[] datt, int pda, float[] att, int pa,
      int T) {
    for (int t = 0; t < T; t++) {
      softmaxBackwardRow(dpreatt, pdp + t * T, datt, pda + t * T, att, pa + t * T, t + 1);
    }
  }

  private static final RangeTask ATTENTION_BACKWARD = (a, from, to) -> attentionBackwardHeads(a.f0, a.i0, a.f1,
      a.i1, a.f2, a.i2, a.f3, a.i3, a.f4, a.i4, a.f5, a.i5, a.i6, a.i7, a.i8, a.i9, from, to);


  /**
   * Attention's backward pass through one row of the softmax, over its causal prefix t3 &lt; count:
   * dpreatt[t3] += att[t3]·(datt[t3] - sum over t2 of att[t2]·datt[t2]).
   */
  private static void softmaxBackwardRow(float[] dpreatt, int dpre, float[] datt, int da, float[] att, int a,
      int count) {
    float weighted = dot(att, a, datt, da, count);
    int bound = S.loopBound(count);
    int t3 = 0;
    if (bound > 0) {
      FloatVector vw = FloatVector.broadcast(S, weighted);
      for (; t3 < bound; t3 += L) {
        FloatVector p = FloatVector.fromArray(S, att, a + t3);
        FloatVector g = FloatVector.fromArray(S, datt, da + t3).sub(vw);
        p.fma(g, FloatVector.fromArray(S, dpreatt, dpre + t3)).intoArray(dpreatt, dpre + t3);
      }
    }
    for (; t3 < count; t3++) {
      dpreatt[dpre + t3] += att[a + t3] * (datt[da + t3] - weighted);
    }
  }



  // ---------------------------------------------------------------------------------------------------------------
  // pointwise

  @Override
  public void geluForward(float[] out, int outOff, float[] inp, int inpOff, int N) {
    WorkerPool pool = WorkerPool.acquire(24L * N);
    if (pool == null) {
      geluForwardRange(out, outOff, inp, inpOff, N, 0, N);
      return;
    }
    Args a = pool.args();
    a.f0 = out;
    a.i0 = outOff;
    a.f1 = inp;
    a.i1 = inpOff;
    a.i2 = N;
    pool.run(GELU_FORWARD, N, L);
  }

  private static final RangeTask GELU_FORWARD =
      (a, from, to) -> geluForwardRange(a.f0, a.i0, a.f1, a.i1, a.i2, from, to);

  /**
   * Elements [from, to) of {@link #geluForward}; from is a multiple of the vector length, and elements past the
   * last whole vector of N take the scalar path, as on one thread.
   */
  private static void geluForwardRange(float[] out, int outOff, float[] inp, int inpOff, int N, int from, int to) {
    int bound = Math.min(to, S.loopBound(N));
    float[] th = SCRATCH.get();
    int i = from;
    for (; i < bound; i += CHUNK) {
      int n = Math.min(CHUNK, bound - i);
      geluArgs(th, inp, inpOff + i, n);
      VectorMath.tanh(th, 0, th, CHUNK, n);
      for (int j = 0; j < n; j += L) {
        FloatVector x = FloatVector.fromArray(S, inp, inpOff + i + j);
        x.mul(0.5f).mul(FloatVector.fromArray(S, th, j).add(1.0f)).intoArray(out, outOff + i + j);
      }
    }
    i = Math.max(from, bound);
    for (; i < to; i++) {
      float x = inp[inpOff + i];
      float cube = GELU_CUBE * x * x * x;
      out[outOff + i] = 0.5f * x * (1.0f + VectorMath.tanh(GELU_SCALING_FACTOR * (x + cube)));
    }
  }

  /** args[0..n) = GELU's tanh argument sqrt(2/pi)·(x + 0.044715·x³) of inp[x..x+n), n whole vectors. */
  private static void geluArgs(float[] args, float[] inp, int x, int n) {
    for (int j = 0; j < n; j += L) {
      FloatVector v = FloatVector.fromArray(S, inp, x + j);
      FloatVector cube = v.mul(GELU_CUBE).mul(v).mul(v);
      v.add(cube).mul(GELU_SCALING_FACTOR).intoArray(args, j);
    }
  }

  @Override
  public void geluBackward(float[] dinp, int dinpOff, float[] inp, int inpOff, float[] dout, int doutOff, int N) {
    WorkerPool pool = WorkerPool.acquire(32L * N);
    if (pool == null) {
      geluBackwardRange(dinp, dinpOff, inp, inpOff, dout, doutOff, N, 0, N);
      return;
    }
    Args a = pool.args();
    a.f0 = dinp;
    a.i0 = dinpOff;
    a.f1 = inp;
    a.i1 = inpOff;
    a.f2 = dout;
    a.i2 = doutOff;
    a.i3 = N;
    pool.run(GELU_BACKWARD, N, L);
  }

  private static final RangeTask GELU_BACKWARD =
      (a, from, to) -> geluBackwardRange(a.f0, a.i0, a.f1, a.i1, a.f2, a.i2, a.i3, from, to);

  /** Elements [from, to) of {@link #geluBackward}; see {@link #geluForwardRange}. */
  private static void geluBackwardRange(float[] dinp, int dinpOff, float[] inp, int inpOff, float[] dout,
      int doutOff, int N, int from, int to) {
    float cube3 = 3.0f * GELU_CUBE;
    int bound = Math.min(to, S.loopBound(N));
    float[] tanhs = SCRATCH.get();
    int i = from;
    for (; i < bound; i += CHUNK) {
      int n = Math.min(CHUNK, bound - i);
      geluArgs(tanhs, inp, inpOff + i, n);
      VectorMath.tanh(tanhs, 0, tanhs, CHUNK, n);
      for (int j = 0; j < n; j += L) {
        int k = i + j;
        FloatVector x = FloatVector.fromArray(S, inp, inpOff + k);
        FloatVector th = FloatVector.fromArray(S, tanhs, j);
        FloatVector sech = th.mul(th).neg().add(1.0f); // sech² = 1 - tanh²
        FloatVector poly = x.mul(cube3).mul(x).add(1.0f);
        FloatVector grad = th.add(1.0f).mul(0.5f).add(x.mul(0.5f).mul(sech).mul(GELU_SCALING_FACTOR).mul(poly));
        grad.fma(FloatVector.fromArray(S, dout, doutOff + k), FloatVector.fromArray(S, dinp, dinpOff + k))
            .intoArray(dinp, dinpOff + k);
      }
    }
    i = Math.max(from, bound);
    for (; i < to; i++) {
      float x = inp[inpOff + i];
      float cube = GELU_CUBE * x * x * x;
      float arg = GELU_SCALING_FACTOR * (x + cube);
      float th = VectorMath.tanh(arg);
      float sech = 1.0f - th * th;
      float grad = 0.5f * (1.0f + th) + x * 0.5f * sech * GELU_SCALING_FACTOR * (1.0f + cube3 * x * x);
      dinp[dinpOff + i] += grad * dout[doutOff + i];
    }
  }

  @Override
  public void residualForward(float[] out, int outOff, float[] inp1, int inp1Off, float[] inp2, int inp2Off,
      int N) {
    WorkerPool pool = WorkerPool.acquire(N);
    if (pool == null) {
      add(out, outOff, inp1, inp1Off, inp2, inp2Off, N);
      return;
    }
    Args a = pool.args();
    a.f0 = out;
    a.i0 = outOff;
    a.f1 = inp1;
    a.i1 = inp1Off;
    a.f2 = inp2;
    a.i2 = inp2Off;
    pool.run(RESIDUAL_FORWARD, N, L);
  }

  /** A sum is the same in any lane, so shares need no alignment beyond whole vectors. */
  private static final RangeTask RESIDUAL_FORWARD =
      (a, from, to) -> add(a.f0, a.i0 + from, a.f1, a.i1 + from, a.f2, a.i2 + from, to - from);

  @Override
  public void residualBackward(float[] dinp1, int dinp1Off, float[] dinp2, int dinp2Off, float[] dout, int doutOff,
      int N) {
    WorkerPool pool = WorkerPool.acquire(2L * N);
    if (pool == null) {
      addInto(dinp1, dinp1Off, dout, doutOff, N);
      addInto(dinp2, dinp2Off, dout, doutOff, N);
      return;
    }
    Args a = pool.args();
    a.f0 = dinp1;
    a.i0 = dinp1Off;
    a.f1 = dinp2;
    a.i1 = dinp2Off;
    a.f2 = dout;
    a.i2 = doutOff;
    pool.run(RESIDUAL_BACKWARD, N, L);
  }

  private static final RangeTask RESIDUAL_BACKWARD = (a, from, to) -> {
    addInto(a.f0, a.i0 + from, a.f2, a.i2 + from, to - from);
    addInto(a.f1, a.i1 + from, a.f2, a.i2 + from, to - from);
  };

  // ---------------------------------------------------------------------------------------------------------------
  // softmax and loss

  @Override
  public void softmaxForward(float[] probs, int probsOff, float[] logits, int logitsOff, int N, int V, int Vp) {
    WorkerPool pool = WorkerPool.acquire(16L * N * V);
    if (pool == null) {
      softmaxForwardRows(probs, probsOff, logits, logitsOff, V, Vp, 0, N);
      return;
    }
    Args a = pool.args();
    a.f0 = probs;
    a.i0 = probsOff;
    a.f1 = logits;
    a.i1 = logitsOff;
    a.i2 = V;
    a.i3 = Vp;
    pool.run(SOFTMAX_FORWARD, N, 1);
  }

  private static final RangeTask SOFTMAX_FORWARD =
      (a, from, to) -> softmaxForwardRows(a.f0, a.i0, a.f1, a.i1, a.i2, a.i3, from, to);

  /** Rows [from, to) of {@link #softmaxForward}. */
  private static void softmaxForwardRows(float[] probs, int probsOff, float[] logits, int logitsOff, int V, int Vp,
      int from, int to) {
    int bound = S.loopBound(V);
    for (int n = from; n < to; n++) {
      int x = logitsOff + n * Vp;
      int p = probsOff + n * Vp;
      float maxval = MAX_START;
      int i = 0;
      if (bound > 0) {
        FloatVector vmax = FloatVector.broadcast(S, MAX_START);
        for (; i < bound; i += L) {
          vmax = vmax.max(FloatVector.fromArray(S, logits, x + i));
        }
        maxval = vmax.reduceLanes(VectorOperators.MAX);
      }
      for (; i < V; i++) {
        if (logits[x + i] > maxval) {
          maxval = logits[x + i];
        }
      }
      float sum = expShifted(logits, x, maxval, probs, p, V);
      i = 0;
      if (bound > 0) {
        FloatVector vsum = FloatVector.broadcast(S, sum);
        for (; i < bound; i += L) {
          FloatVector.fromArray(S, probs, p + i).div(vsum).intoArray(probs, p + i);
        }
      }
      for (; i < V; i++) {
        probs[p + i] /= sum;
      }
      Arrays.fill(probs, p + V, p + Vp, 0.0f);
    }
  }

  @Override
  public float crossEntropyForward(float[] losses, int lossesOff, float[] probs, int probsOff, int[] targets, int N,
      int Vp) {
    float meanLoss = 0.0f;
    for (int n = 0; n < N; n++) {
      float loss = -(float) Math.log(probs[probsOff + n * Vp + targets[n]]);
      losses[lossesOff + n] = loss;
      meanLoss += loss;
    }
    return meanLoss / N;
  }

  @Override
  public void crossEntropySoftmaxBackward(float[] dlogits, int dlogitsOff, float[] probs, int probsOff,
      int[] targets, int N, int V, int Vp) {
    WorkerPool pool = WorkerPool.acquire(2L * N * V);
    if (pool == null) {
      crossEntropySoftmaxBackwardRows(dlogits, dlogitsOff, probs, probsOff, targets, N, V, Vp, 0, N);
      return;
    }
    Args a = pool.args();
    a.f0 = dlogits;
    a.i0 = dlogitsOff;
    a.f1 = probs;
    a.i1 = probsOff;
    a.n0 = targets;
    a.i2 = N;
    a.i3 = V;
    a.i4 = Vp;
    pool.run(CROSS_ENTROPY_SOFTMAX_BACKWARD, N, 1);
  }

  private static final RangeTask CROSS_ENTROPY_SOFTMAX_BACKWARD = (a, from, to) ->
      crossEntropySoftmaxBackwardRows(a.f0, a.i0, a.f1, a.i1, a.n0, a.i2, a.i3, a.i4, from, to);

  /** Rows [from, to) of {@link #crossEntropySoftmaxBackward}. */
  private static void crossEntropySoftmaxBackwardRows(float[] dlogits, int dlogitsOff, float[] probs, int probsOff,
      int[] targets, int N, int V, int Vp, int from, int to) {
    float dloss = 1.0f / N;
    for (int n = from; n < to; n++) {
      int d = dlogitsOff + n * Vp;
      int p = probsOff + n * Vp;
      int ix = targets[n];
      if (ix < 0 || ix >= V) {
        axpy(dlogits, d, dloss, probs, p, V);
        continue;
      }
      // (p - 0)·dloss everywhere but the target, whose indicator is 1
      axpy(dlogits, d, dloss, probs, p, ix);
      dlogits[d + ix] += (probs[p + ix] - 1.0f) * dloss;
      axpy(dlogits, d + ix + 1, dloss, probs, p + ix + 1, V - ix - 1);
    }
  }

  @Override
  public void zero(float[] a, int off, int n) {
    WorkerPool pool = WorkerPool.acquire(n);
    if (pool == null) {
      Arrays.fill(a, off, off + n, 0.0f);
      return;
    }
    Args args = pool.args();
    args.f0 = a;
    args.i0 = off;
    pool.run(ZERO, n, L);
  }

  /**
   * Shares of {@link #zero}: a step zeroes every gradient and, per layer, attention's two B·NH·T·T buffers (6 MiB
   * each at medium); one thread alone writes memory at well under what two can.
   */
  private static final RangeTask ZERO = (a, from, to) -> Arrays.fill(a.f0, a.i0 + from, a.i0 + to, 0.0f);

  // ---------------------------------------------------------------------------------------------------------------
  // Decoding and the LLAMA family: grouped-query attention, decoding against a KV cache, RMSNorm, RoPE, SwiGLU.
  // (One block at the end of the class, so that it merges beside concurrent changes to the methods above.)

  /** Initial running maximum of the LLAMA kernels' softmaxes; the same as llm.c's, so KVH = NH is GPT-2. */
  private static final float GQA_MAX_START = -10000.0f;

  /** llama2.c's RMSNorm epsilon, added to the mean of squares. */
  private static final float RMSNORM_EPS = 1e-5f;

  /** 1/sqrt(hs), computed as the scalar reference does. */
  private static float gqaScale(int hs) {
    return (float) (1.0 / (float) Math.sqrt(hs));
  }

  /**
   * Scores and softmax of one query row: pre[p + t2] = scale·(q · k_t2), att[a + t2] their softmax, for
   * t2 &lt; count, key t2 at k + t2·stride. {@code pre} may be {@code att} (decoding keeps no scores). Decoding's
   * half of attention, with {@link #gqaWeightedSum}; training's is {@code attentionForwardHeads}, which computes the
   * same values, parallel over heads (equal within rounding, as the decode tests check).
   */
  private static void gqaScoresSoftmax(float[] pre, int p, float[] att, int a, float[] qArr, int q, float[] kArr,
      int k, int stride, int count, int hs, float scale) {
    // one vector dot product per key: q stays in L1, and decoding streams the cache once
    float maxval = GQA_MAX_START;
    for (int t2 = 0; t2 < count; t2++) {
      float score = dot(qArr, q, kArr, k + t2 * stride, hs) * scale;
      pre[p + t2] = score;
      maxval = Math.max(maxval, score);
    }
    float expsum = expShifted(pre, p, maxval, att, a, count);
    scale(att, a, expsum == 0.0f ? 0.0f : 1.0f / expsum, count);
  }

  /**
   * out[y..y+hs) = sum over t2 &lt; count of att[a + t2]·v_t2, value t2 at v + t2·stride; four vectors of hs at a
   * time where it has them, so that four sums are in flight, then one. Each output sums over t2 in order.
   */
  private static void gqaWeightedSum(float[] out, int y, float[] att, int a, float[] vArr, int v, int stride,
      int count, int hs) {
    int hsBound = S.loopBound(hs);
    int i = 0;
    for (; i + 4 * L <= hsBound; i += 4 * L) {
      FloatVector acc0 = FloatVector.zero(S);
      FloatVector acc1 = acc0;
      FloatVector acc2 = acc0;
      FloatVector acc3 = acc0;
      for (int t2 = 0; t2 < count; t2++) {
        FloatVector w = FloatVector.broadcast(S, att[a + t2]);
        int row = v + t2 * stride + i;
        acc0 = FloatVector.fromArray(S, vArr, row).fma(w, acc0);
        acc1 = FloatVector.fromArray(S, vArr, row + L).fma(w, acc1);
        acc2 = FloatVector.fromArray(S, vArr, row + 2 * L).fma(w, acc2);
        acc3 = FloatVector.fromArray(S, vArr, row + 3 * L).fma(w, acc3);
      }
      acc0.intoArray(out, y + i);
      acc1.intoArray(out, y + i + L);
      acc2.intoArray(out, y + i + 2 * L);
      acc3.intoArray(out, y + i + 3 * L);
    }
    for (; i < hsBound; i += L) {
      FloatVector acc = FloatVector.zero(S);
      for (int t2 = 0; t2 < count; t2++) {
        acc = FloatVector.fromArray(S, vArr, v + t2 * stride + i).fma(FloatVector.broadcast(S, att[a + t2]), acc);
      }
      acc.intoArray(out, y + i);
    }
    for (; i < hs; i++) {
      float sum = 0.0f;
      for (int t2 = 0; t2 < count; t2++) {
        sum += att[a + t2] * vArr[v + t2 * stride + i];
      }
      out[y + i] = sum;
    }
  }

  @Override
  public void attentionDecode(float[] out, int outOff, float[] att, int attOff, float[] q, int qOff,
      float[] kcache, int kOff, float[] vcache, int vOff, int pos, int T, int NH, int KVH, int hs) {
    // weighed as four times its flops: between the products, whose weights stream through the caches, the keys and
    // values come from memory, and the softmax's exps are slow; at 4x flops, stories15M's attention stayed on one
    // thread below position 113 and took about a tenth of each token (two threads: 599 -> 636 tok/s, medians)
    WorkerPool pool = WorkerPool.acquire(16L * NH * (pos + 1) * hs);
    if (pool == null) {
      attentionDecodeHeads(out, outOff, att, attOff, q, qOff, kcache, kOff, vcache, vOff, pos, T, NH, KVH, hs, 0,
          NH);
      return;
    }
    Args a = pool.args();
    a.f0 = out;
    a.i0 = outOff;
    a.f1 = att;
    a.i1 = attOff;
    a.f2 = q;
    a.i2 = qOff;
    a.f3 = kcache;
    a.i3 = kOff;
    a.f4 = vcache;
    a.i4 = vOff;
    a.i5 = pos;
    a.i6 = T;
    a.i7 = NH;
    a.i8 = KVH;
    a.i9 = hs;
    // each head on one thread, as on one thread alone; one share per thread (6 heads cut in pairs left one thread
    // two shares and the other one)
    pool.run(ATTENTION_DECODE, NH, onePerThread(NH, 1));
  }

  private static final RangeTask ATTENTION_DECODE = (a, from, to) -> attentionDecodeHeads(a.f0, a.i0, a.f1, a.i1,
      a.f2, a.i2, a.f3, a.i3, a.f4, a.i4, a.i5, a.i6, a.i7, a.i8, a.i9, from, to);

  /** Query heads [from, to) of {@link #attentionDecode}. */
  private static void attentionDecodeHeads(float[] out, int outOff, float[] att, int attOff, float[] q, int qOff,
      float[] kcache, int kOff, float[] vcache, int vOff, int pos, int T, int NH, int KVH, int hs, int from,
      int to) {
    int kvDim = KVH * hs;
    int group = NH / KVH;
    float scale = gqaScale(hs);
    for (int h = from; h < to; h++) {
      int kvh = (h / group) * hs;
      int a = attOff + h * T;
      gqaScoresSoftmax(att, a, att, a, q, qOff + h * hs, kcache, kOff + kvh, kvDim, pos + 1, hs, scale);
      gqaWeightedSum(out, outOff + h * hs, att, a, vcache, vOff + kvh, kvDim, pos + 1, hs);
    }
  }

  @Override
  public void rmsnormForward(float[] out, int outOff, float[] rstd, int rstdOff, float[] inp, int inpOff,
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

  @Override
  public void rmsnormBackward(float[] dinp, int dinpOff, float[] dweight, int dweightOff, float[] dout, int doutOff,
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
        acc = acc.add(acc.rearrange(SWAP_HALF)); // VectorMath.sum's tree, written out (see SWAP_HALF)
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

  /**
   * The scalar reference's loop, with each angle's cosine and sine read from a table ({@link #ropeAngles}) instead
   * of computed: the same floats, so the same bits. Decoding rotates q and k of every layer at one position, and
   * computing a power, a cosine and a sine per pair each time cost about 2% of a stories15M token.
   */
  @Override
  public void rope(float[] x, int off, int rows, int stride, int width, int hs, int T, int pos0, int sign) {
    if ((hs & 1) != 0 || hs / 2 >= ROPE_ANGLES.length()) {
      dev.unroll.runtime.scalar.ScalarKernels.INSTANCE.rope(x, off, rows, stride, width, hs, T, pos0, sign);
      return;
    }
    float[] angles = ropeAngles(hs, pos0 + Math.min(rows, T), T);
    for (int r = 0; r < rows; r++) {
      int row = off + r * stride;
      int a = (pos0 + r % T) * hs;
      for (int headDim = 0; headDim < hs; headDim += 2) {
        float fcr = angles[a + headDim];
        float fci = sign * angles[a + headDim + 1];
        for (int i = headDim; i < width; i += hs) {
          float v0 = x[row + i];
          float v1 = x[row + i + 1];
          x[row + i] = v0 * fcr - v1 * fci;
          x[row + i + 1] = v0 * fci + v1 * fcr;
        }
      }
    }
  }

  /** Per even head size (index hs / 2): the cosines and sines of {@link #ropeAngles}, shared by every model. */
  private static final AtomicReferenceArray<float[]> ROPE_ANGLES = new AtomicReferenceArray<>(1024);

  /**
   * For head size {@code hs}, a table of at least {@code positions} positions: at position p, pair j, the cosine
   * and sine of p · 10000^(-2j/hs), computed as the scalar reference computes them. Made once per head size, for
   * {@code T} positions (or more when asked), so that a model's steps allocate nothing; a racing thread may make the
   * same table twice, harmlessly, since the values are the same.
   */
  private static float[] ropeAngles(int hs, int positions, int T) {
    float[] t = ROPE_ANGLES.get(hs / 2);
    if (t != null && t.length >= positions * hs) {
      return t;
    }
    int n = Math.max(positions, Math.max(T, t == null ? 0 : t.length / hs));
    t = new float[n * hs];
    for (int headDim = 0; headDim < hs; headDim += 2) {
      float freq = 1.0f / (float) Math.pow(10000.0f, headDim / (float) hs);
      for (int pos = 0; pos < n; pos++) {
        float val = pos * freq;
        t[pos * hs + headDim] = (float) Math.cos(val);
        t[pos * hs + headDim + 1] = (float) Math.sin(val);
      }
    }
    // keep the larger table when another thread made one meanwhile
    return ROPE_ANGLES.accumulateAndGet(hs / 2, t,
        (had, made) -> had != null && had.length >= made.length ? had : made);
  }

  @Override
  public void swigluForward(float[] out, int outOff, float[] gate, int gateOff, float[] up, int upOff, int N) {
    int bound = S.loopBound(N);
    float[] exps = SCRATCH.get();
    int i = 0;
    for (; i < bound; i += CHUNK) {
      int n = Math.min(CHUNK, bound - i);
      expNegated(exps, gate, gateOff + i, n);
      for (int j = 0; j < n; j += L) {
        FloatVector g = FloatVector.fromArray(S, gate, gateOff + i + j);
        FloatVector sig = FloatVector.broadcast(S, 1.0f).div(FloatVector.fromArray(S, exps, j).add(1.0f));
        g.mul(sig).mul(FloatVector.fromArray(S, up, upOff + i + j)).intoArray(out, outOff + i + j);
      }
    }
    i = bound;
    for (; i < N; i++) {
      float g = gate[gateOff + i];
      out[outOff + i] = g * (1.0f / (1.0f + VectorMath.exp(-g))) * up[upOff + i];
    }
  }

  /** exps[0..n) = e^-g of gate[g..g+n), n whole vectors: SwiGLU's sigmoid is 1 / (1 + e^-g). */
  private static void expNegated(float[] exps, float[] gate, int g, int n) {
    for (int j = 0; j < n; j += L) {
      FloatVector.fromArray(S, gate, g + j).neg().intoArray(exps, j);
    }
    VectorMath.exp(exps, 0, n);
  }

  @Override
  public void swigluBackward(float[] dgate, int dgateOff, float[] dup, int dupOff, float[] dout, int doutOff,
      float[] gate, int gateOff, float[] up, int upOff, int N) {
    int bound = S.loopBound(N);
    float[] exps = SCRATCH.get();
    int i = 0;
    for (; i < bound; i += CHUNK) {
      int n = Math.min(CHUNK, bound - i);
      expNegated(exps, gate, gateOff + i, n);
      for (int j = 0; j < n; j += L) {
        int k = i + j;
        FloatVector g = FloatVector.fromArray(S, gate, gateOff + k);
        FloatVector d = FloatVector.fromArray(S, dout, doutOff + k);
        FloatVector sig = FloatVector.broadcast(S, 1.0f).div(FloatVector.fromArray(S, exps, j).add(1.0f));
        // silu'(g) = sig·(1 + g·(1 - sig))
        FloatVector dsilu = sig.mul(g.mul(sig.neg().add(1.0f)).add(1.0f));
        d.mul(FloatVector.fromArray(S, up, upOff + k)).fma(dsilu, FloatVector.fromArray(S, dgate, dgateOff + k))
            .intoArray(dgate, dgateOff + k);
        d.fma(g.mul(sig), FloatVector.fromArray(S, dup, dupOff + k)).intoArray(dup, dupOff + k);
      }
    }
    i = bound;
    for (; i < N; i++) {
      float g = gate[gateOff + i];
      float sig = 1.0f / (1.0f + VectorMath.exp(-g));
      float d = dout[doutOff + i];
      dgate[dgateOff + i] += d * up[upOff + i] * (sig * (1.0f + g * (1.0f - sig)));
      dup[dupOff + i] += d * (g * sig);
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // bfloat16 weights, for decoding

  /** Shorts in one float vector's worth of lanes. */
  private static final VectorSpecies<Short> BF16 = VectorSpecies.of(short.class,
      jdk.incubator.vector.VectorShape.forBitSize(L * 16));

  private static final VectorSpecies<Integer> BF16_WIDE = VectorSpecies.of(int.class, S.vectorShape());

  /** L bfloat16 weights from w[off..], as floats: sign-extend to int, shift into the high half. */
  private static FloatVector loadBf16(short[] w, int off) {
    return ((IntVector) ShortVector.fromArray(BF16, w, off)
        .convertShape(VectorOperators.S2I, BF16_WIDE, 0)).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
  }

  /**
   * Rows of a bfloat16 weight in one panel. A panel of 16 rows by C columns is stored column by column: for each
   * input i, 16 shorts in which short 2k is row k's weight and short 2k+1 is row 8+k's. Read as 8 ints, the low
   * halves (shifted up) are rows 0-7 and the high halves (masked) rows 8-15, each already a float: no widening
   * shuffle, and the matrix-vector product becomes a sequential stream of loads with no horizontal sums.
   */
  static final int PANEL = 16;

  /** Panels are read with 256-bit vectors where the CPU has them (on AVX-512 too: the kernel is memory-bound). */
  private static final boolean PANEL_VECTORS = S.vectorBitSize() >= 256;

  private static final VectorSpecies<Float> PF = FloatVector.SPECIES_256;

  private static final VectorSpecies<Short> PH = ShortVector.SPECIES_256;

  /**
   * Stores each full panel of 16 rows in the panel layout ({@link #PANEL}); the last OC % 16 rows stay row-major,
   * where they were.
   */
  @Override
  public void packBf16Weight(short[] weight, int weightOff, int C, int OC) {
    short[] rows = new short[PANEL * C];
    for (int p = 0; p + PANEL <= OC; p += PANEL) {
      int base = weightOff + p * C;
      System.arraycopy(weight, base, rows, 0, PANEL * C);
      for (int i = 0; i < C; i++) {
        for (int k = 0; k < PANEL / 2; k++) {
          weight[base + i * PANEL + 2 * k] = rows[k * C + i];
          weight[base + i * PANEL + 2 * k + 1] = rows[(PANEL / 2 + k) * C + i];
        }
      }
    }
  }

  @Override
  public void matmulForwardBf16(float[] out, int outOff, float[] inp, int inpOff, short[] weight, int weightOff,
      float[] bias, int biasOff, int N, int C, int OC) {
    WorkerPool pool = WorkerPool.acquire(2L * N * C * OC);
    if (pool == null) {
      matmulForwardBf16Rows(out, outOff, inp, inpOff, weight, weightOff, bias, biasOff, N, C, OC, 0, OC);
      return;
    }
    Args a = pool.args();
    a.f0 = out;
    a.i0 = outOff;
    a.f1 = inp;
    a.i1 = inpOff;
    a.s0 = weight;
    a.i2 = weightOff;
    a.f3 = bias;
    a.i3 = biasOff;
    a.i4 = N;
    a.i5 = C;
    a.i6 = OC;
    // shares of output rows start at whole panels, four at a time (a share's four streams); each row is computed as
    // it is on one thread
    pool.run(MATMUL_FORWARD_BF16, OC, onePerThread(OC, PANEL));
  }

  /**
   * A grain (a multiple of {@code grain}) that cuts {@code units} into one share per thread of the pool. Decoding's
   * matrix-vector products read memory as fast as it comes; two shares per thread, each a few panels, started more
   * streams from scratch and took 40% longer at stories15M's 288 x 288 (measured: 14 -> 9.6 us each, two threads).
   */
  private static int onePerThread(int units, int grain) {
    int threads = WorkerPool.threads();
    int perThread = (units + threads - 1) / threads;
    return Math.max(grain, (perThread + grain - 1) / grain * grain);
  }

  @Override
  public void matmulForwardBf16Group(float[] out, int[] outOffs, float[] inp, int inpOff, short[] weight,
      int[] weightOffs, int[] rows, int C) {
    int units = 0; // each product's rows rounded up to whole panels, so shares begin at panels of every product
    for (int r : rows) {
      units += wholePanels(r);
    }
    WorkerPool pool = WorkerPool.acquire(2L * C * units);
    if (pool == null) {
      matmulForwardBf16GroupRows(out, outOffs, inp, inpOff, weight, weightOffs, rows, C, 0, units);
      return;
    }
    Args a = pool.args();
    a.f0 = out;
    a.n0 = outOffs;
    a.n1 = weightOffs;
    a.n2 = rows;
    a.f1 = inp;
    a.i1 = inpOff;
    a.s0 = weight;
    a.i5 = C;
    // one share per thread, as for one product: each share's part of every product it meets is computed as on
    // one thread
    pool.run(MATMUL_FORWARD_BF16_GROUP, units, onePerThread(units, PANEL));
  }

  /** {@code rows} rounded up to whole panels: a product's units in a group job, so shares begin at panels. */
  private static int wholePanels(int rows) {
    return (rows + PANEL - 1) / PANEL * PANEL;
  }

  private static final RangeTask MATMUL_FORWARD_BF16_GROUP = (a, from, to) -> matmulForwardBf16GroupRows(a.f0,
      a.n0, a.f1, a.i1, a.s0, a.n1, a.n2, a.i5, from, to);

  /** Units [from, to) of {@link #matmulForwardBf16Group}: the products' rows end to end, each padded to panels. */
  private static void matmulForwardBf16GroupRows(float[] out, int[] outOffs, float[] inp, int inpOff,
      short[] weight, int[] weightOffs, int[] rows, int C, int from, int to) {
    int start = 0;
    for (int j = 0; j < rows.length && start < to; j++) {
      int lo = Math.max(from, start) - start;
      int hi = Math.min(to - start, rows[j]);
      if (lo < hi) {
        matmulForwardBf16Rows(out, outOffs[j], inp, inpOff, weight, weightOffs[j], null, 0, 1, C, rows[j], lo, hi);
      }
      start += wholePanels(rows[j]);
    }
  }

  private static final RangeTask MATMUL_FORWARD_BF16 = (a, from, to) -> matmulForwardBf16Rows(a.f0, a.i0, a.f1,
      a.i1, a.s0, a.i2, a.f3, a.i3, a.i4, a.i5, a.i6, from, to);

  /**
   * Output rows [from, to) of {@link #matmulForwardBf16}; from is a multiple of {@link #PANEL}. Four panels at a
   * time from the four quarters of the range, as four streams of reads (see {@link #matmulForwardColumns}).
   */
  private static void matmulForwardBf16Rows(float[] out, int outOff, float[] inp, int inpOff, short[] weight,
      int weightOff, float[] bias, int biasOff, int N, int C, int OC, int from, int to) {
    int panelsEnd = Math.min(to, OC / PANEL * PANEL);
    int q = Math.max(0, panelsEnd - from) / PANEL / 4 * PANEL;
    for (int n = 0; n < N; n++) {
      int x = inpOff + n * C;
      int y = outOff + n * OC;
      int o = from;
      if (PANEL_VECTORS) {
        for (; o < from + q; o += PANEL) {
          bf16Panels4(out, y, inp, x, weight, weightOff, bias, biasOff, C, o, o + q, o + 2 * q, o + 3 * q);
        }
        o = from + 4 * q;
      }
      for (; o < panelsEnd; o += PANEL) {
        bf16Panel(out, y + o, inp, x, weight, weightOff + o * C, bias, biasOff + o, C);
      }
    }
    if (panelsEnd < to) {
      // the rows past the last whole panel are row-major
      matmulForwardBf16Tail(out, outOff, inp, inpOff, weight, weightOff, bias, biasOff, N, C, OC,
          Math.max(from, panelsEnd), to);
    }
  }

  /**
   * The four panels starting at rows r0..r3: out[y + r..] = bias + W·x for each, every output summed as
   * {@link #bf16Panel} sums it (one fused multiply-add per input, in order; the same bits).
   */
  private static void bf16Panels4(float[] out, int y, float[] inp, int x, short[] w, int weightOff,
      float[] bias, int biasOff, int C, int r0, int r1, int r2, int r3) {
    IntVector high = IntVector.broadcast(IntVector.SPECIES_256, 0xFFFF0000);
    int p0 = weightOff + r0 * C;
    int p1 = weightOff + r1 * C;
    int p2 = weightOff + r2 * C;
    int p3 = weightOff + r3 * C;
    FloatVector a0 = FloatVector.zero(PF);
    FloatVector b0 = a0;
    FloatVector a1 = a0;
    FloatVector b1 = a0;
    FloatVector a2 = a0;
    FloatVector b2 = a0;
    FloatVector a3 = a0;
    FloatVector b3 = a0;
    for (int i = 0; i < C; i++) {
      FloatVector xi = FloatVector.broadcast(PF, inp[x + i]);
      IntVector v0 = ShortVector.fromArray(PH, w, p0 + i * PANEL).reinterpretAsInts();
      IntVector v1 = ShortVector.fromArray(PH, w, p1 + i * PANEL).reinterpretAsInts();
      IntVector v2 = ShortVector.fromArray(PH, w, p2 + i * PANEL).reinterpretAsInts();
      IntVector v3 = ShortVector.fromArray(PH, w, p3 + i * PANEL).reinterpretAsInts();
      a0 = v0.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(xi, a0);
      b0 = v0.and(high).reinterpretAsFloats().fma(xi, b0);
      a1 = v1.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(xi, a1);
      b1 = v1.and(high).reinterpretAsFloats().fma(xi, b1);
      a2 = v2.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(xi, a2);
      b2 = v2.and(high).reinterpretAsFloats().fma(xi, b2);
      a3 = v3.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(xi, a3);
      b3 = v3.and(high).reinterpretAsFloats().fma(xi, b3);
    }
    if (bias != null) { // written out: a vector handed to a helper C2 might not inline is allocated
      a0 = a0.add(FloatVector.fromArray(PF, bias, biasOff + r0));
      b0 = b0.add(FloatVector.fromArray(PF, bias, biasOff + r0 + PANEL / 2));
      a1 = a1.add(FloatVector.fromArray(PF, bias, biasOff + r1));
      b1 = b1.add(FloatVector.fromArray(PF, bias, biasOff + r1 + PANEL / 2));
      a2 = a2.add(FloatVector.fromArray(PF, bias, biasOff + r2));
      b2 = b2.add(FloatVector.fromArray(PF, bias, biasOff + r2 + PANEL / 2));
      a3 = a3.add(FloatVector.fromArray(PF, bias, biasOff + r3));
      b3 = b3.add(FloatVector.fromArray(PF, bias, biasOff + r3 + PANEL / 2));
    }
    a0.intoArray(out, y + r0);
    b0.intoArray(out, y + r0 + PANEL / 2);
    a1.intoArray(out, y + r1);
    b1.intoArray(out, y + r1 + PANEL / 2);
    a2.intoArray(out, y + r2);
    b2.intoArray(out, y + r2 + PANEL / 2);
    a3.intoArray(out, y + r3);
    b3.intoArray(out, y + r3 + PANEL / 2);
  }

  /**
   * One panel (16 rows) at w[p..]: out[y..y+16) = bias + W·x, one fused multiply-add per input, in order; in plain
   * Java ({@link #bf16PanelPlain}) where the CPU's vectors are narrower than 256 bits.
   */
  static void bf16Panel(float[] out, int y, float[] inp, int x, short[] w, int p, float[] bias, int b, int C) {
    if (!PANEL_VECTORS) {
      bf16PanelPlain(out, y, inp, x, w, p, bias, b, C);
      return;
    }
    IntVector high = IntVector.broadcast(IntVector.SPECIES_256, 0xFFFF0000);
    FloatVector a0 = FloatVector.zero(PF);
    FloatVector b0 = a0;
    for (int i = 0; i < C; i++) {
      FloatVector xi = FloatVector.broadcast(PF, inp[x + i]);
      IntVector v0 = ShortVector.fromArray(PH, w, p + i * PANEL).reinterpretAsInts();
      a0 = v0.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(xi, a0);
      b0 = v0.and(high).reinterpretAsFloats().fma(xi, b0);
    }
    if (bias != null) {
      a0 = a0.add(FloatVector.fromArray(PF, bias, b));
      b0 = b0.add(FloatVector.fromArray(PF, bias, b + PANEL / 2));
    }
    a0.intoArray(out, y);
    b0.intoArray(out, y + PANEL / 2);
  }

  /** {@link #bf16Panel} without vectors, row by row in the same order: the same bits. */
  static void bf16PanelPlain(float[] out, int y, float[] inp, int x, short[] w, int p, float[] bias, int b,
      int C) {
    for (int r = 0; r < PANEL; r++) {
      int lane = r < PANEL / 2 ? 2 * r : 2 * (r - PANEL / 2) + 1;
      float acc = 0f;
      for (int i = 0; i < C; i++) {
        acc = Math.fma(Bf16.toFloat(w[p + i * PANEL + lane]), inp[x + i], acc);
      }
      out[y + r] = acc + (bias == null ? 0f : bias[b + r]);
    }
  }

  /**
   * Row-major output rows [from, to) of {@link #matmulForwardBf16}: the fewer than 16 rows past its last whole
   * panel, one at a time.
   */
  private static void matmulForwardBf16Tail(float[] out, int outOff, float[] inp, int inpOff, short[] weight,
      int weightOff, float[] bias, int biasOff, int N, int C, int OC, int from, int to) {
    int bound = S.loopBound(C);
    for (int n = 0; n < N; n++) {
      int x = inpOff + n * C;
      for (int o = from; o < to; o++) {
        int w0 = weightOff + o * C;
        FloatVector a0 = FloatVector.zero(S);
        int i = 0;
        for (; i < bound; i += L) {
          a0 = loadBf16(weight, w0 + i).fma(FloatVector.fromArray(S, inp, x + i), a0);
        }
        a0 = a0.add(a0.rearrange(SWAP_HALF)); // VectorMath.sum's tree, written out (see SWAP_HALF)
        a0 = a0.add(a0.rearrange(SWAP_QUARTER));
        if (L >= 8) {
          a0 = a0.add(a0.rearrange(SWAP_EIGHTH));
        }
        if (L >= 16) {
          a0 = a0.add(a0.rearrange(SWAP_SIXTEENTH));
        }
        float s0 = a0.lane(0);
        for (; i < C; i++) {
          s0 += inp[x + i] * Bf16.toFloat(weight[w0 + i]);
        }
        out[outOff + n * OC + o] = s0 + (bias == null ? 0f : bias[biasOff + o]);
      }
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // int8 weights, for decoding

  /** Weights per scale ({@link Int8#GROUP}). */
  private static final int GROUP = Int8.GROUP;

  /**
   * Eight int8 weights, one panel half's column: loaded as 64 bits and widened to 8 floats (vmovq, vpmovsxbd and
   * vcvtdq2ps on AVX2). On a Zen 1 core, whose 128-bit units split each of these, the kernel is bound by that
   * conversion, not by memory: about 7 GB/s of weights per core, which is also what the same instructions reach
   * from C on weights in L2 (where bfloat16's shift and mask reach 22 GB/s). Measured alternatives, all slower: one
   * 128-bit load split into two halves (10%); 128-bit vectors (45% in C, 65% here); converting exactly by adding
   * the integers to the bits of 1.5·2^23 and subtracting that float (20% in C, 50% here).
   */
  private static final VectorSpecies<Byte> Q8 = ByteVector.SPECIES_64;

  /**
   * Stores each full panel of 16 rows column by column (for each input i, 16 bytes: rows 0..15 of the panel), and
   * the panel's scales, which fill the slots [(weightOff + p·C) / 32, + 16·C / 32) either way, as [group][16 rows];
   * the last OC % 16 rows and their scales stay row-major, where they were.
   */
  @Override
  public void packInt8Weight(byte[] weight, float[] scales, int weightOff, int C, int OC) {
    Int8.checkLayout(weightOff, C);
    int groups = C / GROUP;
    byte[] rows = new byte[PANEL * C];
    float[] rowScales = new float[PANEL * groups];
    for (int p = 0; p + PANEL <= OC; p += PANEL) {
      int base = weightOff + p * C;
      int s = base / GROUP;
      System.arraycopy(weight, base, rows, 0, PANEL * C);
      System.arraycopy(scales, s, rowScales, 0, PANEL * groups);
      for (int i = 0; i < C; i++) {
        for (int r = 0; r < PANEL; r++) {
          weight[base + i * PANEL + r] = rows[r * C + i];
        }
      }
      for (int g = 0; g < groups; g++) {
        for (int r = 0; r < PANEL; r++) {
          scales[s + g * PANEL + r] = rowScales[r * groups + g];
        }
      }
    }
  }

  @Override
  public void matmulForwardInt8(float[] out, int outOff, float[] inp, int inpOff, byte[] weight, float[] scales,
      int weightOff, float[] bias, int biasOff, int N, int C, int OC) {
    Int8.checkLayout(weightOff, C);
    WorkerPool pool = WorkerPool.acquire(2L * N * C * OC);
    if (pool == null) {
      matmulForwardInt8Rows(out, outOff, inp, inpOff, weight, scales, weightOff, bias, biasOff, N, C, OC, 0, OC);
      return;
    }
    Args a = pool.args();
    a.f0 = out;
    a.i0 = outOff;
    a.f1 = inp;
    a.i1 = inpOff;
    a.b0 = weight;
    a.f2 = scales;
    a.i2 = weightOff;
    a.f3 = bias;
    a.i3 = biasOff;
    a.i4 = N;
    a.i5 = C;
    a.i6 = OC;
    // as for bfloat16: one share of whole panels per thread, each row computed as on one thread
    pool.run(MATMUL_FORWARD_INT8, OC, onePerThread(OC, PANEL));
  }

  private static final RangeTask MATMUL_FORWARD_INT8 = (a, from, to) -> matmulForwardInt8Rows(a.f0, a.i0, a.f1,
      a.i1, a.b0, a.f2, a.i2, a.f3, a.i3, a.i4, a.i5, a.i6, from, to);

  @Override
  public void matmulForwardInt8Group(float[] out, int[] outOffs, float[] inp, int inpOff, byte[] weight,
      float[] scales, int[] weightOffs, int[] rows, int C) {
    int units = 0; // each product's rows rounded up to whole panels, so shares begin at panels of every product
    for (int j = 0; j < rows.length; j++) {
      Int8.checkLayout(weightOffs[j], C); // all before any is computed
      units += wholePanels(rows[j]);
    }
    WorkerPool pool = WorkerPool.acquire(2L * C * units);
    if (pool == null) {
      matmulForwardInt8GroupRows(out, outOffs, inp, inpOff, weight, scales, weightOffs, rows, C, 0, units);
      return;
    }
    Args a = pool.args();
    a.f0 = out;
    a.n0 = outOffs;
    a.n1 = weightOffs;
    a.n2 = rows;
    a.f1 = inp;
    a.i1 = inpOff;
    a.b0 = weight;
    a.f2 = scales;
    a.i5 = C;
    pool.run(MATMUL_FORWARD_INT8_GROUP, units, onePerThread(units, PANEL));
  }

  private static final RangeTask MATMUL_FORWARD_INT8_GROUP = (a, from, to) -> matmulForwardInt8GroupRows(a.f0,
      a.n0, a.f1, a.i1, a.b0, a.f2, a.n1, a.n2, a.i5, from, to);

  /** Units [from, to) of {@link #matmulForwardInt8Group}: the products' rows end to end, each padded to panels. */
  private static void matmulForwardInt8GroupRows(float[] out, int[] outOffs, float[] inp, int inpOff,
      byte[] weight, float[] scales, int[] weightOffs, int[] rows, int C, int from, int to) {
    int start = 0;
    for (int j = 0; j < rows.length && start < to; j++) {
      int lo = Math.max(from, start) - start;
      int hi = Math.min(to - start, rows[j]);
      if (lo < hi) {
        matmulForwardInt8Rows(out, outOffs[j], inp, inpOff, weight, scales, weightOffs[j], null, 0, 1, C, rows[j],
            lo, hi);
      }
      start += wholePanels(rows[j]);
    }
  }

  /**
   * Output rows [from, to) of {@link #matmulForwardInt8}; from is a multiple of {@link #PANEL}. Two panels at a
   * time, from the two halves of the range, as two streams of reads (one panel at a time was 12% slower). Four
   * streams, as bfloat16 reads, measured 4% slower with the accumulators kept in {@code out} between groups and 30%
   * slower with them in (spilled) registers: on the machine measured the kernel is bound by converting the weights
   * (see {@link #Q8}), and four partial sums already hide the fused multiply-adds' latency.
   */
  private static void matmulForwardInt8Rows(float[] out, int outOff, float[] inp, int inpOff, byte[] weight,
      float[] scales, int weightOff, float[] bias, int biasOff, int N, int C, int OC, int from, int to) {
    int panelsEnd = Math.min(to, OC / PANEL * PANEL);
    int q = Math.max(0, panelsEnd - from) / PANEL / 2 * PANEL;
    for (int n = 0; n < N; n++) {
      int x = inpOff + n * C;
      int y = outOff + n * OC;
      int o = from;
      if (PANEL_VECTORS) {
        for (; o < from + q; o += PANEL) {
          int p0 = weightOff + o * C;
          int p1 = weightOff + (o + q) * C;
          int b0 = biasOff + o;
          int b1 = biasOff + o + q;
          int8Panels2(out, y + o, y + o + q, inp, x, weight, p0, p1, scales, bias, b0, b1, C);
        }
        o = from + 2 * q;
      }
      for (; o < panelsEnd; o += PANEL) {
        int8Panel(out, y + o, inp, x, weight, weightOff + o * C, scales, bias, biasOff + o, C);
      }
    }
    if (panelsEnd < to) {
      // the rows past the last whole panel are row-major
      matmulForwardInt8Tail(out, outOff, inp, inpOff, weight, scales, weightOff, bias, biasOff, N, C, OC,
          Math.max(from, panelsEnd), to);
    }
  }

  /**
   * The panels at w[p0..] and w[p1..] (16 rows each, see {@link #packInt8Weight}), into out[y0..y0+16) and
   * out[y1..y1+16), every output summed as {@link #int8Panel} sums it: the same bits.
   */
  private static void int8Panels2(float[] out, int y0, int y1, float[] inp, int x, byte[] w, int p0, int p1,
      float[] scales, float[] bias, int b0, int b1, int C) {
    int s0 = p0 / GROUP;
    int s1 = p1 / GROUP;
    FloatVector acc0 = FloatVector.zero(PF);
    FloatVector acc1 = acc0;
    FloatVector acc2 = acc0;
    FloatVector acc3 = acc0;
    // the panels' scales are [group][16 rows]: group g's begin PANEL slots after group g - 1's
    for (int g = 0; g < C; g += GROUP, s0 += PANEL, s1 += PANEL) {
      FloatVector part0 = FloatVector.zero(PF);
      FloatVector part1 = part0;
      FloatVector part2 = part0;
      FloatVector part3 = part0;
      for (int i = g; i < g + GROUP; i++) {
        FloatVector xi = FloatVector.broadcast(PF, inp[x + i]);
        int w0 = p0 + i * PANEL;
        int w1 = p1 + i * PANEL;
        part0 = ((FloatVector) ByteVector.fromArray(Q8, w, w0).convertShape(VectorOperators.B2F, PF, 0))
            .fma(xi, part0);
        part1 = ((FloatVector) ByteVector.fromArray(Q8, w, w0 + PANEL / 2).convertShape(VectorOperators.B2F, PF, 0))
            .fma(xi, part1);
        part2 = ((FloatVector) ByteVector.fromArray(Q8, w, w1).convertShape(VectorOperators.B2F, PF, 0))
            .fma(xi, part2);
        part3 = ((FloatVector) ByteVector.fromArray(Q8, w, w1 + PANEL / 2).convertShape(VectorOperators.B2F, PF, 0))
            .fma(xi, part3);
      }
      acc0 = part0.fma(FloatVector.fromArray(PF, scales, s0), acc0);
      acc1 = part1.fma(FloatVector.fromArray(PF, scales, s0 + PANEL / 2), acc1);
      acc2 = part2.fma(FloatVector.fromArray(PF, scales, s1), acc2);
      acc3 = part3.fma(FloatVector.fromArray(PF, scales, s1 + PANEL / 2), acc3);
    }
    // always an addition, + 0 without a bias, as the reference adds: -0 + 0 is +0
    if (bias != null) {
      acc0 = acc0.add(FloatVector.fromArray(PF, bias, b0));
      acc1 = acc1.add(FloatVector.fromArray(PF, bias, b0 + PANEL / 2));
      acc2 = acc2.add(FloatVector.fromArray(PF, bias, b1));
      acc3 = acc3.add(FloatVector.fromArray(PF, bias, b1 + PANEL / 2));
    } else {
      acc0 = acc0.add(0f);
      acc1 = acc1.add(0f);
      acc2 = acc2.add(0f);
      acc3 = acc3.add(0f);
    }
    acc0.intoArray(out, y0);
    acc1.intoArray(out, y0 + PANEL / 2);
    acc2.intoArray(out, y1);
    acc3.intoArray(out, y1 + PANEL / 2);
  }

  /**
   * One panel (16 rows) at w[p..] into out[y..y+16), in the reference's order (per group, a partial sum of fused
   * multiply-adds; then acc = fma(partial, scale, acc); then + bias); in plain Java ({@link #int8PanelPlain}) where
   * the CPU's vectors are narrower than 256 bits.
   */
  static void int8Panel(float[] out, int y, float[] inp, int x, byte[] w, int p, float[] scales, float[] bias,
      int b, int C) {
    if (!PANEL_VECTORS) {
      int8PanelPlain(out, y, inp, x, w, p, scales, bias, b, C);
      return;
    }
    int s = p / GROUP;
    FloatVector acc0 = FloatVector.zero(PF);
    FloatVector acc1 = acc0;
    for (int g = 0; g < C; g += GROUP, s += PANEL) {
      FloatVector part0 = FloatVector.zero(PF);
      FloatVector part1 = part0;
      for (int i = g; i < g + GROUP; i++) {
        FloatVector xi = FloatVector.broadcast(PF, inp[x + i]);
        int w0 = p + i * PANEL;
        part0 = ((FloatVector) ByteVector.fromArray(Q8, w, w0).convertShape(VectorOperators.B2F, PF, 0))
            .fma(xi, part0);
        part1 = ((FloatVector) ByteVector.fromArray(Q8, w, w0 + PANEL / 2).convertShape(VectorOperators.B2F, PF, 0))
            .fma(xi, part1);
      }
      acc0 = part0.fma(FloatVector.fromArray(PF, scales, s), acc0);
      acc1 = part1.fma(FloatVector.fromArray(PF, scales, s + PANEL / 2), acc1);
    }
    if (bias != null) {
      acc0 = acc0.add(FloatVector.fromArray(PF, bias, b));
      acc1 = acc1.add(FloatVector.fromArray(PF, bias, b + PANEL / 2));
    } else {
      acc0 = acc0.add(0f);
      acc1 = acc1.add(0f);
    }
    acc0.intoArray(out, y);
    acc1.intoArray(out, y + PANEL / 2);
  }

  /** {@link #int8Panel} without vectors, row by row in the same order: the same bits. */
  static void int8PanelPlain(float[] out, int y, float[] inp, int x, byte[] w, int p, float[] scales,
      float[] bias, int b, int C) {
    int s = p / GROUP;
    for (int r = 0; r < PANEL; r++) {
      float acc = 0f;
      for (int g = 0, sg = s + r; g < C; g += GROUP, sg += PANEL) {
        float part = 0f;
        for (int i = g; i < g + GROUP; i++) {
          part = Math.fma((float) w[p + i * PANEL + r], inp[x + i], part);
        }
        acc = Math.fma(part, scales[sg], acc);
      }
      out[y + r] = acc + (bias == null ? 0f : bias[b + r]);
    }
  }

  /**
   * Row-major output rows [from, to) of {@link #matmulForwardInt8}: the fewer than 16 rows past its last whole
   * panel, one at a time in the reference's order (a vector across a row's inputs would change the sums' order).
   */
  private static void matmulForwardInt8Tail(float[] out, int outOff, float[] inp, int inpOff, byte[] weight,
      float[] scales, int weightOff, float[] bias, int biasOff, int N, int C, int OC, int from, int to) {
    for (int n = 0; n < N; n++) {
      int x = inpOff + n * C;
      for (int o = from; o < to; o++) {
        int w = weightOff + o * C;
        float acc = 0f;
        for (int g = 0, s = w / GROUP; g < C; g += GROUP, s++) {
          float part = 0f;
          for (int i = g; i < g + GROUP; i++) {
            part = Math.fma((float) weight[w + i], inp[x + i], part);
          }
          acc = Math.fma(part, scales[s], acc);
        }
        out[outOff + n * OC + o] = acc + (bias == null ? 0f : bias[biasOff + o]);
      }
    }
  }
}
