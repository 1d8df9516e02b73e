package dev.unroll.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import org.openjdk.jmh.infra.BenchmarkParams;
import org.openjdk.jmh.results.RunResult;

/**
 * JMH results turned into figures: per model benchmark, tokens/s, GFLOP/s (FLOPs per step from the generated
 * class's {@code FLOPS_PER_STEP}; a forward is a third of a step) and the share of the FMA peak measured in the
 * same run for that many threads; then the encoders' table ({@link EncoderReport}) and the decoding table
 * ({@link DecodeReport}). The ceilings the run measured ({@link Ceilings}) always head it, whichever tables there
 * are.
 */
final class Report {

  /** One model benchmark's figures. */
  record Row(String benchmark, String shape, String backend, int threads, double msPerOp, double tokensPerSecond,
      double gflops, double percentOfPeak) {}

  private final List<Row> rows;
  private final List<EncoderReport.Row> encoderRows;
  private final Ceilings ceilings;
  private final int cpus;
  private final List<String> others;
  private final String encoders;
  private final String decode;
  private final TorchResults torch;
  /** The "Machine choices" section, or empty. */
  private final String machine;

  private Report(List<Row> rows, List<EncoderReport.Row> encoderRows, Ceilings ceilings, int cpus,
      List<String> others, String encoders, String decode, TorchResults torch, String machine) {
    this.rows = rows;
    this.encoderRows = encoderRows;
    this.ceilings = ceilings;
    this.cpus = cpus;
    this.others = others;
    this.encoders = encoders;
    this.decode = decode;
    this.torch = torch;
    this.machine = machine;
  }

  static Report of(Collection<RunResult> results, int cpus) {
    return of(results, cpus, null);
  }

  /**
   * The report, with PyTorch's figures beside the training rows and the encoders' where {@code torch} (null: none)
   * has them.
   */
  static Report of(Collection<RunResult> results, int cpus, TorchResults torch) {
    return of(results, cpus, torch, null);
  }

  /**
   * The report, headed by what the runtime chose for this machine and the pool threshold benchmark's figures
   * ({@code machine}; null: no such section).
   */
  static Report of(Collection<RunResult> results, int cpus, TorchResults torch, MachineChoices machine) {
    Ceilings ceilings = Ceilings.of(results);
    List<Row> rows = new ArrayList<>();
    List<String> others = new ArrayList<>();
    for (RunResult r : results) {
      BenchmarkParams p = r.getParams();
      String method = method(p);
      if (p.getBenchmark().contains("PeakFmaBenchmark") || p.getBenchmark().contains("DecodeBenchmark")
          || p.getBenchmark().contains("MemoryBandwidthBenchmark")
          || p.getBenchmark().contains("EncoderBenchmark") || p.getBenchmark().contains("PoolThresholdBenchmark")) {
        continue; // the ceilings and the machine head the report; encoders and decoding have their own tables
      }
      String shapeName = p.getParam("shape");
      if (shapeName == null) {
        others.add(BenchMain.fmt("| %s | %.3f %s |", Failures.label(p), r.getPrimaryResult().getScore(),
            r.getPrimaryResult().getScoreUnit()));
        continue;
      }
      NamedShape shape = NamedShape.named(shapeName);
      String backend = p.getBenchmark().contains("ScalarBenchmark") ? "SCALAR"
          : p.getBenchmark().contains("OpenClBenchmark") ? "OPENCL" : "SIMD";
      // OPENCL runs on the device: no thread count, and no peak of its own in this run (0 threads, % n/a)
      int threads = p.getParam("threads") == null ? 0 : Integer.parseInt(p.getParam("threads"));
      double ms = r.getPrimaryResult().getScore();
      double flops = method.equals("forward") ? shape.trainingFlops / 3.0 : shape.trainingFlops;
      double gflops = gflops(flops, ms);
      double peak = threads == 0 ? Double.NaN : ceilings.peak(threads, cpus);
      rows.add(new Row(method, shapeName, backend, threads, ms, shape.tokens / (ms / 1000), gflops,
          100 * gflops / peak));
    }
    rows.sort(Comparator.comparing((Row r) -> NamedShape.named(r.shape())).thenComparing(Row::benchmark,
        Comparator.reverseOrder()).thenComparing(Row::backend).thenComparingInt(Row::threads));
    List<EncoderReport.Row> encoderRows = EncoderReport.rows(results, ceilings, cpus, torch);
    return new Report(rows, encoderRows, ceilings, cpus, others, EncoderReport.markdown(encoderRows, torch),
        DecodeReport.markdown(results, ceilings), torch, machine == null ? "" : machine.markdown(results));
  }

  /** GFLOP/s of {@code flops} done in {@code ms} milliseconds. */
  static double gflops(double flops, double ms) {
    return flops / (ms / 1000) / 1e9;
  }

  /** A share of the peak as the tables print it: one decimal, or "n/a" without a peak. */
  static String percent(double percentOfPeak) {
    return Double.isNaN(percentOfPeak) ? "n/a" : BenchMain.fmt("%.1f", percentOfPeak);
  }

  private static String method(BenchmarkParams p) {
    String b = p.getBenchmark();
    return b.substring(b.lastIndexOf('.') + 1);
  }

  /** The decoders' rows (training step and forward). */
  List<Row> rows() {
    return rows;
  }

  /** The encoders' rows. */
  List<EncoderReport.Row> encoderRows() {
    return encoderRows;
  }

  /** What the chart draws: the decoders' rows, then the encoders' in positions/s. */
  List<Row> chartRows() {
    List<Row> all = new ArrayList<>(rows);
    encoderRows.forEach(r -> all.add(r.chartRow()));
    return all;
  }

  /**
   * The training table; with PyTorch's tokens/s and the ratio, under the line naming their file, when the PyTorch
   * results have figures for a training shape (a device row has none: PyTorch ran on the CPU).
   */
  private String trainingTable() {
    String source = torch == null ? ""
        : torch.source(Arrays.stream(NamedShape.values()).map(NamedShape::label).toList());
    StringBuilder s = new StringBuilder();
    if (!source.isEmpty()) {
      s.append(source).append("\n\n");
    }
    s.append("| benchmark | shape | backend | threads | ms/op | tokens/s | GFLOP/s | % of peak |");
    s.append(source.isEmpty() ? "\n|---|---|---|---:|---:|---:|---:|---:|\n"
        : " PyTorch tok/s | x PyTorch |\n|---|---|---|---:|---:|---:|---:|---:|---:|---:|\n");
    for (Row r : rows) {
      s.append(BenchMain.fmt("| %s | %s | %s | %s | %.3f | %.0f | %.2f | %s |", r.benchmark(), r.shape(),
          r.backend(), r.threads() == 0 ? "device" : Integer.toString(r.threads()), r.msPerOp(),
          r.tokensPerSecond(), r.gflops(), percent(r.percentOfPeak())));
      if (!source.isEmpty()) {
        double theirs = r.threads() == 0 ? Double.NaN
            : torch.tokensPerSecond(NamedShape.named(r.shape()), r.benchmark(), r.threads());
        s.append(TorchResults.cells(r.tokensPerSecond(), theirs, "%.0f"));
      }
      s.append('\n');
    }
    return s.toString();
  }

  /**
   * The whole report, as {@code results.md} holds it: the machine's choices (when asked for), the ceilings this run
   * measured, the training table, the encoders' table, the decoding table and any other benchmark, each only when
   * the run has it.
   */
  String markdown() {
    List<String> parts = new ArrayList<>();
    if (!machine.isEmpty()) {
      parts.add(machine);
    }
    String ceilingLines = ceilings.markdown(cpus);
    if (!ceilingLines.isEmpty()) {
      parts.add(ceilingLines);
    }
    if (!rows.isEmpty()) {
      parts.add(trainingTable());
    }
    if (!encoders.isEmpty()) {
      parts.add(encoders);
    }
    if (!decode.isEmpty()) {
      parts.add(decode);
    }
    if (!others.isEmpty()) {
      parts.add("Other benchmarks:\n\n| benchmark | score |\n|---|---:|\n" + String.join("\n", others) + "\n");
    }
    return parts.isEmpty() ? "No results.\n" : String.join("\n", parts);
  }
}
