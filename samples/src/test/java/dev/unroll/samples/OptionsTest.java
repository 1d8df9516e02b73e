package dev.unroll.samples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unroll.runtime.Backend;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The command line of {@link Main}. */
class OptionsTest {
  @TempDir
  Path dir;

  @Test
  void noArgumentsMeansTheSortTaskWithDefaults() throws Exception {
    Options o = Options.parse(new String[0]);
    assertEquals(Options.Task.SORT, o.task());
    assertEquals(Backend.SIMD, o.backend());
    assertEquals(0, o.steps());
    assertEquals(Options.DEFAULT_SEED, o.seed());
    assertTrue(Float.isNaN(o.lr()));
    assertEquals(Path.of("out", "sort.safetensors"), o.save());
    assertNull(o.text());
    assertFalse(o.help());
  }

  /** Empty arguments are skipped, as before picocli (an empty -Dsample.args element, say). */
  @Test
  void everyFlag() throws Exception {
    Options o = Options.parse(new String[] {"--backend", "scalar", "--steps", "12", "--seed", "-3", "--lr", "2e-3",
        "--save", "m.safetensors", "--text=in.txt", ""});
    assertEquals(Backend.SCALAR, o.backend());
    assertEquals(12, o.steps());
    assertEquals(-3, o.seed());
    assertEquals(2e-3f, o.lr());
    assertEquals(Path.of("m.safetensors"), o.save());
    assertEquals(Path.of("in.txt"), o.text().file());
    assertEquals(Options.Task.TEXT, o.task(), "--text alone chooses the text task");
  }

  /** Each task by name, in any case; the model goes to out/<task>.safetensors unless --save says otherwise. */
  @ParameterizedTest
  @CsvSource({"sort, SORT", "Text, TEXT", "digits, DIGITS", "BRACKETS, BRACKETS", "neighbours, NEIGHBOURS"})
  void tasks(String name, Options.Task task) throws Exception {
    Options o = Options.parse(new String[] {"--task", name, "--seed", "7", "--backend", "scalar"});
    assertEquals(task, o.task());
    assertEquals(7, o.seed());
    assertEquals(Backend.SCALAR, o.backend());
    String stem = task == Options.Task.TEXT ? "tinyshakespeare" : task.id();
    assertEquals(Path.of("out", stem + ".safetensors"), o.save());
    assertEquals(task == Options.Task.TEXT, o.text() != null, "a text for the text task only");
    Options saved = Options.parse(new String[] {"--task=" + name, "--save", "m/x.safetensors", "--steps", "3"});
    assertEquals(Path.of("m/x.safetensors"), saved.save());
    assertEquals(3, saved.steps());
  }

  @Test
  void textWithTheTextTask() throws Exception {
    Options o = Options.parse(new String[] {"--task", "text", "--text", "a.txt"});
    assertEquals(Path.of("a.txt"), o.text().file());
    assertNull(Options.parse(new String[] {"--text", "--task", "text"}).text().file());
  }

  @Test
  void textWithoutAFileIsTheBundledShakespeare() throws Exception {
    for (String[] args : new String[][] {{"--text"}, {"--text", "--steps", "5"}, {"--steps", "5", "--text"}}) {
      Options o = Options.parse(args);
      assertNull(o.text().file(), String.join(" ", args));
      assertEquals(Path.of("out", "tinyshakespeare.safetensors"), o.save());
    }
    Options o = Options.parse(new String[] {"--text", "books/war.and.peace.txt"});
    assertEquals(Path.of("books/war.and.peace.txt"), o.text().file());
    assertEquals(Path.of("out", "war.and.peace.safetensors"), o.save(), "the default model is named after the text");
  }

  @Test
  void help() throws Exception {
    assertTrue(Options.parse(new String[] {"--steps", "5", "-h"}).help());
    assertTrue(Options.parse(new String[] {"--help"}).help());
    Run run = run("--help");
    assertEquals(0, run.status);
    assertEquals("", run.err);
    assertTrue(run.out.startsWith("Usage: Main "), run.out);
    for (String option : new String[] {"--task", "--text", "--backend", "--steps", "--seed", "--lr", "--save", "--help",
        "digits", "brackets", "neighbours"}) {
      assertTrue(run.out.contains(option), option + " in " + run.out);
    }
  }

  /** Each bad command line is exit status 2, with a message that names the problem and what is accepted. */
  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "--frobnicate                      | unknown option: --frobnicate",
      "--steps 5 --frobnicate            | unknown option: --frobnicate",
      "--frobnicate 3 --steps 5          | unknown option: --frobnicate",
      "--stpes 5                         | unknown option: --stpes (did you mean --steps?)",
      "stray                             | unexpected argument: stray",
      "--steps 5 stray                   | unexpected argument: stray",
      "--steps 0                         | invalid value for --steps: '0' is not a positive whole number",
      "--steps x                         | invalid value for --steps: 'x' is not a positive whole number",
      "--steps                           | --steps",
      "--lr -1                           | invalid value for --lr: '-1' is not a number > 0",
      "--lr NaN                          | invalid value for --lr: 'NaN' is not a number > 0",
      "--lr Infinity                     | invalid value for --lr: 'Infinity' is not a number > 0",
      "--seed 1.5                        | invalid value for --seed: '1.5' is not a whole number",
      "--backend gpu                     | invalid value for --backend: expected one of [SCALAR, SIMD, OPENCL]",
      "--text=                           | invalid value for --text: '' is not a file name",
      "--save=                           | invalid value for --save: '' is not a file name",
      "--task images                     | invalid value for --task: expected one of [SORT, TEXT, DIGITS, BRACKETS, "
          + "NEIGHBOURS]",
      "--task                            | --task",
      "--task digits --text              | --text goes with --task text (or alone), not with --task digits",
      "--text x.txt --task brackets      | --text goes with --task text (or alone), not with --task brackets",
      "--checkpoint-every 0              | invalid value for --checkpoint-every: '0' is not a positive whole number",
      "--checkpoint-minutes -1           | invalid value for --checkpoint-minutes: '-1' is not a number >= 0",
      "--checkpoint-minutes x            | invalid value for --checkpoint-minutes: 'x' is not a number >= 0",
      "--keep-checkpoints 0              | invalid value for --keep-checkpoints: '0' is not a positive whole number",
      "--checkpoints=                    | invalid value for --checkpoints: '' is not a file name",
      "--resume=yes                      | --resume"})
  void badCommandLines(String line, String message) {
    CommandLines.UsageException e =
        assertThrows(CommandLines.UsageException.class, () -> Options.parse(line.split(" ")));
    assertTrue(e.getMessage().contains(message), e.getMessage());
    // Through run: the message and the usage on stderr, nothing on stdout, nothing computed.
    Run run = run(line.split(" "));
    assertEquals(2, run.status);
    assertEquals("", run.out);
    assertTrue(run.err.startsWith("error: " + e.getMessage() + "\n\nUsage: Main "), run.err);
    assertFalse(run.err.contains("Exception"), run.err);
  }

  @Test
  void exitStatus() throws Exception {
    assertEquals(2, run("--steps", "-1").status);
    assertEquals(0, run("--help").status);
    Run missing = run("--text", dir.resolve("no/such/file.txt").toString(), "--save",
        dir.resolve("sub/m").toString());
    assertEquals(1, missing.status);
    assertEquals("", missing.out, "the missing file is the first and only thing reported");
    assertTrue(missing.err.startsWith("error: no such file: "), missing.err);
    assertFalse(Files.exists(dir.resolve("sub")), "no folder made for a run that did not start");
  }

  @Test
  void aSaveThatCannotBeWrittenFailsBeforeTraining() throws Exception {
    Run folder = run("--save", dir.toString(), "--steps", "1");
    assertEquals(1, folder.status);
    assertEquals("", folder.out);
    assertTrue(folder.err.contains("is a folder; give a file name"), folder.err);
    Path file = Files.writeString(dir.resolve("plain"), "x");
    Run under = run("--save", file.resolve("m.safetensors").toString(), "--steps", "1");
    assertEquals(1, under.status);
    assertEquals("", under.out);
    assertEquals("error: cannot write " + file.resolve("m.safetensors") + ": " + file
        + " is in the way (a file, not a folder)\n", under.err);
  }

  private record Run(int status, String out, String err) {}

  private static Run run(String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int status = Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8));
    return new Run(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }
}
