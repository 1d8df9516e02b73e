package dev.unroll.bench;

import dev.unroll.runtime.Backend;
import dev.unroll.runtime.opencl.OpenCl;
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
 * {@link EncoderBenchmark}'s inference and training step on the OPENCL backend, on the device {@link OpenCl#device()}
 * picks ({@code -Dunroll.opencl.device=...} chooses). Inference ends with the embeddings read back and the step with
 * {@code finish()} ({@link EncoderState}), so each times the device's work, not just the enqueues. Not among the benchmarks that run by
 * default: on PoCL (OpenCL on these same two cores) one step of either shape takes seconds; on a GPU name it
 * ({@code OpenClEncoderBenchmark}).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
    "-Xmx6g"})
public class OpenClEncoderBenchmark {
  @Param({"minilm", "vittiny"})
  public String encoder;

  private EncoderState state;

  @Setup
  public void setUp() {
    System.out.println("OpenCL device: " + OpenCl.device().describe());
    state = new EncoderState(encoder, Backend.OPENCL, 1);
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
