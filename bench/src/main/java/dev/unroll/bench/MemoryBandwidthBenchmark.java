package dev.unroll.bench;

import java.util.concurrent.TimeUnit;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Read bandwidth from memory: each operation sums a 256 MiB float array (far beyond the caches) with vector
 * loads, reading its four quarters side by side. Four streams, because one core keeps more reads in flight over
 * several streams far apart than over one (measured on the 2-core EPYC: 11.7 GB/s with one stream, 15.6 with two,
 * 17 with four), and a ceiling should be the best that the machine reads; the decode kernels read four streams
 * too. Bytes per second = 256 MiB × operations per second × threads (each thread reads its own array). The
 * ceiling that memory-bound decoding is measured against.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
    "-Xmx4g"})
public class MemoryBandwidthBenchmark {
  static final int FLOATS = 64 << 20;
  private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

  private float[] data;

  @Setup
  public void setUp() {
    data = new float[FLOATS];
    for (int i = 0; i < FLOATS; i += 1024) {
      data[i] = i;
    }
  }

  /** Bytes one operation reads. */
  static long bytesPerOperation() {
    return 4L * FLOATS;
  }

  private float sum() {
    FloatVector a0 = FloatVector.zero(S);
    FloatVector a1 = FloatVector.zero(S);
    FloatVector a2 = FloatVector.zero(S);
    FloatVector a3 = FloatVector.zero(S);
    int l = S.length();
    int quarter = FLOATS / 4;
    for (int i = 0; i < quarter; i += l) {
      a0 = a0.add(FloatVector.fromArray(S, data, i));
      a1 = a1.add(FloatVector.fromArray(S, data, quarter + i));
      a2 = a2.add(FloatVector.fromArray(S, data, 2 * quarter + i));
      a3 = a3.add(FloatVector.fromArray(S, data, 3 * quarter + i));
    }
    return a0.add(a1).add(a2.add(a3)).lane(0);
  }

  @Benchmark
  @Threads(1)
  public float oneThread() {
    return sum();
  }

  @Benchmark
  @Threads(2)
  public float twoThreads() {
    return sum();
  }
}
