package dev.unroll.bench;

import dev.unroll.bench.BenchParams.UsageException;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.UnsupportedEncodingException;
import java.nio.charset.Charset;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SortedSet;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.results.format.ResultFormatType;
import org.openjdk.jmh.runner.BenchmarkList;
import org.openjdk.jmh.runner.BenchmarkListEntry;
import org.openjdk.jmh.runner.Defaults;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.format.OutputFormat;
import org.openjdk.jmh.runner.format.OutputFormatFactory;
import org.openjdk.jmh.runner.options.CommandLineOptionException;
import org.openjdk.jmh.runner.options.CommandLineOptions;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.VerboseMode;
import org.openjdk.jmh.util.UnCloseablePrintStream;
import org.openjdk.jmh.util.Utils;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine;

/**
 * Runs the JMH benchmarks (without a benchmark pattern, the model benchmarks at every named shape, the ceilings,
 * decoding and the pool's crossover), then writes into the output folder JMH's JSON ({@code jmh.json}), a Markdown
 * report ({@code results.md}: what the runtime chose for the machine ({@link MachineChoices}), the ceilings
 * measured, tokens/s, GFLOP/s and % of the peak, beside PyTorch's tokens/s or
 * items/s when given its results, decoding against the read bandwidth; {@link Report}) and a chart of tokens/s
 * per shape ({@code tokens-per-second.png}). The report is printed too.
 *
 * <p>Its own options are parsed with picocli; every other argument goes to JMH's own parser. Exit status: 0 when
 * every benchmark started returned a result, 1 when one failed (after the report of the rest is written) or JMH
 * could not run, 2 for a mistake on the command line, found before anything runs.
 */
@Command(name = "bench", sortOptions = false, usageHelpAutoWidth = true, separator = " ",
    description = {"Runs Unroll's JMH benchmarks and writes jmh.json, results.md and tokens-per-second.png.",
        "Arguments it does not know go to JMH: its options (-wi 1 -i 2 -r 500ms -f 1 ...) and benchmark patterns"
            + " (regular expressions, e.g. 'DecodeBenchmark|MemoryBandwidth'). Without a pattern it runs the"
            + " training, encoder, scalar, OpenCL, decoding, peak-FMA, memory-bandwidth and pool-threshold"
            + " benchmarks."},
    footer = {"", "Exit status: 0 all benchmarks ran; 1 a benchmark failed (the report of the others is still"
        + " written) or JMH could not run; 2 a usage error.", "", "JMH's options:"})
public final class BenchMain implements Callable<Integer> {

  /**
   * What runs when no pattern is given: the shapes, the encoders, the scalar baseline, the ceilings, decoding and
   * the pool's crossover ({@link OpenClEncoderBenchmark} only when named: on PoCL a step of an encoder shape takes
   * seconds).
   */
  static final String DEFAULT_INCLUDE =
      "dev\\.unroll\\.bench\\.(TrainingStepBenchmark|EncoderBenchmark|ScalarBenchmark|PeakFmaBenchmark"
          + "|DecodeBenchmark|MemoryBandwidthBenchmark|OpenClBenchmark|OpenClDecodeBenchmark|PoolThresholdBenchmark)"
          + "\\.";

  @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and JMH's options, then exit.")
  private boolean help;

  @Option(names = "--out", paramLabel = "DIR", defaultValue = "bench-results",
      description = "Folder for jmh.json, results.md and tokens-per-second.png (created if missing; default:"
          + " ${DEFAULT-VALUE}).")
  private Path out;

  @Option(names = "-p", paramLabel = "NAME=V1[,V2...]",
      description = {"A benchmark parameter: it reaches each selected benchmark that declares NAME, and no other."
          + " Training benchmarks (TrainingStep, Scalar, OpenCl): shape = tiny, baby, medium, gpt2; threads."
          + " Encoders (EncoderBenchmark, OpenClEncoderBenchmark): encoder = minilm, vittiny; threads (not on"
          + " OpenCL)."
          + " Decoding (DecodeBenchmark, OpenClDecodeBenchmark): model = stories15M, stories110M; weights = f32,"
          + " bf16, int8 (int8 not on OpenCL); threads (not on OpenCL). A NAME that no selected benchmark has, or"
          + " a value it does not accept, is a usage error."})
  private List<String> params = new ArrayList<>();

  @Option(names = "--torch", paramLabel = "FILE[,FILE]", defaultValue = "${sys:bench.torch}",
      description = {"PyTorch's timings of the same shapes, one file or two separated by a comma: the encoders'"
          + " (bench/pytorch/encoders.py --json FILE) and the training shapes' (bench/pytorch/decoders.py --json"
          + " FILE). The report puts PyTorch's items/s or tokens/s and the ratio beside the rows it has figures for"
          + " (default: the system property bench.torch, which the bench profile sets from -Dbench.torch=...)."})
  private String torch;

  @Option(names = "--ranks", paramLabel = "N",
      description = {"Instead of the usual benchmarks, data-parallel scaling over Open MPI: at each shape (-p"
          + " shape=..., default baby,medium) a training step as 1 process x 1 thread, 1 process x N threads and N"
          + " ranks x 1 thread under mpirun (plain and ZeRO-1), and the all-reduce's share of the step; writes"
          + " data-parallel.md. Needs mpirun on the PATH."})
  private int ranks;

  @Parameters(paramLabel = "JMH_ARG", description = "JMH's options and benchmark patterns, passed through.")
  private List<String> jmhArgs = new ArrayList<>();

  private PrintStream stdout;
  private PrintStream stderr;

  public static void main(String[] args) {
    System.exit(run(args, System.out, System.err));
  }

  /** Parses {@code args}, runs, and returns the exit status; writes to {@code out} and {@code err}. */
  static int run(String[] args, PrintStream out, PrintStream err) {
    BenchMain main = new BenchMain();
    main.stdout = out;
    main.stderr = err;
    CommandLine cli = new CommandLine(main)
        // -wi 1, -f 0, -jvmArgs ...: JMH's options are positional arguments here, handed on in order
        .setUnmatchedOptionsArePositionalParams(true)
        .setExpandAtFiles(false)
        .setOut(new PrintWriter(out, true))
        .setErr(new PrintWriter(err, true));
    try {
      CommandLine.ParseResult parsed = cli.parseArgs(args);
      if (parsed.isUsageHelpRequested()) {
        cli.usage(out);
        jmhHelp(out);
        return 0;
      }
      return main.call();
    } catch (CommandLine.ParameterException e) {
      return usage(err, e.getMessage());
    } catch (UsageException e) {
      return usage(err, e.getMessage());
    }
  }

  /** {@code --ranks}: {@link DataParallelRuns} at the shapes of {@code -p shape=...}. */
  private int dataParallel(Map<String, List<String>> parameters) throws UsageException {
    if (ranks < 2) {
      throw new UsageException("--ranks " + ranks + ": give 2 or more ranks");
    }
    if (!jmhArgs.isEmpty() || !parameters.keySet().stream().allMatch("shape"::equals)) {
      throw new UsageException("--ranks takes only -p shape=...; the steps and iterations are its own");
    }
    List<String> shapes = parameters.getOrDefault("shape", List.of("baby", "medium"));
    for (String shape : shapes) {
      try {
        NamedShape.named(shape);
      } catch (IllegalArgumentException e) {
        throw new UsageException(e.getMessage());
      }
    }
    try {
      return DataParallelRuns.run(ranks, shapes, out, stdout, stderr);
    } catch (IOException e) {
      stderr.println("bench: " + e);
      return 1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return 1;
    }
  }

  private static int usage(PrintStream err, String message) {
    err.println("bench: " + message);
    err.println("Run with --help for the options.");
    return 2;
  }

  /** JMH's list of its options, which it prints only to {@code System.out}. */
  private static void jmhHelp(PrintStream out) {
    PrintStream saved = System.out;
    System.setOut(out);
    try {
      new CommandLineOptions().showHelp();
    } catch (IOException | CommandLineOptionException e) {
      out.println("(JMH's option list could not be printed: " + e.getMessage() + ")");
    } finally {
      System.setOut(saved);
    }
  }

  @Override
  public Integer call() throws UsageException {
    Map<String, List<String>> parameters = BenchParams.parse(params);
    if (ranks != 0) {
      return dataParallel(parameters);
    }
    List<String> args = new ArrayList<>(jmhArgs);
    for (String p : params) {
      args.add("-p");
      args.add(p);
    }
    CommandLineOptions jmh = jmhOptions(args);
    if (jmh.shouldList() || jmh.shouldListWithParams() || jmh.shouldListProfilers()
        || jmh.shouldListResultFormats()) {
      return list(jmh);
    }
    List<String> includes = jmh.getIncludes().isEmpty() ? List.of(DEFAULT_INCLUDE) : jmh.getIncludes();
    SortedSet<BenchmarkListEntry> selected = BenchmarkList.defaultList().find(
        OutputFormatFactory.createFormatInstance(stderr, VerboseMode.SILENT), includes, jmh.getExcludes());
    if (selected.isEmpty()) {
      throw new UsageException("no benchmark matches " + String.join(" or ", includes)
          + (jmh.getExcludes().isEmpty() ? "" : " but not " + String.join(" or ", jmh.getExcludes()))
          + "; list them with -l");
    }
    BenchParams.check(selected, parameters);
    TorchResults torchResults = torchResults();
    try {
      Files.createDirectories(out);
    } catch (IOException e) {
      stderr.println("bench: cannot create the output folder " + out + ": " + e);
      return 1;
    }
    // A pattern on the command line replaces the default set (an empty extra pattern would match everything).
    OptionsBuilder builder = new OptionsBuilder();
    builder.parent(jmh);
    if (jmh.getIncludes().isEmpty()) {
      builder.include(DEFAULT_INCLUDE);
    }
    Options options = builder.resultFormat(ResultFormatType.JSON).result(out.resolve("jmh.json").toString()).build();
    Failures failures;
    try {
      failures = new Failures(outputFormat(options));
    } catch (IOException e) {
      stderr.println("bench: cannot write JMH's output to " + options.getOutput().get() + ": " + e);
      return 1;
    }
    Collection<RunResult> results;
    try {
      results = new Runner(options, failures).run();
    } catch (RunnerException e) {
      stderr.println("bench: JMH stopped: " + causes(e)); // e.g. -foe true after a failure, or its lock held
      return 1;
    }
    List<String> failed = Failures.failed(failures.started(), results);
    try {
      report(results, torchResults);
    } catch (IOException e) {
      stderr.println("bench: cannot write the report into " + out + ": " + e);
      return 1;
    }
    if (!failed.isEmpty()) {
      stderr.println(fmt("bench: %d of %d benchmarks failed (JMH printed their errors above):",
          failed.size(), failures.started().size()));
      for (String f : failed) {
        stderr.println("  " + f);
      }
      return 1;
    }
    return 0;
  }

  /** JMH's parse of its arguments; a mistake becomes a usage error that names the option. */
  private static CommandLineOptions jmhOptions(List<String> args) throws UsageException {
    try {
      return new CommandLineOptions(args.toArray(String[]::new));
    } catch (CommandLineOptionException | IllegalStateException e) { // -bm's parser throws the latter
      throw new UsageException(jmhMessage(e.getMessage(), args));
    }
  }

  /** The option whose value each of JMH's value-only messages is about. */
  private static final Map<String, String> OPTION_OF_MESSAGE = Map.of(
      "Unknown time unit", "-tu", "Unable to parse benchmark mode", "-bm",
      "No enum constant org.openjdk.jmh.runner.options.WarmupMode", "-wm",
      "No enum constant org.openjdk.jmh.results.format.ResultFormatType", "-rf",
      "No enum constant org.openjdk.jmh.runner.options.VerboseMode", "-v");

  /**
   * JMH's message about its arguments, made to name the option as the user typed it: JMH names an unknown option
   * or one whose value it cannot parse without its dashes ("bogus is not a recognized option", "Cannot parse
   * argument 'x' of option wi"), and some bad values without their option at all ("Unknown time unit: parsec").
   */
  static String jmhMessage(String message, List<String> args) {
    Matcher unknown = Pattern.compile("^(\\S+) is not a recognized option$").matcher(message);
    if (unknown.matches()) {
      String name = unknown.group(1);
      // as typed: "--bogus" for "bogus"; "-zz" for "z" (JMH reads "-zz" as "-z -z")
      String typed = args.stream().filter(a -> a.startsWith("-") && a.replaceFirst("^-+", "").equals(name))
          .findFirst().or(() -> args.stream().filter(a -> a.startsWith("-" + name)).findFirst())
          .orElse("-" + name);
      return "unknown option " + typed;
    }
    for (Map.Entry<String, String> e : OPTION_OF_MESSAGE.entrySet()) {
      if (message.startsWith(e.getKey())) {
        return e.getValue() + ": " + message.replace('\n', ' ');
      }
    }
    return message.replaceFirst("of option (\\w+)", "of option -$1").replaceFirst("^Option (\\S+) requires",
        "option -$1 requires");
  }

  /** JMH's listings (-l, -lp, -lprof, -lrf), as its own Main gives them. */
  private int list(CommandLineOptions jmh) {
    try {
      Runner runner = new Runner(jmh, OutputFormatFactory.createFormatInstance(new UnCloseablePrintStream(stdout,
          Utils.guessConsoleEncoding()), VerboseMode.NORMAL));
      if (jmh.shouldList()) {
        runner.list();
      } else if (jmh.shouldListWithParams()) {
        runner.listWithParams(jmh);
      } else if (jmh.shouldListProfilers()) {
        jmh.listProfilers();
      } else {
        jmh.listResultFormats();
      }
      return 0;
    } catch (UnsupportedEncodingException e) { // UnCloseablePrintStream declares it; a Charset cannot be unsupported
      throw new IllegalStateException(e);
    }
  }

  /** JMH's own console output (or its -o file), wrapped by {@link Failures}. */
  private OutputFormat outputFormat(Options options) throws IOException {
    Charset charset = Utils.guessConsoleEncoding();
    PrintStream console = options.getOutput().hasValue() ? new PrintStream(options.getOutput().get(), charset)
        : new UnCloseablePrintStream(stdout, charset); // JMH closes its stream at the end of the run
    return OutputFormatFactory.createFormatInstance(console, options.verbosity().orElse(Defaults.VERBOSITY));
  }

  /** The PyTorch results named by {@code --torch}, read before anything runs; null when none is named. */
  private TorchResults torchResults() throws UsageException {
    if (torch == null || torch.isBlank()) {
      return null;
    }
    try {
      return TorchResults.read(Arrays.stream(torch.split(",")).map(String::strip).filter(f -> !f.isEmpty())
          .map(Path::of).toList());
    } catch (IOException e) {
      throw new UsageException("--torch " + torch + ": cannot read it: " + e);
    } catch (IllegalArgumentException e) {
      throw new UsageException("--torch " + torch + ": " + e.getMessage());
    }
  }

  /** Writes results.md and the chart (each whole or not at all) and prints the report. */
  private void report(Collection<RunResult> results, TorchResults torchResults) throws IOException {
    Report report = Report.of(results, Runtime.getRuntime().availableProcessors(), torchResults,
        MachineChoices.current());
    String markdown = report.markdown();
    stdout.println();
    stdout.println(markdown);
    Path md = out.resolve("results.md");
    Path tmp = Files.createTempFile(out, "results", ".md.tmp");
    Files.writeString(tmp, markdown);
    Files.move(tmp, md, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    String wrote = "Wrote " + out.resolve("jmh.json") + " and " + md;
    if (!report.chartRows().isEmpty()) {
      Path png = out.resolve("tokens-per-second.png");
      Chart.write(report.chartRows(), png);
      wrote += " and " + png;
    }
    stdout.println(wrote);
  }

  /** An exception's message and its causes' ("a: b: c"). */
  private static String causes(Throwable e) {
    StringBuilder s = new StringBuilder(String.valueOf(e.getMessage()));
    for (Throwable c = e.getCause(); c != null; c = c.getCause()) {
      s.append(": ").append(c.getMessage() != null ? c.getMessage() : c.getClass().getSimpleName());
    }
    return s.toString();
  }

  static String fmt(String format, Object... args) {
    return String.format(Locale.ROOT, format, args);
  }
}
