package dev.unroll.runtime;


/**
 * A causal language model that can be trained: what an interface annotated with {@code @Transformer} extends.
 * The generated {@code Unrolled<Name>} implements it with every size fixed at compile time; its static
 * factories {@code create(Backend, long seed)} and {@code load(Backend, Path)} make instances.
 *
 * <p>One training step: {@code forward(inputs, targets)}, {@code zeroGrad()} (or once before the first step),
 * {@code backward()}, then an optimizer step such as {@link AdamW#step()}. None of these allocates.
 *
 * <p>Instances are not thread-safe: one thread drives a model at a time.
 */
public interface CausalLm extends Trainable {

  /**
   * Runs the model on {@code batch × context} tokens (row-major: row b holds positions 0..context-1).
   *
   * @param inputs token ids, length {@code batch * context}, each in {@code [0, vocab)}
   * @param targets next-token ids of the same length and range, or {@code null} to compute logits only
   * @return mean cross-entropy over all positions, or {@code NaN} when {@code targets} is null
   * @throws IllegalArgumentException for a wrong length or a token outside the vocabulary (nothing is computed)
   * @throws ArithmeticException when the loss is not finite (parameters are not touched by forward)
   */
  float forward(int[] inputs, int[] targets);

  /**
   * Accumulates into the parameter gradients the gradient of the mean loss of the last {@link #forward} call.
   *
   * @throws IllegalStateException when the last forward had no targets, failed, or there was none
   */
  void backward();

  /**
   * Copies the {@code vocab} logits that the last forward computed at ({@code row}, {@code position}) into
   * {@code dst} and returns it.
   */
  float[] logits(int row, int position, float[] dst);

  /**
   * Runs one token through the model at the current position, using and extending the KV cache, and returns
   * the logits for the next token. The returned array has {@code vocab} entries and belongs to the model: the
   * next call overwrites it. Allocates nothing.
   *
   * @throws IllegalArgumentException for a token outside the vocabulary (the cache is not touched)
   * @throws IllegalStateException when the cache is full ({@link #position()} == context): call {@link #reset()}
   */
  float[] decode(int token);

  /** Empties the KV cache: the next {@link #decode} is at position 0. */
  void reset();

  /**
   * Chooses how {@link #decode} reads the weights of its matrix products ({@link DecodeWeights}): BFLOAT16 and INT8
   * make a copy of the parameters now, fewer bytes per token for memory-bound decoding; FLOAT32 (the default) drops
   * it. The copy is a snapshot: choose again after changing the parameters. Training reads float32 either way.
   * Generated models implement it; the default says it is not supported.
   *
   * @throws UnsupportedOperationException for INT8 on the OPENCL backend, or on a shape whose matrix widths are not
   *     multiples of 32 (the model keeps decoding as it did)
   */
  default void decodeWeights(DecodeWeights format) {
    throw new UnsupportedOperationException(getClass().getSimpleName() + " decodes in float32 only");
  }

  /** Number of tokens decoded since the last {@link #reset()}: the position the next token takes. */
  int position();

  /**
   * Generates up to {@code maxNewTokens} tokens after {@code prompt}: resets the cache, decodes the prompt, then
   * repeatedly samples the next token, hands it to {@code onToken} and decodes it. Stops early when the context is
   * full. Allocates nothing itself (the callback may).
   *
   * @param prompt at least one token, each in the vocabulary, at most {@code context} of them
   * @return the number of tokens generated
   */
  default int generate(int[] prompt, int maxNewTokens, dev.unroll.runtime.sample.Sampler sampler,
      java.util.function.IntConsumer onToken) {
    int context = shape().context();
    if (prompt == null || prompt.length == 0 || prompt.length > context) {
      throw new IllegalArgumentException("the prompt must hold 1 to " + context + " tokens, got "
          + (prompt == null ? "null" : prompt.length + ""));
    }
    if (maxNewTokens < 0) {
      throw new IllegalArgumentException("maxNewTokens = " + maxNewTokens + " must be >= 0");
    }
    for (int token : prompt) {
      if (token < 0 || token >= shape().vocab()) {
        throw new IllegalArgumentException("prompt token " + token + " is outside the vocabulary [0, "
            + shape().vocab() + ")");
      }
    }
    reset();
    float[] logits = null;
    for (int token : prompt) {
      logits = decode(token);
    }
    int generated = 0;
    while (generated < maxNewTokens) {
      int next = sampler.sample(logits, shape().vocab());
      onToken.accept(next);
      generated++;
      if (generated == maxNewTokens || position() == context) {
        break;
      }
      logits = decode(next);
    }
    return generated;
  }
}
