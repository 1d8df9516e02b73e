package dev.unroll.bench;

import java.util.Collection;
import java.util.Locale;
import org.openjdk.jmh.results.RunResult;

/**
 * The decoding results as a table: tokens/s (median of the measured iterations), the weight bytes that rate reads
 * per second, and that as a share of the read bandwidth {@link MemoryBandwidthBenchmark} measured in the same run
 * at the same thread count.
 */
final class DecodeReport {
  private DecodeReport() {}

  /** The Markdown table, or an empty string when the run held no decoding benchmark. */
  static String markdown(Collection<RunResult> results) {
    double[] bandwidth = new double[3]; // bytes/s at 1 and 2 threads
    for (RunResult r : results) {
      String name = r.getParams().getBenchmark();
      if (name.endsWith("MemoryBandwidthBenchmark.oneThread")) {
        bandwidth[1] = median(r) * MemoryBandwidthBenchmark.bytesPerOperation();
      } else if (name.endsWith("MemoryBandwidthBenchmark.twoThreads")) {
        bandwidth[2] = median(r) * MemoryBandwidthBenchmark.bytesPerOperation();
      }
    }
    StringBuilder table = new StringBuilder();
    for (RunResult r : results) {
      if (!r.getParams().getBenchmark().endsWith("DecodeBenchmark.decode")) {
        continue; // DecodeBenchmark and OpenClDecodeBenchmark
      }
      boolean device = r.getParams().getBenchmark().contains("OpenClDecodeBenchmark");
      if (table.isEmpty()) {
        table.append(String.format(Locale.ROOT, "| shape | backend | weights | threads | tokens/s | weight GB/s | %% of read"
            + " bandwidth (%.1f / %.1f GB/s at 1 / 2 threads) |%n|---|---|---|---:|---:|---:|---:|%n",
            bandwidth[1] / 1e9, bandwidth[2] / 1e9));
      }
      String shape = r.getParams().getParam("shape");
      String weights = r.getParams().getParam("weights");
      int threads = device ? 0 : Integer.parseInt(r.getParams().getParam("threads"));
      double tokens = median(r);
      double bytes = tokens * DecodeBenchmark.weightBytesPerToken(shape, weights);
      double limit = !device && threads < bandwidth.length ? bandwidth[threads] : 0;
      table.append(String.format(Locale.ROOT, "| %s | %s | %s | %s | %.1f | %.2f | %s |%n", shape,
          device ? "OPENCL" : "SIMD", weights, device ? "device" : Integer.toString(threads), tokens, bytes / 1e9,
          limit > 0 ? String.format(Locale.ROOT, "%.0f%%", 100 * bytes / limit) : "n/a"));
    }
    return table.toString();
  }

  private static double median(RunResult r) {
    return r.getPrimaryResult().getStatistics().getPercentile(50);
  }
}
