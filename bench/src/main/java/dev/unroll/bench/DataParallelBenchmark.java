package dev.unroll.bench;

import dev.unroll.runtime.AdamW;
import dev.unroll.runtime.Backend;
import dev.unroll.runtime.CausalLm;
import dev.unroll.runtime.mpi.DataParallel;
import dev.unroll.runtime.mpi.Mpi;
import dev.unroll.runtime.thread.WorkerPool;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * Data-parallel training on the SIMD backend, run by {@link DataParallelRuns} (BenchMain's {@code --ranks}), not in
 * the default set: under {@code mpirun} every rank runs this benchmark at once, in the same JVM as JMH (no fork: a
 * forked JVM would be a second process of the same rank), and every {@link #step} is one data-parallel step of
 * that rank (forward, zeroGrad, backward, the gradients averaged over the ranks, AdamW; under ZeRO-1 its slice and
 * the all-gather); outside {@code mpirun} a step is the one process's plain step. {@link #allReduce} and {@link
 * #allGather} time the collectives alone, for their share of the step.
 *
 * <p>Single-shot iterations of fixed counts (never time-bounded ones): every rank must call the collectives the
 * same number of times, or one would wait forever for the others.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(0)
public class DataParallelBenchmark {
  @Param({"baby", "medium"})
  public String shape;

  @Param({"1"})
  public int threads;

  /** Whether AdamW's moments are sharded over the ranks (ZeRO-1); only under mpirun. */
  @Param({"false"})
  public boolean zero;

  private CausalLm model;
  private AdamW opt;
  private DataParallel dp;
  private int[] x;
  private int[] y;

  @Setup
  public void setUp() {
    WorkerPool.setThreads(threads);
    model = NamedShape.named(shape).create(Backend.SIMD);
    dp = Mpi.available() ? DataParallel.of(model) : null;
    if (zero && dp == null) {
      throw new IllegalStateException("zero=true needs mpirun: ZeRO-1 shards AdamW over ranks");
    }
    opt = (zero ? dp.shardedAdamW() : AdamW.of(model)).lr(1e-4f);
    int n = model.shape().batch() * model.shape().context();
    SplittableRandom r = new SplittableRandom(1 + (dp == null ? 0 : dp.mpi().rank()));
    x = new int[n];
    y = new int[n];
    for (int i = 0; i < n; i++) {
      x[i] = r.nextInt(model.shape().vocab());
      y[i] = r.nextInt(model.shape().vocab());
    }
    step(); // gradients of real size for the collectives alone
  }

  @Benchmark
  public float step() {
    float loss = model.forward(x, y);
    model.zeroGrad();
    model.backward();
    if (dp != null) {
      dp.averageGradients();
    }
    opt.step();
    if (zero) {
      dp.gatherParameters();
    }
    return loss;
  }

  /** The all-reduce of the gradients alone (its mean of identical-sized arenas; under mpirun only). */
  @Benchmark
  public void allReduce() {
    dp.averageGradients();
  }

  /** ZeRO-1's all-gather of the parameters alone (under mpirun only). */
  @Benchmark
  public void allGather() {
    dp.gatherParameters();
  }
}
