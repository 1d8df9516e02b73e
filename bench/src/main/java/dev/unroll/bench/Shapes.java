package dev.unroll.bench;

import dev.unroll.Transformer;
import dev.unroll.runtime.CausalLm;

/** The named shapes the benchmarks measure. */
final class Shapes {
  private Shapes() {}

  /** tiny: layers 2, dim 64, heads 4, context 64, batch 8, vocab 65. */
  @Transformer(vocab = 65, context = 64, dim = 64, heads = 4, layers = 2, batch = 8)
  interface Tiny extends CausalLm {}

  /** baby: nanoGPT's CPU Shakespeare configuration. */
  @Transformer(vocab = 65, context = 64, dim = 128, heads = 4, layers = 4, batch = 12)
  interface Baby extends CausalLm {}
}
