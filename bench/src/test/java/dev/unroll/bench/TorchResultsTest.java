package dev.unroll.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reading bench/pytorch/encoders.py's JSON: items/s by model, mode and threads; clear errors for other files. */
class TorchResultsTest {
  @TempDir
  Path dir;

  /** The script's output, shortened to the fields the reader needs and a few beside them. */
  static final String JSON = """
      {
        "torch": "1.13.1",
        "cpu": "AMD EPYC 9B14",
        "avx512f": true,
        "attention": "matmul",
        "lengths": [128, 128],
        "results": [
          {"model": "text", "mode": "inference", "threads": 1, "median_ms": 200.0, "items_per_s": 40.0,
           "item": "sentences", "gflops": 12.5},
          {"model": "image", "mode": "training", "threads": 2, "median_ms": 800.0, "items_per_s": 10,
           "item": "images", "gflops": 30.1}
        ]
      }
      """;

  static TorchResults write(Path dir, String json) throws IOException {
    return TorchResults.read(Files.writeString(dir.resolve("torch.json"), json));
  }

  @Test
  void itemsPerSecondByModelModeAndThreads() throws IOException {
    TorchResults torch = write(dir, JSON);
    assertEquals(40.0, torch.itemsPerSecond(NamedEncoder.MINILM, "inference", 1));
    assertEquals(10.0, torch.itemsPerSecond(NamedEncoder.VITTINY, "trainingStep", 2));
    assertTrue(Double.isNaN(torch.itemsPerSecond(NamedEncoder.MINILM, "inference", 2)));
    assertTrue(Double.isNaN(torch.itemsPerSecond(NamedEncoder.VITTINY, "inference", 2)));
    assertEquals("PyTorch figures from " + dir.resolve("torch.json")
        + ": torch 1.13.1, AMD EPYC 9B14, attention matmul.", torch.source());
  }

  @Test
  void otherFilesAreClearErrors() {
    String m = assertThrows(IllegalArgumentException.class, () -> write(dir, "{\"results\": []}")).getMessage();
    assertTrue(m.endsWith("torch.json has no \"results\" list: write it with bench/pytorch/encoders.py --json "
        + dir.resolve("torch.json")), m);
    m = assertThrows(IllegalArgumentException.class,
        () -> write(dir, "{\"results\": [{\"model\": \"text\", \"mode\": \"inference\"}]}")).getMessage();
    assertTrue(m.contains("a result without model, mode, threads and items_per_s"), m);
    m = assertThrows(IllegalArgumentException.class, () -> write(dir, "[1, 2")).getMessage();
    assertTrue(m.contains("torch.json is not JSON: "), m);
  }
}
