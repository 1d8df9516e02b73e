package dev.unroll.runtime.vit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.unroll.runtime.ParamTensor;
import dev.unroll.runtime.Parameters;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class VitInitTest {

  private static final VitShape S = VitLayoutTest.S;

  static Parameters init(long seed) {
    int n = VitLayout.count(S);
    Parameters p = new Parameters(new float[n], new float[n], VitLayout.tensors(S));
    Arrays.fill(p.values(), Float.NaN);
    Arrays.fill(p.grads(), Float.NaN);
    VitInit.init(p, S, seed);
    return p;
  }

  @Test
  void theSameSeedGivesTheSameBitsAndAnotherSeedOthers() {
    assertArrayEquals(init(7).values(), init(7).values());
    assertFalse(Arrays.equals(init(7).values(), init(8).values()));
  }

  @Test
  void layerNormsAreOnesAndZerosBiasesZeroGradientsZero() {
    Parameters p = init(3);
    for (ParamTensor t : p.tensors()) {
      float[] v = Arrays.copyOfRange(p.values(), t.offset(), t.offset() + t.size());
      boolean layerNorm = t.name().startsWith("layernorm") || t.name().contains(".layernorm_");
      if (t.name().endsWith("bias")) {
        assertArrayEquals(new float[t.size()], v, t.name());
      } else if (layerNorm) {
        float[] ones = new float[t.size()];
        Arrays.fill(ones, 1f);
        assertArrayEquals(ones, v, t.name());
      }
    }
    assertArrayEquals(new float[p.count()], p.grads());
  }

  /** Every weight, token and table is drawn from normal(0, 0.02): its sample mean and deviation say so. */
  @Test
  void everyWeightIsNormalWithDeviationTwoHundredths() {
    Parameters p = init(11);
    for (ParamTensor t : p.tensors()) {
      if (t.name().endsWith("bias") || t.name().startsWith("layernorm") || t.name().contains(".layernorm_")) {
        continue;
      }
      double sum = 0;
      double squares = 0;
      for (int i = 0; i < t.size(); i++) {
        double x = p.values()[t.offset() + i];
        sum += x;
        squares += x * x;
      }
      int n = t.size();
      double std = Math.sqrt(squares / n - (sum / n) * (sum / n));
      // the sample deviation of n normals is off from the true one by about 0.02/sqrt(2n): allow 5 of those
      double tolerance = 5 * 0.02 / Math.sqrt(2.0 * n);
      assertEquals(0.02, std, tolerance, t.name());
      assertEquals(0, sum / n, 5 * 0.02 / Math.sqrt(n), t.name());
    }
  }
}
