package dev.unroll.runtime.llama;

import static dev.unroll.runtime.format.TestFiles.assertFails;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unroll.runtime.ParamTensor;
import dev.unroll.runtime.Parameters;
import dev.unroll.runtime.format.CheckpointException;
import dev.unroll.runtime.format.Safetensors;
import dev.unroll.runtime.format.TestFiles;
import dev.unroll.runtime.gpt2.Gpt2Checkpoints;
import dev.unroll.runtime.scalar.ScalarKernels;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class LlamaCheckpointsTest {

  @TempDir
  Path dir;

  private static LlamaShape shape(boolean tied) {
    return tied ? LlamaLayoutTest.TIED : LlamaLayoutTest.UNTIED;
  }

  /** Parameters laid out for {@code s}, every value (padding rows included) random. */
  static Parameters randomParameters(LlamaShape s, long seed) {
    return TestFiles.randomParameters(LlamaLayout.tensors(s), seed);
  }


  /** What a load yields: the values with the padding rows of the embedding and classifier zero. */
  static float[] withZeroPadding(Parameters p, LlamaShape s) {
    float[] v = p.values().clone();
    for (ParamTensor t : p.tensors()) {
      if (t.name().equals(LlamaLayout.EMBEDDING) || t.name().equals(LlamaLayout.CLASSIFIER)) {
        Arrays.fill(v, t.offset() + s.vocab() * s.dim(), t.offset() + t.size(), 0f);
      }
    }
    return v;
  }

  private static float[] floats(ByteBuffer b, long pos, int n) {
    float[] out = new float[n];
    b.slice((int) pos, n * 4).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
    return out;
  }

  private static float[] arena(Parameters p, String name, int n) {
    ParamTensor t = p.tensors().stream().filter(x -> x.name().equals(name)).findFirst().orElseThrow();
    return Arrays.copyOfRange(p.values(), t.offset(), t.offset() + n);
  }

  // ---------------------------------------------------------------------------------------------------------
  // llama2.c

  @ParameterizedTest
  @ValueSource(booleans = {true, false})
  void llama2cRoundTrip(boolean tied) throws IOException {
    LlamaShape s = shape(tied);
    Parameters source = randomParameters(s, 1);
    Parameters target = randomParameters(s, 2);
    float[] grads = target.grads().clone();
    Path path = dir.resolve("model.bin");
    LlamaCheckpoints.saveLlama2c(source, s, path);
    LlamaCheckpoints.load(target, s, path);
    assertArrayEquals(withZeroPadding(source, s), target.values());
    assertArrayEquals(grads, target.grads());
    assertEquals(List.of("model.bin"), TestFiles.listing(dir));
  }

  /** The file read back by hand the way run.c's memory_map_weights walks it. */
  @ParameterizedTest
  @ValueSource(booleans = {true, false})
  void llama2cFileIsWhatRunCReads(boolean tied) throws IOException {
    LlamaShape s = shape(tied);
    Parameters p = randomParameters(s, 3);
    Path path = dir.resolve("model.bin");
    LlamaCheckpoints.saveLlama2c(p, s, path);
    ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(path)).order(ByteOrder.LITTLE_ENDIAN);
    int[] header = new int[7];
    for (int i = 0; i < 7; i++) {
      header[i] = b.getInt(4 * i);
    }
    assertArrayEquals(new int[] {48, 80, 2, 6, 2, tied ? 97 : -97, 13}, header);
    int c = 48;
    int l = 2;
    int kv = 16;
    int h = 80;
    int hs = 8;
    long pos = 28;
    assertArrayEquals(arena(p, "model.embed_tokens.weight", 97 * c), floats(b, pos, 97 * c));
    pos += 97L * c * 4;
    assertArrayEquals(arena(p, "model.layers.0.input_layernorm.weight", l * c), floats(b, pos, l * c));
    pos += (long) l * c * 4;
    assertArrayEquals(arena(p, "model.layers.0.self_attn.q_proj.weight", l * c * c), floats(b, pos, l * c * c));
    pos += (long) l * c * c * 4;
    assertArrayEquals(arena(p, "model.layers.0.self_attn.k_proj.weight", l * kv * c), floats(b, pos, l * kv * c));
    pos += (long) l * kv * c * 4 * 2 + (long) l * c * c * 4 + (long) l * c * 4;
    assertArrayEquals(arena(p, "model.layers.0.mlp.gate_proj.weight", l * h * c), floats(b, pos, l * h * c));
    pos += (long) l * h * c * 4 * 3;
    assertArrayEquals(arena(p, "model.norm.weight", c), floats(b, pos, c));
    pos += c * 4;
    float[] real = floats(b, pos, 13 * hs / 2);
    float[] imag = floats(b, pos + 13 * hs / 2 * 4, 13 * hs / 2);
    for (int t = 0; t < 13; t++) {
      for (int i = 0; i < hs / 2; i++) {
        double angle = t * Math.pow(10000, -2.0 * i / hs);
        assertEquals(Math.cos(angle), real[t * hs / 2 + i], 1e-6);
        assertEquals(Math.sin(angle), imag[t * hs / 2 + i], 1e-6);
      }
    }
    pos += 2L * 13 * hs / 2 * 4;
    if (!tied) {
      assertArrayEquals(arena(p, "lm_head.weight", 97 * c), floats(b, pos, 97 * c));
      pos += 97L * c * 4;
    }
    assertEquals(pos, b.capacity());
  }

  /** Writes a llama2.c file: the model's weights as saveLlama2c writes them, with another seq_len and tables. */
  private Path llama2cVariant(Parameters p, LlamaShape s, int seqLen, int tables) throws IOException {
    Path saved = dir.resolve("saved.bin");
    LlamaCheckpoints.saveLlama2c(p, s, saved);
    ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(saved)).order(ByteOrder.LITTLE_ENDIAN);
    int table = s.context() * s.headSize() / 2 * 4;
    int weightsEnd = b.capacity() - 2 * table - (s.tiedClassifier() ? 0 : s.vocab() * s.dim() * 4);
    ByteBuffer out = ByteBuffer.allocate(b.capacity() - 2 * table + tables * seqLen * s.headSize() / 2 * 4)
        .order(ByteOrder.LITTLE_ENDIAN);
    out.put(b.slice(0, weightsEnd));
    out.putInt(24, seqLen);
    for (int i = 0; i < tables * seqLen * s.headSize() / 2; i++) {
      out.putFloat(Float.NaN); // whatever the tables hold must not end up in a weight
    }
    out.put(b.slice(weightsEnd + 2 * table, b.capacity() - weightsEnd - 2 * table));
    Path path = dir.resolve("variant-" + seqLen + "-" + tables + ".bin");
    Files.write(path, out.array());
    return path;
  }

  /** Files with seq_len at or above the context load, skipping however many RoPE rows the file holds. */
  @ParameterizedTest
  @ValueSource(ints = {0, 1, 2})
  void llama2cAcceptsALongerSeqLenAndSkipsTheRopeTablesBySize(int tables) throws IOException {
    for (boolean tied : new boolean[] {true, false}) {
      LlamaShape s = shape(tied);
      Parameters p = randomParameters(s, 4);
      for (int seqLen : new int[] {13, 14, 256}) {
        Parameters target = randomParameters(s, 5);
        Path path = llama2cVariant(p, s, seqLen, tables);
        List<String> notices = new ArrayList<>();
        LlamaCheckpoints.load(target, s, path, notices::add);
        assertArrayEquals(withZeroPadding(p, s), target.values(), "seq_len " + seqLen + ", tied " + tied);
        assertEquals(seqLen == 13 ? List.of()
            : List.of(path + ": seq_len is " + seqLen + "; using the first 13 positions (context = 13)"), notices);
      }
    }
  }

  /** s with another context: what stories15M (seq_len 256) is to a model of context 128. */
  private static LlamaShape withContext(LlamaShape s, int context) {
    return new LlamaShape(s.vocab(), s.paddedVocab(), context, s.dim(), s.heads(), s.kvHeads(), s.layers(), s.batch(),
        s.hidden(), s.tiedClassifier());
  }

  /** A model of context 29 saved by the real writer (RoPE tables of 29 rows) loads into context 13, said once. */
  @ParameterizedTest
  @ValueSource(booleans = {true, false})
  void llama2cOfALongerSeqLenLoadsEveryWeightAndSaysSoOnce(boolean tied) throws IOException {
    LlamaShape s = shape(tied);
    LlamaShape longer = withContext(s, 29);
    assertEquals(LlamaLayout.tensors(s), LlamaLayout.tensors(longer), "no weight depends on the context");
    Parameters p = randomParameters(longer, 6);
    Path path = dir.resolve("stories-long.bin");
    LlamaCheckpoints.saveLlama2c(p, longer, path);
    Parameters target = randomParameters(s, 7);
    float[] grads = target.grads().clone();
    List<String> notices = new ArrayList<>();
    LlamaCheckpoints.load(target, s, path, notices::add);
    assertArrayEquals(withZeroPadding(p, longer), target.values());
    assertArrayEquals(grads, target.grads());
    assertEquals(List.of(path + ": seq_len is 29; using the first 13 positions (context = 13)"), notices);
  }

  @ParameterizedTest
  @ValueSource(booleans = {true, false})
  void llama2cOfAShorterSeqLenThanTheContextIsAnErrorNamingBoth(boolean tied) throws IOException {
    LlamaShape s = shape(tied);
    LlamaShape longer = withContext(s, 29);
    Path path = dir.resolve("short.bin");
    LlamaCheckpoints.saveLlama2c(randomParameters(s, 1), s, path);
    Parameters target = randomParameters(longer, 2);
    float[] before = target.values().clone();
    List<String> notices = new ArrayList<>();
    assertFails(CheckpointException.class, path, () -> LlamaCheckpoints.load(target, longer, path, notices::add),
        "seq_len=13 is shorter than the model's context=29", "the file has dim=48 hidden=80 layers=2 heads=6 "
            + "kvHeads=2 vocab=97 seq_len=13", "the model has " + longer.describe());
    Path one = llama2cVariant(randomParameters(s, 1), s, 1, 2);
    assertFails(CheckpointException.class, one, () -> LlamaCheckpoints.load(target, s, one, notices::add),
        "seq_len=1 is shorter than the model's context=13", "the model has " + s.describe());
    assertArrayEquals(before, target.values());
    assertEquals(List.of(), notices);
  }

  /** Only the context may be shorter: any other difference is still another shape. */
  @Test
  void llama2cOfALongerSeqLenExcusesNoOtherDifference() throws IOException {
    LlamaShape s = shape(true);
    LlamaShape other = new LlamaShape(97, 112, 29, 48, 6, 3, 2, 4, 80, true);
    Path path = dir.resolve("other.bin");
    LlamaCheckpoints.saveLlama2c(randomParameters(other, 1), other, path);
    Parameters target = randomParameters(s, 2);
    float[] before = target.values().clone();
    assertFails(CheckpointException.class, path, () -> LlamaCheckpoints.load(target, s, path),
        "another model shape", "kvHeads=3 vocab=97 seq_len=29", "the model has " + s.describe());
    LlamaShape untied = withContext(shape(false), 29);
    Path unshared = dir.resolve("unshared.bin");
    LlamaCheckpoints.saveLlama2c(randomParameters(untied, 1), untied, unshared);
    assertFails(CheckpointException.class, unshared, () -> LlamaCheckpoints.load(target, s, unshared),
        "classifier of its own", "seq_len=29");
    assertArrayEquals(before, target.values());
  }

  /**
   * The whole model: the reference at context 13, loaded from a file of context 29, gives the long model's logits
   * at the first 13 positions, bit for bit (RoPE depends on the position alone; attention is causal). Hugging
   * Face's safetensors record no context and load the same weights.
   */
  @ParameterizedTest
  @ValueSource(booleans = {true, false})
  void aModelLoadedAtTheShorterContextComputesWhatTheLongOneDoesThere(boolean tied) throws IOException {
    LlamaShape s = shape(tied);
    LlamaShape longer = withContext(s, 29);
    LlamaReference longModel = LlamaReference.create(longer, 11);
    Path bin = dir.resolve("long.bin");
    LlamaCheckpoints.saveLlama2c(longModel.parameters(), longer, bin);
    Path st = dir.resolve("long.safetensors");
    LlamaCheckpoints.saveSafetensors(longModel.parameters(), longer, st);
    for (Path path : List.of(bin, st)) {
      TestFiles.assertSamePrefixLogits(longModel, LlamaReference.load(s, path), 12, path.toString());
    }
  }

  @Test
  void llama2cHeaderForAnotherShapeNamesBothShapes() throws IOException {
    LlamaShape s = shape(true);
    Path path = dir.resolve("other.bin");
    LlamaShape other = new LlamaShape(97, 112, 13, 48, 6, 3, 2, 4, 80, true);
    LlamaCheckpoints.saveLlama2c(randomParameters(other, 1), other, path);
    Parameters target = randomParameters(s, 2);
    float[] before = target.values().clone();
    assertFails(CheckpointException.class, path, () -> LlamaCheckpoints.load(target, s, path),
        "another model shape", "the file has dim=48 hidden=80 layers=2 heads=6 kvHeads=3 vocab=97 seq_len=13",
        "the model has " + s.describe());
    assertArrayEquals(before, target.values());
  }

  @ParameterizedTest
  @ValueSource(booleans = {true, false})
  void llama2cClassifierMismatchIsAClearError(boolean fileTied) throws IOException {
    Path path = dir.resolve("model.bin");
    LlamaCheckpoints.saveLlama2c(randomParameters(shape(fileTied), 1), shape(fileTied), path);
    LlamaShape model = shape(!fileTied);
    Parameters target = randomParameters(model, 2);
    float[] before = target.values().clone();
    assertFails(CheckpointException.class, path, () -> LlamaCheckpoints.load(target, model, path),
        fileTied ? "shares its classifier" : "classifier of its own", "the model has " + model.describe());
    assertArrayEquals(before, target.values());
  }

  @Test
  void llama2cTruncatedOrOversizedFilesAreRefused() throws IOException {
    LlamaShape s = shape(false);
    Path path = dir.resolve("model.bin");
    LlamaCheckpoints.saveLlama2c(randomParameters(s, 1), s, path);
    byte[] bytes = Files.readAllBytes(path);
    Parameters target = randomParameters(s, 2);
    float[] before = target.values().clone();
    Path cut = dir.resolve("cut.bin");
    Files.write(cut, Arrays.copyOf(bytes, bytes.length - 4 * 97 * 48 - 4));
    assertFails(CheckpointException.class, cut, () -> LlamaCheckpoints.load(target, s, cut), "truncated",
        "without them");
    Path longer = dir.resolve("long.bin");
    Files.write(longer, Arrays.copyOf(bytes, bytes.length + 4));
    assertFails(CheckpointException.class, longer, () -> LlamaCheckpoints.load(target, s, longer),
        "does not explain");
    Path tiny = dir.resolve("tiny.bin");
    Files.write(tiny, Arrays.copyOf(bytes, 20));
    assertFails(CheckpointException.class, tiny, () -> LlamaCheckpoints.load(target, s, tiny), "too short");
    assertArrayEquals(before, target.values());
  }

  @Test
  void otherFilesAreNamedForWhatTheyAre() throws IOException {
    LlamaShape s = shape(true);
    Parameters target = randomParameters(s, 2);
    Path gpt2 = dir.resolve("gpt2.bin");
    ByteBuffer b = ByteBuffer.allocate(1024).order(ByteOrder.LITTLE_ENDIAN);
    b.putInt(Gpt2Checkpoints.LLMC_MAGIC).putInt(3);
    Files.write(gpt2, b.array());
    assertFails(CheckpointException.class, gpt2, () -> LlamaCheckpoints.load(target, s, gpt2), "llm.c GPT-2");
    Path v1 = dir.resolve("v1.bin");
    b = ByteBuffer.allocate(256).order(ByteOrder.LITTLE_ENDIAN);
    b.putInt(0x616b3432).putInt(1);
    Files.write(v1, b.array());
    assertFails(CheckpointException.class, v1, () -> LlamaCheckpoints.load(target, s, v1), "ak42", "version 1",
        "--version 0");
    Path text = dir.resolve("notes.txt");
    Files.writeString(text, "these are not the weights you are looking for");
    assertFails(CheckpointException.class, text, () -> LlamaCheckpoints.load(target, s, text),
        "neither safetensors", "nor a llama2.c checkpoint");
  }

  // ---------------------------------------------------------------------------------------------------------
  // safetensors

  @ParameterizedTest
  @ValueSource(booleans = {true, false})
  void safetensorsRoundTrip(boolean tied) throws IOException {
    LlamaShape s = shape(tied);
    Parameters source = randomParameters(s, 1);
    Parameters target = randomParameters(s, 2);
    Path path = dir.resolve("model.safetensors");
    LlamaCheckpoints.saveSafetensors(source, s, path);
    LlamaCheckpoints.load(target, s, path);
    assertArrayEquals(withZeroPadding(source, s), target.values());
    try (Safetensors st = Safetensors.open(path)) {
      assertEquals(Map.of("format", "pt", "unroll.shape", s.describe()), st.metadata());
      assertEquals(tied, !st.tensors().containsKey("lm_head.weight"));
      assertArrayEquals(new long[] {97, 48}, st.tensor("model.embed_tokens.weight").shape());
      assertArrayEquals(new long[] {16, 48}, st.tensor("model.layers.1.self_attn.k_proj.weight").shape());
      // everything but q and k is stored as the arena holds it
      assertArrayEquals(arena(source, "model.layers.1.mlp.down_proj.weight", 48 * 80),
          st.readFloats("model.layers.1.mlp.down_proj.weight"));
      assertArrayEquals(arena(source, "model.layers.0.self_attn.v_proj.weight", 16 * 48),
          st.readFloats("model.layers.0.self_attn.v_proj.weight"));
    }
  }

  /**
   * The permutation on a case small enough to check by hand: heads of 4 rows, arena row r holding the value r in
   * every column. Hugging Face's rows of a head are llama2.c's 0, 2 (the first of each pair) then 1, 3.
   */
  @Test
  void safetensorsPermutesQueryAndKeyRowsToRotateHalfOrder() throws IOException {
    LlamaShape s = new LlamaShape(5, 8, 4, 8, 2, 1, 1, 1, 4, true); // hs = 4: q has 2 heads, k has 1
    Parameters p = randomParameters(s, 1);
    for (String name : new String[] {"q_proj", "k_proj"}) {
      ParamTensor t = p.tensor("model.layers.0.self_attn." + name + ".weight");
      for (int r = 0; r < t.shape()[0]; r++) {
        Arrays.fill(p.values(), t.offset() + r * 8, t.offset() + r * 8 + 8, r);
      }
    }
    Path path = dir.resolve("small.safetensors");
    LlamaCheckpoints.saveSafetensors(p, s, path);
    try (Safetensors st = Safetensors.open(path)) {
      assertArrayEquals(new float[] {0, 2, 1, 3, 4, 6, 5, 7},
          firstColumn(st.readFloats("model.layers.0.self_attn.q_proj.weight"), 8));
      assertArrayEquals(new float[] {0, 2, 1, 3},
          firstColumn(st.readFloats("model.layers.0.self_attn.k_proj.weight"), 8));
    }
    assertEquals(List.of(0, 2, 4, 1, 3, 5, 6, 8, 10, 7, 9, 11),
        java.util.stream.IntStream.range(0, 12).map(r -> LlamaCheckpoints.llama2cRow(r, 6)).boxed().toList());
    Parameters back = randomParameters(s, 2);
    LlamaCheckpoints.load(back, s, path);
    assertArrayEquals(withZeroPadding(p, s), back.values());
  }

  private static float[] firstColumn(float[] m, int cols) {
    float[] out = new float[m.length / cols];
    for (int r = 0; r < out.length; r++) {
      out[r] = m[r * cols];
    }
    return out;
  }

  /**
   * Why the permutation is the right one: llama2.c's RoPE on (W·x) equals Hugging Face's rotate-half RoPE on
   * (W_hf·x), row for row under the permutation, so attention scores are the same in both conventions.
   */
  @Test
  void permutedRowsUnderRotateHalfRopeGiveLlama2cRope() throws IOException {
    LlamaShape s = new LlamaShape(5, 8, 16, 24, 2, 2, 1, 1, 4, true); // hs = 12
    Parameters p = randomParameters(s, 7);
    Path path = dir.resolve("rope.safetensors");
    LlamaCheckpoints.saveSafetensors(p, s, path);
    float[] hf;
    try (Safetensors st = Safetensors.open(path)) {
      hf = st.readFloats("model.layers.0.self_attn.q_proj.weight");
    }
    float[] w = arena(p, "model.layers.0.self_attn.q_proj.weight", 24 * 24);
    SplittableRandom rnd = new SplittableRandom(8);
    float[] x = new float[24];
    for (int i = 0; i < 24; i++) {
      x[i] = (float) rnd.nextDouble(-1, 1);
    }
    int hs = 12;
    for (int pos : new int[] {0, 1, 5, 15}) {
      float[] q = new float[24]; // llama2.c: W·x, then adjacent pairs rotated
      double[] qhf = new double[24];
      for (int o = 0; o < 24; o++) {
        for (int i = 0; i < 24; i++) {
          q[o] += w[o * 24 + i] * x[i];
          qhf[o] += (double) hf[o * 24 + i] * x[i];
        }
      }
      ScalarKernels.INSTANCE.rope(q, 0, 1, 24, 24, hs, 1, pos, +1);
      double[] rotated = new double[24]; // Hugging Face: x[i] pairs with x[i + hs/2] at frequency i
      for (int h = 0; h < 2; h++) {
        for (int i = 0; i < hs / 2; i++) {
          double angle = pos * Math.pow(10000, -2.0 * i / hs);
          double a = qhf[h * hs + i];
          double b = qhf[h * hs + i + hs / 2];
          rotated[h * hs + i] = a * Math.cos(angle) - b * Math.sin(angle);
          rotated[h * hs + i + hs / 2] = b * Math.cos(angle) + a * Math.sin(angle);
        }
      }
      for (int r = 0; r < 24; r++) {
        assertEquals(rotated[r], q[LlamaCheckpoints.llama2cRow(r, hs)], 1e-4, "pos " + pos + " row " + r);
      }
    }
  }

  @ParameterizedTest
  @ValueSource(booleans = {true, false})
  void safetensorsClassifierMismatchIsAClearError(boolean fileTied) throws IOException {
    Path path = dir.resolve("model.safetensors");
    LlamaCheckpoints.saveSafetensors(randomParameters(shape(fileTied), 1), shape(fileTied), path);
    LlamaShape model = shape(!fileTied);
    Parameters target = randomParameters(model, 2);
    float[] before = target.values().clone();
    assertFails(CheckpointException.class, path, () -> LlamaCheckpoints.load(target, model, path),
        fileTied ? "has no lm_head.weight" : "has lm_head.weight, a classifier of its own", model.describe());
    assertArrayEquals(before, target.values());
  }

  @Test
  void safetensorsForAnotherShapeSaysBoth() throws IOException {
    LlamaShape other = new LlamaShape(97, 112, 13, 48, 6, 3, 2, 4, 80, true);
    Path path = dir.resolve("model.safetensors");
    LlamaCheckpoints.saveSafetensors(randomParameters(other, 1), other, path);
    LlamaShape s = shape(true);
    Parameters target = randomParameters(s, 2);
    float[] before = target.values().clone();
    assertFails(CheckpointException.class, path, () -> LlamaCheckpoints.load(target, s, path),
        "k_proj.weight has shape [24, 48] but the model expects [16, 48]", "saved from a model with "
            + other.describe(), "this model has " + s.describe());
    assertArrayEquals(before, target.values());
  }

  @Test
  void saveRefusesParametersOfAnotherLayout() {
    Parameters wrong = randomParameters(shape(false), 1);
    Path path = dir.resolve("model.bin");
    String m = assertFails(IllegalArgumentException.class, path,
        () -> LlamaCheckpoints.saveLlama2c(wrong, shape(true), path), "the parameters hold");
    assertTrue(m.contains("LLAMA"), m);
  }
}
