package dev.unroll.processor.models;

import dev.unroll.Family;
import dev.unroll.Transformer;
import dev.unroll.runtime.CausalLm;

/** llama2.c's stories15M shape: compiled to check method sizes. */
@Transformer(family = Family.LLAMA, vocab = 32000, context = 256, dim = 288, heads = 6, kvHeads = 6, layers = 6,
    batch = 1)
public interface Stories15M extends CausalLm {}
