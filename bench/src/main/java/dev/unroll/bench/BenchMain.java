package dev.unroll.bench;

import java.util.Collection;
import java.util.Locale;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.CommandLineOptionException;
import org.openjdk.jmh.runner.options.CommandLineOptions;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.results.format.ResultFormatType;

/**
 * Runs the JMH benchmarks (any JMH command-line options pass through), writes {@code bench-results.json}, and
 * prints each training-step result as tokens/s and GFLOP/s, with FLOPs counted by the plan.
 */
public final class BenchMain {
  private BenchMain() {}

  public static void main(String[] args) throws RunnerException, CommandLineOptionException {
    CommandLineOptions cli = new CommandLineOptions(args);
    var options = new OptionsBuilder().parent(cli).include(cli.getIncludes().isEmpty() ? "dev.unroll.bench" : "")
        .resultFormat(ResultFormatType.JSON).result("bench-results.json").build();
    Collection<RunResult> results = new Runner(options).run();
    System.out.println();
    System.out.println("| benchmark | shape | backend | ms/op (median) | tokens/s | GFLOP/s |");
    System.out.println("|---|---|---|---:|---:|---:|");
    for (RunResult r : results) {
      var params = r.getParams();
      NamedShape shape = NamedShape.valueOf(params.getParam("shape").toUpperCase(Locale.ROOT));
      String bench = params.getBenchmark().substring(params.getBenchmark().lastIndexOf('.') + 1);
      double ms = r.getPrimaryResult().getStatistics().getPercentile(50);
      double flops = bench.equals("forward") ? shape.trainingFlops / 3.0 : shape.trainingFlops;
      System.out.printf(Locale.ROOT, "| %s | %s | %s | %.2f | %.0f | %.1f |%n", bench, params.getParam("shape"),
          params.getParam("backend"), ms, shape.tokens / (ms / 1000), flops / (ms / 1000) / 1e9);
    }
  }
}
