package dev.unroll.runtime.sample;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Supplier;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

class SamplersTest {

  private static final int V = 1000;

  private static float[] logits(long seed, int n) {
    SplittableRandom r = new SplittableRandom(seed);
    float[] x = new float[n + 5];
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) (r.nextGaussian() * 3);
    }
    return x;
  }

  @Test
  void rngIsLlama2csXorshift() {
    // run.c's random_f32 with rng_state 42, computed independently (Python, 64-bit wrap-around)
    Rng rng = new Rng(42);
    float[] expected = {0.3390852212905884f, 0.7822558283805847f, 0.790136992931366f, 0.9440426230430603f,
        0.7643936276435852f};
    for (float e : expected) {
      assertEquals(e, rng.nextFloat());
    }
    assertTrue(new Rng(0).nextU32() != 0, "seed 0 must not be stuck at zero");
  }

  @Test
  void greedyTakesTheFirstLargest() {
    float[] x = {1, 5, 2, 5, -1};
    assertEquals(1, Greedy.INSTANCE.sample(x, 5));
    assertEquals(2, Greedy.INSTANCE.sample(new float[] {1, 2, 3, 9}, 3)); // entries past n do not count
    assertEquals(0, Greedy.INSTANCE.sample(x, 1));
    assertSame(Greedy.INSTANCE, Samplers.of(0f, 0.9f, 0, 7));
  }

  @Test
  void sameSeedSameSequenceOtherSeedAnother() {
    float[] x = logits(1, V);
    for (Supplier<Sampler> kind : sampler(V)) {
      int[] a = draw(kind.get(), x, 200);
      int[] b = draw(kind.get(), x, 200);
      assertArrayEquals(a, b, kind.get().toString());
    }
    assertFalse(Arrays.equals(draw(new Temperature(1f, 1, V), x, 200), draw(new Temperature(1f, 2, V), x, 200)));
  }

  private static List<Supplier<Sampler>> sampler(int vocab) {
    return List.of(
        () -> new Temperature(0.8f, 11, vocab), () -> new TopK(40, 0.8f, 11, vocab),
        () -> new TopP(0.9f, 0.8f, 11, vocab), () -> Samplers.of(1f, 1f, 0, 11));
  }

  @Test
  void scratchAllocatedLaterSamplesTheSame() {
    float[] x = logits(2, V);
    assertArrayEquals(draw(new Temperature(0.8f, 5, V), x, 100), draw(new Temperature(0.8f, 5), x, 100));
    assertArrayEquals(draw(new TopK(7, 0.8f, 5, V), x, 100), draw(new TopK(7, 0.8f, 5), x, 100));
    assertArrayEquals(draw(new TopP(0.7f, 0.8f, 5, V), x, 100), draw(new TopP(0.7f, 0.8f, 5), x, 100));
  }

  private static int[] draw(Sampler s, float[] x, int count) {
    int[] out = new int[count];
    for (int i = 0; i < count; i++) {
      out[i] = s.sample(x, V);
      assertTrue(out[i] >= 0 && out[i] < V);
    }
    return out;
  }

  /** Frequencies of {@code draws} samples against the expected probabilities: within 5 standard errors. */
  private static void assertDistribution(Sampler s, float[] x, int n, double[] expected, int draws) {
    int[] counts = new int[n];
    for (int i = 0; i < draws; i++) {
      counts[s.sample(x, n)]++;
    }
    for (int i = 0; i < n; i++) {
      double p = expected[i];
      double se = Math.sqrt(p * (1 - p) / draws) + 1e-9;
      double f = (double) counts[i] / draws;
      assertTrue(Math.abs(f - p) <= 5 * se + 1e-12, s + ": token " + i + " drawn " + f + ", expected " + p);
    }
  }

  private static double[] softmax(float[] x, int n, double t, boolean[] keep) {
    double max = Double.NEGATIVE_INFINITY;
    for (int i = 0; i < n; i++) {
      if (keep[i]) {
        max = Math.max(max, x[i] / t);
      }
    }
    double[] p = new double[n];
    double sum = 0;
    for (int i = 0; i < n; i++) {
      p[i] = keep[i] ? Math.exp(x[i] / t - max) : 0;
      sum += p[i];
    }
    for (int i = 0; i < n; i++) {
      p[i] /= sum;
    }
    return p;
  }

  @Test
  void temperatureDrawsFromTheScaledSoftmax() {
    float[] x = {0.5f, 2f, -1f, 1.5f, 0f, 1f};
    boolean[] all = new boolean[6];
    Arrays.fill(all, true);
    assertDistribution(new Temperature(0.7f, 3, 6), x, 6, softmax(x, 6, 0.7, all), 40_000);
  }

  @Test
  void topKDrawsFromTheKBest() {
    float[] x = {0.5f, 2f, -1f, 1.5f, 0f, 1f, 2f};
    boolean[] best = {false, true, false, true, false, false, true}; // 2, 2 and 1.5
    assertDistribution(new TopK(3, 1.3f, 4, 7), x, 7, softmax(x, 7, 1.3, best), 40_000);
    // ties at the boundary go to the lower id: of the two 2s only token 1 is kept
    boolean[] one = {false, true, false, false, false, false, false};
    assertDistribution(new TopK(1, 1f, 4, 7), x, 7, softmax(x, 7, 1, one), 1000);
  }

  @Test
  void topPDrawsFromTheNucleus() {
    // probabilities 0.5, 0.25, 0.125, 0.0625, 0.0625: p = 0.8 keeps the first three (0.875 > 0.8)
    float[] x = {(float) Math.log(0.5), (float) Math.log(0.25), (float) Math.log(0.125), (float) Math.log(0.0625),
        (float) Math.log(0.0625)};
    boolean[] nucleus = {true, true, true, false, false};
    assertDistribution(new TopP(0.8f, 1f, 5, 5), x, 5, softmax(x, 5, 1, nucleus), 40_000);
    assertEquals(0, new TopP(0.01f, 1f, 5, 5).sample(new float[] {1, 0}, 2)); // p below 1/n cuts all: argmax
    assertEquals(0, new TopP(0.5f, 1f, 5, 5).sample(new float[] {3}, 1));
  }

  @Test
  void factoryChoosesBySettings() {
    assertInstanceOf(Temperature.class, Samplers.of(1f, 1f, 0, 1, V));
    assertInstanceOf(Temperature.class, Samplers.of(1f, 0f, 0, 1, V));
    assertInstanceOf(TopP.class, Samplers.of(1f, 0.9f, 0, 1, V));
    assertInstanceOf(TopK.class, Samplers.of(0.5f, 1f, 40, 1, V));
    assertSame(Greedy.INSTANCE, Samplers.of(0f, 0.9f, 40, 1, V));
  }

  @Test
  void badSettingsAreRefusedClearly() {
    assertMessage(() -> Samplers.of(-1f, 0.9f, 0, 1), "temperature -1.0");
    assertMessage(() -> Samplers.of(Float.NaN, 0.9f, 0, 1), "temperature NaN");
    assertMessage(() -> Samplers.of(Float.POSITIVE_INFINITY, 0.9f, 0, 1), "temperature Infinity");
    assertMessage(() -> Samplers.of(1f, 1.5f, 0, 1), "top-p 1.5");
    assertMessage(() -> Samplers.of(1f, -0.1f, 0, 1), "top-p -0.1");
    assertMessage(() -> Samplers.of(1f, 1f, -3, 1), "top-k -3");
    assertMessage(() -> Samplers.of(1f, 0.9f, 40, 1), "both on");
    assertMessage(() -> new TopK(0, 1f, 1, V), "top-k 0");
    assertMessage(() -> new TopP(1f, 1f, 1, V), "top-p 1.0");
    assertMessage(() -> new Temperature(0f, 1, V), "temperature 0.0");
    assertMessage(() -> new Temperature(1f, 1, 0), "vocab 0");
    assertMessage(() -> Greedy.INSTANCE.sample(new float[3], 4), "n = 4");
    assertMessage(() -> new TopP(0.9f, 1f, 1, V).sample(new float[3], 0), "n = 0");
  }

  private static void assertMessage(org.junit.jupiter.api.function.Executable e, String fragment) {
    IllegalArgumentException x = assertThrows(IllegalArgumentException.class, e);
    assertTrue(x.getMessage().contains(fragment), x.getMessage());
  }

  /** After warm-up, sampling allocates nothing on its thread. */
  @Tag("allocation") // warmed by count in a JVM that compiles in the foreground (see the parent POM)
  @Test
  void samplingAllocatesNothing() {
    com.sun.management.ThreadMXBean bean = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    int n = 32000;
    float[] x = logits(9, n);
    Sampler[] samplers = {
        Greedy.INSTANCE, new Temperature(0.8f, 1, n), new TopK(40, 0.8f, 1, n), new TopP(0.9f, 1f, 1, n),
        Samplers.of(1f, 0.9f, 0, 1), new Temperature(0.8f, 1), new TopK(40, 0.8f, 1), new TopP(0.9f, 1f, 1)};
    int sink = 0;
    // 300 calls each: measured, the last that allocated was the fourth (a sampler's scratch, made on first use)
    for (Sampler s : samplers) {
      for (int i = 0; i < 300; i++) {
        sink += s.sample(x, n);
      }
    }
    long threadId = Thread.currentThread().threadId();
    for (Sampler s : samplers) {
      long before = bean.getThreadAllocatedBytes(threadId);
      for (int i = 0; i < 100; i++) {
        sink += s.sample(x, n);
      }
      long after = bean.getThreadAllocatedBytes(threadId);
      assertEquals(0, after - before, s + " allocated");
    }
    assertTrue(sink >= 0);
  }
}
