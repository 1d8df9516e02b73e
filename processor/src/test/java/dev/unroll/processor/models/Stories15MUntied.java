package dev.unroll.processor.models;

import dev.unroll.Family;
import dev.unroll.Transformer;
import dev.unroll.runtime.CausalLm;

/**
 * stories15M's shape (dim 288, 6 layers, 6 heads, hidden 768, vocab 32000, context 256) with a classifier of its
 * own, not tied to the token embedding. Measured for decoding's accuracy in bfloat16 and int8
 * ({@code DecodeAccuracy}).
 */
@Transformer(family = Family.LLAMA, vocab = 32000, context = 256, dim = 288, hidden = 768, heads = 6, layers = 6,
    batch = 1, tiedEmbeddings = false)
public interface Stories15MUntied extends CausalLm {}
