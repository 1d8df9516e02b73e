package dev.unroll.processor;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.sun.management.ThreadMXBean;
import dev.unroll.processor.models.EncoderFixtures;
import dev.unroll.runtime.AdamW;
import dev.unroll.runtime.Backend;
import dev.unroll.runtime.Encoder;
import java.lang.management.ManagementFactory;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Zero allocation per training step, and per inference call (forward without labels, then logits and embeddings),
 * for the encoders, after a warm-up counted in steps, as {@code PropertiesTest} does for decoders.
 */
class EncoderAllocationTest {
  /** Warm-up steps on SCALAR and OPENCL: as many as the decoders' (see PropertiesTest), which measurements sized. */
  private static final int WARM_STEPS = 1500;

  /**
   * Warm-up steps on SIMD. Until HotSpot's C2 compiles a Vector API loop it runs as plain Java that allocates its
   * vectors; the head's kernels run once per step on a few rows (BERT's tanh backward: 144 floats, 9 vectors), so a
   * step adds only 10 to the method's count toward C2's thresholds (5,000 calls, or 15,000 calls and loop turns),
   * which 1,500 steps just reach: measured, the last allocating step was the 1,499th. 6,000 steps reach both with a
   * margin of four, whatever the vector width.
   */
  private static final int SIMD_WARM_STEPS = 6000;

  @Tag("allocation") // warmed by count in a JVM that compiles in the foreground (see the parent POM)
  @ParameterizedTest
  @CsvSource({"BERT_AWKWARD, SCALAR", "BERT_AWKWARD, SIMD", "BERT_AWKWARD, OPENCL", "VIT_AWKWARD, SCALAR",
      "VIT_AWKWARD, SIMD", "VIT_AWKWARD, OPENCL"})
  void trainingAndInferenceAllocateNothingAfterWarmUp(EncoderFixtures fixture, Backend backend) {
    OpenClRule.assumeUsable(backend);
    Encoder model = fixture.create(backend, 1);
    AdamW opt = AdamW.of(model).clipGradNorm(1f);
    EncoderFixtures.Inputs in = fixture.inputs(1);
    int[] labels = fixture.labels(2);
    float[] logits = new float[fixture.shape().batch() * fixture.shape().classes()];
    float[] embeddings = new float[fixture.shape().batch() * fixture.shape().dim()];
    ThreadMXBean threads = (ThreadMXBean) ManagementFactory.getThreadMXBean();
    long thread = Thread.currentThread().threadId();
    int lastAllocating = -1;
    int warm = backend == Backend.SIMD ? SIMD_WARM_STEPS : WARM_STEPS;
    for (int i = 0; i < warm; i++) {
      long before = threads.getThreadAllocatedBytes(thread);
      step(model, opt, in, labels, logits, embeddings);
      if (threads.getThreadAllocatedBytes(thread) != before) {
        lastAllocating = i;
      }
    }
    long before = threads.getThreadAllocatedBytes(thread);
    for (int i = 0; i < 50; i++) {
      step(model, opt, in, labels, logits, embeddings);
    }
    long after = threads.getThreadAllocatedBytes(thread);
    assertEquals(0, after - before, backend + ": bytes allocated by 50 steps after " + warm
        + " warm-up steps (the last of them that allocated: " + lastAllocating + ")");
  }

  /**
   * A decoder trained after an encoder, in one JVM, allocates nothing either: the shared kernels were first compiled
   * for the encoder's narrow rows (a softmax over 5 classes), and a vector loop that never ran there once stayed
   * boxed after C2 recompiled it for the decoder's wide rows (fixed in Loss.maxOfVectors).
   */
  @Tag("allocation")
  @org.junit.jupiter.api.Test
  void aDecoderAfterAnEncoderAllocatesNothing() {
    EncoderFixtures fixture = EncoderFixtures.VIT_AWKWARD;
    Encoder encoder = fixture.create(Backend.SIMD, 1);
    AdamW encoderOpt = AdamW.of(encoder);
    EncoderFixtures.Inputs in = fixture.inputs(1);
    int[] labels = fixture.labels(2);
    float[] logits = new float[fixture.shape().batch() * fixture.shape().classes()];
    float[] embeddings = new float[fixture.shape().batch() * fixture.shape().dim()];
    for (int i = 0; i < SIMD_WARM_STEPS; i++) {
      step(encoder, encoderOpt, in, labels, logits, embeddings);
    }
    var decoder = dev.unroll.processor.models.ModelFixtures.AWKWARD.create(Backend.SIMD, 1);
    AdamW opt = AdamW.of(decoder);
    int[] x = dev.unroll.processor.models.ModelFixtures.AWKWARD.tokens(1);
    int[] y = dev.unroll.processor.models.ModelFixtures.AWKWARD.tokens(2);
    ThreadMXBean threads = (ThreadMXBean) ManagementFactory.getThreadMXBean();
    long thread = Thread.currentThread().threadId();
    for (int i = 0; i < SIMD_WARM_STEPS; i++) {
      decoderStep(decoder, opt, x, y);
    }
    long before = threads.getThreadAllocatedBytes(thread);
    for (int i = 0; i < 50; i++) {
      decoderStep(decoder, opt, x, y);
    }
    assertEquals(0, threads.getThreadAllocatedBytes(thread) - before, "bytes allocated by 50 decoder steps");
  }

  private static void decoderStep(dev.unroll.runtime.CausalLm model, AdamW opt, int[] x, int[] y) {
    model.forward(x, y);
    model.zeroGrad();
    model.backward();
    opt.step();
  }

  private static void step(Encoder model, AdamW opt, EncoderFixtures.Inputs in, int[] labels, float[] logits,
      float[] embeddings) {
    in.forward(model, labels);
    model.zeroGrad();
    model.backward();
    opt.step();
    in.forward(model, null);
    model.logits(logits);
    model.embeddings(embeddings);
  }
}
