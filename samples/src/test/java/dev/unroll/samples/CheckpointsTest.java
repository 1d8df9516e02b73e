package dev.unroll.samples;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unroll.runtime.AdamW;
import dev.unroll.runtime.Backend;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The trainer's checkpoints in one process: each task resumed from a run stopped after a checkpoint ends as the run
 * left alone does, bit for bit; the options; and what {@code --resume} refuses, and how it says so. A run is stopped
 * by its standard output, which throws once the trainer prints the line of a chosen checkpoint: the run ends there,
 * as if killed, and its checkpoints stay. ({@link KillAndResumeTest} kills a child JVM for real.)
 */
class CheckpointsTest {
  /** The runs left alone, by task and steps: each made once, for every run resumed to compare with. */
  private static final Map<String, Path> ALONE = new HashMap<>();

  @TempDir
  static Path shared;

  @TempDir
  Path dir;

  /**
   * Each task's data state comes back: the sort and brackets tasks' generator, the digits' order of images (stopped
   * after step 50, past the end of the first epoch at step 45, and before: step 20). Checkpoints by steps, and by
   * time: every 6 microseconds, so after every step.
   */
  @ParameterizedTest
  @CsvSource({"sort, 12, --checkpoint-every=3, 6", "digits, 60, --checkpoint-every=5, 50",
      "digits, 60, --checkpoint-every=10, 20", "brackets, 10, --checkpoint-every=2, 6",
      "sort, 12, --checkpoint-minutes=1e-7, 4"})
  void aResumedRunEndsAsTheRunLeftAloneDoes(String task, int steps, String every, int stopAt) throws Exception {
    Path alone = ALONE.computeIfAbsent(task + " " + steps, key -> {
      Path model = shared.resolve(key.replace(' ', '-') + "/" + task + ".safetensors");
      assertEquals(0, run(null, "--task", task, "--steps", Integer.toString(steps), "--save", model.toString())
          .status);
      return model;
    });

    Path model = dir.resolve("stopped/" + task + ".safetensors");
    Path folder = Options.Checkpoints.folderBeside(model);
    String[] args = {"--task", task, "--steps", Integer.toString(steps), "--save", model.toString(), every};
    Run stopped = run("checkpoint: step " + stopAt + " ", args);
    assertEquals(1, stopped.status, stopped.toString());
    assertFalse(Files.exists(model), "stopped before the end");
    Run resumed = run(null, with(args, "--resume"));
    assertEquals(0, resumed.status, resumed.toString());
    assertTrue(resumed.out.contains("resumed from " + folder.resolve(String.format("step-%06d.safetensors", stopAt))
        + " at step " + stopAt + " of " + steps + "\n"), resumed.out);
    assertEquals(Files.readString(LossCurve.csvFile(alone)), Files.readString(LossCurve.csvFile(model)),
        "the loss curve, every step");
    assertArrayEquals(Files.readAllBytes(alone), Files.readAllBytes(model), "the model's bytes");
    assertTrue(resumed.out.contains("deleted the run's 3 checkpoint(s) in " + folder + ": it is finished"),
        resumed.out);
    assertFalse(Files.exists(folder), "a finished run's checkpoints are deleted");
  }

  @Test
  void theNewestAreKeptAndAFreshRunRefusesAnUnfinishedRunsFolder() throws Exception {
    Path model = dir.resolve("sort.safetensors");
    Path folder = dir.resolve("sort.checkpoints");
    Run stopped = run("checkpoint: step 5 ", "--steps", "12", "--save", model.toString(), "--checkpoint-every", "1",
        "--keep-checkpoints", "2");
    assertEquals(1, stopped.status);
    assertEquals(List.of("step-000004.safetensors", "step-000005.safetensors"), names(folder));

    Run fresh = run(null, "--steps", "12", "--save", model.toString());
    assertEquals(1, fresh.status);
    assertEquals("", fresh.out, "refused before anything is printed");
    assertEquals("error: " + folder + " holds 2 checkpoint(s) of a run that did not finish (the newest "
        + "step-000005.safetensors): add --resume to continue it, or delete them (or give another --checkpoints "
        + "folder) to start afresh\n", fresh.err);
    // Without checkpoints of its own (none by steps, none by time), a run leaves the folder alone.
    assertEquals(0, run(null, "--steps", "2", "--save", dir.resolve("other.safetensors").toString(),
        "--checkpoints", folder.toString(), "--checkpoint-minutes", "0").status);
    assertEquals(List.of("step-000004.safetensors", "step-000005.safetensors"), names(folder));
  }

  @Test
  void aResumeWithOtherOptionsIsRefusedNamingThem() throws Exception {
    Path model = dir.resolve("sort.safetensors");
    assertEquals(1, run("checkpoint: step 2 ", "--steps", "12", "--save", model.toString(), "--checkpoint-every",
        "2").status);
    Path newest = dir.resolve("sort.checkpoints/step-000002.safetensors");
    Run other = run(null, "--steps", "12", "--save", model.toString(), "--resume", "--seed", "7", "--lr", "0.01");
    assertEquals(1, other.status);
    assertEquals("error: cannot resume from " + newest + ": it is a checkpoint of another run (--seed 1337 there, 7 "
        + "here; --lr 0.003 there, 0.01 here); resume with its options, or start afresh with another --checkpoints "
        + "folder\n", other.err);
    Run longer = run(null, "--steps", "13", "--save", model.toString(), "--resume");
    assertEquals(1, longer.status);
    assertTrue(longer.err.contains("(--steps 12 there, 13 here)"), longer.err);
    assertTrue(Files.exists(newest), "a refused checkpoint stays");
  }

  @Test
  void aTextRunResumesOnlyOnTheSameBytes() throws Exception {
    Path text = dir.resolve("text.txt");
    byte[] bytes = new byte[2000];
    for (int i = 0; i < bytes.length; i++) {
      bytes[i] = (byte) ('a' + i % 7);
    }
    Files.write(text, bytes);
    Path model = dir.resolve("text.safetensors");
    String[] args = {"--text", text.toString(), "--steps", "3", "--save", model.toString(), "--checkpoint-every",
        "1"};
    assertEquals(1, run("checkpoint: step 1 ", args).status);
    // Moved or renamed, the same bytes would do; changed, they do not.
    byte[] original = bytes.clone();
    bytes[1000] = 'z';
    Files.write(text, bytes);
    Run changed = run(null, with(args, "--resume"));
    assertEquals(1, changed.status);
    assertTrue(changed.err.contains("it is a checkpoint of another run (--text " + TextTask.identify(original)
        + " there, " + TextTask.identify(bytes) + " here)"), changed.err);
    assertTrue(TextTask.identify(original).startsWith("2000 bytes, SHA-256 "), TextTask.identify(original));
  }

  @Test
  void aResumeWithNoCheckpointStartsAtStepZeroSayingSo() throws Exception {
    Path model = dir.resolve("sort.safetensors");
    Run run = run(null, "--steps", "2", "--save", model.toString(), "--resume");
    assertEquals(0, run.status, run.toString());
    assertTrue(run.out.contains("no checkpoint in " + dir.resolve("sort.checkpoints") + " to resume from: starting "
        + "at step 0\n"), run.out);
    assertTrue(Files.exists(model));
  }

  @Test
  void aResumeWhereNoCheckpointLoadsIsAnError() throws Exception {
    Path model = dir.resolve("sort.safetensors");
    Path folder = dir.resolve("sort.checkpoints");
    assertEquals(1, run("checkpoint: step 2 ", "--steps", "12", "--save", model.toString(), "--checkpoint-every",
        "1").status);
    for (String name : names(folder)) {
      Path file = folder.resolve(name);
      Files.write(file, java.util.Arrays.copyOf(Files.readAllBytes(file), 100));
    }
    Run run = run(null, "--steps", "12", "--save", model.toString(), "--resume");
    assertEquals(1, run.status);
    assertTrue(run.out.contains("skipped " + folder.resolve("step-000002.safetensors") + ": "), run.out);
    assertTrue(run.out.contains("; trying the one before it\nskipped " + folder.resolve("step-000001.safetensors")
        + ": "), run.out);
    assertEquals("error: none of the 2 checkpoint(s) in " + folder + " loads (each is said above): delete them (or "
        + "give another --checkpoints folder) to start afresh\n", run.err);
  }

  /** A training checkpoint that AdamW loads but this trainer did not write: what is missing is named. */
  @Test
  void aCheckpointWithoutTheTrainersStateIsAnError() throws Exception {
    Path folder = dir.resolve("sort.checkpoints");
    Files.createDirectories(folder);
    UnrolledSortModel model = UnrolledSortModel.create(Backend.SIMD, 1);
    Path file = folder.resolve("step-000003.safetensors");
    AdamW.of(model).saveCheckpoint(file, Map.of());
    Run run = run(null, "--steps", "12", "--save", dir.resolve("sort.safetensors").toString(), "--resume");
    assertEquals(1, run.status);
    assertEquals("error: " + file + ": the checkpoint has no 'run.task': it was not written by this trainer\n",
        run.err.substring(run.err.indexOf("error: ")));
  }

  @Test
  void aFileInTheFoldersPlaceIsRefusedBeforeAnythingRuns() throws Exception {
    Path file = Files.writeString(dir.resolve("taken"), "x");
    Run run = run(null, "--steps", "2", "--save", dir.resolve("m.safetensors").toString(), "--checkpoints",
        file.toString());
    assertEquals(1, run.status);
    assertEquals("", run.out);
    assertEquals("error: cannot keep checkpoints in " + file + ": it is a file, not a folder; give another "
        + "--checkpoints\n", run.err);
  }

  @Test
  void options() throws Exception {
    Options.Checkpoints defaults = Options.parse(new String[0]).checkpoints();
    assertEquals(new Options.Checkpoints(0, 10, 3, Path.of("out", "sort.checkpoints"), false), defaults);
    assertEquals(Path.of("out", "war.and.peace.checkpoints"),
        Options.parse(new String[] {"--text", "books/war.and.peace.txt"}).checkpoints().folder());
    assertEquals(Path.of("m", "x.checkpoints"),
        Options.parse(new String[] {"--save", "m/x.safetensors"}).checkpoints().folder());
    Options.Checkpoints all = Options.parse(new String[] {"--checkpoint-every", "50", "--checkpoint-minutes", "0.5",
        "--keep-checkpoints", "1", "--checkpoints", "ck", "--resume"}).checkpoints();
    assertEquals(new Options.Checkpoints(50, 0.5f, 1, Path.of("ck"), true), all);
    assertFalse(new Options.Checkpoints(0, 0, 3, Path.of("ck"), false).writes());
    assertEquals(defaults, new Options(Options.Task.SORT, Backend.SIMD, 0, 1, Float.NaN,
        Path.of("out", "sort.safetensors"), null, false).checkpoints(), "what the command line's defaults are");
    String usage = Options.usage();
    for (String option : new String[] {"--checkpoint-every", "--checkpoint-minutes", "--keep-checkpoints",
        "--checkpoints", "--resume"}) {
      assertTrue(usage.contains(option), option + " in " + usage);
    }
  }

  private static List<String> names(Path folder) throws IOException {
    try (Stream<Path> files = Files.list(folder)) {
      return files.map(f -> f.getFileName().toString()).sorted().toList();
    }
  }

  private static String[] with(String[] args, String... more) {
    List<String> all = new ArrayList<>(List.of(args));
    all.addAll(List.of(more));
    return all.toArray(String[]::new);
  }

  private record Run(int status, String out, String err) {}

  /** Runs Main in this process; when {@code stopAt} is given, stops it at the first line that starts so. */
  private static Run run(String stopAt, String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int status = Main.run(args, new Stopping(out, stopAt), new PrintStream(err, true, StandardCharsets.UTF_8));
    return new Run(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  /** Standard output that ends the run, as a kill would, once a line starting with {@code stopAt} is printed. */
  private static final class Stopping extends PrintStream {
    private final String stopAt;

    Stopping(ByteArrayOutputStream out, String stopAt) {
      super(out, true, StandardCharsets.UTF_8);
      this.stopAt = stopAt;
    }

    @Override
    public void println(String line) {
      super.println(line);
      if (stopAt != null && line.startsWith(stopAt)) {
        throw new Stop();
      }
    }
  }

  private static final class Stop extends RuntimeException {
    private static final long serialVersionUID = 1L;

    Stop() {
      super("stopped by the test");
    }
  }
}
