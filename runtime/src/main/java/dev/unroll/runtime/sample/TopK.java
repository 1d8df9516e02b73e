package dev.unroll.runtime.sample;

/**
 * Samples among the k largest logits only, from their softmax at a temperature. Ties are broken towards the
 * lower token id. Selection is a bounded heap, O(n log k) per call; nothing is allocated.
 */
public final class TopK implements Sampler {

  private final int k;
  private final Draw draw;
  private long[] heap;
  private float[] logits;
  private float[] probs;

  /**
   * A sampler whose scratch is allocated at its first call (prefer {@link #TopK(int, float, long, int)}, which
   * allocates it now).
   *
   * @throws IllegalArgumentException for k &lt; 1 or a temperature that is not positive and finite
   */
  public TopK(int k, float temperature, long seed) {
    this(k, temperature, seed, 1);
  }

  /**
   * @param k how many candidates, at least 1 (1 is greedy)
   * @param temperature positive and finite
   * @param seed of the random state (0 is replaced by a fixed non-zero seed)
   * @param vocab the largest {@code n} to expect: scratch is allocated for it now
   * @throws IllegalArgumentException for k &lt; 1, a temperature that is not positive and finite, or vocab &lt; 1
   */
  public TopK(int k, float temperature, long seed, int vocab) {
    if (k < 1) {
      throw new IllegalArgumentException("top-k " + k + " must be at least 1");
    }
    this.draw = new Draw(temperature, seed);
    SamplingMath.checkVocab(vocab);
    this.k = k;
    allocate(Math.min(k, vocab));
  }

  private void allocate(int size) {
    heap = new long[size];
    logits = new float[size];
    probs = new float[size];
  }

  @Override
  public int sample(float[] logits, int n) {
    SamplingMath.checkN(logits, n);
    int m = Math.min(k, n);
    if (heap.length < m) {
      allocate(m); // only when n exceeds the vocab given at construction
    }
    // a max-heap of complemented keys is a min-heap of keys: its root is the smallest of the m best so far
    int size = 0;
    for (int i = 0; i < n; i++) {
      long key = SamplingMath.key(logits[i], i);
      if (size < m) {
        size = SamplingMath.push(heap, size, ~key);
      } else if (key > ~heap[0]) {
        heap[0] = ~key;
        SamplingMath.siftDown(heap, 0, m);
      }
    }
    SamplingMath.sort(heap, m); // ascending complemented keys: the best candidate first
    for (int j = 0; j < m; j++) {
      this.logits[j] = SamplingMath.keyValue(~heap[j]);
    }
    SamplingMath.softmax(probs, this.logits, m, draw.temperature);
    return SamplingMath.keyIndex(~heap[SamplingMath.sampleMult(probs, m, draw.coin())]);
  }

  @Override
  public String toString() {
    return "TopK(" + k + ", temperature " + draw.temperature + ", seed " + draw.seed + ")";
  }
}
