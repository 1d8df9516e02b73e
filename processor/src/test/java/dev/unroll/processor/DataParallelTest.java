package dev.unroll.processor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.unroll.processor.models.UnrolledMicro;
import dev.unroll.processor.models.UnrolledMicroBatch4;
import dev.unroll.processor.models.UnrolledMicroBatch6;
import dev.unroll.processor.models.UnrolledMicroBatch8;
import dev.unroll.runtime.AdamW;
import dev.unroll.runtime.Backend;
import dev.unroll.runtime.CausalLm;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Data parallelism over Open MPI: {@code mpirun -np N} ranks of {@link UnrolledMicro} (batch 2 each) train as one
 * process of batch 2N over the same rows, step by step over {@value DataParallelRun#STEPS} steps, and every rank
 * holds bit-identical parameters after every step; with AdamW's state sharded across the ranks (ZeRO-1) nothing
 * changes by a bit. Without {@code mpirun} the test is skipped, saying so, except
 * in CI ({@code CI=true}), where {@code .ci/run} installs Open MPI and its absence fails the test.
 */
class DataParallelTest {
  /**
   * The largest relative difference allowed between a rank-mean loss and the one-process loss at any step: the two
   * differ only in the order of float32 sums (a mean over 2N rows against the mean of N means of 2, and the
   * gradient's sum likewise), measured at most 3.0e-7 over the 20 steps at 2, 3 and 4 ranks (one float32 ulp of
   * these losses is 2.4e-7 relative at most).
   */
  private static final double TOLERANCE = 1e-6;

  private static final Pattern LINE = Pattern.compile(
      "rank (\\d+) step (\\d+) loss (\\S+) mean (\\S+) checksum ([0-9a-f]{8})");

  @TempDir Path dir;

  @ParameterizedTest(name = "{0} ranks")
  @ValueSource(ints = {2, 3})
  void ranksOfBatchBTrainAsOneProcessOfBatchNB(int ranks) throws Exception {
    String out = run(ranks, dir, "plain");
    List<String> written = lines(ranks, dir);
    check(ranks, out, written);
  }

  /**
   * {@link dev.unroll.runtime.mpi.DataParallel#checkReplicas()} passes at every step of the plain runs (above) and
   * finds, on every rank alike, after the first step, a rank whose optimizer was set up with another learning rate.
   */
  @org.junit.jupiter.api.Test
  void replicasThatDivergeAreFoundOnEveryRank() throws Exception {
    run(3, dir, "diverge");
    for (int r = 0; r < 3; r++) {
      assertEquals("step 0: the parameters of rank(s) 1 differ from rank 0's: the ranks did not take the same steps "
          + "(the same optimizer settings and steps on every rank?)", Files.readString(dir.resolve("replicas-" + r
          + ".txt")));
    }
  }

  /** A long all-reduce, which Mpi does in pieces, sums every element on every rank, the pieces' seams included. */
  @org.junit.jupiter.api.Test
  void aLongAllReduceSumsEveryElement() throws Exception {
    run(3, dir, "sums");
    for (int r = 0; r < 3; r++) {
      assertEquals("2500007 sums, 0 wrong", Files.readString(dir.resolve("sums-" + r + ".txt")));
    }
  }

  /**
   * On OPENCL (its parameters and gradients on the device, AdamW's moments too) the gradients are read from the
   * device, averaged over the ranks and written back: 2 ranks train as one OPENCL process of batch 4.
   */
  @org.junit.jupiter.api.Test
  void ranksOnOpenClTrainAsOneOpenClProcess() throws Exception {
    OpenClRule.assumeUsable(Backend.OPENCL);
    String out = run(2, dir, "opencl");
    List<String> written = lines(2, dir);
    assertTrue(written.get(0).endsWith(" on OPENCL"), written.get(0));
    check(2, 1, Backend.OPENCL, out, written);
  }

  /**
   * ZeRO-1: with AdamW's state sharded across the ranks (each rank's moments for its slice only, the slices
   * gathered after each step), every loss and every parameter checksum is bit for bit the unsharded run's, and each
   * rank holds at most a 1/N share of the moments (rounded up to whole 16-float blocks). Micro's 1,248 parameters
   * split evenly over 2 and 3 ranks; over 4 the last slice is shorter (320, 320, 320, 288).
   */
  @ParameterizedTest(name = "{0} ranks")
  @ValueSource(ints = {2, 3, 4})
  void shardingAdamWAcrossRanksChangesNoBit(int ranks) throws Exception {
    Path plain = Files.createDirectory(dir.resolve("plain"));
    Path zero = Files.createDirectory(dir.resolve("zero"));
    run(ranks, plain, "plain");
    String out = run(ranks, zero, "zero");
    List<String> unsharded = lines(ranks, plain);
    List<String> sharded = lines(ranks, zero);
    int n = UnrolledMicro.PARAMETER_COUNT;
    long held = 0;
    for (int r = 0; r < ranks; r++) {
      Matcher m = MOMENTS.matcher(sharded.get(r * (DataParallelRun.STEPS + 1)));
      assertTrue(m.matches(), sharded.toString());
      int count = Integer.parseInt(m.group(2));
      assertTrue(count <= ((n + ranks - 1) / ranks + 15) / 16 * 16, "rank " + r + " holds " + count + " of " + n);
      held += count;
      System.out.printf(Locale.ROOT, "DataParallelTest: ZeRO-1, rank %d of %d holds %d of %d moments (%d bytes "
          + "for both, unsharded %d)%n", r, ranks, count, n, 8L * count, 8L * n);
    }
    assertEquals(n, held, "the shards cover every parameter once");
    assertEquals(unsharded.stream().filter(l -> !l.contains("moments")).toList(),
        sharded.stream().filter(l -> !l.contains("moments")).toList(), "every loss and checksum the same\n" + out);
    check(ranks, out, sharded);
  }

  /**
   * Gradient accumulation across ranks: 2 ranks of 2 micro-steps of batch 2 each train as one process of batch 8
   * over the same rows, the all-reduce once per optimizer step.
   */
  @org.junit.jupiter.api.Test
  void accumulatedMicroStepsOnEveryRankTrainAsTheWholeBatch() throws Exception {
    String out = run(2, dir, "accumulate");
    check(2, 2, Backend.SIMD, out, lines(2, dir));
  }

  /**
   * Training checkpoints across ranks: 2 ranks under ZeRO-1 save after 10 of 20 steps (rank 0 writes, the slices of
   * the moments gathered), and the file is byte for byte the one 2 unsharded ranks write; 2 ranks resumed from it
   * take steps 10 to 19 exactly as the uninterrupted run did; 3 ranks (uneven slices) resume from it, sharded and
   * unsharded alike, to the bit; one process loads it as a plain AdamW checkpoint, with the saved parameters; and a
   * corrupt copy stops every rank with an error naming the file, instead of a hang or a half-loaded rank.
   */
  @org.junit.jupiter.api.Test
  void checkpointsResumeWithAnyNumberOfRanksShardedOrNot() throws Exception {
    int half = DataParallelRun.STEPS / 2;
    Path zero = Files.createDirectory(dir.resolve("zero"));
    Path plain = Files.createDirectory(dir.resolve("plain"));
    run(2, zero, "zero", "save=" + half);
    run(2, plain, "plain", "save=" + half, "until=" + half);
    Path file = zero.resolve("checkpoint.safetensors");
    assertEquals(-1L, Files.mismatch(file, plain.resolve("checkpoint.safetensors")),
        "the sharded ranks' checkpoint is the unsharded ranks' byte for byte");
    List<String> uninterrupted = lines(2, zero);

    Path again = Files.createDirectory(dir.resolve("again"));
    String out = run(2, again, "zero", "resume=" + file);
    assertEquals(steps(uninterrupted, half), steps(lines(2, again), 0),
        "2 ranks resumed at step " + half + " take the uninterrupted run's steps\n" + out);

    Path three = Files.createDirectory(dir.resolve("three"));
    Path threePlain = Files.createDirectory(dir.resolve("three-plain"));
    run(3, three, "zero", "resume=" + file);
    run(3, threePlain, "plain", "resume=" + file);
    List<String> resumed = steps(lines(3, three), 0);
    assertEquals(3 * half, steps(resumed, half).size(), resumed.toString());
    assertEquals(steps(lines(3, threePlain), 0), resumed, "3 ranks resume sharded (uneven slices) as unsharded, to "
        + "the bit");

    // One process reads what the ranks wrote as a plain AdamW checkpoint.
    UnrolledMicro model = UnrolledMicro.create(Backend.SIMD, DataParallelRun.SEED + 1);
    AdamW opt = AdamW.of(model);
    assertEquals(Integer.toString(half), opt.loadCheckpoint(file).get("next"));
    assertEquals(half, opt.steps());
    String saved = uninterrupted.stream().filter(l -> stepOf(l) == half - 1).findFirst().orElseThrow();
    assertTrue(saved.endsWith(String.format(Locale.ROOT, "checksum %08x",
        DataParallelRun.checksum(model.parameters().values()))), saved);

    byte[] bytes = Files.readAllBytes(file);
    bytes[bytes.length - 5] ^= 0x10; // a parameter's bit
    Path bad = Files.write(dir.resolve("bad.safetensors"), bytes);
    Path failed = Files.createDirectory(dir.resolve("failed"));
    Ended e = end(start(2, failed, "zero", "resume=" + bad));
    String said = e.out();
    assertTrue(e.status() != 0, said);
    String rank0 = Files.readString(failed.resolve("failed-0.txt"));
    String rank1 = Files.readString(failed.resolve("failed-1.txt"));
    assertTrue(rank0.startsWith("dev.unroll.runtime.format.CheckpointException: " + bad) && rank0.contains("corrupt"),
        rank0);
    assertTrue(rank1.startsWith("java.io.IOException: rank 0 could not load the training checkpoint " + bad + ": "
        + bad) && rank1.contains("corrupt"), rank1);
    assertTrue(!Files.exists(failed.resolve("rank-0.txt")) && !Files.exists(failed.resolve("rank-1.txt")), said);
  }

  /** The lines of steps {@code from} on. */
  private static List<String> steps(List<String> lines, int from) {
    return lines.stream().filter(l -> stepOf(l) >= from).toList();
  }

  private static int stepOf(String line) {
    Matcher m = LINE.matcher(line);
    return m.matches() ? Integer.parseInt(m.group(2)) : -1;
  }

  /**
   * A rank that dies (SIGKILL, from outside, while every rank trains) makes the others stop instead of waiting
   * forever in their next all-reduce: mpirun sees the death, ends the other ranks and exits with an error that names
   * the rank and the signal.
   */
  @org.junit.jupiter.api.Test
  void aRankThatDiesStopsTheOthersWithAClearError() throws Exception {
    Process p = start(2, dir, "endless");
    try {
      killRankOneAndCheck(p);
    } finally {
      // Whatever failed, no rank is left training forever.
      p.descendants().forEach(ProcessHandle::destroyForcibly);
      p.destroyForcibly();
    }
  }

  /**
   * An exception that nothing catches on one rank alone ends the job (MPI_Abort after the usual stack trace)
   * instead of leaving that rank in MPI_Finalize and the other in its next all-reduce, forever.
   */
  @org.junit.jupiter.api.Test
  void anExceptionOnOneRankEndsTheJob() throws Exception {
    Ended e = end(start(2, dir, "throw"));
    assertTrue(e.status() != 0, e.out());
    assertTrue(e.out().contains("IllegalStateException: rank 1 fails alone at step 2"), e.out());
    assertTrue(!Files.exists(dir.resolve("rank-0.txt")), "rank 0 was ended, not left to finish\n" + e.out());
    System.out.println("DataParallelTest: after rank 1 threw, mpirun exited with " + e.status());
  }

  private void killRankOneAndCheck(Process p) throws Exception {
    Path pid = dir.resolve("pid-1");
    for (int i = 0; i < 6000 && !Files.exists(pid) && p.isAlive(); i++) {
      Thread.sleep(10); // a safety net of 60 s: rank 1 writes the file after its first step
    }
    assertTrue(Files.exists(pid), "rank 1 never reported its process id");
    String id = Files.readString(pid).strip();
    ProcessHandle rank1 = ProcessHandle.of(Long.parseLong(id)).orElseThrow();
    assertTrue(rank1.destroyForcibly(), "SIGKILL to rank 1");
    boolean ended = p.waitFor(120, TimeUnit.SECONDS);
    if (!ended) {
      p.descendants().forEach(ProcessHandle::destroyForcibly);
      p.destroyForcibly();
    }
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(ended, "mpirun still running 120 s after rank 1 died:\n" + out);
    assertTrue(p.exitValue() != 0, "mpirun's exit status after a rank died: " + p.exitValue() + "\n" + out);
    assertTrue(out.contains("rank 1") && out.contains("signal 9"), out);
    System.out.println("DataParallelTest: after rank 1 was killed, mpirun exited with " + p.exitValue() + ":\n"
        + out.lines().filter(l -> l.contains("rank 1")).findFirst().orElse(""));
  }

  static final Pattern MOMENTS = Pattern.compile("rank (\\d+) moments (\\d+) of (\\d+) on (\\w+)");

  /** Runs {@link DataParallelRun} on {@code ranks} ranks, writing into {@code folder}; its merged output. */
  static String run(int ranks, Path folder, String mode, String... more) throws Exception {
    Ended e = end(start(ranks, folder, mode, more));
    assertEquals(0, e.status(), e.out());
    return e.out();
  }

  /** How mpirun ended: its exit status and its merged output. */
  private record Ended(int status, String out) {}

  /**
   * Waits up to 120 s for mpirun to end, reading its output meanwhile; fails (after ending mpirun and every rank)
   * when it has not: a run that hangs fails the test instead of hanging it.
   */
  private static Ended end(Process p) throws Exception {
    java.util.concurrent.CompletableFuture<String> out = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
      try {
        return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      } catch (IOException e) {
        return "(output unreadable: " + e + ")";
      }
    });
    boolean ended = p.waitFor(120, TimeUnit.SECONDS);
    if (!ended) {
      p.descendants().forEach(ProcessHandle::destroyForcibly);
      p.destroyForcibly();
    }
    String said = out.get(30, TimeUnit.SECONDS);
    assertTrue(ended, "mpirun still running after 120 s:\n" + said);
    return new Ended(p.exitValue(), said);
  }

  /** Starts mpirun with {@code ranks} ranks of {@link DataParallelRun}, output and errors merged. */
  private static Process start(int ranks, Path folder, String mode, String... more) throws IOException {
    String mpirun = mpirun();
    List<String> command = new ArrayList<>(List.of(mpirun, "--allow-run-as-root", "--oversubscribe", "-np",
        Integer.toString(ranks)));
    command.addAll(rank(folder, mode, more));
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
    // In containers the shared-memory transport's single copy (cross-memory attach) may be forbidden: copy twice.
    builder.environment().put("OMPI_MCA_btl_vader_single_copy_mechanism", "none");
    Process p = builder.start();
    p.getOutputStream().close();
    return p;
  }

  /** What each rank runs: {@link DataParallelRun} in {@code mode} with {@code more} arguments, on this test's Java. */
  static List<String> rank(Path folder, String mode, String... more) {
    List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Dunroll.threads=1",
        "-cp", System.getProperty("java.class.path"), DataParallelRun.class.getName(), folder.toString(), mode));
    command.addAll(List.of(more));
    return command;
  }

  /** Every rank's lines, rank 0's first. */
  private static List<String> lines(int ranks, Path folder) throws IOException {
    List<String> written = new ArrayList<>();
    for (int r = 0; r < ranks; r++) {
      written.addAll(Files.readAllLines(folder.resolve("rank-" + r + ".txt")));
    }
    return written;
  }

  /** The ranks' lines against one process of batch 2N over the same rows; the table printed. */
  private static void check(int ranks, String out, List<String> written) {
    check(ranks, 1, Backend.SIMD, out, written);
  }

  /** As above, each rank's step {@code micro} micro-steps: one process of batch 2·N·micro. */
  private static void check(int ranks, int micro, Backend backend, String out, List<String> written) {
    int steps = DataParallelRun.STEPS;
    float[][] mean = new float[ranks][steps];
    String[][] checksum = new String[ranks][steps];
    int lines = 0;
    for (String line : written) {
      Matcher m = LINE.matcher(line);
      if (m.matches()) {
        int r = Integer.parseInt(m.group(1));
        int s = Integer.parseInt(m.group(2));
        mean[r][s] = Float.parseFloat(m.group(4));
        checksum[r][s] = m.group(5);
        lines++;
      }
    }
    assertEquals(ranks * steps, lines, out);

    // One process, batch 2N, the same rows, the same optimizer.
    CausalLm wide = switch (ranks * micro) {
      case 2 -> UnrolledMicroBatch4.create(backend, DataParallelRun.SEED);
      case 3 -> UnrolledMicroBatch6.create(backend, DataParallelRun.SEED);
      default -> UnrolledMicroBatch8.create(backend, DataParallelRun.SEED);
    };
    assertEquals(DataParallelRun.checksum(UnrolledMicro.create(Backend.SIMD, DataParallelRun.SEED).parameters()
        .values()), DataParallelRun.checksum(wide.parameters().values()), "the same initial parameters");
    AdamW opt = AdamW.of(wide).lr(1e-2f).weightDecay(0.1f).clipGradNorm(1f);
    double worst = 0;
    StringBuilder table = new StringBuilder();
    for (int s = 0; s < steps; s++) {
      int[][] global = DataParallelRun.globalBatch(s, ranks * micro * UnrolledMicro.BATCH);
      float loss = wide.forward(global[0], global[1]);
      wide.zeroGrad();
      wide.backward();
      opt.step();
      for (int r = 1; r < ranks; r++) {
        assertEquals(checksum[0][s], checksum[r][s], "parameters of rank " + r + " after step " + s + "\n" + out);
        assertEquals(mean[0][s], mean[r][s], "every rank's mean loss at step " + s);
      }
      double rel = Math.abs(mean[0][s] - loss) / Math.abs(loss);
      worst = Math.max(worst, rel);
      table.append(String.format(Locale.ROOT, "step %2d: %d ranks %.7f, one process %.7f, relative %.1e%n", s,
          ranks, mean[0][s], loss, rel));
    }
    System.out.print(table);
    System.out.printf(Locale.ROOT, "DataParallelTest: %d ranks x %d micro-steps on %s, worst relative loss "
        + "difference %.2e over %d steps%n", ranks, micro, backend, worst, steps);
    assertTrue(worst <= TOLERANCE, "worst relative difference " + worst + "\n" + table);
  }

  /** mpirun on the PATH; skips the test without it, except in CI, where it fails. */
  static String mpirun() {
    for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
      Path candidate = Path.of(dir, "mpirun");
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
