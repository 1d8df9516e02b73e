package dev.unroll.bench;

import dev.unroll.runtime.format.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * PyTorch's timings of the same encoder shapes, as {@code bench/pytorch/encoders.py --json FILE} writes them: items
 * per second per model ("text", "image"), mode ("inference", "training") and thread count, for the report's ratio
 * column, and the line that says where they came from.
 */
record TorchResults(String source, Map<String, Double> itemsPerSecond) {

  /**
   * Reads the script's JSON.
   *
   * @throws IOException when the file cannot be read
   * @throws IllegalArgumentException naming the file and what is wrong, when it is not the script's output
   */
  static TorchResults read(Path file) throws IOException {
    String text = Files.readString(file);
    Object root;
    try {
      root = Json.parse(text);
    } catch (Json.SyntaxException e) {
      throw new IllegalArgumentException(file + " is not JSON: " + e.getMessage());
    }
    if (!(root instanceof Map<?, ?> top) || !(top.get("results") instanceof List<?> results) || results.isEmpty()) {
      throw new IllegalArgumentException(file + " has no \"results\" list: write it with"
          + " bench/pytorch/encoders.py --json " + file);
    }
    Map<String, Double> items = new HashMap<>();
    for (Object o : results) {
      if (!(o instanceof Map<?, ?> r) || !(r.get("model") instanceof String model)
          || !(r.get("mode") instanceof String mode) || !(r.get("threads") instanceof Long threads)
          || !(r.get("items_per_s") instanceof Number rate)) {
        throw new IllegalArgumentException(file + ": a result without model, mode, threads and items_per_s: " + o);
      }
      items.put(key(model, mode, threads.intValue()), rate.doubleValue());
    }
    String source = BenchMain.fmt("PyTorch figures from %s: torch %s, %s, attention %s.", file, top.get("torch"),
        top.get("cpu"), top.get("attention"));
    return new TorchResults(source, Map.copyOf(items));
  }

  /** PyTorch's items/s for an encoder benchmark ("inference" or "trainingStep"), or NaN when the file has none. */
  double itemsPerSecond(NamedEncoder encoder, String benchmark, int threads) {
    String mode = benchmark.equals("trainingStep") ? "training" : benchmark;
    return itemsPerSecond.getOrDefault(key(encoder.torchModel, mode, threads), Double.NaN);
  }

  private static String key(String model, String mode, int threads) {
    return model + " " + mode + " " + threads;
  }
}
