package dev.unroll.runtime;

import static dev.unroll.runtime.scalar.KernelTesting.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unroll.runtime.kernel.Kernels;
import dev.unroll.runtime.thread.WorkerPool;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** {@link DecodeWarmup}: runs until closed, ends its thread on close, and leaves a model's products' bits alone. */
class DecodeWarmupTest {

  private final int initialThreads = WorkerPool.threads();

  @AfterEach
  void restoreThreads() {
    WorkerPool.setThreads(initialThreads);
  }

  @ParameterizedTest
  @EnumSource(value = Backend.class, names = {"SCALAR", "SIMD"})
  void runsUntilClosedAndEndsItsThread(Backend backend) {
    DecodeWarmup warmup = DecodeWarmup.start(backend, DecodeWarmup.MIN_PARAMETERS, 48, 192);
    assertTrue(warmup.running(), "started on " + backend);
    warmup.close();
    assertFalse(warmup.running(), "its thread ended with close on " + backend);
    warmup.close(); // a second close is harmless
  }

  @Test
  void startsNothingForASmallModel() {
    DecodeWarmup warmup = DecodeWarmup.start(Backend.SIMD, DecodeWarmup.MIN_PARAMETERS - 1, 64);
    assertFalse(warmup.running());
    warmup.close();
  }

  @Test
  void startsNothingForOpenCl() {
    DecodeWarmup warmup = DecodeWarmup.start(Backend.OPENCL, DecodeWarmup.MIN_PARAMETERS, 64);
    assertFalse(warmup.running());
    warmup.close();
  }

  @Test
  void refusesAWidthThatIsNoWidth() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> DecodeWarmup.start(Backend.SIMD, DecodeWarmup.MIN_PARAMETERS, 64, 0));
    assertTrue(e.getMessage().contains("0"), e.getMessage());
  }

  /**
   * A model decoding while a warm-up holds the pool (it finds the pool busy and runs alone) gets the bits it gets on
   * its own: with two threads the product below is shared when the pool is free.
   */
  @Test
  void aProductDuringTheWarmupGivesTheSameBits() {
    WorkerPool.setThreads(2);
    Kernels k = Backend.SIMD.kernels();
    SplittableRandom rnd = new SplittableRandom(3);
    int c = 200;
    int oc = 3000;
    float[] x = random(rnd, c, -1, 1);
    float[] w = random(rnd, oc * c, -1, 1);
    float[] bias = random(rnd, oc, -1, 1);
    float[] alone = new float[oc];
    k.matmulForward(alone, 0, x, 0, w, 0, bias, 0, 1, c, oc);
    DecodeWarmup warmup = DecodeWarmup.start(Backend.SIMD, DecodeWarmup.MIN_PARAMETERS, c, 4 * c);
    try {
      for (int i = 0; i < 50; i++) {
        float[] during = new float[oc];
        k.matmulForward(during, 0, x, 0, w, 0, bias, 0, 1, c, oc);
        assertArrayEquals(alone, during, "product " + i + " during the warm-up");
      }
    } finally {
      warmup.close();
    }
  }
}
