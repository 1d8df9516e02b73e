package dev.unroll.bench;

import dev.unroll.runtime.simd.Tuning;
import dev.unroll.runtime.thread.WorkerPool;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.openjdk.jmh.results.RunResult;

/**
 * What the runtime chose for the machine the report was made on, printed at the head of the report: the CPU
 * (from {@code /proc/cpuinfo} when there is one), the SIMD kernels' vector width, register block and panel sizes
 * with where they came from ({@link Tuning#describe()}), and the pool's threshold beside the crossover that
 * {@link PoolThresholdBenchmark} measured in the same run, with its table, so that anyone can see whether the
 * threshold fits their machine.
 *
 * @param cpu the CPU's model name, or what is known of it
 * @param tuning {@link Tuning#describe()}
 * @param minParallelWork {@link WorkerPool#MIN_PARALLEL_WORK}
 */
record MachineChoices(String cpu, String tuning, long minParallelWork) {

  /** Microseconds per unit of an average-time score (the benchmark's is us/op; -tu changes it). */
  private static final Map<String, Double> MICROSECONDS = Map.of("ns/op", 1e-3, "us/op", 1.0, "ms/op", 1e3,
      "s/op", 1e6);

  /** The choices of the JVM running this: its CPU, {@link Tuning} and the pool's threshold. */
  static MachineChoices current() {
    return new MachineChoices(cpuModel(Path.of("/proc/cpuinfo")), Tuning.describe(), WorkerPool.MIN_PARALLEL_WORK);
  }

  /** The first "model name" of a file laid out as Linux's /proc/cpuinfo, or the architecture when there is none. */
  static String cpuModel(Path cpuinfo) {
    String arch = System.getProperty("os.arch") + ", " + Runtime.getRuntime().availableProcessors()
        + " hardware threads";
    try {
      Optional<String> model = Files.readAllLines(cpuinfo, StandardCharsets.UTF_8).stream()
          .filter(l -> l.startsWith("model name") && l.indexOf(':') > 0)
          .map(l -> l.substring(l.indexOf(':') + 1).strip()).findFirst();
      return model.map(m -> m + " (" + arch + ")").orElse(arch + " (no model name in " + cpuinfo + ")");
    } catch (IOException e) {
      return arch + " (no " + cpuinfo + ")";
    }
  }

  /**
   * The work (2^n floating-point operations, by n) at which {@link PoolThresholdBenchmark} ran a matmul, with its
   * time in microseconds on one thread and on two ([0] and [1]); rungs timed on only one of them are left out.
   */
  static TreeMap<Integer, double[]> ladder(Collection<RunResult> results) {
    TreeMap<Integer, double[]> ladder = new TreeMap<>();
    for (RunResult r : results) {
      if (!r.getParams().getBenchmark().endsWith("PoolThresholdBenchmark.matmulForward")) {
        continue;
      }
      int threads = Integer.parseInt(r.getParams().getParam("threads"));
      if (threads == 1 || threads == 2) {
        double[] us = ladder.computeIfAbsent(Integer.parseInt(r.getParams().getParam("log2Work")),
            k -> new double[] {Double.NaN, Double.NaN});
        us[threads - 1] = Ceilings.median(r) * MICROSECONDS.getOrDefault(r.getPrimaryResult().getScoreUnit(),
            Double.NaN);
      }
    }
    ladder.values().removeIf(us -> Double.isNaN(us[0]) || Double.isNaN(us[1]));
    return ladder;
  }

  /**
   * The smallest rung from which two threads beat one at every larger rung too (one noisy rung that wins alone
   * does not count), or -1 when two threads do not even at the top rung.
   */
  static int crossover(TreeMap<Integer, double[]> ladder) {
    int from = -1;
    for (Map.Entry<Integer, double[]> e : ladder.descendingMap().entrySet()) {
      if (e.getValue()[1] >= e.getValue()[0]) {
        break;
      }
      from = e.getKey();
    }
    return from;
  }

  /** The section: one line of choices, one of the pool, and the threshold benchmark's table when the run has it. */
  String markdown(Collection<RunResult> results) {
    StringBuilder s = new StringBuilder("Machine choices: ").append(cpu).append("; ").append(tuning).append(".\n");
    s.append(BenchMain.fmt("Pool threshold: kernels of fewer than %d floating-point operations (%s) run on the"
        + " calling thread", minParallelWork, power(minParallelWork)));
    TreeMap<Integer, double[]> ladder = ladder(results);
    if (ladder.isEmpty()) {
      return s.append("; crossover not measured in this run (PoolThresholdBenchmark).\n").toString();
    }
    int crossover = crossover(ladder);
    s.append(BenchMain.fmt("; measured crossover (a %dx%d matmul forward, PoolThresholdBenchmark): ",
        PoolThresholdBenchmark.CHANNELS, PoolThresholdBenchmark.CHANNELS));
    s.append(crossover < 0 ? BenchMain.fmt("two threads not faster even at 2^%d, the top rung", ladder.lastKey())
        : BenchMain.fmt("two threads faster from 2^%d on", crossover)).append(".\n\n");
    s.append("| work (flops) | rows | 1 thread (us) | 2 threads (us) | 2 threads vs 1 |\n|---|---:|---:|---:|---:|\n");
    for (Map.Entry<Integer, double[]> e : ladder.entrySet()) {
      double[] us = e.getValue();
      s.append(BenchMain.fmt("| 2^%d | %d | %.2f | %.2f | %.2fx |%n", e.getKey(),
          PoolThresholdBenchmark.rows(e.getKey()), us[0], us[1], us[0] / us[1]));
    }
    return s.toString();
  }

  /** "2^18" for a power of two, else "about 2^17.6". */
  private static String power(long n) {
    if (n > 0 && Long.bitCount(n) == 1) {
      return "2^" + Long.numberOfTrailingZeros(n);
    }
    return n <= 0 ? "none" : BenchMain.fmt("about 2^%.1f", Math.log(n) / Math.log(2));
  }
}
