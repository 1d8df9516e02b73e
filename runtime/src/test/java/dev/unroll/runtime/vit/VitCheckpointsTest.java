package dev.unroll.runtime.vit;

import static dev.unroll.runtime.format.TestFiles.assertFails;
import static dev.unroll.runtime.format.TestFiles.randomParameters;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
import java.util.function.Function;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class VitCheckpointsTest {

  /** A 2-channel 4x6 grid in 2x3 patches (4 of them), dim 8, 3 classes. */
  static final VitShape S = new VitShape(2, 4, 6, 2, 3, 8, 2, 2, 3, 32, 3, false, false);

  @TempDir
  Path dir;

  private Parameters source;
  private Parameters target;
  private float[] targetBefore;

  @BeforeEach
  void parameters() {
    source = randomParameters(VitLayout.tensors(S), 1);
    target = randomParameters(VitLayout.tensors(S), 2);
    targetBefore = target.values().clone();
  }

  @Test
  void roundTripsBitForBitUnderImageClassificationNames() throws IOException {
    Path path = dir.resolve("model.safetensors");
    VitCheckpoints.save(source, S, path);
    VitCheckpoints.load(target, S, path, notice -> { throw new AssertionError(notice); });
    assertArrayEquals(source.values(), target.values());
    assertEquals(List.of("model.safetensors"), TestFiles.listing(dir));
    try (Safetensors st = Safetensors.open(path)) {
      assertEquals(S.describe(), st.metadata().get("unroll.shape"));
      assertEquals(VitLayout.tensors(S).size(), st.tensors().size());
      for (ParamTensor t : VitLayout.tensors(S)) {
        String name = t.name().startsWith("classifier.") ? t.name() : "vit." + t.name();
        assertTrue(st.tensors().get(name).hasShape(t.shape()), name);
      }
      assertTrue(st.tensors().get("vit.embeddings.patch_embeddings.projection.weight").hasShape(8, 2, 2, 3));
      assertTrue(st.tensors().get("vit.embeddings.cls_token").hasShape(1, 1, 8));
      assertTrue(st.tensors().get("vit.embeddings.position_embeddings").hasShape(1, 5, 8));
    }
  }

  @Test
  void loadsNamesWithoutThePrefix() throws IOException {
    Path path = write("bare.safetensors", source, name -> name, List.of());
    VitCheckpoints.load(target, S, path, notice -> { throw new AssertionError(notice); });
    assertArrayEquals(source.values(), target.values());
  }

  @Test
  void ignoresTheViTModelsPooler() throws IOException {
    Path path = write("pooled.safetensors", source, name -> "vit." + name,
        List.of(zeros("vit.pooler.dense.weight", 8, 8), zeros("vit.pooler.dense.bias", 8)));
    VitCheckpoints.load(target, S, path, notice -> { throw new AssertionError(notice); });
    assertArrayEquals(source.values(), target.values());
  }

  /** A plain ViTModel (no head, a pooler) loads; the head is seed 0's, and the load says so once. */
  @Test
  void aFileWithoutTheHeadLoadsWithTheHeadInitialisedAndSaysSo() throws IOException {
    Path path = write("vitmodel.safetensors", source,
        name -> name.startsWith("classifier.") ? null : "vit." + name,
        List.of(zeros("vit.pooler.dense.weight", 8, 8), zeros("vit.pooler.dense.bias", 8)));
    List<String> notices = new ArrayList<>();
    VitCheckpoints.load(target, S, path, notices::add);
    assertEquals(1, notices.size(), notices.toString());
    assertEquals(path + ": no classifier.weight or classifier.bias (a ViT model without the classification head); "
        + "the head starts as initialised from seed 0", notices.getFirst());
    Parameters seed0 = randomParameters(VitLayout.tensors(S), 3);
    VitInit.init(seed0, S, 0);
    int head = target.tensor("classifier.weight").offset();
    assertArrayEquals(Arrays.copyOf(source.values(), head), Arrays.copyOf(target.values(), head));
    assertArrayEquals(Arrays.copyOfRange(seed0.values(), head, seed0.count()),
        Arrays.copyOfRange(target.values(), head, target.count()));
    assertTrue(Arrays.stream(VitLayout.tensors(S).toArray(ParamTensor[]::new)).anyMatch(t ->
        t.name().equals("classifier.weight") && target.values()[t.offset()] != 0f), "the head was drawn");
  }

  @Test
  void aLongerPositionTableGivesItsFirstRowsAndSaysSo() throws IOException {
    int c = S.dim();
    float[] table = new float[9 * c];
    for (int i = 0; i < table.length; i++) {
      table[i] = i;
    }
    Path path = write("long.safetensors", source,
        name -> name.equals(VitLayout.POSITIONS) ? null : name,
        List.of(Entry.of(VitLayout.POSITIONS, new int[] {1, 9, c}, table, 0)));
    List<String> notices = new ArrayList<>();
    VitCheckpoints.load(target, S, path, notices::add);
    assertEquals(List.of(path + ": position table has 9 positions; using the first 5 (context = 5)"), notices);
    int pos = target.tensor(VitLayout.POSITIONS).offset();
    assertArrayEquals(Arrays.copyOf(table, 5 * c), Arrays.copyOfRange(target.values(), pos, pos + 5 * c));
  }

  @Test
  void aShorterPositionTableIsAnErrorListingBothShapes() throws IOException {
    Path path = write("short.safetensors", source,
        name -> name.equals(VitLayout.POSITIONS) ? null : name, List.of(zeros(VitLayout.POSITIONS, 1, 4, 8)));
    assertUnchanged(path, () -> VitCheckpoints.load(target, S, path),
        "tensor embeddings.position_embeddings has shape [1, 4, 8] but the model expects [1, 5, 8]: the "
            + "checkpoint's position table has 4 positions, fewer than the model's context = 5");
  }

  @Test
  void anotherShapeIsAnErrorListingBothShapes() throws IOException {
    Path flat = write("flat.safetensors", source, name -> name.equals(VitLayout.PATCH_WEIGHT) ? null : "vit." + name,
        List.of(zeros("vit." + VitLayout.PATCH_WEIGHT, 8, 12)));
    assertUnchanged(flat, () -> VitCheckpoints.load(target, S, flat),
        "tensor vit.embeddings.patch_embeddings.projection.weight has shape [8, 12] but the model expects "
            + "[8, 2, 2, 3]");
    Path classes = write("classes.safetensors", source,
        name -> name.startsWith("classifier.") ? null : "vit." + name,
        List.of(zeros("classifier.weight", 10, 8), zeros("classifier.bias", 10)));
    assertUnchanged(classes, () -> VitCheckpoints.load(target, S, classes),
        "tensor classifier.weight has shape [10, 8] but the model expects [3, 8]");
  }

  @Test
  void anUnknownTensorIsAnErrorNamingIt() throws IOException {
    Path path = write("extra.safetensors", source, name -> "vit." + name,
        List.of(zeros("vit.encoder.layer.2.layernorm_before.weight", 8)));
    assertUnchanged(path, () -> VitCheckpoints.load(target, S, path),
        "has 1 tensor a ViT model does not have: vit.encoder.layer.2.layernorm_before.weight");
    Path missing = write("missing.safetensors", source,
        name -> name.equals("encoder.layer.1.output.dense.bias") ? null : name, List.of());
    assertUnchanged(missing, () -> VitCheckpoints.load(target, S, missing),
        "is missing 1 tensor: encoder.layer.1.output.dense.bias");
  }

  @Test
  void saveReplacesAtomicallyAndAFailedSaveKeepsThePreviousFile() throws IOException {
    Path path = dir.resolve("model.safetensors");
    VitCheckpoints.save(source, S, path);
    VitCheckpoints.save(target, S, path);
    assertEquals(List.of("model.safetensors"), TestFiles.listing(dir));
    byte[] before = Files.readAllBytes(path);
    VitShape other = new VitShape(2, 4, 6, 2, 3, 8, 2, 2, 3, 32, 4, false, false);
    assertThrows(IllegalArgumentException.class, () -> VitCheckpoints.save(source, other, path));
    Path occupied = dir.resolve("occupied.safetensors");
    Files.createDirectory(occupied);
    Files.writeString(occupied.resolve("x"), "x");
    assertThrows(IOException.class, () -> VitCheckpoints.save(source, S, occupied));
    assertEquals(List.of("model.safetensors", "occupied.safetensors"), TestFiles.listing(dir));
    assertArrayEquals(before, Files.readAllBytes(path));
  }

  // ---------------------------------------------------------------------------------------------------------
  // Helpers

  /**
   * Writes {@code p}'s tensors as safetensors, each named by {@code rename} (null leaves it out), then
   * {@code extra}.
   */
  private Path write(String file, Parameters p, Function<String, String> rename, List<Entry> extra)
      throws IOException {
    List<Entry> entries = new ArrayList<>();
    for (ParamTensor t : p.tensors()) {
      String name = rename.apply(t.name());
      if (name != null) {
        entries.add(Entry.of(name, t.shape(), p.values(), t.offset()));
      }
    }
    entries.addAll(extra);
    Path path = dir.resolve(file);
    Safetensors.write(path, Map.of(), entries);
    return path;
  }

  private void assertUnchanged(Path path, org.junit.jupiter.api.function.Executable load, String... fragments) {
    assertFails(CheckpointException.class, path, load, fragments);
    assertArrayEquals(targetBefore, target.values(), "parameters changed by a failed load");
  }

  private static Entry zeros(String name, int... shape) {
    return Entry.of(name, shape, new float[Arrays.stream(shape).reduce(1, (a, b) -> a * b)], 0);
  }
}
