package dev.unroll.processor.models;

import dev.unroll.Transformer;
import dev.unroll.runtime.CausalLm;

/** Small enough for finite differences; an explicit MLP width that is not 4·dim. */
@Transformer(vocab = 11, context = 5, dim = 8, heads = 2, layers = 2, batch = 2, hidden = 12)
public interface Micro extends CausalLm {}
