package dev.unroll.bench;

import dev.unroll.runtime.format.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * PyTorch's timings of the same shapes, as {@code bench/pytorch/encoders.py --json FILE} (models "text" and
 * "image", modes "inference" and "training", items sentences or images) and {@code bench/pytorch/decoders.py --json
 * FILE} (models "tiny" to "gpt2", modes "training" and "forward", items tokens) write them: items per second per
 * model, mode and thread count, for the report's ratio columns, and per model the line that says which file, torch
 * and CPU its figures came from. Both scripts write the same record layout, so one reader serves the two files.
 */
record TorchResults(Map<String, String> sourceOfModel, Map<String, Double> itemsPerSecond) {

  /** Reads one script's JSON. */
  static TorchResults read(Path file) throws IOException {
    return read(List.of(file));
  }

  /**
   * Reads the scripts' JSON files into one set of figures.
   *
   * @throws IOException when a file cannot be read
   * @throws IllegalArgumentException naming the file and what is wrong, when it is not a script's output, when two
   *     files time the same model, mode and threads, or when a decoder's FLOP count differs from the named shape's
   *     (then it is not the same model)
   */
  static TorchResults read(List<Path> files) throws IOException {
    Map<String, String> sources = new LinkedHashMap<>();
    Map<String, Double> items = new HashMap<>();
    for (Path file : files) {
      Map<?, ?> top = parse(file);
      String source = BenchMain.fmt("PyTorch figures from %s: torch %s, %s, attention %s.", file, top.get("torch"),
          top.get("cpu"), top.get("attention"));
      for (Object o : (List<?>) top.get("results")) {
        if (!(o instanceof Map<?, ?> r) || !(r.get("model") instanceof String model)
            || !(r.get("mode") instanceof String mode) || !(r.get("threads") instanceof Long threads)
            || !(r.get("items_per_s") instanceof Number rate)) {
          throw new IllegalArgumentException(file + ": a result without model, mode, threads and items_per_s: " + o);
        }
        checkFlops(file, model, mode, r.get("flops"));
        String key = key(model, mode, threads.intValue());
        if (items.put(key, rate.doubleValue()) != null) {
          throw new IllegalArgumentException(file + ": a second figure for " + model + " " + mode + " on " + threads
              + " thread(s), given already by " + sources.get(model) + " Give each model's timings in one file.");
        }
        sources.putIfAbsent(model, source);
      }
    }
    return new TorchResults(Map.copyOf(sources), Map.copyOf(items));
  }

  private static Map<?, ?> parse(Path file) throws IOException {
    Object root;
    try {
      root = Json.parse(Files.readString(file));
    } catch (Json.SyntaxException e) {
      throw new IllegalArgumentException(file + " is not JSON: " + e.getMessage());
    }
    if (!(root instanceof Map<?, ?> top) || !(top.get("results") instanceof List<?> results) || results.isEmpty()) {
      throw new IllegalArgumentException(file + " has no \"results\" list: write it with"
          + " bench/pytorch/encoders.py or decoders.py --json " + file);
    }
    return top;
  }

  /**
   * A decoder's figures count only where the script built the same model: its FLOPs per step (from its own count
   * of the parameters) must be the generated class's, a training step's or a third of it for the forward.
   */
  private static void checkFlops(Path file, String model, String mode, Object flops) {
    NamedShape shape = Arrays.stream(NamedShape.values()).filter(s -> s.label().equals(model)).findFirst()
        .orElse(null);
    if (shape == null) {
      return; // an encoder: encoders.py's own --check ties its count to the closed form
    }
    long want = mode.equals("forward") ? shape.trainingFlops / 3 : shape.trainingFlops;
    if (!(flops instanceof Long got)) {
      throw new IllegalArgumentException(file + ": " + model + " " + mode + " has no whole \"flops\": write it with"
          + " bench/pytorch/decoders.py");
    }
    if (got != want) {
      throw new IllegalArgumentException(BenchMain.fmt("%s: %s %s counts %d FLOPs per step, Unroll's %s shape %d:"
          + " not the same model", file, model, mode, got, model, want));
    }
  }

  /** The lines naming the files that gave figures for any of {@code models}, one per file; empty without any. */
  String source(Collection<String> models) {
    return models.stream().map(sourceOfModel::get).filter(s -> s != null).distinct().sorted()
        .collect(Collectors.joining("\n"));
  }

  /** The lines naming every file read. */
  String source() {
    return source(sourceOfModel.keySet());
  }

  /** PyTorch's items/s for an encoder benchmark ("inference" or "trainingStep"), or NaN when there is none. */
  double itemsPerSecond(NamedEncoder encoder, String benchmark, int threads) {
    return rate(encoder.torchModel, benchmark, threads);
  }

  /** PyTorch's tokens/s for a training benchmark ("trainingStep" or "forward"), or NaN when there is none. */
  double tokensPerSecond(NamedShape shape, String benchmark, int threads) {
    return rate(shape.label(), benchmark, threads);
  }

  /** The ratio columns' two cells, e.g. " 40.00 | 2.00 |", PyTorch's figure in {@code format}; n/a without it. */
  static String cells(double ours, double theirs, String format) {
    return Double.isNaN(theirs) ? " n/a | n/a |" : BenchMain.fmt(" " + format + " | %.2f |", theirs, ours / theirs);
  }

  private double rate(String model, String benchmark, int threads) {
    String mode = benchmark.equals("trainingStep") ? "training" : benchmark;
    return itemsPerSecond.getOrDefault(key(model, mode, threads), Double.NaN);
  }

  private static String key(String model, String mode, int threads) {
    return model + " " + mode + " " + threads;
  }
}
