package dev.unroll.samples;

import java.util.random.RandomGenerator;

/**
 * The samples' random numbers: SplitMix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number generators",
 * OOPSLA 2014), the generator behind {@link java.util.SplittableRandom}, written out so that its state can be read
 * and set: a training checkpoint saves {@link #state()}, and a resumed run draws from where the killed one was.
 *
 * <p>For the same seed it draws exactly what {@code new SplittableRandom(seed)} draws, call for call, for every
 * method here (tested against it): the state advances by the golden gamma {@code 0x9E3779B97F4A7C15} at each draw
 * and is mixed by Stafford's variant 13 into a long and by his variant 4 into an int; a bounded int is
 * {@code nextInt()} masked for a power of two and otherwise drawn again until unbiased, as {@code RandomGenerator}'s
 * default does. So every figure the samples reported with {@code SplittableRandom} stays as it was.
 */
final class Rng implements RandomGenerator {
  /** What each draw adds to the state: the odd integer nearest 2^64 over the golden ratio. */
  private static final long GOLDEN_GAMMA = 0x9E3779B97F4A7C15L;

  private long state;

  /** The generator {@code new SplittableRandom(seed)} is. */
  Rng(long seed) {
    this.state = seed;
  }

  /** The state: a generator made with this seed, or given it by {@link #state(long)}, draws what this one will. */
  long state() {
    return state;
  }

  /** Sets the state to one {@link #state()} returned: the draws continue from there. */
  void state(long state) {
    this.state = state;
  }

  @Override
  public long nextLong() {
    return mix64(state += GOLDEN_GAMMA);
  }

  @Override
  public int nextInt() {
    return mix32(state += GOLDEN_GAMMA);
  }

  /** An int in {@code [0, bound)}, uniform: the low bits for a power of two, else by rejection of the biased tail. */
  @Override
  public int nextInt(int bound) {
    if (bound <= 0) {
      throw new IllegalArgumentException("bound must be positive, got " + bound);
    }
    int m = bound - 1;
    int r = nextInt();
    if ((bound & m) == 0) {
      return r & m;
    }
    // u is 31 random bits; u - u % bound + m overflows exactly when u falls in the last, incomplete run of bound
    // values, which would favour the small results: draw again.
    for (int u = r >>> 1; u + m - (r = u % bound) < 0; u = nextInt() >>> 1) {
      // drawn again
    }
    return r;
  }

  @Override
  public boolean nextBoolean() {
    return nextInt() < 0;
  }

  /** A double in {@code [0, 1)}: the top 53 bits of {@link #nextLong()}, scaled. */
  @Override
  public double nextDouble() {
    return (nextLong() >>> 11) * 0x1.0p-53;
  }

  /**
   * Stafford's variant 13 of MurmurHash3's 64-bit finalizer: every bit of {@code z} spread over every bit of the
   * result. Also what the samples hash a held-out split with.
   */
  static long mix64(long z) {
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }

  /** The top 32 bits of Stafford's variant 4 of the finalizer. */
  private static int mix32(long z) {
    z = (z ^ (z >>> 33)) * 0x62A9D9ED799705F5L;
    return (int) (((z ^ (z >>> 28)) * 0xCB24D0A5C88C35B3L) >>> 32);
  }
}
