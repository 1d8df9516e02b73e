package dev.unroll.processor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.sun.management.ThreadMXBean;
import dev.unroll.processor.models.ModelFixtures;
import dev.unroll.runtime.Backend;
import dev.unroll.runtime.CausalLm;
import dev.unroll.runtime.DecodeWeights;
import java.lang.management.ManagementFactory;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

/** KV-cache decoding against the full forward, position by position; its errors; no allocation per token. */
class DecodeTest {

  /**
   * Rounds of decoding every position before measuring, on the CPU: about twice the most measured in the JVM of the
   * allocation tests (see the parent POM), where the last round that allocated was 1,417 (AWKWARD on SCALAR); on
   * SIMD at most 597, the same with 128-, 256- and 512-bit vectors, on a quiet machine and a busy one.
   */
  private static final int WARM_DECODE_ROUNDS = 3000;

  /** The same for OPENCL, whose Java side is light: the last round that allocated was 202 (AWKWARD). */
  private static final int WARM_DEVICE_DECODE_ROUNDS = 600;

  @ParameterizedTest
  @EnumSource(Backend.class)
  void decodeEqualsTheFullForwardAtEveryPosition(Backend backend) {
    OpenClRule.assumeUsable(backend);
    for (ModelFixtures fixture : ModelFixtures.values()) {
      var shape = fixture.shape();
      CausalLm model = fixture.create(backend, 21);
      int[] x = fixture.tokens(8);
      model.forward(x, null);
      float[] want = new float[shape.vocab()];
      for (int row = 0; row < Math.min(2, shape.batch()); row++) {
        model.reset();
        for (int t = 0; t < shape.context(); t++) {
          assertEquals(t, model.position());
          float[] got = model.decode(x[row * shape.context() + t]);
          WholeModelTest.assertClose(fixture + " " + backend + " row " + row + " position " + t,
              model.logits(row, t, want), got, 1e-5f);
        }
      }
    }
  }

  @ParameterizedTest
  @EnumSource(Backend.class)
  void decodeMatchesTheReferencesBruteForceDecode(Backend backend) {
    OpenClRule.assumeUsable(backend);
    for (ModelFixtures fixture : new ModelFixtures[] {ModelFixtures.AWKWARD, ModelFixtures.LLAMA_AWKWARD}) {
      decodeMatchesReference(fixture, backend);
    }
  }

  private static void decodeMatchesReference(ModelFixtures fixture, Backend backend) {
    OpenClRule.assumeUsable(backend);
    CausalLm model = fixture.create(backend, 4);
    CausalLm ref = fixture.reference(4);
    int[] x = fixture.tokens(3);
    for (int t = 0; t < fixture.shape().context(); t++) {
      float[] want = ref.decode(x[t]).clone();
      WholeModelTest.assertClose("position " + t, want, model.decode(x[t]), 1e-5f);
    }
  }

  @ParameterizedTest
  @EnumSource(Backend.class)
  void badTokensAndAFullCacheAreClearErrors(Backend backend) {
    OpenClRule.assumeUsable(backend);
    ModelFixtures fixture = ModelFixtures.MICRO;
    CausalLm model = fixture.create(backend, 1);
    var e = assertThrows(IllegalArgumentException.class, () -> model.decode(11));
    assertEquals("token 11 is outside the vocabulary [0, 11)", e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> model.decode(-1));
    assertEquals(0, model.position(), "a rejected token takes no position");
    float[] first = model.decode(3).clone();
    for (int t = 1; t < fixture.shape().context(); t++) {
      model.decode(t);
    }
    var full = assertThrows(IllegalStateException.class, () -> model.decode(0));
    assertEquals("the KV cache holds CONTEXT = 5 positions and is full; call reset()", full.getMessage());
    model.reset();
    assertEquals(0, model.position());
    float[] again = model.decode(3);
    WholeModelTest.assertClose("after reset", first, again, 0f);
    assertSame(again, model.decode(4), "decode returns the model's own array");
  }

  @Tag("allocation") // warmed by count in a JVM that compiles in the foreground (see the parent POM)
  @ParameterizedTest
  @CsvSource({"AWKWARD, SCALAR, FLOAT32, false", "AWKWARD, SIMD, FLOAT32, false", "AWKWARD, OPENCL, FLOAT32, false",
      "LLAMA_AWKWARD, SCALAR, FLOAT32, false", "LLAMA_AWKWARD, SIMD, FLOAT32, false",
      "LLAMA_AWKWARD, OPENCL, FLOAT32, false", "AWKWARD, SIMD, BFLOAT16, false", "LLAMA_AWKWARD, SIMD, BFLOAT16, false",
      "LLAMA_AWKWARD, OPENCL, BFLOAT16, false", "EVEN, SIMD, INT8, false", "LLAMA_EVEN, SIMD, INT8, false",
      "LLAMA_EVEN, SCALAR, INT8, false", "LLAMA_AWKWARD, SIMD, FLOAT32, true", "AWKWARD, OPENCL, FLOAT32, true",
      "LLAMA_EVEN, SIMD, INT8, true"})
  void decodingAllocatesNothingAfterWarmUp(ModelFixtures fixture, Backend backend, DecodeWeights format,
      boolean decodingOnly) {
    OpenClRule.assumeUsable(backend);
    CausalLm model = decodingOnly ? fixture.createForDecoding(backend, 1) : fixture.create(backend, 1);
    model.decodeWeights(format);
    ThreadMXBean threads = (ThreadMXBean) ManagementFactory.getThreadMXBean();
    long thread = Thread.currentThread().threadId();
    int warm = backend == Backend.OPENCL ? WARM_DEVICE_DECODE_ROUNDS : WARM_DECODE_ROUNDS;
    int lastAllocating = -1;
    for (int round = 0; round < warm; round++) {
      long before = threads.getThreadAllocatedBytes(thread);
      decodeAll(model, fixture);
      if (threads.getThreadAllocatedBytes(thread) != before) {
        lastAllocating = round;
      }
    }
    long before = threads.getThreadAllocatedBytes(thread);
    for (int i = 0; i < 20; i++) {
      decodeAll(model, fixture);
    }
    assertEquals(0, threads.getThreadAllocatedBytes(thread) - before, backend + " (" + format
        + " weights): bytes allocated decoding, after " + warm + " warm-up rounds (the last of them "
        + "that allocated: " + lastAllocating + ")");
  }

  private static void decodeAll(CausalLm model, ModelFixtures fixture) {
    model.reset();
    for (int t = 0; t < fixture.shape().context(); t++) {
      model.decode(t % fixture.shape().vocab());
    }
  }
}
