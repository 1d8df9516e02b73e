package dev.unroll.runtime;

import java.io.IOException;
import java.nio.file.Path;

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
public interface CausalLm {

  /** The sizes this model was compiled for. */
  ModelShape shape();

  /** Where this model computes. */
  Backend backend();

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

  /** Sets every parameter gradient to zero. */
  void zeroGrad();

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

  /** Number of tokens decoded since the last {@link #reset()}: the position the next token takes. */
  int position();

  /** The parameter and gradient arenas and their tensors (shared with the model, not copied). */
  Parameters parameters();

  /**
   * Writes the parameters as safetensors with Hugging Face GPT-2 tensor names (float32), atomically: to a
   * temporary file beside {@code path}, then renamed over it.
   */
  void save(Path path) throws IOException;
}
