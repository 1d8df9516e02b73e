package dev.unroll.samples;

import java.io.PrintStream;
import java.math.BigDecimal;
import java.math.MathContext;
import java.util.Locale;

/**
 * Trains a sample model from scratch and shows that it learned.
 *
 * <ul>
 *   <li>No arguments: {@link SortModel} on minGPT's sort task; prints the accuracy on held-out sequences and a
 *       few worked examples.
 *   <li>{@code --text [FILE]}: {@link CharModel} on the characters of FILE, or of the tiny Shakespeare that ships
 *       with the samples ({@link ByteModel} on its bytes when its characters do not fit); prints validation loss as
 *       it trains, then a sample.
 *   <li>{@code --task digits}: {@link DigitsModel}, a ViT, on the UCI handwritten digits that ship with the
 *       samples; prints the held-out accuracy and the confusion matrix.
 *   <li>{@code --task brackets}: {@link BracketsModel}, a BERT, learns whether a string of brackets is balanced;
 *       prints the accuracy on held-out strings.
 *   <li>{@code --task neighbours}: {@link DigitsModel} trained as for digits; prints, for held-out images, the
 *       training images nearest by the cosine similarity of their embeddings.
 * </ul>
 *
 * <p>Each saves the model ({@code --save FILE}, by default under {@code out/} in the working directory) and beside
 * it the loss curve, as CSV and as a PNG plot ({@link LossCurve}). While training it writes training checkpoints,
 * from which {@code --resume} continues a run that was stopped exactly as it would have gone on ({@link Training}).
 * Started by Open MPI's {@code mpirun -np N}, the N processes train one model data-parallel, with the same options;
 * rank 0 alone prints and writes ({@link Ranks}).
 *
 * <p>From the repository root: {@code mvn -B -q -DskipTests -Psample verify}, with arguments in
 * {@code -Dsample.args="..."}; {@code --help} lists them. Exit status: 0 when done, 1 on an error, 2 on a bad
 * command line, which is reported before anything else is printed or computed.
 */
public final class Main {
  private Main() {}

  /**
   * Runs the sample that {@code args} choose and exits with its status. Under {@code mpirun} every rank trains
   * ({@link Ranks}); rank 0 alone prints, and the others' errors come prefixed with their rank.
   */
  public static void main(String[] args) {
    Ranks ranks;
    try {
      ranks = Ranks.world();
    } catch (RuntimeException e) {
      // Started by mpirun, but MPI would not initialise: the MpiException says why.
      System.err.println("error: " + e.getMessage());
      System.exit(CommandLines.ERROR);
      return;
    }
    System.exit(run(args, ranks.out(System.out), ranks.err(System.err)));
  }

  /** Runs the sample that {@code args} choose and returns the exit status. */
  static int run(String[] args, PrintStream out, PrintStream err) {
    Options options;
    try {
      options = Options.parse(args);
    } catch (CommandLines.UsageException e) {
      if (Ranks.world().root()) { // every rank has the same command line: one report is enough
        err.println("error: " + e.getMessage());
        err.println();
        err.print(Options.usage());
      }
      return CommandLines.USAGE;
    }
    if (options.help()) {
      out.print(Options.usage());
      return CommandLines.OK;
    }
    try {
      // Files first, so that a missing text or an unwritable --save is the first and only thing reported.
      TextTask.Corpus corpus = options.text() == null ? null : TextTask.load(options.text());
      // Rank 0 writes the files, so it alone checks them; every rank stops when it finds a problem.
      Ranks.world().onRoot(() -> {
        SampleFiles.checkWritable(options.save());
        new CheckpointFolder(options.checkpoints(), Ranks.world()).checkBeforeRun();
        return "";
      });
      switch (options.task()) {
        case SORT -> {
          banner(out, options, "SortModel", UnrolledSortModel.SHAPE.describe(), UnrolledSortModel.PARAMETER_COUNT,
              UnrolledSortModel.FLOPS_PER_STEP);
          SortTask.run(options, out);
        }
        case TEXT -> {
          TextTask.Model model = corpus.model();
          banner(out, options, model.name, model.shape.describe(), model.parameters, model.flopsPerStep);
          TextTask.run(options, corpus, out);
        }
        case DIGITS, NEIGHBOURS -> {
          banner(out, options, "DigitsModel", UnrolledDigitsModel.SHAPE.describe(),
              UnrolledDigitsModel.PARAMETER_COUNT, UnrolledDigitsModel.FLOPS_PER_STEP);
          if (options.task() == Options.Task.DIGITS) {
            DigitsTask.run(options, out);
          } else {
            NeighboursTask.run(options, out);
          }
        }
        case BRACKETS -> {
          banner(out, options, "BracketsModel", UnrolledBracketsModel.SHAPE.describe(),
              UnrolledBracketsModel.PARAMETER_COUNT, UnrolledBracketsModel.FLOPS_PER_STEP);
          BracketsTask.run(options, out);
        }
      }
      out.flush();
      return CommandLines.OK;
    } catch (SampleException e) {
      out.flush();
      err.println("error: " + e.getMessage());
      return CommandLines.ERROR;
    } catch (Training.Stopped e) {
      // Its checkpoints cannot be resumed or written: perhaps in the middle of training's line.
      return error(out, err, e.getMessage(), null);
    } catch (ArithmeticException e) {
      // forward found a loss that is not finite: training diverged.
      return error(out, err, "training diverged: " + e.getMessage(), "try a smaller --lr");
    } catch (IllegalStateException e) {
      // AdamW found a gradient that is not finite, and changed nothing.
      return error(out, err, "training stopped: " + e.getMessage(), null);
    } catch (RuntimeException e) {
      // No OpenCL platform for --backend OPENCL, say: the exception's message says what is wrong.
      return error(out, err, e.getMessage() == null ? e.toString() : e.getMessage(), null);
    }
  }

  /** Ends the line that training was drawing, reports {@code message} (and {@code hint}); the error status. */
  private static int error(PrintStream out, PrintStream err, String message, String hint) {
    out.println();
    out.flush();
    err.println("error: " + message);
    if (hint != null) {
      err.println(hint);
    }
    return CommandLines.ERROR;
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
