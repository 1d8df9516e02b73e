package dev.unroll.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;

class AdamWTest {
  private static Parameters params(float[] values, float[] grads) {
    return new Parameters(values, grads, List.of(new ParamTensor("w", 0, new int[] {values.length})));
  }

  @Test
  void twoStepsMatchTheFormulaComputedInDouble() {
    float[] w = {0.5f, -1.0f, 2.0f};
    float[] g = {0.1f, -0.2f, 0.0f};
    AdamW opt = AdamW.of(params(w, g)).lr(0.01f).betas(0.9f, 0.95f).eps(1e-8f).weightDecay(0.1f);
    double[] p = {0.5, -1.0, 2.0};
    double[] m = new double[3];
    double[] v = new double[3];
    for (int t = 1; t <= 2; t++) {
      opt.step();
      for (int i = 0; i < 3; i++) {
        m[i] = 0.9 * m[i] + 0.1 * g[i];
        v[i] = 0.95 * v[i] + 0.05 * g[i] * g[i];
        double mHat = m[i] / (1 - Math.pow(0.9, t));
        double vHat = v[i] / (1 - Math.pow(0.95, t));
        p[i] -= 0.01 * (mHat / (Math.sqrt(vHat) + 1e-8) + 0.1 * p[i]);
        assertEquals(p[i], w[i], 1e-6, "parameter " + i + " after step " + t);
        assertEquals(m[i], opt.firstMoment(i), 1e-7);
        assertEquals(v[i], opt.secondMoment(i), 1e-8);
      }
    }
    assertEquals(2, opt.steps());
  }

  @Test
  void clippingScalesTheGradientToTheMaximumNorm() {
    float[] w = {0f, 0f};
    float[] g = {3f, 4f};
    AdamW opt = AdamW.of(params(w, g)).lr(1f).weightDecay(0f).clipGradNorm(1f).betas(0f, 0f).eps(0f);
    assertEquals(5f, opt.step());
    // With betas 0 the step is g/|g| per element whatever the scale, so check the moment instead.
    assertEquals(0.6f, opt.firstMoment(0), 1e-6f);
    assertEquals(0.8f, opt.firstMoment(1), 1e-6f);
  }

  @Test
  void badSettingsAndNanGradientsAreRejected() {
    float[] w = {1f};
    float[] g = {Float.NaN};
    AdamW opt = AdamW.of(params(w, g));
    assertThrows(IllegalArgumentException.class, () -> opt.lr(-1f));
    assertThrows(IllegalArgumentException.class, () -> opt.betas(1f, 0.9f));
    assertThrows(IllegalArgumentException.class, () -> opt.weightDecay(Float.NaN));
    assertThrows(IllegalStateException.class, opt::step);
    assertArrayEquals(new float[] {1f}, w);
    assertEquals(0, opt.steps());
  }

  /**
   * {@link AdamW#state} and {@link AdamW#restore} carry everything the next step depends on: an optimizer restored
   * from another's state takes the same next step to the bit, and a state of another size or with a reserved key
   * is refused.
   */
  @Test
  void aRestoredStateTakesTheSameNextStep() {
    float[] g = {0.3f, -0.7f, 0.05f};
    float[] w1 = {0.5f, -1.0f, 2.0f};
    AdamW a = AdamW.of(params(w1, g)).lr(0.02f).betas(0.8f, 0.9f).eps(1e-6f).weightDecay(0.05f).clipGradNorm(0.5f);
    a.step();
    a.step();
    AdamW.State s = a.state(java.util.Map.of("next", "2"));
    assertEquals(2, s.step());
    assertEquals("2", s.extra().get("next"));
    float[] w2 = w1.clone();
    AdamW b = AdamW.of(params(w2, g));
    b.restore(s);
    assertEquals(a.step(), b.step());
    assertArrayEquals(w1, w2);
    for (int i = 0; i < 3; i++) {
      assertEquals(a.firstMoment(i), b.firstMoment(i));
      assertEquals(a.secondMoment(i), b.secondMoment(i));
    }
    assertThrows(IllegalArgumentException.class, () -> AdamW.of(params(new float[2], new float[2])).restore(s));
    assertThrows(IllegalArgumentException.class, () -> a.state(java.util.Map.of("unroll.step", "1")));
    assertThrows(IllegalArgumentException.class, () -> s.withMoments(new float[3], new float[2]));
  }
}
