package dev.unroll.runtime.sample;

/**
 * Samples from softmax(logits / temperature) over the whole vocabulary, as llama2.c's {@code run.c} does when
 * top-p is off: one coin per call from llama2.c's xorshift generator, so the same seed and logits give run.c's
 * choices.
 */
public final class Temperature implements Sampler {

  private final float temperature;
  private final long seed;
  private final Rng rng;
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
    SamplingMath.checkTemperature(temperature);
    SamplingMath.checkVocab(vocab);
    this.temperature = temperature;
    this.seed = seed;
    this.rng = new Rng(seed);
    this.probs = new float[vocab];
  }

  @Override
  public int sample(float[] logits, int n) {
    SamplingMath.checkN(logits, n);
    probs = SamplingMath.atLeast(probs, n);
    SamplingMath.softmax(probs, logits, n, temperature);
    return SamplingMath.sampleMult(probs, n, rng.nextFloat());
  }

  @Override
  public String toString() {
    return "Temperature(" + temperature + ", seed " + seed + ")";
  }
}
