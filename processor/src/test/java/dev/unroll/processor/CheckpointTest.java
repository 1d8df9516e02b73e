package dev.unroll.processor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unroll.processor.models.ModelFixtures;
import dev.unroll.processor.models.UnrolledAwkward;
import dev.unroll.processor.models.UnrolledEven;
import dev.unroll.runtime.AdamW;
import dev.unroll.runtime.Backend;
import dev.unroll.runtime.format.Gpt2Checkpoints;
import dev.unroll.runtime.reference.Gpt2Reference;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Save, load and compare through the generated factories; llm.c import; mismatched files. */
class CheckpointTest {
  @TempDir Path dir;

  @Test
  void saveThenLoadGivesTheSameModel() throws IOException {
    ModelFixtures fixture = ModelFixtures.AWKWARD;
    UnrolledAwkward model = UnrolledAwkward.create(Backend.SIMD, 9);
    trainTwoSteps(model, fixture);
    Path file = dir.resolve("awkward.safetensors");
    model.save(file);
    UnrolledAwkward loaded = UnrolledAwkward.load(Backend.SCALAR, file);
    assertArrayEquals(model.parameters().values(), loaded.parameters().values());
    int[] x = fixture.tokens(5);
    float[] a = new float[UnrolledAwkward.VOCAB];
    float[] b = new float[UnrolledAwkward.VOCAB];
    model.forward(x, null);
    loaded.forward(x, null);
    WholeModelTest.assertClose("logits after load", model.logits(2, 12, a), loaded.logits(2, 12, b), 2e-5f);
    assertEquals(1, Files.list(dir).count(), "no temporary file left beside the checkpoint");

    // The reference reads the same file.
    Gpt2Reference ref = Gpt2Reference.load(UnrolledAwkward.SHAPE, file);
    assertArrayEquals(model.parameters().values(), ref.parameters().values());
  }

  @Test
  void llmcCheckpointImports() throws IOException {
    ModelFixtures fixture = ModelFixtures.AWKWARD;
    UnrolledAwkward model = UnrolledAwkward.create(Backend.SCALAR, 10);
    trainTwoSteps(model, fixture);
    Path file = dir.resolve("gpt2_awkward.bin");
    Gpt2Checkpoints.saveLlmc(model.parameters(), UnrolledAwkward.SHAPE, file);
    try (var in = Files.newInputStream(file)) {
      byte[] head = in.readNBytes(8);
      assertEquals(20240326, java.nio.ByteBuffer.wrap(head).order(java.nio.ByteOrder.LITTLE_ENDIAN).getInt(0));
      assertEquals(3, java.nio.ByteBuffer.wrap(head).order(java.nio.ByteOrder.LITTLE_ENDIAN).getInt(4));
    }
    UnrolledAwkward loaded = UnrolledAwkward.load(Backend.SIMD, file);
    assertArrayEquals(model.parameters().values(), loaded.parameters().values());
  }

  @Test
  void aCheckpointOfAnotherShapeIsAClearError() throws IOException {
    Path file = dir.resolve("even.safetensors");
    UnrolledEven.create(Backend.SCALAR, 1).save(file);
    var e = assertThrows(Exception.class, () -> UnrolledAwkward.load(Backend.SCALAR, file));
    assertTrue(e.getMessage().contains("even.safetensors"), e.getMessage());
    Path llmc = dir.resolve("even.bin");
    Gpt2Checkpoints.saveLlmc(UnrolledEven.create(Backend.SCALAR, 1).parameters(), UnrolledEven.SHAPE, llmc);
    e = assertThrows(Exception.class, () -> UnrolledAwkward.load(Backend.SCALAR, llmc));
    assertTrue(e.getMessage().contains("even.bin"), e.getMessage());
    Path missing = dir.resolve("missing.safetensors");
    assertThrows(IOException.class, () -> UnrolledAwkward.load(Backend.SCALAR, missing));
  }

  @Test
  void aDeviceModelSavesAndLoadsThroughTheSameApi() throws IOException {
    OpenClRule.assumeUsable(Backend.OPENCL);
    ModelFixtures fixture = ModelFixtures.AWKWARD;
    UnrolledAwkward device = UnrolledAwkward.create(Backend.OPENCL, 9);
    trainTwoSteps(device, fixture);
    Path file = dir.resolve("device.safetensors");
    device.save(file);
    UnrolledAwkward host = UnrolledAwkward.load(Backend.SIMD, file);
    assertArrayEquals(device.parameters().values(), host.parameters().values(), "saved from the device");
    UnrolledAwkward back = UnrolledAwkward.load(Backend.OPENCL, file);
    assertArrayEquals(host.parameters().values(), back.parameters().values(), "loaded onto the device");
    int[] x = fixture.tokens(5);
    float[] a = new float[UnrolledAwkward.VOCAB];
    float[] b = new float[UnrolledAwkward.VOCAB];
    host.forward(x, null);
    back.forward(x, null);
    WholeModelTest.assertClose("logits after load", host.logits(2, 12, a), back.logits(2, 12, b), 2e-5f);
    // Host edits reach the device once announced.
    float edit = back.parameters().values()[0] + 1f;
    back.parameters().values()[0] = edit;
    back.parametersChanged();
    assertEquals(edit, back.parameters().values()[0], "an edit announced with parametersChanged() is kept");
    UnrolledAwkward edited = UnrolledAwkward.create(Backend.OPENCL, 1);
    System.arraycopy(back.parameters().values(), 0, edited.parameters().values(), 0,
        UnrolledAwkward.PARAMETER_COUNT);
    edited.parametersChanged();
    assertArrayEquals(back.parameters().values(), edited.parameters().values());
  }

  private static void trainTwoSteps(dev.unroll.runtime.CausalLm model, ModelFixtures fixture) {
    AdamW opt = AdamW.of(model);
    for (int i = 0; i < 2; i++) {
      model.forward(fixture.tokens(i), fixture.tokens(i + 100));
      model.zeroGrad();
      model.backward();
      opt.step();
    }
  }
}
