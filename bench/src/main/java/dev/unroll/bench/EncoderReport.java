package dev.unroll.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import org.openjdk.jmh.results.RunResult;

/**
 * The encoder results as a table: per benchmark ({@link EncoderBenchmark}, {@link OpenClEncoderBenchmark}), the
 * median time of an operation, items/s (sentences or images: the batch over that time), GFLOP/s (the generated
 * class's {@code FLOPS_PER_STEP}; a forward, which inference is, a third of it) and the share of the FMA peak
 * measured in the same run for that many threads; with PyTorch's figures ({@link TorchResults}), its items/s and
 * the ratio.
 */
final class EncoderReport {
  private EncoderReport() {}

  /** One encoder benchmark's figures; threads 0 is a device, ratio NaN where PyTorch has no figure. */
  record Row(String benchmark, NamedEncoder encoder, String backend, int threads, double msPerOp,
      double itemsPerSecond, double gflops, double percentOfPeak, double torchItemsPerSecond) {

    /** The row as the chart draws it: positions (tokens, or patches and the class token) per second. */
    Report.Row chartRow() {
      return new Report.Row(benchmark, encoder.label(), backend, threads, msPerOp,
          itemsPerSecond * encoder.tokens / encoder.batch, gflops, percentOfPeak);
    }
  }

  /** The rows of the run's encoder benchmarks, by shape, then benchmark, backend and threads; torch may be null. */
  static List<Row> rows(Collection<RunResult> results, Ceilings ceilings, int cpus, TorchResults torch) {
    List<Row> rows = new ArrayList<>();
    for (RunResult r : results) {
      String name = r.getParams().getBenchmark();
      if (!name.contains("EncoderBenchmark.")) {
        continue;
      }
      String benchmark = name.substring(name.lastIndexOf('.') + 1);
      NamedEncoder encoder = NamedEncoder.named(r.getParams().getParam("encoder"));
      boolean device = name.contains("OpenClEncoderBenchmark");
      int threads = device ? 0 : Integer.parseInt(r.getParams().getParam("threads"));
      double ms = Ceilings.median(r);
      double flops = benchmark.equals("trainingStep") ? encoder.trainingFlops : encoder.trainingFlops / 3.0;
      double gflops = Report.gflops(flops, ms);
      double peak = device ? Double.NaN : ceilings.peak(threads, cpus);
      double theirs = torch == null || device ? Double.NaN : torch.itemsPerSecond(encoder, benchmark, threads);
      rows.add(new Row(benchmark, encoder, device ? "OPENCL" : "SIMD", threads, ms, encoder.batch / (ms / 1000),
          gflops, 100 * gflops / peak, theirs));
    }
    rows.sort(Comparator.comparing(Row::encoder).thenComparing(Row::benchmark).thenComparing(Row::backend)
        .thenComparingInt(Row::threads));
    return rows;
  }

  /**
   * The Markdown table, or an empty string without rows; the PyTorch columns when {@code torch} has figures for an
   * encoder.
   */
  static String markdown(List<Row> rows, TorchResults torch) {
    if (rows.isEmpty()) {
      return "";
    }
    String source = torch == null ? ""
        : torch.source(Arrays.stream(NamedEncoder.values()).map(e -> e.torchModel).toList());
    StringBuilder s = new StringBuilder();
    if (!source.isEmpty()) {
      s.append(source).append("\n\n");
    }
    s.append("| benchmark | encoder | backend | threads | median ms/op | items/s | GFLOP/s | % of peak |");
    s.append(source.isEmpty() ? "\n|---|---|---|---:|---:|---:|---:|---:|\n"
        : " PyTorch items/s | x PyTorch |\n|---|---|---|---:|---:|---:|---:|---:|---:|---:|\n");
    for (Row r : rows) {
      s.append(BenchMain.fmt("| %s | %s | %s | %s | %.2f | %.2f %s | %.2f | %s |", r.benchmark(),
          r.encoder().label(), r.backend(), r.threads() == 0 ? "device" : Integer.toString(r.threads()),
          r.msPerOp(), r.itemsPerSecond(), r.encoder().items, r.gflops(), Report.percent(r.percentOfPeak())));
      if (!source.isEmpty()) {
        s.append(TorchResults.cells(r.itemsPerSecond(), r.torchItemsPerSecond(), "%.2f"));
      }
      s.append('\n');
    }
    return s.toString();
  }
}
