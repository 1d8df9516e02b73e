package dev.unroll.runtime.sample;

/**
 * Nucleus sampling as llama2.c's {@code run.c} does it ({@code sample_topp}): softmax(logits / temperature); the
 * tokens of probability at least (1 - p) / (n - 1) (which cannot be in the nucleus otherwise) sorted by
 * probability, descending; the shortest prefix whose probability exceeds p; a token drawn from it in proportion
 * to its probability. One coin per call from llama2.c's generator, so the same seed and logits give run.c's
 * choices (up to the order of equal probabilities, which run.c's qsort leaves unspecified; here the lower id
 * comes first). Sorting is an in-place heapsort; nothing is allocated.
 */
public final class TopP implements Sampler {

  private final float p;
  private final Draw draw;
  private float[] probs;
  private long[] candidates;

  /**
   * A sampler whose scratch is allocated at its first call, sized to that call's {@code n} (prefer
   * {@link #TopP(float, float, long, int)}, which allocates it now).
   *
   * @throws IllegalArgumentException for p outside (0, 1) or a temperature that is not positive and finite
   */
  public TopP(float p, float temperature, long seed) {
    this(p, temperature, seed, 1);
  }

  /**
   * @param p the nucleus' probability, in (0, 1)
   * @param temperature positive and finite
   * @param seed of the random state (0 is replaced by a fixed non-zero seed)
   * @param vocab the largest {@code n} to expect: scratch is allocated for it now
   * @throws IllegalArgumentException for p outside (0, 1), a temperature that is not positive and finite, or
   *     vocab &lt; 1
   */
  public TopP(float p, float temperature, long seed, int vocab) {
    if (!(p > 0 && p < 1)) {
      throw new IllegalArgumentException("top-p " + p + " must be in (0, 1) (1 means off: use Temperature)");
    }
    this.draw = new Draw(temperature, seed);
    SamplingMath.checkVocab(vocab);
    this.p = p;
    this.probs = new float[vocab];
    this.candidates = new long[vocab];
  }

  @Override
  public int sample(float[] logits, int n) {
    SamplingMath.checkN(logits, n);
    if (probs.length < n) {
      probs = new float[n]; // only when n exceeds the vocab given at construction
      candidates = new long[n];
    }
    SamplingMath.softmax(probs, logits, n, draw.temperature);
    float coin = draw.coin();
    if (n == 1) {
      return 0;
    }
    float cutoff = (1.0f - p) / (n - 1);
    int count = 0;
    for (int i = 0; i < n; i++) {
      if (probs[i] >= cutoff) {
        candidates[count++] = SamplingMath.key(probs[i], i);
      }
    }
    if (count == 0) {
      return SamplingMath.argmax(probs, n); // p below 1/n can cut every token; run.c reads out of bounds there
    }
    SamplingMath.sort(candidates, count); // ascending: the most likely is last
    float cumulative = 0.0f;
    int last = 0; // candidates taken, counted from the end
    for (int j = count - 1; j >= 0; j--) {
      cumulative += SamplingMath.keyValue(candidates[j]);
      last = j;
      if (cumulative > p) {
        break;
      }
    }
    float r = coin * cumulative;
    float cdf = 0.0f;
    for (int j = count - 1; j >= last; j--) {
      cdf += SamplingMath.keyValue(candidates[j]);
      if (r < cdf) {
        return SamplingMath.keyIndex(candidates[j]);
      }
    }
    return SamplingMath.keyIndex(candidates[last]);
  }

  @Override
  public String toString() {
    return "TopP(" + p + ", temperature " + draw.temperature + ", seed " + draw.seed + ")";
  }
}
