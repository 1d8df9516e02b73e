package dev.unroll.samples.stories;

import dev.unroll.Family;
import dev.unroll.Transformer;
import dev.unroll.runtime.CausalLm;

/**
 * llama2.c's stories15M: a Llama trained on TinyStories. Load its {@code stories15M.bin} (llama2.c's format) or a
 * Hugging Face-named safetensors file of the same shape. Batch 1: this model is for generating.
 */
@Transformer(family = Family.LLAMA, vocab = 32000, context = 256, dim = 288, hidden = 768, heads = 6, kvHeads = 6,
    layers = 6, batch = 1)
public interface Stories15M extends CausalLm {}
