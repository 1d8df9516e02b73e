package dev.unroll.processor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unroll.processor.models.EncoderFixtures;
import dev.unroll.processor.models.ModelFixtures;
import dev.unroll.processor.models.UnrolledAwkward;
import dev.unroll.processor.models.UnrolledEven;
import dev.unroll.runtime.AdamW;
import dev.unroll.runtime.Backend;
import dev.unroll.runtime.CausalLm;
import dev.unroll.runtime.Encoder;
import dev.unroll.runtime.Trainable;
import dev.unroll.runtime.format.CheckpointException;
import dev.unroll.runtime.format.Safetensors;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.IntFunction;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Training checkpoints ({@link AdamW#saveCheckpoint}, {@link AdamW#loadCheckpoint}): a run resumed from one continues
 * with exactly the bits of the run that never stopped, on every backend and family; a damaged file is refused and
 * changes nothing.
 */
class TrainingCheckpointTest {
  @TempDir Path dir;

  /** Steps before the checkpoint and after it. */
  private static final int BEFORE = 3;
  private static final int AFTER = 3;

  /** One training example per step, the same for both runs: a step's forward, its loss. */
  private record Run(String name, IntFunction<Trainable> create, Step step) {
    @Override
    public String toString() {
      return name;
    }
  }

  @FunctionalInterface
  private interface Step {
    float forward(Trainable model, int step);
  }

  static Stream<Arguments> runs() {
    List<Arguments> out = new ArrayList<>();
    for (Backend backend : Backend.values()) {
      for (ModelFixtures f : new ModelFixtures[] {ModelFixtures.AWKWARD, ModelFixtures.LLAMA_AWKWARD}) {
        out.add(Arguments.of(backend, new Run(f.name(), seed -> f.create(backend, seed),
            (model, step) -> ((CausalLm) model).forward(f.tokens(step), f.tokens(step + 100)))));
      }
      for (EncoderFixtures f : new EncoderFixtures[] {EncoderFixtures.BERT_AWKWARD, EncoderFixtures.VIT_AWKWARD}) {
        out.add(Arguments.of(backend, new Run(f.name(), seed -> f.create(backend, seed),
            (model, step) -> f.inputs(step).forward((Encoder) model, f.labels(step + 100)))));
      }
    }
    return out.stream();
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("runs")
  void aResumedRunContinuesWithTheBitsOfOneThatNeverStopped(Backend backend, Run run) throws IOException {
    OpenClRule.assumeUsable(backend);
    Trainable model = run.create().apply(7);
    AdamW opt = AdamW.of(model).lr(2e-3f).betas(0.8f, 0.95f).eps(1e-7f).weightDecay(0.05f).clipGradNorm(0.5f);
    for (int s = 0; s < BEFORE; s++) {
      step(run, model, opt, s);
    }
    Path file = dir.resolve("run.safetensors");
    opt.saveCheckpoint(file, Map.of("trainer.step", "3", "note", "é ünïcode"));
    assertEquals(List.of(file), listed(), "no temporary file left beside the checkpoint");

    float[] losses = new float[AFTER];
    float[] norms = new float[AFTER];
    for (int s = 0; s < AFTER; s++) {
      norms[s] = step(run, model, opt, BEFORE + s);
      losses[s] = lastLoss;
    }

    // Another model from another seed, another optimizer with other settings: the checkpoint sets them all.
    Trainable resumed = run.create().apply(99);
    AdamW opt2 = AdamW.of(resumed);
    Map<String, String> state = opt2.loadCheckpoint(file);
    assertEquals(Map.of("trainer.step", "3", "note", "é ünïcode"), state);
    assertEquals(BEFORE, opt2.steps());
    assertEquals(2e-3f, opt2.lr());
    for (int s = 0; s < AFTER; s++) {
      float norm = step(run, resumed, opt2, BEFORE + s);
      assertEquals(Float.floatToRawIntBits(losses[s]), Float.floatToRawIntBits(lastLoss),
          "loss of step " + (BEFORE + s) + ": " + losses[s] + " vs " + lastLoss);
      assertEquals(Float.floatToRawIntBits(norms[s]), Float.floatToRawIntBits(norm), "gradient norm");
    }
    assertArrayEquals(model.parameters().values(), resumed.parameters().values(), "parameters after the steps");
    int n = model.parameters().count();
    for (int i = 0; i < n; i += Math.max(1, n / 97)) {
      assertEquals(opt.firstMoment(i), opt2.firstMoment(i), "first moment " + i);
      assertEquals(opt.secondMoment(i), opt2.secondMoment(i), "second moment " + i);
    }
  }

  private float lastLoss;

  private float step(Run run, Trainable model, AdamW opt, int s) {
    lastLoss = run.step().forward(model, s);
    model.zeroGrad();
    model.backward();
    return opt.step();
  }

  @Test
  void aTrainingCheckpointLoadsAsAPlainModelAndHoldsTheOptimizerUnderItsOwnNames() throws IOException {
    UnrolledAwkward model = UnrolledAwkward.create(Backend.SIMD, 3);
    AdamW opt = AdamW.of(model);
    step(new Run("awkward", null, (m, s) -> model.forward(ModelFixtures.AWKWARD.tokens(s),
        ModelFixtures.AWKWARD.tokens(s + 100))), model, opt, 0);
    Path file = dir.resolve("ckpt.safetensors");
    opt.saveCheckpoint(file, Map.of());
    UnrolledAwkward plain = UnrolledAwkward.load(Backend.SCALAR, file);
    assertArrayEquals(model.parameters().values(), plain.parameters().values());
    try (Safetensors st = Safetensors.open(file)) {
      st.verifyChecksum();
      assertEquals("training", st.metadata().get("unroll.checkpoint"));
      assertEquals("1", st.metadata().get("unroll.adamw.step"));
      assertEquals(UnrolledAwkward.SHAPE.describe(), st.metadata().get("unroll.shape"));
      float[] m = st.readFloats("optimizer.exp_avg.wte.weight");
      assertEquals(opt.firstMoment(5), m[5]);
      float[] v = st.readFloats("optimizer.exp_avg_sq.h.1.mlp.c_fc.weight");
      int at = model.parameters().tensor("h.1.mlp.c_fc.weight").offset();
      assertEquals(opt.secondMoment(at + 7), v[7]);
    }
  }

  /** Every byte flipped in turn where it matters: the checksum refuses each one, and nothing changes. */
  @ParameterizedTest
  @EnumSource(Damage.class)
  void aDamagedCheckpointIsRefusedAndChangesNothing(Damage damage) throws IOException {
    UnrolledAwkward model = UnrolledAwkward.create(Backend.SIMD, 3);
    AdamW opt = AdamW.of(model);
    Path file = dir.resolve("ckpt.safetensors");
    opt.saveCheckpoint(file, Map.of("trainer.step", "0"));
    damage.apply(file);

    UnrolledAwkward other = UnrolledAwkward.create(Backend.SIMD, 4);
    AdamW opt2 = AdamW.of(other).lr(0.5f);
    float[] before = other.parameters().values().clone();
    CheckpointException e = assertThrows(CheckpointException.class, () -> opt2.loadCheckpoint(file));
    assertTrue(e.getMessage().startsWith(file.toString()), e.getMessage());
    assertTrue(e.getMessage().contains(damage.says), e.getMessage());
    assertArrayEquals(before, other.parameters().values(), "parameters untouched");
    assertEquals(0.5f, opt2.lr());
    assertEquals(0, opt2.steps());
  }

  /** Ways a checkpoint on disk goes bad, and a word of what the refusal says. */
  enum Damage {
    /** A bit of a parameter flipped. */
    PARAMETER_BIT("corrupt") {
      @Override
      void apply(Path file) throws IOException {
        flip(file, Files.size(file) / 3);
      }
    },
    /** A bit of the last moment flipped. */
    MOMENT_BIT("corrupt") {
      @Override
      void apply(Path file) throws IOException {
        flip(file, Files.size(file) - 5);
      }
    },
    /** A digit of the step count changed in the header: still valid JSON, still a number. */
    STEP_DIGIT("corrupt") {
      @Override
      void apply(Path file) throws IOException {
        String header = new String(Files.readAllBytes(file), 0, 4096, java.nio.charset.StandardCharsets.ISO_8859_1);
        int at = header.indexOf("\"unroll.adamw.step\":\"0\"") + "\"unroll.adamw.step\":\"".length();
        write(file, at, (byte) '7');
      }
    },
    /** The last bytes lost: a file cut short by a crash of the disk's cache. */
    TRUNCATED("truncated") {
      @Override
      void apply(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
          ch.truncate(ch.size() - 1000);
        }
      }
    },
    /** Bytes appended. */
    GROWN("corrupt") {
      @Override
      void apply(Path file) throws IOException {
        Files.write(file, new byte[] {1, 2, 3}, StandardOpenOption.APPEND);
      }
    };

    final String says;

    Damage(String says) {
      this.says = says;
    }

    abstract void apply(Path file) throws IOException;

    static void flip(Path file, long at) throws IOException {
      byte[] one = new byte[1];
      try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
        ch.read(ByteBuffer.wrap(one), at);
      }
      write(file, at, (byte) (one[0] ^ 0x10));
    }

    static void write(Path file, long at, byte b) throws IOException {
      try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
        ch.write(ByteBuffer.wrap(new byte[] {b}), at);
      }
    }
  }

  @Test
  void whatIsNotAMatchingTrainingCheckpointIsAClearError() throws IOException {
    UnrolledAwkward model = UnrolledAwkward.create(Backend.SIMD, 3);
    AdamW opt = AdamW.of(model);
    Path plain = dir.resolve("plain.safetensors");
    model.save(plain);
    CheckpointException e = assertThrows(CheckpointException.class, () -> opt.loadCheckpoint(plain));
    assertTrue(e.getMessage().contains("is not a training checkpoint"), e.getMessage());

    UnrolledEven even = UnrolledEven.create(Backend.SIMD, 1);
    Path other = dir.resolve("even.safetensors");
    AdamW.of(even).saveCheckpoint(other, Map.of());
    e = assertThrows(CheckpointException.class, () -> opt.loadCheckpoint(other));
    assertTrue(e.getMessage().contains("was saved from a model with " + UnrolledEven.SHAPE.describe()), e.getMessage());

    IllegalArgumentException reserved = assertThrows(IllegalArgumentException.class,
        () -> opt.saveCheckpoint(dir.resolve("x.safetensors"), Map.of("unroll.step", "1")));
    assertTrue(reserved.getMessage().contains("unroll.step"), reserved.getMessage());
    IllegalStateException bare = assertThrows(IllegalStateException.class,
        () -> AdamW.of(model.parameters()).saveCheckpoint(dir.resolve("y.safetensors"), Map.of()));
    assertTrue(bare.getMessage().contains("AdamW.of(model)"), bare.getMessage());
    assertEquals(List.of(other, plain), listed().stream().sorted().toList(), "nothing written by refused saves");
  }

  private List<Path> listed() throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      return s.toList();
    }
  }
}
