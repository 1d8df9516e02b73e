package dev.unroll.runtime.sample;

/** Always the most likely token: the first index of the largest logit. Deterministic; holds no state. */
public final class Greedy implements Sampler {

  /** The one instance. */
  public static final Greedy INSTANCE = new Greedy();

  private Greedy() {}

  @Override
  public int sample(float[] logits, int n) {
    SamplingMath.checkN(logits, n);
    return SamplingMath.argmax(logits, n);
  }

  @Override
  public String toString() {
    return "Greedy";
  }
}
