package dev.unroll.samples;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The guarantee of {@code --resume}: a training run killed with SIGKILL at any moment, mid-step or in the middle of
 * writing a checkpoint, and resumed, ends exactly as the same run left alone: the same loss at every step, bit for
 * bit, and the same model file, byte for byte. A checkpoint corrupted or truncated on disk is skipped, saying so, for
 * the one before it, and the run still ends the same.
 *
 * <p>The trainer runs as a child JVM ({@link Main} on the sort task, with this test's Java and class path), killed by
 * {@link Process#destroyForcibly()} at moments drawn from a seed (printed, and in every failure message; set
 * {@code -Dunroll.killSeed=S} to draw them again). The test waits on the child's own lines (its progress, its
 * checkpoint and resume messages) and on files, never on the clock: its timeouts are a safety net only.
 */
class KillAndResumeTest {
  private static final int STEPS = 60;
  /** The progress display's lines in a log: every tenth of the run. */
  private static final int LOG_EVERY = STEPS / Progress.LOG_LINES;
  private static final int CHECKPOINT_EVERY = 4;
  private static final int KEEP = 3;
  /** How long any one wait may take before the test gives up: a safety net for a very busy machine. */
  private static final long SAFETY_SECONDS = 300;
  private static final Pattern PROGRESS = Pattern.compile("step +(\\d+)/" + STEPS + " .*");
  private static final Pattern SAVED = Pattern.compile("checkpoint: step (\\d+) saved to .*");
  private static final Pattern RESUMED = Pattern.compile("resumed from (.*) at step (\\d+) of " + STEPS);
  private static final Pattern CHECKPOINT = Pattern.compile("step-(\\d{6})\\.safetensors");
  private static final Pattern TEMPORARY = Pattern.compile("\\.step-(\\d{6})\\.safetensors\\..+\\.tmp");

  @TempDir
  Path dir;

  private String context;

  @Test
  void killedAtRandomMomentsAndResumedItEndsBitIdentical() throws Exception {
    long seed = Long.getLong("unroll.killSeed", System.nanoTime());
    Random random = new Random(seed);
    context = "kill seed " + seed + " (-Dunroll.killSeed=" + seed + " draws the same moments)";
    long start = System.nanoTime();
    log("%s", context);

    // The run left alone, writing no checkpoint at all (saving one must not change the trajectory either), beside
    // the runs that are killed: its output is read when it is compared.
    Path reference = dir.resolve("reference/sort.safetensors");
    Child alone = Child.start(dir, reference, null, "--checkpoint-minutes", "0");

    Path model = dir.resolve("killed/sort.safetensors");
    Path folder = dir.resolve("killed/checkpoints");
    String[] checkpointing = {"--checkpoints", folder.toString(), "--checkpoint-every",
        Integer.toString(CHECKPOINT_EVERY), "--keep-checkpoints", Integer.toString(KEEP), "--checkpoint-minutes", "0"};

    // 1. Mid-step, early: after a progress line, a moment later.
    Child first = Child.start(dir, model, null, checkpointing);
    int reported = killAfterStep(first, LOG_EVERY * (2 + random.nextInt(3)), random, "first run");
    int saved = first.lastSaved();
    List<Integer> steps = checkpoints(folder);
    assertTrue(steps.size() <= KEEP, "at most " + KEEP + " checkpoints kept: " + steps + "; " + context);
    assertTrue(!steps.isEmpty() && steps.getFirst() >= saved, "every checkpoint reported saved is there: "
        + steps + ", last reported " + saved + "; " + context);

    // 2. During a save: every atomic write stalls once its temporary file is whole, so the first checkpoint this
    // run writes is caught between its temporary file and its rename.
    Child second = Child.start(dir, model, "600000", with(checkpointing, "--resume"));
    int resumed = second.resumedAt(folder.resolve(name(steps.getFirst())), context);
    assertEquals(steps.getFirst(), resumed, "resumed at the newest checkpoint's step: " + context);
    Path temporary = second.waitForTemporary(folder, context);
    second.kill();
    Matcher target = TEMPORARY.matcher(temporary.getFileName().toString());
    assertTrue(target.matches(), temporary + "; " + context);
    assertTrue(Files.exists(temporary), "the temporary file of the interrupted save is left: " + context);
    assertEquals(steps, checkpoints(folder), "nothing renamed into place, nothing deleted: " + context);
    log("run 2: resumed at step %d, killed while writing %s (its temporary file left, no %s)", resumed,
        temporary.getFileName(), "step-" + target.group(1) + ".safetensors");

    // 3. Mid-step again, from where the save was interrupted; the leftover temporary file is cleared away.
    Child third = Child.start(dir, model, null, with(checkpointing, "--resume"));
    assertEquals(resumed, third.resumedAt(folder.resolve(name(steps.getFirst())), context));
    assertFalse(Files.exists(temporary), "the interrupted save's temporary file is deleted: " + context);
    int floor = Math.max(resumed + LOG_EVERY, (KEEP + 1) * CHECKPOINT_EVERY);
    int last = STEPS - 3 * LOG_EVERY;
    int choices = Math.max(1, (last - floor) / LOG_EVERY + 1);
    reported = killAfterStep(third, Math.min(last, roundUp(floor) + LOG_EVERY * random.nextInt(choices)), random,
        "run 3");
    steps = checkpoints(folder);
    assertEquals(KEEP, steps.size(), "the last " + KEEP + " checkpoints kept: " + steps + "; " + context);
    assertTrue(steps.getFirst() >= third.lastSaved(), steps + ", last reported " + third.lastSaved() + "; "
        + context);
    assertTrue(reported < STEPS, context);

    // 4. The newest checkpoint corrupted (a byte of its data flipped), the one before it truncated: both are
    // skipped, saying so, and the run resumes from the third and goes on to the end.
    Path corrupt = folder.resolve(name(steps.get(0)));
    Path truncated = folder.resolve(name(steps.get(1)));
    Path survivor = folder.resolve(name(steps.get(2)));
    long flipped = flipAByteOfTheData(corrupt, random);
    long length = truncate(truncated, random);
    log("run 4: %s with the byte at %d flipped, %s cut to %d bytes", corrupt.getFileName(), flipped,
        truncated.getFileName(), length);
    Child fourth = Child.start(dir, model, null, with(checkpointing, "--resume"));
    fourth.waitForExit(0, context);
    String output = fourth.output();
    assertTrue(skipped(output, corrupt).contains("corrupt"), "the corrupt checkpoint skipped, saying why:\n"
        + output + context);
    assertTrue(skipped(output, truncated).contains("truncated"), "the truncated checkpoint skipped, saying why:\n"
        + output + context);
    Matcher from = RESUMED.matcher("");
    assertTrue(output.lines().anyMatch(l -> from.reset(l).matches()), output + context);
    assertEquals(survivor.toString(), from.group(1), context);
    log("run 4: %s; resumed from %s at step %s and finished", output.lines()
        .filter(l -> l.startsWith("skipped")).toList(), survivor.getFileName(), from.group(2));

    // The run killed three times ends where the run left alone ends.
    alone.waitForExit(0, context);
    assertSameLosses(Files.readAllLines(LossCurve.csvFile(reference)), Files.readAllLines(LossCurve.csvFile(model)));
    assertArrayEquals(Files.readAllBytes(reference), Files.readAllBytes(model), "the model files differ: " + context);
    assertEquals(results(alone.output()), results(output), "the results printed: the smoothed loss, the held-out "
        + "loss and accuracy, the examples; " + context);
    assertFalse(Files.exists(folder), "a finished run deletes its checkpoints: " + context);
    log("the losses of all %d steps and the %,d bytes of the model are identical to the run left alone; %.1f s",
        STEPS, Files.size(model), (System.nanoTime() - start) / 1e9);
  }

  /**
   * Waits until {@code child} reports step {@code step} or later, kills it a moment (0 to 50 ms, drawn) after, and
   * checks that it was killed, not finished. Returns the last step it reported.
   */
  private int killAfterStep(Child child, int step, Random random, String which) throws Exception {
    child.waitFor(line -> progress(line) >= step, "step " + step, context);
    int delay = random.nextInt(50);
    if (delay > 0) {
      // Where the kill lands, not a wait for anything: any moment must do.
      Thread.sleep(delay);
    }
    child.kill();
    int reported = child.lastProgress();
    log("%s: killed %d ms after step %d was reported (last step reported %d, last checkpoint reported step %d)",
        which, delay, step, reported, child.lastSaved());
    return reported;
  }

  private void assertSameLosses(List<String> expected, List<String> actual) {
    assertEquals(STEPS + 2, expected.size(), "a header and a line per step, from 0: " + expected + context);
    for (int i = 0; i < Math.min(expected.size(), actual.size()); i++) {
      assertEquals(expected.get(i), actual.get(i), "line " + i + " of the loss curve (step,train,validation): "
          + context);
    }
    assertEquals(expected.size(), actual.size(), context);
  }

  /**
   * What a run prints from the end of training on, less its times and file names: the smoothed and the held-out
   * loss, the held-out accuracy, the worked examples.
   */
  private static List<String> results(String output) {
    List<String> lines = output.lines().dropWhile(l -> !l.startsWith("trained in ")).toList();
    assertFalse(lines.isEmpty(), output);
    List<String> results = new ArrayList<>();
    results.add(lines.getFirst().replaceFirst("^trained in .*?; loss ", "loss "));
    lines.stream().skip(1).filter(l -> !l.contains(" to ") && !l.startsWith("deleted "))
        .map(l -> l.replaceFirst(", greedy, in .* s$", "")).forEach(results::add);
    return results;
  }

  /** The line that says {@code file} was skipped, or "" when there is none. */
  private static String skipped(String output, Path file) {
    return output.lines().filter(l -> l.startsWith("skipped " + file + ": ")).findFirst().orElse("");
  }

  private static int progress(String line) {
    Matcher m = PROGRESS.matcher(line);
    return m.matches() ? Integer.parseInt(m.group(1)) : -1;
  }

  private static int roundUp(int step) {
    return (step + LOG_EVERY - 1) / LOG_EVERY * LOG_EVERY;
  }

  private static String name(int step) {
    return String.format("step-%06d.safetensors", step);
  }

  /** The steps of the checkpoints in {@code folder}, newest first. */
  private static List<Integer> checkpoints(Path folder) throws IOException {
    if (!Files.isDirectory(folder)) {
      return List.of();
    }
    try (Stream<Path> files = Files.list(folder)) {
      return files.map(f -> CHECKPOINT.matcher(f.getFileName().toString())).filter(Matcher::matches)
          .map(m -> Integer.parseInt(m.group(1))).sorted((a, b) -> b - a).toList();
    }
  }

  /** Flips every bit of one byte past the safetensors header (in the tensors' data); returns its offset. */
  private static long flipAByteOfTheData(Path file, Random random) throws IOException {
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      long at = somewhereInTheData(channel, random);
      ByteBuffer one = ByteBuffer.allocate(1);
      channel.read(one, at);
      one.put(0, (byte) ~one.get(0)).rewind();
      channel.write(one, at);
      channel.force(true);
      return at;
    }
  }

  /** Cuts the file somewhere in its data, past the header; returns the new length. */
  private static long truncate(Path file, Random random) throws IOException {
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      long cut = somewhereInTheData(channel, random);
      channel.truncate(cut);
      channel.force(true);
      return cut;
    }
  }

  /** An offset drawn from the tensors' data of a safetensors file: past its 8-byte length and its header. */
  private static long somewhereInTheData(FileChannel channel, Random random) throws IOException {
    ByteBuffer length = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
    channel.read(length, 0);
    long data = 8 + length.flip().getLong();
    return data + (long) (random.nextDouble() * (channel.size() - data));
  }

  private static String[] with(String[] args, String... more) {
    List<String> all = new ArrayList<>(List.of(args));
    all.addAll(List.of(more));
    return all.toArray(String[]::new);
  }

  private static void log(String format, Object... args) {
    System.out.printf("KillAndResumeTest: " + format + "%n", args);
  }

  /** The trainer in a child JVM, its output read line by line as it comes. */
  private static final class Child {
    private static final String END = "\0end";
    private final Process process;
    private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    private final StringBuilder output = new StringBuilder();
    private int lastProgress;
    private int lastSaved;
    private boolean ended;

    private Child(Process process) {
      this.process = process;
      Thread reader = new Thread(this::read, "child output");
      reader.setDaemon(true);
      reader.start();
    }

    /**
     * Starts the sort task for {@value #STEPS} steps, saving to {@code model}, with {@code args}; with
     * {@code stallMillis}, every atomic write stalls that long once its temporary file is written.
     */
    static Child start(Path dir, Path model, String stallMillis, String... args) throws IOException {
      List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java")
          .toString(), "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"));
      if (stallMillis != null) {
        command.add("-Dunroll.test.atomicFileStallMillis=" + stallMillis);
      }
      command.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName(), "--task", "sort",
          "--steps", Integer.toString(STEPS), "--save", model.toString()));
      command.addAll(List.of(args));
      return new Child(new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start());
    }

    private void read() {
      try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(),
          StandardCharsets.UTF_8))) {
        for (String line = in.readLine(); line != null; line = in.readLine()) {
          lines.add(line);
        }
      } catch (IOException e) {
        lines.add("(reading the child's output failed: " + e + ")");
      } finally {
        lines.add(END);
      }
    }

    /** Reads lines until one passes {@code test}; fails if the child ends first or the safety net runs out. */
    String waitFor(Predicate<String> test, String what, String context) throws InterruptedException {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(SAFETY_SECONDS);
      while (true) {
        String line = lines.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        if (line == null) {
          kill();
          fail("no line with " + what + " in " + SAFETY_SECONDS + " s:\n" + output + context);
        }
        if (line.equals(END)) {
          ended = true;
          fail("the child ended before a line with " + what + ":\n" + output + context);
        }
        take(line);
        if (test.test(line)) {
          return line;
        }
      }
    }

    /** Waits for the resume message; checks it names {@code file}; returns the step. */
    int resumedAt(Path file, String context) throws InterruptedException {
      String line = waitFor(l -> RESUMED.matcher(l).matches(), "'resumed from'", context);
      Matcher m = RESUMED.matcher(line);
      assertTrue(m.matches() && m.group(1).equals(file.toString()), "resumed from " + file + ": " + line + "\n"
          + output + context);
      return Integer.parseInt(m.group(2));
    }

    /** Waits until a checkpoint's temporary file is in {@code folder}, polling it while the child runs. */
    Path waitForTemporary(Path folder, String context) throws IOException, InterruptedException {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(SAFETY_SECONDS);
      while (System.nanoTime() < deadline) {
        try (Stream<Path> files = Files.list(folder)) {
          Path found = files.filter(f -> TEMPORARY.matcher(f.getFileName().toString()).matches()).findFirst()
              .orElse(null);
          if (found != null) {
            return found;
          }
        }
        if (!process.isAlive()) {
          drain();
          fail("the child ended before it wrote a checkpoint's temporary file:\n" + output + context);
        }
        Thread.sleep(5); // polling the folder: nothing waits on this pause itself
      }
      kill();
      fail("no temporary file in " + folder + " in " + SAFETY_SECONDS + " s:\n" + output + context);
      return null;
    }

    /** Waits for the child to end with {@code status}. */
    void waitForExit(int status, String context) throws InterruptedException {
      boolean ended = process.waitFor(SAFETY_SECONDS, TimeUnit.SECONDS);
      if (!ended) {
        kill();
      }
      drain();
      assertTrue(ended, "the child did not end in " + SAFETY_SECONDS + " s:\n" + output + context);
      assertEquals(status, process.exitValue(), "exit status:\n" + output + context);
    }

    /** SIGKILL, and waits for it to take; the child must not have finished on its own. */
    void kill() throws InterruptedException {
      process.destroyForcibly();
      process.waitFor();
      drain();
      assertNotEquals(0, process.exitValue(), "the child finished before it was killed:\n" + output);
    }

    String output() {
      return output.toString();
    }

    int lastProgress() {
      return lastProgress;
    }

    /** The last step the child said it saved a checkpoint of (0 for none). */
    int lastSaved() {
      return lastSaved;
    }

    /** Takes every line the child wrote before it ended. */
    private void drain() throws InterruptedException {
      while (!ended) {
        String line = lines.poll(SAFETY_SECONDS, TimeUnit.SECONDS);
        if (line == null || line.equals(END)) {
          ended = true;
        } else {
          take(line);
        }
      }
    }

    private void take(String line) {
      output.append(line).append('\n');
      int step = progress(line);
      if (step >= 0) {
        lastProgress = step;
      }
      Matcher saved = SAVED.matcher(line);
      if (saved.matches()) {
        lastSaved = Integer.parseInt(saved.group(1));
      }
    }
  }
}
