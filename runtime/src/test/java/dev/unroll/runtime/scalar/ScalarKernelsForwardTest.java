package dev.unroll.runtime.scalar;

import static dev.unroll.runtime.scalar.KernelTesting.PAD;
import static dev.unroll.runtime.scalar.KernelTesting.random;
import static dev.unroll.runtime.scalar.KernelTesting.tokens;
import static dev.unroll.runtime.scalar.KernelTesting.zeros;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The forward kernels of {@link ScalarKernels} against the formulas written out in double. The gradient test
 * proves the backward kernels agree with these forward ones; this proves the forward ones compute what the
 * contract says. Float results carry ~1e-7 relative rounding per operation over short sums, hence 1e-5.
 */
class ScalarKernelsForwardTest {

  private static final ScalarKernels K = ScalarKernels.INSTANCE;

  private static final double TOL = 1e-5;

  private static void assertNear(String what, double expected, float actual, double scale) {
    assertTrue(Math.abs(actual - expected) <= TOL * scale, what + ": expected " + expected + ", got " + actual);
  }

  @Test
  void encoderAddsTokenAndPositionEmbeddings() {
    SplittableRandom rnd = new SplittableRandom(11);
    int B = 2;
    int T = 3;
    int C = 4;
    int V = 5;
    int[] inp = tokens(rnd, B * T, V);
    float[] wte = random(rnd, V * C, -1, 1);
    float[] wpe = random(rnd, T * C, -1, 1);
    float[] out = zeros(B * T * C);
    K.encoderForward(out, PAD, inp, wte, PAD, wpe, PAD, B, T, C);
    for (int b = 0; b < B; b++) {
      for (int t = 0; t < T; t++) {
        for (int i = 0; i < C; i++) {
          float expected = wte[PAD + inp[b * T + t] * C + i] + wpe[PAD + t * C + i];
          assertEquals(expected, out[PAD + (b * T + t) * C + i]);
        }
      }
    }
    KernelTesting.assertPadded("out", out);
  }

  @Test
  void layernormNormalisesScalesAndShifts() {
    SplittableRandom rnd = new SplittableRandom(12);
    int N = 3;
    int C = 10;
    float[] inp = random(rnd, N * C, -1, 3);
    float[] weight = random(rnd, C, 0.5, 1.5);
    float[] bias = random(rnd, C, -1, 1);
    float[] out = zeros(N * C);
    float[] mean = zeros(N);
    float[] rstd = zeros(N);
    K.layernormForward(out, PAD, mean, PAD, rstd, PAD, inp, PAD, weight, PAD, bias, PAD, N, C, 1e-5f);
    for (int n = 0; n < N; n++) {
      double m = 0;
      for (int i = 0; i < C; i++) {
        m += inp[PAD + n * C + i];
      }
      m /= C;
      double v = 0;
      for (int i = 0; i < C; i++) {
        double d = inp[PAD + n * C + i] - m;
        v += d * d;
      }
      v /= C;
      double s = 1 / Math.sqrt(v + 1e-5);
      assertNear("mean", m, mean[PAD + n], 1);
      assertNear("rstd", s, rstd[PAD + n], s);
      for (int i = 0; i < C; i++) {
        double expected = (inp[PAD + n * C + i] - m) * s * weight[PAD + i] + bias[PAD + i];
        assertNear("out", expected, out[PAD + n * C + i], 3);
      }
    }
    KernelTesting.assertPadded("out", out);
  }

  @Test
  void matmulIsBiasPlusInputTimesWeightTransposed() {
    SplittableRandom rnd = new SplittableRandom(13);
    int N = 4;
    int C = 9;
    int OC = 5;
    float[] inp = random(rnd, N * C, -1, 1);
    float[] weight = random(rnd, OC * C, -1, 1);
    float[] bias = random(rnd, OC, -1, 1);
    for (boolean withBias : new boolean[] {true, false}) {
      float[] out = zeros(N * OC);
      K.matmulForward(out, PAD, inp, PAD, weight, PAD, withBias ? bias : null, PAD, N, C, OC);
      for (int n = 0; n < N; n++) {
        for (int o = 0; o < OC; o++) {
          double expected = withBias ? bias[PAD + o] : 0;
          for (int i = 0; i < C; i++) {
            expected += (double) inp[PAD + n * C + i] * weight[PAD + o * C + i];
          }
          assertNear("out", expected, out[PAD + n * OC + o], C);
        }
      }
      KernelTesting.assertPadded("out", out);
    }
  }

  @Test
  void attentionIsCausalSoftmaxOfScaledScores() {
    SplittableRandom rnd = new SplittableRandom(14);
    int B = 2;
    int T = 5;
    int C = 8;
    int NH = 2;
    int hs = C / NH;
    float[] qkv = random(rnd, B * T * 3 * C, -2, 2);
    float[] out = zeros(B * T * C);
    // garbage in the caches, to see that what lies above the diagonal is set to 0
    float[] preatt = random(rnd, B * NH * T * T, 5, 6);
    float[] att = random(rnd, B * NH * T * T, 5, 6);
    K.attentionForward(out, PAD, preatt, PAD, att, PAD, qkv, PAD, B, T, C, NH);
    for (int b = 0; b < B; b++) {
      for (int h = 0; h < NH; h++) {
        for (int t = 0; t < T; t++) {
          double[] score = new double[t + 1];
          double max = Double.NEGATIVE_INFINITY;
          for (int t2 = 0; t2 <= t; t2++) {
            double s = 0;
            for (int i = 0; i < hs; i++) {
              s += (double) qkv[PAD + (b * T + t) * 3 * C + h * hs + i]
                  * qkv[PAD + (b * T + t2) * 3 * C + C + h * hs + i];
            }
            score[t2] = s / Math.sqrt(hs);
            max = Math.max(max, score[t2]);
          }
          double sum = 0;
          for (int t2 = 0; t2 <= t; t2++) {
            sum += Math.exp(score[t2] - max);
          }
          int row = PAD + ((b * NH + h) * T + t) * T;
          for (int t2 = 0; t2 < T; t2++) {
            if (t2 <= t) {
              assertNear("preatt", score[t2], preatt[row + t2], 4);
              assertNear("att", Math.exp(score[t2] - max) / sum, att[row + t2], 1);
            } else {
              assertEquals(0.0f, preatt[row + t2], "preatt above the diagonal");
              assertEquals(0.0f, att[row + t2], "att above the diagonal");
            }
          }
          for (int i = 0; i < hs; i++) {
            double expected = 0;
            for (int t2 = 0; t2 <= t; t2++) {
              expected += Math.exp(score[t2] - max) / sum * qkv[PAD + (b * T + t2) * 3 * C + 2 * C + h * hs + i];
            }
            assertNear("out", expected, out[PAD + (b * T + t) * C + h * hs + i], 2);
          }
        }
      }
    }
    KernelTesting.assertPadded("out", out);
    KernelTesting.assertPadded("preatt", preatt);
    KernelTesting.assertPadded("att", att);
  }

  @Test
  void geluIsTheTanhApproximation() {
    SplittableRandom rnd = new SplittableRandom(15);
    int N = 33;
    float[] inp = random(rnd, N, -5, 5);
    inp[PAD] = 1.0f;
    float[] out = zeros(N);
    K.geluForward(out, PAD, inp, PAD, N);
    assertEquals(0.841192, out[PAD], 1e-6, "gelu(1)");
    for (int i = 0; i < N; i++) {
      double x = inp[PAD + i];
      double expected = 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
      assertNear("gelu(" + x + ")", expected, out[PAD + i], Math.max(1, Math.abs(x)));
    }
    KernelTesting.assertPadded("out", out);
  }

  @Test
  void residualAdds() {
    SplittableRandom rnd = new SplittableRandom(16);
    int N = 7;
    float[] a = random(rnd, N, -1, 1);
    float[] b = random(rnd, N, -1, 1);
    float[] out = zeros(N);
    K.residualForward(out, PAD, a, PAD, b, PAD, N);
    for (int i = 0; i < N; i++) {
      assertEquals(a[PAD + i] + b[PAD + i], out[PAD + i]);
    }
  }

  @Test
  void softmaxAndCrossEntropy() {
    SplittableRandom rnd = new SplittableRandom(17);
    int N = 4;
    int V = 6;
    int Vp = 8;
    float[] logits = random(rnd, N * Vp, -3, 3);
    float[] probs = random(rnd, N * Vp, 5, 6);
    int[] targets = tokens(rnd, N, V);
    K.softmaxForward(probs, PAD, logits, PAD, N, V, Vp);
    double meanLoss = 0;
    for (int n = 0; n < N; n++) {
      double max = Double.NEGATIVE_INFINITY;
      for (int i = 0; i < V; i++) {
        max = Math.max(max, logits[PAD + n * Vp + i]);
      }
      double sum = 0;
      for (int i = 0; i < V; i++) {
        sum += Math.exp(logits[PAD + n * Vp + i] - max);
      }
      for (int i = 0; i < V; i++) {
        assertNear("probs", Math.exp(logits[PAD + n * Vp + i] - max) / sum, probs[PAD + n * Vp + i], 1);
      }
      for (int i = V; i < Vp; i++) {
        assertEquals(0.0f, probs[PAD + n * Vp + i], "padded probability");
      }
      meanLoss += -Math.log(probs[PAD + n * Vp + targets[n]]);
    }
    meanLoss /= N;
    float[] losses = zeros(N);
    float mean = K.crossEntropyForward(losses, PAD, probs, PAD, targets, N, Vp);
    for (int n = 0; n < N; n++) {
      assertNear("loss", -Math.log(probs[PAD + n * Vp + targets[n]]), losses[PAD + n], 5);
    }
    assertNear("mean loss", meanLoss, mean, 5);
    KernelTesting.assertPadded("probs", probs);
    KernelTesting.assertPadded("losses", losses);
  }

  @Test
  void zeroClearsOnlyItsRange() {
    float[] a = {1, 2, 3, 4, 5};
    K.zero(a, 1, 3);
    assertEquals(1.0f, a[0]);
    assertEquals(0.0f, a[1]);
    assertEquals(0.0f, a[3]);
    assertEquals(5.0f, a[4]);
  }
}
