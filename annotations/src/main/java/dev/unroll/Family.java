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
  /** Bidirectional encoder with a classification head. Not yet supported. */
  ENCODER
}
