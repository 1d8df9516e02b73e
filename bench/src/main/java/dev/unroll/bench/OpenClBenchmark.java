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
 * A training step (forward, backward, AdamW, everything resident on the device) and the forward alone on the
 * OPENCL backend, on the device {@link OpenCl#device()} picks ({@code -Dunroll.opencl.device=...} chooses). Each
 * operation ends with the loss read back, so it times the device's work, not just the enqueues. By default the
 * small shapes only: on PoCL (OpenCL on these same two cores) a gpt2 step takes minutes; on a GPU add
 * {@code -p shape=tiny,baby,medium,gpt2}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
    "-Xmx6g"})
public class OpenClBenchmark {
  @Param({"tiny", "baby"})
  public String shape;

  private ModelState state;

  @Setup
  public void setUp() {
    System.out.println("OpenCL device: " + OpenCl.device().describe());
    state = new ModelState(shape, Backend.OPENCL, 1);
  }

  @Benchmark
  public float trainingStep() {
    float loss = state.trainingStep();
    state.model.finish(); // AdamW's update is enqueued, not waited for
    return loss;
  }

  @Benchmark
  public float forward() {
    return state.forward();
  }
}
