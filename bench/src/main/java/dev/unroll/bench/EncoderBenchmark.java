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
 * The encoders on the SIMD backend, per named encoder shape and size of the worker pool (the benchmark thread
 * included): inference as an embedding service runs it (the forward without labels, then the pooled vectors into
 * an array made once) and one training step (forward with labels, zeroGrad, backward, AdamW). Its parameter is
 * {@code encoder}, not the decoders' {@code shape}, so that {@code -p} can choose each alone.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
    "-Xmx6g"})
public class EncoderBenchmark {
  @Param({"minilm", "vittiny"})
  public String encoder;

  @Param({"1", "2"})
  public int threads;

  private EncoderState state;

  @Setup
  public void setUp() {
    state = new EncoderState(encoder, Backend.SIMD, threads);
  }

  @Benchmark
  public float[] inference() {
    return state.inference();
  }

  @Benchmark
  public float trainingStep() {
    return state.trainingStep();
  }
}
