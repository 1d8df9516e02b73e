package dev.unroll.bench;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unroll.bench.BenchParams.UsageException;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedSet;
import org.junit.jupiter.api.Test;
import org.openjdk.jmh.runner.BenchmarkList;
import org.openjdk.jmh.runner.BenchmarkListEntry;
import org.openjdk.jmh.runner.format.OutputFormatFactory;
import org.openjdk.jmh.runner.options.VerboseMode;

/** Parameter scoping and checking, against the benchmark list JMH's processor wrote for this module. */
class BenchParamsTest {
  private static SortedSet<BenchmarkListEntry> select(String... patterns) {
    return BenchmarkList.defaultList().find(OutputFormatFactory.createFormatInstance(System.out,
        VerboseMode.SILENT), List.of(patterns), List.of());
  }

  private static String error(SortedSet<BenchmarkListEntry> selected, String... specs) {
    return assertThrows(UsageException.class, () -> BenchParams.check(selected, BenchParams.parse(List.of(specs))))
        .getMessage();
  }

  @Test
  void trainingShapesAndDecodeModelsAreDifferentParameters() {
    for (BenchmarkListEntry b : select("DecodeBenchmark")) {
      assertTrue(Set.of("model", "weights", "threads").containsAll(BenchParams.declared(b).keySet()),
          b.getUsername());
      assertFalse(BenchParams.declared(b).containsKey("shape"), b.getUsername());
    }
    for (BenchmarkListEntry b : select("TrainingStepBenchmark", "ScalarBenchmark", "OpenClBenchmark")) {
      assertTrue(BenchParams.declared(b).containsKey("shape"), b.getUsername());
      assertFalse(BenchParams.declared(b).containsKey("model"), b.getUsername());
      assertFalse(BenchParams.declared(b).containsKey("encoder"), b.getUsername());
    }
  }

  @Test
  void encoderShapesAreAParameterOfTheirOwn() throws UsageException {
    SortedSet<BenchmarkListEntry> encoders = select("EncoderBenchmark");
    assertEquals(4, encoders.size()); // inference and trainingStep, on SIMD and OpenCL
    for (BenchmarkListEntry b : encoders) {
      assertTrue(Set.of("encoder", "threads").containsAll(BenchParams.declared(b).keySet()), b.getUsername());
      assertTrue(BenchParams.declared(b).containsKey("encoder"), b.getUsername());
    }
    BenchParams.check(select("EncoderBenchmark|TrainingStep"), BenchParams.parse(List.of("encoder=vittiny",
        "shape=tiny", "threads=2")));
    String m = error(select("TrainingStep"), "encoder=minilm");
    assertTrue(m.startsWith("-p encoder: no selected benchmark has a parameter encoder;"), m);
  }

  @Test
  void everyParameterHasACheckThatItsDefaultsPass() {
    SortedSet<BenchmarkListEntry> all = select(".*");
    Set<String> classes = new java.util.TreeSet<>();
    all.forEach(b -> classes.add(b.getUserClassQName().substring("dev.unroll.bench.".length())));
    assertTrue(classes.containsAll(Set.of("TrainingStepBenchmark", "ScalarBenchmark", "OpenClBenchmark",
        "DecodeBenchmark", "OpenClDecodeBenchmark", "MemoryBandwidthBenchmark", "PeakFmaBenchmark",
        "UnrolledShapes_TinyBenchmark", "EncoderBenchmark", "OpenClEncoderBenchmark")), classes.toString());
    for (BenchmarkListEntry b : all) {
      for (Map.Entry<String, String[]> p : BenchParams.declared(b).entrySet()) {
        var check = BenchParams.checkFor(b, p.getKey());
        assertNotNull(check, b.getUsername() + " " + p.getKey());
        for (String v : p.getValue()) {
          assertDoesNotThrow(() -> check.accept(v), b.getUsername() + " " + p.getKey() + "=" + v);
        }
      }
    }
  }

  @Test
  void aShapeReachesTheTrainingBenchmarksAmongOthers() throws UsageException {
    BenchParams.check(select("DecodeBenchmark|MemoryBandwidth|TrainingStep"),
        BenchParams.parse(List.of("shape=tiny,gpt2", "model=stories15M")));
  }

  @Test
  void aShapeForDecodingAloneIsAnError() {
    String m = error(select("DecodeBenchmark"), "shape=tiny");
    assertTrue(m.startsWith("-p shape: no selected benchmark has a parameter shape;"), m);
    assertTrue(m.contains("model (DecodeBenchmark, OpenClDecodeBenchmark)"), m);
  }

  @Test
  void anUnknownValueNamesItAndTheAcceptedOnes() {
    String m = error(select("TrainingStep"), "shape=huge");
    assertEquals("-p shape=huge: unknown training shape huge (accepted: tiny, baby,"
        + " medium, gpt2)", m);
    m = error(select("DecodeBenchmark"), "model=stories42M");
    assertTrue(m.contains("unknown decode model stories42M (accepted: stories15M, stories110M)"), m);
    m = error(select("TrainingStep"), "threads=two");
    assertTrue(m.contains("threads must be a whole number >= 1, got two"), m);
    m = error(select("EncoderBenchmark"), "encoder=bert");
    assertEquals("-p encoder=bert: unknown encoder shape bert (accepted: minilm, vittiny)", m);
  }

  @Test
  void int8IsRejectedOnlyWhereOpenClDecodesToo() throws UsageException {
    BenchParams.check(select("dev.unroll.bench.DecodeBenchmark"), BenchParams.parse(List.of("weights=int8")));
    String m = error(select("DecodeBenchmark"), "weights=int8");
    assertTrue(m.startsWith("-p weights=int8 (for OpenClDecodeBenchmark): "), m);
  }

  @Test
  void theGeneratedBenchmarkKeepsItsOwnRules() throws UsageException {
    BenchParams.check(select("UnrolledShapes_TinyBenchmark"), BenchParams.parse(List.of("threads=0",
        "backend=SIMD")));
    String m = error(select("UnrolledShapes_TinyBenchmark"), "backend=GPU");
    assertTrue(m.contains("unknown backend GPU (accepted: "), m);
  }

  @Test
  void malformedSpecs() {
    assertTrue(assertThrows(UsageException.class, () -> BenchParams.parse(List.of("shape"))).getMessage()
        .contains("expected NAME=VALUE"));
    assertTrue(assertThrows(UsageException.class, () -> BenchParams.parse(List.of("shape=tiny,"))).getMessage()
        .contains("an empty value"));
    assertTrue(assertThrows(UsageException.class, () -> BenchParams.parse(List.of("=tiny"))).getMessage()
        .contains("expected NAME=VALUE"));
  }
}
