package dev.unroll.processor.models;

import dev.unroll.Platform;
import dev.unroll.Transformer;
import dev.unroll.runtime.CausalLm;

/** {@link Micro}'s shape compiled for OpenCL only: no Java kernel calls in its class. */
@Transformer(vocab = 11, context = 5, dim = 8, heads = 2, layers = 2, batch = 2, hidden = 12,
    platforms = Platform.OPENCL)
public interface MicroOpenCl extends CausalLm {}
