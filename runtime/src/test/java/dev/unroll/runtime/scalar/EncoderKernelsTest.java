package dev.unroll.runtime.scalar;

import static dev.unroll.runtime.scalar.KernelTesting.PAD;
import static dev.unroll.runtime.scalar.KernelTesting.assertPadded;
import static dev.unroll.runtime.scalar.KernelTesting.random;
import static dev.unroll.runtime.scalar.KernelTesting.zeros;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The encoders' forward kernels of {@link ScalarKernels} against their definitions written out in double (the
 * gradient test proves the backward kernels agree with them): bidirectional attention with a padding mask, the
 * exact GELU, tanh, patches and the class token; and that the padding of a row changes nothing in its valid
 * outputs or gradients. The shapes are BERT's awkward test shape (T = 13, lengths 13, 7 and 1, C = 48, NH = 3) and
 * ViT's (a 3-channel 10 by 6 grid in 2 by 3 patches).
 */
class EncoderKernelsTest {

  private static final ScalarKernels K = ScalarKernels.INSTANCE;

  private static final int B = 3;
  private static final int T = 13;
  private static final int C = 48;
  private static final int NH = 3;
  private static final int[] LENGTHS = {13, 7, 1};

  /** Float results of short sums and one exp per term: a few 1e-7 relative. */
  private static final double TOL = 1e-5;

  @Test
  void bidirectionalAttentionIsTheMaskedSoftmaxOfAllValidKeys() {
    SplittableRandom rnd = new SplittableRandom(21);
    int hs = C / NH;
    float[] qkv = random(rnd, B * T * 3 * C, -2, 2);
    float[] out = random(rnd, B * T * C, 5, 6); // garbage: every element must be written
    float[] preatt = random(rnd, B * NH * T * T, 5, 6);
    float[] att = random(rnd, B * NH * T * T, 5, 6);
    K.attentionForwardBidirectional(out, PAD, preatt, PAD, att, PAD, qkv, PAD, LENGTHS, B, T, C, NH);
    double scale = 1.0 / Math.sqrt(hs);
    for (int b = 0; b < B; b++) {
      int n = LENGTHS[b];
      for (int h = 0; h < NH; h++) {
        for (int t = 0; t < T; t++) {
          int row = PAD + ((b * NH + h) * T + t) * T;
          int y = PAD + (b * T + t) * C + h * hs;
          if (t >= n) {
            for (int j = 0; j < T; j++) {
              assertEquals(0.0f, preatt[row + j], "padded query row's preatt");
              assertEquals(0.0f, att[row + j], "padded query row's att");
            }
            for (int i = 0; i < hs; i++) {
              assertEquals(0.0f, out[y + i], "padded query row's out");
            }
            continue;
          }
          double[] scores = new double[n];
          double max = Double.NEGATIVE_INFINITY;
          for (int j = 0; j < n; j++) {
            double s = 0;
            for (int i = 0; i < hs; i++) {
              int q = PAD + (b * T + t) * 3 * C + h * hs + i;
              s += (double) qkv[q] * qkv[PAD + (b * T + j) * 3 * C + C + h * hs + i];
            }
            scores[j] = s * scale;
            max = Math.max(max, scores[j]);
          }
          double sum = 0;
          for (int j = 0; j < n; j++) {
            sum += Math.exp(scores[j] - max);
          }
          for (int j = 0; j < T; j++) {
            if (j < n) {
              assertNear("preatt", scores[j], preatt[row + j], 1);
              assertNear("att", Math.exp(scores[j] - max) / sum, att[row + j], 1);
            } else {
              assertEquals(0.0f, preatt[row + j], "masked key's preatt");
              assertEquals(0.0f, att[row + j], "masked key's att");
            }
          }
          for (int i = 0; i < hs; i++) {
            double o = 0;
            for (int j = 0; j < n; j++) {
              o += Math.exp(scores[j] - max) / sum * qkv[PAD + (b * T + j) * 3 * C + 2 * C + h * hs + i];
            }
            assertNear("out", o, out[y + i], 2);
          }
        }
      }
    }
    assertPadded("out", out);
    assertPadded("preatt", preatt);
    assertPadded("att", att);
  }

  @Test
  void paddingChangesNothingInTheValidOutputsAndGradients() {
    KernelTesting.assertAttentionPaddingIgnored(K);
  }

  @Test
  void exactGeluIsXTimesTheNormalDistribution() {
    float[] inp = zeros(9);
    float[] xs = {-10f, -3f, -1f, -0.5f, 0f, 0.5f, 1f, 3f, 10f};
    System.arraycopy(xs, 0, inp, PAD, xs.length);
    // x·Φ(x) from Φ's published values (to 16 digits)
    double[] cdf = {7.619853024160527e-24, 0.0013498980316300946, 0.15865525393145705, 0.3085375387259869, 0.5,
        0.6914624612740131, 0.8413447460685429, 0.9986501019683699, 1.0};
    float[] out = zeros(9);
    K.geluErfForward(out, PAD, inp, PAD, 9);
    for (int i = 0; i < 9; i++) {
      assertEquals((float) (xs[i] * cdf[i]), out[PAD + i], "gelu(" + xs[i] + ")");
    }
    // the gradient Φ(x) + x·φ(x) at 0 and 1: 0.5, and 0.8413447460685429 + 0.24197072451914337
    float[] dinp = zeros(9);
    float[] dout = zeros(9);
    java.util.Arrays.fill(dout, PAD, PAD + 9, 1f);
    K.geluErfBackward(dinp, PAD, inp, PAD, dout, PAD, 9);
    assertEquals(0.5f, dinp[PAD + 4]);
    assertEquals((float) (0.8413447460685429 + 0.24197072451914337), dinp[PAD + 6]);
    assertPadded("dinp", dinp);
  }

  @Test
  void tanhForwardAndBackward() {
    SplittableRandom rnd = new SplittableRandom(23);
    int n = 29;
    float[] inp = random(rnd, n, -4, 4);
    float[] out = zeros(n);
    K.tanhForward(out, PAD, inp, PAD, n);
    float[] dout = random(rnd, n, -1, 1);
    float[] dinp0 = random(rnd, n, -1, 1);
    float[] dinp = dinp0.clone();
    K.tanhBackward(dinp, PAD, out, PAD, dout, PAD, n);
    for (int i = PAD; i < PAD + n; i++) {
      assertEquals((float) Math.tanh(inp[i]), out[i]);
      double t = Math.tanh(inp[i]);
      assertNear("dinp", dinp0[i] + dout[i] * (1 - t * t), dinp[i], 1);
    }
  }

  /** ViT's awkward shape: 3 channels of 10 by 6 in patches of 2 by 3, so 5 by 2 = 10 patches of 18 floats. */
  @Test
  void patchesAreConvolutionWindowsInWeightOrder() {
    int b = 2;
    int ch = 3;
    int h = 10;
    int w = 6;
    int ph = 2;
    int pw = 3;
    int np = (h / ph) * (w / pw);
    int k = ch * ph * pw;
    float[] pixels = zeros(b * ch * h * w);
    for (int i = 0; i < b * ch * h * w; i++) {
      pixels[PAD + i] = i; // each pixel its own index, exact in float
    }
    float[] out = random(new SplittableRandom(24), b * np * k, 5, 6);
    K.patches(out, PAD, pixels, PAD, b, ch, h, w, ph, pw);
    for (int bb = 0; bb < b; bb++) {
      for (int py = 0; py < h / ph; py++) {
        for (int px = 0; px < w / pw; px++) {
          int p = py * (w / pw) + px;
          for (int c = 0; c < ch; c++) {
            for (int dy = 0; dy < ph; dy++) {
              for (int dx = 0; dx < pw; dx++) {
                int pixel = ((bb * ch + c) * h + py * ph + dy) * w + px * pw + dx;
                int at = (bb * np + p) * k + (c * ph + dy) * pw + dx;
                assertEquals(pixel, out[PAD + at], "patch " + p + " of image " + bb);
              }
            }
          }
        }
      }
    }
    assertPadded("out", out);
  }

  @Test
  void classTokenLeadsThePatchesAndPositionsAddUp() {
    SplittableRandom rnd = new SplittableRandom(25);
    int b = 2;
    int np = 10;
    int c = 7;
    float[] patches = random(rnd, b * np * c, -1, 1);
    float[] cls = random(rnd, c, -1, 1);
    float[] pos = random(rnd, (np + 1) * c, -1, 1);
    float[] out = random(rnd, b * (np + 1) * c, 5, 6);
    K.classTokenForward(out, PAD, patches, PAD, cls, PAD, pos, PAD, b, np, c);
    for (int bb = 0; bb < b; bb++) {
      for (int i = 0; i < c; i++) {
        assertEquals(cls[PAD + i] + pos[PAD + i], out[PAD + bb * (np + 1) * c + i]);
        for (int p = 0; p < np; p++) {
          assertEquals(patches[PAD + (bb * np + p) * c + i] + pos[PAD + (1 + p) * c + i],
              out[PAD + (bb * (np + 1) + 1 + p) * c + i]);
        }
      }
    }
    assertPadded("out", out);
  }

  private static void assertNear(String what, double expected, float actual, double scale) {
    assertTrue(Math.abs(actual - expected) <= TOL * scale, what + ": expected " + expected + ", got " + actual);
  }
}
