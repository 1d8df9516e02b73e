package dev.unroll.samples;

import dev.unroll.runtime.Backend;
import java.nio.file.Path;
import java.util.Locale;

/**
 * The command line of {@link Main}, parsed.
 *
 * @param backend where the model computes
 * @param steps training steps, or 0 for the task's default
 * @param seed seed of initialization, data order and sampling
 * @param lr peak learning rate, or NaN for the task's default
 * @param save where to write the trained model, or null
 * @param text the text file to train the character model on, or null for the sort task
 * @param help whether usage was asked for
 */
record Options(Backend backend, int steps, long seed, float lr, Path save, Path text, boolean help) {

  static final long DEFAULT_SEED = 1337;

  static final String USAGE = """
      usage: Main [--text FILE] [--backend SCALAR|SIMD|OPENCL] [--steps N] [--seed S] [--lr X] [--save FILE]

      With no --text, trains SortModel (minGPT's sort task) from scratch and reports its accuracy on sequences
      held out from training. With --text FILE, trains the byte-level CharModel on FILE (the first 90%% for
      training, the last 10%% for validation), reports validation loss and prints a sample.

        --text FILE      train the character model on FILE
        --backend NAME   SCALAR, SIMD or OPENCL (default SIMD; OPENCL: see README)
        --steps N        training steps (default: sort %d, text %d)
        --seed S         seed of initialization, data order and sampling (default %d)
        --lr X           peak learning rate (default: sort %s, text %s)
        --save FILE      write the trained model there (safetensors)
        --help           print this

      Through Maven, from the repository root:
        mvn -B -q -DskipTests -Psample verify -Dsample.args="--text ../shared/data/tinyshakespeare.txt"
      """.formatted(SortTask.DEFAULT_STEPS, TextTask.DEFAULT_STEPS, DEFAULT_SEED, Main.plain(SortTask.DEFAULT_LR),
      Main.plain(TextTask.DEFAULT_LR));

  /** A command line that cannot be understood; its message says why. */
  static final class UsageException extends Exception {
    private static final long serialVersionUID = 1L;

    UsageException(String message) {
      super(message);
    }
  }

  /** Parses {@code args}; flags take their value as the next argument or after '='. */
  static Options parse(String[] args) throws UsageException {
    Backend backend = Backend.SIMD;
    int steps = 0;
    long seed = DEFAULT_SEED;
    float lr = Float.NaN;
    Path save = null;
    Path text = null;
    for (int i = 0; i < args.length; i++) {
      String arg = args[i];
      if (arg.isEmpty()) {
        continue;
      }
      if (arg.equals("--help") || arg.equals("-h")) {
        return new Options(backend, steps, seed, lr, save, text, true);
      }
      String flag = arg;
      String value = null;
      int eq = arg.indexOf('=');
      if (arg.startsWith("--") && eq > 0) {
        flag = arg.substring(0, eq);
        value = arg.substring(eq + 1);
      }
      switch (flag) {
        case "--backend", "--steps", "--seed", "--lr", "--save", "--text" -> {
          if (value == null) {
            if (i + 1 >= args.length) {
              throw new UsageException(flag + " needs a value");
            }
            value = args[++i];
          }
        }
        default -> throw new UsageException("unknown argument: " + arg);
      }
      switch (flag) {
        case "--backend" -> backend = parseBackend(value);
        case "--steps" -> steps = parseSteps(value);
        case "--seed" -> seed = parseSeed(value);
        case "--lr" -> lr = parseLr(value);
        case "--save" -> save = parsePath(flag, value);
        case "--text" -> text = parsePath(flag, value);
        default -> throw new AssertionError(flag);
      }
    }
    return new Options(backend, steps, seed, lr, save, text, false);
  }

  private static Backend parseBackend(String value) throws UsageException {
    try {
      return Backend.valueOf(value.toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new UsageException("--backend must be SCALAR, SIMD or OPENCL, got " + value);
    }
  }

  private static int parseSteps(String value) throws UsageException {
    try {
      int steps = Integer.parseInt(value);
      if (steps > 0) {
        return steps;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw new UsageException("--steps must be a positive whole number, got " + value);
  }

  private static long parseSeed(String value) throws UsageException {
    try {
      return Long.parseLong(value);
    } catch (NumberFormatException e) {
      throw new UsageException("--seed must be a whole number, got " + value);
    }
  }

  private static float parseLr(String value) throws UsageException {
    try {
      float lr = Float.parseFloat(value);
      if (lr > 0 && Float.isFinite(lr)) {
        return lr;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw new UsageException("--lr must be a positive number, got " + value);
  }

  private static Path parsePath(String flag, String value) throws UsageException {
    if (value.isBlank()) {
      throw new UsageException(flag + " needs a file name");
    }
    try {
      return Path.of(value);
    } catch (java.nio.file.InvalidPathException e) {
      throw new UsageException(flag + ": not a valid path: " + value);
    }
  }
}
