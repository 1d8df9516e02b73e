package dev.unroll.runtime;

/**
 * The sizes every model shares at run time, whatever its family: what a {@code @Transformer} annotation fixed, plus
 * the padded vocabulary the classifier's matrix product uses. Each family's shape implements it with what only that
 * family has ({@code dev.unroll.runtime.gpt2.Gpt2Shape}, {@code dev.unroll.runtime.llama.LlamaShape}, which adds the
 * key/value heads); a generated class exposes its own as {@code SHAPE}, and {@link CausalLm#shape()} returns it.
 */
public interface ModelShape {

  /** Distinct tokens (V). */
  int vocab();

  /** V rounded up for the classifier matmul (Vp); padded logits are never counted. */
  int paddedVocab();

  /** Maximum sequence length (T). */
  int context();

  /** Residual width (C). */
  int dim();

  /** Attention (query) heads (NH). */
  int heads();

  /** Blocks (L). */
  int layers();

  /** Rows per training step (B). */
  int batch();

  /** MLP hidden width (H). */
  int hidden();

  /** Size of one attention head: dim / heads. */
  default int headSize() {
    return dim() / heads();
  }

  /** The sizes in one line ({@code "vocab=65 context=64 dim=128 ..."}), for messages. */
  String describe();
}
