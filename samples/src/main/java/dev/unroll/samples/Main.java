package dev.unroll.samples;

import dev.unroll.runtime.CausalLm;
import java.io.IOException;
import java.io.PrintStream;
import java.math.BigDecimal;
import java.math.MathContext;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Trains a sample model from scratch and shows that it learned.
 *
 * <ul>
 *   <li>No arguments: {@link SortModel} on minGPT's sort task; prints the accuracy on held-out sequences and a
 *       few worked examples.
 *   <li>{@code --text FILE}: {@link CharModel} on the bytes of FILE; prints validation loss as it trains, then a
 *       sample.
 * </ul>
 *
 * <p>From the repository root: {@code mvn -B -q -DskipTests -Psample verify}, with arguments in
 * {@code -Dsample.args="..."}; {@code --help} lists them. Exit status: 0 when done, 1 on an error, 2 on a bad
 * command line.
 */
public final class Main {
  private Main() {}

  /** Runs the sample that {@code args} choose and exits with its status. */
  public static void main(String[] args) {
    System.exit(run(args, System.out, System.err));
  }

  /** Runs the sample that {@code args} choose and returns the exit status. */
  static int run(String[] args, PrintStream out, PrintStream err) {
    Options options;
    try {
      options = Options.parse(args);
    } catch (Options.UsageException e) {
      err.println("error: " + e.getMessage());
      err.println();
      err.print(Options.USAGE);
      return 2;
    }
    if (options.help()) {
      out.print(Options.USAGE);
      return 0;
    }
    try {
      if (options.text() == null) {
        banner(out, options, "SortModel", UnrolledSortModel.SHAPE.describe(), UnrolledSortModel.PARAMETER_COUNT,
            UnrolledSortModel.FLOPS_PER_STEP);
        SortTask.run(options, out);
      } else {
        // Load the file before the banner, so that a bad one is the first and only thing reported.
        byte[] data = TextTask.load(options.text());
        banner(out, options, "CharModel", UnrolledCharModel.SHAPE.describe(), UnrolledCharModel.PARAMETER_COUNT,
            UnrolledCharModel.FLOPS_PER_STEP);
        TextTask.run(options, data, out);
      }
      out.flush();
      return 0;
    } catch (SampleException e) {
      out.flush();
      err.println("error: " + e.getMessage());
      return 1;
    } catch (ArithmeticException e) {
      // forward found a loss that is not finite: training diverged.
      out.println();
      out.flush();
      err.println("error: training diverged: " + e.getMessage());
      err.println("try a smaller --lr");
      return 1;
    } catch (IllegalStateException e) {
      // AdamW found a gradient that is not finite, and changed nothing.
      out.println();
      out.flush();
      err.println("error: training stopped: " + e.getMessage());
      return 1;
    }
  }

  /** Writes {@code model} to {@code path} when it is not null. */
  static void save(CausalLm model, Path path, PrintStream out) throws SampleException {
    if (path == null) {
      return;
    }
    try {
      model.save(path);
    } catch (IOException e) {
      throw new SampleException("cannot save the model to " + path + ": " + e.getMessage());
    }
    out.println("saved the model to " + path);
  }

  /** {@code value} to three significant digits, without an exponent: 5.0E-4 as "0.0005". */
  static String plain(float value) {
    return new BigDecimal(value).round(new MathContext(3)).stripTrailingZeros().toPlainString();
  }

  private static void banner(PrintStream out, Options options, String name, String shape, int parameters,
      long flopsPerStep) {
    out.printf(Locale.ROOT, "Unroll sample on Java %s, %d processors, backend %s, seed %d%n", Runtime.version(),
        Runtime.getRuntime().availableProcessors(), options.backend(), options.seed());
    out.printf(Locale.ROOT, "model: %s (%s): %,d parameters, %.3f GFLOP per training step%n", name, shape,
        parameters, flopsPerStep / 1e9);
  }
}
