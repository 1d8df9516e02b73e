package dev.unroll.processor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.management.ThreadMXBean;
import dev.unroll.processor.models.ModelFixtures;
import dev.unroll.processor.models.UnrolledAwkward;
import dev.unroll.processor.models.UnrolledLlamaAwkward;
import dev.unroll.processor.models.UnrolledStories15M;
import dev.unroll.runtime.AdamW;
import dev.unroll.runtime.Backend;
import dev.unroll.runtime.CausalLm;
import dev.unroll.runtime.DecodeWarmup;
import dev.unroll.runtime.DecodeWeights;
import dev.unroll.runtime.format.CheckpointException;
import dev.unroll.runtime.gpt2.Gpt2Checkpoints;
import dev.unroll.runtime.llama.LlamaCheckpoints;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Models made for decoding only ({@code createForDecoding}, {@code loadForDecoding}): the same bits as the full
 * model, their memory (parameters, KV cache, decode buffers, nothing else), and clear refusals of training.
 */
class DecodingOnlyTest {

  @ParameterizedTest
  @EnumSource(Backend.class)
  void decodesTheSameBitsAsTheFullModel(Backend backend) {
    OpenClRule.assumeUsable(backend);
    for (ModelFixtures fixture : ModelFixtures.values()) {
      List<DecodeWeights> formats = backend == Backend.OPENCL
          ? List.of(DecodeWeights.FLOAT32, DecodeWeights.BFLOAT16) : List.of(DecodeWeights.values());
      for (DecodeWeights format : formats) {
        if (format == DecodeWeights.INT8 && !int8(fixture)) {
          continue;
        }
        CausalLm full = fixture.create(backend, 5);
        CausalLm only = fixture.createForDecoding(backend, 5);
        full.decodeWeights(format);
        only.decodeWeights(format);
        int[] x = fixture.tokens(2);
        for (int t = 0; t < fixture.shape().context(); t++) {
          WholeModelTest.assertClose(fixture + " " + backend + " " + format + " position " + t,
              full.decode(x[t]).clone(), only.decode(x[t]), 0f);
        }
      }
    }
  }

  /** Whether the fixture's widths allow int8 weights (multiples of 32). */
  private static boolean int8(ModelFixtures fixture) {
    try {
      fixture.createForDecoding(Backend.SCALAR, 1).decodeWeights(DecodeWeights.INT8);
      return true;
    } catch (UnsupportedOperationException e) {
      return false;
    }
  }

  @ParameterizedTest
  @EnumSource(Backend.class)
  void loadsWhatLoadLoadsFromEitherFormat(Backend backend, @TempDir Path dir) throws IOException {
    OpenClRule.assumeUsable(backend);
    CausalLm gpt2 = UnrolledAwkward.create(Backend.SCALAR, 8);
    CausalLm llama = UnrolledLlamaAwkward.create(Backend.SCALAR, 8);
    Path gpt2Safetensors = dir.resolve("gpt2.safetensors");
    Path llmc = dir.resolve("gpt2.bin");
    Path llamaSafetensors = dir.resolve("llama.safetensors");
    Path llama2c = dir.resolve("llama.bin");
    gpt2.save(gpt2Safetensors);
    Gpt2Checkpoints.saveLlmc(gpt2.parameters(), UnrolledAwkward.SHAPE, llmc);
    llama.save(llamaSafetensors);
    LlamaCheckpoints.saveLlama2c(llama.parameters(), UnrolledLlamaAwkward.SHAPE, llama2c);
    for (Path file : List.of(gpt2Safetensors, llmc)) {
      assertSameDecoding(file.toString(), UnrolledAwkward.load(backend, file),
          UnrolledAwkward.loadForDecoding(backend, file), ModelFixtures.AWKWARD);
    }
    for (Path file : List.of(llamaSafetensors, llama2c)) {
      assertSameDecoding(file.toString(), UnrolledLlamaAwkward.load(backend, file),
          UnrolledLlamaAwkward.loadForDecoding(backend, file), ModelFixtures.LLAMA_AWKWARD);
    }
  }

  private static void assertSameDecoding(String what, CausalLm full, CausalLm only, ModelFixtures fixture) {
    assertTrue(java.util.Arrays.equals(full.parameters().values(), only.parameters().values()), what);
    int[] x = fixture.tokens(6);
    for (int t = 0; t < fixture.shape().context(); t++) {
      WholeModelTest.assertClose(what + " position " + t, full.decode(x[t]).clone(), only.decode(x[t]), 0f);
    }
  }

  @Test
  void aBadFileIsTheSameErrorAsLoadGives(@TempDir Path dir) throws IOException {
    Path llama = dir.resolve("llama.safetensors");
    UnrolledLlamaAwkward.create(Backend.SCALAR, 1).save(llama);
    Path truncated = dir.resolve("short.bin");
    Files.write(truncated, new byte[] {1, 2, 3});
    for (Path file : List.of(llama, truncated, dir.resolve("missing.bin"))) {
      Exception load = assertThrows(IOException.class, () -> UnrolledAwkward.load(Backend.SIMD, file));
      Exception only = assertThrows(IOException.class, () -> UnrolledAwkward.loadForDecoding(Backend.SIMD, file));
      assertEquals(load.getClass(), only.getClass(), file.toString());
      assertEquals(load.getMessage(), only.getMessage());
    }
    assertThrows(CheckpointException.class, () -> UnrolledAwkward.loadForDecoding(Backend.SIMD, llama));
    // a model large enough to start a warm-up while it reads: a llama2.c header of its shape and no weights
    Path header = dir.resolve("stories15M-header.bin");
    ByteBuffer b = ByteBuffer.allocate(28).order(ByteOrder.LITTLE_ENDIAN);
    for (int v : new int[] {288, 768, 6, 6, 6, 32000, 256}) {
      b.putInt(v);
    }
    Files.write(header, b.array());
    assertTrue(UnrolledStories15M.PARAMETER_COUNT >= DecodeWarmup.MIN_PARAMETERS);
    CheckpointException e = assertThrows(CheckpointException.class,
        () -> UnrolledStories15M.loadForDecoding(Backend.SIMD, header));
    assertTrue(e.getMessage().contains("truncated"), e.getMessage());
    for (Thread t : Thread.getAllStackTraces().keySet()) {
      assertFalse(t.getName().equals("unroll-decode-warmup"), "a failed load left its warm-up running: " + t);
    }
  }

  @ParameterizedTest
  @EnumSource(Backend.class)
  void trainingIsRefusedSayingHowToMakeAModelThatTrains(Backend backend, @TempDir Path dir) throws IOException {
    OpenClRule.assumeUsable(backend);
    ModelFixtures fixture = ModelFixtures.MICRO;
    CausalLm model = fixture.createForDecoding(backend, 3);
    int[] x = fixture.tokens(1);
    String how = "() needs a model made with create or load: UnrolledMicro.createForDecoding and loadForDecoding"
        + " make a model that only decodes (no gradients or training activations)";
    assertEquals("forward" + how, assertThrows(IllegalStateException.class, () -> model.forward(x, x)).getMessage());
    assertEquals("forward" + how, assertThrows(IllegalStateException.class, () -> model.forward(x, null))
        .getMessage());
    assertEquals("backward" + how, assertThrows(IllegalStateException.class, model::backward).getMessage());
    assertEquals("zeroGrad" + how, assertThrows(IllegalStateException.class, model::zeroGrad).getMessage());
    assertEquals("logits" + how, assertThrows(IllegalStateException.class,
        () -> model.logits(0, 0, new float[fixture.shape().vocab()])).getMessage());
    var adamW = assertThrows(IllegalArgumentException.class, () -> AdamW.of(model));
    assertEquals("AdamW needs the model's gradients, and this model has none: it was made for decoding only "
        + "(createForDecoding or loadForDecoding); make it with create or load to train it", adamW.getMessage());
    assertNull(model.parameters().grads());
    // what it has still works: saving, and loading the saved weights into a model that trains
    Path saved = dir.resolve("micro.safetensors");
    model.save(saved);
    CausalLm trains = dev.unroll.processor.models.UnrolledMicro.load(backend, saved);
    assertTrue(java.util.Arrays.equals(model.parameters().values(), trains.parameters().values()));
    trains.forward(x, x);
  }

  /**
   * What a model made for decoding holds: the bytes allocated while loading stories15M's shape for decoding, which
   * bound what it keeps, are within 10% of its weights and KV cache (a model that trains holds several times more).
   */
  @Test
  void loadingForDecodingAllocatesLittleMoreThanTheWeightsAndTheCache(@TempDir Path dir) throws IOException {
    Path file = dir.resolve("stories15M.bin");
    CausalLm model = UnrolledStories15M.createForDecoding(Backend.SIMD, 2);
    LlamaCheckpoints.saveLlama2c(model.parameters(), UnrolledStories15M.SHAPE, file);
    model = null;
    ThreadMXBean threads = (ThreadMXBean) ManagementFactory.getThreadMXBean();
    long thread = Thread.currentThread().threadId();
    long before = threads.getThreadAllocatedBytes(thread);
    CausalLm loaded = UnrolledStories15M.loadForDecoding(Backend.SIMD, file);
    long allocated = threads.getThreadAllocatedBytes(thread) - before;
    long weights = 4L * UnrolledStories15M.PARAMETER_COUNT;
    long cache = 4L * UnrolledStories15M.KV_COUNT;
    assertTrue(allocated <= 1.1 * (weights + cache), "allocated " + allocated + " B loading; weights " + weights
        + " B, KV cache " + cache + " B");
    assertTrue(allocated >= weights + cache, "allocated " + allocated + " B: less than the weights and the cache");
    loaded.decode(1);
  }
}
