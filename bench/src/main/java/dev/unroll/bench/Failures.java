package dev.unroll.bench;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.openjdk.jmh.infra.BenchmarkParams;
import org.openjdk.jmh.infra.IterationParams;
import org.openjdk.jmh.results.BenchmarkResult;
import org.openjdk.jmh.results.IterationResult;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.format.OutputFormat;

/**
 * Which benchmarks failed. JMH (without {@code -foe true}) prints a failing fork's exception, drops that benchmark
 * and goes on, so a failure shows only as a result that never came back. This output format passes everything to
 * JMH's own and notes each benchmark JMH starts (one per combination of parameters, as JMH itself expanded them);
 * {@link #failed} then names those with no result. The run finishes, its report is written, and then it fails.
 */
final class Failures implements OutputFormat {
  private final OutputFormat out;
  private final Set<BenchmarkParams> started = new LinkedHashSet<>();

  Failures(OutputFormat out) {
    this.out = out;
  }

  /** The benchmarks started so far, in order. */
  Collection<BenchmarkParams> started() {
    return started;
  }

  /**
   * The benchmarks started that have no result, as labels ("DecodeBenchmark.decode (model=stories15M, ...)").
   * A benchmark with no measurement iterations ({@code -i 0}, or a warm-up-only run) is not expected to have one.
   */
  static List<String> failed(Collection<BenchmarkParams> started, Collection<RunResult> results) {
    Set<BenchmarkParams> returned = new HashSet<>();
    for (RunResult r : results) {
      returned.add(r.getParams()); // equal when benchmark, mode and parameters are
    }
    List<String> failed = new ArrayList<>();
    for (BenchmarkParams p : started) {
      if (p.getMeasurement().getCount() > 0 && !returned.contains(p)) {
        failed.add(label(p));
      }
    }
    return failed;
  }

  /** A benchmark's class, method and parameters: "DecodeBenchmark.decode (model=stories15M, threads=1)". */
  static String label(BenchmarkParams p) {
    String b = p.getBenchmark();
    StringBuilder s = new StringBuilder(b.substring(b.lastIndexOf('.', b.lastIndexOf('.') - 1) + 1));
    String separator = " (";
    for (String k : p.getParamsKeys()) {
      s.append(separator).append(k).append('=').append(p.getParam(k));
      separator = ", ";
    }
    return p.getParamsKeys().isEmpty() ? s.toString() : s.append(')').toString();
  }

  @Override
  public void startBenchmark(BenchmarkParams benchParams) {
    started.add(benchParams);
    out.startBenchmark(benchParams);
  }

  @Override
  public void iteration(BenchmarkParams benchParams, IterationParams params, int iteration) {
    out.iteration(benchParams, params, iteration);
  }

  @Override
  public void iterationResult(BenchmarkParams benchParams, IterationParams params, int iteration,
      IterationResult data) {
    out.iterationResult(benchParams, params, iteration, data);
  }

  @Override
  public void endBenchmark(BenchmarkResult result) {
    out.endBenchmark(result);
  }

  @Override
  public void startRun() {
    out.startRun();
  }

  @Override
  public void endRun(Collection<RunResult> result) {
    out.endRun(result);
  }

  @Override
  public void print(String s) {
    out.print(s);
  }

  @Override
  public void println(String s) {
    out.println(s);
  }

  @Override
  public void flush() {
    out.flush();
  }

  @Override
  public void close() {
    out.close();
  }

  @Override
  public void verbosePrintln(String s) {
    out.verbosePrintln(s);
  }

  @Override
  public void write(int b) {
    out.write(b);
  }

  @Override
  public void write(byte[] b) throws IOException {
    out.write(b);
  }
}
