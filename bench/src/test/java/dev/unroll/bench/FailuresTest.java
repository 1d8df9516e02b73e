package dev.unroll.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.infra.BenchmarkParams;

/** A benchmark JMH started but returned no result for is a failure; the others are not. */
class FailuresTest {
  private static BenchmarkParams decode(String model) {
    return Fixtures.params("DecodeBenchmark.decode", Mode.Throughput, 3, "model=" + model, "threads=1",
        "weights=int8");
  }

  @Test
  void namesTheStartedBenchmarksWithoutAResult() {
    BenchmarkParams bandwidth = Fixtures.params("MemoryBandwidthBenchmark.oneThread", Mode.Throughput, 3);
    List<BenchmarkParams> started = List.of(decode("stories15M"), decode("stories110M"), bandwidth);
    var results = List.of(Fixtures.throughput("DecodeBenchmark.decode", new double[] {1, 2, 3}, "model=stories15M",
        "threads=1", "weights=int8"), Fixtures.throughput("MemoryBandwidthBenchmark.oneThread",
        new double[] {1, 2, 3}));
    assertEquals(List.of("DecodeBenchmark.decode (model=stories110M, threads=1, weights=int8)"),
        Failures.failed(started, results));
  }

  @Test
  void allReturnedIsNoFailure() {
    var results = List.of(Fixtures.throughput("DecodeBenchmark.decode", new double[] {5}, "model=stories15M",
        "threads=1", "weights=int8"));
    assertEquals(List.of(), Failures.failed(List.of(decode("stories15M")), results));
  }

  @Test
  void aResultInAnotherModeDoesNotCount() {
    BenchmarkParams average = Fixtures.params("DecodeBenchmark.decode", Mode.AverageTime, 3, "model=stories15M",
        "threads=1", "weights=int8");
    var results = List.of(Fixtures.throughput("DecodeBenchmark.decode", new double[] {5}, "model=stories15M",
        "threads=1", "weights=int8"));
    assertEquals(1, Failures.failed(List.of(decode("stories15M"), average), results).size());
  }

  @Test
  void nothingMeasuredIsNothingMissing() {
    BenchmarkParams warmupOnly = Fixtures.params("PeakFmaBenchmark.perThread", Mode.Throughput, 0);
    assertEquals(List.of(), Failures.failed(List.of(warmupOnly), List.of()));
  }

  @Test
  void labelWithoutParameters() {
    assertEquals("PeakFmaBenchmark.perThread",
        Failures.label(Fixtures.params("PeakFmaBenchmark.perThread", Mode.Throughput, 1)));
  }
}
