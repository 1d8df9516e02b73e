package dev.unroll.samples;

import dev.unroll.runtime.Backend;
import java.nio.file.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine;

/**
 * The command line of {@link Main}, parsed and checked.
 *
 * @param backend where the model computes
 * @param steps training steps, or 0 for the task's default
 * @param seed seed of initialization, data order and sampling
 * @param lr peak learning rate, or NaN for the task's default
 * @param save where to write the trained model; its loss curve goes beside it (see {@link LossCurve})
 * @param text the text to train the character model on, or null for the sort task
 * @param help whether usage was asked for
 */
record Options(Backend backend, int steps, long seed, float lr, Path save, Text text, boolean help) {

  static final long DEFAULT_SEED = 1337;
  /** Where results go when {@code --save} does not say: a folder under the working directory. */
  static final Path DEFAULT_FOLDER = Path.of("out");

  /**
   * The text of the character model.
   *
   * @param file a file, or null for the tiny Shakespeare that ships with the samples
   */
  record Text(Path file) {
    /** The file's name, without its folder. */
    String name() {
      if (file == null) {
        return TextTask.BUNDLED_NAME;
      }
      return file.getFileName() == null ? file.toString() : file.getFileName().toString();
    }

    /** The file's name without its extension: the stem of the default model file. */
    String stem() {
      String name = name();
      int dot = name.lastIndexOf('.');
      return dot > 0 ? name.substring(0, dot) : name;
    }

    @Override
    public String toString() {
      return file == null ? TextTask.BUNDLED_NAME + " (bundled with the samples)" : file.toString();
    }
  }

  /** The usage that {@code --help} prints and a usage error follows with. */
  static String usage() {
    return CommandLines.usage(new Spec());
  }

  /** Parses and checks {@code args}; a flag takes its value as the next argument or after '='. */
  static Options parse(String[] args) throws CommandLines.UsageException {
    Spec spec = new Spec();
    CommandLine line = CommandLines.parse(spec, args);
    Text text = spec.text == null ? null : new Text(spec.text.equals(Spec.BUNDLED) ? null : path(spec.text));
    Path save = spec.save != null ? spec.save
        : DEFAULT_FOLDER.resolve((text == null ? "sort" : text.stem()) + ".safetensors");
    return new Options(spec.backend, spec.steps == null ? 0 : spec.steps, spec.seed,
        spec.lr == null ? Float.NaN : spec.lr, save, text, line.isUsageHelpRequested());
  }

  private static Path path(String value) throws CommandLines.UsageException {
    try {
      return new CommandLines.FileName().convert(value);
    } catch (CommandLine.TypeConversionException e) {
      throw new CommandLines.UsageException("invalid value for --text: " + e.getMessage());
    }
  }

  /** The options as picocli reads them; {@link #parse} turns them into an {@code Options}. */
  @Command(name = "Main", sortOptions = false,
      description = {
          "With no --text, trains SortModel (minGPT's sort task) from scratch and reports its accuracy on",
          "sequences held out from training. With --text, trains the byte-level CharModel on a text (the first",
          "90%% for training, the last 10%% for validation), reports validation loss and prints a sample.",
          "The model goes to --save FILE, its loss curve beside it (FILE's name with .loss.csv and .loss.png).",
          ""},
      footer = {
          "",
          "Exit status: 0 done, 1 error, 2 bad command line. Through Maven, from the repository root:",
          "  mvn -B -q -DskipTests -Psample verify -Dsample.args=\"--text\""})
  static final class Spec {
    /** {@code --text} without a file; NUL cannot be part of an argument, so no file name reads as this. */
    static final String BUNDLED = "\0bundled";

    @Option(names = "--text", arity = "0..1", paramLabel = "FILE", fallbackValue = BUNDLED,
        description = "train the character model on FILE; without FILE, on tiny Shakespeare (bundled)")
    String text;

    @Option(names = "--backend", paramLabel = "NAME",
        description = "SCALAR, SIMD or OPENCL (default SIMD; OPENCL: see README)")
    Backend backend = Backend.SIMD;

    @Option(names = "--steps", paramLabel = "N", converter = CommandLines.PositiveInt.class,
        description = "training steps, at least 1 (default: sort " + SortTask.DEFAULT_STEPS + ", text "
            + TextTask.DEFAULT_STEPS + ")")
    Integer steps;

    @Option(names = "--seed", paramLabel = "S", converter = CommandLines.WholeNumber.class,
        description = "seed of initialization, data order and sampling (default " + DEFAULT_SEED + ")")
    long seed = DEFAULT_SEED;

    @Option(names = "--lr", paramLabel = "X", converter = CommandLines.PositiveNumber.class,
        description = "peak learning rate, > 0 (default: sort " + SortTask.DEFAULT_LR + ", text "
            + TextTask.DEFAULT_LR + ")")
    Float lr;

    @Option(names = "--save", paramLabel = "FILE", converter = CommandLines.FileName.class,
        description = "write the trained model there, as safetensors (default: out/sort.safetensors, or "
            + "out/<text name>.safetensors)")
    Path save;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "print this")
    boolean help;
  }
}
