package dev.unroll.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openjdk.jmh.results.RunResult;

/**
 * The report from hand-built results: the ceilings always head it, and each table (training, encoders, decoding)
 * appears when its rows do.
 */
class ReportTest {
  private static final double GB = 1e9;
  /** Operations per second that read {@code gbPerSecond} GB/s in the bandwidth benchmark. */
  private static double bandwidthOps(double gbPerSecond) {
    return gbPerSecond * GB / MemoryBandwidthBenchmark.bytesPerOperation();
  }

  private static RunResult bandwidth(String method, double gbPerSecond) {
    double ops = bandwidthOps(gbPerSecond);
    // the median is the report's figure: the outliers on either side must not move it
    return Fixtures.throughput("MemoryBandwidthBenchmark." + method, new double[] {ops * 0.5, ops, ops * 3});
  }

  private static RunResult peak(String method, double gflops) {
    double ops = gflops * GB / PeakFmaBenchmark.FLOPS_PER_OP;
    return Fixtures.throughput("PeakFmaBenchmark." + method, new double[] {ops, ops, ops});
  }

  @Test
  void bandwidthAppearsWithoutAnyDecodeRow() {
    List<RunResult> results = List.of(bandwidth("oneThread", 11.7), bandwidth("twoThreads", 15.6),
        Fixtures.averageTime("TrainingStepBenchmark.trainingStep", 2.0, "shape=tiny", "threads=1"));
    String md = Report.of(results, 2).markdown();
    assertTrue(md.contains("Measured memory read bandwidth: 11.7 GB/s on one thread, 15.6 GB/s on two threads.\n"),
        md);
    assertFalse(md.contains("| model |"), md);
    assertTrue(md.contains("| trainingStep | tiny | SIMD | 1 |"), md);
  }

  @Test
  void bandwidthAloneIsAReport() {
    String md = Report.of(List.of(bandwidth("oneThread", 17.0)), 2).markdown();
    assertEquals("Measured memory read bandwidth: 17.0 GB/s on one thread.\n", md);
  }

  @Test
  void noResultsSaySo() {
    assertEquals("No results.\n", Report.of(List.of(), 2).markdown());
  }

  @Test
  void trainingRowAgainstTheMeasuredPeak() {
    List<RunResult> results = List.of(peak("perThread", 50), peak("allThreads", 80),
        Fixtures.averageTime("TrainingStepBenchmark.trainingStep", 4.0, "shape=tiny", "threads=1"),
        Fixtures.averageTime("TrainingStepBenchmark.forward", 1.0, "shape=tiny", "threads=2"));
    Report report = Report.of(results, 2);
    String md = report.markdown();
    assertTrue(md.startsWith("Measured FMA peak: 50.0 GFLOP/s on one thread, 80.0 GFLOP/s on all 2 hardware"
        + " threads.\n"), md);
    NamedShape tiny = NamedShape.TINY;
    double stepGflops = tiny.trainingFlops / 0.004 / GB;
    assertTrue(md.contains(BenchMain.fmt("| trainingStep | tiny | SIMD | 1 | 4.000 | %.0f | %.2f | %.1f |",
        tiny.tokens / 0.004, stepGflops, 100 * stepGflops / 50)), md);
    double forwardGflops = tiny.trainingFlops / 3.0 / 0.001 / GB;
    assertTrue(md.contains(BenchMain.fmt("| forward | tiny | SIMD | 2 | 1.000 | %.0f | %.2f | %.1f |",
        tiny.tokens / 0.001, forwardGflops, 100 * forwardGflops / 80)), md);
    assertEquals(2, report.rows().size());
    assertFalse(md.contains("PyTorch"), md);
  }

  /**
   * With decoders.py's figures, the training table gets PyTorch's tokens/s and the ratio under the line naming
   * their file: n/a where PyTorch has no figure for that benchmark and thread count, and on the device. The
   * encoders' table, which the file has no figures for, stays as without it.
   */
  @Test
  void trainingRowsBesidePyTorch(@TempDir Path dir) throws IOException {
    RunResult encoder = Fixtures.averageTime("EncoderBenchmark.trainingStep", 1000, "encoder=minilm", "threads=1");
    List<RunResult> results = List.of(peak("perThread", 50), peak("allThreads", 80),
        Fixtures.averageTime("TrainingStepBenchmark.trainingStep", 4.0, "shape=tiny", "threads=1"),
        Fixtures.averageTime("TrainingStepBenchmark.trainingStep", 2.0, "shape=tiny", "threads=2"),
        Fixtures.averageTime("TrainingStepBenchmark.forward", 1.0, "shape=tiny", "threads=2"),
        Fixtures.averageTime("OpenClBenchmark.trainingStep", 8.0, "shape=tiny"),
        Fixtures.averageTime("TrainingStepBenchmark.trainingStep", 400.0, "shape=gpt2", "threads=2"), encoder);
    TorchResults torch = TorchResultsTest.write(dir, TorchResultsTest.DECODERS_JSON);
    String md = Report.of(results, 2, torch).markdown();
    NamedShape tiny = NamedShape.TINY;
    NamedShape gpt2 = NamedShape.GPT2;
    String table = torch.source() + "\n\n"
        + "| benchmark | shape | backend | threads | ms/op | tokens/s | GFLOP/s | % of peak | PyTorch tok/s |"
        + " x PyTorch |\n|---|---|---|---:|---:|---:|---:|---:|---:|---:|\n"
        + BenchMain.fmt("| trainingStep | tiny | OPENCL | device | 8.000 | %.0f | %.2f | n/a | n/a | n/a |%n",
            tiny.tokens / 0.008, tiny.trainingFlops / 0.008 / GB)
        + BenchMain.fmt("| trainingStep | tiny | SIMD | 1 | 4.000 | %.0f | %.2f | %.1f | 2000 | %.2f |%n",
            tiny.tokens / 0.004, tiny.trainingFlops / 0.004 / GB, tiny.trainingFlops / 0.004 / GB / 50 * 100,
            tiny.tokens / 0.004 / 2000)
        + BenchMain.fmt("| trainingStep | tiny | SIMD | 2 | 2.000 | %.0f | %.2f | %.1f | 3000 | %.2f |%n",
            tiny.tokens / 0.002, tiny.trainingFlops / 0.002 / GB, tiny.trainingFlops / 0.002 / GB / 80 * 100,
            tiny.tokens / 0.002 / 3000)
        + BenchMain.fmt("| forward | tiny | SIMD | 2 | 1.000 | %.0f | %.2f | %.1f | n/a | n/a |%n",
            tiny.tokens / 0.001, tiny.trainingFlops / 3.0 / 0.001 / GB, tiny.trainingFlops / 3.0 / 0.001 / GB / 80
                * 100)
        + BenchMain.fmt("| trainingStep | gpt2 | SIMD | 2 | 400.000 | %.0f | %.2f | %.1f | 30 | %.2f |%n",
            gpt2.tokens / 0.4, gpt2.trainingFlops / 0.4 / GB, gpt2.trainingFlops / 0.4 / GB / 80 * 100,
            gpt2.tokens / 0.4 / 30);
    assertTrue(md.contains("\n\n" + table + "\n"), md);
    String encoders = EncoderReport.markdown(EncoderReport.rows(List.of(encoder), Ceilings.of(results), 2, null),
        null);
    assertTrue(md.endsWith("\n" + encoders), md);
    assertEquals(1, md.split("PyTorch figures from", -1).length - 1, md);
  }

  @Test
  void withoutThePeakThePercentIsNotAvailable() {
    String md = Report.of(List.of(Fixtures.averageTime("ScalarBenchmark.trainingStep", 40.0, "shape=baby",
        "threads=1")), 2).markdown();
    assertFalse(md.contains("Measured"), md);
    assertTrue(md.contains("| trainingStep | baby | SCALAR | 1 | 40.000 |"), md);
    assertTrue(md.contains("| n/a |"), md);
  }

  /**
   * Encoder rows: the median iteration (not the mean), items/s of the batch, GFLOP/s from the generated class's
   * count (inference a third of it), the peak for the thread count, PyTorch's items/s and the ratio; a device row
   * has neither peak nor PyTorch figure. The decoders' table is the same as without them, and the chart draws the
   * encoders in positions/s after the decoders.
   */
  @Test
  void encoderRowsBesideTheDecodersWithThePeakAndPyTorch(@TempDir Path dir) throws IOException {
    RunResult decoder = Fixtures.averageTime("TrainingStepBenchmark.trainingStep", 4.0, "shape=tiny", "threads=1");
    List<RunResult> results = List.of(peak("perThread", 50), peak("allThreads", 80), decoder,
        Fixtures.averageTimes("EncoderBenchmark.inference", new double[] {100, 100, 400}, "encoder=minilm",
            "threads=1"),
        Fixtures.averageTime("EncoderBenchmark.trainingStep", 400, "encoder=vittiny", "threads=2"),
        Fixtures.averageTime("OpenClEncoderBenchmark.inference", 50, "encoder=vittiny"));
    TorchResults torch = TorchResultsTest.write(dir, TorchResultsTest.JSON);
    Report report = Report.of(results, 2, torch);
    String md = report.markdown();
    String decoders = Report.of(List.of(peak("perThread", 50), peak("allThreads", 80), decoder), 2).markdown();
    assertTrue(md.startsWith(decoders + "\n" + torch.source() + "\n\n"), md);
    double inference = NamedEncoder.MINILM.trainingFlops / 3.0 / 0.1 / GB;
    double step = NamedEncoder.VITTINY.trainingFlops / 0.4 / GB;
    String table = "| benchmark | encoder | backend | threads | median ms/op | items/s | GFLOP/s | % of peak |"
        + " PyTorch items/s | x PyTorch |\n|---|---|---|---:|---:|---:|---:|---:|---:|---:|\n"
        + BenchMain.fmt("| inference | minilm | SIMD | 1 | 100.00 | 80.00 sentences | %.2f | %.1f | 40.00 | 2.00 |%n",
            inference, 100 * inference / 50)
        + BenchMain.fmt("| inference | vittiny | OPENCL | device | 50.00 | 160.00 images | %.2f | n/a | n/a | n/a |%n",
            NamedEncoder.VITTINY.trainingFlops / 3.0 / 0.05 / GB)
        + BenchMain.fmt("| trainingStep | vittiny | SIMD | 2 | 400.00 | 20.00 images | %.2f | %.1f | 10.00 | 2.00 |%n",
            step, 100 * step / 80);
    assertTrue(md.endsWith(table), md);
    assertEquals(1, report.rows().size());
    assertEquals(3, report.encoderRows().size());
    List<Report.Row> chart = report.chartRows();
    assertEquals(List.of("tiny", "minilm", "vittiny", "vittiny"), chart.stream().map(Report.Row::shape).toList());
    assertEquals(80.0 * 128, chart.get(1).tokensPerSecond(), 1e-6);
    assertEquals(20.0 * 197, chart.get(3).tokensPerSecond(), 1e-6);
    assertEquals("inference, SIMD, 1 thread", Chart.label(chart.get(1)));
  }

  @Test
  void withoutPyTorchTheEncoderTableHasNoRatio() {
    String md = Report.of(List.of(Fixtures.averageTime("EncoderBenchmark.trainingStep", 1000, "encoder=minilm",
        "threads=1")), 2).markdown();
    assertTrue(md.startsWith("| benchmark | encoder | backend | threads | median ms/op | items/s | GFLOP/s | % of"
        + " peak |\n|---|---|---|---:|---:|---:|---:|---:|\n| trainingStep | minilm | SIMD | 1 | 1000.00 | 8.00"
        + " sentences | "), md);
    assertTrue(md.endsWith(" | n/a |\n"), md);
    assertFalse(md.contains("PyTorch"), md);
  }

  @Test
  void decodeRowsUseTheModelAndTheBandwidthOfTheirThreadCount() {
    double tokens = 20;
    List<RunResult> results = List.of(bandwidth("oneThread", 10.0), bandwidth("twoThreads", 16.0),
        Fixtures.throughput("DecodeBenchmark.decode", new double[] {tokens, tokens, tokens}, "model=stories15M",
            "threads=2", "weights=bf16"),
        Fixtures.throughput("OpenClDecodeBenchmark.decode", new double[] {tokens, tokens, tokens},
            "model=stories110M", "weights=f32"));
    String md = Report.of(results, 2).markdown();
    assertTrue(md.contains("Measured memory read bandwidth: 10.0 GB/s on one thread, 16.0 GB/s on two threads."),
        md);
    double bytes = tokens * 2 * DecodeModel.STORIES15M.parameters;
    assertTrue(md.contains(BenchMain.fmt("| stories15M | SIMD | bf16 | 2 | 20.0 | %.2f | %.0f%% |", bytes / GB,
        100 * bytes / (16.0 * GB))), md);
    assertTrue(md.contains(BenchMain.fmt("| stories110M | OPENCL | f32 | device | 20.0 | %.2f | n/a |",
        tokens * 4 * DecodeModel.STORIES110M.parameters / GB)), md);
  }
}
