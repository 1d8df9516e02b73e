package dev.unroll.bench;

import dev.unroll.runtime.Backend;
import dev.unroll.runtime.Encoder;
import java.util.Locale;
import java.util.function.Function;

/**
 * The benchmarked encoder shapes with their generated factories and FLOP counts from the plan. A row is an item:
 * a sentence of {@code context} tokens, or an image of its patches and the class token.
 */
enum NamedEncoder {
  MINILM(b -> UnrolledShapes_MiniLm.create(b, 1), UnrolledShapes_MiniLm.FLOPS_PER_STEP, UnrolledShapes_MiniLm.BATCH,
      UnrolledShapes_MiniLm.TOKENS, "sentences", "text"),
  VITTINY(b -> UnrolledShapes_VitTiny.create(b, 1), UnrolledShapes_VitTiny.FLOPS_PER_STEP,
      UnrolledShapes_VitTiny.BATCH, UnrolledShapes_VitTiny.TOKENS, "images", "image");

  private final Function<Backend, Encoder> factory;
  /**
   * FLOPs of one training step: 6·N·B·T + 12·L·C·B·T² with N the parameters less the embedding tables (the plan's
   * count); a forward is a third of it.
   */
  final long trainingFlops;
  /** Items (rows) per step. */
  final int batch;
  /** Positions per step: {@code batch} rows of the context. */
  final int tokens;
  /** What an item is, for the report's unit: "sentences" or "images". */
  final String items;
  /** The model's name in the PyTorch script's results ({@code bench/pytorch/encoders.py --json}). */
  final String torchModel;

  NamedEncoder(Function<Backend, Encoder> factory, long trainingFlops, int batch, int tokens, String items,
      String torchModel) {
    this.factory = factory;
    this.trainingFlops = trainingFlops;
    this.batch = batch;
    this.tokens = tokens;
    this.items = items;
    this.torchModel = torchModel;
  }

  Encoder create(Backend backend) {
    return factory.apply(backend);
  }

  /** The parameter value: the constant's name in lower case ("minilm", "vittiny"). */
  String label() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** The encoder named by a benchmark parameter ("minilm", "vittiny"). */
  static NamedEncoder named(String name) {
    return Names.lookup(NamedEncoder.class, name, NamedEncoder::label, "encoder shape");
  }
}
