package dev.unroll.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The command line: help, usage errors (status 2, a message naming what is wrong, no stack trace), listing. */
class BenchMainTest {
  @TempDir
  Path dir;

  private record Outcome(int status, String out, String err) {}

  private Outcome run(String... args) {
    var out = new ByteArrayOutputStream();
    var err = new ByteArrayOutputStream();
    int status;
    try (var o = new PrintStream(out, true, StandardCharsets.UTF_8);
        var e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
      status = BenchMain.run(args, o, e);
    }
    return new Outcome(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  /** A usage error: status 2, the message first, a pointer to --help, nothing else and nothing written. */
  private String usageError(String... args) {
    Outcome o = run(args);
    assertEquals(2, o.status(), o.err());
    assertEquals("", o.out());
    assertTrue(o.err().startsWith("bench: "), o.err());
    assertTrue(o.err().endsWith("Run with --help for the options." + System.lineSeparator()), o.err());
    assertFalse(o.err().contains("\tat "), o.err());
    return o.err();
  }

  @Test
  void helpShowsOurOptionsAndJmhs() {
    Outcome o = run("--help");
    assertEquals(0, o.status());
    assertTrue(o.out().contains("--out DIR"), o.out());
    assertTrue(o.out().contains("-p  NAME=V1[,V2...]"), o.out()); // the option list's column (the synopsis wraps)
    assertTrue(o.out().contains("--ranks N"), o.out());
    for (NamedShape s : NamedShape.values()) {
      assertTrue(o.out().contains(s.label()), s.label());
    }
    for (DecodeModel m : DecodeModel.values()) {
      assertTrue(o.out().contains(m.label), m.label);
    }
    for (NamedEncoder e : NamedEncoder.values()) {
      assertTrue(o.out().contains(e.label()), e.label());
    }
    assertTrue(o.out().contains("--torch FILE"), o.out());
    assertTrue(o.out().contains("-wi <int>"), o.out()); // JMH's own list
  }

  @Test
  void dataParallelRunsRefuseWhatTheyCannotHonour() {
    assertTrue(usageError("--ranks", "1").startsWith("bench: --ranks 1: give 2 or more ranks"));
    assertTrue(usageError("--ranks", "2", "-wi", "1").startsWith("bench: --ranks takes only -p shape="));
    assertTrue(usageError("--ranks", "2", "-p", "threads=2").startsWith("bench: --ranks takes only -p shape="));
    assertTrue(usageError("--ranks", "2", "-p", "shape=huge").startsWith("bench: unknown training shape huge"));
  }

  @Test
  void unknownOptionsAreNamedAsTyped() {
    assertTrue(usageError("--bogus").startsWith("bench: unknown option --bogus\n"));
    assertTrue(usageError("-wi", "1", "-zz").startsWith("bench: unknown option -zz\n"));
  }

  @Test
  void badValuesNameTheirOption() {
    assertTrue(usageError("-wi", "abc").contains("'abc' of option -wi"));
    assertTrue(usageError("-tu", "parsec").startsWith("bench: -tu: Unknown time unit: parsec"));
    assertTrue(usageError("-bm", "fast").startsWith("bench: -bm: Unable to parse benchmark mode: \"fast\""));
    assertTrue(usageError("-f").contains("option -f requires an argument"));
    assertTrue(usageError("--out").contains("'--out'"));
  }

  @Test
  void parameterMistakesAreFoundBeforeAnythingRuns() {
    assertTrue(usageError("-p", "shape=huge").contains("unknown training shape huge"));
    assertTrue(usageError("-p", "shape=tiny", "DecodeBenchmark").contains("no selected benchmark has a parameter"
        + " shape"));
    assertTrue(usageError("-pweights=int8").contains("(for OpenClDecodeBenchmark)"));
    assertTrue(usageError("-p", "encoder=bert", "EncoderBenchmark").contains("unknown encoder shape bert"));
  }

  @Test
  void pyTorchResultsThatCannotBeReadAreFoundBeforeAnythingRuns() throws Exception {
    Path out = dir.resolve("never");
    Path missing = dir.resolve("missing.json");
    String err = usageError("--out", out.toString(), "--torch", missing.toString(), "EncoderBenchmark");
    assertTrue(err.startsWith("bench: --torch " + missing + ": cannot read it: "), err);
    Path notJson = Files.writeString(dir.resolve("torch.json"), "median 12 ms\n");
    err = usageError("--out", out.toString(), "--torch", notJson.toString(), "EncoderBenchmark");
    assertTrue(err.startsWith("bench: --torch " + notJson + ": " + notJson + " is not JSON: "), err);
    // two files, the encoders' and the decoders': the second's mistake is found too, and named
    Path encoders = Files.writeString(dir.resolve("encoders.json"), TorchResultsTest.JSON);
    Path decoders = Files.writeString(dir.resolve("decoders.json"), TorchResultsTest.DECODERS_JSON.replace(
        "191819022336", "191819022335"));
    String both = encoders + "," + decoders;
    err = usageError("--out", out.toString(), "--torch", both, "EncoderBenchmark");
    assertTrue(err.startsWith("bench: --torch " + both + ": " + decoders + ": gpt2 training counts 191819022335"
        + " FLOPs per step, Unroll's gpt2 shape 191819022336: not the same model"), err);
    assertFalse(Files.exists(out));
  }

  @Test
  void aPatternThatMatchesNothingIsAUsageError() {
    String err = usageError("--out", dir.resolve("never").toString(), "NoSuchBenchmark", "-e", "Other");
    assertTrue(err.startsWith("bench: no benchmark matches NoSuchBenchmark but not Other; list them with -l"), err);
    assertFalse(Files.exists(dir.resolve("never")));
  }

  @Test
  void listsWithoutRunning() {
    Outcome o = run("-l", "MemoryBandwidth");
    assertEquals(0, o.status(), o.err());
    assertTrue(o.out().contains("dev.unroll.bench.MemoryBandwidthBenchmark.oneThread"), o.out());
  }
}
