package dev.unroll.samples;

import dev.unroll.Transformer;
import dev.unroll.runtime.CausalLm;

/**
 * {@link CharModel}'s shape with bytes for tokens (vocabulary 256), so that any file is its own vocabulary: what
 * {@link TextTask} trains on a text that is not UTF-8 or has more distinct characters than {@code CharModel} holds.
 *
 * <p>The Unroll processor turns this interface into {@code UnrolledByteModel}.
 */
@Transformer(vocab = 256, context = 64, dim = 128, heads = 4, layers = 4, batch = 12)
public interface ByteModel extends CausalLm {}
