package dev.unroll.samples;

import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.TypeConversionException;
import picocli.CommandLine.UnmatchedArgumentException;
import picocli.CommandLine;

/**
 * What the samples' command lines ({@link Main}, {@code stories.Generate}) share: parsing with picocli into an
 * annotated spec, one wording for every usage error, the exit statuses, and converters that check a value's range
 * as they read it, so that a bad value is reported before anything runs.
 */
public final class CommandLines {
  /** Exit status of a run that did what it was asked. */
  public static final int OK = 0;
  /** Exit status of a run that failed: a missing file, a diverged training. */
  public static final int ERROR = 1;
  /** Exit status of a command line that cannot be understood. */
  public static final int USAGE = 2;

  private CommandLines() {}

  /** A command line that cannot be understood; its message names the option or argument and what is accepted. */
  public static final class UsageException extends Exception {
    private static final long serialVersionUID = 1L;

    public UsageException(String message) {
      super(message);
    }
  }

  /**
   * Fills the {@code @Option} fields of {@code spec} from {@code args} (enum values in any case; empty arguments
   * skipped, as a shell or Maven may pass one for an empty variable) and returns the parser, which also knows
   * whether {@code --help} was asked for.
   */
  public static CommandLine parse(Object spec, String[] args) throws UsageException {
    CommandLine line = commandLine(spec);
    try {
      line.parseArgs(Arrays.stream(args).filter(arg -> !arg.isEmpty()).toArray(String[]::new));
    } catch (ParameterException e) {
      throw new UsageException(message(e));
    }
    return line;
  }

  /** The usage of {@code spec}'s command, as {@code --help} prints it. */
  public static String usage(Object spec) {
    return commandLine(spec).getUsageMessage(CommandLine.Help.Ansi.OFF);
  }

  private static CommandLine commandLine(Object spec) {
    return new CommandLine(spec).setCaseInsensitiveEnumValuesAllowed(true).setUsageHelpWidth(110);
  }

  /**
   * One wording for picocli's errors: an unknown option is called unknown, a stray word unexpected, a bad value
   * names its option and says what is accepted (the converter's reason, or picocli's list of an enum's values).
   */
  static String message(ParameterException e) {
    if (e instanceof UnmatchedArgumentException unmatched && !unmatched.getUnmatched().isEmpty()) {
      String first = unmatched.getUnmatched().getFirst();
      if (first.startsWith("-")) {
        List<String> suggestions = unmatched.getSuggestions();
        return "unknown option: " + first + (suggestions.isEmpty() ? "" : " (did you mean "
            + String.join(" or ", suggestions) + "?)");
      }
      return "unexpected argument: " + first + " (options only; a value goes after its option)";
    }
    if (e.getCause() instanceof TypeConversionException reason && e.getArgSpec() instanceof OptionSpec option) {
      return "invalid value for " + option.longestName() + ": " + reason.getMessage();
    }
    String message = e.getMessage();
    return message.isEmpty() ? message : Character.toLowerCase(message.charAt(0)) + message.substring(1);
  }

  /** A whole number at least 1. */
  public static final class PositiveInt implements ITypeConverter<Integer> {
    @Override
    public Integer convert(String value) {
      try {
        int n = Integer.parseInt(value.strip());
        if (n > 0) {
          return n;
        }
      } catch (NumberFormatException e) {
        // reported below
      }
      throw new TypeConversionException("'" + value + "' is not a positive whole number");
    }
  }

  /** Any whole number (a seed). */
  public static final class WholeNumber implements ITypeConverter<Long> {
    @Override
    public Long convert(String value) {
      try {
        return Long.parseLong(value.strip());
      } catch (NumberFormatException e) {
        throw new TypeConversionException("'" + value + "' is not a whole number");
      }
    }
  }

  /** A finite number greater than 0 (a learning rate). */
  public static final class PositiveNumber implements ITypeConverter<Float> {
    @Override
    public Float convert(String value) {
      return number(value, x -> x > 0, "a number > 0");
    }
  }

  /** A finite number, 0 or more (a temperature: 0 is greedy). */
  public static final class NonNegativeNumber implements ITypeConverter<Float> {
    @Override
    public Float convert(String value) {
      return number(value, x -> x >= 0, "a number >= 0");
    }
  }

  /** A number in (0, 1] (a probability mass: top-p). */
  public static final class Probability implements ITypeConverter<Float> {
    @Override
    public Float convert(String value) {
      return number(value, x -> x > 0 && x <= 1, "a number in (0, 1]");
    }
  }

  /** A path that is not empty. */
  public static final class FileName implements ITypeConverter<Path> {
    @Override
    public Path convert(String value) {
      if (value.isBlank()) {
        throw new TypeConversionException("'' is not a file name");
      }
      try {
        return Path.of(value);
      } catch (InvalidPathException e) {
        throw new TypeConversionException("'" + value + "' is not a valid path: " + e.getReason());
      }
    }
  }

  private interface FloatTest {
    boolean accepts(float value);
  }

  private static float number(String value, FloatTest test, String accepted) {
    try {
      float x = Float.parseFloat(value.strip());
      if (Float.isFinite(x) && test.accepts(x)) {
        return x;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw new TypeConversionException("'" + value + "' is not " + accepted);
  }
}
