package dev.unroll.runtime.gpt2;

import dev.unroll.runtime.ModelShape;


/**
 * The sizes of a GPT-2 model at run time: what a {@code @Transformer} annotation fixed, plus the padded vocabulary
 * the matmuls use. Generated GPT-2 classes expose theirs as {@code SHAPE}.
 *
 * @param vocab distinct tokens (V)
 * @param paddedVocab V rounded up for the classifier matmul (Vp); padded logits are never counted
 * @param context maximum sequence length (T)
 * @param dim residual width (C)
 * @param heads attention heads (NH)
 * @param layers blocks (L)
 * @param batch rows per step (B)
 * @param hidden MLP hidden width (4·C by default)
 */
public record Gpt2Shape(int vocab, int paddedVocab, int context, int dim, int heads, int layers, int batch,
    int hidden) implements ModelShape {

  public Gpt2Shape {
    if (vocab <= 0 || context <= 0 || dim <= 0 || heads <= 0 || layers <= 0 || batch <= 0 || hidden <= 0) {
      throw new IllegalArgumentException("every size must be positive: " + this);
    }
    if (paddedVocab < vocab) {
      throw new IllegalArgumentException("paddedVocab " + paddedVocab + " < vocab " + vocab);
    }
    if (dim % heads != 0) {
      throw new IllegalArgumentException("dim " + dim + " is not divisible by heads " + heads);
    }
  }

  /** "vocab=65 context=64 dim=128 heads=4 layers=4 batch=12 hidden=512", for messages. */
  @Override
  public String describe() {
    return "vocab=" + vocab + " context=" + context + " dim=" + dim + " heads=" + heads + " layers=" + layers
        + " batch=" + batch + " hidden=" + hidden;
  }
}
