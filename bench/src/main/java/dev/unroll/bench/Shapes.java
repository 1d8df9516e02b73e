package dev.unroll.bench;

import dev.unroll.Family;
import dev.unroll.Pooling;
import dev.unroll.Transformer;
import dev.unroll.runtime.CausalLm;
import dev.unroll.runtime.ImageEncoder;
import dev.unroll.runtime.TextEncoder;

/** The named shapes the benchmarks measure: decoders ({@link NamedShape}) and encoders ({@link NamedEncoder}). */
final class Shapes {
  private Shapes() {}

  /**
   * tiny: layers 2, dim 64, heads 4, context 64, batch 8, vocab 65. It also asks the processor for a JMH
   * benchmark of its own ({@code UnrolledShapes_TinyBenchmark}), which JMH's annotation processor then picks up.
   */
  @Transformer(vocab = 65, context = 64, dim = 64, heads = 4, layers = 2, batch = 8, benchmark = true)
  interface Tiny extends CausalLm {}

  /** baby: nanoGPT's CPU Shakespeare configuration (layers 4, dim 128, heads 4, context 64, batch 12). */
  @Transformer(vocab = 65, context = 64, dim = 128, heads = 4, layers = 4, batch = 12)
  interface Baby extends CausalLm {}

  /** medium: layers 6, dim 384, heads 6, context 256, batch 4, vocab 65 (nanoGPT's Shakespeare GPU shape). */
  @Transformer(vocab = 65, context = 256, dim = 384, heads = 6, layers = 6, batch = 4)
  interface Medium extends CausalLm {}

  /** gpt2: GPT-2 small (124M parameters), context 64, batch 4. */
  @Transformer(vocab = 50257, context = 64, dim = 768, heads = 12, layers = 12, batch = 4)
  interface Gpt2 extends CausalLm {}

  /**
   * minilm: a sentence-embedding shape (layers 6, dim 384, heads 12, hidden 1536, context 128, vocab 30522, as
   * all-MiniLM-L6-v2), batch 8, a two-class head; its embeddings are the normalized mean of each row, as such models
   * give them.
   */
  @Transformer(family = Family.BERT, vocab = 30522, context = 128, dim = 384, heads = 12, layers = 6, batch = 8,
      classes = 2, pooling = Pooling.MEAN, normalize = true)
  interface MiniLm extends TextEncoder {}

  /** vittiny: ViT-Tiny/16 at 224x224 (layers 12, dim 192, heads 3, 197 positions), batch 8, ImageNet's 1000 classes. */
  @Transformer(family = Family.VIT, channels = 3, height = 224, width = 224, patch = 16, dim = 192, heads = 3,
      layers = 12, batch = 8, classes = 1000)
  interface VitTiny extends ImageEncoder {}
}
