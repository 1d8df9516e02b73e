package dev.unroll.samples;

import dev.unroll.Transformer;
import dev.unroll.runtime.CausalLm;

/**
 * A character model at nanoGPT's "baby Shakespeare" CPU shape (4 layers, 4 heads, width 128, context 64, batch 12)
 * with nanoGPT's vocabulary for tiny Shakespeare: the text's 65 distinct characters ({@link Vocabulary}). A text with
 * fewer characters leaves the ids above its own unused; one with more, or that is not UTF-8, trains
 * {@link ByteModel} instead.
 *
 * <p>The Unroll processor turns this interface into {@code UnrolledCharModel}. {@link TextTask} trains it.
 */
@Transformer(vocab = 65, context = 64, dim = 128, heads = 4, layers = 4, batch = 12)
public interface CharModel extends CausalLm {}
