package dev.unroll.runtime.sample;

/**
 * llama2.c's xorshift64* generator ({@code random_u32} and {@code random_f32} in {@code run.c}): with the same
 * seed it draws the same coins as run.c, so sampling can be compared with it token for token.
 */
final class Rng {

  /** Replaces seed 0, on which xorshift would return 0 forever. */
  static final long ZERO_SEED_REPLACEMENT = 0x9E3779B97F4A7C15L;

  private long state;

  Rng(long seed) {
    state = seed == 0 ? ZERO_SEED_REPLACEMENT : seed;
  }

  /** The next 32 random bits, as run.c's random_u32. */
  int nextU32() {
    state ^= state >>> 12;
    state ^= state << 25;
    state ^= state >>> 27;
    return (int) ((state * 0x2545F4914F6CDD1DL) >>> 32);
  }

  /** A float in [0, 1) with 24 random bits, as run.c's random_f32. */
  float nextFloat() {
    return (nextU32() >>> 8) / 16777216.0f;
  }
}
