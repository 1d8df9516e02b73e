package dev.unroll.bench;

import dev.unroll.Family;
import dev.unroll.Transformer;
import dev.unroll.runtime.CausalLm;

/** The decoding benchmarks' shapes: llama2.c's stories models, batch 1. */
final class DecodeShapes {
  private DecodeShapes() {}

  /** stories15M: dim 288, hidden 768, 6 layers, 6 heads, vocab 32000, context 256. */
  @Transformer(family = Family.LLAMA, vocab = 32000, context = 256, dim = 288, hidden = 768, heads = 6,
      kvHeads = 6, layers = 6, batch = 1)
  interface Stories15M extends CausalLm {}

  /** stories110M: dim 768, hidden 2048, 12 layers, 12 heads, vocab 32000, context 1024. */
  @Transformer(family = Family.LLAMA, vocab = 32000, context = 1024, dim = 768, hidden = 2048, heads = 12,
      kvHeads = 12, layers = 12, batch = 1)
  interface Stories110M extends CausalLm {}
}
