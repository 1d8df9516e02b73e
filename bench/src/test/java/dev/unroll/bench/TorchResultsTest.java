package dev.unroll.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Reading bench/pytorch/encoders.py's and decoders.py's JSON: items/s by model, mode and threads, from one file or
 * both; clear errors for other files, for a figure given twice and for a decoder that is not Unroll's shape.
 */
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

  /**
   * decoders.py's output, shortened: its FLOP counts are the script's own (printed by a run of it), so reading it
   * checks that the script's GPT-2 has the generated classes' parameter count at every shape.
   */
  static final String DECODERS_JSON = """
      {
        "script": "decoders.py",
        "torch": "1.13.1",
        "cpu": "AMD EPYC 9B14",
        "attention": "matmul",
        "results": [
          {"model": "tiny", "mode": "training", "threads": 1, "items_per_s": 2000.0, "flops": 383188992},
          {"model": "tiny", "mode": "training", "threads": 2, "items_per_s": 3000.0, "flops": 383188992},
          {"model": "tiny", "mode": "forward", "threads": 1, "items_per_s": 8000, "flops": 127729664},
          {"model": "baby", "mode": "training", "threads": 1, "items_per_s": 900.0, "flops": 4033806336},
          {"model": "medium", "mode": "forward", "threads": 2, "items_per_s": 90.0, "flops": 24474550272},
          {"model": "gpt2", "mode": "training", "threads": 2, "items_per_s": 30.0, "flops": 191819022336}
        ]
      }
      """;

  static TorchResults write(Path dir, String json) throws IOException {
    return write(dir, "torch.json", json);
  }

  static TorchResults write(Path dir, String name, String json) throws IOException {
    return TorchResults.read(Files.writeString(dir.resolve(name), json));
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
    assertTrue(m.endsWith("torch.json has no \"results\" list: write it with bench/pytorch/encoders.py or"
        + " decoders.py --json "
        + dir.resolve("torch.json")), m);
    m = assertThrows(IllegalArgumentException.class,
        () -> write(dir, "{\"results\": [{\"model\": \"text\", \"mode\": \"inference\"}]}")).getMessage();
    assertTrue(m.contains("a result without model, mode, threads and items_per_s"), m);
    m = assertThrows(IllegalArgumentException.class, () -> write(dir, "[1, 2")).getMessage();
    assertTrue(m.contains("torch.json is not JSON: "), m);
  }

  @Test
  void tokensPerSecondByShapeBenchmarkAndThreads() throws IOException {
    TorchResults torch = write(dir, "decoders.json", DECODERS_JSON);
    assertEquals(2000.0, torch.tokensPerSecond(NamedShape.TINY, "trainingStep", 1));
    assertEquals(3000.0, torch.tokensPerSecond(NamedShape.TINY, "trainingStep", 2));
    assertEquals(8000.0, torch.tokensPerSecond(NamedShape.TINY, "forward", 1));
    assertEquals(90.0, torch.tokensPerSecond(NamedShape.MEDIUM, "forward", 2));
    assertEquals(30.0, torch.tokensPerSecond(NamedShape.GPT2, "trainingStep", 2));
    assertTrue(Double.isNaN(torch.tokensPerSecond(NamedShape.TINY, "forward", 2)));
    assertTrue(Double.isNaN(torch.tokensPerSecond(NamedShape.BABY, "forward", 1)));
    assertTrue(Double.isNaN(torch.tokensPerSecond(NamedShape.GPT2, "trainingStep", 1)));
    assertEquals("", torch.source(List.of("text", "image")));
    assertEquals("PyTorch figures from " + dir.resolve("decoders.json")
        + ": torch 1.13.1, AMD EPYC 9B14, attention matmul.", torch.source(List.of("tiny")));
  }

  /** Both scripts' files read together: each model's figures and the line of the file they came from. */
  @Test
  void encodersAndDecodersFromTwoFiles() throws IOException {
    Path encoders = Files.writeString(dir.resolve("encoders.json"), JSON);
    Path decoders = Files.writeString(dir.resolve("decoders.json"), DECODERS_JSON);
    TorchResults torch = TorchResults.read(List.of(encoders, decoders));
    assertEquals(40.0, torch.itemsPerSecond(NamedEncoder.MINILM, "inference", 1));
    assertEquals(2000.0, torch.tokensPerSecond(NamedShape.TINY, "trainingStep", 1));
    String line = ": torch 1.13.1, AMD EPYC 9B14, attention matmul.";
    assertEquals("PyTorch figures from " + encoders + line, torch.source(List.of("text", "image")));
    assertEquals("PyTorch figures from " + decoders + line, torch.source(List.of("tiny", "gpt2")));
    assertEquals("PyTorch figures from " + decoders + line + "\nPyTorch figures from " + encoders + line,
        torch.source());
  }

  @Test
  void aFigureGivenTwiceIsAClearError() throws IOException {
    Path decoders = Files.writeString(dir.resolve("decoders.json"), DECODERS_JSON);
    Path again = Files.writeString(dir.resolve("again.json"), DECODERS_JSON);
    String m = assertThrows(IllegalArgumentException.class, () -> TorchResults.read(List.of(decoders, again)))
        .getMessage();
    assertTrue(m.startsWith(again + ": a second figure for tiny training on 1 thread(s), given already by"
        + " PyTorch figures from " + decoders), m);
  }

  /** A decoder whose FLOP count is not the named shape's is another model, and its ratio would mean nothing. */
  @Test
  void aDecoderOfAnotherShapeIsAClearError() {
    String m = assertThrows(IllegalArgumentException.class,
        () -> write(dir, DECODERS_JSON.replace("4033806336", "4033806337"))).getMessage();
    assertTrue(m.endsWith("torch.json: baby training counts 4033806337 FLOPs per step, Unroll's baby shape"
        + " 4033806336: not the same model"), m);
    m = assertThrows(IllegalArgumentException.class,
        () -> write(dir, DECODERS_JSON.replace(", \"flops\": 127729664", ""))).getMessage();
    assertTrue(m.endsWith("torch.json: tiny forward has no whole \"flops\": write it with bench/pytorch/decoders.py"),
        m);
  }
}
