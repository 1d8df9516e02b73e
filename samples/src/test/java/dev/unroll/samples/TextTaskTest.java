package dev.unroll.samples;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unroll.runtime.Backend;
import dev.unroll.runtime.CausalLm;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Loading text, its held-out loss, and the learning-rate schedule. */
class TextTaskTest {
  @TempDir
  Path dir;

  @Test
  void missingFile() {
    SampleException e = assertThrows(SampleException.class, () -> TextTask.load(dir.resolve("absent.txt")));
    assertTrue(e.getMessage().startsWith("no such file: "), e.getMessage());
  }

  @Test
  void directory() {
    SampleException e = assertThrows(SampleException.class, () -> TextTask.load(dir));
    assertTrue(e.getMessage().contains("is a directory"), e.getMessage());
  }

  @Test
  void tooShortForBothSplits() throws Exception {
    Path file = dir.resolve("short.txt");
    Files.write(file, new byte[640]);
    SampleException e = assertThrows(SampleException.class, () -> TextTask.load(file));
    assertTrue(e.getMessage().contains("at least 641 characters"), e.getMessage());
    Files.write(file, new byte[641]);
    assertEquals(641, TextTask.load(file).tokens().length);
    // Counted in characters, not bytes: 700 two-byte characters are too few.
    Files.writeString(file, "\u00e9".repeat(640));
    e = assertThrows(SampleException.class, () -> TextTask.load(file));
    assertTrue(e.getMessage().contains("its 640 characters split into 576 for training and 64 for validation"),
        e.getMessage());
  }

  @Test
  void anyBytesWillAsBytes() throws Exception {
    Path file = dir.resolve("binary.bin");
    byte[] bytes = new byte[1000];
    for (int i = 0; i < bytes.length; i++) {
      bytes[i] = (byte) (i * 37);
    }
    Files.write(file, bytes);
    TextTask.Corpus corpus = TextTask.load(file);
    assertArrayEquals(bytes, corpus.bytes());
    assertEquals(TextTask.Model.BYTE, corpus.model());
    assertEquals("the text is not UTF-8, so ByteModel trains on its bytes", corpus.why());
    assertEquals(bytes.length, corpus.tokens().length);
    assertEquals(bytes[999] & 0xFF, corpus.tokens()[999]);
  }

  @Test
  void aTextWithMoreCharactersThanCharModelHoldsTrainsByteModel() throws Exception {
    StringBuilder text = new StringBuilder();
    for (int i = 0; i < 1000; i++) {
      text.append((char) ('!' + i % 66)); // 66 distinct ASCII characters
    }
    TextTask.Corpus corpus = TextTask.corpus("wide.txt", text.toString().getBytes(StandardCharsets.UTF_8));
    assertEquals(TextTask.Model.BYTE, corpus.model());
    assertEquals("the text has 66 distinct characters, more than CharModel's 65, so ByteModel trains on its bytes "
        + "(with vocab = 66 or more in CharModel's @Transformer, CharModel would train on its characters)",
        corpus.why());
    text.setLength(0);
    for (int i = 0; i < 1000; i++) {
      text.append((char) ('!' + i % 65));
    }
    assertEquals(TextTask.Model.CHAR, TextTask.corpus("narrow.txt", text.toString().getBytes(StandardCharsets.UTF_8))
        .model(), "65 characters fit");
  }

  @Test
  void theBundledShakespeareHasNanoGptsVocabulary() throws Exception {
    TextTask.Corpus corpus = TextTask.load(new Options.Text(null));
    assertEquals(TextTask.Model.CHAR, corpus.model());
    assertEquals(65, corpus.vocabulary().size());
    assertNull(corpus.why());
    // nanoGPT's data/shakespeare_char/prepare.py: stoi of sorted(set(text)); "First" is [18, 47, 56, 57, 58].
    assertArrayEquals(new int[] {18, 47, 56, 57, 58}, Arrays.copyOf(corpus.tokens(), 5));
    assertEquals(1_115_394, corpus.tokens().length);
    assertEquals(1_003_854, corpus.trainLength());
  }

  @Test
  void theBundledShakespeareIsTheSharedFileUnchanged() throws Exception {
    byte[] bundled = TextTask.load(new Options.Text(null)).bytes();
    assertEquals(1_115_394, bundled.length);
    assertEquals("First Citizen:\nBefore we proceed any further, hear me speak.",
        new String(bundled, 0, 60, java.nio.charset.StandardCharsets.US_ASCII));
    Path shared = Path.of("..", "..", "shared", "data", "tinyshakespeare.txt");
    if (Files.isRegularFile(shared)) { // a checkout beside the shared data: the copy is exact
      assertArrayEquals(Files.readAllBytes(shared), bundled);
    }
  }

  @Test
  void theHeldOutLossIsTheModelsOwnLossOverConsecutiveWindows() {
    CausalLm model = UnrolledCharModel.create(Backend.SIMD, 1);
    int batch = UnrolledCharModel.BATCH;
    int context = UnrolledCharModel.CONTEXT;
    Rng rng = new Rng(5);
    int[] tokens = new int[1000];
    Arrays.setAll(tokens, i -> rng.nextInt(UnrolledCharModel.VOCAB));
    // A held-out split of exactly one batch of windows, and one token more for the last target.
    int valStart = tokens.length - (batch * context + 1);
    TextTask.Evaluation evaluation = new TextTask.Evaluation(model, tokens, valStart);
    assertEquals(batch, evaluation.windows());
    int[] x = new int[batch * context];
    int[] y = new int[batch * context];
    System.arraycopy(tokens, valStart, x, 0, x.length);
    System.arraycopy(tokens, valStart + 1, y, 0, y.length);
    float expected = model.forward(x, y);
    assertEquals(expected, evaluation.loss(evaluation.all()), 1e-5 * expected);
    assertArrayEquals(new int[] {0, 3, 6, 9}, evaluation.spread(4));
    assertArrayEquals(evaluation.all(), evaluation.spread(100));

    // One window more, shorter: a second batch of one row, of which only its 10 positions count.
    int[] longer = Arrays.copyOf(tokens, tokens.length + 10);
    TextTask.Evaluation more = new TextTask.Evaluation(model, longer, valStart);
    assertEquals(batch + 1, more.windows());
    double last = more.loss(new int[] {batch});
    double whole = more.loss(more.all());
    assertEquals((evaluation.loss(evaluation.all()) * batch * context + last * 10) / (batch * context + 10), whole,
        1e-9);
  }

  @Test
  void aRunReportsTheWholeSplitLossOfTheModelItSavesWithItsVocabulary() throws Exception {
    Rng rng = new Rng(9);
    StringBuilder text = new StringBuilder();
    for (int i = 0; i < 3000; i++) {
      text.append("abcdefgh \n".charAt(rng.nextInt(10)));
    }
    Path file = dir.resolve("letters.txt");
    Files.writeString(file, text);
    Path model = dir.resolve("letters.safetensors");
    TextTask.Corpus corpus = TextTask.load(file);
    Options options = new Options(Options.Task.TEXT, Backend.SIMD, 3, 1, Float.NaN, model, new Options.Text(file),
        false);
    float loss = TextTask.run(options, corpus, new PrintStream(OutputStream.nullOutputStream()));

    Vocabulary vocabulary = Vocabulary.read(model);
    assertEquals(corpus.vocabulary().metadata(), vocabulary.metadata());
    assertEquals(10, vocabulary.size());
    CausalLm loaded = UnrolledCharModel.load(Backend.SIMD, model);
    TextTask.Evaluation evaluation = new TextTask.Evaluation(loaded, corpus.tokens(), corpus.trainLength());
    assertEquals(loss, (float) evaluation.loss(evaluation.all()));

    // Not UTF-8: ByteModel, and a model file that says its tokens are bytes.
    byte[] bytes = Files.readAllBytes(file);
    bytes[100] = (byte) 0xFF;
    Files.write(file, bytes);
    TextTask.Corpus binary = TextTask.load(file);
    assertEquals(TextTask.Model.BYTE, binary.model());
    loss = TextTask.run(options, binary, new PrintStream(OutputStream.nullOutputStream()));
    assertSame(Vocabulary.BYTES, Vocabulary.read(model));
    loaded = UnrolledByteModel.load(Backend.SIMD, model);
    evaluation = new TextTask.Evaluation(loaded, binary.tokens(), binary.trainLength());
    assertEquals(loss, (float) evaluation.loss(evaluation.all()));
  }

  @Test
  void scheduleWarmsUpThenFallsToATenth() {
    float peak = 1e-3f;
    assertEquals(peak / 101, Schedule.cosine(0, 2000, 100, peak), 1e-12);
    assertEquals(peak * 100 / 101, Schedule.cosine(99, 2000, 100, peak), 1e-9);
    assertEquals(peak, Schedule.cosine(100, 2000, 100, peak), 1e-9);
    assertEquals((peak + peak / 10) / 2, Schedule.cosine(1050, 2000, 100, peak), 1e-9);
    assertEquals(peak / 10, Schedule.cosine(2000, 2000, 100, peak), 1e-9);
    float previous = Float.MAX_VALUE;
    for (int step = 100; step < 2000; step++) {
      float lr = Schedule.cosine(step, 2000, 100, peak);
      assertTrue(lr <= previous && lr >= peak / 10);
      previous = lr;
    }
  }
}
