package dev.unroll.runtime.llama;

import dev.unroll.runtime.ParamTensor;
import dev.unroll.runtime.Parameters;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Initialisation for the Llama family, GPT-2's scheme carried over: every matrix normal(0, 0.02), the two
 * projections back into the residual stream ({@code o_proj}, {@code down_proj}) scaled by 1/sqrt(2·layers), RMSNorm
 * gains 1. Padded vocabulary rows stay 0. The same seed gives the same parameters.
 */
public final class LlamaInit {
  private static final float STD = 0.02f;

  private LlamaInit() {}

  /** Overwrites every parameter in {@code p}. */
  public static void init(Parameters p, LlamaShape shape, long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    float[] w = p.values();
    Arrays.fill(w, 0f);
    Arrays.fill(p.grads(), 0f);
    float residualStd = (float) (STD / Math.sqrt(2.0 * shape.layers()));
    for (ParamTensor t : p.tensors()) {
      String name = t.name();
      int n = t.size();
      if (name.endsWith("norm.weight")) {
        Arrays.fill(w, t.offset(), t.offset() + n, 1f);
        continue;
      }
      if (name.equals("model.embed_tokens.weight") || name.equals("lm_head.weight")) {
        n = shape.vocab() * shape.dim(); // padded rows stay 0
      }
      float std = name.endsWith("o_proj.weight") || name.endsWith("down_proj.weight") ? residualStd : STD;
      for (int i = 0; i < n; i++) {
        w[t.offset() + i] = (float) (random.nextGaussian() * std);
      }
    }
  }
}
