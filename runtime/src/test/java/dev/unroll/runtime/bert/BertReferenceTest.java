package dev.unroll.runtime.bert;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unroll.runtime.ParamTensor;
import dev.unroll.runtime.TextEncoder;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

class BertReferenceTest {

  /** The tiny shape of the finite differences: V=11, T=5, C=8, NH=2, L=2, B=3, H=32, two token types, K=3. */
  private static final BertShape TINY = new BertShape(11, 5, 8, 2, 2, 3, 32, 2, 3, false, false);
  private static final int[] TINY_LENGTHS = {5, 3, 1};

  /** The awkward shape: V=101, T=13, C=48, NH=3 (head size 16), L=2, B=3, H=192, two types, K=3. */
  private static final BertShape AWKWARD = BertLayoutTest.TYPED;
  private static final int[] AWKWARD_LENGTHS = {13, 7, 1};

  @TempDir
  Path dir;

  // ---------------------------------------------------------------------------------------------------------
  // Gradients

  /** Step of the central differences; the loss is computed in double from the model's float logits. */
  private static final float H = 4e-2f;

  /**
   * Every tensor's gradient against central differences of the whole model's loss, at its largest entry and at
   * three random ones. Parameters are moved off their initialisation by normal(0, 0.2) noise so that every tensor's
   * gradient stands well above the float noise of the difference quotient.
   *
   * <p>Tolerance. The loss is recomputed in double from the float logits, whose rounding through the two layers
   * leaves ~1e-7 of noise in it: over steps of 2h = 8e-2 and 4e-2 that is a few 1e-6 in the Richardson extrapolation
   * (4·D(h/2) - D(h)) / 3, which removes the h² curvature term and leaves O(h⁴). (Observed: at most 2e-6 here; with
   * h four times smaller the differences grew fourfold, so they are noise, not truncation.) An entry passes when
   * |analytic - numeric| &lt;= 1e-2·max(|analytic|, |numeric|) + 1e-3·(the tensor's largest |gradient|) + 1e-5. Each
   * tensor's largest entry must be at least 1e-4 (the key bias aside, whose gradient is zero), so a wrong sign, a
   * missing term or a gradient sent to the wrong place, which moves that entry by about its own size, exceeds the
   * tolerance several times over.
   */
  @Test
  void everyTensorsGradientMatchesFiniteDifferences() {
    BertReference model = BertReference.create(TINY, 7);
    float[] p = model.parameters().values();
    SplittableRandom r = new SplittableRandom(11);
    for (int i = 0; i < p.length; i++) {
      p[i] += (float) (r.nextGaussian() * 0.2);
    }
    int[] tokens = tokens(TINY, TINY_LENGTHS, r);
    int[] types = types(TINY, TINY_LENGTHS, r);
    int[] labels = {2, 0, 1};
    model.forward(tokens, types, TINY_LENGTHS, labels);
    model.zeroGrad();
    model.backward();
    float[] g = model.parameters().grads().clone();
    Loss loss = () -> {
      model.forward(tokens, types, TINY_LENGTHS, labels);
      return crossEntropy(model.logits(new float[TINY.batch() * TINY.classes()]), labels, TINY.classes());
    };
    int tensors = 0;
    for (ParamTensor t : model.parameters().tensors()) {
      double largest = 0;
      int at = 0;
      for (int i = 0; i < t.size(); i++) {
        if (Math.abs(g[t.offset() + i]) > largest) {
          largest = Math.abs(g[t.offset() + i]);
          at = i;
        }
      }
      List<Integer> entries = new ArrayList<>(List.of(at));
      for (int j = 0; j < 3; j++) {
        entries.add(r.nextInt(t.size()));
      }
      if (t.name().endsWith("attention.self.key.bias")) {
        // q·(k + b) shifts every score of a query by the same q·b: the softmax, so the loss, cannot see it
        assertTrue(largest < 1e-6, t.name() + " should have no gradient, has " + largest);
      } else {
        assertTrue(largest > 1e-4, t.name() + ": the gradient is all but zero (" + largest + "), so the check would "
            + "prove nothing");
      }
      for (int i : entries) {
        int index = t.offset() + i;
        double numeric = (4 * difference(p, index, H / 2, loss) - difference(p, index, H, loss)) / 3;
        double analytic = g[index];
        double tolerance = 1e-2 * Math.max(Math.abs(analytic), Math.abs(numeric)) + 1e-3 * largest + 1e-5;
        assertEquals(numeric, analytic, tolerance, t.name() + "[" + i + "]");
      }
      tensors++;
    }
    assertEquals(BertLayout.tensors(TINY).size(), tensors);
  }

  @FunctionalInterface
  private interface Loss {
    double value();
  }

  /** (L(x + h) - L(x - h)) / (the step the floats really took), with p[index] restored afterwards. */
  private static double difference(float[] p, int index, float h, Loss loss) {
    float saved = p[index];
    float up = saved + h;
    float down = saved - h;
    p[index] = up;
    double plus = loss.value();
    p[index] = down;
    double minus = loss.value();
    p[index] = saved;
    return (plus - minus) / ((double) up - (double) down);
  }

  /** The mean cross-entropy of float logits (B, K), in double. */
  private static double crossEntropy(float[] logits, int[] labels, int classes) {
    double sum = 0;
    for (int b = 0; b < labels.length; b++) {
      double max = Double.NEGATIVE_INFINITY;
      for (int k = 0; k < classes; k++) {
        max = Math.max(max, logits[b * classes + k]);
      }
      double z = 0;
      for (int k = 0; k < classes; k++) {
        z += Math.exp(logits[b * classes + k] - max);
      }
      sum += max + Math.log(z) - logits[b * classes + labels[b]];
    }
    return sum / labels.length;
  }

  // ---------------------------------------------------------------------------------------------------------
  // Padding

  /**
   * Padding positions filled with random values (out of range among them, since they are not read) change
   * nothing: logits, loss, embeddings and every gradient are the same bits as with zeros there.
   */
  @Test
  void paddingPositionsChangeNothing() {
    for (BertShape s : List.of(AWKWARD, new BertShape(101, 13, 48, 3, 2, 3, 192, 2, 3, true, true))) {
      SplittableRandom r = new SplittableRandom(5);
      int[] tokens = tokens(s, AWKWARD_LENGTHS, r);
      int[] types = types(s, AWKWARD_LENGTHS, r);
      int[] labels = {1, 2, 0};
      int[] noisyTokens = tokens.clone();
      int[] noisyTypes = types.clone();
      for (int b = 0; b < s.batch(); b++) {
        for (int t = AWKWARD_LENGTHS[b]; t < s.context(); t++) {
          noisyTokens[b * s.context() + t] = r.nextInt(-1000, 1000);
          noisyTypes[b * s.context() + t] = r.nextInt(-5, 5);
        }
      }
      BertReference clean = BertReference.create(s, 3);
      BertReference noisy = BertReference.create(s, 3);
      float cleanLoss = step(clean, tokens, types, AWKWARD_LENGTHS, labels);
      float noisyLoss = step(noisy, noisyTokens, noisyTypes, AWKWARD_LENGTHS, labels);
      assertEquals(Float.floatToRawIntBits(cleanLoss), Float.floatToRawIntBits(noisyLoss), "loss");
      int bk = s.batch() * s.classes();
      assertArrayEquals(clean.logits(new float[bk]), noisy.logits(new float[bk]), "logits");
      int bc = s.batch() * s.dim();
      assertArrayEquals(clean.embeddings(new float[bc]), noisy.embeddings(new float[bc]), "embeddings");
      assertArrayEquals(clean.parameters().grads(), noisy.parameters().grads(), "gradients");
    }
  }

  /**
   * The attention mask by hand, through the whole model: a row of length n gives the logits that the same row gives
   * as the only content of a model of context n (its weights those of the long model, the position table's first
   * n rows), where nothing is masked. Each row alone, so rows do not see each other either.
   */
  @Test
  void aRowComputesWhatItComputesAloneAtItsOwnLength() throws IOException {
    BertReference longModel = BertReference.create(AWKWARD, 13);
    Path path = dir.resolve("long.safetensors");
    longModel.save(path);
    SplittableRandom r = new SplittableRandom(17);
    int[] tokens = tokens(AWKWARD, AWKWARD_LENGTHS, r);
    int[] types = types(AWKWARD, AWKWARD_LENGTHS, r);
    longModel.forward(tokens, types, AWKWARD_LENGTHS, null);
    int k = AWKWARD.classes();
    float[] logits = longModel.logits(new float[AWKWARD.batch() * k]);
    for (int row = 0; row < AWKWARD.batch(); row++) {
      int n = AWKWARD_LENGTHS[row];
      BertShape shortShape = new BertShape(101, n, 48, 3, 2, 3, 192, 2, 3, false, false);
      BertReference shortModel = BertReference.load(shortShape, path);
      int[] rowTokens = new int[3 * n];
      int[] rowTypes = new int[3 * n];
      for (int b = 0; b < 3; b++) {
        System.arraycopy(tokens, row * AWKWARD.context(), rowTokens, b * n, n);
        System.arraycopy(types, row * AWKWARD.context(), rowTypes, b * n, n);
      }
      shortModel.forward(rowTokens, rowTypes, new int[] {n, n, n}, null);
      float[] alone = shortModel.logits(new float[3 * k]);
      for (int j = 0; j < k; j++) {
        // the same sums in the same order: the same bits
        assertEquals(logits[row * k + j], alone[j], 0f, "row " + row + " of length " + n + ", class " + j);
      }
    }
  }

  // ---------------------------------------------------------------------------------------------------------
  // The awkward shape

  @Test
  void theAwkwardShapeTrainsFromALossNearLnOfTheClasses() {
    BertReference model = BertReference.create(AWKWARD, 1);
    SplittableRandom r = new SplittableRandom(2);
    int[] tokens = tokens(AWKWARD, AWKWARD_LENGTHS, r);
    int[] types = types(AWKWARD, AWKWARD_LENGTHS, r);
    int[] labels = {0, 2, 1};
    float loss = step(model, tokens, types, AWKWARD_LENGTHS, labels);
    // At initialisation the logits are ~0.02·sqrt(48)·tanh(~0.14) ≈ 0.02 in size, so each row's cross-entropy is
    // within a few hundredths of ln 3 (it moves by at most the spread of the row's logits).
    float[] logits = model.logits(new float[9]);
    double spread = 0;
    for (int b = 0; b < 3; b++) {
      for (int i = 0; i < 3; i++) {
        for (int j = 0; j < 3; j++) {
          spread = Math.max(spread, logits[b * 3 + i] - logits[b * 3 + j]);
        }
      }
    }
    assertTrue(spread > 0 && spread < 0.1, "spread of the logits at initialisation: " + spread);
    assertEquals(Math.log(3), loss, spread, "loss at initialisation");
    for (ParamTensor t : model.parameters().tensors()) {
      double norm = 0;
      for (int i = 0; i < t.size(); i++) {
        float v = model.parameters().grads()[t.offset() + i];
        assertTrue(Float.isFinite(v), t.name());
        norm += (double) v * v;
      }
      assertTrue(t.name().endsWith("key.bias") ? norm < 1e-20 : norm > 0, t.name() + " gradient norm² " + norm);
    }
    // the gradient points downhill at the rate it claims: a step of -ε·g lowers the loss by ε·|g|² to first order
    float[] p = model.parameters().values();
    float[] g = model.parameters().grads();
    double squares = 0;
    for (float v : g) {
      squares += (double) v * v;
    }
    double epsilon = 1e-3 / squares; // a drop of 1e-3: ~10⁴ times the loss's float rounding
    for (int j = 0; j < p.length; j++) {
      p[j] -= (float) (epsilon * g[j]);
    }
    float next = model.forward(tokens, types, AWKWARD_LENGTHS, labels);
    assertEquals(1e-3, loss - next, 1e-4, "the loss's drop along the gradient");
  }

  // ---------------------------------------------------------------------------------------------------------
  // Bad input

  @Test
  void badInputIsRefusedAndLeavesTheLastStepIntact() {
    BertReference model = BertReference.create(AWKWARD, 4);
    SplittableRandom r = new SplittableRandom(6);
    int[] tokens = tokens(AWKWARD, AWKWARD_LENGTHS, r);
    int[] types = types(AWKWARD, AWKWARD_LENGTHS, r);
    int[] lengths = AWKWARD_LENGTHS.clone();
    int[] labels = {2, 1, 0};
    float loss = model.forward(tokens, types, lengths, labels);
    float[] logits = model.logits(new float[9]);
    float[] embeddings = model.embeddings(new float[3 * 48]);
    float[] values = model.parameters().values().clone();

    int[] shortTokens = new int[38];
    int[] badToken = tokens.clone();
    badToken[13 + 6] = 101; // row 1's last valid position
    int[] negativeToken = tokens.clone();
    negativeToken[26] = -1;
    int[] badType = types.clone();
    badType[3] = 2;
    refused(() -> model.forward(shortTokens, types, lengths, labels), "tokens has length 38",
        "batch * context = 3 * 13 = 39");
    refused(() -> model.forward(badToken, types, lengths, labels), "tokens[19] (row 1, position 6) = 101",
        "outside [0, 101)");
    refused(() -> model.forward(negativeToken, types, lengths, labels), "tokens[26] (row 2, position 0) = -1");
    refused(() -> model.forward(tokens, badType, lengths, labels), "types[3] (row 0, position 3) = 2",
        "outside [0, 2)");
    refused(() -> model.forward(tokens, types, new int[] {13, 7}, labels), "lengths has length 2");
    refused(() -> model.forward(tokens, types, new int[] {13, 0, 1}, labels), "lengths[1] = 0",
        "outside [1, 13]");
    refused(() -> model.forward(tokens, types, new int[] {13, 14, 1}, labels), "lengths[1] = 14");
    refused(() -> model.forward(tokens, types, lengths, new int[] {2, 3, 0}), "labels[1] = 3",
        "outside the classes [0, 3)");
    refused(() -> model.forward(tokens, types, lengths, new int[] {2, -1, 0}), "labels[1] = -1");
    refused(() -> model.forward(tokens, types, lengths, new int[] {2, 1}), "labels has length 2");
    assertThrows(NullPointerException.class, () -> model.forward(null, types, lengths, labels));
    assertThrows(NullPointerException.class, () -> model.forward(tokens, types, null, labels));

    assertArrayEquals(logits, model.logits(new float[9]), "logits after refused calls");
    assertArrayEquals(embeddings, model.embeddings(new float[3 * 48]), "embeddings after refused calls");
    assertArrayEquals(values, model.parameters().values());
    refused(() -> model.logits(new float[8]), "dst has length 8", "need 9 floats");
    refused(() -> model.embeddings(new float[3 * 48 - 1]), "need 144 floats");
    // backward still belongs to the good step: the same gradients as a fresh model's after that step
    model.zeroGrad();
    model.backward();
    BertReference fresh = BertReference.create(AWKWARD, 4);
    assertEquals(loss, fresh.forward(tokens, types, lengths, labels));
    fresh.zeroGrad();
    fresh.backward();
    assertArrayEquals(fresh.parameters().grads(), model.parameters().grads());
  }

  @Test
  void typesForAModelWithoutThemAreRefused() {
    BertReference model = BertReference.create(BertLayoutTest.UNTYPED, 4);
    int[] tokens = tokens(BertLayoutTest.UNTYPED, AWKWARD_LENGTHS, new SplittableRandom(1));
    refused(() -> model.forward(tokens, new int[39], AWKWARD_LENGTHS, null), "typeVocab = 0", "pass null");
    assertTrue(Float.isNaN(model.forward(tokens, AWKWARD_LENGTHS, null)));
  }

  @Test
  void nothingToReadOrDifferentiateBeforeTheRightForward() {
    BertReference model = BertReference.create(AWKWARD, 4);
    assertThrows(IllegalStateException.class, () -> model.logits(new float[9]));
    assertThrows(IllegalStateException.class, () -> model.embeddings(new float[144]));
    assertThrows(IllegalStateException.class, model::backward);
    int[] tokens = tokens(AWKWARD, AWKWARD_LENGTHS, new SplittableRandom(1));
    assertTrue(Float.isNaN(model.forward(tokens, null, AWKWARD_LENGTHS, null)), "no labels, no loss");
    model.logits(new float[9]);
    float[] grads = model.parameters().grads().clone();
    assertThrows(IllegalStateException.class, model::backward, "backward after a forward without labels");
    assertArrayEquals(grads, model.parameters().grads());
  }

  // ---------------------------------------------------------------------------------------------------------
  // Embeddings

  @Test
  void embeddingsPoolTheLastHiddenStatesAsCompiled() {
    SplittableRandom r = new SplittableRandom(8);
    int[] tokens = tokens(AWKWARD, AWKWARD_LENGTHS, r);
    int[] types = types(AWKWARD, AWKWARD_LENGTHS, r);
    int c = AWKWARD.dim();
    int t = AWKWARD.context();
    for (boolean mean : new boolean[] {false, true}) {
      float[] raw = null;
      for (boolean normalize : new boolean[] {false, true}) {
        BertShape s = new BertShape(101, 13, 48, 3, 2, 3, 192, 2, 3, mean, normalize);
        BertReference model = BertReference.create(s, 2);
        float[] got = model.embed(tokens, types, AWKWARD_LENGTHS, new float[3 * c]);
        float[] hidden = model.hidden();
        if (!normalize) {
          raw = new float[3 * c];
          for (int b = 0; b < 3; b++) {
            for (int i = 0; i < c; i++) {
              double sum = 0;
              int n = mean ? AWKWARD_LENGTHS[b] : 1;
              for (int p = 0; p < n; p++) {
                sum += hidden[(b * t + p) * c + i];
              }
              raw[b * c + i] = (float) (sum / n);
            }
          }
          // the mean's float sum differs from this double one in the last bits only
          assertArrayEquals(raw, got, mean ? 1e-6f : 0f, "pooling " + (mean ? "mean" : "first"));
        } else {
          for (int b = 0; b < 3; b++) {
            double norm = 0;
            double rawNorm = 0;
            for (int i = 0; i < c; i++) {
              norm += (double) got[b * c + i] * got[b * c + i];
              rawNorm += (double) raw[b * c + i] * raw[b * c + i];
            }
            assertEquals(1, Math.sqrt(norm), 1e-6, "row " + b + " has unit length");
            for (int i = 0; i < c; i++) {
              assertEquals(raw[b * c + i] / Math.sqrt(rawNorm), got[b * c + i], 1e-6, "row " + b + " direction");
            }
          }
        }
      }
    }
  }

  // ---------------------------------------------------------------------------------------------------------
  // Checkpoints and the family

  @Test
  void aSavedModelLoadsAndComputesTheSame() throws IOException {
    BertReference model = BertReference.create(AWKWARD, 21);
    Path path = dir.resolve("model.safetensors");
    model.save(path);
    BertReference loaded = BertReference.load(AWKWARD, path);
    assertArrayEquals(model.parameters().values(), loaded.parameters().values());
    SplittableRandom r = new SplittableRandom(3);
    int[] tokens = tokens(AWKWARD, AWKWARD_LENGTHS, r);
    int[] labels = {1, 1, 0};
    assertEquals(model.forward(tokens, AWKWARD_LENGTHS, labels), loaded.forward(tokens, AWKWARD_LENGTHS, labels));
  }

  @Test
  void theFamilyIsTheseClasses() {
    assertEquals("BERT", BertFamily.FAMILY.name());
    assertEquals(BertLayout.tensors(AWKWARD), BertFamily.FAMILY.tensors(AWKWARD));
    TextEncoder reference = BertFamily.FAMILY.reference(AWKWARD, 9);
    assertSame(BertReference.class, reference.getClass());
    assertArrayEquals(BertReference.create(AWKWARD, 9).parameters().values(), reference.parameters().values());
    assertSame(AWKWARD, reference.shape());
  }

  // ---------------------------------------------------------------------------------------------------------
  // Helpers

  /** forward with labels, zeroGrad, backward; returns the loss. */
  private static float step(TextEncoder model, int[] tokens, int[] types, int[] lengths, int[] labels) {
    float loss = model.forward(tokens, types, lengths, labels);
    model.zeroGrad();
    model.backward();
    return loss;
  }

  /** Random tokens in the rows' valid positions, 0 in the padding. */
  private static int[] tokens(BertShape s, int[] lengths, SplittableRandom r) {
    return rows(s, lengths, r, s.vocab());
  }

  private static int[] types(BertShape s, int[] lengths, SplittableRandom r) {
    return rows(s, lengths, r, s.typeVocab());
  }

  private static int[] rows(BertShape s, int[] lengths, SplittableRandom r, int bound) {
    int[] x = new int[s.batch() * s.context()];
    for (int b = 0; b < s.batch(); b++) {
      for (int t = 0; t < lengths[b]; t++) {
        x[b * s.context() + t] = r.nextInt(bound);
      }
    }
    return x;
  }

  /** Expects an IllegalArgumentException whose message has every fragment. */
  private static void refused(Executable call, String... fragments) {
    String m = assertThrows(IllegalArgumentException.class, call).getMessage();
    for (String f : fragments) {
      assertTrue(m.contains(f), () -> "message lacks \"" + f + "\": " + m);
    }
  }
}
