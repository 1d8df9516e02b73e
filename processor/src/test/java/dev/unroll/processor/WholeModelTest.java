package dev.unroll.processor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unroll.processor.models.ModelFixtures;
import dev.unroll.runtime.AdamW;
import dev.unroll.runtime.Backend;
import dev.unroll.runtime.CausalLm;
import dev.unroll.runtime.ParamTensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Generated models against the runtime's scalar reference, on whole models: logits, loss, every parameter
 * gradient, and the parameters after two AdamW steps.
 *
 * <p>SCALAR runs the reference's own kernels in the order the plan wrote down, so it must agree bit for bit: any
 * difference is a wrong offset or a misordered call. SIMD sums in another order, so it is held to a relative
 * tolerance: {@value #SIMD_TOLERANCE} of the largest magnitude in each tensor for values and gradients, and
 * parameters after AdamW to {@link #ADAM_TOLERANCE}.
 *
 * <p>Adam divides each gradient by its own magnitude: at eps 1e-8, a gradient at rounding level (1e-7 of its
 * tensor's scale) takes a full step of either sign, so two correct implementations can differ by 2·lr in such an
 * element. The SIMD comparison therefore runs AdamW with eps 1e-4, where the update is Lipschitz in the gradient
 * (constant lr/eps), and then any difference above {@link #ADAM_TOLERANCE} (a twentieth of one step) is a real one.
 * SCALAR runs the default eps and must match exactly.
 */
class WholeModelTest {
  static final float SIMD_TOLERANCE = 2e-5f;
  /** Absolute; one step moves a parameter by up to lr = 1e-3. */
  static final float ADAM_TOLERANCE = 5e-5f;

  @ParameterizedTest
  @EnumSource(ModelFixtures.class)
  void scalarMatchesReferenceExactly(ModelFixtures fixture) {
    compare(fixture, Backend.SCALAR, 0f, 0f, 1e-8f);
  }

  @ParameterizedTest
  @EnumSource(ModelFixtures.class)
  void simdMatchesReference(ModelFixtures fixture) {
    compare(fixture, Backend.SIMD, SIMD_TOLERANCE, ADAM_TOLERANCE, 1e-4f);
  }

  /**
   * OPENCL sums in yet another order (work-group trees, tiles), on whatever device is here: held to the SIMD
   * tolerances.
   */
  @ParameterizedTest
  @EnumSource(ModelFixtures.class)
  void openClMatchesReference(ModelFixtures fixture) {
    OpenClRule.assumeUsable(Backend.OPENCL);
    compare(fixture, Backend.OPENCL, SIMD_TOLERANCE, ADAM_TOLERANCE, 1e-4f);
  }

  private static void compare(ModelFixtures fixture, Backend backend, float tol, float adamTol, float eps) {
    CausalLm model = fixture.create(backend, 42);
    CausalLm ref = fixture.reference(42);
    assertEquals(ref.parameters().tensors(), model.parameters().tensors(), "parameter layout");
    assertArrayEquals(ref.parameters().values(), model.parameters().values(), "initialisation");

    int[] x = fixture.tokens(1);
    int[] y = fixture.tokens(2);
    float loss = model.forward(x, y);
    float refLoss = ref.forward(x, y);
    assertClose("loss", new float[] {refLoss}, new float[] {loss}, tol);
    assertTrue(Math.abs(refLoss - Math.log(fixture.shape().vocab())) < 0.5, "initial loss near ln(vocab)");

    var shape = fixture.shape();
    float[] got = new float[shape.vocab()];
    float[] want = new float[shape.vocab()];
    for (int b = 0; b < shape.batch(); b++) {
      for (int t = 0; t < shape.context(); t++) {
        assertClose("logits(" + b + ", " + t + ")", ref.logits(b, t, want), model.logits(b, t, got), tol);
      }
    }

    model.zeroGrad();
    model.backward();
    ref.zeroGrad();
    ref.backward();
    for (ParamTensor t : ref.parameters().tensors()) {
      assertClose("gradient of " + t.name(), slice(ref.parameters().grads(), t), slice(model.parameters().grads(), t),
          tol);
    }

    AdamW opt = AdamW.of(model).lr(1e-3f).eps(eps).weightDecay(0.1f).clipGradNorm(1f);
    AdamW refOpt = AdamW.of(ref).lr(1e-3f).eps(eps).weightDecay(0.1f).clipGradNorm(1f);
    opt.step();
    refOpt.step();
    for (int step = 0; step < 1; step++) {
      model.forward(x, y);
      model.zeroGrad();
      model.backward();
      opt.step();
      ref.forward(x, y);
      ref.zeroGrad();
      ref.backward();
      refOpt.step();
    }
    for (ParamTensor t : ref.parameters().tensors()) {
      float[] w = slice(ref.parameters().values(), t);
      float[] g = slice(model.parameters().values(), t);
      if (adamTol == 0f) {
        assertArrayEquals(w, g, t.name() + " after two AdamW steps");
      } else {
        for (int i = 0; i < w.length; i++) {
          assertEquals(w[i], g[i], adamTol, t.name() + "[" + i + "] after two AdamW steps");
        }
      }
    }
  }

  static float[] slice(float[] arena, ParamTensor t) {
    float[] out = new float[t.size()];
    System.arraycopy(arena, t.offset(), out, 0, out.length);
    return out;
  }

  /** Exact when {@code tol} is 0; else |a - b| ≤ tol · max|want| for every element. */
  static void assertClose(String what, float[] want, float[] got, float tol) {
    if (tol == 0f) {
      assertArrayEquals(want, got, what);
      return;
    }
    float scale = 0f;
    for (float w : want) {
      scale = Math.max(scale, Math.abs(w));
    }
    for (int i = 0; i < want.length; i++) {
      float diff = Math.abs(want[i] - got[i]);
      if (!(diff <= tol * scale)) {
        throw new AssertionError(what + "[" + i + "]: want " + want[i] + ", got " + got[i] + " (|diff| " + diff
            + " > " + tol + " * " + scale + ")");
      }
    }
  }
}
