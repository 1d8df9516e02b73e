package dev.unroll.runtime;

/**
 * An {@link Encoder} of token ids (BERT): rows of different lengths in one batch, each padded to the context; the
 * padding positions change nothing (every position attends only to its row's first {@code length} positions).
 */
public interface TextEncoder extends Encoder {

  /**
   * Runs the model on {@code batch} rows of up to {@code context} tokens.
   *
   * @param tokens token ids, {@code batch * context}, row-major; in each row the first {@code lengths[row]} must be
   *     in {@code [0, vocab)}, and the rest (the padding) are not read
   * @param types token types (segments) of the same layout, each in {@code [0, typeVocab)}; {@code null} for all 0
   * @param lengths each row's tokens, {@code batch} values in {@code [1, context]}
   * @param labels each row's class in {@code [0, classes)}, or {@code null} to compute logits only
   * @return the mean cross-entropy over the rows, or {@code NaN} when {@code labels} is null
   * @throws IllegalArgumentException for a wrong length or a value out of its range (nothing is computed)
   * @throws ArithmeticException when the loss is not finite (parameters are not touched by forward)
   */
  float forward(int[] tokens, int[] types, int[] lengths, int[] labels);

  /** {@link #forward(int[], int[], int[], int[])} with every token of type 0. */
  default float forward(int[] tokens, int[] lengths, int[] labels) {
    return forward(tokens, null, lengths, labels);
  }

  /**
   * Runs the model on the rows and writes their vectors into {@code dst}, as {@link #embeddings} says.
   *
   * @param types token types, or {@code null} for all 0
   */
  default float[] embed(int[] tokens, int[] types, int[] lengths, float[] dst) {
    forward(tokens, types, lengths, null);
    return embeddings(dst);
  }
}
