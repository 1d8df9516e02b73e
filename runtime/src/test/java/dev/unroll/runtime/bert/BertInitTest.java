package dev.unroll.runtime.bert;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.unroll.runtime.ParamTensor;
import dev.unroll.runtime.Parameters;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class BertInitTest {

  private static Parameters init(BertShape s, long seed) {
    int n = BertLayout.count(s);
    Parameters p = new Parameters(new float[n], new float[n], BertLayout.tensors(s));
    Arrays.fill(p.values(), 5f); // init overwrites everything
    Arrays.fill(p.grads(), 5f);
    BertInit.init(p, s, seed);
    return p;
  }

  @Test
  void layerNormsOneAndZeroBiasesZeroWeightsNormal() {
    Parameters p = init(BertLayoutTest.TYPED, 1);
    int normals = 0;
    for (ParamTensor t : p.tensors()) {
      float[] v = Arrays.copyOfRange(p.values(), t.offset(), t.offset() + t.size());
      if (t.name().endsWith("LayerNorm.weight")) {
        for (float x : v) {
          assertEquals(1f, x, t.name());
        }
      } else if (t.name().endsWith(".bias")) {
        for (float x : v) {
          assertEquals(0f, x, t.name());
        }
      } else {
        // every other weight, the three embedding tables among them: normal(0, 0.02)
        assertStd(t.name(), v, 0.02);
        normals++;
      }
    }
    // 3 tables; per layer q, k, v, attention output, intermediate, output; pooler and classifier
    assertEquals(3 + 2 * 6 + 2, normals);
    for (float g : p.grads()) {
      assertEquals(0f, g);
    }
  }

  @Test
  void sameSeedSameWeightsAndAnotherSeedOthers() {
    assertArrayEquals(init(BertLayoutTest.UNTYPED, 7).values(), init(BertLayoutTest.UNTYPED, 7).values());
    assertFalse(Arrays.equals(init(BertLayoutTest.UNTYPED, 7).values(), init(BertLayoutTest.UNTYPED, 8).values()));
  }

  /**
   * Within four standard errors of the sample's standard deviation (σ/sqrt(2n)) and mean (σ/sqrt(n)): 24% of σ for the
   * classifier's 144 values, 6% for a 48x48 matrix. The seed is fixed, so this cannot flicker.
   */
  private static void assertStd(String name, float[] v, double want) {
    double sum = 0;
    double sq = 0;
    for (float x : v) {
      sum += x;
      sq += (double) x * x;
    }
    double mean = sum / v.length;
    double std = Math.sqrt(sq / v.length - mean * mean);
    double tolerance = want * 4 / Math.sqrt(2.0 * v.length); // four standard errors of a sample std
    assertEquals(want, std, tolerance, name + " standard deviation over " + v.length);
    assertEquals(0, mean, 4 * want / Math.sqrt(v.length), name + " mean");
  }
}
