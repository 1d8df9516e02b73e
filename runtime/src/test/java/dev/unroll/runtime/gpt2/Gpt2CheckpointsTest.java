package dev.unroll.runtime.gpt2;

import static dev.unroll.runtime.format.TestFiles.SHAPE;
import static dev.unroll.runtime.format.TestFiles.assertFails;
import static dev.unroll.runtime.format.TestFiles.randomParameters;
import static dev.unroll.runtime.format.TestFiles.withZeroPadding;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unroll.runtime.ParamTensor;
import dev.unroll.runtime.Parameters;
import dev.unroll.runtime.format.CheckpointException;
import dev.unroll.runtime.format.Safetensors.Entry;
import dev.unroll.runtime.format.Safetensors;
import dev.unroll.runtime.format.TestFiles.Raw;
import dev.unroll.runtime.format.TestFiles;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

class Gpt2CheckpointsTest {

  @TempDir
  Path dir;

  private Parameters source;
  private Parameters target;
  private float[] targetBefore;

  @BeforeEach
  void setUp() {
    source = randomParameters(SHAPE, 1);
    target = randomParameters(SHAPE, 2);
    targetBefore = target.values().clone();
  }

  // ---------------------------------------------------------------------------------------------------------
  // safetensors

  @Test
  void safetensorsRoundTrip() throws IOException {
    Path path = dir.resolve("model.safetensors");
    Gpt2Checkpoints.saveSafetensors(source, SHAPE, path);
    float[] grads = target.grads().clone();
    Gpt2Checkpoints.load(target, SHAPE, path);
    assertArrayEquals(withZeroPadding(source, SHAPE), target.values());
    assertArrayEquals(grads, target.grads());
    assertEquals(List.of("model.safetensors"), TestFiles.listing(dir));
  }

  @Test
  void safetensorsFollowsHuggingFaceConventions() throws IOException {
    Path path = dir.resolve("model.safetensors");
    Gpt2Checkpoints.saveSafetensors(source, SHAPE, path);
    float[] arena = source.values();
    int c = SHAPE.dim();
    try (Safetensors st = Safetensors.open(path)) {
      assertEquals(Map.of("format", "pt", "unroll.shape", SHAPE.describe()), st.metadata());
      assertEquals(Gpt2Layout.tensors(SHAPE).size(), st.tensors().size());
      assertArrayEquals(new long[] {SHAPE.vocab(), c}, st.tensor("wte.weight").shape());
      assertArrayEquals(Arrays.copyOf(arena, SHAPE.vocab() * c), st.readFloats("wte.weight"));
      int conv = 0;
      for (ParamTensor t : Gpt2Layout.tensors(SHAPE)) {
        float[] stored = st.readFloats(t.name());
        if (Gpt2Layout.isConv1dWeight(t.name())) {
          conv++;
          int out = t.shape()[0];
          int in = t.shape()[1];
          assertArrayEquals(new long[] {in, out}, st.tensor(t.name()).shape(), t.name());
          for (int i = 0; i < in; i++) {
            for (int j = 0; j < out; j++) {
              assertEquals(arena[t.offset() + j * in + i], stored[i * out + j], t.name());
            }
          }
        } else if (!t.name().equals("wte.weight")) {
          assertArrayEquals(Arrays.stream(t.shape()).asLongStream().toArray(), st.tensor(t.name()).shape());
          assertArrayEquals(Arrays.copyOfRange(arena, t.offset(), t.offset() + t.size()), stored, t.name());
        }
      }
      assertEquals(4 * SHAPE.layers(), conv);
      assertArrayEquals(new long[] {c, 3 * c}, st.tensor("h.0.attn.c_attn.weight").shape());
      assertArrayEquals(new long[] {c, SHAPE.hidden()}, st.tensor("h.1.mlp.c_fc.weight").shape());
      assertArrayEquals(new long[] {SHAPE.hidden(), c}, st.tensor("h.1.mlp.c_proj.weight").shape());
    }
  }

  @Test
  void loadsHuggingFaceNamesWithPrefixAndIgnoresBuffersAndTiedHead() throws IOException {
    Path saved = dir.resolve("ours.safetensors");
    Gpt2Checkpoints.saveSafetensors(source, SHAPE, saved);
    Path hf = dir.resolve("hf.safetensors");
    int t = SHAPE.context();
    rewrite(saved, hf, entries -> {
      List<Entry> out = new ArrayList<>();
      for (Entry e : entries) {
        out.add(new Entry("transformer." + e.name(), e.shape(), e.data()));
      }
      for (int i = 0; i < SHAPE.layers(); i++) {
        out.add(zeros("transformer.h." + i + ".attn.bias", 1, 1, t, t));
        out.add(zeros("h." + i + ".attn.masked_bias"));
      }
      out.add(zeros("lm_head.weight", SHAPE.vocab(), SHAPE.dim()));
      return out;
    });
    Gpt2Checkpoints.load(target, SHAPE, hf);
    assertArrayEquals(withZeroPadding(source, SHAPE), target.values());
  }

  @Test
  void loadsBf16AndF16Safetensors() throws IOException {
    for (String dtype : List.of("BF16", "F16")) {
      Path path = dir.resolve(dtype + ".safetensors");
      List<Raw> raws = new ArrayList<>();
      float[] expected = new float[source.count()];
      for (ParamTensor p : Gpt2Layout.tensors(SHAPE)) {
        int[] shape = p.shape();
        float[] arena = Arrays.copyOfRange(source.values(), p.offset(), p.offset() + p.size());
        float[] stored = arena;
        if (p.name().equals("wte.weight")) {
          shape = new int[] {SHAPE.vocab(), SHAPE.dim()};
          stored = Arrays.copyOf(arena, SHAPE.vocab() * SHAPE.dim());
        } else if (Gpt2Layout.isConv1dWeight(p.name())) {
          shape = new int[] {shape[1], shape[0]};
          stored = transpose(arena, p.shape()[0], p.shape()[1]);
        }
        byte[] bytes = dtype.equals("BF16") ? TestFiles.bf16(stored) : TestFiles.f16(stored);
        raws.add(new Raw(p.name(), dtype, Arrays.stream(shape).asLongStream().toArray(), bytes));
        int keep = p.name().equals("wte.weight") ? SHAPE.vocab() * SHAPE.dim() : p.size();
        for (int i = 0; i < keep; i++) {
          float x = arena[i];
          expected[p.offset() + i] = dtype.equals("BF16") ? TestFiles.bf16Round(x)
              : Float.float16ToFloat(Float.floatToFloat16(x));
        }
      }
      TestFiles.writeRaw(path, Map.of(), raws);
      Gpt2Checkpoints.load(target, SHAPE, path);
      assertArrayEquals(expected, target.values(), dtype);
    }
  }

  @Test
  void safetensorsOfAnotherShapeIsRejectedNamingBothShapes() throws IOException {
    Gpt2Shape wider = new Gpt2Shape(97, 112, 13, 64, 4, 2, 4, 256);
    Path path = dir.resolve("model.safetensors");
    Gpt2Checkpoints.saveSafetensors(randomParameters(wider, 3), wider, path);
    assertUnchanged(path, () -> Gpt2Checkpoints.load(target, SHAPE, path),
        "tensor wte.weight has shape [97, 64] but the model expects [97, 48]", wider.describe(), SHAPE.describe());
  }

  @Test
  void safetensorsWithTooFewLayersIsRejected() throws IOException {
    Gpt2Shape shallow = new Gpt2Shape(97, 112, 13, 48, 3, 1, 4, 192);
    Path path = dir.resolve("model.safetensors");
    Gpt2Checkpoints.saveSafetensors(randomParameters(shallow, 3), shallow, path);
    assertUnchanged(path, () -> Gpt2Checkpoints.load(target, SHAPE, path),
        "is missing 12 tensors: h.1.ln_1.weight, h.1.ln_1.bias", "and 2 more", "layers=1");
  }

  @Test
  void missingTensorIsRejected() throws IOException {
    Path path = rewritten(entries -> entries.stream().filter(e -> !e.name().equals("h.1.mlp.c_fc.bias")).toList());
    assertUnchanged(path, () -> Gpt2Checkpoints.load(target, SHAPE, path), "is missing 1 tensor: h.1.mlp.c_fc.bias");
  }

  @Test
  void extraTensorIsRejected() throws IOException {
    Path path = rewritten(entries -> {
      List<Entry> out = new ArrayList<>(entries);
      out.add(zeros("h.0.attn.rotary", 4));
      out.add(zeros("h.7.attn.bias", 2)); // a mask buffer is ignored whatever its layer
      return out;
    });
    assertUnchanged(path, () -> Gpt2Checkpoints.load(target, SHAPE, path),
        "has 1 tensor a GPT-2 model does not have: h.0.attn.rotary");
  }

  @Test
  void tensorUnderBothNamesIsRejected() throws IOException {
    Path path = rewritten(entries -> {
      List<Entry> out = new ArrayList<>(entries);
      out.add(zeros("transformer.ln_f.bias", SHAPE.dim()));
      return out;
    });
    assertUnchanged(path, () -> Gpt2Checkpoints.load(target, SHAPE, path), "has both ln_f.bias and transformer.ln_f.bias");
  }

  @Test
  void nonFloatTensorIsRejected() throws IOException {
    Path saved = dir.resolve("ours.safetensors");
    Gpt2Checkpoints.saveSafetensors(source, SHAPE, saved);
    List<Raw> raws = new ArrayList<>();
    try (Safetensors st = Safetensors.open(saved)) {
      for (Safetensors.Tensor t : st.tensors().values()) {
        boolean asInt = t.name().equals("ln_f.weight");
        raws.add(new Raw(t.name(), asInt ? "I32" : "F32", t.shape(), TestFiles.f32(st.readFloats(t.name()))));
      }
    }
    Path path = dir.resolve("int.safetensors");
    TestFiles.writeRaw(path, Map.of(), raws);
    assertUnchanged(path, () -> Gpt2Checkpoints.load(target, SHAPE, path), "tensor ln_f.weight has dtype I32");
  }

  @Test
  void truncatedSafetensorsIsRejected() throws IOException {
    Path path = dir.resolve("model.safetensors");
    Gpt2Checkpoints.saveSafetensors(source, SHAPE, path);
    byte[] bytes = Files.readAllBytes(path);
    long header = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
    long data = bytes.length - 8 - header;
    Files.write(path, Arrays.copyOf(bytes, bytes.length - 1000));
    assertUnchanged(path, () -> Gpt2Checkpoints.load(target, SHAPE, path),
        "file is truncated: header says " + data + " bytes of data, file has " + (data - 1000));
    Files.write(path, Arrays.copyOf(bytes, 100));
    assertUnchanged(path, () -> Gpt2Checkpoints.load(target, SHAPE, path),
        "file is truncated: header length says " + header + " bytes of JSON header, file has 92");
  }

  @Test
  void corruptJsonIsRejected() throws IOException {
    Path path = dir.resolve("model.safetensors");
    Gpt2Checkpoints.saveSafetensors(source, SHAPE, path);
    byte[] bytes = Files.readAllBytes(path);
    String header = new String(bytes, 8, 200, java.nio.charset.StandardCharsets.ISO_8859_1);
    int colon = header.indexOf("\"wte.weight\":") + "\"wte.weight\"".length();
    bytes[8 + colon] = ';';
    Files.write(path, bytes);
    assertUnchanged(path, () -> Gpt2Checkpoints.load(target, SHAPE, path),
        "header is not valid JSON: expected ':' but found ';' at character " + colon);
  }

  @Test
  void offsetsOutOfRangeAreRejected() throws IOException {
    Path path = dir.resolve("model.safetensors");
    Gpt2Checkpoints.saveSafetensors(source, SHAPE, path);
    byte[] bytes = Files.readAllBytes(path);
    long n = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
    String header = new String(bytes, 8, (int) n, java.nio.charset.StandardCharsets.UTF_8);
    int at = header.indexOf("\"ln_f.bias\"");
    int open = header.indexOf("\"data_offsets\":[", at) + "\"data_offsets\":[".length();
    int close = header.indexOf(']', open);
    long[] old = Arrays.stream(header.substring(open, close).split(",")).mapToLong(Long::parseLong).toArray();
    String moved = (old[0] + 4_000_000) + "," + (old[1] + 4_000_000);
    String edited = header.substring(0, open) + moved + header.substring(close);
    edited = edited.stripTrailing();
    byte[] data = Arrays.copyOfRange(bytes, 8 + (int) n, bytes.length);
    TestFiles.writeRaw(path, edited, data);
    assertUnchanged(path, () -> Gpt2Checkpoints.load(target, SHAPE, path),
        "tensor ln_f.bias has data_offsets [" + (old[0] + 4_000_000) + ", " + (old[1] + 4_000_000)
            + "] beyond the end of the data (" + data.length + " bytes)");
  }

  // ---------------------------------------------------------------------------------------------------------
  // llm.c

  @Test
  void llmcRoundTrip() throws IOException {
    Path path = dir.resolve("gpt2.bin");
    Gpt2Checkpoints.saveLlmc(source, SHAPE, path);
    ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(path)).order(ByteOrder.LITTLE_ENDIAN);
    assertEquals(1024 + 4L * source.count(), b.capacity());
    int[] header = {b.getInt(0), b.getInt(4), b.getInt(8), b.getInt(12), b.getInt(16), b.getInt(20), b.getInt(24),
        b.getInt(28), b.getInt(32), b.getInt(1020)};
    assertArrayEquals(new int[] {20240326, 3, 13, 97, 2, 3, 48, 112, 0, 0}, header);
    assertEquals(0f, b.getFloat(1024 + 4 * (SHAPE.vocab() * SHAPE.dim()))); // padding rows written as zeros
    Gpt2Checkpoints.load(target, SHAPE, path);
    assertArrayEquals(withZeroPadding(source, SHAPE), target.values());
    assertEquals(List.of("gpt2.bin"), TestFiles.listing(dir));
  }

  @Test
  void llmcFileWithAnotherPaddedVocabLoads() throws IOException {
    for (int filePadded : new int[] {128, 97}) {
      Gpt2Shape fileShape = new Gpt2Shape(97, filePadded, 13, 48, 3, 2, 1, 192);
      Parameters other = randomParameters(fileShape, 5);
      Path path = dir.resolve("vp" + filePadded + ".bin");
      Gpt2Checkpoints.saveLlmc(other, fileShape, path);
      Gpt2Checkpoints.load(target, SHAPE, path);
      int vc = SHAPE.vocab() * SHAPE.dim();
      float[] expected = new float[target.count()];
      System.arraycopy(other.values(), 0, expected, 0, vc);
      int fileWte = filePadded * SHAPE.dim();
      int ourWte = SHAPE.paddedVocab() * SHAPE.dim();
      System.arraycopy(other.values(), fileWte, expected, ourWte, expected.length - ourWte);
      assertArrayEquals(expected, target.values(), "file Vp=" + filePadded);
    }
  }

  @Test
  void llmcWrongMagicIsRejected() throws IOException {
    Path path = llmc(b -> b.putInt(0, 20240325));
    assertUnchanged(path, () -> Gpt2Checkpoints.load(target, SHAPE, path),
        "is neither an llm.c GPT-2 checkpoint", "nor safetensors", "it starts with the int32 20240325 (bytes c5 d7 34 01 03 00 00 00)");
    Path tokenizer = llmc(b -> b.putInt(0, 20240328));
    assertUnchanged(tokenizer, () -> Gpt2Checkpoints.load(target, SHAPE, tokenizer), "llm.c tokenizer file");
  }

  @Test
  void llmcOtherVersionsAreRejected() throws IOException {
    Path v5 = llmc(b -> b.putInt(4, 5));
    assertUnchanged(v5, () -> Gpt2Checkpoints.load(target, SHAPE, v5), "version 5", "bfloat16", "CUDA",
        "only version 3");
    Path v1 = llmc(b -> b.putInt(4, 1));
    assertUnchanged(v1, () -> Gpt2Checkpoints.load(target, SHAPE, v1), "version 1", "older");
    Path v9 = llmc(b -> b.putInt(4, 9));
    assertUnchanged(v9, () -> Gpt2Checkpoints.load(target, SHAPE, v9), "unknown llm.c checkpoint version 9");
  }

  @Test
  void llmcOfAnotherShapeIsRejectedListingBothShapes() throws IOException {
    Gpt2Shape deeper = new Gpt2Shape(97, 112, 13, 48, 3, 3, 4, 192);
    Path path = dir.resolve("deeper.bin");
    Gpt2Checkpoints.saveLlmc(randomParameters(deeper, 4), deeper, path);
    assertUnchanged(path, () -> Gpt2Checkpoints.load(target, SHAPE, path),
        "checkpoint is for another model shape: the file has vocab=97 context=13 dim=48 heads=3 layers=3",
        "the model has " + SHAPE.describe());
  }

  @Test
  void llmcCorruptHeaderIsRejected() throws IOException {
    Path path = llmc(b -> b.putInt(28, 50)); // Vp < V
    assertUnchanged(path, () -> Gpt2Checkpoints.load(target, SHAPE, path), "llm.c header is corrupt",
        "padded vocab 50");
  }

  @Test
  void llmcTruncatedOrOverlongIsRejected() throws IOException {
    Path path = dir.resolve("gpt2.bin");
    Gpt2Checkpoints.saveLlmc(source, SHAPE, path);
    byte[] bytes = Files.readAllBytes(path);
    Files.write(path, Arrays.copyOf(bytes, bytes.length - 40));
    assertUnchanged(path, () -> Gpt2Checkpoints.load(target, SHAPE, path),
        "file is truncated: header says " + bytes.length + " bytes", "file has " + (bytes.length - 40));
    Files.write(path, Arrays.copyOf(bytes, 1000));
    assertUnchanged(path, () -> Gpt2Checkpoints.load(target, SHAPE, path),
        "file is truncated: an llm.c header is 1024 bytes, file has 1000");
    Files.write(path, Arrays.copyOf(bytes, bytes.length + 4));
    assertUnchanged(path, () -> Gpt2Checkpoints.load(target, SHAPE, path), "more than the " + bytes.length + " bytes");
  }

  @Test
  void llmcNeedsHiddenFourTimesDim() throws IOException {
    Gpt2Shape odd = new Gpt2Shape(97, 112, 13, 48, 3, 2, 4, 100);
    Parameters p = randomParameters(odd, 6);
    Path path = dir.resolve("odd.bin");
    assertFails(IllegalArgumentException.class, path, () -> Gpt2Checkpoints.saveLlmc(p, odd, path),
        "hidden = 4*dim = 192", "hidden=100");
    assertFalse(Files.exists(path));
    Path good = dir.resolve("good.bin");
    Gpt2Checkpoints.saveLlmc(source, SHAPE, good);
    float[] before = p.values().clone();
    assertFails(CheckpointException.class, good, () -> Gpt2Checkpoints.load(p, odd, good), "imply hidden = 4*dim");
    assertArrayEquals(before, p.values());
  }

  // ---------------------------------------------------------------------------------------------------------
  // A shorter context

  /** SHAPE with a longer context: what gpt2_124M (1024 positions) is to a model of context 256. */
  private static final Gpt2Shape LONG = new Gpt2Shape(97, 112, 29, 48, 3, 2, 4, 192);

  /**
   * What loading a LONG checkpoint into SHAPE must give: every tensor of SHAPE as LONG's tensor of that name, the
   * first 13 rows of LONG's 29-row position table, the padding rows of wte zero.
   */
  private static float[] shortened(Parameters longer) {
    float[] expected = new float[Gpt2Layout.count(SHAPE)];
    for (ParamTensor t : Gpt2Layout.tensors(SHAPE)) {
      ParamTensor u = longer.tensor(t.name());
      if (!t.name().equals("wpe.weight")) {
        assertArrayEquals(u.shape(), t.shape(), t.name());
      }
      System.arraycopy(longer.values(), u.offset(), expected, t.offset(), t.size());
    }
    Arrays.fill(expected, SHAPE.vocab() * SHAPE.dim(), SHAPE.paddedVocab() * SHAPE.dim(), 0f);
    return expected;
  }

  /** The llm.c file, our safetensors and Hugging Face's prefixed names, each saved from a LONG model. */
  private List<Path> longCheckpoints(Parameters longer) throws IOException {
    Path llmc = dir.resolve("gpt2_long.bin");
    Gpt2Checkpoints.saveLlmc(longer, LONG, llmc);
    Path ours = dir.resolve("long.safetensors");
    Gpt2Checkpoints.saveSafetensors(longer, LONG, ours);
    Path prefixed = dir.resolve("long-hf.safetensors");
    rewrite(ours, prefixed, entries -> entries.stream()
        .map(e -> new Entry("transformer." + e.name(), e.shape(), e.data())).toList());
    return List.of(llmc, ours, prefixed);
  }

  @Test
  void aLongerPositionTableLoadsItsFirstRowsAndSaysSoOnce() throws IOException {
    Parameters longer = randomParameters(LONG, 7);
    float[] expected = shortened(longer);
    for (Path path : longCheckpoints(longer)) {
      Parameters p = randomParameters(SHAPE, 8);
      float[] grads = p.grads().clone();
      List<String> notices = new ArrayList<>();
      Gpt2Checkpoints.load(p, SHAPE, path, notices::add);
      assertArrayEquals(expected, p.values(), path.toString());
      assertArrayEquals(grads, p.grads());
      assertEquals(List.of(path + ": position table has 29 rows; using the first 13 (context = 13)"), notices);
    }
    // at the file's own context: all of it, and nothing to say
    for (Path path : longCheckpoints(longer)) {
      Parameters p = randomParameters(LONG, 9);
      List<String> notices = new ArrayList<>();
      Gpt2Checkpoints.load(p, LONG, path, notices::add);
      assertArrayEquals(TestFiles.withZeroPadding(longer, LONG), p.values(), path.toString());
      assertEquals(List.of(), notices);
    }
  }

  /** Without a caller to take it, the notice is one record at INFO on the System.Logger dev.unroll.runtime.format. */
  @Test
  void theNoticeGoesToTheSystemLoggerAtInfo() throws IOException {
    Path path = longCheckpoints(randomParameters(LONG, 7)).getFirst();
    Logger logger = Logger.getLogger("dev.unroll.runtime.format");
    List<LogRecord> records = new ArrayList<>();
    Handler handler = new Handler() {
      @Override
      public void publish(LogRecord r) {
        records.add(r);
      }

      @Override
      public void flush() {}

      @Override
      public void close() {}
    };
    logger.addHandler(handler);
    logger.setUseParentHandlers(false); // the JDK's console handler would print it into the test's output
    try {
      Gpt2Checkpoints.load(randomParameters(SHAPE, 8), SHAPE, path);
    } finally {
      logger.removeHandler(handler);
      logger.setUseParentHandlers(true);
    }
    assertEquals(1, records.size(), "one record per load");
    assertEquals(Level.INFO, records.getFirst().getLevel());
    assertEquals(path + ": position table has 29 rows; using the first 13 (context = 13)",
        records.getFirst().getMessage());
  }

  @Test
  void aShorterPositionTableThanTheContextIsAnErrorNamingBoth() throws IOException {
    Path llmc = dir.resolve("gpt2.bin");
    Gpt2Checkpoints.saveLlmc(source, SHAPE, llmc);
    Path st = dir.resolve("model.safetensors");
    Gpt2Checkpoints.saveSafetensors(source, SHAPE, st);
    Parameters p = randomParameters(LONG, 3);
    float[] before = p.values().clone();
    List<String> notices = new ArrayList<>();
    assertFails(CheckpointException.class, llmc, () -> Gpt2Checkpoints.load(p, LONG, llmc, notices::add),
        "position table has 13 rows, fewer than the model's context = 29",
        "the file has vocab=97 context=13 dim=48 heads=3 layers=2", "the model has " + LONG.describe());
    assertFails(CheckpointException.class, st, () -> Gpt2Checkpoints.load(p, LONG, st, notices::add),
        "tensor wpe.weight has shape [13, 48] but the model expects [29, 48]",
        "position table has 13 rows, fewer than the model's context = 29",
        "saved from a model with " + SHAPE.describe(), "this model has " + LONG.describe());
    Path bare = dir.resolve("bare.safetensors"); // no unroll.shape to quote: the model's shape is named still
    rewrite(st, bare, entries -> entries);
    assertFails(CheckpointException.class, bare, () -> Gpt2Checkpoints.load(p, LONG, bare, notices::add),
        "tensor wpe.weight has shape [13, 48] but the model expects [29, 48]", "the model has " + LONG.describe());
    assertArrayEquals(before, p.values(), "parameters changed by a failed load");
    assertEquals(List.of(), notices);
  }

  /** Only the context may be shorter: any other difference is still another shape, whatever the context. */
  @Test
  void aLongerContextExcusesNoOtherDifference() throws IOException {
    Gpt2Shape moreHeads = new Gpt2Shape(97, 112, 29, 48, 4, 2, 4, 192);
    Gpt2Shape deeper = new Gpt2Shape(97, 112, 29, 48, 3, 3, 4, 192);
    Gpt2Shape wider = new Gpt2Shape(97, 112, 29, 64, 4, 2, 4, 256);
    for (Gpt2Shape other : List.of(moreHeads, deeper)) {
      Path path = dir.resolve("other-" + other.heads() + "-" + other.layers() + ".bin");
      Gpt2Checkpoints.saveLlmc(randomParameters(other, 4), other, path);
      assertUnchanged(path, () -> Gpt2Checkpoints.load(target, SHAPE, path), "another model shape: the file has "
          + "vocab=97 context=29 dim=48 heads=" + other.heads() + " layers=" + other.layers(),
          "the model has " + SHAPE.describe());
    }
    Map<Gpt2Shape, String> safetensorsErrors = Map.of(
        deeper, "has 12 tensors a GPT-2 model does not have: h.2.ln_1.weight",
        wider, "tensor wte.weight has shape [97, 64] but the model expects [97, 48]");
    for (var e : safetensorsErrors.entrySet()) {
      Path path = dir.resolve("other-" + e.getKey().dim() + "-" + e.getKey().layers() + ".safetensors");
      Gpt2Checkpoints.saveSafetensors(randomParameters(e.getKey(), 4), e.getKey(), path);
      assertUnchanged(path, () -> Gpt2Checkpoints.load(target, SHAPE, path), e.getValue(), e.getKey().describe());
    }
  }

  /** A truncated file of a longer context is still refused, with the size its header implies. */
  @Test
  void aLongerLlmcFileIsCheckedAgainstItsOwnHeader() throws IOException {
    Path path = longCheckpoints(randomParameters(LONG, 7)).getFirst();
    byte[] bytes = Files.readAllBytes(path);
    Files.write(path, Arrays.copyOf(bytes, bytes.length - 4));
    assertUnchanged(path, () -> Gpt2Checkpoints.load(target, SHAPE, path),
        "file is truncated: header says " + bytes.length + " bytes");
  }

  /**
   * The whole model: the reference at context 13, loaded from a checkpoint of context 29, gives the long model's
   * logits at the first 13 positions, bit for bit (positions are learned; attention is causal).
   */
  @Test
  void aModelLoadedAtTheShorterContextComputesWhatTheLongOneDoesThere() throws IOException {
    Gpt2Reference longModel = Gpt2Reference.create(LONG, 11);
    for (Path path : longCheckpoints(longModel.parameters())) {
      TestFiles.assertSamePrefixLogits(longModel, Gpt2Reference.load(SHAPE, path), 12, path.toString());
    }
  }

  // ---------------------------------------------------------------------------------------------------------
  // Both

  @Test
  void tinyOrMissingFilesAreRejected() throws IOException {
    Path tiny = dir.resolve("tiny.bin");
    Files.write(tiny, new byte[] {1, 2, 3});
    assertUnchanged(tiny, () -> Gpt2Checkpoints.load(target, SHAPE, tiny), "file is too short to be a checkpoint: 3 bytes");
    Path text = dir.resolve("notes.txt");
    Files.writeString(text, "hello, this is not a checkpoint");
    assertUnchanged(text, () -> Gpt2Checkpoints.load(target, SHAPE, text), "is neither");
    Path none = dir.resolve("absent.safetensors");
    assertThrows(NoSuchFileException.class, () -> Gpt2Checkpoints.load(target, SHAPE, none));
    assertArrayEquals(targetBefore, target.values());
  }

  @Test
  void parametersOfAnotherLayoutAreRejected() {
    Path path = dir.resolve("x.safetensors");
    Parameters small = new Parameters(new float[10], new float[10], List.of(new ParamTensor("w", 0, new int[] {10})));
    assertFails(IllegalArgumentException.class, path, () -> Gpt2Checkpoints.saveSafetensors(small, SHAPE, path),
        "the parameters hold 10 floats");
    List<ParamTensor> shuffled = new ArrayList<>(Gpt2Layout.tensors(SHAPE));
    shuffled.set(2, new ParamTensor("h.0.ln_1.weight.x", shuffled.get(2).offset(), shuffled.get(2).shape()));
    int n = Gpt2Layout.count(SHAPE);
    Parameters renamed = new Parameters(new float[n], new float[n], shuffled);
    assertFails(IllegalArgumentException.class, path, () -> Gpt2Checkpoints.saveLlmc(renamed, SHAPE, path),
        "tensor #2 is h.0.ln_1.weight.x");
    assertFails(IllegalArgumentException.class, path, () -> Gpt2Checkpoints.load(renamed, SHAPE, path),
        "not laid out as Gpt2Layout says");
    assertFalse(Files.exists(path));
  }

  @Test
  void saveReplacesAtomicallyAndAFailedSaveKeepsThePreviousFile() throws IOException {
    Path path = dir.resolve("model.safetensors");
    Gpt2Checkpoints.saveSafetensors(source, SHAPE, path);
    Gpt2Checkpoints.saveSafetensors(target, SHAPE, path);
    assertEquals(List.of("model.safetensors"), TestFiles.listing(dir));
    byte[] before = Files.readAllBytes(path);
    Gpt2Shape odd = new Gpt2Shape(97, 112, 13, 48, 3, 2, 4, 100);
    assertThrows(IllegalArgumentException.class, () -> Gpt2Checkpoints.saveLlmc(randomParameters(odd, 1), odd, path));
    assertArrayEquals(before, Files.readAllBytes(path));

    Path occupied = dir.resolve("occupied.bin");
    Files.createDirectory(occupied);
    Files.writeString(occupied.resolve("x"), "x");
    assertThrows(IOException.class, () -> Gpt2Checkpoints.saveLlmc(source, SHAPE, occupied));
    assertThrows(IOException.class, () -> Gpt2Checkpoints.saveSafetensors(source, SHAPE, occupied));
    assertEquals(List.of("model.safetensors", "occupied.bin"), TestFiles.listing(dir));
    assertArrayEquals(before, Files.readAllBytes(path));
  }

  // ---------------------------------------------------------------------------------------------------------
  // Helpers

  /** Expects a failure naming the file with these fragments, and checks that the target was not touched. */
  private void assertUnchanged(Path path, Executable load, String... fragments) {
    assertFails(CheckpointException.class, path, load, fragments);
    assertArrayEquals(targetBefore, target.values(), "parameters changed by a failed load");
  }

  private static Entry zeros(String name, int... shape) {
    return Entry.of(name, shape, new float[Arrays.stream(shape).reduce(1, (a, b) -> a * b)], 0);
  }

  private static float[] transpose(float[] m, int rows, int cols) {
    float[] t = new float[m.length];
    for (int r = 0; r < rows; r++) {
      for (int c = 0; c < cols; c++) {
        t[c * rows + r] = m[r * cols + c];
      }
    }
    return t;
  }

  /** Copies every tensor of {@code from} into {@code to} as F32, after {@code edit} changes the list. */
  private static void rewrite(Path from, Path to, UnaryOperator<List<Entry>> edit) throws IOException {
    List<Entry> entries = new ArrayList<>();
    try (Safetensors st = Safetensors.open(from)) {
      for (Safetensors.Tensor t : st.tensors().values()) {
        float[] v = st.readFloats(t.name());
        entries.add(new Entry(t.name(), t.shape(), (f, dst, off, n) -> System.arraycopy(v, (int) f, dst, off, n)));
      }
    }
    Safetensors.write(to, Map.of(), edit.apply(entries));
  }

  /** The source parameters saved as safetensors and rewritten by {@code edit}. */
  private Path rewritten(UnaryOperator<List<Entry>> edit) throws IOException {
    Path saved = dir.resolve("ours.safetensors");
    Gpt2Checkpoints.saveSafetensors(source, SHAPE, saved);
    Path path = dir.resolve("edited.safetensors");
    rewrite(saved, path, edit);
    return path;
  }

  /** The source parameters saved in llm.c's format, then {@code edit} applied to the bytes. */
  private Path llmc(java.util.function.Consumer<ByteBuffer> edit) throws IOException {
    Path path = dir.resolve("edited-" + System.nanoTime() + ".bin");
    Gpt2Checkpoints.saveLlmc(source, SHAPE, path);
    ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(path)).order(ByteOrder.LITTLE_ENDIAN);
    edit.accept(b);
    Files.write(path, b.array());
    return path;
  }
}
