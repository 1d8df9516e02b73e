package dev.unroll.bench;

import dev.unroll.runtime.Backend;
import dev.unroll.runtime.CausalLm;
import java.util.Locale;
import java.util.function.Function;

/** The benchmarked shapes with their generated factories and FLOP counts from the plan. */
enum NamedShape {
  TINY(b -> UnrolledShapes_Tiny.create(b, 1), UnrolledShapes_Tiny.FLOPS_PER_STEP, UnrolledShapes_Tiny.TOKENS),
  BABY(b -> UnrolledShapes_Baby.create(b, 1), UnrolledShapes_Baby.FLOPS_PER_STEP, UnrolledShapes_Baby.TOKENS),
  MEDIUM(b -> UnrolledShapes_Medium.create(b, 1), UnrolledShapes_Medium.FLOPS_PER_STEP,
      UnrolledShapes_Medium.TOKENS),
  GPT2(b -> UnrolledShapes_Gpt2.create(b, 1), UnrolledShapes_Gpt2.FLOPS_PER_STEP, UnrolledShapes_Gpt2.TOKENS);

  private final Function<Backend, CausalLm> factory;
  /** FLOPs of one training step: 6·N·B·T + 12·L·C·B·T² (the plan's count); a forward is a third of it. */
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

  /** The parameter value: the constant's name in lower case ("tiny", "gpt2", ...). */
  String label() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** The shape named by a benchmark parameter ("tiny", "gpt2", ...). */
  static NamedShape named(String name) {
    return Names.lookup(NamedShape.class, name, NamedShape::label, "training shape");
  }
}
