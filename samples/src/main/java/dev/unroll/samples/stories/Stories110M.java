package dev.unroll.samples.stories;

import dev.unroll.Family;
import dev.unroll.Transformer;
import dev.unroll.runtime.CausalLm;

/** llama2.c's stories110M: the same family at dim 768, 12 layers, context 1024. */
@Transformer(family = Family.LLAMA, vocab = 32000, context = 1024, dim = 768, hidden = 2048, heads = 12,
    kvHeads = 12, layers = 12, batch = 1)
public interface Stories110M extends CausalLm {}
