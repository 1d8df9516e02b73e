package dev.unroll.samples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** {@link Rng} draws exactly what {@link SplittableRandom} draws, and its state restarts it anywhere. */
class RngTest {
  /** Bounds: powers of two, small odd ones, and large ones where most of the range is rejected and drawn again. */
  private static final int[] BOUNDS = {1, 2, 3, 4, 5, 7, 10, 64, 100, 1000, 1437, 1 << 16, 65_537, 1_000_000_007,
      (1 << 30) + 1, 1 << 30, Integer.MAX_VALUE - 1, Integer.MAX_VALUE};

  @Test
  void eachMethodAloneDrawsWhatSplittableRandomDraws() {
    for (long seed : new long[] {0, 1, 1337, -1, Long.MIN_VALUE, 0x9E3779B97F4A7C15L}) {
      SplittableRandom expected = new SplittableRandom(seed);
      Rng actual = new Rng(seed);
      for (int i = 0; i < 10_000; i++) {
        assertEquals(expected.nextLong(), actual.nextLong(), "nextLong, seed " + seed + ", draw " + i);
      }
      for (int i = 0; i < 10_000; i++) {
        assertEquals(expected.nextInt(), actual.nextInt(), "nextInt, seed " + seed + ", draw " + i);
      }
      for (int i = 0; i < 10_000; i++) {
        assertEquals(expected.nextBoolean(), actual.nextBoolean(), "nextBoolean, seed " + seed + ", draw " + i);
      }
      for (int i = 0; i < 10_000; i++) {
        assertEquals(Double.doubleToRawLongBits(expected.nextDouble()),
            Double.doubleToRawLongBits(actual.nextDouble()), "nextDouble, seed " + seed + ", draw " + i);
      }
      for (int bound : BOUNDS) {
        for (int i = 0; i < 2_000; i++) {
          assertEquals(expected.nextInt(bound), actual.nextInt(bound),
              "nextInt(" + bound + "), seed " + seed + ", draw " + i);
        }
      }
    }
  }

  /** Calls mixed as the samples mix them (a shuffle, coins, bounded draws), chosen by a third generator. */
  @Test
  void mixedCallsDrawWhatSplittableRandomDraws() {
    SplittableRandom choice = new SplittableRandom(99);
    SplittableRandom expected = new SplittableRandom(42);
    Rng actual = new Rng(42);
    for (int i = 0; i < 200_000; i++) {
      String what = "draw " + i;
      switch (choice.nextInt(5)) {
        case 0 -> assertEquals(expected.nextLong(), actual.nextLong(), what);
        case 1 -> assertEquals(expected.nextBoolean(), actual.nextBoolean(), what);
        case 2 -> assertEquals(expected.nextDouble(), actual.nextDouble(), what);
        case 3 -> {
          int bound = BOUNDS[choice.nextInt(BOUNDS.length)];
          assertEquals(expected.nextInt(bound), actual.nextInt(bound), what + ", bound " + bound);
        }
        default -> {
          int bound = 1 + choice.nextInt(Integer.MAX_VALUE);
          assertEquals(expected.nextInt(bound), actual.nextInt(bound), what + ", bound " + bound);
        }
      }
    }
  }

  @Test
  void theStateRestartsTheSequenceWhereItWas() {
    Rng rng = new Rng(1337);
    for (int i = 0; i < 1000; i++) {
      rng.nextInt(1 + i);
    }
    long saved = rng.state();
    long[] next = new long[100];
    for (int i = 0; i < next.length; i++) {
      next[i] = rng.nextLong();
    }
    Rng resumed = new Rng(7);
    resumed.state(saved);
    for (int i = 0; i < next.length; i++) {
      assertEquals(next[i], resumed.nextLong(), "draw " + i + " after the restored state");
    }
    assertEquals(rng.state(), resumed.state());
    assertEquals(1337, new Rng(1337).state(), "a new generator's state is its seed");
  }

  @Test
  void aBoundBelowOneIsRefused() {
    Rng rng = new Rng(1);
    assertEquals("bound must be positive, got 0",
        assertThrows(IllegalArgumentException.class, () -> rng.nextInt(0)).getMessage());
    assertThrows(IllegalArgumentException.class, () -> rng.nextInt(-5));
  }
}
