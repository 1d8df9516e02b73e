package dev.unroll.bench;

import dev.unroll.runtime.Backend;
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
 * One training step (forward, backward, AdamW) and the forward alone on the SIMD backend, per named shape and
 * size of the worker pool (the benchmark thread included).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
    "-Xmx6g"})
public class TrainingStepBenchmark {
  @Param({"tiny", "baby", "medium", "gpt2"})
  public String shape;

  @Param({"1", "2"})
  public int threads;

  private ModelState state;

  @Setup
  public void setUp() {
    state = new ModelState(shape, Backend.SIMD, threads);
  }

  @Benchmark
  public float trainingStep() {
    return state.trainingStep();
  }

  @Benchmark
  public float forward() {
    return state.forward();
  }
}
