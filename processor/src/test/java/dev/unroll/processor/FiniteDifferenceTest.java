package dev.unroll.processor;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unroll.processor.models.ModelFixtures;
import dev.unroll.runtime.Backend;
import dev.unroll.runtime.CausalLm;
import dev.unroll.runtime.ParamTensor;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The generated backward pass against central finite differences of the generated forward, on the micro models.
 * For each parameter tensor we take two unit directions u inside that tensor, a random one and the gradient's
 * own, and compare the directional derivative g·u with (L(p + εu) - L(p - εu)) / 2ε. A wrong or missing gradient in any tensor moves g·u by the
 * size of that tensor's gradient, far beyond the float noise of the difference quotient.
 */
class FiniteDifferenceTest {
  private static final float EPS = 1e-2f;

  @ParameterizedTest
  @EnumSource(value = ModelFixtures.class, names = {"MICRO", "LLAMA_MICRO"})
  void everyParameterTensorMatchesFiniteDifferences(ModelFixtures fixture) {
    CausalLm model = fixture.create(Backend.SCALAR, 7);
    int[] x = fixture.tokens(3);
    int[] y = fixture.tokens(4);
    // Make the gradients larger than at initialisation, so every tensor's gradient stands well above noise.
    float[] p = model.parameters().values();
    SplittableRandom r = new SplittableRandom(11);
    for (int i = 0; i < p.length; i++) {
      p[i] += (float) (r.nextGaussian() * 0.2);
    }
    model.forward(x, y);
    model.zeroGrad();
    model.backward();
    float[] g = model.parameters().grads().clone();
    var shape = fixture.shape();
    for (ParamTensor t : model.parameters().tensors()) {
      boolean vocabRows = t.name().equals("wte.weight") || t.name().equals("model.embed_tokens.weight")
          || t.name().equals("lm_head.weight");
      int n = vocabRows ? shape.vocab() * shape.dim() : t.size();
      double[] random = new double[n];
      double[] along = new double[n];
      for (int i = 0; i < n; i++) {
        random[i] = r.nextGaussian();
        along[i] = g[t.offset() + i];
      }
      check(model, x, y, t, g, random, "a random direction");
      check(model, x, y, t, g, along, "the gradient's direction");
    }
  }

  /** Compares g·u with the central difference of the loss along u (normalised to unit length) inside t. */
  private static void check(CausalLm model, int[] x, int[] y, ParamTensor t, float[] g, double[] u, String what) {
    int n = u.length;
    double norm = 0;
    for (double v : u) {
      norm += v * v;
    }
    norm = Math.sqrt(norm);
    assertTrue(norm > 0, t.name() + " has an all-zero gradient");
    double analytic = 0;
    for (int i = 0; i < n; i++) {
      u[i] /= norm;
      analytic += g[t.offset() + i] * u[i];
    }
    // Richardson extrapolation: D(h) = g·u + c·h² + O(h⁴), so (4·D(h/2) - D(h)) / 3 cancels the curvature term,
    // which at h = 1e-2 is ~1e-4 here (RMSNorm of 8-wide rows bends sharply).
    double numeric = (4 * difference(model, x, y, t, u, EPS / 2) - difference(model, x, y, t, u, EPS)) / 3;
    // Float rounding of the loss (~1e-7) over 2h gives ~1e-5 of noise; observed agreement is of that order.
    assertTrue(Math.abs(numeric - analytic) <= 1e-3 * Math.abs(numeric) + 5e-5,
        t.name() + " along " + what + ": analytic " + analytic + " vs finite difference " + numeric);
  }

  /** (L(p + h·u) - L(p - h·u)) / 2h, with the parameters of t restored afterwards. */
  private static double difference(CausalLm model, int[] x, int[] y, ParamTensor t, double[] u, float h) {
    float[] p = model.parameters().values();
    int n = u.length;
    float[] saved = new float[n];
    System.arraycopy(p, t.offset(), saved, 0, n);
    for (int i = 0; i < n; i++) {
      p[t.offset() + i] = (float) (saved[i] + h * u[i]);
    }
    double plus = model.forward(x, y);
    for (int i = 0; i < n; i++) {
      p[t.offset() + i] = (float) (saved[i] - h * u[i]);
    }
    double minus = model.forward(x, y);
    System.arraycopy(saved, 0, p, t.offset(), n);
    return (plus - minus) / (2 * h);
  }
}
