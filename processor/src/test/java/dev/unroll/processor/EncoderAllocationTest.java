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
  /** Warm-up steps: as many as the decoders' (see PropertiesTest), which their measurements sized. */
  private static final int WARM_STEPS = 1500;

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
    for (int i = 0; i < WARM_STEPS; i++) {
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
    assertEquals(0, after - before, backend + ": bytes allocated by 50 steps after " + WARM_STEPS
        + " warm-up steps (the last of them that allocated: " + lastAllocating + ")");
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
