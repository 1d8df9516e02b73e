package dev.unroll.runtime.gpt2;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.unroll.runtime.ParamTensor;
import dev.unroll.runtime.Parameters;
import org.junit.jupiter.api.Test;

class Gpt2InitTest {
  private static final Gpt2Shape SHAPE = new Gpt2Shape(97, 112, 13, 48, 3, 2, 3, 192);

  private static Parameters init(long seed) {
    var tensors = Gpt2Layout.tensors(SHAPE);
    int n = Gpt2Layout.count(SHAPE);
    Parameters p = new Parameters(new float[n], new float[n], tensors);
    Gpt2Init.init(p, SHAPE, seed);
    return p;
  }

  @Test
  void followsGpt2sScheme() {
    Parameters p = init(1);
    assertStd(p, "wte.weight", 97 * 48, 0.02);
    assertStd(p, "h.0.attn.c_attn.weight", 144 * 48, 0.02);
    assertStd(p, "h.1.mlp.c_fc.weight", 192 * 48, 0.02);
    assertStd(p, "h.0.attn.c_proj.weight", 48 * 48, 0.02 / Math.sqrt(4));
    assertStd(p, "h.1.mlp.c_proj.weight", 48 * 192, 0.02 / Math.sqrt(4));
    ParamTensor wte = p.tensor("wte.weight");
    for (int i = 97 * 48; i < wte.size(); i++) {
      assertEquals(0f, p.values()[wte.offset() + i], "padded vocabulary rows stay zero");
    }
    for (String name : new String[] {"h.0.ln_1.weight", "h.1.ln_2.weight", "ln_f.weight"}) {
      ParamTensor t = p.tensor(name);
      for (int i = 0; i < t.size(); i++) {
        assertEquals(1f, p.values()[t.offset() + i], name);
      }
    }
    for (String name : new String[] {"h.0.ln_1.bias", "h.0.attn.c_attn.bias", "h.1.mlp.c_proj.bias", "ln_f.bias"}) {
      ParamTensor t = p.tensor(name);
      for (int i = 0; i < t.size(); i++) {
        assertEquals(0f, p.values()[t.offset() + i], name);
      }
    }
  }

  @Test
  void sameSeedSameWeights() {
    assertArrayEquals(init(7).values(), init(7).values());
  }

  private static void assertStd(Parameters p, String name, int n, double want) {
    ParamTensor t = p.tensor(name);
    double sum = 0;
    double sq = 0;
    for (int i = 0; i < n; i++) {
      double v = p.values()[t.offset() + i];
      sum += v;
      sq += v * v;
    }
    double mean = sum / n;
    double std = Math.sqrt(sq / n - mean * mean);
    assertEquals(want, std, want * 0.1, name + " standard deviation");
    assertEquals(0, mean, want * 0.1, name + " mean");
  }
}
