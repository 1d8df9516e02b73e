package dev.unroll.runtime.number;

/**
 * bfloat16: the high 16 bits of a float32 (8 exponent bits, 7 mantissa bits), stored in a {@code short}. Widening is
 * exact; narrowing rounds to nearest, ties to even, and keeps NaN a NaN.
 */
public final class Bf16 {
  private Bf16() {}

  /** The float a bfloat16 stands for. */
  public static float toFloat(short bits) {
    return Float.intBitsToFloat(bits << 16);
  }

  /** The nearest bfloat16 to {@code value} (ties to even). */
  public static short fromFloat(float value) {
    int bits = Float.floatToRawIntBits(value);
    if (Float.isNaN(value)) {
      return (short) ((bits >>> 16) | 0x40); // a quiet NaN, whatever the payload
    }
    int rounded = bits + 0x7FFF + ((bits >>> 16) & 1);
    return (short) (rounded >>> 16);
  }

  /** dst[dstOff + i] = fromFloat(src[srcOff + i]) for i in [0, n). */
  public static void fromFloats(float[] src, int srcOff, short[] dst, int dstOff, int n) {
    for (int i = 0; i < n; i++) {
      dst[dstOff + i] = fromFloat(src[srcOff + i]);
    }
  }
}
