package dev.unroll.runtime.bert;

import static dev.unroll.runtime.format.TestFiles.assertFails;
import static dev.unroll.runtime.format.TestFiles.randomParameters;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.unroll.runtime.ParamTensor;
import dev.unroll.runtime.Parameters;
import dev.unroll.runtime.format.CheckpointException;
import dev.unroll.runtime.format.Safetensors;
import dev.unroll.runtime.format.Safetensors.Entry;
import dev.unroll.runtime.format.TestFiles;
import java.io.IOException;
import java.nio.file.Files;
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

class BertCheckpointsTest {

  private static final BertShape SHAPE = BertLayoutTest.TYPED;

  /** SHAPE with a context of 29: a longer position table. */
  private static final BertShape LONG = new BertShape(101, 29, 48, 3, 2, 3, 192, 2, 3, false, false);

  /** What a load of a file without the head says, after the file's path. */
  private static final String HEADLESS = ": no classifier.weight or classifier.bias (a BERT model without the "
      + "classification head); the head starts as initialised from seed 0";

  /** What a load of LONG's file into SHAPE says, after the file's path. */
  private static final String LONGER = ": position table has 29 positions; using the first 13 (context = 13)";

  @TempDir
  Path dir;

  private Parameters source;
  private Parameters target;
  private float[] targetBefore;

  @BeforeEach
  void setUp() {
    source = randomParameters(BertLayout.tensors(SHAPE), 1);
    target = randomParameters(BertLayout.tensors(SHAPE), 2);
    targetBefore = target.values().clone();
  }

  @Test
  void roundTripIsBitExactWithAndWithoutTokenTypes() throws IOException {
    for (BertShape s : List.of(BertLayoutTest.TYPED, BertLayoutTest.UNTYPED)) {
      Parameters from = randomParameters(BertLayout.tensors(s), 3);
      Parameters to = randomParameters(BertLayout.tensors(s), 4);
      float[] grads = to.grads().clone();
      Path path = dir.resolve("model-" + s.typeVocab() + ".safetensors");
      BertCheckpoints.saveSafetensors(from, s, path);
      List<String> notices = new ArrayList<>();
      BertCheckpoints.load(to, s, path, notices::add);
      assertArrayEquals(from.values(), to.values(), s.describe());
      assertArrayEquals(grads, to.grads(), "gradients are not touched");
      assertEquals(List.of(), notices);
    }
    assertEquals(List.of("model-0.safetensors", "model-2.safetensors"), TestFiles.listing(dir));
  }

  @Test
  void savesSequenceClassificationNamesAndShapes() throws IOException {
    Path path = dir.resolve("model.safetensors");
    BertCheckpoints.saveSafetensors(source, SHAPE, path);
    try (Safetensors st = Safetensors.open(path)) {
      assertEquals(Map.of("format", "pt", "unroll.shape", SHAPE.describe()), st.metadata());
      List<ParamTensor> layout = BertLayout.tensors(SHAPE);
      assertEquals(layout.size(), st.tensors().size());
      for (ParamTensor t : layout) {
        String name = t.name().startsWith("classifier.") ? t.name() : "bert." + t.name();
        assertArrayEquals(Arrays.stream(t.shape()).asLongStream().toArray(), st.tensor(name).shape(), name);
        assertArrayEquals(Arrays.copyOfRange(source.values(), t.offset(), t.offset() + t.size()),
            st.readFloats(name), name);
      }
      assertArrayEquals(new long[] {48, 48}, st.tensor("bert.encoder.layer.1.attention.self.key.weight").shape());
      assertArrayEquals(new long[] {3, 48}, st.tensor("classifier.weight").shape());
      assertArrayEquals(new long[] {2, 48}, st.tensor("bert.embeddings.token_type_embeddings.weight").shape());
    }
  }

  /** A BertModel's names have no prefix; mixed files load too; Hugging Face's buffers are skipped. */
  @Test
  void loadsNamesWithOrWithoutThePrefixAndSkipsBuffers() throws IOException {
    Path bare = write("bare.safetensors", source, SHAPE, name -> name);
    BertCheckpoints.load(target, SHAPE, bare);
    assertArrayEquals(source.values(), target.values());

    Parameters other = randomParameters(BertLayout.tensors(SHAPE), 5);
    Path mixed = write("mixed.safetensors", other, SHAPE, name -> name.contains("layer.1") ? name : "bert." + name,
        Entry.of("bert.embeddings.position_ids", new int[] {1, 13}, new float[13], 0),
        Entry.of("embeddings.token_type_ids", new int[] {1, 13}, new float[13], 0));
    BertCheckpoints.load(target, SHAPE, mixed);
    assertArrayEquals(other.values(), target.values());
  }

  @Test
  void aFileWithoutTheHeadLoadsWithTheHeadAsSeedZeroMakesItAndSaysSoOnce() throws IOException {
    Path path = write("bert-model.safetensors", source, SHAPE,
        name -> name.startsWith("classifier.") ? null : "bert." + name);
    List<String> notices = new ArrayList<>();
    BertCheckpoints.load(target, SHAPE, path, notices::add);
    float[] expected = source.values().clone();
    Parameters fresh = randomParameters(BertLayout.tensors(SHAPE), 9);
    BertInit.init(fresh, SHAPE, 0);
    for (String name : List.of("classifier.weight", "classifier.bias")) {
      ParamTensor t = fresh.tensor(name);
      System.arraycopy(fresh.values(), t.offset(), expected, t.offset(), t.size());
    }
    assertArrayEquals(expected, target.values());
    assertEquals(List.of(path + HEADLESS), notices);
    // the head's weight is seed 0's normal draws, not zeros
    ParamTensor w = target.tensor("classifier.weight");
    assertFalse(Arrays.equals(new float[w.size()], Arrays.copyOfRange(target.values(), w.offset(),
        w.offset() + w.size())));
  }

  /** Half a head is not a missing head: the other half is missing. */
  @Test
  void aFileWithHalfTheHeadIsRejected() throws IOException {
    Path path = write("half.safetensors", source, SHAPE, name -> name.equals("classifier.bias") ? null : name);
    assertUnchanged(path, () -> BertCheckpoints.load(target, SHAPE, path), "is missing 1 tensor: classifier.bias");
  }

  @Test
  void aLongerPositionTableLoadsItsFirstRowsAndSaysSoOnceWithTheHeadsNotice() throws IOException {
    Parameters longer = randomParameters(BertLayout.tensors(LONG), 7);
    Path path = dir.resolve("long.safetensors");
    BertCheckpoints.saveSafetensors(longer, LONG, path);
    float[] expected = new float[BertLayout.count(SHAPE)];
    for (ParamTensor t : BertLayout.tensors(SHAPE)) {
      System.arraycopy(longer.values(), longer.tensor(t.name()).offset(), expected, t.offset(), t.size());
    }
    List<String> notices = new ArrayList<>();
    BertCheckpoints.load(target, SHAPE, path, notices::add);
    assertArrayEquals(expected, target.values());
    assertEquals(List.of(path + LONGER), notices);

    Path headless = write("long-model.safetensors", longer, LONG, n -> n.startsWith("classifier") ? null : n);
    notices.clear();
    BertCheckpoints.load(target, SHAPE, headless, notices::add);
    assertEquals(List.of(headless + LONGER + "; " + headless + HEADLESS), notices);
  }

  /** Without a caller to take it, the notice is one record at INFO on the System.Logger dev.unroll.runtime.format. */
  @Test
  void theNoticeGoesToTheSystemLoggerAtInfo() throws IOException {
    Path path = write("bert-model.safetensors", source, SHAPE, n -> n.startsWith("classifier.") ? null : n);
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
      BertCheckpoints.load(target, SHAPE, path);
    } finally {
      logger.removeHandler(handler);
      logger.setUseParentHandlers(true);
    }
    assertEquals(1, records.size(), "one record per load");
    assertEquals(Level.INFO, records.getFirst().getLevel());
    assertEquals(path + HEADLESS, records.getFirst().getMessage());
  }

  @Test
  void aShorterPositionTableIsAnErrorNamingTheTensorAndBothShapes() throws IOException {
    Path path = dir.resolve("model.safetensors");
    BertCheckpoints.saveSafetensors(source, SHAPE, path);
    Parameters p = randomParameters(BertLayout.tensors(LONG), 3);
    float[] before = p.values().clone();
    List<String> notices = new ArrayList<>();
    assertFails(CheckpointException.class, path, () -> BertCheckpoints.load(p, LONG, path, notices::add),
        "tensor bert.embeddings.position_embeddings.weight has shape [13, 48] but the model expects [29, 48]",
        "position table has 13 positions, fewer than the model's context = 29", "saved from a model with "
            + SHAPE.describe(), "this model has " + LONG.describe());
    assertArrayEquals(before, p.values(), "parameters changed by a failed load");
    assertEquals(List.of(), notices);
  }

  @Test
  void anotherShapeIsAnErrorListingBothShapes() throws IOException {
    Map<BertShape, String> errors = Map.of(
        new BertShape(101, 13, 64, 4, 2, 3, 256, 2, 3, false, false),
        "tensor bert.embeddings.word_embeddings.weight has shape [101, 64] but the model expects [101, 48]",
        new BertShape(101, 13, 48, 3, 2, 3, 192, 2, 5, false, false),
        "tensor classifier.weight has shape [5, 48] but the model expects [3, 48]",
        new BertShape(101, 13, 48, 3, 2, 3, 192, 3, 3, false, false),
        "tensor bert.embeddings.token_type_embeddings.weight has shape [3, 48] but the model expects [2, 48]",
        new BertShape(101, 13, 48, 3, 2, 3, 100, 2, 3, false, false),
        "tensor bert.encoder.layer.0.intermediate.dense.weight has shape [100, 48] but the model expects [192, 48]",
        new BertShape(101, 13, 48, 3, 2, 3, 192, 0, 3, false, false),
        "is missing 1 tensor: embeddings.token_type_embeddings.weight",
        new BertShape(101, 13, 48, 3, 3, 3, 192, 2, 3, false, false),
        "has 16 tensors a BERT model does not have: bert.encoder.layer.2.attention.self.query.weight");
    for (var e : errors.entrySet()) {
      BertShape other = e.getKey();
      Path path = dir.resolve("other-" + other.describe().replace(' ', '_') + ".safetensors");
      BertCheckpoints.saveSafetensors(randomParameters(BertLayout.tensors(other), 4), other, path);
      assertUnchanged(path, () -> BertCheckpoints.load(target, SHAPE, path), e.getValue(), other.describe(),
          SHAPE.describe());
    }
  }

  @Test
  void anUnknownOrMissingTensorIsAnErrorNamingIt() throws IOException {
    Path extra = write("pretraining.safetensors", source, SHAPE, name -> name,
        Entry.of("cls.predictions.bias", new int[] {101}, new float[101], 0));
    assertUnchanged(extra, () -> BertCheckpoints.load(target, SHAPE, extra),
        "has 1 tensor a BERT model does not have: cls.predictions.bias");
    Path noPooler = write("no-pooler.safetensors", source, SHAPE, name -> name.startsWith("pooler.") ? null : name);
    assertUnchanged(noPooler, () -> BertCheckpoints.load(target, SHAPE, noPooler),
        "is missing 2 tensors: pooler.dense.weight, pooler.dense.bias");
    Path twice = write("twice.safetensors", source, SHAPE, name -> "bert." + name,
        Entry.of("pooler.dense.bias", new int[] {48}, new float[48], 0));
    assertUnchanged(twice, () -> BertCheckpoints.load(target, SHAPE, twice), "has both");
  }

  @Test
  void notSafetensorsIsAnError() throws IOException {
    Path text = dir.resolve("notes.txt");
    Files.writeString(text, "hello, this is not a checkpoint");
    assertFails(CheckpointException.class, text, () -> BertCheckpoints.load(target, SHAPE, text));
    assertArrayEquals(targetBefore, target.values());
  }

  @Test
  void parametersOfAnotherLayoutAreRejected() {
    Path path = dir.resolve("x.safetensors");
    Parameters untyped = randomParameters(BertLayout.tensors(BertLayoutTest.UNTYPED), 1);
    assertFails(IllegalArgumentException.class, path, () -> BertCheckpoints.saveSafetensors(untyped, SHAPE, path),
        "the parameters hold", "a BERT model with " + SHAPE.describe());
    assertFails(IllegalArgumentException.class, path, () -> BertCheckpoints.load(untyped, SHAPE, path),
        "the parameters hold");
    assertFalse(Files.exists(path));
  }

  @Test
  void saveReplacesAtomicallyAndAFailedSaveKeepsThePreviousFile() throws IOException {
    Path path = dir.resolve("model.safetensors");
    BertCheckpoints.saveSafetensors(source, SHAPE, path);
    BertCheckpoints.saveSafetensors(target, SHAPE, path);
    assertEquals(List.of("model.safetensors"), TestFiles.listing(dir));
    byte[] before = Files.readAllBytes(path);
    Parameters untyped = randomParameters(BertLayout.tensors(BertLayoutTest.UNTYPED), 1);
    assertThrows(IllegalArgumentException.class, () -> BertCheckpoints.saveSafetensors(untyped, SHAPE, path));
    assertArrayEquals(before, Files.readAllBytes(path));

    Path occupied = dir.resolve("occupied.safetensors");
    Files.createDirectory(occupied);
    Files.writeString(occupied.resolve("x"), "x");
    assertThrows(IOException.class, () -> BertCheckpoints.saveSafetensors(source, SHAPE, occupied));
    assertEquals(List.of("model.safetensors", "occupied.safetensors"), TestFiles.listing(dir));
    assertArrayEquals(before, Files.readAllBytes(path));
  }

  // ---------------------------------------------------------------------------------------------------------
  // Helpers

  /**
   * Writes {@code p}'s tensors as F32 safetensors without metadata, each under {@code name.apply(its layout name)}
   * (null leaves it out), then {@code extra}.
   */
  private Path write(String file, Parameters p, BertShape s, UnaryOperator<String> name, Entry... extra)
      throws IOException {
    List<Entry> entries = new ArrayList<>();
    for (ParamTensor t : BertLayout.tensors(s)) {
      String n = name.apply(t.name());
      if (n != null) {
        entries.add(Entry.of(n, t.shape(), p.values(), t.offset()));
      }
    }
    entries.addAll(List.of(extra));
    Path path = dir.resolve(file);
    Safetensors.write(path, Map.of(), entries);
    return path;
  }

  /** Expects a failure naming the file with these fragments, and checks that the target was not touched. */
  private void assertUnchanged(Path path, Executable load, String... fragments) {
    assertFails(CheckpointException.class, path, load, fragments);
    assertArrayEquals(targetBefore, target.values(), "parameters changed by a failed load");
  }
}
