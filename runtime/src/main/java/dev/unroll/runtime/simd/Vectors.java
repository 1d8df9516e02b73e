package dev.unroll.runtime.simd;

import dev.unroll.runtime.thread.WorkerPool;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * What the SIMD rooms share: the species, the lane permutations of the sum's tree, and the few vector helpers more
 * than one room calls. Each helper returns a scalar or writes an array, so no vector leaves a method.
 *
 * <p>Allocation: none once C2 has compiled the kernels, provided that no vector reaches a call C2 does not inline
 * (hence the helpers here return scalars or write arrays, and {@link VectorMath}'s exp and tanh work on arrays),
 * and that every vector loop with a loop-carried vector (an accumulator) lies within C2's parse budget. Past
 * NodeCountInliningCutoff (18,000 ideal nodes) in one compilation, C2 defers the rest of the method's Vector API
 * calls; a deferred call's result is a vector of no exact class, and the next operation on it is inlined behind a
 * class check. When the compilation has seen too many class-check traps (C2 adds them up over every inlined method,
 * and warm-up leaves some in the Vector API's own methods), that check falls back to a real virtual call, for
 * which the vector is allocated. Where no vector is loop-carried, the check folds away once the deferred call is
 * inlined; on an accumulator it cannot, and every pass allocates. Which fallback C2 picks depends on profiles, so
 * such a kernel allocates in some runs and not in others. A Vector API call costs some 400 nodes, exp's vector body
 * 8,000, {@link #dot} 5,000 to 6,500; a method over 325 bytes of bytecode (FreqInlineSize) is never inlined, and so
 * is a budget of its own. ({@code Matmul.dot4x2} and {@code Pointwise.geluBackwardRange} go a little past the
 * budget, but after dot4x2's accumulators and in gelu's pointwise body.)
 *
 * <p>Why exp and tanh take arrays: a method over 35 bytes (MaxInlineSize) is inlined only where C2's profile says
 * its call runs at least a quarter as often as the method that makes it (InlineFrequencyRatio), and a method that
 * is compiled on its own (exp's vector form was, to about 1 kB of code) is then not inlined at a colder call at
 * all. That profile depends on the shape (a softmax over fewer keys than a vector has lanes skips its vector loop:
 * on AVX-512, 16 lanes, a decoder with a context of 16 reached attention's exp on one call in 16), on what ran
 * before, and on when the compilations happened: seen with exp taking and returning vectors, decoding int8 EVEN on
 * AVX-512 allocated 1,536 bytes a round for good (exp not inlined into {@code Attention.gqaScoresSoftmax}, "too
 * big"), a Llama decode after other models allocated in {@code Pointwise.swigluForward} (exp "already compiled into
 * a medium method"), and on a busy machine {@code Pointwise.geluBackwardRange} allocated in some runs of the kernel
 * test and not in others. With arrays in and out no vector crosses those calls, whatever C2 decides. The pointwise
 * kernels compute the arguments of exp or tanh a chunk at a time into a thread's scratch ({@code Pointwise.SCRATCH})
 * and combine the results after; the softmaxes go through {@link #expShifted}.
 */
final class Vectors {

  /** The species of every kernel: {@link Tuning#SPECIES}, the one the CPU prefers. */
  static final VectorSpecies<Float> S = Tuning.SPECIES;

  static final int L = S.length();

  /**
   * Lane permutations for adding a vector's lanes in {@link VectorMath#sum}'s tree, written out where a method
   * reduces a vector in registers: a call per reduction there was not inlined by C2, and a vector passed to a call
   * that is not inlined is allocated. The tree, for an accumulator {@code acc}, as every room writes it:
   *
   * <pre>{@code
   * acc = acc.add(acc.rearrange(SWAP_HALF));
   * acc = acc.add(acc.rearrange(SWAP_QUARTER));
   * if (L >= 8) {                                // only the levels that vectors of L lanes have
   *   acc = acc.add(acc.rearrange(SWAP_EIGHTH));
   * }
   * if (L >= 16) {
   *   acc = acc.add(acc.rearrange(SWAP_SIXTEENTH));
   * }
   * float sum = acc.lane(0);
   * }</pre>
   */
  static final VectorShuffle<Float> SWAP_HALF = swap(L / 2);
  static final VectorShuffle<Float> SWAP_QUARTER = swap(L / 4);
  static final VectorShuffle<Float> SWAP_EIGHTH = swap(L / 8);
  static final VectorShuffle<Float> SWAP_SIXTEENTH = swap(L / 16);

  /** Initial running maximum in llm.c's softmaxes (and the LLAMA kernels', so that KVH = NH is GPT-2). */
  static final float MAX_START = -10000.0f;

  private Vectors() {}

  /** Lane i takes lane i ^ d; the identity for d = 0 (a level that vectors of this length do not have). */
  private static VectorShuffle<Float> swap(int d) {
    return VectorShuffle.fromOp(S, i -> i ^ d);
  }

  /** Sum of a[ao..ao+n) * b[bo..bo+n). */
  static float dot(float[] a, int ao, float[] b, int bo, int n) {
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

  /** y[yo..yo+n) += x[xo..xo+n). */
  static void addInto(float[] y, int yo, float[] x, int xo, int n) {
    int bound = S.loopBound(n);
    int i = 0;
    for (; i < bound; i += L) {
      FloatVector.fromArray(S, y, yo + i).add(FloatVector.fromArray(S, x, xo + i)).intoArray(y, yo + i);
    }
    for (; i < n; i++) {
      y[yo + i] += x[xo + i];
    }
  }

  /**
   * out[oo + i] = e^(in[io + i] - max) for i &lt; n, and their sum: the whole vectors' lanes summed in
   * {@link VectorMath#sum}'s tree, then the rest in order. The exp pass of every softmax; {@code in} may be
   * {@code out}.
   */
  static float expShifted(float[] in, int io, float max, float[] out, int oo, int n) {
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
    for (; i < n; i++) {
      sum += out[oo + i];
    }
    return sum;
  }

  /**
   * A grain (a multiple of {@code grain}) that cuts {@code units} into one share per thread of the pool. Decoding's
   * matrix-vector products read memory as fast as it comes; two shares per thread, each a few panels, started more
   * streams from scratch and took 40% longer at stories15M's 288 x 288 (measured: 14 -> 9.6 us each, two threads).
   */
  static int onePerThread(int units, int grain) {
    int threads = WorkerPool.threads();
    int perThread = (units + threads - 1) / threads;
    return Math.max(grain, (perThread + grain - 1) / grain * grain);
  }
}
