package dev.unroll.runtime.llama;

import dev.unroll.runtime.Parameters;
import dev.unroll.runtime.family.NormalInit;

/**
 * Initialisation for the Llama family, GPT-2's scheme carried over: every matrix normal(0, 0.02), the two
 * projections back into the residual stream ({@code o_proj}, {@code down_proj}) scaled by 1/sqrt(2·layers), RMSNorm
 * gains 1. Padded vocabulary rows stay 0. The same seed gives the same parameters.
 */
public final class LlamaInit {

  private LlamaInit() {}

  /** Overwrites every parameter in {@code p}. */
  public static void init(Parameters p, LlamaShape shape, long seed) {
    NormalInit.init(p, seed, shape.layers(), shape.vocab() * shape.dim(), LlamaInit::kind);
  }

  /** RMSNorm gains 1; the embedding and classifier, and every other matrix, normal. */
  private static NormalInit.Kind kind(String name) {
    if (name.endsWith("norm.weight")) {
      return NormalInit.Kind.ONE;
    }
    if (name.equals("model.embed_tokens.weight") || name.equals("lm_head.weight")) {
      return NormalInit.Kind.EMBEDDING;
    }
    return name.endsWith("o_proj.weight") || name.endsWith("down_proj.weight") ? NormalInit.Kind.RESIDUAL
        : NormalInit.Kind.NORMAL;
  }
}
