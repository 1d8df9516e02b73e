package dev.unroll.samples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The training display in both modes. */
class ProgressTest {
  private static final Pattern LOG_LINE =
      Pattern.compile("step +(\\d+)/(\\d+) loss (\\d+\\.\\d{4})  ([\\d,]+) tok/s  (\\d+):(\\d\\d)");

  @Test
  void logModeWritesPlainLinesEveryTenthOfTheRunAndNoCarriageReturn() {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
    Progress progress = new Progress(out, 250, 100, Progress.Mode.LOG);
    for (int step = 1; step <= 250; step++) {
      progress.update(step, 2f);
      if (step == 100) {
        progress.pause();
        progress.println("step 100: val loss 1.5000");
        progress.resume();
      }
    }
    progress.finish();
    String text = bytes.toString(StandardCharsets.UTF_8);
    assertFalse(text.contains("\r"), text);
    List<String> lines = text.lines().toList();
    // every 25 steps: 10 lines, and the evaluation's line after step 100's
    assertEquals(11, lines.size(), text);
    assertEquals("step 100: val loss 1.5000", lines.get(4));
    int expected = 25;
    for (String line : lines) {
      if (line.contains("val loss")) {
        continue;
      }
      var m = LOG_LINE.matcher(line);
      assertTrue(m.matches(), line);
      assertEquals(expected, Integer.parseInt(m.group(1).strip()), line);
      assertEquals("250", m.group(2));
      assertEquals("2.0000", m.group(3), "a constant loss smooths to itself");
      expected += 25;
    }
  }

  @Test
  void logModeEndsWithTheLastStepOnce() {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    Progress progress = new Progress(new PrintStream(bytes, true, StandardCharsets.UTF_8), 7, 1, Progress.Mode.LOG);
    for (int step = 1; step <= 7; step++) {
      progress.update(step, 1f);
    }
    progress.finish();
    List<String> lines = bytes.toString(StandardCharsets.UTF_8).lines().toList();
    assertEquals(7, lines.size(), "fewer steps than LOG_LINES: one line each");
    assertTrue(lines.getLast().startsWith("step 7/7 loss"), lines.getLast());
  }

  @Test
  void terminalModeRedrawsOneLineInPlace() {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
    Progress progress = new Progress(out, 1000, 100, Progress.Mode.TERMINAL);
    for (int step = 1; step <= 1000; step++) {
      progress.update(step, 1f);
    }
    progress.finish();
    String text = bytes.toString(StandardCharsets.UTF_8);
    // drawn at step 1 (the first redraw is due at once) and at the last step, at most ten times a second between
    assertTrue(text.startsWith("\rstep    1/1000 [........................] loss 1.0000"), text);
    String last = text.substring(text.lastIndexOf('\r') + 1);
    assertTrue(last.startsWith("step 1000/1000 [########################] loss 1.0000 "), last);
    assertTrue(last.endsWith("\n"), "finish ends the line");
    assertEquals(1, text.chars().filter(c -> c == '\n').count(), "one line, redrawn with \\r");
  }

  @Test
  void terminalModeClearsTheLineForAMessage() {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    Progress progress =
        new Progress(new PrintStream(bytes, true, StandardCharsets.UTF_8), 10, 1, Progress.Mode.TERMINAL);
    progress.update(1, 1f);
    progress.println("hello");
    String text = bytes.toString(StandardCharsets.UTF_8);
    int width = text.indexOf('\r', 1) - 1;
    assertTrue(text.endsWith("\r" + " ".repeat(width) + "\rhello\n"), text);
  }

  @Test
  void smallLossesKeepThreeSignificantDigits() {
    assertEquals("2.5000", Progress.loss(2.5f));
    assertEquals("0.0010", Progress.loss(0.001f));
    assertEquals("3.21e-05", Progress.loss(3.21e-5f));
    assertEquals("0.0000", Progress.loss(0f));
  }

  @Test
  void modeOfAStreamThatIsNotStandardOutputIsLog() {
    assertEquals(Progress.Mode.LOG, Progress.Mode.of(new PrintStream(new ByteArrayOutputStream())));
  }
}
