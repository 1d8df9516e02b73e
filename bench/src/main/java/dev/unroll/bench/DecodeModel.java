package dev.unroll.bench;

import dev.unroll.runtime.Backend;
import dev.unroll.runtime.CausalLm;
import java.util.function.Function;

/**
 * The decoding benchmarks' models ({@link DecodeShapes}), by the name their {@code model} parameter takes. A
 * separate parameter from the training benchmarks' {@code shape}, so that {@code -p shape=...} never reaches them.
 */
enum DecodeModel {
  STORIES15M("stories15M", b -> UnrolledDecodeShapes_Stories15M.createForDecoding(b, 1),
      UnrolledDecodeShapes_Stories15M.PARAMETER_COUNT),
  STORIES110M("stories110M", b -> UnrolledDecodeShapes_Stories110M.createForDecoding(b, 1),
      UnrolledDecodeShapes_Stories110M.PARAMETER_COUNT);

  /** The parameter value: llama2.c's name for the model. */
  final String label;
  private final Function<Backend, CausalLm> factory;
  final long parameters;

  DecodeModel(String label, Function<Backend, CausalLm> factory, long parameters) {
    this.label = label;
    this.factory = factory;
    this.parameters = parameters;
  }

  /** A model made for decoding only, with random weights (seed 1). */
  CausalLm create(Backend backend) {
    return factory.apply(backend);
  }

  /** The model a benchmark parameter names ("stories15M", "stories110M"). */
  static DecodeModel named(String name) {
    return Names.lookup(DecodeModel.class, name, m -> m.label, "decode model");
  }
}
