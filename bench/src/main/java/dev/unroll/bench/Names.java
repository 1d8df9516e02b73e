package dev.unroll.bench;

import java.util.Arrays;
import java.util.function.Function;
import java.util.stream.Collectors;

/** Looking up an enum constant by the name a benchmark parameter uses for it. */
final class Names {
  private Names() {}

  /**
   * The constant of {@code type} whose {@code label} is {@code name}.
   *
   * @throws IllegalArgumentException naming the value and the accepted ones, e.g. "unknown training shape huge
   *     (accepted: tiny, baby, medium, gpt2)"
   */
  static <E extends Enum<E>> E lookup(Class<E> type, String name, Function<E, String> label, String what) {
    for (E e : type.getEnumConstants()) {
      if (label.apply(e).equals(name)) {
        return e;
      }
    }
    throw new IllegalArgumentException("unknown " + what + " " + name + " (accepted: " + accepted(type, label) + ")");
  }

  /** The labels of every constant, comma-separated, in declaration order. */
  private static <E extends Enum<E>> String accepted(Class<E> type, Function<E, String> label) {
    return Arrays.stream(type.getEnumConstants()).map(label).collect(Collectors.joining(", "));
  }
}
