package dev.unroll.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.infra.BenchmarkParams;
import org.openjdk.jmh.infra.IterationParams;
import org.openjdk.jmh.results.AverageTimeResult;
import org.openjdk.jmh.results.BenchmarkResult;
import org.openjdk.jmh.results.IterationResult;
import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.ResultRole;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.results.ThroughputResult;
import org.openjdk.jmh.runner.IterationType;
import org.openjdk.jmh.runner.WorkloadParams;
import org.openjdk.jmh.runner.options.TimeValue;

/** Hand-built JMH parameters and results, as a run would return them, for testing the report without running. */
final class Fixtures {
  private Fixtures() {}

  /**
   * The parameters of benchmark {@code Class.method} (in dev.unroll.bench) with {@code measurements} measured
   * iterations and parameters given as "name=value".
   */
  static BenchmarkParams params(String benchmark, Mode mode, int measurements, String... keyValues) {
    WorkloadParams workload = new WorkloadParams();
    for (int i = 0; i < keyValues.length; i++) {
      String[] kv = keyValues[i].split("=", 2);
      workload.put(kv[0], kv[1], i);
    }
    IterationParams warmup = new IterationParams(IterationType.WARMUP, 1, TimeValue.seconds(1), 1);
    IterationParams measurement = new IterationParams(IterationType.MEASUREMENT, measurements, TimeValue.seconds(1),
        1);
    return new BenchmarkParams("dev.unroll.bench." + benchmark, "generated", true, 1, new int[] {1}, List.of(), 1, 0,
        warmup, measurement, mode, workload, mode == Mode.Throughput ? TimeUnit.SECONDS : TimeUnit.MILLISECONDS, 1,
        "java", List.of(), "25", "vm", "25", "1.37", TimeValue.minutes(10));
  }

  /** Throughput benchmark {@code benchmark} measured at {@code opsPerSecond}, one value per iteration. */
  static RunResult throughput(String benchmark, double[] opsPerSecond, String... keyValues) {
    BenchmarkParams p = params(benchmark, Mode.Throughput, opsPerSecond.length, keyValues);
    List<Result<?>> scores = new ArrayList<>();
    for (double ops : opsPerSecond) {
      scores.add(new ThroughputResult(ResultRole.PRIMARY, method(benchmark), ops, 1_000_000_000L, TimeUnit.SECONDS));
    }
    return result(p, scores);
  }

  /** Average-time benchmark {@code benchmark} measured at {@code msPerOp} in each of three iterations. */
  static RunResult averageTime(String benchmark, double msPerOp, String... keyValues) {
    return averageTimes(benchmark, new double[] {msPerOp, msPerOp, msPerOp}, keyValues);
  }

  /** Average-time benchmark {@code benchmark} measured at {@code msPerOp}, one value per iteration. */
  static RunResult averageTimes(String benchmark, double[] msPerOp, String... keyValues) {
    BenchmarkParams p = params(benchmark, Mode.AverageTime, msPerOp.length, keyValues);
    List<Result<?>> scores = new ArrayList<>();
    for (double ms : msPerOp) {
      scores.add(new AverageTimeResult(ResultRole.PRIMARY, method(benchmark), 1000, Math.round(ms * 1e9),
          TimeUnit.MILLISECONDS));
    }
    return result(p, scores);
  }

  private static RunResult result(BenchmarkParams p, List<Result<?>> scores) {
    List<IterationResult> iterations = new ArrayList<>();
    for (Result<?> score : scores) {
      IterationResult it = new IterationResult(p, p.getMeasurement(), null);
      it.addResult(score);
      iterations.add(it);
    }
    return new RunResult(p, List.of(new BenchmarkResult(p, iterations)));
  }

  private static String method(String benchmark) {
    return benchmark.substring(benchmark.indexOf('.') + 1);
  }
}
