package dev.unroll.processor.models;

import dev.unroll.runtime.Backend;
import dev.unroll.runtime.CausalLm;
import dev.unroll.runtime.ModelShape;
import dev.unroll.runtime.gpt2.Gpt2Reference;
import dev.unroll.runtime.llama.LlamaReference;
import java.util.SplittableRandom;
import java.util.function.BiFunction;
import java.util.function.LongFunction;

/** The generated test models, by name, with their scalar references and random data for them. */
public enum ModelFixtures {
  AWKWARD(UnrolledAwkward.SHAPE, UnrolledAwkward::create, UnrolledAwkward::createForDecoding,
      seed -> Gpt2Reference.create(UnrolledAwkward.SHAPE, seed)),
  EVEN(UnrolledEven.SHAPE, UnrolledEven::create, UnrolledEven::createForDecoding,
      seed -> Gpt2Reference.create(UnrolledEven.SHAPE, seed)),
  MICRO(UnrolledMicro.SHAPE, UnrolledMicro::create, UnrolledMicro::createForDecoding,
      seed -> Gpt2Reference.create(UnrolledMicro.SHAPE, seed)),
  LLAMA_AWKWARD(UnrolledLlamaAwkward.SHAPE, UnrolledLlamaAwkward::create, UnrolledLlamaAwkward::createForDecoding,
      seed -> LlamaReference.create(UnrolledLlamaAwkward.SHAPE, seed)),
  LLAMA_MICRO(UnrolledLlamaMicro.SHAPE, UnrolledLlamaMicro::create, UnrolledLlamaMicro::createForDecoding,
      seed -> LlamaReference.create(UnrolledLlamaMicro.SHAPE, seed)),
  LLAMA_EVEN(UnrolledLlamaEven.SHAPE, UnrolledLlamaEven::create, UnrolledLlamaEven::createForDecoding,
      seed -> LlamaReference.create(UnrolledLlamaEven.SHAPE, seed));

  private final ModelShape shape;
  private final BiFunction<Backend, Long, CausalLm> factory;
  private final BiFunction<Backend, Long, CausalLm> decoding;
  private final LongFunction<CausalLm> reference;

  ModelFixtures(ModelShape shape, BiFunction<Backend, Long, CausalLm> factory,
      BiFunction<Backend, Long, CausalLm> decoding, LongFunction<CausalLm> reference) {
    this.shape = shape;
    this.factory = factory;
    this.decoding = decoding;
    this.reference = reference;
  }

  public ModelShape shape() {
    return shape;
  }

  public CausalLm create(Backend backend, long seed) {
    return factory.apply(backend, seed);
  }

  /** The same model made for decoding only ({@code createForDecoding}). */
  public CausalLm createForDecoding(Backend backend, long seed) {
    return decoding.apply(backend, seed);
  }

  /** The scalar reference model of the same family and shape, initialised from the same seed. */
  public CausalLm reference(long seed) {
    return reference.apply(seed);
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
