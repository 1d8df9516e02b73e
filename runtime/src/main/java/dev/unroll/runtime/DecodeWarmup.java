package dev.unroll.runtime;

import dev.unroll.runtime.kernel.Kernels;
import dev.unroll.runtime.thread.WorkerPool;

/**
 * Runs a decoder's matrix-vector products on a thread of its own while the caller reads a checkpoint, so that the
 * JIT has compiled them by the time the first token is decoded: what a decode-only model's {@code loadForDecoding}
 * does between opening the file and returning the model.
 *
 * <p>Why: a decoded token is nearly all matrix-vector products ({@link Kernels#matmulForward} with one row), and on
 * a fresh JVM the first token runs them in the interpreter and C1 until C2's code for them is in, while the tokens
 * after it take 10 to 20 ms at stories110M (110M multiply-adds a token). The read is mostly the kernel faulting
 * fresh pages in, on one core; this thread uses the other. Measured at stories110M on the 2-vCPU EPYC VM, with
 * transparent huge pages, three runs each way: without the warm-up the first token came 1.26 to 1.79 s after the
 * load began, with it 0.83 to 1.07 s. (Warming a position's other kernels too, the norms, activations and
 * attention, made no difference: 0.78 to 0.87 s against 0.75 to 1.13 s in five alternating runs.)
 *
 * <p>The products here have the model's input widths ({@code DIM}, {@code HIDDEN}), with and without a bias, and
 * enough rows that they are shared over the {@link WorkerPool} as a model's are, so that the code C2 compiles has
 * taken every branch a model's decode takes. They read and write arrays of their own (2 MB a width), never the
 * model's, and stop when {@link #close} is called (a product in flight finishes first: tens of milliseconds in the
 * interpreter, microseconds compiled). Nothing is started for a model under {@link #MIN_PARAMETERS}, nor on
 * {@link Backend#OPENCL}, whose decode runs on the device.
 */
public final class DecodeWarmup implements AutoCloseable {

  /**
   * Parameters from which a load starts a warm-up: 4M (16 MB of float32). A smaller model reads in tens of
   * milliseconds, a test's model of a few thousand parameters in one: a thread and its 4 MB of arrays would cost
   * them more than the JIT's head start saves.
   */
  public static final long MIN_PARAMETERS = 1L << 22;

  /** Multiply-adds of one warm-up product: twice the pool's threshold, so that it is shared as a model's are. */
  private static final long WORK = 2 * WorkerPool.MIN_PARALLEL_WORK;

  /** Bounds the warm-up of a close that never comes (a caller's bug): by then the JIT has long compiled them. */
  private static final long MAX_NANOS = 10_000_000_000L;

  private final Thread thread;
  private volatile boolean stop;

  private DecodeWarmup(Kernels k, int[] widths) {
    thread = k == null ? null : Thread.ofPlatform().daemon().name("unroll-decode-warmup").start(() -> run(k, widths));
  }

  /**
   * Starts warming up {@code backend}'s matrix-vector products over inputs of the given widths (a model's DIM and
   * HIDDEN) for a model of {@code parameters} parameters; {@link #close} stops it.
   */
  public static DecodeWarmup start(Backend backend, long parameters, int... widths) {
    for (int w : widths) {
      if (w <= 0) {
        throw new IllegalArgumentException("a matrix-vector product's input width must be positive: " + w);
      }
    }
    boolean worth = backend != Backend.OPENCL && parameters >= MIN_PARAMETERS;
    return new DecodeWarmup(worth ? backend.kernels() : null, widths.clone());
  }

  private void run(Kernels k, int[] widths) {
    int n = widths.length;
    float[][] x = new float[n][];
    float[][] w = new float[n][];
    float[][] bias = new float[n][];
    float[][] out = new float[n][];
    int[] rows = new int[n];
    for (int i = 0; i < n; i++) {
      rows[i] = (int) ((WORK + widths[i] - 1) / widths[i]);
      x[i] = new float[widths[i]];
      w[i] = new float[rows[i] * widths[i]];
      bias[i] = new float[rows[i]];
      out[i] = new float[rows[i]];
      for (int j = 0; j < widths[i]; j++) {
        x[i][j] = (j % 7 - 3) * 0.25f;
      }
      for (int j = 0; j < w[i].length; j++) {
        w[i][j] = (j % 5 - 2) * 0.125f;
      }
    }
    long until = System.nanoTime() + MAX_NANOS;
    while (!stop && System.nanoTime() < until) {
      for (int i = 0; i < n && !stop; i++) {
        k.matmulForward(out[i], 0, x[i], 0, w[i], 0, null, 0, 1, widths[i], rows[i]);
        k.matmulForward(out[i], 0, x[i], 0, w[i], 0, bias[i], 0, 1, widths[i], rows[i]);
      }
    }
  }

  /** Stops the warm-up and waits for its thread to end. */
  @Override
  public void close() {
    stop = true;
    if (thread == null) {
      return;
    }
    boolean interrupted = false;
    while (true) {
      try {
        thread.join();
        break;
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }

  /** Whether the warm-up's thread is still running (for tests). */
  boolean running() {
    return thread != null && thread.isAlive();
  }
}
