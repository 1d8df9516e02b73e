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
 * thread and on every hardware thread. Twelve independent accumulators cover the FMA latency on two pipes; each
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

  private final float[] seed = new float[S.length() * (ACCUMULATORS + 2)];

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

  /** c = c·a + b on twelve accumulators, ROUNDS times; a &lt; 1 keeps the values bounded. */
  private float fmas() {
    int l = S.length();
    FloatVector a = FloatVector.fromArray(S, seed, 0).mul(0.999f).min(0.999f);
    FloatVector b = FloatVector.fromArray(S, seed, l).mul(1e-3f);
    FloatVector c0 = FloatVector.fromArray(S, seed, 2 * l);
    FloatVector c1 = FloatVector.fromArray(S, seed, 3 * l);
    FloatVector c2 = FloatVector.fromArray(S, seed, 4 * l);
    FloatVector c3 = FloatVector.fromArray(S, seed, 5 * l);
    FloatVector c4 = FloatVector.fromArray(S, seed, 6 * l);
    FloatVector c5 = FloatVector.fromArray(S, seed, 7 * l);
    FloatVector c6 = FloatVector.fromArray(S, seed, 8 * l);
    FloatVector c7 = FloatVector.fromArray(S, seed, 9 * l);
    FloatVector c8 = FloatVector.fromArray(S, seed, 10 * l);
    FloatVector c9 = FloatVector.fromArray(S, seed, 11 * l);
    FloatVector c10 = FloatVector.fromArray(S, seed, 12 * l);
    FloatVector c11 = FloatVector.fromArray(S, seed, 13 * l);
    for (int i = 0; i < ROUNDS; i++) {
      c0 = c0.fma(a, b);
      c1 = c1.fma(a, b);
      c2 = c2.fma(a, b);
      c3 = c3.fma(a, b);
      c4 = c4.fma(a, b);
      c5 = c5.fma(a, b);
      c6 = c6.fma(a, b);
      c7 = c7.fma(a, b);
      c8 = c8.fma(a, b);
      c9 = c9.fma(a, b);
      c10 = c10.fma(a, b);
      c11 = c11.fma(a, b);
    }
    FloatVector s = c0.add(c1).add(c2).add(c3).add(c4).add(c5).add(c6).add(c7).add(c8).add(c9).add(c10).add(c11);
    return s.reduceLanes(VectorOperators.ADD);
  }
}
