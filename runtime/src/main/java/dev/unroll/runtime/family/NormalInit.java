package dev.unroll.runtime.family;

import dev.unroll.runtime.ParamTensor;
import dev.unroll.runtime.Parameters;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.function.Function;

/**
 * GPT-2's initialisation, which the Llama family carries over: parameters and gradients zero, then each tensor in
 * layout order as its family's rule names it: gains 1, matrices normal(0, 0.02), the projections back into the
 * residual stream normal(0, 0.02/sqrt(2·layers)), the rest 0. The embedding's padded vocabulary rows stay 0. One
 * random stream, drawn in layout order, so the same seed gives the same parameters.
 */
public final class NormalInit {
  private static final float STD = 0.02f;

  /** What a tensor starts as. */
  public enum Kind {
    /** Zero (biases). */
    ZERO,
    /** One (norm gains). */
    ONE,
    /** normal(0, 0.02). */
    NORMAL,
    /** normal(0, 0.02/sqrt(2·layers)): a projection back into the residual stream. */
    RESIDUAL,
    /** normal(0, 0.02) over its first {@code vocab * dim} floats: a token embedding or classifier. */
    EMBEDDING
  }

  private NormalInit() {}

  /**
   * Overwrites every parameter (and gradient) in {@code p}.
   *
   * @param embedding floats of an {@link Kind#EMBEDDING} that are drawn: vocab times dim
   * @param kind each tensor's kind, by name
   */
  public static void init(Parameters p, long seed, int layers, int embedding, Function<String, Kind> kind) {
    SplittableRandom random = new SplittableRandom(seed);
    float[] w = p.values();
    Arrays.fill(w, 0f);
    if (p.grads() != null) {
      Arrays.fill(p.grads(), 0f);
    }
    float residualStd = (float) (STD / Math.sqrt(2.0 * layers));
    for (ParamTensor t : p.tensors()) {
      int n = t.size();
      float std = STD;
      switch (kind.apply(t.name())) {
        case ZERO -> {
          continue;
        }
        case ONE -> {
          Arrays.fill(w, t.offset(), t.offset() + n, 1f);
          continue;
        }
        case NORMAL -> { }
        case RESIDUAL -> std = residualStd;
        case EMBEDDING -> n = embedding; // padded rows stay 0
      }
      for (int i = 0; i < n; i++) {
        w[t.offset() + i] = (float) (random.nextGaussian() * std);
      }
    }
  }
}
