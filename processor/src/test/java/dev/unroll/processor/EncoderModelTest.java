package dev.unroll.processor;

import static dev.unroll.processor.WholeModelTest.ADAM_TOLERANCE;
import static dev.unroll.processor.WholeModelTest.SIMD_TOLERANCE;
import static dev.unroll.processor.WholeModelTest.assertClose;
import static dev.unroll.processor.WholeModelTest.slice;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unroll.processor.models.EncoderFixtures;
import dev.unroll.runtime.AdamW;
import dev.unroll.runtime.Backend;
import dev.unroll.runtime.Encoder;
import dev.unroll.runtime.ParamTensor;
import dev.unroll.runtime.TextEncoder;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Generated encoders (BERT, ViT) against the runtime's scalar references, on whole models, as
 * {@link WholeModelTest} does for decoders: loss, logits, embeddings, every parameter gradient, and the parameters
 * after two AdamW steps; SCALAR bit for bit, SIMD and OPENCL within the same tolerances. Beside them: the padding of
 * BERT's rows changes nothing, every tensor's gradient agrees with finite differences, and bad input is a clear
 * error that leaves the model as it was.
 */
class EncoderModelTest {

  @ParameterizedTest
  @EnumSource(EncoderFixtures.class)
  void scalarMatchesReferenceExactly(EncoderFixtures fixture) {
    compare(fixture, Backend.SCALAR, 0f, 0f, 1e-8f);
  }

  @ParameterizedTest
  @EnumSource(EncoderFixtures.class)
  void simdMatchesReference(EncoderFixtures fixture) {
    compare(fixture, Backend.SIMD, SIMD_TOLERANCE, ADAM_TOLERANCE, 1e-4f);
  }

  @ParameterizedTest
  @EnumSource(EncoderFixtures.class)
  void openClMatchesReference(EncoderFixtures fixture) {
    OpenClRule.assumeUsable(Backend.OPENCL);
    compare(fixture, Backend.OPENCL, SIMD_TOLERANCE, ADAM_TOLERANCE, 1e-4f);
  }

  private static void compare(EncoderFixtures fixture, Backend backend, float tol, float adamTol, float eps) {
    Encoder model = fixture.create(backend, 42);
    Encoder ref = fixture.reference(42);
    assertEquals(ref.parameters().tensors(), model.parameters().tensors(), "parameter layout");
    assertArrayEquals(ref.parameters().values(), model.parameters().values(), "initialisation");
    var shape = fixture.shape();
    EncoderFixtures.Inputs in = fixture.inputs(1);
    int[] labels = fixture.labels(2);

    float loss = in.forward(model, labels);
    float refLoss = in.forward(ref, labels);
    assertClose("loss", new float[] {refLoss}, new float[] {loss}, tol);
    assertTrue(Math.abs(refLoss - Math.log(shape.classes())) < 0.5, "initial loss near ln(classes): " + refLoss);
    int k = shape.batch() * shape.classes();
    assertClose("logits", ref.logits(new float[k]), model.logits(new float[k]), tol);
    int e = shape.batch() * shape.dim();
    assertClose("embeddings", ref.embeddings(new float[e]), model.embeddings(new float[e]), tol);

    model.zeroGrad();
    model.backward();
    ref.zeroGrad();
    ref.backward();
    float largest = maxAbs(ref.parameters().grads());
    for (ParamTensor t : ref.parameters().tensors()) {
      float[] want = slice(ref.parameters().grads(), t);
      float[] got = slice(model.parameters().grads(), t);
      if (zeroGradient(t)) {
        // rounding noise on both sides, which no tolerance relative to the noise itself can compare
        assertTrue(maxAbs(want) <= 1e-6f * largest && maxAbs(got) <= 1e-6f * largest,
            t.name() + ": want a gradient at rounding level, got " + maxAbs(got) + " and " + maxAbs(want)
                + " against the largest " + largest);
      } else {
        assertClose("gradient of " + t.name(), want, got, tol);
      }
    }

    AdamW opt = AdamW.of(model).lr(1e-3f).eps(eps).weightDecay(0.1f).clipGradNorm(1f);
    AdamW refOpt = AdamW.of(ref).lr(1e-3f).eps(eps).weightDecay(0.1f).clipGradNorm(1f);
    opt.step();
    refOpt.step();
    in.forward(model, labels);
    model.zeroGrad();
    model.backward();
    opt.step();
    in.forward(ref, labels);
    ref.zeroGrad();
    ref.backward();
    refOpt.step();
    for (ParamTensor t : ref.parameters().tensors()) {
      float[] w = slice(ref.parameters().values(), t);
      float[] g = slice(model.parameters().values(), t);
      if (adamTol == 0f) {
        assertArrayEquals(w, g, t.name() + " after two AdamW steps");
      } else {
        for (int i = 0; i < w.length; i++) {
          assertEquals(w[i], g[i], adamTol, t.name() + "[" + i + "] after two AdamW steps");
        }
      }
    }
  }

  /**
   * Whether {@code t}'s gradient is zero in exact arithmetic: the key bias adds q·b to every score of a query's
   * row, which the softmax cancels (Hugging Face's models have the same), so what is computed is rounding noise.
   */
  static boolean zeroGradient(ParamTensor t) {
    return t.name().endsWith("key.bias");
  }

  static float maxAbs(float[] values) {
    float m = 0f;
    for (float v : values) {
      m = Math.max(m, Math.abs(v));
    }
    return m;
  }

  /**
   * Rows shorter than the context: whatever the padding holds (random tokens and types here), the loss, the logits,
   * the embeddings and every gradient are the same bits.
   */
  @ParameterizedTest
  @EnumSource(value = Backend.class)
  void paddingChangesNothing(Backend backend) {
    OpenClRule.assumeUsable(backend);
    EncoderFixtures fixture = EncoderFixtures.BERT_AWKWARD;
    TextEncoder model = (TextEncoder) fixture.create(backend, 5);
    EncoderFixtures.Inputs in = fixture.inputs(1);
    int[] labels = fixture.labels(2);
    var shape = fixture.shape();
    float[][] first = run(model, in.tokens(), in.types(), in.lengths(), labels);
    int[] tokens = in.tokens().clone();
    int[] types = in.types().clone();
    SplittableRandom r = new SplittableRandom(99);
    int[] lengths = in.lengths();
    for (int b = 0; b < shape.batch(); b++) {
      for (int t = lengths[b]; t < shape.context(); t++) {
        tokens[b * shape.context() + t] = r.nextInt(shape.vocab());
        types[b * shape.context() + t] = r.nextInt(2);
      }
    }
    assertTrue(!java.util.Arrays.equals(tokens, in.tokens()), "the padding changed");
    float[][] second = run(model, tokens, types, lengths, labels);
    for (int i = 0; i < first.length; i++) {
      assertArrayEquals(first[i], second[i], "loss, logits, embeddings, gradients [" + i + "]");
    }
    // padding may even be out of the vocabulary: it is not read
    int[] wild = tokens.clone();
    wild[shape.context() * 3 - 1] = -7;
    float[][] third = run(model, wild, types, lengths, labels);
    assertArrayEquals(first[0], third[0], "loss with an out-of-range padding token");
  }

  private static float[][] run(TextEncoder model, int[] tokens, int[] types, int[] lengths, int[] labels) {
    var shape = model.shape();
    float loss = model.forward(tokens, types, lengths, labels);
    float[] logits = model.logits(new float[shape.batch() * shape.classes()]);
    float[] embeddings = model.embeddings(new float[shape.batch() * shape.dim()]);
    model.zeroGrad();
    model.backward();
    return new float[][] {{loss}, logits, embeddings, model.parameters().grads().clone()};
  }

  /**
   * The generated backward against central finite differences of the generated forward, on the micro encoders,
   * for every parameter tensor, along a random direction and along the gradient's own.
   */
  @ParameterizedTest
  @EnumSource(value = EncoderFixtures.class, names = {"BERT_MICRO", "VIT_MICRO"})
  void everyParameterTensorMatchesFiniteDifferences(EncoderFixtures fixture) {
    Encoder model = fixture.create(Backend.SCALAR, 7);
    EncoderFixtures.Inputs in = fixture.inputs(3);
    int[] labels = fixture.labels(4);
    float[] p = model.parameters().values();
    SplittableRandom r = new SplittableRandom(11);
    for (int i = 0; i < p.length; i++) {
      p[i] += (float) (r.nextGaussian() * 0.2);
    }
    in.forward(model, labels);
    model.zeroGrad();
    model.backward();
    float[] g = model.parameters().grads().clone();
    float largest = maxAbs(g);
    for (ParamTensor t : model.parameters().tensors()) {
      if (zeroGradient(t)) {
        // zero in exact arithmetic; a difference quotient would measure only the loss's rounding
        assertTrue(maxAbs(slice(g, t)) <= 1e-6f * largest, t.name() + ": " + maxAbs(slice(g, t)));
        continue;
      }
      double[] random = new double[t.size()];
      double[] along = new double[t.size()];
      for (int i = 0; i < t.size(); i++) {
        random[i] = r.nextGaussian();
        along[i] = g[t.offset() + i];
      }
      check(model, in, labels, t, g, random, "a random direction");
      check(model, in, labels, t, g, along, "the gradient's direction");
    }
  }

  private static void check(Encoder model, EncoderFixtures.Inputs in, int[] labels, ParamTensor t, float[] g,
      double[] u, String what) {
    double norm = 0;
    for (double v : u) {
      norm += v * v;
    }
    norm = Math.sqrt(norm);
    assertTrue(norm > 0, t.name() + " has an all-zero gradient");
    double analytic = 0;
    for (int i = 0; i < u.length; i++) {
      u[i] /= norm;
      analytic += g[t.offset() + i] * u[i];
    }
    float h = 1e-2f;
    double numeric = (4 * difference(model, in, labels, t, u, h / 2) - difference(model, in, labels, t, u, h)) / 3;
    assertTrue(Math.abs(numeric - analytic) <= 1e-3 * Math.abs(numeric) + 5e-5,
        t.name() + " along " + what + ": analytic " + analytic + " vs finite difference " + numeric);
  }

  private static double difference(Encoder model, EncoderFixtures.Inputs in, int[] labels, ParamTensor t,
      double[] u, float h) {
    float[] p = model.parameters().values();
    int n = u.length;
    float[] saved = new float[n];
    System.arraycopy(p, t.offset(), saved, 0, n);
    for (int i = 0; i < n; i++) {
      p[t.offset() + i] = (float) (saved[i] + h * u[i]);
    }
    double plus = in.forward(model, labels);
    for (int i = 0; i < n; i++) {
      p[t.offset() + i] = (float) (saved[i] - h * u[i]);
    }
    double minus = in.forward(model, labels);
    System.arraycopy(saved, 0, p, t.offset(), n);
    return (plus - minus) / (2 * h);
  }

  @ParameterizedTest
  @EnumSource(Backend.class)
  void badInputIsAClearErrorAndChangesNothing(Backend backend) {
    OpenClRule.assumeUsable(backend);
    EncoderFixtures fixture = EncoderFixtures.BERT_AWKWARD;
    TextEncoder model = (TextEncoder) fixture.create(backend, 3);
    EncoderFixtures.Inputs in = fixture.inputs(1);
    int[] labels = fixture.labels(2);
    float loss = in.forward(model, labels);

    int[] bad = in.tokens().clone();
    bad[13 + 4] = 101;
    var e = assertThrows(IllegalArgumentException.class,
        () -> model.forward(bad, in.types(), in.lengths(), labels));
    assertEquals("tokens[17] (row 1, position 4) = 101 is outside [0, 101)", e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> model.forward(in.tokens(), in.types(), new int[] {13, 0, 1}, labels));
    assertTrue(e.getMessage().startsWith("lengths[1] = 0 is outside [1, 13]"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> model.forward(in.tokens(), in.types(), new int[] {14, 1, 1}, labels));
    assertTrue(e.getMessage().startsWith("lengths[0] = 14"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> model.forward(in.tokens(), in.types(), in.lengths(), new int[] {0, 3, 1}));
    assertEquals("labels[1] = 3 is outside the classes [0, 3)", e.getMessage());
    int[] badTypes = in.types().clone();
    badTypes[0] = 2;
    e = assertThrows(IllegalArgumentException.class,
        () -> model.forward(in.tokens(), badTypes, in.lengths(), labels));
    assertTrue(e.getMessage().startsWith("types[0] (row 0, position 0) = 2 is outside [0, 2)"), e.getMessage());
    assertThrows(NullPointerException.class, () -> model.forward(null, null, in.lengths(), labels));

    // the failed calls left the last good forward in place
    model.zeroGrad();
    model.backward();
    Encoder twin = fixture.create(backend, 3);
    assertEquals(loss, in.forward(twin, labels));
    twin.zeroGrad();
    twin.backward();
    assertArrayEquals(twin.parameters().grads(), model.parameters().grads());
  }

  @ParameterizedTest
  @EnumSource(Backend.class)
  void imagesAreChecked(Backend backend) {
    OpenClRule.assumeUsable(backend);
    EncoderFixtures fixture = EncoderFixtures.VIT_AWKWARD;
    var model = (dev.unroll.runtime.ImageEncoder) fixture.create(backend, 3);
    float[] pixels = fixture.inputs(1).pixels();
    assertThrows(IllegalStateException.class, () -> model.logits(new float[10]), "nothing before a forward");
    assertThrows(IllegalStateException.class, model::backward);
    assertTrue(Float.isNaN(model.forward(pixels, null)));
    assertThrows(IllegalStateException.class, model::backward, "no labels, no backward");
    assertThrows(IllegalArgumentException.class, () -> model.logits(new float[9]));
    model.logits(new float[10]);
    float[] nan = pixels.clone();
    nan[7] = Float.NaN;
    var e = assertThrows(IllegalArgumentException.class, () -> model.forward(nan, null));
    assertEquals("pixels[7] = NaN is not finite", e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> model.forward(new float[5], null));
    assertEquals("pixels has length 5; this model takes batch * channels * height * width = 360 floats per step",
        e.getMessage());
  }
}
