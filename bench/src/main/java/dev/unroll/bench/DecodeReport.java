package dev.unroll.bench;

import java.util.Collection;
import org.openjdk.jmh.results.RunResult;

/**
 * The decoding results as a table: tokens/s (median of the measured iterations), the weight bytes that rate reads
 * per second, and that as a share of the read bandwidth {@link MemoryBandwidthBenchmark} measured in the same run
 * at the same thread count ({@link Ceilings}).
 */
final class DecodeReport {
  private DecodeReport() {}

  /** The Markdown table, or an empty string when the run held no decoding benchmark. */
  static String markdown(Collection<RunResult> results, Ceilings ceilings) {
    StringBuilder table = new StringBuilder();
    for (RunResult r : results) {
      if (!r.getParams().getBenchmark().endsWith("DecodeBenchmark.decode")) {
        continue; // DecodeBenchmark and OpenClDecodeBenchmark
      }
      boolean device = r.getParams().getBenchmark().contains("OpenClDecodeBenchmark");
      if (table.isEmpty()) {
        table.append("| model | backend | weights | threads | tokens/s | weight GB/s | % of read bandwidth |\n"
            + "|---|---|---|---:|---:|---:|---:|\n");
      }
      String model = r.getParams().getParam("model");
      String weights = r.getParams().getParam("weights");
      int threads = device ? 0 : Integer.parseInt(r.getParams().getParam("threads"));
      double tokens = Ceilings.median(r);
      double bytes = tokens * DecodeBenchmark.weightBytesPerToken(DecodeModel.named(model), weights);
      double limit = device ? Double.NaN : ceilings.bandwidth(threads);
      table.append(BenchMain.fmt("| %s | %s | %s | %s | %.1f | %.2f | %s |%n", model, device ? "OPENCL" : "SIMD",
          weights, device ? "device" : Integer.toString(threads), tokens, bytes / 1e9,
          Double.isNaN(limit) ? "n/a" : BenchMain.fmt("%.0f%%", 100 * bytes / limit)));
    }
    return table.toString();
  }
}
