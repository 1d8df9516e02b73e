package dev.unroll.runtime;

/**
 * An {@link Encoder} of grids of floats with channels (ViT): images, or any 2-D signal such as a spectrogram.
 */
public interface ImageEncoder extends Encoder {

  /**
   * Runs the model on {@code batch} grids.
   *
   * @param pixels {@code batch × channels × height × width} floats, row-major (as PyTorch's NCHW), each finite
   * @param labels each grid's class in {@code [0, classes)}, or {@code null} to compute logits only
   * @return the mean cross-entropy over the batch, or {@code NaN} when {@code labels} is null
   * @throws IllegalArgumentException for a wrong length, a label out of range or a value that is not finite
   *     (nothing is computed)
   * @throws ArithmeticException when the loss is not finite (parameters are not touched by forward)
   */
  float forward(float[] pixels, int[] labels);

  /** Runs the model on the grids and writes their vectors into {@code dst}, as {@link #embeddings} says. */
  default float[] embed(float[] pixels, float[] dst) {
    forward(pixels, null);
    return embeddings(dst);
  }
}
