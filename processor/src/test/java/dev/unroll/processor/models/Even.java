package dev.unroll.processor.models;

import dev.unroll.Transformer;
import dev.unroll.runtime.CausalLm;

/** A regular shape: every size a multiple of 16. */
@Transformer(vocab = 64, context = 16, dim = 64, heads = 4, layers = 2, batch = 4)
public interface Even extends CausalLm {}
