package dev.unroll.processor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.management.ThreadMXBean;
import dev.unroll.processor.models.ModelFixtures;
import dev.unroll.processor.models.UnrolledAwkward;
import dev.unroll.runtime.AdamW;
import dev.unroll.runtime.Backend;
import dev.unroll.runtime.CausalLm;
import java.lang.management.ManagementFactory;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

/** Zero allocation per step, determinism, and bad input that leaves the model as it was. */
class PropertiesTest {

  /**
   * Training steps before measuring: about twice the most measured in the JVM of the allocation tests (see the
   * parent POM), where the last step that allocated was 725 (LLAMA_AWKWARD on SCALAR); on SIMD at most 169, with
   * 128-, 256- and 512-bit vectors, on a quiet machine and a busy one.
   */
  private static final int WARM_STEPS = 1500;

  @Tag("allocation") // warmed by count in a JVM that compiles in the foreground (see the parent POM)
  @ParameterizedTest
  @CsvSource({"AWKWARD, SCALAR", "AWKWARD, SIMD", "AWKWARD, OPENCL", "LLAMA_AWKWARD, SCALAR",
      "LLAMA_AWKWARD, SIMD", "LLAMA_AWKWARD, OPENCL"})
  void trainingStepAllocatesNothingAfterWarmUp(ModelFixtures fixture, Backend backend) {
    OpenClRule.assumeUsable(backend);
    CausalLm model = fixture.create(backend, 1);
    AdamW opt = AdamW.of(model).clipGradNorm(1f);
    int[] x = fixture.tokens(1);
    int[] y = fixture.tokens(2);
    ThreadMXBean threads = (ThreadMXBean) ManagementFactory.getThreadMXBean();
    long thread = Thread.currentThread().threadId();
    int lastAllocating = -1;
    for (int i = 0; i < WARM_STEPS; i++) {
      long before = threads.getThreadAllocatedBytes(thread);
      step(model, opt, x, y);
      if (threads.getThreadAllocatedBytes(thread) != before) {
        lastAllocating = i;
      }
    }
    long before = threads.getThreadAllocatedBytes(thread);
    for (int i = 0; i < 50; i++) {
      step(model, opt, x, y);
    }
    long after = threads.getThreadAllocatedBytes(thread);
    assertEquals(0, after - before, backend + ": bytes allocated by 50 training steps after " + WARM_STEPS
        + " warm-up steps (the last of them that allocated: " + lastAllocating + ")");
  }

  private static void step(CausalLm model, AdamW opt, int[] x, int[] y) {
    model.forward(x, y);
    model.zeroGrad();
    model.backward();
    opt.step();
  }

  @ParameterizedTest
  @EnumSource(Backend.class)
  void sameSeedAndDataGiveIdenticalLosses(Backend backend) {
    OpenClRule.assumeUsable(backend);
    float[] first = losses(backend);
    float[] second = losses(backend);
    assertArrayEquals(first, second);
    assertTrue(first[4] < first[0], "loss falls on a repeated batch: " + java.util.Arrays.toString(first));
  }

  private static float[] losses(Backend backend) {
    ModelFixtures fixture = ModelFixtures.EVEN;
    CausalLm model = fixture.create(backend, 5);
    AdamW opt = AdamW.of(model).lr(3e-3f);
    float[] losses = new float[5];
    for (int i = 0; i < losses.length; i++) {
      losses[i] = model.forward(fixture.tokens(10), fixture.tokens(11));
      model.zeroGrad();
      model.backward();
      opt.step();
    }
    return losses;
  }

  @ParameterizedTest
  @EnumSource(Backend.class)
  void badTokensAreClearErrorsAndChangeNothing(Backend backend) {
    OpenClRule.assumeUsable(backend);
    ModelFixtures fixture = ModelFixtures.AWKWARD;
    CausalLm model = fixture.create(backend, 3);
    int[] x = fixture.tokens(1);
    int[] y = fixture.tokens(2);
    float loss = model.forward(x, y);
    float[] params = model.parameters().values().clone();

    int[] bad = x.clone();
    bad[17] = UnrolledAwkward.VOCAB;
    var e = assertThrows(IllegalArgumentException.class, () -> model.forward(bad, y));
    assertEquals("inputs[17] (row 1, position 4) = 97 is outside the vocabulary [0, 97)", e.getMessage());
    int[] negative = y.clone();
    negative[0] = -1;
    e = assertThrows(IllegalArgumentException.class, () -> model.forward(x, negative));
    assertTrue(e.getMessage().startsWith("targets[0] (row 0, position 0) = -1 is outside"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> model.forward(new int[5], y));
    assertEquals("inputs has length 5; this model takes batch * context = 3 * 13 = 39 tokens per step",
        e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> model.forward(x, new int[40]));
    assertThrows(NullPointerException.class, () -> model.forward(null, y));

    // The failed calls left the last good forward in place: backward still sees its activations.
    model.zeroGrad();
    model.backward();
    float[] grads = model.parameters().grads().clone();
    CausalLm twin = fixture.create(backend, 3);
    assertEquals(loss, twin.forward(x, y));
    twin.zeroGrad();
    twin.backward();
    assertArrayEquals(twin.parameters().grads(), grads);
    assertArrayEquals(params, model.parameters().values());
  }

  @ParameterizedTest
  @EnumSource(Backend.class)
  void nanLossAndNanGradientAreClearErrors(Backend backend) {
    OpenClRule.assumeUsable(backend);
    ModelFixtures fixture = ModelFixtures.AWKWARD;
    CausalLm model = fixture.create(backend, 3);
    AdamW opt = AdamW.of(model);
    int[] x = fixture.tokens(1);
    int[] y = fixture.tokens(2);
    // Edits go through parameters() and parametersChanged(), which a device-resident model needs.
    float[] p = model.parameters().values();
    int lnf = model.parameters().tensor("ln_f.weight").offset();
    p[lnf] = Float.NaN;
    model.parametersChanged();
    float[] before = p.clone();
    var e = assertThrows(ArithmeticException.class, () -> model.forward(x, y));
    assertTrue(e.getMessage().contains("the loss is NaN"), e.getMessage());
    assertArrayEquals(before, model.parameters().values());
    assertThrows(IllegalStateException.class, model::backward, "no backward after a failed forward");

    // A NaN gradient stops the optimizer before it touches a parameter.
    p[lnf] = 1f;
    model.parametersChanged();
    model.forward(x, y);
    model.zeroGrad();
    model.backward();
    model.parameters().grads()[0] = Float.NaN;
    model.parametersChanged();
    float[] clean = model.parameters().values().clone();
    var s = assertThrows(IllegalStateException.class, opt::step);
    assertTrue(s.getMessage().contains("parameters left unchanged"), s.getMessage());
    assertArrayEquals(clean, model.parameters().values());
    assertEquals(0, opt.steps());
  }

  @ParameterizedTest
  @EnumSource(Backend.class)
  void logitsNeedAForwardAndAValidPosition(Backend backend) {
    OpenClRule.assumeUsable(backend);
    CausalLm model = ModelFixtures.MICRO.create(backend, 1);
    float[] dst = new float[11];
    assertThrows(IllegalStateException.class, () -> model.logits(0, 0, dst));
    assertThrows(IllegalStateException.class, model::backward);
    assertTrue(Float.isNaN(model.forward(ModelFixtures.MICRO.tokens(1), null)));
    assertThrows(IllegalStateException.class, model::backward, "no targets, no backward");
    assertThrows(IndexOutOfBoundsException.class, () -> model.logits(2, 0, dst));
    assertThrows(IndexOutOfBoundsException.class, () -> model.logits(0, 5, dst));
    assertThrows(IllegalArgumentException.class, () -> model.logits(0, 0, new float[10]));
    model.logits(1, 4, dst);
  }
}
