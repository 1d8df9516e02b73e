package dev.unroll.samples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unroll.runtime.Backend;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The command line. */
class OptionsTest {

  @Test
  void noArgumentsMeansTheSortTaskWithDefaults() throws Exception {
    Options o = Options.parse(new String[0]);
    assertEquals(Backend.SIMD, o.backend());
    assertEquals(0, o.steps());
    assertEquals(Options.DEFAULT_SEED, o.seed());
    assertTrue(Float.isNaN(o.lr()));
    assertNull(o.save());
    assertNull(o.text());
    assertFalse(o.help());
  }

  @Test
  void everyFlag() throws Exception {
    Options o = Options.parse(new String[] {"--backend", "scalar", "--steps", "12", "--seed", "-3", "--lr", "2e-3",
        "--save", "m.safetensors", "--text=in.txt", ""});
    assertEquals(Backend.SCALAR, o.backend());
    assertEquals(12, o.steps());
    assertEquals(-3, o.seed());
    assertEquals(2e-3f, o.lr());
    assertEquals(Path.of("m.safetensors"), o.save());
    assertEquals(Path.of("in.txt"), o.text());
  }

  @Test
  void help() throws Exception {
    assertTrue(Options.parse(new String[] {"--steps", "5", "-h"}).help());
  }

  @ParameterizedTest
  @ValueSource(strings = {"--steps 0", "--steps x", "--steps", "--lr -1", "--lr NaN", "--seed 1.5", "--backend gpu",
      "--bogus", "steps", "--text="})
  void badCommandLines(String line) {
    Options.UsageException e =
        assertThrows(Options.UsageException.class, () -> Options.parse(line.split(" ")));
    assertFalse(e.getMessage().isBlank());
  }

  @Test
  void exitStatus() {
    var sink = new java.io.PrintStream(java.io.OutputStream.nullOutputStream());
    assertEquals(2, Main.run(new String[] {"--steps", "-1"}, sink, sink));
    assertEquals(0, Main.run(new String[] {"--help"}, sink, sink));
    assertEquals(1, Main.run(new String[] {"--text", "no/such/file.txt"}, sink, sink));
  }
}
