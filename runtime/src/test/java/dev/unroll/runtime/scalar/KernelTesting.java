package dev.unroll.runtime.scalar;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
}
