package dev.unroll.bench;

import java.util.concurrent.TimeUnit;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The machine's measured peak: fused multiply-adds on the preferred vector species with no memory traffic, on one
 * thread and on every hardware thread. Twelve independent accumulators cover the FMA latency on two pipes (measured
 * here: twelve chains of {@code c = c·a + b}, the multiplicand carried, reached only two thirds of this); each
 * operation is {@link #FLOPS_PER_OP} floating-point operations.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class PeakFmaBenchmark {
  private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
  private static final int ROUNDS = 1 << 14;
  private static final int ACCUMULATORS = 12;

  /** Floating-point operations per benchmark operation: two per lane per FMA. */
  public static final long FLOPS_PER_OP = 2L * ROUNDS * ACCUMULATORS * S.length();

  private final float[] seed = new float[S.length() * 4];

  {
    for (int i = 0; i < seed.length; i++) {
      seed[i] = 0.5f + i * 1e-3f;
    }
  }

  @Benchmark
  @Threads(1)
  public float perThread() {
    return fmas();
  }

  @Benchmark
  @Threads(Threads.MAX)
  public float allThreads() {
    return fmas();
  }

  /**
   * acc_i += u·v on twelve accumulators, ROUNDS times, the way a register-blocked matmul uses them (the
   * accumulator is the addend); the sums grow by about 0.25 a round, far from overflow.
   */
  private float fmas() {
    int l = S.length();
    FloatVector u0 = FloatVector.fromArray(S, seed, 0);
    FloatVector u1 = FloatVector.fromArray(S, seed, l);
    FloatVector v0 = FloatVector.fromArray(S, seed, 2 * l);
    FloatVector v1 = FloatVector.fromArray(S, seed, 3 * l);
    FloatVector c0 = FloatVector.zero(S);
    FloatVector c1 = c0;
    FloatVector c2 = c0;
    FloatVector c3 = c0;
    FloatVector c4 = c0;
    FloatVector c5 = c0;
    FloatVector c6 = c0;
    FloatVector c7 = c0;
    FloatVector c8 = c0;
    FloatVector c9 = c0;
    FloatVector c10 = c0;
    FloatVector c11 = c0;
    for (int i = 0; i < ROUNDS; i++) {
      c0 = u0.fma(v0, c0);
      c1 = u0.fma(v1, c1);
      c2 = u1.fma(v0, c2);
      c3 = u1.fma(v1, c3);
      c4 = u0.fma(v0, c4);
      c5 = u0.fma(v1, c5);
      c6 = u1.fma(v0, c6);
      c7 = u1.fma(v1, c7);
      c8 = u0.fma(v0, c8);
      c9 = u0.fma(v1, c9);
      c10 = u1.fma(v0, c10);
      c11 = u1.fma(v1, c11);
    }
    FloatVector s = c0.add(c1).add(c2).add(c3).add(c4).add(c5).add(c6).add(c7).add(c8).add(c9).add(c10).add(c11);
    return s.reduceLanes(VectorOperators.ADD);
  }
}
