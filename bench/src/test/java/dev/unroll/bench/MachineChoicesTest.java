package dev.unroll.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unroll.runtime.simd.Tuning;
import dev.unroll.runtime.thread.WorkerPool;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openjdk.jmh.results.RunResult;

/**
 * The report's "Machine choices" section: printed from what this JVM's runtime chose and its CPU's name, with the
 * pool threshold benchmark's crossover when the run has it.
 */
class MachineChoicesTest {

  /** The threshold benchmark at rung 2^n on {@code threads} threads, taking {@code ms} per operation. */
  private static RunResult rung(int n, int threads, double ms) {
    return Fixtures.averageTime("PoolThresholdBenchmark.matmulForward", ms, "log2Work=" + n, "threads=" + threads);
  }

  @Test
  void theReportIsHeadedByThisMachinesChoices() {
    List<RunResult> results = new ArrayList<>();
    // one thread takes n - 13 ms at rung n; two threads 2.5 ms at every rung: slower below 2^16, faster from it,
    // except a noisy win at 2^14 that does not count
    for (int n = 14; n <= 18; n++) {
      results.add(rung(n, 1, n - 13));
      results.add(rung(n, 2, n == 14 ? 0.5 : 2.5));
    }
    results.add(Fixtures.averageTime("TrainingStepBenchmark.trainingStep", 2.0, "shape=tiny", "threads=1"));
    String md = Report.of(results, 2, null, MachineChoices.current()).markdown();
    assertTrue(md.contains("; " + Tuning.describe() + ".\n"), md);
    // this machine's CPU, read as cpuModelFromCpuinfoOrTheArchitecture checks on a file of known contents
    assertTrue(md.startsWith("Machine choices: " + MachineChoices.cpuModel(Path.of("/proc/cpuinfo")) + "; "), md);
    assertTrue(md.contains("Pool threshold: kernels of fewer than " + WorkerPool.MIN_PARALLEL_WORK
        + " floating-point operations"), md);
    assertTrue(md.contains("; measured crossover (a 64x64 matmul forward, PoolThresholdBenchmark): two threads"
        + " faster from 2^16 on.\n"), md);
    assertTrue(md.contains("| 2^15 | 4 | 2000.00 | 2500.00 | 0.80x |\n"), md);
    assertTrue(md.contains("| 2^18 | 32 | 5000.00 | 2500.00 | 2.00x |\n"), md);
    assertTrue(md.contains("| trainingStep | tiny | SIMD | 1 |"), md);
    assertTrue(!md.contains("PoolThresholdBenchmark.matmulForward"), "not among the other benchmarks: " + md);
  }

  @Test
  void withoutTheThresholdBenchmarkTheCrossoverIsNotMeasured() {
    MachineChoices m = new MachineChoices("cpu", "tuning", 1L << 18);
    assertEquals("Machine choices: cpu; tuning.\nPool threshold: kernels of fewer than 262144 floating-point"
        + " operations (2^18) run on the calling thread; crossover not measured in this run"
        + " (PoolThresholdBenchmark).\n", m.markdown(List.of()));
  }

  @Test
  void twoThreadsThatNeverWinSaySo() {
    List<RunResult> results = List.of(rung(14, 1, 1), rung(14, 2, 2), rung(15, 1, 1), rung(15, 2, 1.5),
        rung(16, 1, 1)); // 2^16 on one thread only: left out
    String md = new MachineChoices("cpu", "tuning", 1L << 18).markdown(results);
    assertTrue(md.contains("two threads not faster even at 2^15, the top rung.\n"), md);
    assertTrue(!md.contains("| 2^16 |"), md);
  }

  @Test
  void cpuModelFromCpuinfoOrTheArchitecture(@TempDir Path dir) throws IOException {
    Path cpuinfo = dir.resolve("cpuinfo");
    Files.writeString(cpuinfo, "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 9B45\n"
        + "processor\t: 1\nmodel name\t: AMD EPYC 9B45\n");
    String threads = Runtime.getRuntime().availableProcessors() + " hardware threads";
    assertEquals("AMD EPYC 9B45 (" + System.getProperty("os.arch") + ", " + threads + ")",
        MachineChoices.cpuModel(cpuinfo));
    assertEquals(System.getProperty("os.arch") + ", " + threads + " (no " + dir.resolve("none") + ")",
        MachineChoices.cpuModel(dir.resolve("none")));
  }
}
