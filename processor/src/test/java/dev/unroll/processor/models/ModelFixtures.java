package dev.unroll.processor.models;

import dev.unroll.runtime.Backend;
import dev.unroll.runtime.CausalLm;
import dev.unroll.runtime.ModelShape;
import java.util.SplittableRandom;
import java.util.function.BiFunction;

/** The generated test models, by name, and random data for them. */
public enum ModelFixtures {
  AWKWARD(UnrolledAwkward.SHAPE, UnrolledAwkward::create),
  EVEN(UnrolledEven.SHAPE, UnrolledEven::create),
  MICRO(UnrolledMicro.SHAPE, UnrolledMicro::create);

  private final ModelShape shape;
  private final BiFunction<Backend, Long, CausalLm> factory;

  ModelFixtures(ModelShape shape, BiFunction<Backend, Long, CausalLm> factory) {
    this.shape = shape;
    this.factory = factory;
  }

  public ModelShape shape() {
    return shape;
  }

  public CausalLm create(Backend backend, long seed) {
    return factory.apply(backend, seed);
  }

  /** batch·context random tokens. */
  public int[] tokens(long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    int[] t = new int[shape.batch() * shape.context()];
    for (int i = 0; i < t.length; i++) {
      t[i] = r.nextInt(shape.vocab());
    }
    return t;
  }
}
