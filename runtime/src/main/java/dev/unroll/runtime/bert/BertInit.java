package dev.unroll.runtime.bert;

import dev.unroll.runtime.Parameters;
import dev.unroll.runtime.family.NormalInit;

/**
 * BERT's initialisation, as Hugging Face's {@code BertPreTrainedModel._init_weights} does it: every
 * {@code nn.Linear} weight and every embedding table normal(0, 0.02) (initializer_range; no scaling of the residual
 * projections), biases 0, LayerNorm weights 1 and biases 0. The same seed gives the same parameters.
 */
public final class BertInit {

  private BertInit() {}

  /** Overwrites every parameter (and gradient) in {@code p}. */
  public static void init(Parameters p, BertShape shape, long seed) {
    NormalInit.init(p, seed, shape.layers(), shape.vocab() * shape.dim(), BertInit::kind);
  }

  /** LayerNorm weights 1; every other weight (the embedding tables among them) normal; every bias 0. */
  private static NormalInit.Kind kind(String name) {
    if (!name.endsWith(".weight")) {
      return NormalInit.Kind.ZERO;
    }
    return name.endsWith("LayerNorm.weight") ? NormalInit.Kind.ONE : NormalInit.Kind.NORMAL;
  }
}
