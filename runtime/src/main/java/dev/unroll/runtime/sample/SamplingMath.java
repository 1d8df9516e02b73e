package dev.unroll.runtime.sample;

/** The arithmetic the samplers share, in llama2.c's order of operations, allocation-free. */
final class SamplingMath {

  private SamplingMath() {}

  static void checkN(float[] logits, int n) {
    if (n < 1 || n > logits.length) {
      throw new IllegalArgumentException("n = " + n + " is outside [1, logits.length = " + logits.length + "]");
    }
  }

  static void checkVocab(int vocab) {
    if (vocab < 1) {
      throw new IllegalArgumentException("vocab " + vocab + " must be positive");
    }
  }

  static void checkTemperature(float temperature) {
    if (!(temperature > 0) || Float.isInfinite(temperature)) {
      throw new IllegalArgumentException("temperature " + temperature
          + " must be positive and finite (0 means greedy: use Greedy or Samplers.of)");
    }
  }

  /** {@code probs}, or a new array of n floats when n exceeds its length (the vocab given at construction). */
  static float[] atLeast(float[] probs, int n) {
    return probs.length < n ? new float[n] : probs;
  }

  /** The first index of the largest of x[0..n). */
  static int argmax(float[] x, int n) {
    int best = 0;
    for (int i = 1; i < n; i++) {
      if (x[i] > x[best]) {
        best = i;
      }
    }
    return best;
  }

  /** probs[0..n) = softmax(logits[0..n) / temperature), as run.c: divide, subtract the max, exp, normalise. */
  static void softmax(float[] probs, float[] logits, int n, float temperature) {
    float max = Float.NEGATIVE_INFINITY;
    for (int i = 0; i < n; i++) {
      probs[i] = logits[i] / temperature;
      max = Math.max(max, probs[i]);
    }
    float sum = 0.0f;
    for (int i = 0; i < n; i++) {
      probs[i] = (float) Math.exp(probs[i] - max);
      sum += probs[i];
    }
    for (int i = 0; i < n; i++) {
      probs[i] /= sum;
    }
  }

  /** run.c's sample_mult: the first i whose cumulative probability exceeds coin, or n - 1. */
  static int sampleMult(float[] probs, int n, float coin) {
    float cdf = 0.0f;
    for (int i = 0; i < n; i++) {
      cdf += probs[i];
      if (coin < cdf) {
        return i;
      }
    }
    return n - 1;
  }

  /**
   * A long that orders like (value, then lower index first): the float's bits made monotone in the high half, the
   * complemented index in the low half. Sorting these ascending puts the largest value last and, among equal
   * values, the lowest index after the others, so reading from the end gives descending value, ascending index.
   */
  static long key(float value, int index) {
    int bits = Float.floatToRawIntBits(value);
    bits ^= (bits >> 31) & 0x7fffffff; // negative floats: larger magnitude, smaller key
    return ((long) bits << 32) | (~index & 0xffffffffL);
  }

  static float keyValue(long key) {
    int bits = (int) (key >> 32);
    bits ^= (bits >> 31) & 0x7fffffff;
    return Float.intBitsToFloat(bits);
  }

  static int keyIndex(long key) {
    return ~(int) key;
  }

  /** Sorts a[0..n) ascending, in place, by heapsort: no allocation, O(n log n). */
  static void sort(long[] a, int n) {
    for (int i = n / 2 - 1; i >= 0; i--) {
      siftDown(a, i, n);
    }
    for (int end = n - 1; end > 0; end--) {
      long t = a[0];
      a[0] = a[end];
      a[end] = t;
      siftDown(a, 0, end);
    }
  }

  /** Restores the max-heap a[0..n) below i. */
  static void siftDown(long[] a, int i, int n) {
    long v = a[i];
    while (true) {
      int child = 2 * i + 1;
      if (child >= n) {
        break;
      }
      if (child + 1 < n && a[child + 1] > a[child]) {
        child++;
      }
      if (a[child] <= v) {
        break;
      }
      a[i] = a[child];
      i = child;
    }
    a[i] = v;
  }

  /** Appends v to the max-heap a[0..n) (a has room); returns n + 1. */
  static int push(long[] a, int n, long v) {
    int i = n;
    while (i > 0) {
      int parent = (i - 1) / 2;
      if (a[parent] >= v) {
        break;
      }
      a[i] = a[parent];
      i = parent;
    }
    a[i] = v;
    return n + 1;
  }
}
