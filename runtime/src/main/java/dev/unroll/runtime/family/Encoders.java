package dev.unroll.runtime.family;

/**
 * What every encoder does on the host, generated or reference: copying a step's rows with their padding made
 * harmless, and pooling the last hidden states into one vector per row. Allocates nothing.
 */
public final class Encoders {
  private Encoders() {}

  /**
   * Copies {@code batch} rows of {@code context} ints from {@code src} into {@code dst}, the positions of each row
   * past its length as 0: the kernels read every position, and the padding's values may be anything. A null
   * {@code src} (no token types) copies as all 0.
   */
  public static void copyRows(int[] src, int[] lengths, int[] dst, int batch, int context) {
    for (int b = 0; b < batch; b++) {
      int row = b * context;
      int n = lengths[b];
      if (src == null) {
        java.util.Arrays.fill(dst, row, row + context, 0);
      } else {
        System.arraycopy(src, row, dst, row, n);
        java.util.Arrays.fill(dst, row + n, row + context, 0);
      }
    }
  }

  /**
   * One vector per row from the last hidden states {@code hidden[hiddenOff..]} (batch, context, dim): the first
   * position's, or the mean over the row's first {@code lengths[b]} positions ({@code lengths} null: all of them),
   * scaled to unit length when {@code normalize} (a zero vector stays zero). dst (batch, dim).
   */
  public static void pool(float[] hidden, int hiddenOff, int[] lengths, int batch, int context, int dim,
      boolean mean, boolean normalize, float[] dst) {
    for (int b = 0; b < batch; b++) {
      int out = b * dim;
      int row = hiddenOff + b * context * dim;
      if (!mean) {
        System.arraycopy(hidden, row, dst, out, dim);
      } else {
        int n = lengths == null ? context : lengths[b];
        for (int i = 0; i < dim; i++) {
          float sum = 0f;
          for (int t = 0; t < n; t++) {
            sum += hidden[row + t * dim + i];
          }
          dst[out + i] = sum / n;
        }
      }
      if (normalize) {
        double squares = 0;
        for (int i = 0; i < dim; i++) {
          squares += (double) dst[out + i] * dst[out + i];
        }
        if (squares > 0) {
          float scale = (float) (1 / Math.sqrt(squares));
          for (int i = 0; i < dim; i++) {
            dst[out + i] *= scale;
          }
        }
      }
    }
  }
}
