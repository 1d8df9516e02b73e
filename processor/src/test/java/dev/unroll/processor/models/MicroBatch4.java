package dev.unroll.processor.models;

import dev.unroll.Transformer;
import dev.unroll.runtime.CausalLm;

/** {@link Micro} with a batch of 4: what 2 ranks of Micro's batch of 2 train as one (DataParallelTest). */
@Transformer(vocab = 11, context = 5, dim = 8, heads = 2, layers = 2, batch = 4, hidden = 12)
public interface MicroBatch4 extends CausalLm {}
