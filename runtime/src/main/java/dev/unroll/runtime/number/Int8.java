package dev.unroll.runtime.number;

import dev.unroll.runtime.check.Checks;

/**
 * Weight-only int8 quantization in groups: each run of {@link #GROUP} consecutive floats of a flat array shares one
 * float scale, and each float becomes the nearest of {@code -127 .. 127} times that scale. A quarter of the bytes of
 * float32 and half of bfloat16, so that decoding, which reads every weight once per token, moves half the memory of
 * a bfloat16 copy. The scales are a further 4 bytes per group (1/8 byte per weight).
 *
 * <p>Groups are counted from index 0 of the array, not per row; a matrix whose rows are whole groups
 * ({@code C % GROUP == 0}) at an offset that is a multiple of {@code GROUP} therefore has its own scales, and the
 * scale of row o, group g of a matrix at {@code weightOff} is {@code scales[(weightOff + o * C) / GROUP + g]}.
 */
public final class Int8 {
  private Int8() {}

  /**
   * Floats per scale. 32 is what llama.cpp's Q8_0 and llama2.c's runq use: small enough that one large weight
   * coarsens only its neighbours, large enough that the scales add 1/8 byte per weight.
   */
  public static final int GROUP = 32;

  /** The largest |q|: -128 is left out so that the range is symmetric and a group's extreme maps to ±127. */
  private static final int QMAX = 127;

  /** Scales that {@link #quantize} writes for n floats: ceil(n / GROUP). */
  public static int scaleCount(int n) {
    return (n + GROUP - 1) / GROUP;
  }

  /** The float a quantized weight stands for: q · scale. */
  public static float toFloat(byte q, float scale) {
    return q * scale;
  }

  /**
   * Quantizes src[0, n) in groups of {@link #GROUP} (the last may be shorter): group g's scale s = max|x| / 127 goes
   * to scales[g], and each x to q = round(x / s), clamped to [-127, 127]. A group of zeros gets s = 0 and q = 0, as
   * does a group so small that max|x| / 127 underflows to 0 (its values are below 64 times the smallest subnormal,
   * so they dequantize to 0 with an error below 2^-143). A group holding a NaN or an infinity gets s = NaN and q =
   * 0, so that every product that reads it is NaN rather than a silently finite value.
   *
   * @throws IllegalArgumentException if n is negative or an array is too short for n floats
   */
  public static void quantize(float[] src, byte[] q, float[] scales, int n) {
    if (n < 0 || src.length < n) {
      throw new IllegalArgumentException("n = " + n + " is not a count of the " + src.length + " floats of src");
    }
    if (q.length < n) {
      throw new IllegalArgumentException("q has " + q.length + " bytes; quantizing " + n + " floats needs " + n);
    }
    int groups = scaleCount(n);
    if (scales.length < groups) {
      throw new IllegalArgumentException("scales has " + scales.length + " floats; quantizing " + n
          + " floats in groups of " + GROUP + " needs scaleCount(" + n + ") = " + groups);
    }
    for (int g = 0; g < groups; g++) {
      int from = g * GROUP;
      int to = Math.min(n, from + GROUP);
      float max = 0f;
      boolean finite = true;
      for (int i = from; i < to; i++) {
        float x = src[i];
        finite &= Float.isFinite(x);
        max = Math.max(max, Math.abs(x));
      }
      float s = finite ? max / QMAX : Float.NaN;
      scales[g] = s;
      for (int i = from; i < to; i++) {
        // s == 0 (zeros, or an underflowed scale) and NaN both give 0: x / s would be NaN or infinite
        q[i] = s > 0f ? (byte) Math.clamp(Math.round(src[i] / s), -QMAX, QMAX) : 0;
      }
    }
  }

  /**
   * Checks that a matrix of rows of C int8 weights at weightOff has its own scales: each row a whole number of
   * groups, and the matrix starting at a group.
   *
   * @throws IllegalArgumentException naming the value that is not a multiple of {@link #GROUP}
   */
  public static void checkLayout(int weightOff, int C) {
    if (C % GROUP != 0) {
      throw new IllegalArgumentException("int8 weights need rows of a multiple of " + GROUP
          + " inputs (one scale per " + GROUP + "), got C = " + C + "; keep this matrix in float32 or bfloat16");
    }
    if (weightOff % GROUP != 0) {
      throw new IllegalArgumentException("int8 weight offset " + weightOff + " is not a multiple of " + GROUP
          + ": the matrix would share a scale group with what precedes it");
    }
  }
}
