package dev.unroll.samples;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Loading text, and the learning-rate schedule. */
class TextTaskTest {
  @TempDir
  Path dir;

  @Test
  void missingFile() {
    SampleException e = assertThrows(SampleException.class, () -> TextTask.load(dir.resolve("absent.txt")));
    assertTrue(e.getMessage().startsWith("no such file: "), e.getMessage());
  }

  @Test
  void directory() {
    SampleException e = assertThrows(SampleException.class, () -> TextTask.load(dir));
    assertTrue(e.getMessage().contains("is a directory"), e.getMessage());
  }

  @Test
  void tooShortForBothSplits() throws Exception {
    Path file = dir.resolve("short.txt");
    Files.write(file, new byte[640]);
    SampleException e = assertThrows(SampleException.class, () -> TextTask.load(file));
    assertTrue(e.getMessage().contains("at least 641 bytes"), e.getMessage());
    Files.write(file, new byte[641]);
    assertEquals(641, TextTask.load(file).length);
  }

  @Test
  void anyBytesWill() throws Exception {
    Path file = dir.resolve("binary.bin");
    byte[] bytes = new byte[1000];
    for (int i = 0; i < bytes.length; i++) {
      bytes[i] = (byte) (i * 37);
    }
    Files.write(file, bytes);
    assertArrayEquals(bytes, TextTask.load(file));
  }

  @Test
  void theBundledShakespeareIsTheSharedFileUnchanged() throws Exception {
    byte[] bundled = TextTask.load(new Options.Text(null));
    assertEquals(1_115_394, bundled.length);
    assertEquals("First Citizen:\nBefore we proceed any further, hear me speak.",
        new String(bundled, 0, 60, java.nio.charset.StandardCharsets.US_ASCII));
    Path shared = Path.of("..", "..", "shared", "data", "tinyshakespeare.txt");
    if (Files.isRegularFile(shared)) { // a checkout beside the shared data: the copy is exact
      assertArrayEquals(Files.readAllBytes(shared), bundled);
    }
  }

  @Test
  void scheduleWarmsUpThenFallsToATenth() {
    float peak = 1e-3f;
    assertEquals(peak / 101, Schedule.cosine(0, 2000, 100, peak), 1e-12);
    assertEquals(peak * 100 / 101, Schedule.cosine(99, 2000, 100, peak), 1e-9);
    assertEquals(peak, Schedule.cosine(100, 2000, 100, peak), 1e-9);
    assertEquals((peak + peak / 10) / 2, Schedule.cosine(1050, 2000, 100, peak), 1e-9);
    assertEquals(peak / 10, Schedule.cosine(2000, 2000, 100, peak), 1e-9);
    float previous = Float.MAX_VALUE;
    for (int step = 100; step < 2000; step++) {
      float lr = Schedule.cosine(step, 2000, 100, peak);
      assertTrue(lr <= previous && lr >= peak / 10);
      previous = lr;
    }
  }
}
