package dev.unroll.runtime.simd;

import static dev.unroll.runtime.scalar.KernelTesting.PAD;
import static dev.unroll.runtime.scalar.KernelTesting.assertPadded;
import static dev.unroll.runtime.scalar.KernelTesting.random;
import static dev.unroll.runtime.scalar.KernelTesting.tokens;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.unroll.runtime.Backend;
import dev.unroll.runtime.kernel.Kernels;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The padded vocabulary columns V..Vp never count: softmax writes 0 there whatever the logits and the output
 * held, and the cross-entropy backward leaves those columns of dlogits exactly as they were, whatever the
 * probabilities hold there. Checked for every backend, on widths below, at and above a vector.
 */
class PaddedVocabTest {

  private static final int[][] SIZES = {{5, 8}, {97, 112}, {16, 32}, {131, 136}};

  @ParameterizedTest
  @EnumSource(value = Backend.class, names = {"SCALAR", "SIMD"})
  void softmaxZeroesThePaddedColumns(Backend backend) {
    Kernels k = backend.kernels();
    SplittableRandom rnd = new SplittableRandom(21);
    int N = 7;
    for (int[] size : SIZES) {
      int V = size[0];
      int Vp = size[1];
      float[] logits = random(rnd, N * Vp, -4, 4);
      for (int n = 0; n < N; n++) {
        for (int i = V; i < Vp; i++) {
          logits[PAD + n * Vp + i] = 50; // would dominate the softmax if it were counted
        }
      }
      float[] probs = random(rnd, N * Vp, 1, 2);
      k.softmaxForward(probs, PAD, logits, PAD, N, V, Vp);
      assertPadded("probs", probs);
      for (int n = 0; n < N; n++) {
        double sum = 0;
        for (int i = 0; i < V; i++) {
          sum += probs[PAD + n * Vp + i];
        }
        assertEquals(1.0, sum, 1e-5, "row " + n + " of V=" + V + " sums to");
        for (int i = V; i < Vp; i++) {
          assertEquals(0, Float.floatToRawIntBits(probs[PAD + n * Vp + i]), "probs[" + n + "," + i + "] is +0");
        }
      }
    }
  }

  @ParameterizedTest
  @EnumSource(value = Backend.class, names = {"SCALAR", "SIMD"})
  void crossEntropyBackwardLeavesThePaddedColumns(Backend backend) {
    Kernels k = backend.kernels();
    SplittableRandom rnd = new SplittableRandom(22);
    int N = 7;
    for (int[] size : SIZES) {
      int V = size[0];
      int Vp = size[1];
      // probabilities that are not 0 in the padded columns: only the kernel's bounds keep them out
      float[] probs = random(rnd, N * Vp, 0, 1);
      int[] targets = tokens(rnd, N, V);
      targets[0] = V - 1; // the last real column, next to the padding
      targets[1] = 0;
      float[] before = random(rnd, N * Vp, -1, 1);
      float[] dlogits = before.clone();
      k.crossEntropySoftmaxBackward(dlogits, PAD, probs, PAD, targets, N, V, Vp);
      assertPadded("dlogits", dlogits);
      for (int n = 0; n < N; n++) {
        for (int i = 0; i < Vp; i++) {
          int at = PAD + n * Vp + i;
          if (i >= V) {
            assertEquals(Float.floatToRawIntBits(before[at]), Float.floatToRawIntBits(dlogits[at]),
                "dlogits[" + n + "," + i + "] of V=" + V + " changed");
          } else {
            double expected = before[at] + (probs[at] - (i == targets[n] ? 1.0 : 0.0)) / N;
            assertEquals(expected, dlogits[at], 1e-6, "dlogits[" + n + "," + i + "]");
          }
        }
      }
    }
  }
}
