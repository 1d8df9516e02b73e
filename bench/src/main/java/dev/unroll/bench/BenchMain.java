package dev.unroll.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.results.format.ResultFormatType;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.CommandLineOptionException;
import org.openjdk.jmh.runner.options.CommandLineOptions;
import org.openjdk.jmh.runner.options.OptionsBuilder;

/**
 * Runs the JMH benchmarks (any JMH command-line options pass through; without a benchmark pattern, the model
 * benchmarks at every named shape and the peak-FMA benchmark), then writes into {@code bench-results/}: JMH's JSON
 * ({@code jmh.json}), a Markdown table ({@code results.md}: tokens/s, GFLOP/s and % of the peak measured in the
 * same run) and a chart of tokens/s per shape ({@code tokens-per-second.png}). The table is printed too.
 */
public final class BenchMain {
  private BenchMain() {}

  /** What runs when no pattern is given: the shapes, the scalar baseline, and the peak. */
  private static final String DEFAULT_INCLUDE =
      "dev\\.unroll\\.bench\\.(TrainingStepBenchmark|ScalarBenchmark|PeakFmaBenchmark|DecodeBenchmark"
          + "|MemoryBandwidthBenchmark|OpenClBenchmark|OpenClDecodeBenchmark)\\.";

  public static void main(String[] args) throws RunnerException, CommandLineOptionException, IOException {
    Path out = Path.of(System.getProperty("bench.out", "bench-results"));
    Files.createDirectories(out);
    CommandLineOptions cli = new CommandLineOptions(args);
    // A pattern on the command line replaces the default set (an empty extra pattern would match everything).
    var builder = new OptionsBuilder().parent(cli);
    if (cli.getIncludes().isEmpty()) {
      builder.include(DEFAULT_INCLUDE);
    }
    var options = builder.resultFormat(ResultFormatType.JSON).result(out.resolve("jmh.json").toString()).build();
    Collection<RunResult> results = new Runner(options).run();

    Report report = Report.of(results, Runtime.getRuntime().availableProcessors());
    String table = report.markdown() + System.lineSeparator() + DecodeReport.markdown(results);
    System.out.println();
    System.out.println(table);
    Files.writeString(out.resolve("results.md"), table);
    List<Report.Row> rows = new ArrayList<>(report.rows());
    String wrote = "Wrote " + out.resolve("jmh.json") + " and " + out.resolve("results.md");
    if (!rows.isEmpty()) {
      Chart.write(rows, out.resolve("tokens-per-second.png"));
      wrote += " and " + out.resolve("tokens-per-second.png");
    }
    System.out.println(wrote);
  }

  static String fmt(String format, Object... args) {
    return String.format(Locale.ROOT, format, args);
  }
}
