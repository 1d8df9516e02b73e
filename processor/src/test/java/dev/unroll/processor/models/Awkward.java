package dev.unroll.processor.models;

import dev.unroll.Transformer;
import dev.unroll.runtime.CausalLm;

/** Deliberately awkward: nothing is a multiple of a vector's width, head size 16, odd context and batch. */
@Transformer(vocab = 97, context = 13, dim = 48, heads = 3, layers = 2, batch = 3)
public interface Awkward extends CausalLm {}
