package dev.unroll.bench;

import dev.unroll.runtime.Backend;
import dev.unroll.runtime.CausalLm;
import java.util.function.Function;

/** The benchmarked shapes with their generated factories and FLOP counts from the plan. */
enum NamedShape {
  TINY(b -> UnrolledShapes_Tiny.create(b, 1), UnrolledShapes_Tiny.FLOPS_PER_STEP, UnrolledShapes_Tiny.TOKENS),
  BABY(b -> UnrolledShapes_Baby.create(b, 1), UnrolledShapes_Baby.FLOPS_PER_STEP, UnrolledShapes_Baby.TOKENS);

  private final Function<Backend, CausalLm> factory;
  final long trainingFlops;
  final int tokens;

  NamedShape(Function<Backend, CausalLm> factory, long trainingFlops, int tokens) {
    this.factory = factory;
    this.trainingFlops = trainingFlops;
    this.tokens = tokens;
  }

  CausalLm create(Backend backend) {
    return factory.apply(backend);
  }
}
