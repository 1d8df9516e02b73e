package dev.unroll.bench;

import dev.unroll.runtime.Backend;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import org.openjdk.jmh.runner.BenchmarkListEntry;

/**
 * The benchmarks' {@code @Param}s and the values each accepts, so that a wrong {@code -p} is a usage error before
 * any fork starts rather than one failing fork per combination. JMH gives a {@code -p NAME=...} to every selected
 * benchmark that declares {@code NAME} and ignores it elsewhere; the training benchmarks' {@code shape}, the
 * encoder benchmarks' {@code encoder} and the decoding benchmarks' {@code model} are therefore different names. Each value is checked by the same lookup the
 * benchmark's {@code @Setup} uses.
 */
final class BenchParams {
  private BenchParams() {}

  /**
   * How a parameter's values are checked, by parameter name or, where one benchmark class accepts less or more,
   * by {@code Class.name} (the class's simple name). {@code BenchParamsTest} checks that every parameter of every
   * benchmark has an entry.
   */
  private static final Map<String, Consumer<String>> CHECKS = Map.of(
      "shape", NamedShape::named,
      "encoder", NamedEncoder::named,
      "model", DecodeModel::named,
      "weights", DecodeBenchmark::format,
      "OpenClDecodeBenchmark.weights", OpenClDecodeBenchmark::format,
      "threads", v -> wholeNumber("threads", v, 1, Integer.MAX_VALUE),
      // the processor's generated benchmark: 0 threads keeps the pool's default size
      "UnrolledShapes_TinyBenchmark.threads", v -> wholeNumber("threads", v, 0, Integer.MAX_VALUE),
      "UnrolledShapes_TinyBenchmark.backend",
      v -> Names.lookup(Backend.class, v, Backend::name, "backend"),
      // DataParallelRuns sets it (BenchMain --ranks); it is not a -p of the usual run
      "DataParallelBenchmark.zero", BenchParams::bool,
      // 2^13 floating-point operations are one row of PoolThresholdBenchmark's matmul
      "PoolThresholdBenchmark.log2Work", v -> wholeNumber("log2Work", v, 13, 30));

  private static void bool(String v) {
    if (!v.equals("true") && !v.equals("false")) {
      throw new IllegalArgumentException("expected true or false, got " + v);
    }
  }

  /**
   * Parses {@code -p} values ({@code NAME=V1,V2,...}) in order; a name given twice keeps the last, as JMH does.
   *
   * @throws UsageException for a value without {@code =}, an empty name or an empty value
   */
  static Map<String, List<String>> parse(List<String> specs) throws UsageException {
    Map<String, List<String>> params = new LinkedHashMap<>();
    for (String spec : specs) {
      int eq = spec.indexOf('=');
      if (eq <= 0 || eq == spec.length() - 1) {
        throw new UsageException("-p " + spec + ": expected NAME=VALUE[,VALUE...], e.g. -p shape=tiny,baby");
      }
      List<String> values = List.of(spec.substring(eq + 1).split(",", -1));
      if (values.contains("")) {
        throw new UsageException("-p " + spec + ": an empty value");
      }
      params.put(spec.substring(0, eq), values);
    }
    return params;
  }

  /**
   * Checks that every parameter is declared by at least one selected benchmark and that each of its values is
   * accepted by every selected benchmark that declares it.
   *
   * @throws UsageException naming the parameter, the value and what is accepted
   */
  static void check(Collection<BenchmarkListEntry> selected, Map<String, List<String>> params) throws UsageException {
    for (Map.Entry<String, List<String>> p : params.entrySet()) {
      String name = p.getKey();
      List<String> takers = new ArrayList<>();
      for (BenchmarkListEntry b : selected) {
        if (!declared(b).containsKey(name)) {
          continue;
        }
        String type = simpleName(b);
        takers.add(type);
        Consumer<String> check = checkFor(b, name);
        // a rule of one class names it: "-p weights=int8 (for OpenClDecodeBenchmark): ..."
        String rule = CHECKS.containsKey(type + "." + name) ? " (for " + type + ")" : "";
        for (String value : p.getValue()) {
          try {
            if (check != null) {
              check.accept(value);
            }
          } catch (IllegalArgumentException e) {
            throw new UsageException("-p " + name + "=" + value + rule + ": " + e.getMessage());
          }
        }
      }
      if (takers.isEmpty()) {
        throw new UsageException("-p " + name + ": no selected benchmark has a parameter " + name + "; "
            + describe(selected));
      }
    }
  }

  /** The parameters of the selected benchmarks, e.g. "their parameters: model (DecodeBenchmark), ...". */
  static String describe(Collection<BenchmarkListEntry> selected) {
    Map<String, TreeSet<String>> byName = new TreeMap<>();
    for (BenchmarkListEntry b : selected) {
      for (String name : declared(b).keySet()) {
        byName.computeIfAbsent(name, k -> new TreeSet<>()).add(simpleName(b));
      }
    }
    if (byName.isEmpty()) {
      return "the selected benchmarks have no parameters";
    }
    return "the selected benchmarks' parameters: " + byName.entrySet().stream()
        .map(e -> e.getKey() + " (" + String.join(", ", e.getValue()) + ")").collect(Collectors.joining(", "));
  }

  /** The parameters a benchmark declares, with their default values. */
  static Map<String, String[]> declared(BenchmarkListEntry b) {
    return b.getParams().orElse(Map.of());
  }

  /** The check that applies to a benchmark's parameter, or null when there is none. */
  static Consumer<String> checkFor(BenchmarkListEntry b, String name) {
    return CHECKS.getOrDefault(simpleName(b) + "." + name, CHECKS.get(name));
  }

  private static String simpleName(BenchmarkListEntry b) {
    String type = b.getUserClassQName();
    return type.substring(type.lastIndexOf('.') + 1);
  }

  /** Parameter {@code name}'s value, a whole number from {@code min} to {@code max}. */
  private static int wholeNumber(String name, String value, int min, int max) {
    int n;
    try {
      n = Integer.parseInt(value);
    } catch (NumberFormatException e) {
      n = min - 1;
    }
    if (n < min || n > max) {
      throw new IllegalArgumentException(name + " must be a whole number " + (max == Integer.MAX_VALUE ? ">= " + min
          : "from " + min + " to " + max) + ", got " + value);
    }
    return n;
  }

  /** A mistake on the command line: its message is for the user, and the program exits with status 2. */
  static final class UsageException extends Exception {
    private static final long serialVersionUID = 1;

    UsageException(String message) {
      super(message);
    }
  }
}
