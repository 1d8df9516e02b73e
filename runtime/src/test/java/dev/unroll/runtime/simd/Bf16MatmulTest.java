package dev.unroll.runtime.simd;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unroll.runtime.Bf16;
import dev.unroll.runtime.scalar.ScalarKernels;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The SIMD bfloat16 matmul against the interface's plain loop (the reference), at sizes with every kind of tail:
 * C below, at and between multiples of two vectors, OC not a multiple of 4, one and several rows. Only the order of
 * the sums differs, so the tolerance is float rounding: 1e-5 of the largest |output|.
 */
class Bf16MatmulTest {
  @ParameterizedTest
  @CsvSource({"1, 5, 7", "1, 48, 97", "1, 67, 131", "3, 288, 768", "2, 33, 4", "1, 768, 2048"})
  void matchesTheReference(int n, int c, int oc) {
    SplittableRandom r = new SplittableRandom(n * 1000 + c * 10 + oc);
    float[] inp = new float[3 + n * c];
    short[] w = new short[5 + oc * c];
    float[] bias = new float[2 + oc];
    for (int i = 0; i < inp.length; i++) {
      inp[i] = (float) r.nextGaussian();
    }
    for (int i = 0; i < w.length; i++) {
      w[i] = Bf16.fromFloat((float) r.nextGaussian() * 0.1f);
    }
    for (int i = 0; i < bias.length; i++) {
      bias[i] = (float) r.nextGaussian();
    }
    float[] want = new float[1 + n * oc];
    float[] got = new float[1 + n * oc];
    for (float[] b : new float[][] {bias, null}) {
      ScalarKernels.INSTANCE.matmulForwardBf16(want, 1, inp, 3, w, 5, b, 2, n, c, oc);
      SimdKernels.INSTANCE.matmulForwardBf16(got, 1, inp, 3, w, 5, b, 2, n, c, oc);
      float scale = 0;
      for (float v : want) {
        scale = Math.max(scale, Math.abs(v));
      }
      for (int i = 1; i < want.length; i++) {
        assertTrue(Math.abs(want[i] - got[i]) <= 1e-5f * scale,
            "out[" + i + "]: " + want[i] + " vs " + got[i] + (b == null ? " (no bias)" : ""));
      }
    }
  }
}
