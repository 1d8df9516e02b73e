package dev.unroll.processor.models;

import dev.unroll.Family;
import dev.unroll.Transformer;
import dev.unroll.runtime.CausalLm;

/** Llama, awkward: grouped-query attention (6 query heads over 2 kv heads), an untied classifier. */
@Transformer(family = Family.LLAMA, vocab = 97, context = 13, dim = 48, heads = 6, kvHeads = 2, layers = 2,
    batch = 3, tiedEmbeddings = false)
public interface LlamaAwkward extends CausalLm {}
