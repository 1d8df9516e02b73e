package dev.unroll.bench;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import org.openjdk.jmh.infra.BenchmarkParams;
import org.openjdk.jmh.results.RunResult;

/**
 * JMH results turned into figures: per model benchmark, tokens/s, GFLOP/s (FLOPs per step from the generated
 * class's {@code FLOPS_PER_STEP}; a forward is a third of a step) and the share of the FMA peak measured in the
 * same run for that many threads.
 */
final class Report {

  /** One model benchmark's figures. */
  record Row(String benchmark, String shape, String backend, int threads, double msPerOp, double tokensPerSecond,
      double gflops, double percentOfPeak) {}

  private final List<Row> rows;
  private final double peakOne;
  private final double peakAll;
  private final int cpus;
  private final List<String> others;

  private Report(List<Row> rows, double peakOne, double peakAll, int cpus, List<String> others) {
    this.rows = rows;
    this.peakOne = peakOne;
    this.peakAll = peakAll;
    this.cpus = cpus;
    this.others = others;
  }

  static Report of(Collection<RunResult> results, int cpus) {
    double peakOne = Double.NaN;
    double peakAll = Double.NaN;
    for (RunResult r : results) {
      String name = method(r.getParams());
      if (r.getParams().getBenchmark().endsWith("PeakFmaBenchmark." + name)) {
        double gflops = r.getPrimaryResult().getScore() * PeakFmaBenchmark.FLOPS_PER_OP / 1e9;
        if (name.equals("perThread")) {
          peakOne = gflops;
        } else {
          peakAll = gflops;
        }
      }
    }
    List<Row> rows = new ArrayList<>();
    List<String> others = new ArrayList<>();
    for (RunResult r : results) {
      BenchmarkParams p = r.getParams();
      String method = method(p);
      if (p.getBenchmark().contains("PeakFmaBenchmark") || p.getBenchmark().contains("DecodeBenchmark")
          || p.getBenchmark().contains("MemoryBandwidthBenchmark")) {
        continue; // the peak is in the header; decoding has its own table (DecodeReport)
      }
      String shapeName = p.getParam("shape");
      if (shapeName == null) {
        others.add(BenchMain.fmt("| %s %s | %.3f %s |", p.getBenchmark(), p.getParamsKeys().isEmpty() ? ""
            : paramsOf(p), r.getPrimaryResult().getScore(), r.getPrimaryResult().getScoreUnit()));
        continue;
      }
      NamedShape shape = NamedShape.named(shapeName);
      String backend = p.getBenchmark().contains("ScalarBenchmark") ? "SCALAR"
          : p.getBenchmark().contains("OpenClBenchmark") ? "OPENCL" : "SIMD";
      // OPENCL runs on the device: no thread count, and no peak of its own in this run (0 threads, % n/a)
      int threads = p.getParam("threads") == null ? 0 : Integer.parseInt(p.getParam("threads"));
      double ms = r.getPrimaryResult().getScore();
      double flops = method.equals("forward") ? shape.trainingFlops / 3.0 : shape.trainingFlops;
      double gflops = flops / (ms / 1000) / 1e9;
      double peak = threads == 0 ? Double.NaN : threads == 1 ? peakOne : peakAll * Math.min(threads, cpus) / cpus;
      rows.add(new Row(method, shapeName, backend, threads, ms, shape.tokens / (ms / 1000), gflops,
          100 * gflops / peak));
    }
    rows.sort(Comparator.comparing((Row r) -> NamedShape.named(r.shape())).thenComparing(Row::benchmark,
        Comparator.reverseOrder()).thenComparing(Row::backend).thenComparingInt(Row::threads));
    return new Report(rows, peakOne, peakAll, cpus, others);
  }

  private static String method(BenchmarkParams p) {
    String b = p.getBenchmark();
    return b.substring(b.lastIndexOf('.') + 1);
  }

  private static String paramsOf(BenchmarkParams p) {
    StringBuilder s = new StringBuilder("(");
    for (String k : p.getParamsKeys()) {
      s.append(s.length() > 1 ? ", " : "").append(k).append('=').append(p.getParam(k));
    }
    return s.append(')').toString();
  }

  List<Row> rows() {
    return rows;
  }

  String markdown() {
    StringBuilder s = new StringBuilder();
    s.append(BenchMain.fmt("Measured FMA peak: %.1f GFLOP/s on one thread, %.1f GFLOP/s on all %d hardware"
        + " threads.%n%n", peakOne, peakAll, cpus));
    s.append("| benchmark | shape | backend | threads | ms/op | tokens/s | GFLOP/s | % of peak |\n");
    s.append("|---|---|---|---:|---:|---:|---:|---:|\n");
    for (Row r : rows) {
      s.append(BenchMain.fmt("| %s | %s | %s | %s | %.3f | %.0f | %.2f | %s |%n", r.benchmark(), r.shape(),
          r.backend(), r.threads() == 0 ? "device" : Integer.toString(r.threads()), r.msPerOp(),
          r.tokensPerSecond(), r.gflops(), Double.isNaN(r.percentOfPeak()) ? "n/a"
              : BenchMain.fmt("%.1f", r.percentOfPeak())));
    }
    if (!others.isEmpty()) {
      s.append("\nOther benchmarks:\n\n| benchmark | score |\n|---|---:|\n");
      for (String o : others) {
        s.append(o).append('\n');
      }
    }
    return s.toString();
  }
}
