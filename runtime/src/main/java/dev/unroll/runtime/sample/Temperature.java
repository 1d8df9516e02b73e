package dev.unroll.runtime.sample;

/**
 * Samples from softmax(logits / temperature) over the whole vocabulary, as llama2.c's {@code run.c} does when
 * top-p is off: one coin per call from llama2.c's xorshift generator, so the same seed and logits give run.c's
 * choices.
 */
public final class Temperature implements Sampler {

  private final Draw draw;
  private float[] probs;

  /**
   * A sampler whose scratch is allocated at its first call, sized to that call's {@code n} (prefer
   * {@link #Temperature(float, long, int)}, which allocates it now).
   *
   * @throws IllegalArgumentException for a temperature that is not positive and finite
   */
  public Temperature(float temperature, long seed) {
    this(temperature, seed, 1);
  }

  /**
   * @param temperature positive and finite; below 1 sharpens, above 1 flattens
   * @param seed of the random state (0 is replaced by a fixed non-zero seed)
   * @param vocab the largest {@code n} to expect: scratch is allocated for it now
   * @throws IllegalArgumentException for a temperature that is not positive and finite, or vocab &lt; 1
   */
  public Temperature(float temperature, long seed, int vocab) {
    this.draw = new Draw(temperature, seed);
    SamplingMath.checkVocab(vocab);
    this.probs = new float[vocab];
  }

  @Override
  public int sample(float[] logits, int n) {
    SamplingMath.checkN(logits, n);
    probs = SamplingMath.atLeast(probs, n);
    SamplingMath.softmax(probs, logits, n, draw.temperature);
    return SamplingMath.sampleMult(probs, n, draw.coin());
  }

  @Override
  public String toString() {
    return "Temperature(" + draw.temperature + ", seed " + draw.seed + ")";
  }
}
