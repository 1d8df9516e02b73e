package dev.unroll;

/** The architecture a {@link Transformer} follows. Each family fixes the layers' kinds and numerics. */
public enum Family {
  /**
   * GPT-2: LayerNorm (eps 1e-5), learned position embeddings, GELU (tanh) MLP, biases everywhere, classifier
   * tied to the token embedding. Numerically the same as llm.c's CPU reference.
   */
  GPT2,
  /**
   * Llama: RMSNorm (eps 1e-5), rotary positions over pairs within each head, SwiGLU MLP, grouped-query attention,
   * no biases; classifier tied or not. Numerically the same as llama2.c's run.c.
   */
  LLAMA,
  /**
   * BERT: a bidirectional text encoder over token ids with a padding mask, learned position and (optional)
   * token-type embeddings, post-LayerNorm blocks (eps 1e-12), exact (erf) GELU, a tanh pooler on the first token and
   * a classifier on it. Numerically as Hugging Face's {@code BertModel} / {@code BertForSequenceClassification}.
   * The interface extends {@code TextEncoder}.
   */
  BERT,
  /**
   * ViT: an image encoder over any 2-D grid of floats with channels (a spectrogram is one), cut into
   * non-overlapping patches projected to {@code dim}, a learned class token and position embeddings, pre-LayerNorm
   * blocks (eps 1e-12), exact (erf) GELU, a final LayerNorm and a classifier on the class token. Numerically as
   * Hugging Face's {@code ViTModel} / {@code ViTForImageClassification}. The interface extends
   * {@code ImageEncoder}.
   */
  VIT;

  /** Whether models of this family encode (BERT, VIT) rather than generate (GPT2, LLAMA). */
  public boolean encoder() {
    return this == BERT || this == VIT;
  }
}
