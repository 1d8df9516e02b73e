package dev.unroll.runtime.simd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

class VectorMathTest {
  private static final int L = FloatVector.SPECIES_PREFERRED.length();

  private static float[] samples() {
    SplittableRandom r = new SplittableRandom(3);
    float[] x = new float[4096 * L];
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) (r.nextDouble(-100, 100) * (i % 3 == 0 ? 0.01 : 1));
    }
    x[0] = 0f;
    x[1] = -0f;
    x[2] = 88.3f;
    x[3] = -87.3f;
    x[4] = Float.NaN;
    x[5] = Float.POSITIVE_INFINITY;
    x[6] = Float.NEGATIVE_INFINITY;
    x[7] = 9f;
    return x;
  }

  /**
   * sum adds in one fixed tree in every tier: checked against the same tree in scalar code over enough calls that
   * the first run interpreted and the last compiled by C2 (reduceLanes(ADD) fails this: its tiers differ).
   */
  @Test
  void sumAddsInTheSameTreeColdAndWarm() {
    float[] x = samples();
    for (int round = 0; round < 50; round++) {
      for (int i = 0; i < x.length; i += L) {
        float vector = VectorMath.sum(java.util.Arrays.copyOfRange(x, i, i + L));
        assertEquals(Float.floatToIntBits(tree(x, i, L)), Float.floatToIntBits(vector), "sum at " + i);
      }
    }
  }

  /** The sum of x[i..i+n) as lane j plus lane j + n/2, recursively: sum's tree. */
  private static float tree(float[] x, int i, int n) {
    float[] v = java.util.Arrays.copyOfRange(x, i, i + n);
    for (int half = n / 2; half >= 1; half /= 2) {
      for (int j = 0; j < half; j++) {
        v[j] = v[j] + v[j + half];
      }
    }
    return v[0];
  }

  @Test
  void vectorAndScalarTwinsAgreeBitForBit() {
    float[] x = samples();
    float[] e = x.clone();
    float[] t = x.clone();
    VectorMath.exp(e, 0, e.length);
    VectorMath.tanh(t, 0, new float[t.length], 0, t.length);
    float[] f = x.clone();
    VectorMath.erf(f, 0, new float[f.length], 0, f.length);
    for (int i = 0; i < x.length; i++) {
      assertEquals(Float.floatToIntBits(VectorMath.exp(x[i])), Float.floatToIntBits(e[i]), "exp(" + x[i] + ")");
      assertEquals(Float.floatToIntBits(VectorMath.tanh(x[i])), Float.floatToIntBits(t[i]), "tanh(" + x[i] + ")");
      assertEquals(Float.floatToIntBits(VectorMath.erf(x[i])), Float.floatToIntBits(f[i]), "erf(" + x[i] + ")");
    }
  }

  @Test
  void sumAddsEveryLaneInATreeOrder() {
    float[] x = samples();
    for (int i = 0; i + L <= x.length; i += L) {
      FloatVector v = FloatVector.fromArray(FloatVector.SPECIES_PREFERRED, x, i);
      // The same tree, written out: pairs (j, j + half) first, halving each time.
      float[] lanes = v.toArray();
      for (int half = L / 2; half >= 1; half /= 2) {
        for (int j = 0; j < half; j++) {
          lanes[j] = lanes[j] + lanes[j + half];
        }
      }
      assertEquals(Float.floatToIntBits(lanes[0]), Float.floatToIntBits(VectorMath.sum(v.toArray())),
          "lanes at " + i);
    }
  }

  @Test
  void accurateAgainstTheJdk() {
    for (float x : samples()) {
      if (x >= -87.3f && x <= 88.3f) {
        double want = Math.exp(x);
        double got = VectorMath.exp(x);
        assertTrue(Math.abs(got - want) <= 3 * Math.ulp((float) want), "exp(" + x + "): " + got + " vs " + want);
      }
      assertEquals(Math.tanh(x), VectorMath.tanh(x), 2e-7, "tanh(" + x + ")");
    }
  }

  /**
   * erf's error over every float step of 2^-12 in [-10, 10] (163,841 points, through both branches, their seam at
   * 0.9, and the clamp at 4), against the reference's double erf: at most 1.2e-7, two units of float's last place
   * near 1. Printed, for the record.
   */
  @Test
  void erfIsWithinOnePointTwoTenMillionthsEverywhere() {
    int n = 20 * 4096 + 1;
    float[] x = new float[n + 3]; // a tail past the last whole vector: the scalar twin's share
    for (int i = 0; i < x.length; i++) {
      x[i] = -10f + i / 4096f;
    }
    float[] y = x.clone();
    VectorMath.erf(y, 0, new float[y.length], 0, y.length);
    double worst = 0;
    float at = 0;
    for (int i = 0; i < x.length; i++) {
      double err = Math.abs(y[i] - dev.unroll.runtime.scalar.Erf.erf(x[i]));
      if (err > worst) {
        worst = err;
        at = x[i];
      }
    }
    System.out.printf("VectorMath.erf: max abs error %.3g at %s over [-10, 10]%n", worst, at);
    assertTrue(worst <= 1.2e-7, "erf's error " + worst + " at " + at);
    assertEquals(0f, VectorMath.erf(0f));
    assertEquals(1f, VectorMath.erf(4f));
    assertEquals(-1f, VectorMath.erf(-30f));
    assertTrue(Float.isNaN(VectorMath.erf(Float.NaN)));
  }
}
