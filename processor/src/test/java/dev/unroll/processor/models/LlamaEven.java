package dev.unroll.processor.models;

import dev.unroll.Family;
import dev.unroll.Transformer;
import dev.unroll.runtime.CausalLm;

/**
 * Llama with widths that are multiples of 32 (dim 64, hidden 96), as int8 decode weights need, and grouped-query
 * attention (4 query heads over 2 kv heads); an odd vocabulary, so the classifier ends in a part panel.
 */
@Transformer(family = Family.LLAMA, vocab = 50, context = 9, dim = 64, heads = 4, kvHeads = 2, layers = 2,
    batch = 2, hidden = 96)
public interface LlamaEven extends CausalLm {}
