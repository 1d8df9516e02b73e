package dev.unroll.processor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unroll.runtime.gpt2.Gpt2Shape;
import dev.unroll.processor.models.ModelFixtures;
import dev.unroll.processor.models.UnrolledAwkward;
import dev.unroll.processor.models.UnrolledEven;
import dev.unroll.processor.models.UnrolledLlamaAwkward;
import dev.unroll.runtime.AdamW;
import dev.unroll.runtime.Backend;
import dev.unroll.runtime.CausalLm;
import dev.unroll.runtime.ModelShape;
import dev.unroll.runtime.gpt2.Gpt2Checkpoints;
import dev.unroll.runtime.gpt2.Gpt2Reference;
import dev.unroll.runtime.llama.LlamaCheckpoints;
import dev.unroll.runtime.llama.LlamaReference;
import dev.unroll.runtime.llama.LlamaShape;
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

  /**
   * A checkpoint of the same shape but a longer context (29 positions) loads through the generated factory, and the
   * generated model computes at its 13 positions exactly what the long model computes there: GPT-2 from llm.c's
   * file (its position table cut to the first rows), Llama from llama2.c's (seq_len 29, RoPE tables and an untied
   * classifier after them). SCALAR runs the reference's kernels in the reference's order, so bit for bit.
   */
  @Test
  void aCheckpointOfALongerContextLoadsAndComputesWhatTheLongModelDoes() throws IOException {
    Gpt2Shape s = UnrolledAwkward.SHAPE;
    Gpt2Shape longer = new Gpt2Shape(s.vocab(), s.paddedVocab(), 29, s.dim(), s.heads(), s.layers(), s.batch(),
        s.hidden());
    Gpt2Reference gpt2 = Gpt2Reference.create(longer, 21);
    Path gpt2File = dir.resolve("gpt2_long.bin");
    Gpt2Checkpoints.saveLlmc(gpt2.parameters(), longer, gpt2File);
    assertSamePrefixLogits(gpt2, UnrolledAwkward.load(Backend.SCALAR, gpt2File), ModelFixtures.AWKWARD);

    LlamaShape ls = UnrolledLlamaAwkward.SHAPE;
    LlamaShape llamaLonger = new LlamaShape(ls.vocab(), ls.paddedVocab(), 29, ls.dim(), ls.heads(), ls.kvHeads(),
        ls.layers(), ls.batch(), ls.hidden(), ls.tiedClassifier());
    LlamaReference llama = LlamaReference.create(llamaLonger, 22);
    Path llamaFile = dir.resolve("llama_long.bin");
    LlamaCheckpoints.saveLlama2c(llama.parameters(), llamaLonger, llamaFile);
    assertSamePrefixLogits(llama, UnrolledLlamaAwkward.load(Backend.SCALAR, llamaFile), ModelFixtures.LLAMA_AWKWARD);

    // the other way round, a model of a longer context than the file's, is an error naming the file and both
    Gpt2Shape shorter = new Gpt2Shape(s.vocab(), s.paddedVocab(), 5, s.dim(), s.heads(), s.layers(), s.batch(),
        s.hidden());
    Path shortFile = dir.resolve("gpt2_short.bin");
    Gpt2Checkpoints.saveLlmc(Gpt2Reference.create(shorter, 23).parameters(), shorter, shortFile);
    var e = assertThrows(IOException.class, () -> UnrolledAwkward.load(Backend.SCALAR, shortFile));
    assertTrue(e.getMessage().startsWith(shortFile + ": ") && e.getMessage().contains("context = 13")
        && e.getMessage().contains("the file has vocab=97 context=5"), e.getMessage());
  }

  /** Row b of the short model's input is the first positions of row b of the long one's. */
  private static void assertSamePrefixLogits(CausalLm longModel, CausalLm model, ModelFixtures fixture) {
    int t = model.shape().context();
    int longT = longModel.shape().context();
    int[] tokens = fixture.tokens(31);
    int[] longTokens = new int[longModel.shape().batch() * longT];
    for (int b = 0; b < model.shape().batch(); b++) {
      System.arraycopy(tokens, b * t, longTokens, b * longT, t);
    }
    longModel.forward(longTokens, null);
    model.forward(tokens, null);
    int v = model.shape().vocab();
    for (int b = 0; b < model.shape().batch(); b++) {
      for (int p = 0; p < t; p++) {
        WholeModelTest.assertClose("logits(" + b + ", " + p + ")", longModel.logits(b, p, new float[v]),
            model.logits(b, p, new float[v]), 0f);
      }
    }
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
