package dev.unroll.bench;

import dev.unroll.runtime.Backend;
import dev.unroll.runtime.CausalLm;
import dev.unroll.runtime.DecodeWeights;
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
 * {@link DecodeBenchmark} on the OPENCL backend: the weights and the KV cache on the device, one token in and the
 * logits read back per operation.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
    "-Xmx12g"})
public class OpenClDecodeBenchmark {
  /** A decode model ({@link DecodeModel}), as in {@link DecodeBenchmark}. */
  @Param({"stories15M", "stories110M"})
  public String model;

  @Param({"f32", "bf16"})
  public String weights;

  private CausalLm lm;
  private int token;

  @Setup
  public void setUp() {
    System.out.println("OpenCL device: " + OpenCl.device().describe());
    lm = DecodeModel.named(model).create(Backend.OPENCL);
    lm.decodeWeights(format(weights));
    token = 1;
  }

  /** The format a benchmark parameter names: f32 or bf16 (the OPENCL backend has no int8 decoding). */
  static DecodeWeights format(String weights) {
    DecodeWeights format = DecodeBenchmark.format(weights);
    if (format == DecodeWeights.INT8) {
      throw new IllegalArgumentException("OpenClDecodeBenchmark decodes f32 or bf16 weights, not int8 (the OPENCL"
          + " backend has no int8 decoding); leave it out with -e OpenClDecodeBenchmark");
    }
    return format;
  }

  @Benchmark
  public float decode() {
    float next = DecodeBenchmark.next(lm, token);
    token = (token * 31 + 7) % 32000;
    return next;
  }
}
