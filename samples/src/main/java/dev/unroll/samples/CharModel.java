package dev.unroll.samples;

import dev.unroll.Transformer;
import dev.unroll.runtime.CausalLm;

/**
 * A byte-level character model at nanoGPT's "baby Shakespeare" CPU shape (4 layers, 4 heads, width 128,
 * context 64, batch 12). Its tokens are bytes, so any file is its own vocabulary; on plain-ASCII text such as
 * Tiny Shakespeare this is nanoGPT's character model with unused rows in the embedding.
 *
 * <p>The Unroll processor turns this interface into {@code UnrolledCharModel}. {@link TextTask} trains it.
 */
@Transformer(vocab = 256, context = 64, dim = 128, heads = 4, layers = 4, batch = 12)
public interface CharModel extends CausalLm {}
