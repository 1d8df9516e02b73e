package dev.unroll.processor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.unroll.processor.models.UnrolledMicro;
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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Data parallelism across machines, emulated on this one by {@code runtime/mpi-netns.sh}: 2 ranks of {@link
 * DataParallelRun}, each in a network namespace of its own (its own hostname, so Open MPI sees two machines), joined
 * by a veth link, talk over TCP only; every loss and every parameter checksum is bit for bit what the same 2 ranks
 * give on shared memory (at 2 ranks an all-reduce adds a + b, the same in either order), for plain data
 * parallelism and for ZeRO-1, and the link carried at least the collectives' bytes at every step.
 *
 * <p>The bytes: at 2 ranks, rank 0's sums need each of rank 1's values and the other way round, so in an all-reduce
 * of n floats that sends values as they are, each rank sends at least 4n bytes (in general 2(N−1)/N × 4n:
 * reduce-scatter then all-gather, each (N−1)/N of the data; at N = 2 that is 4n). A step of plain data parallelism
 * is the gradients' all-reduce (n = {@value UnrolledMicro#PARAMETER_COUNT}) and the mean loss's (n = 1); ZeRO-1 adds
 * the all-gather of the parameters, for which each rank sends its own slice. Ethernet, IP, TCP and Open MPI add their
 * headers on top, so over a run's {@value DataParallelRun#STEPS} steps the link's counters (which count the launch
 * and the wire-up too, a few KB) must move by at least that many times the step's bytes: a run whose collectives
 * took another way would fall short by almost all of them.
 *
 * <p>Runs only where network namespaces can be made (root, with CAP_SYS_ADMIN and CAP_NET_ADMIN): elsewhere, CI
 * included, it is skipped saying why; without mpirun it is skipped or fails as {@link DataParallelTest} is.
 */
class DataParallelNetnsTest {
  private static final int STEPS = DataParallelRun.STEPS;

  private static final Pattern LINK = Pattern.compile("mpi-netns\\.sh: rank (\\d) host \\S+ \\S+ sent (\\d+) bytes "
      + "in (\\d+) packets, received (\\d+) bytes in (\\d+) packets");

  @TempDir Path dir;

  @Test
  void twoRanksInTwoNamespacesTrainAsOnSharedMemoryAndTheLinkCarriesTheCollectives() throws Exception {
    DataParallelTest.mpirun();
    Path script = script();
    assumeNamespaces(script);
    Path shared = Files.createDirectory(dir.resolve("shared-memory"));
    DataParallelTest.run(2, shared, "plain");
    List<List<String>> reference = steps(shared);
    StringBuilder report = new StringBuilder();
    for (String mode : List.of("plain", "zero")) {
      Path folder = Files.createDirectory(dir.resolve(mode));
      String out = acrossNamespaces(script, folder, mode);
      assertEquals(reference, steps(folder), mode + ": every loss and checksum of both ranks as on shared memory\n"
          + out);
      long[] sent = sent(out);
      int[] slice = slices(folder);
      for (int r = 0; r < 2; r++) {
        // the gradients' all-reduce, the mean loss's, and under ZeRO-1 this rank's slice of the parameters
        long bound = STEPS * (4L * UnrolledMicro.PARAMETER_COUNT + 4 + (mode.equals("zero") ? 4L * slice[r] : 0));
        report.append(String.format(Locale.ROOT, "DataParallelNetnsTest: %s, rank %d sent %d bytes over its link in "
            + "%d steps (the launch included), at least %d of collectives' data: %.3f times%n", mode, r, sent[r],
            STEPS, bound, (double) sent[r] / bound));
        assertTrue(sent[r] >= bound, mode + ": rank " + r + " sent " + sent[r] + " bytes over its link in " + STEPS
            + " steps, fewer than the " + bound + " of their collectives\n" + out);
      }
    }
    System.out.print(report);
  }

  /** The script, beside the runtime's sources ({@code ../runtime} from this module). */
  private static Path script() {
    Path script = Path.of("").toAbsolutePath().resolveSibling("runtime").resolve("mpi-netns.sh");
    assertTrue(Files.isExecutable(script), "no executable " + script);
    return script;
  }

  /** Skips the test, with the script's reason, where network namespaces cannot be made (CI included). */
  private void assumeNamespaces(Path script) throws Exception {
    Path log = dir.resolve("check.log");
    int rc = finish(new ProcessBuilder(script.toString(), "--check"), log);
    String out = Files.readString(log);
    assumeTrue(rc != 77, "skipped: " + out.strip());
    assertEquals(0, rc, out);
  }

  /** Runs {@link DataParallelRun} in {@code mode} at 2 ranks, one per namespace; the script's output. */
  private String acrossNamespaces(Path script, Path folder, String mode) throws Exception {
    List<String> command = new ArrayList<>(List.of(script.toString(), "-n", "2"));
    command.addAll(DataParallelTest.rank(folder, mode));
    Path log = folder.resolve("mpi-netns.log");
    int rc = finish(new ProcessBuilder(command), log);
    String out = Files.readString(log);
    assertEquals(0, rc, out);
    return out;
  }

  /**
   * Runs {@code builder} to its end, output and errors into {@code log}; its exit status. After 120 s it is sent
   * SIGTERM, on which the script ends the run and removes its namespaces, and the test fails.
   */
  private static int finish(ProcessBuilder builder, Path log) throws IOException, InterruptedException {
    Process p = builder.redirectErrorStream(true).redirectOutput(log.toFile()).start();
    p.getOutputStream().close();
    if (!p.waitFor(120, TimeUnit.SECONDS)) {
      p.destroy();
      if (!p.waitFor(30, TimeUnit.SECONDS)) {
        p.destroyForcibly();
      }
      fail("still running after 120 s: " + builder.command() + "\n" + Files.readString(log, StandardCharsets.UTF_8));
    }
    return p.exitValue();
  }

  /** Each rank's step lines (its losses and checksums), without the first line, which counts its moments. */
  private static List<List<String>> steps(Path folder) throws IOException {
    List<List<String>> ranks = new ArrayList<>();
    for (int r = 0; r < 2; r++) {
      List<String> lines = Files.readAllLines(folder.resolve("rank-" + r + ".txt"));
      assertTrue(DataParallelTest.MOMENTS.matcher(lines.get(0)).matches(), folder + ": " + lines.get(0));
      ranks.add(lines.subList(1, lines.size()));
    }
    return ranks;
  }

  /** The bytes each rank's host sent over its link, from the script's summary. */
  private static long[] sent(String out) {
    long[] sent = {-1, -1};
    Matcher m = LINK.matcher(out);
    while (m.find()) {
      sent[Integer.parseInt(m.group(1))] = Long.parseLong(m.group(2));
    }
    assertTrue(sent[0] >= 0 && sent[1] >= 0, "no byte counts for both ranks in\n" + out);
    return sent;
  }

  /** Each rank's number of moments, which under ZeRO-1 is the size of its slice of the parameters. */
  private static int[] slices(Path folder) throws IOException {
    int[] slices = new int[2];
    for (int r = 0; r < 2; r++) {
      Matcher m = DataParallelTest.MOMENTS.matcher(Files.readAllLines(folder.resolve("rank-" + r + ".txt")).get(0));
      assertTrue(m.matches(), folder.resolve("rank-" + r + ".txt").toString());
      slices[r] = Integer.parseInt(m.group(2));
    }
    return slices;
  }
}
