package dev.unroll.runtime.simd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unroll.runtime.kernel.Kernels;
import dev.unroll.runtime.number.Int8;
import dev.unroll.runtime.scalar.ScalarKernels;
import dev.unroll.runtime.thread.WorkerPool;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The SIMD int8 matmul, on a weight it packed into its panels, against the interface's loop (the reference) on the
 * row-major weight. The reference fixes the order of every sum, so the two must agree bit for bit: at every shape
 * (OC below a panel, a panel, a panel and a row, pairs of panels and a lone one, rows past the last panel), on one
 * to three threads, on the vector and the plain-Java panel; and the int8 product must stay within the rounding and
 * quantization error of the float products it stands for.
 */
class Int8MatmulTest {

  private static final Kernels REF = ScalarKernels.INSTANCE;
  private static final SimdKernels K = SimdKernels.INSTANCE;

  /** Where the weight starts in its flat array: two groups of another tensor come first, as in a model's arena. */
  private static final int WEIGHT_OFF = 2 * Int8.GROUP;

  /** Written into every output slot first: a slot a kernel should not write keeps it. */
  private static final float UNWRITTEN = -12345f;

  private final int initialThreads = WorkerPool.threads();

  @AfterEach
  void restoreThreads() {
    WorkerPool.setThreads(initialThreads);
  }

  /** An oc×c weight at {@link #WEIGHT_OFF} of a flat array (with a group after it), quantized as a model does. */
  private static final class Weight {
    final float[] source;
    final byte[] q;
    final float[] scales;
    /** The same, packed by the SIMD kernels. */
    final byte[] packedQ;
    final float[] packedScales;

    Weight(SplittableRandom r, int c, int oc) {
      int n = WEIGHT_OFF + oc * c + Int8.GROUP;
      source = new float[n];
      for (int i = 0; i < n; i++) {
        // rows of different spreads, and now and then an outlier that coarsens its group
        source[i] = (float) (r.nextGaussian() * 0.1 * (1 + i / Math.max(c, 1) % 3) * (r.nextInt(50) == 0 ? 8 : 1));
      }
      q = new byte[n];
      scales = new float[Int8.scaleCount(n)];
      Int8.quantize(source, q, scales, n);
      packedQ = q.clone();
      packedScales = scales.clone();
      K.packInt8Weight(packedQ, packedScales, WEIGHT_OFF, c, oc);
    }

    /** The weight's value as int8 stands for it. */
    float dequantized(int i) {
      return Int8.toFloat(q[i], scales[i / Int8.GROUP]);
    }
  }

  private static float[] gaussian(SplittableRandom r, int n) {
    float[] a = new float[n];
    for (int i = 0; i < n; i++) {
      a[i] = (float) r.nextGaussian();
    }
    return a;
  }

  private static float[] unwritten(int n) {
    float[] a = new float[n];
    Arrays.fill(a, UNWRITTEN);
    return a;
  }

  /**
   * Every shape of C in {32, 64, 288, 768}, OC in {1, 15, 16, 17, 48, 50, 300} and N in {1, 2}, with and without a
   * bias, at offsets in every array, gives the reference's bits on {@code threads} threads (the larger shapes split,
   * so shares begin inside the range of panel pairs and end in the row-major tail). The output's surroundings stay
   * unwritten.
   */
  @ParameterizedTest
  @ValueSource(ints = {1, 2, 3})
  void matchesTheReferenceBitForBit(int threads) {
    WorkerPool.setThreads(threads);
    for (int c : new int[] {32, 64, 288, 768}) {
      for (int oc : new int[] {1, 15, 16, 17, 48, 50, 300}) {
        for (int n = 1; n <= 2; n++) {
          SplittableRandom r = new SplittableRandom(c * 1000 + oc * 10 + n);
          Weight w = new Weight(r, c, oc);
          float[] inp = gaussian(r, 3 + n * c);
          float[] bias = gaussian(r, 2 + oc);
          for (float[] b : new float[][] {bias, null}) {
            float[] want = unwritten(1 + n * oc + 4);
            float[] got = unwritten(1 + n * oc + 4);
            REF.matmulForwardInt8(want, 1, inp, 3, w.q, w.scales, WEIGHT_OFF, b, 2, n, c, oc);
            K.matmulForwardInt8(got, 1, inp, 3, w.packedQ, w.packedScales, WEIGHT_OFF, b, 2, n, c, oc);
            String shape = "N " + n + ", C " + c + ", OC " + oc + (b == null ? ", no bias" : ", bias") + ", "
                + threads + " threads";
            assertArrayEquals(want, got, shape);
            assertEquals(UNWRITTEN, got[0], shape);
            assertEquals(UNWRITTEN, got[1 + n * oc], shape);
          }
        }
      }
    }
  }

  /**
   * Packing moves the whole panels' bytes to [input][16 rows] and their scales to [group][16 rows], within the
   * weight's own slots; the rows past the last panel, and everything outside the weight, stay where they were.
   */
  @ParameterizedTest
  @CsvSource({"32, 16", "64, 33", "288, 50", "96, 7"})
  void packingLaysOutPanelsAndTheirScales(int c, int oc) {
    Weight w = new Weight(new SplittableRandom(c * 31 + oc), c, oc);
    int groups = c / Int8.GROUP;
    int panels = oc / QuantizedMatvec.PANEL;
    for (int p = 0; p < panels; p++) {
      int base = WEIGHT_OFF + p * QuantizedMatvec.PANEL * c;
      for (int r = 0; r < QuantizedMatvec.PANEL; r++) {
        for (int i = 0; i < c; i++) {
          assertEquals(w.q[base + r * c + i], w.packedQ[base + i * QuantizedMatvec.PANEL + r], "panel " + p + ", row "
              + r + ", input " + i);
        }
        for (int g = 0; g < groups; g++) {
          assertEquals(w.scales[base / Int8.GROUP + r * groups + g],
              w.packedScales[base / Int8.GROUP + g * QuantizedMatvec.PANEL + r], "panel " + p + ", row " + r
                  + ", group " + g);
        }
      }
    }
    int rowMajor = WEIGHT_OFF + panels * QuantizedMatvec.PANEL * c;
    assertArrayEquals(Arrays.copyOfRange(w.q, 0, WEIGHT_OFF), Arrays.copyOfRange(w.packedQ, 0, WEIGHT_OFF));
    assertArrayEquals(Arrays.copyOfRange(w.q, rowMajor, w.q.length),
        Arrays.copyOfRange(w.packedQ, rowMajor, w.q.length));
    assertArrayEquals(Arrays.copyOfRange(w.scales, 0, WEIGHT_OFF / Int8.GROUP),
        Arrays.copyOfRange(w.packedScales, 0, WEIGHT_OFF / Int8.GROUP));
    assertArrayEquals(Arrays.copyOfRange(w.scales, rowMajor / Int8.GROUP, w.scales.length),
        Arrays.copyOfRange(w.packedScales, rowMajor / Int8.GROUP, w.scales.length));
  }

  /**
   * Each output's bits are fixed by its panel alone: the pair of panels, the lone vector panel, and the plain-Java
   * panel (for CPUs with vectors narrower than 256 bits) agree exactly, with each other and with the reference.
   */
  @ParameterizedTest
  @ValueSource(ints = {32, 64, 288})
  void everyPanelPathGivesTheSameBits(int c) {
    SplittableRandom r = new SplittableRandom(c);
    int oc = 3 * QuantizedMatvec.PANEL; // one pair and one lone panel
    Weight w = new Weight(r, c, oc);
    float[] inp = gaussian(r, c);
    float[] bias = gaussian(r, oc);
    for (float[] b : new float[][] {bias, null}) {
      float[] want = new float[oc];
      REF.matmulForwardInt8(want, 0, inp, 0, w.q, w.scales, WEIGHT_OFF, b, 0, 1, c, oc);
      float[] whole = new float[oc];
      K.matmulForwardInt8(whole, 0, inp, 0, w.packedQ, w.packedScales, WEIGHT_OFF, b, 0, 1, c, oc);
      float[] vector = new float[oc];
      float[] plain = new float[oc];
      for (int p = 0; p < oc; p += QuantizedMatvec.PANEL) {
        int at = WEIGHT_OFF + p * c;
        QuantizedMatvec.int8Panel(vector, p, inp, 0, w.packedQ, at, w.packedScales, b, p, c);
        QuantizedMatvec.int8PanelPlain(plain, p, inp, 0, w.packedQ, at, w.packedScales, b, p, c);
      }
      assertArrayEquals(want, plain, "plain panel");
      assertArrayEquals(want, vector, "vector panel");
      assertArrayEquals(want, whole, "pair and lone panel");
    }
  }

  /**
   * A group of products as one job gives exactly what the separate products give, on one to three threads, with
   * row counts that are not whole panels (the group pads each to panels, so a share can begin inside the padding),
   * for the SIMD kernels and the interface's loop; and the two kernels agree.
   */
  @ParameterizedTest
  @CsvSource({"288, 288;48;48", "32, 20;7;33", "64, 768;768", "32, 1;16;17;3", "288, 20;7;33;500"})
  void aGroupGivesWhatItsProductsGive(int c, String rowList) {
    int[] rows = Arrays.stream(rowList.split(";")).mapToInt(Integer::parseInt).toArray();
    SplittableRandom r = new SplittableRandom(c * 7 + rows.length);
    float[] inp = gaussian(r, 2 + c);
    int[] weightOffs = new int[rows.length];
    int[] outOffs = new int[rows.length];
    int w = WEIGHT_OFF;
    int o = 1;
    for (int j = 0; j < rows.length; j++) {
      weightOffs[j] = w;
      outOffs[j] = o;
      w += rows[j] * c + Int8.GROUP; // a group between products
      o += rows[j] + 2;
    }
    float[] source = gaussian(r, w);
    byte[] q = new byte[w];
    float[] scales = new float[Int8.scaleCount(w)];
    Int8.quantize(source, q, scales, w);
    float[] reference = null;
    for (Kernels k : new Kernels[] {REF, K}) {
      byte[] packedQ = q.clone();
      float[] packedScales = scales.clone();
      for (int j = 0; j < rows.length; j++) {
        k.packInt8Weight(packedQ, packedScales, weightOffs[j], c, rows[j]);
      }
      float[] separate = unwritten(o);
      for (int j = 0; j < rows.length; j++) {
        k.matmulForwardInt8(separate, outOffs[j], inp, 2, packedQ, packedScales, weightOffs[j], null, 0, 1, c,
            rows[j]);
      }
      for (int threads = 1; threads <= 3; threads++) {
        WorkerPool.setThreads(threads);
        float[] grouped = unwritten(o);
        k.matmulForwardInt8Group(grouped, outOffs, inp, 2, packedQ, packedScales, weightOffs, rows, c);
        assertArrayEquals(separate, grouped, k.getClass().getSimpleName() + " on " + threads + " threads");
      }
      if (reference == null) {
        reference = separate;
      } else {
        assertArrayEquals(reference, separate, "SIMD vs reference");
      }
    }
  }

  /**
   * Where the sum is -0 (a product that underflows), the reference's "+ 0" without a bias makes it +0, and the SIMD
   * kernel must too; a group whose scale is NaN (a NaN weight) makes its row NaN and no other. Rows 0-31 are a pair
   * of panels, 32-47 a lone panel and 48 the row-major tail: each path gives the same.
   */
  @Test
  void signedZerosAndNaNsComeOutAsInTheReference() {
    int c = Int8.GROUP; // one group: a second one's +0 · scale would turn the -0 into +0 before the end
    int oc = 3 * QuantizedMatvec.PANEL + 1;
    float[] source = new float[WEIGHT_OFF + oc * c];
    for (int o = 0; o < oc; o++) {
      source[WEIGHT_OFF + o * c] = -1e-3f; // q = -127, scale 1e-3 / 127
    }
    source[WEIGHT_OFF + 3 * c + 5] = Float.NaN; // row 3
    byte[] q = new byte[source.length];
    float[] scales = new float[Int8.scaleCount(source.length)];
    Int8.quantize(source, q, scales, source.length);
    byte[] packedQ = q.clone();
    float[] packedScales = scales.clone();
    K.packInt8Weight(packedQ, packedScales, WEIGHT_OFF, c, oc);
    float[] inp = new float[c];
    inp[0] = Float.MIN_VALUE; // -127 · MIN_VALUE · 7.9e-6 rounds to -0
    float[] want = new float[oc];
    float[] got = new float[oc];
    REF.matmulForwardInt8(want, 0, inp, 0, q, scales, WEIGHT_OFF, null, 0, 1, c, oc);
    K.matmulForwardInt8(got, 0, inp, 0, packedQ, packedScales, WEIGHT_OFF, null, 0, 1, c, oc);
    assertArrayEquals(want, got);
    for (int o = 0; o < oc; o++) {
      if (o == 3) {
        assertTrue(Float.isNaN(got[o]), "row 3 reads a NaN scale");
      } else {
        assertEquals(0, Float.floatToRawIntBits(got[o]), "row " + o + " is +0, got " + got[o]);
      }
    }
  }

  /** Rows that are not whole groups, or a weight that starts inside a group, have no scales of their own. */
  @Test
  void weightsWithoutScalesOfTheirOwnAreRefused() {
    byte[] q = new byte[4096];
    float[] scales = new float[4096 / Int8.GROUP];
    float[] inp = new float[100];
    float[] out = new float[100];
    for (Kernels k : new Kernels[] {REF, K}) {
      String name = k.getClass().getSimpleName();
      IllegalArgumentException c = assertThrows(IllegalArgumentException.class,
          () -> k.matmulForwardInt8(out, 0, inp, 0, q, scales, 0, null, 0, 1, 48, 4), name);
      assertTrue(c.getMessage().contains("C = 48"), c.getMessage());
      IllegalArgumentException off = assertThrows(IllegalArgumentException.class,
          () -> k.matmulForwardInt8(out, 0, inp, 0, q, scales, 16, null, 0, 1, 64, 4), name);
      assertTrue(off.getMessage().contains("offset 16"), off.getMessage());
      assertThrows(IllegalArgumentException.class, () -> k.matmulForwardInt8Group(out, new int[] {0, 10}, inp, 0, q,
          scales, new int[] {0, 1000}, new int[] {4, 4}, 64), name);
    }
    assertThrows(IllegalArgumentException.class, () -> K.packInt8Weight(q, scales, 0, 48, 16));
    assertThrows(IllegalArgumentException.class, () -> K.packInt8Weight(q, scales, 8, 64, 16));
  }

  /**
   * Against the float32 product of the dequantized weights (q · scale, as floats), computed by the scalar float
   * kernel. Both are the same exact sum rounded differently, so they may differ by the two rounding-error bounds
   * added: for the int8 kernel, 32 fused multiply-adds per partial, one per group and the bias, so (32 + C/32 + 1)
   * float ulps of one times the sum of |terms|; for the float kernel, which multiplies and adds separately, 2C + 1;
   * and one more for rounding q · scale to a float. Worst-case bounds are loose (the largest difference measured is
   * 1.2% of it), but about 1e-4 of the sum of |terms| at C = 768: a scale read for the wrong row or group is off by
   * far more.
   */
  @ParameterizedTest
  @CsvSource({"1, 768, 300", "2, 288, 50", "1, 32, 17"})
  void closeToTheFloatProductOfTheDequantizedWeights(int n, int c, int oc) {
    SplittableRandom r = new SplittableRandom(n + c + oc);
    Weight w = new Weight(r, c, oc);
    float[] inp = gaussian(r, n * c);
    float[] bias = gaussian(r, oc);
    float[] dequantized = new float[oc * c];
    for (int i = 0; i < dequantized.length; i++) {
      dequantized[i] = w.dequantized(WEIGHT_OFF + i);
    }
    float[] int8 = new float[n * oc];
    float[] f32 = new float[n * oc];
    K.matmulForwardInt8(int8, 0, inp, 0, w.packedQ, w.packedScales, WEIGHT_OFF, bias, 0, n, c, oc);
    REF.matmulForward(f32, 0, inp, 0, dequantized, 0, bias, 0, n, c, oc);
    double ulpsOfOne = (Int8.GROUP + c / Int8.GROUP + 1) + (2.0 * c + 1) + 1;
    for (int row = 0; row < n; row++) {
      for (int o = 0; o < oc; o++) {
        double magnitude = Math.abs(bias[o]);
        for (int i = 0; i < c; i++) {
          magnitude += Math.abs((double) dequantized[o * c + i] * inp[row * c + i]);
        }
        double bound = ulpsOfOne * 0x1p-24 * magnitude;
        double diff = Math.abs((double) int8[row * oc + o] - f32[row * oc + o]);
        assertTrue(diff <= bound, "out[" + row + ", " + o + "]: int8 " + int8[row * oc + o] + ", float "
            + f32[row * oc + o] + ", differ by " + diff + " > " + bound);
      }
    }
  }

  /**
   * Against the float32 product of the original weights: each weight is off by at most half its group's scale step
   * (Int8Test), so an output is off by at most sum_i |x_i| · scale_i · (1/2 + 2^-16), plus the rounding bound of
   * the test above. The error is also small in the mean: under 2% of the outputs' RMS. A step is about max|w|/127
   * and each weight's error about uniform within half a step, which makes some 0.5% on Gaussian weights; here one
   * weight in 50 is an 8-fold outlier that coarsens its group, and the measured error is 1.0%.
   */
  @ParameterizedTest
  @CsvSource({"1, 768, 300", "1, 288, 64"})
  void withinTheQuantizationErrorOfTheOriginalWeights(int n, int c, int oc) {
    SplittableRandom r = new SplittableRandom(3 * c + oc);
    Weight w = new Weight(r, c, oc);
    float[] inp = gaussian(r, n * c);
    float[] original = Arrays.copyOfRange(w.source, WEIGHT_OFF, WEIGHT_OFF + oc * c);
    float[] int8 = new float[n * oc];
    float[] f32 = new float[n * oc];
    K.matmulForwardInt8(int8, 0, inp, 0, w.packedQ, w.packedScales, WEIGHT_OFF, null, 0, n, c, oc);
    REF.matmulForward(f32, 0, inp, 0, original, 0, null, 0, n, c, oc);
    double ulpsOfOne = (Int8.GROUP + c / Int8.GROUP + 1) + (2.0 * c + 1) + 1;
    double squaredError = 0;
    double squaredOutput = 0;
    for (int row = 0; row < n; row++) {
      for (int o = 0; o < oc; o++) {
        double quantization = 0;
        double magnitude = 0;
        for (int i = 0; i < c; i++) {
          int at = WEIGHT_OFF + o * c + i;
          double x = Math.abs(inp[row * c + i]);
          quantization += x * w.scales[at / Int8.GROUP] * (0.5 + 0x1p-16);
          magnitude += x * Math.max(Math.abs(original[o * c + i]), Math.abs(w.dequantized(at)));
        }
        double bound = quantization + ulpsOfOne * 0x1p-24 * magnitude;
        double diff = Math.abs((double) int8[row * oc + o] - f32[row * oc + o]);
        assertTrue(diff <= bound, "out[" + row + ", " + o + "]: int8 " + int8[row * oc + o] + ", float "
            + f32[row * oc + o] + ", differ by " + diff + " > " + bound);
        squaredError += diff * diff;
        squaredOutput += (double) f32[row * oc + o] * f32[row * oc + o];
      }
    }
    double relative = Math.sqrt(squaredError / squaredOutput);
    assertTrue(relative < 0.02, "RMS error " + relative + " of the outputs' RMS");
  }
}
