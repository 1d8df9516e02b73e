package dev.unroll.processor.models;

import dev.unroll.Transformer;
import dev.unroll.runtime.CausalLm;

/** GPT-2 small (124M) at the benchmarks' context: compiled to check method sizes; never instantiated in CI. */
@Transformer(vocab = 50257, context = 64, dim = 768, heads = 12, layers = 12, batch = 4)
public interface Gpt2Small extends CausalLm {}
