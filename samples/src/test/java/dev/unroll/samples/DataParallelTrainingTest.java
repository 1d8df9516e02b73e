package dev.unroll.samples;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The samples' trainer under {@code mpirun}: the digits task (the cheapest to start and to evaluate, and its data
 * has an epoch order that a checkpoint keeps, which 2 ranks of 32 images a step go through in 23 steps),
 * data-parallel over 1 and 2 ranks. One rank is the plain
 * run bit for bit; two print every line once, from rank 0, and learn; a two-rank run killed after a checkpoint and
 * resumed on two ranks ends with the uninterrupted run's losses and model, bit for bit, and resumes on one rank too.
 * Without {@code mpirun} the tests are skipped, saying so, except in CI ({@code CI=true}), where they fail.
 */
class DataParallelTrainingTest {
  private static final int STEPS = 24;
  private static final int CHECKPOINT_EVERY = 4;
  /** Every 0.002 minutes (120 ms) as well, by rank 0's clock: checkpoints at steps every rank must agree on. */
  private static final String MINUTES = "0.002";
  private static final long SAFETY_SECONDS = 300;
  private static final String[] NO_CHECKPOINTS = {"--checkpoint-minutes", "0"};
  private static final Pattern SAVED = Pattern.compile("checkpoint: step (\\d+) saved to .*");
  private static final Pattern RESUMED = Pattern.compile("resumed from (.*) at step (\\d+) of " + STEPS);
  private static final Pattern DATA_PARALLEL = Pattern.compile("data parallel: 2 ranks x batch (\\d+) \\(effective "
      + "batch (\\d+)\\), ZeRO-1: AdamW moments ([0-9.]+) MB on each rank instead of ([0-9.]+) MB");

  @TempDir
  Path dir;

  /** {@code mpirun -np 1}: data-parallel through MPI, one rank, is the plain run: the same loss curve and model. */
  @Test
  void oneRankUnderMpirunIsThePlainRunBitForBit() throws Exception {
    String mpirun = mpirun();
    Path plain = dir.resolve("plain/digits.safetensors");
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
    assertEquals(0, Main.run(args(plain, NO_CHECKPOINTS).toArray(String[]::new), out, out),
        bytes.toString(StandardCharsets.UTF_8));
    Path one = dir.resolve("one/digits.safetensors");
    String output = run(mpirun, 1, args(one, NO_CHECKPOINTS));
    assertTrue(output.contains("data parallel: 1 rank x batch "), output);
    assertArrayEquals(Files.readAllBytes(LossCurve.csvFile(plain)), Files.readAllBytes(LossCurve.csvFile(one)),
        "the loss at every step\n" + output);
    assertArrayEquals(Files.readAllBytes(plain), Files.readAllBytes(one), "the model\n" + output);
    System.out.printf("DataParallelTrainingTest: mpirun -np 1 and the plain run: the %d steps' losses and the %,d "
        + "bytes of the model identical%n", STEPS, Files.size(one));
  }

  /**
   * Two ranks: every line once (rank 1 prints nothing), the data-parallel line with the moments halved, the loss
   * falls. Killed after a checkpoint (written every few steps and by rank 0's clock), the run resumes on two ranks
   * past a corrupt newest checkpoint and ends exactly as the uninterrupted run; and resumes on one rank, saying that
   * the number of ranks changed, and finishes.
   */
  @Test
  void twoRanksPrintOnceLearnAndResumeOnTwoOrOneRanks() throws Exception {
    String mpirun = mpirun();
    Path reference = dir.resolve("reference/digits.safetensors");
    String output = run(mpirun, 2, args(reference, NO_CHECKPOINTS));
    for (String once : List.of("Unroll sample on Java", "data: ", "training: ", "trained in",
        "held-out accuracy:", "confusion matrix", "saved the model to", "wrote the loss curve to")) {
      assertEquals(1, output.lines().filter(l -> l.startsWith(once)).count(), once + " once\n" + output);
    }
    for (int step = STEPS / Progress.LOG_LINES; step <= STEPS; step += STEPS / Progress.LOG_LINES) {
      String progress = "step +" + step + "/" + STEPS + " .*";
      assertEquals(1, output.lines().filter(l -> l.matches(progress)).count(), progress + "\n" + output);
    }
    Matcher m = only(output, DATA_PARALLEL);
    assertEquals(2 * Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)), output);
    double each = Double.parseDouble(m.group(3));
    double whole = Double.parseDouble(m.group(4));
    assertTrue(each < whole && each >= whole / 2, "each rank holds half of the moments: " + m.group());
    float[][] losses = curve(reference);
    assertTrue(losses[2][STEPS] < losses[2][0], "the held-out loss falls: " + losses[2][0] + " at step 0, "
        + losses[2][STEPS] + " at the end\n" + output);

    Path killed = dir.resolve("killed/digits.safetensors");
    Path folder = dir.resolve("killed/checkpoints");
    List<String> checkpointing = List.of("--checkpoints", folder.toString(), "--checkpoint-every",
        Integer.toString(CHECKPOINT_EVERY), "--checkpoint-minutes", MINUTES, "--keep-checkpoints", "2");
    killAfterCheckpoint(mpirun, with(args(killed), checkpointing), 2 * CHECKPOINT_EVERY);
    List<Path> found = checkpoints(folder);
    // Two kept, or three when the kill came between a save and the deletion of the oldest.
    assertTrue(found.size() >= 2, "the newest two checkpoints kept: " + found);
    Path copy = dir.resolve("copy");
    Files.createDirectories(copy);
    for (Path file : found) {
      Files.copy(file, copy.resolve(file.getFileName()));
    }
    // The newest cut short: rank 0 cannot load it, and every rank goes on to the one before it.
    Path corrupt = found.getFirst();
    Files.write(corrupt, java.util.Arrays.copyOf(Files.readAllBytes(corrupt), 200));

    List<String> resume = with(checkpointing, "--resume");
    String two = run(mpirun, 2, with(args(killed), resume));
    assertEquals(1, two.lines().filter(l -> l.startsWith("skipped " + corrupt)).count(), two);
    assertEquals(found.get(1).toString(), only(two, RESUMED).group(1), two);
    assertArrayEquals(Files.readAllBytes(LossCurve.csvFile(reference)), Files.readAllBytes(LossCurve.csvFile(killed)),
        "resumed on two ranks, the uninterrupted run's loss at every step\n" + two);
    assertArrayEquals(Files.readAllBytes(reference), Files.readAllBytes(killed), "and its model\n" + two);
    System.out.printf("DataParallelTrainingTest: 2 ranks, %s; killed after a checkpoint, resumed on 2 ranks from %s "
        + "(the newer one cut short): every loss and the model identical to the uninterrupted run's%n", m.group(),
        found.get(1).getFileName());

    Path single = dir.resolve("single/digits.safetensors");
    String one = run(mpirun, 1, args(single, "--checkpoints", copy.toString(), "--checkpoint-minutes", "0",
        "--resume"));
    Matcher from = only(one, RESUMED);
    assertEquals(copy.resolve(found.getFirst().getFileName()).toString(), from.group(1), one);
    int step = Integer.parseInt(from.group(2));
    assertTrue(one.contains("note: the checkpoint was written by 2 rank(s) and this run has 1"), one);
    float[][] continued = curve(single);
    for (int s = 0; s <= step; s++) {
      assertEquals(losses[1][s], continued[1][s], "the loss curve up to the checkpoint's step " + step);
    }
    assertTrue(Files.exists(single) && !Files.exists(copy), "finished, its checkpoints deleted\n" + one);
    System.out.printf("DataParallelTrainingTest: the 2-rank checkpoint of step %d resumed on 1 rank and finished%n",
        step);
  }

  /** The digits task for {@value #STEPS} steps into {@code model}, and {@code more}. */
  private static List<String> args(Path model, String... more) {
    List<String> args = new ArrayList<>(List.of("--task", "digits", "--steps", Integer.toString(STEPS), "--save",
        model.toString()));
    args.addAll(List.of(more));
    return args;
  }

  private static List<String> with(List<String> args, List<String> more) {
    List<String> all = new ArrayList<>(args);
    all.addAll(more);
    return all;
  }

  private static List<String> with(List<String> args, String more) {
    return with(args, List.of(more));
  }

  /** The matcher of {@code pattern} on the one line of {@code output} that it matches; fails unless exactly one. */
  private static Matcher only(String output, Pattern pattern) {
    List<Matcher> found = output.lines().map(pattern::matcher).filter(Matcher::matches).toList();
    assertEquals(1, found.size(), "one line like '" + pattern + "'\n" + output);
    return found.getFirst();
  }

  /** Runs the trainer on {@code ranks} ranks to its end, which must be a success; its output, errors merged. */
  private static String run(String mpirun, int ranks, List<String> args) throws Exception {
    Process p = start(mpirun, ranks, args);
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(SAFETY_SECONDS, TimeUnit.SECONDS), out);
    assertEquals(0, p.exitValue(), out);
    return out;
  }

  /**
   * Ends mpirun and its ranks if they still run {@link #SAFETY_SECONDS} from now, so that a run that hangs (ranks
   * waiting for each other forever) ends the output it is read from and fails the test, instead of hanging it.
   */
  private static void watchdog(Process p) {
    Thread t = new Thread(() -> {
      try {
        if (!p.waitFor(SAFETY_SECONDS, TimeUnit.SECONDS)) {
          System.err.println("DataParallelTrainingTest: mpirun still running after " + SAFETY_SECONDS + " s: ended");
          p.descendants().forEach(ProcessHandle::destroyForcibly);
          p.destroyForcibly();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }, "mpirun-watchdog");
    t.setDaemon(true);
    t.start();
  }

  /** Starts the trainer on two ranks and kills every rank once it says it saved the checkpoint of {@code step}. */
  private static void killAfterCheckpoint(String mpirun, List<String> args, int step) throws Exception {
    Process p = start(mpirun, 2, args);
    StringBuilder out = new StringBuilder();
    try (BufferedReader in = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
      for (String line = in.readLine(); line != null; line = in.readLine()) {
        out.append(line).append('\n');
        Matcher m = SAVED.matcher(line);
        if (m.matches() && Integer.parseInt(m.group(1)) >= step) {
          // The ranks first: mpirun killed alone would leave them training, and rank 0 finishing the run.
          p.descendants().forEach(ProcessHandle::destroyForcibly);
          p.destroyForcibly();
          assertTrue(p.waitFor(SAFETY_SECONDS, TimeUnit.SECONDS), out.toString());
          assertTrue(out.indexOf("saved the model") < 0, "killed before the end:\n" + out);
          return;
        }
      }
    } finally {
      p.descendants().forEach(ProcessHandle::destroyForcibly);
      p.destroyForcibly();
    }
    fail("the run ended without saving the checkpoint of step " + step + ":\n" + out);
  }

  /** mpirun with {@code ranks} ranks of {@link Main} on this test's Java and class path, one thread each. */
  private static Process start(String mpirun, int ranks, List<String> args) throws IOException {
    List<String> command = new ArrayList<>(List.of(mpirun, "--allow-run-as-root", "--oversubscribe", "-np",
        Integer.toString(ranks), Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Dunroll.threads=1",
        "-cp", System.getProperty("java.class.path"), Main.class.getName()));
    command.addAll(args);
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
    // In containers the shared-memory transport's single copy (cross-memory attach) may be forbidden: copy twice.
    builder.environment().put("OMPI_MCA_btl_vader_single_copy_mechanism", "none");
    Process p = builder.start();
    p.getOutputStream().close();
    watchdog(p);
    return p;
  }

  /** The checkpoints in {@code folder}, newest first. */
  private static List<Path> checkpoints(Path folder) throws IOException {
    try (Stream<Path> files = Files.list(folder)) {
      return files.filter(f -> f.getFileName().toString().matches("step-\\d{6}\\.safetensors"))
          .sorted(Comparator.comparing(Path::toString).reversed()).toList();
    }
  }

  /** The loss curve written beside {@code model}: {step, train loss, validation loss} by step, NaN where none. */
  private static float[][] curve(Path model) throws IOException {
    float[][] losses = new float[3][STEPS + 1];
    for (float[] row : losses) {
      java.util.Arrays.fill(row, Float.NaN);
    }
    for (String line : Files.readAllLines(LossCurve.csvFile(model)).stream().skip(1).toList()) {
      String[] fields = line.split(",", -1);
      int step = Integer.parseInt(fields[0]);
      losses[0][step] = step;
      losses[1][step] = fields[1].isEmpty() ? Float.NaN : Float.parseFloat(fields[1]);
      losses[2][step] = fields[2].isEmpty() ? Float.NaN : Float.parseFloat(fields[2]);
    }
    return losses;
  }

  /** mpirun on the PATH; skips the test without it, except in CI, where it fails. */
  private static String mpirun() {
    for (String folder : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
      Path candidate = Path.of(folder, "mpirun");
      if (Files.isExecutable(candidate)) {
        return candidate.toString();
      }
    }
    String why = "no mpirun on the PATH: install Open MPI (on Debian 'apt-get install openmpi-bin libopenmpi-dev')";
    if ("true".equalsIgnoreCase(System.getenv("CI"))) {
      fail("CI=true but " + why);
    }
    assumeTrue(false, "skipped, " + why);
    return null;
  }
}
