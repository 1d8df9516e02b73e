package dev.unroll.runtime.scalar;

import static dev.unroll.runtime.scalar.KernelTesting.PAD;
import static dev.unroll.runtime.scalar.KernelTesting.assertPadded;
import static dev.unroll.runtime.scalar.KernelTesting.random;
import static dev.unroll.runtime.scalar.KernelTesting.zeros;
import static dev.unroll.runtime.scalar.ScalarKernelsGradientTest.added;
import static dev.unroll.runtime.scalar.ScalarKernelsGradientTest.checkGradient;
import static dev.unroll.runtime.scalar.ScalarKernelsGradientTest.dotLoss;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import java.util.function.DoubleSupplier;
import org.junit.jupiter.api.Test;

/**
 * The LLAMA-family kernels of {@link ScalarKernels} (grouped-query attention, RMSNorm, RoPE, SwiGLU): forward
 * values against the formulas in double, backward ones against central differences (as in
 * {@link ScalarKernelsGradientTest}, gradient buffers starting random so accumulation is checked).
 */
class LlamaKernelsTest {

  private static final ScalarKernels K = ScalarKernels.INSTANCE;

  /** As in {@link ScalarKernelsForwardTest}: float rounding over short sums stays far below 1e-5. */
  private static final double TOL = 1e-5;

  private static void assertNear(String what, double expected, float actual, double scale) {
    assertTrue(Math.abs(actual - expected) <= TOL * scale, what + ": expected " + expected + ", got " + actual);
  }

  @Test
  void gqaAttentionIsCausalSoftmaxWithSharedKeysAndValues() {
    SplittableRandom rnd = new SplittableRandom(21);
    int B = 2;
    int T = 5;
    int NH = 6;
    int KVH = 2;
    int hs = 3;
    int R = (NH + 2 * KVH) * hs;
    int C = NH * hs;
    float[] qkv = random(rnd, B * T * R, -2, 2);
    float[] out = zeros(B * T * C);
    float[] preatt = random(rnd, B * NH * T * T, 5, 6); // garbage above the diagonal must become 0
    float[] att = random(rnd, B * NH * T * T, 5, 6);
    K.attentionForwardGqa(out, PAD, preatt, PAD, att, PAD, qkv, PAD, B, T, NH, KVH, hs);
    for (int b = 0; b < B; b++) {
      for (int h = 0; h < NH; h++) {
        int kvh = h / (NH / KVH); // heads 0..2 read kv head 0, heads 3..5 kv head 1
        for (int t = 0; t < T; t++) {
          double[] score = new double[t + 1];
          double max = Double.NEGATIVE_INFINITY;
          for (int t2 = 0; t2 <= t; t2++) {
            double s = 0;
            for (int i = 0; i < hs; i++) {
              s += (double) qkv[PAD + (b * T + t) * R + h * hs + i] * qkv[PAD + (b * T + t2) * R + C + kvh * hs + i];
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
              expected += Math.exp(score[t2] - max) / sum
                  * qkv[PAD + (b * T + t2) * R + C + KVH * hs + kvh * hs + i];
            }
            assertNear("out", expected, out[PAD + (b * T + t) * C + h * hs + i], 2);
          }
        }
      }
    }
    assertPadded("out", out);
    assertPadded("preatt", preatt);
    assertPadded("att", att);
  }

  @Test
  void gqaWithAsManyKvHeadsAsHeadsIsGpt2Attention() {
    SplittableRandom rnd = new SplittableRandom(22);
    int B = 2;
    int T = 6;
    int NH = 3;
    int hs = 4;
    int C = NH * hs;
    float[] qkv = random(rnd, B * T * 3 * C, -2, 2);
    float[][] out = {zeros(B * T * C), zeros(B * T * C)};
    float[][] preatt = {zeros(B * NH * T * T), zeros(B * NH * T * T)};
    float[][] att = {zeros(B * NH * T * T), zeros(B * NH * T * T)};
    K.attentionForward(out[0], PAD, preatt[0], PAD, att[0], PAD, qkv, PAD, B, T, C, NH);
    K.attentionForwardGqa(out[1], PAD, preatt[1], PAD, att[1], PAD, qkv, PAD, B, T, NH, NH, hs);
    assertBits("out", out[0], out[1]);
    assertBits("att", att[0], att[1]);
    float[] dout = random(rnd, B * T * C, -1, 1);
    float[][] dqkv = {random(new SplittableRandom(1), B * T * 3 * C, -1, 1), null};
    dqkv[1] = dqkv[0].clone();
    float[][] dpre = {zeros(B * NH * T * T), zeros(B * NH * T * T)};
    float[][] datt = {zeros(B * NH * T * T), zeros(B * NH * T * T)};
    K.attentionBackward(dqkv[0], PAD, dpre[0], PAD, datt[0], PAD, dout, PAD, qkv, PAD, att[0], PAD, B, T, C, NH);
    K.attentionBackwardGqa(dqkv[1], PAD, dpre[1], PAD, datt[1], PAD, dout, PAD, qkv, PAD, att[1], PAD, B, T, NH, NH,
        hs);
    assertBits("dqkv", dqkv[0], dqkv[1]);
  }

  private static void assertBits(String what, float[] expected, float[] actual) {
    for (int i = 0; i < expected.length; i++) {
      assertEquals(Float.floatToRawIntBits(expected[i]), Float.floatToRawIntBits(actual[i]), what + "[" + i + "]");
    }
  }

  @Test
  void rmsnormScalesByTheRootMeanSquare() {
    SplittableRandom rnd = new SplittableRandom(23);
    int N = 3;
    int C = 10;
    float[] inp = random(rnd, N * C, -1, 3);
    float[] weight = random(rnd, C, 0.5, 1.5);
    float[] out = zeros(N * C);
    float[] rstd = zeros(N);
    K.rmsnormForward(out, PAD, rstd, PAD, inp, PAD, weight, PAD, N, C);
    for (int n = 0; n < N; n++) {
      double ss = 0;
      for (int i = 0; i < C; i++) {
        ss += (double) inp[PAD + n * C + i] * inp[PAD + n * C + i];
      }
      double r = 1 / Math.sqrt(ss / C + 1e-5);
      assertNear("rstd", r, rstd[PAD + n], r);
      for (int i = 0; i < C; i++) {
        assertNear("out", inp[PAD + n * C + i] * r * weight[PAD + i], out[PAD + n * C + i], 3);
      }
    }
    assertPadded("out", out);
    assertPadded("rstd", rstd);
  }

  @Test
  void ropeRotatesPairsByPositionTimesFrequency() {
    SplittableRandom rnd = new SplittableRandom(24);
    int T = 7;
    int B = 2;
    int hs = 6;
    int width = 12; // two heads
    int stride = 17; // rows wider than what is rotated: the rest stays
    float[] x0 = random(rnd, B * T * stride, -1, 1);
    float[] x = x0.clone();
    int pos0 = 3;
    K.rope(x, PAD, B * T, stride, width, hs, T, pos0, +1);
    for (int r = 0; r < B * T; r++) {
      int pos = pos0 + r % T;
      for (int i = 0; i < stride; i++) {
        int at = PAD + r * stride + i;
        if (i >= width) {
          assertEquals(x0[at], x[at], "beyond width");
        } else if (i % 2 == 0) {
          double angle = pos * Math.pow(10000, -(double) (i % hs) / hs);
          double v0 = x0[at];
          double v1 = x0[at + 1];
          assertNear("x[" + r + "," + i + "]", v0 * Math.cos(angle) - v1 * Math.sin(angle), x[at], 1);
          assertNear("x[" + r + "," + (i + 1) + "]", v0 * Math.sin(angle) + v1 * Math.cos(angle), x[at + 1], 1);
        }
      }
    }
    K.rope(x, PAD, B * T, stride, width, hs, T, pos0, -1);
    for (int i = PAD; i < x.length - PAD; i++) {
      assertNear("rotated back [" + (i - PAD) + "]", x0[i], x[i], 1);
    }
    assertPadded("x", x);
  }

  @Test
  void swigluIsSiluOfGateTimesUp() {
    SplittableRandom rnd = new SplittableRandom(25);
    int N = 23;
    float[] gate = random(rnd, N, -6, 6);
    float[] up = random(rnd, N, -2, 2);
    float[] out = zeros(N);
    K.swigluForward(out, PAD, gate, PAD, up, PAD, N);
    for (int i = 0; i < N; i++) {
      double g = gate[PAD + i];
      assertNear("out", g / (1 + Math.exp(-g)) * up[PAD + i], out[PAD + i], 12);
    }
    assertPadded("out", out);
  }

  // -------------------------------------------------------------------------------------------------------------
  // gradients

  @Test
  void gqaAttentionGradient() {
    SplittableRandom rnd = new SplittableRandom(26);
    int B = 2;
    int T = 4;
    int NH = 4;
    int KVH = 2;
    int hs = 3;
    int R = (NH + 2 * KVH) * hs;
    int C = NH * hs;
    float[] qkv = random(rnd, B * T * R, -2, 2);
    float[] r = random(rnd, B * T * C, -1, 1);
    float[] out = zeros(B * T * C);
    float[] preatt = zeros(B * NH * T * T);
    float[] att = zeros(B * NH * T * T);
    DoubleSupplier loss = () -> {
      K.attentionForwardGqa(out, PAD, preatt, PAD, att, PAD, qkv, PAD, B, T, NH, KVH, hs);
      return dotLoss(out, r);
    };
    loss.getAsDouble();
    float[] dqkv0 = random(rnd, B * T * R, -1, 1);
    float[] dqkv = dqkv0.clone();
    float[] dpreatt = zeros(B * NH * T * T);
    float[] datt = zeros(B * NH * T * T);
    K.attentionBackwardGqa(dqkv, PAD, dpreatt, PAD, datt, PAD, r, PAD, qkv, PAD, att, PAD, B, T, NH, KVH, hs);
    checkGradient("dqkv", qkv, added(dqkv, dqkv0), loss);
  }

  @Test
  void rmsnormGradient() {
    SplittableRandom rnd = new SplittableRandom(27);
    int N = 4;
    int C = 7;
    float[] inp = random(rnd, N * C, -1.5, 2.5);
    float[] weight = random(rnd, C, 0.5, 1.5);
    float[] r = random(rnd, N * C, -1, 1);
    float[] out = zeros(N * C);
    float[] rstd = zeros(N);
    DoubleSupplier loss = () -> {
      K.rmsnormForward(out, PAD, rstd, PAD, inp, PAD, weight, PAD, N, C);
      return dotLoss(out, r);
    };
    loss.getAsDouble();
    float[] dinp0 = random(rnd, N * C, -1, 1);
    float[] dweight0 = random(rnd, C, -1, 1);
    float[] dinp = dinp0.clone();
    float[] dweight = dweight0.clone();
    K.rmsnormBackward(dinp, PAD, dweight, PAD, r, PAD, inp, PAD, weight, PAD, rstd, PAD, N, C);
    checkGradient("dinp", inp, added(dinp, dinp0), loss);
    checkGradient("dweight", weight, added(dweight, dweight0), loss);
  }

  @Test
  void ropeGradientIsTheRotationBack() {
    SplittableRandom rnd = new SplittableRandom(28);
    int T = 5;
    int rows = 2 * T;
    int hs = 4;
    int width = 8;
    int stride = 10;
    float[] x = random(rnd, rows * stride, -1, 1);
    float[] r = random(rnd, rows * stride, -1, 1);
    float[] rotated = zeros(rows * stride);
    DoubleSupplier loss = () -> {
      System.arraycopy(x, 0, rotated, 0, x.length);
      K.rope(rotated, PAD, rows, stride, width, hs, T, 2, +1);
      return dotLoss(rotated, r);
    };
    float[] dx = r.clone(); // in place, as a generated backward runs it on the gradient of q and k
    K.rope(dx, PAD, rows, stride, width, hs, T, 2, -1);
    double[] g = new double[rows * stride];
    for (int i = 0; i < g.length; i++) {
      g[i] = dx[PAD + i];
    }
    checkGradient("dx", x, g, loss);
  }

  @Test
  void swigluGradient() {
    SplittableRandom rnd = new SplittableRandom(29);
    int N = 23;
    float[] gate = random(rnd, N, -4, 4);
    float[] up = random(rnd, N, -2, 2);
    float[] r = random(rnd, N, -1, 1);
    float[] out = zeros(N);
    DoubleSupplier loss = () -> {
      K.swigluForward(out, PAD, gate, PAD, up, PAD, N);
      return dotLoss(out, r);
    };
    float[] dgate0 = random(rnd, N, -1, 1);
    float[] dup0 = random(rnd, N, -1, 1);
    float[] dgate = dgate0.clone();
    float[] dup = dup0.clone();
    K.swigluBackward(dgate, PAD, dup, PAD, r, PAD, gate, PAD, up, PAD, N);
    checkGradient("dgate", gate, added(dgate, dgate0), loss);
    checkGradient("dup", up, added(dup, dup0), loss);
  }
}
