package dev.unroll.processor.models;

import dev.unroll.Transformer;
import dev.unroll.runtime.CausalLm;

/** {@link Micro} with a batch of 8: what 4 ranks of Micro's batch of 2 train as one (DataParallelTest). */
@Transformer(vocab = 11, context = 5, dim = 8, heads = 2, layers = 2, batch = 8, hidden = 12)
public interface MicroBatch8 extends CausalLm {}
