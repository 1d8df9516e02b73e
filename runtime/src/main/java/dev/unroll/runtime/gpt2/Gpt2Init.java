package dev.unroll.runtime.gpt2;

import dev.unroll.runtime.Parameters;
import dev.unroll.runtime.family.NormalInit;

/**
 * GPT-2's initialisation: weights normal(0, 0.02), the two residual projections of each block
 * ({@code attn.c_proj.weight}, {@code mlp.c_proj.weight}) scaled by 1/sqrt(2·layers), biases 0, LayerNorm gains 1.
 * Padded vocabulary rows stay 0. The same seed gives the same parameters.
 */
public final class Gpt2Init {

  private Gpt2Init() {}

  /** Overwrites every parameter in {@code p}. */
  public static void init(Parameters p, Gpt2Shape shape, long seed) {
    NormalInit.init(p, seed, shape.layers(), shape.vocab() * shape.dim(), Gpt2Init::kind);
  }

  /** LayerNorm gains 1 and biases 0; wte (the tied classifier) and the other weights normal. */
  private static NormalInit.Kind kind(String name) {
    if (name.startsWith("ln") || name.contains(".ln_")) {
      return name.endsWith(".weight") ? NormalInit.Kind.ONE : NormalInit.Kind.ZERO;
    }
    if (!name.endsWith(".weight")) {
      return NormalInit.Kind.ZERO;
    }
    if (name.equals("wte.weight")) {
      return NormalInit.Kind.EMBEDDING;
    }
    return name.endsWith("c_proj.weight") ? NormalInit.Kind.RESIDUAL : NormalInit.Kind.NORMAL;
  }
}
