package dev.unroll.bench;

import dev.unroll.runtime.mpi.Mpi;
import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;
import jdk.incubator.vector.FloatVector;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.VerboseMode;

/**
 * Data-parallel scaling, measured ({@code BenchMain --ranks N}): at each shape, {@link DataParallelBenchmark}'s
 * step as one process of one thread, one process of N threads, and N ranks of one thread under {@code mpirun} (plain
 * and ZeRO-1), each a fresh JVM (or N of them) that runs JMH in-process; then the all-reduce and the all-gather alone,
 * for their share of the N-rank step. Writes {@code data-parallel.md} into the output folder and prints it: the
 * median step of each, tokens/s over all ranks, and the ratios.
 */
final class DataParallelRuns {
  private DataParallelRuns() {}

  /** Warm-up and measured steps per shape: fixed counts, the same on every rank. */
  private static final Map<String, int[]> ITERATIONS = Map.of("tiny", new int[] {40, 100}, "baby",
      new int[] {20, 60}, "medium", new int[] {4, 20}, "gpt2", new int[] {2, 8});

  /** One child: {@code child FILE SHAPE THREADS}; rank 0 (or the one process) writes its medians to FILE. */
  public static void main(String[] args) throws IOException, RunnerException {
    if (args.length != 4 || !args[0].equals("child")) {
      throw new IllegalArgumentException("usage: DataParallelRuns child FILE SHAPE THREADS (BenchMain --ranks runs it)");
    }
    Path file = Path.of(args[1]);
    String shape = args[2];
    int threads = Integer.parseInt(args[3]);
    boolean ranks = Mpi.available() && Mpi.world().size() > 1;
    boolean root = !Mpi.available() || Mpi.world().rank() == 0;
    StringBuilder lines = new StringBuilder();
    measure(lines, shape, threads, false, ranks ? "step|allReduce" : "step", root);
    if (ranks) {
      measure(lines, shape, threads, true, "step|allGather", root);
    }
    if (root) {
      Files.writeString(file, lines);
    }
  }

  private static void measure(StringBuilder lines, String shape, int threads, boolean zero, String methods,
      boolean root) throws RunnerException {
    int[] it = ITERATIONS.get(shape);
    ChainedOptionsBuilder options = new OptionsBuilder()
        .include(DataParallelBenchmark.class.getName() + "\\.(" + methods + ")$")
        .param("shape", shape)
        .param("threads", Integer.toString(threads))
        .param("zero", Boolean.toString(zero))
        .forks(0)
        .warmupIterations(it[0])
        .measurementIterations(it[1])
        .warmupBatchSize(1)
        .measurementBatchSize(1)
        .verbosity(root ? VerboseMode.NORMAL : VerboseMode.SILENT);
    Collection<RunResult> results = new Runner(options.build()).run();
    if (results.isEmpty()) {
      // Uncaught: under mpirun it aborts the job (Mpi's handler) instead of leaving the other ranks waiting.
      throw new IllegalStateException("no result from " + methods + " at " + shape + (root ? "" : " (on a rank "
          + "other than 0, whose JMH prints nothing: run it alone to see why)"));
    }
    for (RunResult r : results) {
      var stats = r.getPrimaryResult().getStatistics();
      String method = r.getParams().getBenchmark().substring(r.getParams().getBenchmark().lastIndexOf('.') + 1);
      lines.append(String.format(Locale.ROOT, "%s %s %.4f %.4f %.4f %d%n", method, zero, stats.getPercentile(50),
          stats.getPercentile(25), stats.getPercentile(75), stats.getN()));
    }
  }

  /** The median milliseconds of each measured line of a child's file, by "method zero". */
  private static Map<String, double[]> read(Path file) throws IOException {
    Map<String, double[]> m = new LinkedHashMap<>();
    for (String line : Files.readAllLines(file)) {
      String[] f = line.split(" ");
      m.put(f[0] + " " + f[1], new double[] {Double.parseDouble(f[2]), Double.parseDouble(f[3]),
          Double.parseDouble(f[4])});
    }
    return m;
  }

  /**
   * Runs every configuration at every shape and writes the report; the exit status (0, or 1 when a child failed).
   */
  static int run(int ranks, List<String> shapes, Path out, PrintStream stdout, PrintStream stderr)
      throws IOException, InterruptedException {
    String mpirun = mpirun();
    if (mpirun == null) {
      stderr.println("bench: --ranks needs Open MPI's mpirun on the PATH (on Debian 'apt-get install openmpi-bin "
          + "libopenmpi-dev')");
      return 2;
    }
    Files.createDirectories(out);
    StringBuilder table = new StringBuilder();
    table.append(String.format(Locale.ROOT, "Data parallelism on %s, %d logical CPUs, %d-bit vectors; JMH single-shot "
        + "steps (medians, [p25, p75]), each configuration a fresh JVM or %d of them; mpirun --bind-to none.%n%n",
        cpuModel(), Runtime.getRuntime().availableProcessors(), FloatVector.SPECIES_PREFERRED.vectorBitSize(),
        ranks));
    table.append(String.format(Locale.ROOT, "| shape | 1 x 1 tok/s | 1 x %d tok/s | %d x 1 tok/s | %d x 1 ZeRO-1 tok/s "
        + "| %dx1 / 1x%d | %dx1 / 1x1 | all-reduce ms (share of the %d-rank step) | all-gather ms |%n", ranks, ranks,
        ranks, ranks, ranks, ranks, ranks));
    table.append("|---|---|---|---|---|---|---|---|---|\n");
    int failed = 0;
    for (String shape : shapes) {
      NamedShape named = NamedShape.named(shape);
      Path one = out.resolve("dp-" + shape + "-1x1.txt");
      Path wide = out.resolve("dp-" + shape + "-1x" + ranks + ".txt");
      Path many = out.resolve("dp-" + shape + "-" + ranks + "x1.txt");
      for (Path p : List.of(one, wide, many)) {
        Files.deleteIfExists(p);
      }
      failed += child(List.of(), one, shape, 1, stdout);
      failed += child(List.of(), wide, shape, ranks, stdout);
      List<String> launcher = new ArrayList<>(List.of(mpirun, "--oversubscribe", "--bind-to", "none", "-np",
          Integer.toString(ranks)));
      failed += child(launcher, many, shape, 1, stdout);
      if (!Files.exists(one) || !Files.exists(wide) || !Files.exists(many)) {
        table.append("| ").append(shape).append(" | (a run failed: see the output above) |\n");
        continue;
      }
      double a = read(one).get("step false")[0];
      double b = read(wide).get("step false")[0];
      Map<String, double[]> n = read(many);
      double c = n.get("step false")[0];
      double z = n.get("step true")[0];
      double reduce = n.get("allReduce false")[0];
      double gather = n.get("allGather true")[0];
      double tokens = named.tokens;
      table.append(String.format(Locale.ROOT, "| %s | %,.0f | %,.0f | %,.0f | %,.0f | %.2fx | %.2fx | %.2f (%.1f%%) | "
          + "%.2f |%n", shape, tokens / a * 1e3, tokens / b * 1e3, ranks * tokens / c * 1e3, ranks * tokens / z * 1e3,
          b / c * ranks, a / c * ranks, reduce, 100 * reduce / c, gather));
    }
    table.append(String.format(Locale.ROOT, "%nSteps (median ms): see dp-<shape>-<config>.txt (method, zero, median, "
        + "p25, p75, steps).%n"));
    Files.writeString(out.resolve("data-parallel.md"), table);
    stdout.print(table);
    return failed == 0 ? 0 : 1;
  }

  /** Runs one child JVM (under {@code launcher}, when not empty); 1 when it failed. */
  private static int child(List<String> launcher, Path file, String shape, int threads, PrintStream stdout)
      throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(launcher);
    command.addAll(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "--add-modules",
        "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx6g", // gpt2's arenas take 4.2 GB
        // The ranks are JMH runs at once, on purpose: JMH's lock against concurrent runs would stop all but one.
        "-Djmh.ignoreLock=" + !launcher.isEmpty(), "-cp", System.getProperty("java.class.path"),
        DataParallelRuns.class.getName(), "child", file.toString(), shape, Integer.toString(threads)));
    ProcessBuilder pb = new ProcessBuilder(command).inheritIO();
    if (!launcher.isEmpty()) {
      // In containers the shared-memory transport's single copy (cross-memory attach) may be forbidden.
      pb.environment().putIfAbsent("OMPI_MCA_btl_vader_single_copy_mechanism", "none");
      if ("root".equals(System.getProperty("user.name"))) {
        pb.environment().put("OMPI_ALLOW_RUN_AS_ROOT", "1");
        pb.environment().put("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1");
      }
    }
    stdout.println("bench: " + String.join(" ", command.subList(0, launcher.size())) + " ... " + shape + ", "
        + threads + " thread(s)");
    int status = pb.start().waitFor();
    return status == 0 ? 0 : 1;
  }

  private static String mpirun() {
    for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
      Path candidate = Path.of(dir, "mpirun");
      if (Files.isExecutable(candidate)) {
        return candidate.toString();
      }
    }
    return null;
  }

  /** The CPU's model name from /proc/cpuinfo, or the OS's architecture where there is none. */
  private static String cpuModel() {
    try (Stream<String> lines = Files.lines(Path.of("/proc/cpuinfo"))) {
      return lines.filter(l -> l.startsWith("model name")).map(l -> l.substring(l.indexOf(':') + 1).strip())
          .findFirst().orElse(System.getProperty("os.arch"));
    } catch (IOException e) {
      return System.getProperty("os.arch");
    }
  }
}
