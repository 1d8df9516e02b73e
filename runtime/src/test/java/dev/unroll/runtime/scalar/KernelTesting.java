package dev.unroll.runtime.scalar;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unroll.runtime.kernel.Kernels;
import java.util.SplittableRandom;

/**
 * Test buffers for kernels. Every tensor lives at offset {@link #PAD} of an array with {@link #PAD} NaNs on each
 * side, so a kernel that ignores an offset, reads outside its tensor or writes outside it shows up as a NaN in
 * its results or as a changed pad.
 */
public final class KernelTesting {

  /** Floats of NaN before and after every tensor; odd, so tensors are never vector-aligned. */
  public static final int PAD = 3;

  private KernelTesting() {}

  /** A padded tensor of n floats drawn uniformly from [lo, hi). */
  public static float[] random(SplittableRandom rnd, int n, double lo, double hi) {
    float[] a = zeros(n);
    for (int i = 0; i < n; i++) {
      a[PAD + i] = (float) (lo + (hi - lo) * rnd.nextDouble());
    }
    return a;
  }

  /** A padded tensor of n zeros. */
  public static float[] zeros(int n) {
    float[] a = new float[n + 2 * PAD];
    for (int i = 0; i < PAD; i++) {
      a[i] = Float.NaN;
      a[PAD + n + i] = Float.NaN;
    }
    return a;
  }

  /** n token ids in [0, V). */
  public static int[] tokens(SplittableRandom rnd, int n, int V) {
    int[] t = new int[n];
    for (int i = 0; i < n; i++) {
      t[i] = rnd.nextInt(V);
    }
    return t;
  }

  /** Fails unless the pads around a padded tensor are still NaN and its n values are all finite. */
  public static void assertPadded(String what, float[] a) {
    int n = a.length - 2 * PAD;
    for (int i = 0; i < PAD; i++) {
      assertTrue(Float.isNaN(a[i]) && Float.isNaN(a[PAD + n + i]), what + ": wrote outside its tensor");
    }
    for (int i = 0; i < n; i++) {
      assertTrue(Float.isFinite(a[PAD + i]), what + "[" + i + "] = " + a[PAD + i]);
    }
  }

  /**
   * Fails unless max|actual - expected| &lt;= tol · max|expected| over the tensors' values (pads excluded; both
   * must be intact).
   */
  public static void assertClose(String what, float[] expected, float[] actual, double tol) {
    assertEquals(expected.length, actual.length, what + ": lengths");
    assertPadded(what + " (expected)", expected);
    assertPadded(what + " (actual)", actual);
    double maxDiff = 0;
    double scale = 0;
    int worst = -1;
    for (int i = PAD; i < expected.length - PAD; i++) {
      double d = Math.abs((double) actual[i] - expected[i]);
      if (d > maxDiff) {
        maxDiff = d;
        worst = i - PAD;
      }
      scale = Math.max(scale, Math.abs(expected[i]));
    }
    double err = maxDiff / (scale + 1e-6);
    assertTrue(err <= tol, what + ": relative error " + err + " > " + tol + " at [" + worst + "] (expected "
        + (worst < 0 ? 0 : expected[worst + PAD]) + ", got " + (worst < 0 ? 0 : actual[worst + PAD]) + ")");
  }

  /**
   * Runs {@code k}'s bidirectional attention forward and backward (B = 3, T = 13, C = 48, NH = 3, lengths 13, 7
   * and 1) twice, the second time with other random values in every padded position's q, k and v (and in dout
   * there), and checks that out at the valid positions, preatt, att, and dqkv at the valid positions come out bit
   * for bit the same, and that the padded positions' dqkv receives nothing.
   */
  public static void assertAttentionPaddingIgnored(Kernels k) {
    int B = 3;
    int T = 13;
    int C = 48;
    int NH = 3;
    int[] lengths = {13, 7, 1};
    SplittableRandom rnd = new SplittableRandom(22);
    float[] qkv = random(rnd, B * T * 3 * C, -2, 2);
    float[] dout = random(rnd, B * T * C, -1, 1);
    float[] dqkv0 = random(rnd, B * T * 3 * C, -1, 1);
    float[][] outs = new float[2][];
    float[][] preatts = new float[2][];
    float[][] atts = new float[2][];
    float[][] dqkvs = new float[2][];
    for (int run = 0; run < 2; run++) {
      if (run == 1) {
        for (int b = 0; b < B; b++) {
          for (int t = lengths[b]; t < T; t++) {
            for (int i = 0; i < 3 * C; i++) {
              qkv[PAD + (b * T + t) * 3 * C + i] = (float) rnd.nextDouble(-50, 50);
            }
            for (int i = 0; i < C; i++) {
              dout[PAD + (b * T + t) * C + i] = (float) rnd.nextDouble(-50, 50);
            }
          }
        }
      }
      outs[run] = zeros(B * T * C);
      preatts[run] = zeros(B * NH * T * T);
      atts[run] = zeros(B * NH * T * T);
      dqkvs[run] = dqkv0.clone();
      k.attentionForwardBidirectional(outs[run], PAD, preatts[run], PAD, atts[run], PAD, qkv, PAD, lengths, B, T, C,
          NH);
      k.attentionBackwardBidirectional(dqkvs[run], PAD, zeros(B * NH * T * T), PAD, zeros(B * NH * T * T), PAD, dout,
          PAD, qkv, PAD, atts[run], PAD, lengths, B, T, C, NH);
    }
    for (int b = 0; b < B; b++) {
      for (int t = 0; t < T; t++) {
        boolean valid = t < lengths[b];
        for (int i = 0; i < C; i++) {
          int o = PAD + (b * T + t) * C + i;
          assertEquals(outs[0][o], outs[1][o], "out[" + b + "," + t + "," + i + "]");
        }
        for (int i = 0; i < 3 * C; i++) {
          int d = PAD + (b * T + t) * 3 * C + i;
          if (valid) {
            assertEquals(dqkvs[0][d], dqkvs[1][d], "dqkv[" + b + "," + t + "," + i + "]");
          } else {
            assertEquals(dqkv0[d], dqkvs[1][d], "a padded position's dqkv[" + b + "," + t + "," + i + "] changed");
          }
        }
      }
    }
    for (int i = 0; i < preatts[0].length; i++) {
      assertEquals(Float.floatToIntBits(preatts[0][i]), Float.floatToIntBits(preatts[1][i]), "preatt " + i);
      assertEquals(Float.floatToIntBits(atts[0][i]), Float.floatToIntBits(atts[1][i]), "att " + i);
    }
    // and the valid positions' gradients are not trivially unchanged: the backward did add to them
    boolean moved = false;
    for (int i = PAD; i < PAD + T * 3 * C; i++) {
      moved |= dqkvs[0][i] != dqkv0[i];
    }
    assertTrue(moved, "the backward added nothing to the full row's dqkv");
  }
}
