package dev.unroll.samples;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.unroll.runtime.Backend;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * The samples learn: opt-in, since each takes a minute or more ({@code mvn verify -Dunroll.learning=true}).
 */
@EnabledIfSystemProperty(named = "unroll.learning", matches = "true")
class LearningTest {
  private static final Path SHAKESPEARE = Path.of("..", "..", "shared", "data", "tinyshakespeare.txt");

  @Test
  void sortReachesNinetyNinePercentOnHeldOutSequences() throws Exception {
    double accuracy = SortTask.run(options(0, null), System.out);
    assertTrue(accuracy >= 0.99, "held-out accuracy " + accuracy);
  }

  @Test
  void characterModelLearnsShakespeare() throws Exception {
    assumeTrue(Files.isRegularFile(SHAKESPEARE), "no " + SHAKESPEARE + " (shared data); skipped");
    // A uniform guess over bytes costs ln 256 = 5.55; unigram statistics alone about 3.3.
    float loss = TextTask.run(options(300, SHAKESPEARE), TextTask.load(SHAKESPEARE), System.out);
    assertTrue(loss < 2.6f, "val loss after 300 steps: " + loss);
  }

  private static Options options(int steps, Path text) {
    return new Options(Backend.SIMD, steps, Options.DEFAULT_SEED, Float.NaN, null, text, false);
  }
}
