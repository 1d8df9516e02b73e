package com.example;

import dev.unroll.Transformer;
import dev.unroll.runtime.CausalLm;

/** A model small enough to build and step in a moment: what NewProjectIT compiles with the README's pom snippet. */
@Transformer(vocab = 16, context = 8, dim = 16, heads = 2, layers = 1, batch = 2)
public interface Tiny extends CausalLm {}
