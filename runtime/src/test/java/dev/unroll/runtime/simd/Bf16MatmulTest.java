package dev.unroll.runtime.simd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unroll.runtime.kernel.Kernels;
import dev.unroll.runtime.number.Bf16;
import dev.unroll.runtime.scalar.ScalarKernels;
import dev.unroll.runtime.thread.WorkerPool;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The SIMD bfloat16 matmul, on a weight it packed into its panels, against the interface's plain loop (the
 * reference) on the row-major weight, at sizes with every kind of tail: C odd and even, below and past a vector,
 * OC below one panel, between panels, one panel and a pair plus rows, one and several rows. Only the order of the
 * sums differs, so the tolerance is float rounding: 1e-5 of the largest |output|.
 */
class Bf16MatmulTest {
  @ParameterizedTest
  @CsvSource({"1, 5, 7", "1, 48, 97", "1, 67, 131", "3, 288, 768", "2, 33, 4", "1, 768, 2048", "1, 9, 16",
      "2, 1, 48", "1, 3, 17", "1, 2, 33"})
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
    short[] packed = w.clone();
    SimdKernels.INSTANCE.packBf16Weight(packed, 5, c, oc);
    float[] want = new float[1 + n * oc];
    float[] got = new float[1 + n * oc];
    for (float[] b : new float[][] {bias, null}) {
      ScalarKernels.INSTANCE.matmulForwardBf16(want, 1, inp, 3, w, 5, b, 2, n, c, oc);
      SimdKernels.INSTANCE.matmulForwardBf16(got, 1, inp, 3, packed, 5, b, 2, n, c, oc);
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

  @ParameterizedTest
  @CsvSource({"1, 16", "7, 33", "288, 768", "5, 3"})
  void packingMovesTheMatrixOnlyAndLosesNothing(int c, int oc) {
    SplittableRandom r = new SplittableRandom(c * 31 + oc);
    short[] w = new short[4 + oc * c + 6];
    for (int i = 0; i < w.length; i++) {
      w[i] = (short) r.nextInt();
    }
    short[] packed = w.clone();
    SimdKernels.INSTANCE.packBf16Weight(packed, 4, c, oc);
    assertArrayEquals(Arrays.copyOfRange(w, 0, 4), Arrays.copyOfRange(packed, 0, 4));
    assertArrayEquals(Arrays.copyOfRange(w, 4 + oc * c, w.length),
        Arrays.copyOfRange(packed, 4 + oc * c, w.length));
    short[] before = Arrays.copyOfRange(w, 4, 4 + oc * c);
    short[] after = Arrays.copyOfRange(packed, 4, 4 + oc * c);
    // rows past the last whole panel stay where they were
    int rowMajor = oc / QuantizedMatvec.PANEL * QuantizedMatvec.PANEL * c;
    assertArrayEquals(Arrays.copyOfRange(before, rowMajor, before.length),
        Arrays.copyOfRange(after, rowMajor, after.length));
    Arrays.sort(before);
    Arrays.sort(after);
    assertArrayEquals(before, after);
    if (oc >= QuantizedMatvec.PANEL && c > 1) {
      assertFalse(Arrays.equals(w, packed), "a whole panel is laid out column by column");
    }
  }

  /**
   * Each output's bits are fixed by its panel alone: the vector panel, the pair of panels, and the plain-Java panel
   * (for CPUs with vectors narrower than 256 bits) agree exactly.
   */
  @ParameterizedTest
  @CsvSource({"1", "2", "7", "288"})
  void everyPanelPathGivesTheSameBits(int c) {
    SplittableRandom r = new SplittableRandom(c);
    int oc = 3 * QuantizedMatvec.PANEL;
    float[] inp = new float[c];
    short[] w = new short[oc * c];
    float[] bias = new float[oc];
    for (int i = 0; i < c; i++) {
      inp[i] = (float) r.nextGaussian();
    }
    for (int i = 0; i < w.length; i++) {
      w[i] = Bf16.fromFloat((float) r.nextGaussian());
    }
    for (int i = 0; i < oc; i++) {
      bias[i] = (float) r.nextGaussian();
    }
    SimdKernels.INSTANCE.packBf16Weight(w, 0, c, oc);
    for (float[] b : new float[][] {bias, null}) {
      float[] whole = new float[oc];
      SimdKernels.INSTANCE.matmulForwardBf16(whole, 0, inp, 0, w, 0, b, 0, 1, c, oc);
      float[] vector = new float[oc];
      float[] plain = new float[oc];
      for (int p = 0; p < oc; p += QuantizedMatvec.PANEL) {
        QuantizedMatvec.bf16Panel(vector, p, inp, 0, w, p * c, b, p, c);
        QuantizedMatvec.bf16PanelPlain(plain, p, inp, 0, w, p * c, b, p, c);
      }
      assertArrayEquals(plain, vector);
      assertArrayEquals(plain, whole);
    }
  }

  /**
   * A group of products (decoding's q, k and v; SwiGLU's two up-projections) as one job gives exactly what the
   * separate products give, on one to three threads, with row counts that are not whole panels (the group pads each
   * to panels, so a share can begin inside the padding), for the SIMD kernels and the interface's plain loop.
   */
  @ParameterizedTest
  @CsvSource({"288, 288;48;48", "33, 20;7;33", "64, 768;768", "5, 1;16;17;3", "300, 20;7;33;500"})
  void aGroupGivesWhatItsProductsGive(int c, String rowList) {
    int[] rows = Arrays.stream(rowList.split(";")).mapToInt(Integer::parseInt).toArray();
    SplittableRandom r = new SplittableRandom(c * 7 + rows.length);
    float[] inp = new float[2 + c];
    for (int i = 0; i < inp.length; i++) {
      inp[i] = (float) r.nextGaussian();
    }
    int[] weightOffs = new int[rows.length];
    int[] outOffs = new int[rows.length];
    int w = 3;
    int o = 1;
    for (int j = 0; j < rows.length; j++) {
      weightOffs[j] = w;
      outOffs[j] = o;
      w += rows[j] * c + 5;
      o += rows[j] + 2;
    }
    short[] weight = new short[w];
    for (int i = 0; i < w; i++) {
      weight[i] = Bf16.fromFloat((float) r.nextGaussian());
    }
    int initialThreads = WorkerPool.threads();
    for (Kernels k : new Kernels[] {ScalarKernels.INSTANCE, SimdKernels.INSTANCE}) {
      short[] packed = weight.clone();
      for (int j = 0; j < rows.length; j++) {
        k.packBf16Weight(packed, weightOffs[j], c, rows[j]);
      }
      float[] separate = new float[o];
      for (int j = 0; j < rows.length; j++) {
        k.matmulForwardBf16(separate, outOffs[j], inp, 2, packed, weightOffs[j], null, 0, 1, c, rows[j]);
      }
      for (int threads = 1; threads <= 3; threads++) {
        WorkerPool.setThreads(threads);
        try {
          float[] grouped = new float[o];
          k.matmulForwardBf16Group(grouped, outOffs, inp, 2, packed, weightOffs, rows, c);
          assertArrayEquals(separate, grouped, k.getClass().getSimpleName() + " on " + threads + " threads");
        } finally {
          WorkerPool.setThreads(initialThreads);
        }
      }
    }
  }
}
