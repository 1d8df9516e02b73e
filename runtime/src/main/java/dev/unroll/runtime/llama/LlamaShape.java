package dev.unroll.runtime.llama;

import dev.unroll.runtime.ModelShape;

/**
 * The sizes of a LLAMA-family model at run time (llama2.c's {@code Config}, plus the batch and the padded
 * vocabulary the classifier matmul uses). Generated LLAMA classes expose theirs as {@code SHAPE}.
 *
 * @param vocab distinct tokens (V)
 * @param paddedVocab V rounded up for the classifier matmul (Vp); padded rows of the embedding and classifier are
 *     zero and padded logits are never counted
 * @param context maximum sequence length (T)
 * @param dim residual width (C)
 * @param heads query heads (NH)
 * @param kvHeads key/value heads (KVH); NH must be a multiple of it, and query head h reads kv head
 *     h / (NH / KVH)
 * @param layers blocks (L)
 * @param batch rows per training step (B)
 * @param hidden SwiGLU hidden width (H)
 * @param tiedClassifier whether the classifier is the token embedding ({@code model.embed_tokens.weight}) rather
 *     than a separate {@code lm_head.weight}
 */
public record LlamaShape(int vocab, int paddedVocab, int context, int dim, int heads, int kvHeads, int layers,
    int batch, int hidden, boolean tiedClassifier) implements ModelShape {

  public LlamaShape {
    if (vocab <= 0 || context <= 0 || dim <= 0 || heads <= 0 || kvHeads <= 0 || layers <= 0 || batch <= 0
        || hidden <= 0) {
      throw new IllegalArgumentException("every size must be positive: " + this);
    }
    if (paddedVocab < vocab) {
      throw new IllegalArgumentException("paddedVocab " + paddedVocab + " < vocab " + vocab);
    }
    if (dim % heads != 0) {
      throw new IllegalArgumentException("dim " + dim + " is not divisible by heads " + heads);
    }
    if (heads % kvHeads != 0) {
      throw new IllegalArgumentException("heads " + heads + " is not a multiple of kvHeads " + kvHeads);
    }
    if ((dim / heads) % 2 != 0) {
      throw new IllegalArgumentException("head size dim/heads = " + dim / heads + " is odd; RoPE rotates pairs");
    }
  }

  /** Width of the keys (and of the values) of one position: kvHeads · headSize. */
  public int kvDim() {
    return kvHeads * headSize();
  }

  /** "vocab=... context=... dim=... heads=... kvHeads=... layers=... batch=... hidden=... tied", for messages. */
  @Override
  public String describe() {
    return "vocab=" + vocab + " context=" + context + " dim=" + dim + " heads=" + heads + " kvHeads=" + kvHeads
        + " layers=" + layers + " batch=" + batch + " hidden=" + hidden + (tiedClassifier ? " tied" : " untied")
        + " classifier";
  }
}
