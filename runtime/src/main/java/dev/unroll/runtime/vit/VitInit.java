package dev.unroll.runtime.vit;

import dev.unroll.runtime.Parameters;
import dev.unroll.runtime.family.NormalInit;

/**
 * ViT's initialisation: the class token, the position table, the patch projection, every Linear weight and the
 * classifier normal(0, 0.02); biases 0; LayerNorm gains 1. The same seed gives the same parameters.
 */
public final class VitInit {

  private VitInit() {}

  /** Overwrites every parameter (and gradient) in {@code p}. */
  public static void init(Parameters p, VitShape shape, long seed) {
    NormalInit.init(p, seed, shape.layers(), 0, VitInit::kind);
  }

  /** LayerNorm gains 1, every bias 0, everything else (weights, tokens, tables) normal. */
  private static NormalInit.Kind kind(String name) {
    if (name.endsWith("bias")) {
      return NormalInit.Kind.ZERO;
    }
    return name.startsWith("layernorm") || name.contains(".layernorm_") ? NormalInit.Kind.ONE
        : NormalInit.Kind.NORMAL;
  }
}
