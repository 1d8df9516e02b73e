package dev.unroll.bench;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import org.openjdk.jmh.results.RunResult;

/**
 * The machine's ceilings measured in the same run: the FMA peak ({@link PeakFmaBenchmark}, GFLOP/s on one thread
 * and on all hardware threads) and the memory read bandwidth ({@link MemoryBandwidthBenchmark}, bytes/s on one and
 * two threads, the median iteration). NaN where the run did not measure it.
 */
record Ceilings(double peakOne, double peakAll, double bandwidthOne, double bandwidthTwo) {

  static Ceilings of(Collection<RunResult> results) {
    double peakOne = Double.NaN;
    double peakAll = Double.NaN;
    double bandwidthOne = Double.NaN;
    double bandwidthTwo = Double.NaN;
    for (RunResult r : results) {
      String name = r.getParams().getBenchmark();
      switch (name.substring(name.lastIndexOf('.', name.lastIndexOf('.') - 1) + 1)) { // Class.method
        case "PeakFmaBenchmark.perThread" -> peakOne = gflops(r);
        case "PeakFmaBenchmark.allThreads" -> peakAll = gflops(r);
        case "MemoryBandwidthBenchmark.oneThread" -> bandwidthOne = bytesPerSecond(r);
        case "MemoryBandwidthBenchmark.twoThreads" -> bandwidthTwo = bytesPerSecond(r);
        default -> { }
      }
    }
    return new Ceilings(peakOne, peakAll, bandwidthOne, bandwidthTwo);
  }

  private static double gflops(RunResult r) {
    return r.getPrimaryResult().getScore() * PeakFmaBenchmark.FLOPS_PER_OP / 1e9;
  }

  private static double bytesPerSecond(RunResult r) {
    return median(r) * MemoryBandwidthBenchmark.bytesPerOperation();
  }

  /** The median of a result's measured iterations. */
  static double median(RunResult r) {
    return r.getPrimaryResult().getStatistics().getPercentile(50);
  }

  /** The FMA peak for {@code threads} threads: the one-thread figure, or the all-threads one scaled down. */
  double peak(int threads, int cpus) {
    return threads == 1 ? peakOne : peakAll * Math.min(threads, cpus) / cpus;
  }

  /** The read bandwidth in bytes/s at {@code threads} threads (1 or 2), NaN for any other count. */
  double bandwidth(int threads) {
    return threads == 1 ? bandwidthOne : threads == 2 ? bandwidthTwo : Double.NaN;
  }

  /** One line per ceiling this run measured, e.g. "Measured memory read bandwidth: 17.0 GB/s on one thread." */
  String markdown(int cpus) {
    List<String> peak = new ArrayList<>();
    if (!Double.isNaN(peakOne)) {
      peak.add(BenchMain.fmt("%.1f GFLOP/s on one thread", peakOne));
    }
    if (!Double.isNaN(peakAll)) {
      peak.add(BenchMain.fmt("%.1f GFLOP/s on all %d hardware threads", peakAll, cpus));
    }
    List<String> bandwidth = new ArrayList<>();
    if (!Double.isNaN(bandwidthOne)) {
      bandwidth.add(BenchMain.fmt("%.1f GB/s on one thread", bandwidthOne / 1e9));
    }
    if (!Double.isNaN(bandwidthTwo)) {
      bandwidth.add(BenchMain.fmt("%.1f GB/s on two threads", bandwidthTwo / 1e9));
    }
    StringBuilder s = new StringBuilder();
    if (!peak.isEmpty()) {
      s.append("Measured FMA peak: ").append(String.join(", ", peak)).append(".\n");
    }
    if (!bandwidth.isEmpty()) {
      s.append("Measured memory read bandwidth: ").append(String.join(", ", bandwidth)).append(".\n");
    }
    return s.toString();
  }
}
