package dev.unroll.processor.models;

import dev.unroll.Family;
import dev.unroll.Transformer;
import dev.unroll.runtime.CausalLm;

/** Llama small enough for finite differences: one kv head shared by two query heads, tied classifier. */
@Transformer(family = Family.LLAMA, vocab = 11, context = 5, dim = 8, heads = 2, kvHeads = 1, layers = 2,
    batch = 2, hidden = 12)
public interface LlamaMicro extends CausalLm {}
