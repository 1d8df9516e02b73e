package dev.unroll.runtime.number;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** {@link Int8#quantize}: the rounding error, exact values, zeros, non-finite groups, the last group, the checks. */
class Int8Test {

  /**
   * Each value comes back within half a scale step. Rounding x / s to a float adds at most 127 float ulps of one to
   * the half step (|x / s| &lt;= 127), so the bound is s · (1/2 + 2^-16); the difference is taken in double, where
   * q · s is exact.
   */
  @ParameterizedTest
  @ValueSource(doubles = {1e-6, 0.02, 1, 3e4})
  void everyValueIsWithinHalfAStep(double magnitude) {
    SplittableRandom r = new SplittableRandom(Double.doubleToLongBits(magnitude));
    int n = 50 * Int8.GROUP;
    float[] src = new float[n];
    for (int i = 0; i < n; i++) {
      // groups of very different spreads, one outlier now and then
      src[i] = (float) (r.nextGaussian() * magnitude * (1 + i / Int8.GROUP % 5) * (r.nextInt(40) == 0 ? 20 : 1));
    }
    byte[] q = new byte[n];
    float[] scales = new float[Int8.scaleCount(n)];
    Int8.quantize(src, q, scales, n);
    for (int g = 0; g < scales.length; g++) {
      float max = 0;
      for (int i = g * Int8.GROUP; i < (g + 1) * Int8.GROUP; i++) {
        max = Math.max(max, Math.abs(src[i]));
      }
      assertEquals(max / 127, scales[g], "scale of group " + g);
    }
    for (int i = 0; i < n; i++) {
      double s = scales[i / Int8.GROUP];
      double err = Math.abs(src[i] - (double) q[i] * s);
      assertTrue(err <= s * (0.5 + 0x1p-16), "x[" + i + "] = " + src[i] + ": q = " + q[i] + ", scale " + s
          + ", error " + err + " steps " + err / s);
      assertTrue(q[i] >= -127, "q[" + i + "] = " + q[i] + ": -128 is never used");
    }
  }

  /** A group whose values are whole multiples of its scale, the largest ±127 of them, comes back exactly. */
  @ParameterizedTest
  @ValueSource(floats = {0.25f, 3f / 128, 1f / 1024, 5})
  void multiplesOfTheScaleAreExact(float step) {
    SplittableRandom r = new SplittableRandom(Float.floatToIntBits(step));
    float[] src = new float[3 * Int8.GROUP];
    for (int i = 0; i < src.length; i++) {
      src[i] = r.nextInt(-127, 128) * step; // exact: |k| * 3 < 2^24
    }
    src[5] = 127 * step;
    src[Int8.GROUP + 9] = -127 * step;
    src[2 * Int8.GROUP] = 127 * step;
    byte[] q = new byte[src.length];
    float[] scales = new float[3];
    Int8.quantize(src, q, scales, src.length);
    assertEquals(step, scales[0]);
    assertEquals(step, scales[1]);
    assertEquals(step, scales[2]);
    for (int i = 0; i < src.length; i++) {
      assertEquals(src[i] / step, q[i], "q[" + i + "]");
      assertEquals(src[i], Int8.toFloat(q[i], scales[i / Int8.GROUP]), "value " + i);
    }
  }

  @Test
  void aGroupOfZerosHasScaleZero() {
    float[] src = new float[2 * Int8.GROUP];
    src[3] = 1;
    src[Int8.GROUP + 1] = -0f;
    byte[] q = new byte[src.length];
    Arrays.fill(q, (byte) 99);
    float[] scales = {7, 7};
    Int8.quantize(src, q, scales, src.length);
    assertEquals(1f / 127, scales[0]);
    assertEquals(0f, scales[1]);
    assertEquals(127, q[3]);
    for (int i = Int8.GROUP; i < src.length; i++) {
      assertEquals(0, q[i], "q[" + i + "]");
    }
  }

  /**
   * A NaN or an infinity makes its group's scale NaN (so every product that reads it is NaN) and its bytes 0; the
   * groups around it are quantized as usual.
   */
  @ParameterizedTest
  @ValueSource(floats = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY})
  void aNonFiniteValueMakesItsGroupsScaleNaN(float bad) {
    float[] src = new float[3 * Int8.GROUP];
    for (int i = 0; i < src.length; i++) {
      src[i] = i % 7 - 3;
    }
    src[Int8.GROUP + 17] = bad;
    byte[] q = new byte[src.length];
    Arrays.fill(q, (byte) 99);
    float[] scales = new float[3];
    Int8.quantize(src, q, scales, src.length);
    assertEquals(3f / 127, scales[0]);
    assertTrue(Float.isNaN(scales[1]), "scale " + scales[1]);
    assertEquals(3f / 127, scales[2]);
    for (int i = Int8.GROUP; i < 2 * Int8.GROUP; i++) {
      assertEquals(0, q[i], "q[" + i + "]");
      assertTrue(Float.isNaN(Int8.toFloat(q[i], scales[1])));
    }
    for (int g : new int[] {0, 2}) {
      for (int i = g * Int8.GROUP; i < (g + 1) * Int8.GROUP; i++) {
        assertEquals(Math.round(src[i] / scales[g]), q[i], "q[" + i + "]");
      }
    }
  }

  /**
   * The last group may be short: its scale comes from its own values only, and nothing at or past n (of q or of
   * the scales) is written.
   */
  @Test
  void theLastGroupMayBeShort() {
    int n = 2 * Int8.GROUP + 6;
    float[] src = new float[n + 10];
    for (int i = 0; i < src.length; i++) {
      src[i] = i < 2 * Int8.GROUP ? 100 : i < n ? i - 2 * Int8.GROUP : 1e9f; // past n: would dominate if read
    }
    byte[] q = new byte[n + 10];
    Arrays.fill(q, (byte) 99);
    float[] scales = {-1, -1, -1, -1};
    assertEquals(3, Int8.scaleCount(n));
    Int8.quantize(src, q, scales, n);
    assertEquals(5f / 127, scales[2]);
    assertEquals(-1, scales[3]);
    assertEquals(127, q[n - 1]);
    assertEquals(0, q[2 * Int8.GROUP]);
    for (int i = n; i < q.length; i++) {
      assertEquals(99, q[i], "q[" + i + "] is past n");
    }
  }

  @Test
  void scaleCountRoundsUp() {
    assertEquals(0, Int8.scaleCount(0));
    assertEquals(1, Int8.scaleCount(1));
    assertEquals(1, Int8.scaleCount(Int8.GROUP));
    assertEquals(2, Int8.scaleCount(Int8.GROUP + 1));
  }

  @Test
  void shortArraysAreRefusedWithTheSizeNeeded() {
    float[] src = new float[70];
    IllegalArgumentException shortQ = assertThrows(IllegalArgumentException.class,
        () -> Int8.quantize(src, new byte[69], new float[3], 70));
    assertTrue(shortQ.getMessage().contains("q has 69 bytes"), shortQ.getMessage());
    IllegalArgumentException shortScales = assertThrows(IllegalArgumentException.class,
        () -> Int8.quantize(src, new byte[70], new float[2], 70));
    assertTrue(shortScales.getMessage().contains("scaleCount(70) = 3"), shortScales.getMessage());
    assertThrows(IllegalArgumentException.class, () -> Int8.quantize(src, new byte[80], new float[3], 71));
    assertThrows(IllegalArgumentException.class, () -> Int8.quantize(src, new byte[80], new float[3], -1));
  }

  @Test
  void aMatrixMustHaveScalesOfItsOwn() {
    Int8.checkLayout(64, 96);
    IllegalArgumentException c = assertThrows(IllegalArgumentException.class, () -> Int8.checkLayout(0, 100));
    assertTrue(c.getMessage().contains("C = 100"), c.getMessage());
    IllegalArgumentException off = assertThrows(IllegalArgumentException.class, () -> Int8.checkLayout(16, 64));
    assertTrue(off.getMessage().contains("offset 16"), off.getMessage());
  }
}
