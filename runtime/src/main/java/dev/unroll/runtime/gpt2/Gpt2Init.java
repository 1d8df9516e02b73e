package dev.unroll.runtime.gpt2;

import dev.unroll.runtime.ParamTensor;
import dev.unroll.runtime.Parameters;
import java.util.SplittableRandom;

/**
 * GPT-2's initialisation: weights normal(0, 0.02), the two residual projections of each block
 * ({@code attn.c_proj.weight}, {@code mlp.c_proj.weight}) scaled by 1/sqrt(2·layers), biases 0, LayerNorm gains 1.
 * Padded vocabulary rows stay 0. The same seed gives the same parameters.
 */
public final class Gpt2Init {
  private static final float STD = 0.02f;

  private Gpt2Init() {}

  /** Overwrites every parameter in {@code p}. */
  public static void init(Parameters p, Gpt2Shape shape, long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    float[] w = p.values();
    java.util.Arrays.fill(w, 0f);
    java.util.Arrays.fill(p.grads(), 0f);
    float residualStd = (float) (STD / Math.sqrt(2.0 * shape.layers()));
    for (ParamTensor t : p.tensors()) {
      String name = t.name();
      int n = t.size();
      if (name.startsWith("ln") || name.contains(".ln_")) {
        if (name.endsWith(".weight")) {
          java.util.Arrays.fill(w, t.offset(), t.offset() + n, 1f);
        }
      } else if (name.endsWith(".weight")) {
        if (name.equals("wte.weight")) {
          n = shape.vocab() * shape.dim(); // padded rows stay 0
        }
        float std = name.endsWith("c_proj.weight") ? residualStd : STD;
        for (int i = 0; i < n; i++) {
          w[t.offset() + i] = (float) (random.nextGaussian() * std);
        }
      }
    }
  }
}
