package dev.unroll.processor.models;

import dev.unroll.runtime.Backend;
import dev.unroll.runtime.Encoder;
import dev.unroll.runtime.EncoderShape;
import dev.unroll.runtime.ImageEncoder;
import dev.unroll.runtime.TextEncoder;
import dev.unroll.runtime.bert.BertReference;
import dev.unroll.runtime.vit.VitReference;
import java.util.SplittableRandom;
import java.util.function.BiFunction;
import java.util.function.LongFunction;

/**
 * The generated test encoders, by name, with their scalar references and random steps for them: for BERT, rows of
 * the fixture's lengths (their padding random too), random token types where the model has them; for ViT, grids of
 * random floats.
 */
public enum EncoderFixtures {
  BERT_AWKWARD(UnrolledBertAwkward.SHAPE, UnrolledBertAwkward::create,
      seed -> BertReference.create(UnrolledBertAwkward.SHAPE, seed), new int[] {13, 7, 1}),
  BERT_MICRO(UnrolledBertMicro.SHAPE, UnrolledBertMicro::create,
      seed -> BertReference.create(UnrolledBertMicro.SHAPE, seed), new int[] {5, 3, 1}),
  VIT_AWKWARD(UnrolledVitAwkward.SHAPE, UnrolledVitAwkward::create,
      seed -> VitReference.create(UnrolledVitAwkward.SHAPE, seed), null),
  VIT_MICRO(UnrolledVitMicro.SHAPE, UnrolledVitMicro::create,
      seed -> VitReference.create(UnrolledVitMicro.SHAPE, seed), null);

  private final EncoderShape shape;
  private final BiFunction<Backend, Long, Encoder> factory;
  private final LongFunction<Encoder> reference;
  private final int[] lengths;

  EncoderFixtures(EncoderShape shape, BiFunction<Backend, Long, Encoder> factory, LongFunction<Encoder> reference,
      int[] lengths) {
    this.shape = shape;
    this.factory = factory;
    this.reference = reference;
    this.lengths = lengths;
  }

  public EncoderShape shape() {
    return shape;
  }

  /** Whether the model reads token ids (BERT) rather than grids (ViT). */
  public boolean text() {
    return lengths != null;
  }

  public Encoder create(Backend backend, long seed) {
    return factory.apply(backend, seed);
  }

  /** The scalar reference model of the same family and shape, initialised from the same seed. */
  public Encoder reference(long seed) {
    return reference.apply(seed);
  }

  /** The rows' lengths (BERT), a copy. */
  public int[] lengths() {
    return lengths.clone();
  }

  /** A step's inputs from {@code seed}, the padding random too. */
  public Inputs inputs(long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    if (!text()) {
      float[] pixels = new float[shape.batch() * ((dev.unroll.runtime.vit.VitShape) shape).pixels()];
      for (int i = 0; i < pixels.length; i++) {
        pixels[i] = (float) r.nextGaussian();
      }
      return new Inputs(null, null, null, pixels);
    }
    int n = shape.batch() * shape.context();
    int[] tokens = new int[n];
    int[] types = null;
    int typeVocab = ((dev.unroll.runtime.bert.BertShape) shape).typeVocab();
    if (typeVocab > 0) {
      types = new int[n];
    }
    for (int i = 0; i < n; i++) {
      tokens[i] = r.nextInt(shape.vocab());
      if (types != null) {
        types[i] = r.nextInt(typeVocab);
      }
    }
    return new Inputs(tokens, types, lengths(), null);
  }

  /** {@code batch} random labels. */
  public int[] labels(long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    int[] labels = new int[shape.batch()];
    for (int b = 0; b < labels.length; b++) {
      labels[b] = r.nextInt(shape.classes());
    }
    return labels;
  }

  /** One step's inputs: token ids, types (or null) and lengths for BERT; grids for ViT. */
  public record Inputs(int[] tokens, int[] types, int[] lengths, float[] pixels) {
    /** Runs {@code model} on these inputs ({@code labels} null: logits only). */
    public float forward(Encoder model, int[] labels) {
      return pixels != null ? ((ImageEncoder) model).forward(pixels, labels)
          : ((TextEncoder) model).forward(tokens, types, lengths, labels);
    }
  }
}
