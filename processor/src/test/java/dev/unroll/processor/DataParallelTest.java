package dev.unroll.processor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.unroll.processor.models.UnrolledMicro;
import dev.unroll.processor.models.UnrolledMicroBatch4;
import dev.unroll.processor.models.UnrolledMicroBatch6;
import dev.unroll.runtime.AdamW;
import dev.unroll.runtime.Backend;
import dev.unroll.runtime.CausalLm;
import java.io.File;
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
 * holds bit-identical parameters after every step. Without {@code mpirun} the test is skipped, saying so, except
 * in CI ({@code CI=true}), where {@code .ci/run} installs Open MPI and its absence fails the test.
 */
class DataParallelTest {
  /**
   * The largest relative difference allowed between a rank-mean loss and the one-process loss at any step: the two
   * differ only in the order of float32 sums (a mean over 2N rows against the mean of N means of 2, and the
   * gradient's sum likewise), measured at most 2.0e-7 over the 20 steps at 2 and 3 ranks (one float32 ulp of
   * these losses is 2.4e-7 relative at most).
   */
  private static final double TOLERANCE = 1e-6;

  private static final Pattern LINE = Pattern.compile(
      "rank (\\d+) step (\\d+) loss (\\S+) mean (\\S+) checksum ([0-9a-f]{8})");

  @TempDir Path dir;

  @ParameterizedTest(name = "{0} ranks")
  @ValueSource(ints = {2, 3})
  void ranksOfBatchBTrainAsOneProcessOfBatchNB(int ranks) throws Exception {
    String mpirun = mpirun();
    List<String> command = new ArrayList<>(List.of(mpirun, "--allow-run-as-root", "--oversubscribe", "-np",
        Integer.toString(ranks), Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Dunroll.threads=1",
        "-cp", System.getProperty("java.class.path"), DataParallelRun.class.getName(), dir.toString()));
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
    // In containers the shared-memory transport's single copy (cross-memory attach) may be forbidden: copy twice.
    builder.environment().put("OMPI_MCA_btl_vader_single_copy_mechanism", "none");
    Process p = builder.start();
    p.getOutputStream().close();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(120, TimeUnit.SECONDS), out);
    assertEquals(0, p.exitValue(), out);

    int steps = DataParallelRun.STEPS;
    float[][] mean = new float[ranks][steps];
    String[][] checksum = new String[ranks][steps];
    int lines = 0;
    List<String> written = new ArrayList<>();
    for (int r = 0; r < ranks; r++) {
      written.addAll(Files.readAllLines(dir.resolve("rank-" + r + ".txt")));
    }
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
    CausalLm wide = ranks == 2 ? UnrolledMicroBatch4.create(Backend.SIMD, DataParallelRun.SEED)
        : UnrolledMicroBatch6.create(Backend.SIMD, DataParallelRun.SEED);
    assertEquals(DataParallelRun.checksum(UnrolledMicro.create(Backend.SIMD, DataParallelRun.SEED).parameters()
        .values()), DataParallelRun.checksum(wide.parameters().values()), "the same initial parameters");
    AdamW opt = AdamW.of(wide).lr(1e-2f).weightDecay(0.1f).clipGradNorm(1f);
    double worst = 0;
    StringBuilder table = new StringBuilder();
    for (int s = 0; s < steps; s++) {
      int[][] global = DataParallelRun.globalBatch(s, ranks * UnrolledMicro.BATCH);
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
    System.out.printf(Locale.ROOT, "DataParallelTest: %d ranks, worst relative loss difference %.2e over %d steps%n",
        ranks, worst, steps);
    assertTrue(worst <= TOLERANCE, "worst relative difference " + worst + "\n" + table);
  }

  /** mpirun on the PATH; skips the test without it, except in CI, where it fails. */
  private static String mpirun() {
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
