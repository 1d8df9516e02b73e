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
    for (int i = 0; i < x.length; i++) {
      assertEquals(Float.floatToIntBits(VectorMath.exp(x[i])), Float.floatToIntBits(e[i]), "exp(" + x[i] + ")");
      assertEquals(Float.floatToIntBits(VectorMath.tanh(x[i])), Float.floatToIntBits(t[i]), "tanh(" + x[i] + ")");
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
}
