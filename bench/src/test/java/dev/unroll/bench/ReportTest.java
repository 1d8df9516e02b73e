package dev.unroll.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.openjdk.jmh.results.RunResult;

/** The report from hand-built results: the ceilings always head it, and each table appears when its rows do. */
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
  }

  @Test
  void withoutThePeakThePercentIsNotAvailable() {
    String md = Report.of(List.of(Fixtures.averageTime("ScalarBenchmark.trainingStep", 40.0, "shape=baby",
        "threads=1")), 2).markdown();
    assertFalse(md.contains("Measured"), md);
    assertTrue(md.contains("| trainingStep | baby | SCALAR | 1 | 40.000 |"), md);
    assertTrue(md.contains("| n/a |"), md);
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
