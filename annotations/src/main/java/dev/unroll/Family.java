package dev.unroll;

/** The architecture a {@link Transformer} follows. Each family fixes the layers' kinds and numerics. */
public enum Family {
  /**
   * GPT-2: LayerNorm (eps 1e-5), learned position embeddings, GELU (tanh) MLP, biases everywhere, classifier
   * tied to the token embedding. Numerically the same as llm.c's CPU reference.
   */
  GPT2,
  /** Llama: RMSNorm, rotary positions, SwiGLU MLP, grouped-query attention, no biases. Not yet supported. */
  LLAMA,
  /** Bidirectional encoder with a classification head. Not yet supported. */
  ENCODER
}
