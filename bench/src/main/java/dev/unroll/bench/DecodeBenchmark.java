package dev.unroll.bench;

import dev.unroll.runtime.Backend;
import dev.unroll.runtime.CausalLm;
import dev.unroll.runtime.DecodeWeights;
import dev.unroll.runtime.number.Int8;
import dev.unroll.runtime.thread.WorkerPool;
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
 * Decoding with the KV cache at llama2.c's stories shapes, random weights: one operation is one token, at positions
 * cycling through the first 128 (the cache is reset then). Weights read as float32, bfloat16 or int8
 * ({@link DecodeWeights}).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
    "-Xmx12g"})
public class DecodeBenchmark {
  /** Positions decoded before the cache is reset, so every measured token attends over a similar prefix. */
  static final int WINDOW = 128;

  /** A decode model ({@link DecodeModel}); named apart from the training benchmarks' {@code shape}. */
  @Param({"stories15M", "stories110M"})
  public String model;

  @Param({"f32", "bf16", "int8"})
  public String weights;

  @Param({"1", "2"})
  public int threads;

  private CausalLm lm;
  private int token;

  @Setup
  public void setUp() {
    WorkerPool.setThreads(threads);
    lm = DecodeModel.named(model).create(Backend.SIMD);
    lm.decodeWeights(format(weights));
    token = 1;
  }

  /** The format a benchmark parameter names: f32, bf16 or int8. */
  static DecodeWeights format(String weights) {
    return switch (weights) {
      case "f32" -> DecodeWeights.FLOAT32;
      case "bf16" -> DecodeWeights.BFLOAT16;
      case "int8" -> DecodeWeights.INT8;
      default -> throw new IllegalArgumentException("unknown weight format " + weights + " (accepted: f32, bf16,"
          + " int8)");
    };
  }

  /**
   * Bytes of weights one decoded token reads, counted as every parameter (the embedding rows it does not look up
   * included): 4 per float32 weight, 2 per bfloat16 one, 1 per int8 one and a 4-byte scale per 32.
   */
  static long weightBytesPerToken(DecodeModel model, String weights) {
    long parameters = model.parameters;
    return switch (format(weights)) {
      case FLOAT32 -> 4 * parameters;
      case BFLOAT16 -> 2 * parameters;
      case INT8 -> parameters + 4 * Int8.scaleCount((int) parameters);
    };
  }

  @Benchmark
  public float decode() {
    float next = next(lm, token);
    token = (token * 31 + 7) % 32000;
    return next;
  }

  /**
   * One measured operation, shared with {@link OpenClDecodeBenchmark}: decodes {@code token} (resetting the cache
   * every {@value #WINDOW} positions) and returns a logit. The caller moves to the next token.
   */
  static float next(CausalLm model, int token) {
    if (model.position() == WINDOW) {
      model.reset();
    }
    return model.decode(token)[0];
  }
}
