package dev.unroll.runtime;

/**
 * An encoder that can be trained to classify and that embeds: what an interface annotated with
 * {@code @Transformer(family = BERT)} or {@code VIT} extends, through {@link TextEncoder} or {@link ImageEncoder},
 * which add the forward pass over their kind of input. The generated {@code Unrolled<Name>} implements it with
 * every size fixed at compile time; {@code create(Backend, long seed)} and {@code load(Backend, Path)} make
 * instances.
 *
 * <p>One training step: {@code forward(..., labels)}, {@code zeroGrad()}, {@code backward()}, then an optimizer
 * step such as {@link AdamW#step()}. None of these allocates, nor do {@link #logits} and {@link #embeddings}.
 *
 * <p>Instances are not thread-safe: one thread drives a model at a time.
 */
public interface Encoder extends Trainable {

  @Override
  EncoderShape shape();

  /**
   * Copies the class logits of every row that the last forward computed into {@code dst}: {@code batch} rows of
   * {@code classes}, row-major. Returns {@code dst}.
   *
   * @throws IllegalStateException before a forward
   * @throws IllegalArgumentException when {@code dst} holds fewer than {@code batch * classes} floats
   */
  float[] logits(float[] dst);

  /**
   * Writes one vector per row of the last forward into {@code dst} ({@code batch} rows of {@code dim}, row-major):
   * the row's last hidden states pooled as the model was compiled ({@code pooling}: the first position's, or the
   * mean over the row's positions), scaled to unit length when it says {@code normalize = true}. Returns
   * {@code dst}.
   *
   * @throws IllegalStateException before a forward
   * @throws IllegalArgumentException when {@code dst} holds fewer than {@code batch * dim} floats
   */
  float[] embeddings(float[] dst);
}
