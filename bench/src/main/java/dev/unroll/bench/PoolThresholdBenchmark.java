package dev.unroll.bench;

import dev.unroll.runtime.kernel.Kernels;
import dev.unroll.runtime.simd.SimdKernels;
import dev.unroll.runtime.thread.WorkerPool;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Where sharing a kernel between two threads starts to pay: a matmul forward through the SIMD kernels, as the
 * generated models call it, at the tiny shape's width (C = OC = 64) on a ladder of rows, 2^{@code log2Work}
 * floating-point operations each (2·rows·C·OC: 2 rows, the matrix-vector form, to 512, the tiny shape's batch
 * times context, the GEMM form), on a pool of one thread and of two. The fork sets {@code unroll.minParallelWork}
 * to 0, so that the pool shares every rung; {@link MachineChoices} reports the smallest work from which two threads
 * win at every rung beside the pool's own threshold ({@link WorkerPool#MIN_PARALLEL_WORK}).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 500, timeUnit = TimeUnit.MILLISECONDS)
@Measurement(iterations = 5, time = 500, timeUnit = TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Dunroll.minParallelWork=0"})
public class PoolThresholdBenchmark {
  /** Input and output channels of the matmul: the tiny shape's width. */
  static final int CHANNELS = 64;

  @Param({"14", "15", "16", "17", "18", "19", "20", "21", "22"})
  public int log2Work;

  @Param({"1", "2"})
  public int threads;

  private final Kernels kernels = SimdKernels.INSTANCE;
  private int rows;
  private float[] out;
  private float[] inp;
  private float[] weight;
  private float[] bias;

  /** Rows of the matmul that make 2^{@code log2Work} floating-point operations. */
  static int rows(int log2Work) {
    return (int) ((1L << log2Work) / (2L * CHANNELS * CHANNELS));
  }

  @Setup
  public void setUp() {
    if (WorkerPool.MIN_PARALLEL_WORK != 0) {
      throw new IllegalStateException("run with -Dunroll.minParallelWork=0 (the fork's default), so that the pool"
          + " shares every rung; it is " + WorkerPool.MIN_PARALLEL_WORK);
    }
    WorkerPool.setThreads(threads);
    rows = rows(log2Work);
    SplittableRandom r = new SplittableRandom(1);
    inp = new float[rows * CHANNELS];
    weight = new float[CHANNELS * CHANNELS];
    bias = new float[CHANNELS];
    out = new float[rows * CHANNELS];
    for (float[] a : new float[][] {inp, weight, bias}) {
      for (int i = 0; i < a.length; i++) {
        a[i] = (float) (r.nextDouble() - 0.5);
      }
    }
  }

  @Benchmark
  public float matmulForward() {
    kernels.matmulForward(out, 0, inp, 0, weight, 0, bias, 0, rows, CHANNELS, CHANNELS);
    return out[0];
  }
}
