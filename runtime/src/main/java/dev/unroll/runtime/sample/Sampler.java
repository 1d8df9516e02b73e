package dev.unroll.runtime.sample;

/**
 * Chooses the next token from a model's logits. Implementations: {@link Greedy}, {@link Temperature},
 * {@link TopK}, {@link TopP}; {@link Samplers#of} picks one from the usual knobs.
 *
 * <p>Samplers keep a random state (seeded, so the same seed gives the same sequence of choices for the same
 * logits) and scratch buffers sized to the vocabulary at construction, so that {@link #sample} allocates nothing.
 * They are not thread-safe: one thread samples from one instance.
 */
public interface Sampler {

  /**
   * The chosen token among the first {@code n} logits (which are not modified; entries past {@code n}, such as
   * padded vocabulary, are ignored).
   *
   * @param logits unnormalised log-probabilities, finite
   * @param n the vocabulary size, at least 1 and at most {@code logits.length}
   * @return a token in {@code [0, n)}
   * @throws IllegalArgumentException when {@code n} is out of range
   */
  int sample(float[] logits, int n);
}
