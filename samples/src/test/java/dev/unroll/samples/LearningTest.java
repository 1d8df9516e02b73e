package dev.unroll.samples;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unroll.runtime.Backend;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * The samples learn: opt-in, since each takes a minute or more ({@code mvn verify -Dunroll.learning=true}).
 */
@EnabledIfSystemProperty(named = "unroll.learning", matches = "true")
class LearningTest {
  @TempDir
  Path dir;

  @Test
  void sortReachesNinetyNinePercentOnHeldOutSequences() throws Exception {
    Path model = dir.resolve("sort.safetensors");
    double accuracy = SortTask.run(options(0, model, null), System.out);
    assertTrue(accuracy >= 0.99, "held-out accuracy " + accuracy);
    assertTrue(Files.size(LossCurve.csvFile(model)) > 0 && Files.size(LossCurve.pngFile(model)) > 0);
  }

  @Test
  void characterModelLearnsTheBundledShakespeare() throws Exception {
    // A uniform guess over bytes costs ln 256 = 5.55; unigram statistics alone about 3.3.
    Options.Text text = new Options.Text(null);
    float loss = TextTask.run(options(300, dir.resolve("text.safetensors"), text), TextTask.load(text), System.out);
    assertTrue(loss < 2.6f, "val loss after 300 steps: " + loss);
  }

  @Test
  void digitsViTReachesNinetySevenPercentOnHeldOutImages() throws Exception {
    Path model = dir.resolve("digits.safetensors");
    double accuracy = DigitsTask.run(new Options(Options.Task.DIGITS, Backend.SIMD, 0, Options.DEFAULT_SEED,
        Float.NaN, model, null, false), System.out);
    assertTrue(accuracy >= 0.97, "held-out accuracy " + accuracy);
    assertTrue(Files.size(model) > 0 && Files.size(LossCurve.csvFile(model)) > 0);
  }

  private static Options options(int steps, Path save, Options.Text text) {
    return new Options(text == null ? Options.Task.SORT : Options.Task.TEXT, Backend.SIMD, steps, Options.DEFAULT_SEED,
        Float.NaN, save, text, false);
  }
}
