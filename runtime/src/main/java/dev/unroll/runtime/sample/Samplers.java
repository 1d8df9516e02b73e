package dev.unroll.runtime.sample;

/** Chooses a {@link Sampler} from the usual generation settings. */
public final class Samplers {

  /** Scratch size when the vocabulary is not given: grown once, at the first call, if the vocabulary is larger. */
  private static final int DEFAULT_VOCAB = 1;

  private Samplers() {}

  /**
   * As {@link #of(float, float, int, long, int)}, with scratch allocated at the first {@link Sampler#sample} call
   * (which therefore allocates once; later calls do not).
   */
  public static Sampler of(float temperature, float topP, int topK, long seed) {
    return of(temperature, topP, topK, seed, DEFAULT_VOCAB);
  }

  /**
   * The sampler for these settings: {@link Greedy} when temperature is 0; else {@link TopK} when topK &gt; 0;
   * else {@link TopP} when 0 &lt; topP &lt; 1; else {@link Temperature}. (llama2.c's defaults are temperature 1,
   * top-p 0.9.)
   *
   * @param temperature 0 for greedy, else positive and finite
   * @param topP in [0, 1]; 0 and 1 turn it off
   * @param topK 0 turns it off; else at least 1
   * @param seed of the random state (unused when greedy)
   * @param vocab the vocabulary size, for the scratch buffers allocated now
   * @throws IllegalArgumentException for a value out of its range, or top-k and top-p both on (unless greedy)
   */
  public static Sampler of(float temperature, float topP, int topK, long seed, int vocab) {
    if (!(temperature >= 0) || Float.isInfinite(temperature)) {
      throw new IllegalArgumentException("temperature " + temperature + " must be 0 (greedy) or positive and finite");
    }
    if (!(topP >= 0 && topP <= 1)) {
      throw new IllegalArgumentException("top-p " + topP + " must be in [0, 1] (0 or 1 turns it off)");
    }
    if (topK < 0) {
      throw new IllegalArgumentException("top-k " + topK + " must be at least 0 (0 turns it off)");
    }
    SamplingMath.checkVocab(vocab);
    if (temperature == 0) {
      return Greedy.INSTANCE; // top-k and top-p choose among candidates; greedy has one
    }
    boolean nucleus = topP > 0 && topP < 1;
    if (topK > 0 && nucleus) {
      throw new IllegalArgumentException("top-k " + topK + " and top-p " + topP + " are both on; choose one (set "
          + "top-k to 0 or top-p to 1)");
    }
    if (topK > 0) {
      return new TopK(topK, temperature, seed, vocab);
    }
    if (nucleus) {
      return new TopP(topP, temperature, seed, vocab);
    }
    return new Temperature(temperature, seed, vocab);
  }
}
