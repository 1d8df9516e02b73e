package dev.unroll.runtime.vit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unroll.runtime.ParamTensor;
import dev.unroll.runtime.Parameters;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class VitReferenceTest {

  /** The tiny shape of the gradient checks: 2 channels, a 4x6 grid in 2x3 patches, dim 8, 2 heads, 2 layers. */
  private static final VitShape TINY = new VitShape(2, 4, 6, 2, 3, 8, 2, 2, 3, 32, 3, false, false);

  /** The awkward shape: 3 channels, a 10x6 grid in 2x3 patches, dim 48, 3 heads, 5 classes. */
  private static final VitShape AWKWARD = VitLayoutTest.S;

  static float[] pixels(VitShape s, long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    float[] x = new float[s.batch() * s.pixels()];
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) (r.nextDouble() * 2 - 1);
    }
    return x;
  }

  static int[] labels(VitShape s, long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    int[] y = new int[s.batch()];
    for (int i = 0; i < y.length; i++) {
      y[i] = r.nextInt(s.classes());
    }
    return y;
  }

  /**
   * Parameters far from the initialisation (weights of deviation 0.3, gains near 1, biases and tokens of deviation
   * 0.3), so that every tensor's gradient is large enough for float32 differences to measure.
   */
  static void scramble(Parameters p, long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    for (ParamTensor t : p.tensors()) {
      boolean gain = t.name().endsWith("weight")
          && (t.name().startsWith("layernorm") || t.name().contains(".layernorm_"));
      for (int i = 0; i < t.size(); i++) {
        p.values()[t.offset() + i] = (float) ((gain ? 1 : 0) + 0.3 * r.nextGaussian());
      }
    }
  }

  /**
   * Central differences of the whole model's loss at up to 4 values of every tensor against backward. The loss is
   * float32 (about 1e-7 of ~1), so a step of 1e-2 gives the numeric gradient to about 1e-5, and its truncation
   * error is ~h²/6 of a third derivative; 2e-2 relative with a floor of 1e-3 of the largest gradient leaves a wide
   * margin, while a missing term, a wrong offset or a wrong sign fails by far.
   */
  @Test
  void gradientsOfEveryTensorMatchFiniteDifferences() {
    VitReference m = VitReference.create(TINY, 1);
    Parameters p = m.parameters();
    scramble(p, 2);
    float[] x = pixels(TINY, 3);
    int[] y = labels(TINY, 4);
    m.zeroGrad();
    m.forward(x, y);
    m.backward();
    float[] analytic = p.grads().clone();
    double scale = 0;
    for (float g : analytic) {
      scale = Math.max(scale, Math.abs(g));
    }
    assertTrue(scale > 1e-2, "the gradient is all but zero: " + scale);
    float h = 1e-2f;
    SplittableRandom r = new SplittableRandom(5);
    int checked = 0;
    for (ParamTensor t : p.tensors()) {
      double largest = 0;
      for (int sample = 0; sample < Math.min(4, t.size()); sample++) {
        int i = t.offset() + r.nextInt(t.size());
        float orig = p.values()[i];
        float up = orig + h;
        float down = orig - h;
        p.values()[i] = up;
        double lossUp = m.forward(x, y);
        p.values()[i] = down;
        double lossDown = m.forward(x, y);
        p.values()[i] = orig;
        double numeric = (lossUp - lossDown) / ((double) up - down);
        double g = analytic[i];
        double tol = 2e-2 * Math.max(Math.abs(g), Math.abs(numeric)) + 1e-3 * scale;
        assertEquals(numeric, g, tol, t.name() + "[" + (i - t.offset()) + "]");
        largest = Math.max(largest, Math.abs(g));
        checked++;
      }
      // A key bias adds the same score to every key of a query, which the softmax ignores: its gradient is 0.
      if (!t.name().endsWith("attention.key.bias")) {
        assertTrue(largest > 1e-2 * scale, t.name() + ": gradients too small to tell anything: " + largest);
      }
    }
    assertEquals(40, p.tensors().size());
    assertTrue(checked > 100, "checked " + checked);
  }

  /** At initialisation the logits are small (deviation ~0.02·sqrt(48) ≈ 0.14), so the loss is near ln 5. */
  @Test
  void theAwkwardShapeRunsAndStartsNearTheLogOfItsClasses() {
    VitReference m = VitReference.create(AWKWARD, 7);
    float loss = m.forward(pixels(AWKWARD, 8), labels(AWKWARD, 9));
    assertEquals(Math.log(5), loss, 0.1);
    m.zeroGrad();
    m.backward();
    Parameters p = m.parameters();
    for (ParamTensor t : p.tensors()) {
      boolean nonZero = false;
      for (int i = 0; i < t.size(); i++) {
        float g = p.grads()[t.offset() + i];
        assertTrue(Float.isFinite(g), t.name());
        nonZero |= g != 0f;
      }
      assertTrue(nonZero || t.name().endsWith("attention.key.bias"), t.name() + " has no gradient");
    }
    float[] logits = m.logits(new float[AWKWARD.batch() * 5]);
    for (float v : logits) {
      assertTrue(Float.isFinite(v) && Math.abs(v) < 1.5f, "logit " + v);
    }
  }

  /**
   * The patches and the projection are a strided convolution: out[b][p][o] = bias[o] + sum over ch, dy, dx of
   * weight[o][ch][dy][dx] · pixel[b][ch][py·PH + dy][px·PW + dx], patch p = py·(W/PW) + px.
   */
  @Test
  void patchesAndProjectionAreAStridedConvolution() {
    VitShape s = AWKWARD;
    VitReference m = VitReference.create(s, 1);
    scramble(m.parameters(), 2);
    float[] x = pixels(s, 3);
    m.forward(x, null);
    float[] w = m.parameters().values();
    int wOff = m.parameters().tensor(VitLayout.PATCH_WEIGHT).offset();
    int bOff = m.parameters().tensor(VitLayout.PATCH_BIAS).offset();
    int ch = s.channels();
    int ph = s.patchHeight();
    int pw = s.patchWidth();
    int gridW = s.width() / pw;
    float[] got = m.projections();
    for (int b = 0; b < s.batch(); b++) {
      for (int patch = 0; patch < s.patches(); patch++) {
        int py = patch / gridW;
        int px = patch % gridW;
        for (int o = 0; o < s.dim(); o++) {
          double sum = w[bOff + o];
          for (int c = 0; c < ch; c++) {
            for (int dy = 0; dy < ph; dy++) {
              for (int dx = 0; dx < pw; dx++) {
                float weight = w[wOff + ((o * ch + c) * ph + dy) * pw + dx];
                float pixel = x[((b * ch + c) * s.height() + py * ph + dy) * s.width() + px * pw + dx];
                sum += (double) weight * pixel;
              }
            }
          }
          float actual = got[(b * s.patches() + patch) * s.dim() + o];
          assertEquals(sum, actual, 1e-5 * (1 + Math.abs(sum)), "grid " + b + " patch " + patch + " out " + o);
        }
      }
    }
  }

  @Test
  void badInputsAreRejectedAndLeaveTheLastStepIntact() {
    VitShape s = TINY;
    VitReference m = VitReference.create(s, 3);
    assertThrows(IllegalStateException.class, () -> m.logits(new float[9]));
    assertThrows(IllegalStateException.class, m::backward);
    float[] x = pixels(s, 1);
    int[] y = labels(s, 2);
    float loss = m.forward(x, y);
    float[] logits = m.logits(new float[9]);
    float[] embeddings = m.embeddings(new float[s.batch() * s.dim()]);

    float[] nan = x.clone();
    nan[17] = Float.NaN;
    assertMessage(() -> m.forward(nan, y), "pixels[17] = NaN is not finite");
    float[] infinite = x.clone();
    infinite[0] = Float.POSITIVE_INFINITY;
    assertMessage(() -> m.forward(infinite, y), "pixels[0] = Infinity is not finite");
    assertMessage(() -> m.forward(Arrays.copyOf(x, x.length - 1), y), "pixels has length 143");
    assertMessage(() -> m.forward(x, new int[] {0, 3, 1}), "labels[1] = 3 is outside the classes [0, 3)");
    assertMessage(() -> m.forward(x, new int[] {0, -1, 1}), "labels[1] = -1");
    assertMessage(() -> m.forward(x, new int[] {0, 1}), "labels");
    assertThrows(IllegalArgumentException.class, () -> m.logits(new float[8]));

    assertArrayEquals(logits, m.logits(new float[9]));
    assertArrayEquals(embeddings, m.embeddings(new float[s.batch() * s.dim()]));
    m.zeroGrad();
    m.backward(); // the step before the bad inputs still has its loss
    float[] grads = m.parameters().grads().clone();
    assertEquals(loss, m.forward(x, y));
    m.zeroGrad();
    m.backward();
    assertArrayEquals(grads, m.parameters().grads());

    m.forward(x, null);
    assertThrows(IllegalStateException.class, m::backward, "no labels, no loss to differentiate");
  }

  /** Class-token pooling takes position 0 of the final LayerNorm's output, mean pooling averages all T. */
  @Test
  void embeddingsPoolTheLastHiddenStatesByHand() {
    VitShape s = AWKWARD;
    VitReference cls = VitReference.create(s, 5);
    VitReference mean = VitReference.create(withPooling(s, true, false), 5);
    VitReference unit = VitReference.create(withPooling(s, true, true), 5);
    float[] x = pixels(s, 6);
    int c = s.dim();
    int t = s.context();
    float[] e = cls.embed(x, new float[s.batch() * c]);
    float[] hidden = cls.hidden();
    float[] logits = cls.logits(new float[s.batch() * s.classes()]);
    float[] w = cls.parameters().values();
    int wc = cls.parameters().tensor("classifier.weight").offset();
    int bc = cls.parameters().tensor("classifier.bias").offset();
    for (int b = 0; b < s.batch(); b++) {
      assertArrayEquals(Arrays.copyOfRange(hidden, b * t * c, b * t * c + c), Arrays.copyOfRange(e, b * c, b * c + c));
      for (int k = 0; k < s.classes(); k++) {
        double z = w[bc + k]; // the head reads the same row
        for (int i = 0; i < c; i++) {
          z += (double) w[wc + k * c + i] * e[b * c + i];
        }
        assertEquals(z, logits[b * s.classes() + k], 1e-5);
      }
    }
    float[] m = mean.embed(x, new float[s.batch() * c]);
    float[] u = unit.embed(x, new float[s.batch() * c]);
    assertArrayEquals(hidden, mean.hidden(), "same seed, same pixels, same hidden states");
    for (int b = 0; b < s.batch(); b++) {
      double norm = 0;
      for (int i = 0; i < c; i++) {
        double sum = 0;
        for (int p = 0; p < t; p++) {
          sum += hidden[(b * t + p) * c + i];
        }
        assertEquals(sum / t, m[b * c + i], 1e-6, "mean of row " + b + " [" + i + "]");
        norm += (double) m[b * c + i] * m[b * c + i];
      }
      double len = 0;
      for (int i = 0; i < c; i++) {
        assertEquals(m[b * c + i] / Math.sqrt(norm), u[b * c + i], 1e-6);
        len += (double) u[b * c + i] * u[b * c + i];
      }
      assertEquals(1, len, 1e-6);
    }
  }

  private static VitShape withPooling(VitShape s, boolean mean, boolean normalize) {
    return new VitShape(s.channels(), s.height(), s.width(), s.patchHeight(), s.patchWidth(), s.dim(), s.heads(),
        s.layers(), s.batch(), s.hidden(), s.classes(), mean, normalize);
  }

  private static void assertMessage(org.junit.jupiter.api.function.Executable call, String fragment) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
    assertTrue(e.getMessage().contains(fragment), () -> "\"" + fragment + "\" not in: " + e.getMessage());
  }
}
