package dev.unroll.runtime.simd;

import static dev.unroll.runtime.simd.Vectors.L;
import static dev.unroll.runtime.simd.Vectors.MAX_START;
import static dev.unroll.runtime.simd.Vectors.S;
import static dev.unroll.runtime.simd.Vectors.expShifted;

import dev.unroll.runtime.thread.WorkerPool;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * The classifier's softmax and the backward of the cross-entropy loss through it, both split over the pool by rows.
 * The loss itself, a logarithm per row summed over rows on the calling thread, is the scalar reference's loop
 * ({@code SimdKernels} calls it there).
 */
final class Loss {

  private Loss() {}

  /** {@link dev.unroll.runtime.kernel.Kernels#softmaxForward}. */
  static void softmaxForward(float[] probs, int probsOff, float[] logits, int logitsOff, int N, int V, int Vp) {
    WorkerPool pool = WorkerPool.acquire(16L * N * V);
    if (pool == null) {
      softmaxForwardRows(probs, probsOff, logits, logitsOff, V, Vp, 0, N);
      return;
    }
    pool.run(J.task(SOFTMAX_FORWARD).probs(probs, probsOff).logits(logits, logitsOff).V(V, Vp), N, 1);
  }

  /** The arguments of this room's parallel tasks (see {@link KernelJob}). */
  private static final KernelJob J = new KernelJob();

  /** {@link #softmaxForward}'s rows. */
  private static final KernelJob.Task SOFTMAX_FORWARD =
      (from, to) -> softmaxForwardRows(J.probs, J.probsOff, J.logits, J.logitsOff, J.V, J.Vp, from, to);

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
        maxval = maxOfVectors(logits, x, bound);
        i = bound;
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

  /**
   * The largest of a[off..off+bound), {@code bound} a multiple of the vector length, at least one vector. A method
   * of its own, with no vector crossing its boundary: when softmaxForwardRows was first compiled for rows narrower
   * than a vector (an encoder's few classes), this loop never ran, and inlined there, C2's recompilation for wide
   * rows left its vectors boxed, allocating on every call (measured: a GPT-2 step after a ViT's, 48,672 bytes).
   */
  private static float maxOfVectors(float[] a, int off, int bound) {
    FloatVector vmax = FloatVector.broadcast(S, MAX_START);
    for (int i = 0; i < bound; i += L) {
      vmax = vmax.max(FloatVector.fromArray(S, a, off + i));
    }
    return vmax.reduceLanes(VectorOperators.MAX);
  }

  /** {@link dev.unroll.runtime.kernel.Kernels#crossEntropySoftmaxBackward}. */
  static void crossEntropySoftmaxBackward(float[] dlogits, int dlogitsOff, float[] probs, int probsOff,
      int[] targets, int N, int V, int Vp) {
    WorkerPool pool = WorkerPool.acquire(2L * N * V);
    if (pool == null) {
      crossEntropySoftmaxBackwardRows(dlogits, dlogitsOff, probs, probsOff, targets, N, V, Vp, 0, N);
      return;
    }
    pool.run(J.task(CROSS_ENTROPY_SOFTMAX_BACKWARD).dlogits(dlogits, dlogitsOff).probs(probs, probsOff)
        .targets(targets).N(N).V(V, Vp), N, 1);
  }

  /** {@link #crossEntropySoftmaxBackward}'s rows. */
  private static final KernelJob.Task CROSS_ENTROPY_SOFTMAX_BACKWARD = (from, to) -> crossEntropySoftmaxBackwardRows(
      J.dlogits, J.dlogitsOff, J.probs, J.probsOff, J.targets, J.N, J.V, J.Vp, from, to);

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
}
