package dev.unroll.processor.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unroll.runtime.gpt2.Gpt2Shape;
import dev.unroll.processor.parse.ModelSpec;
import dev.unroll.runtime.ModelShape;
import dev.unroll.runtime.ParamTensor;
import dev.unroll.runtime.gpt2.Gpt2Layout;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The plan is plain data: offsets, sizes, FLOPs and bytes, checked without a compiler. */
class PlannerTest {
  static final ModelSpec GPT2_124M = ModelSpec.gpt2("Gpt2", 50257, 1024, 768, 12, 12, 1);
  static final ModelSpec AWKWARD = ModelSpec.gpt2("Awkward", 97, 13, 48, 3, 2, 3);

  @Test
  void specsUnderTestAreValid() {
    assertEquals(List.of(), dev.unroll.processor.validate.SpecValidator.validate(GPT2_124M));
    assertEquals(List.of(), dev.unroll.processor.validate.SpecValidator.validate(AWKWARD));
  }

  /**
   * The planner decides which shapes get an int8 decode from its own copy of the runtime's group size (the
   * processor does not depend on the runtime): the two must agree, and a shape with widths of whole groups gets the
   * int8 stages while one without does not.
   */
  @Test
  void int8DecodeFollowsTheRuntimesGroupSize() {
    assertEquals(dev.unroll.runtime.number.Int8.GROUP, PlanBuilder.INT8_GROUP);
    assertTrue(!Planner.plan(GPT2_124M).decodeInt8().isEmpty());
    assertEquals(List.of(), Planner.plan(AWKWARD).decodeInt8());
  }

  @Test
  void gpt2SmallHasItsKnownParameterCount() {
    Plan plan = Planner.plan(GPT2_124M);
    assertEquals(50272, plan.paddedVocab());
    assertEquals(124_439_808L, plan.trainableParameters());
    assertEquals(124_439_808 + 15 * 768, plan.parameterCount());
    assertEquals(4L * plan.parameterCount(), plan.parameterBytes());
  }

  @Test
  void tensorsTileTheirArenasWithoutGapsOrOverlap() {
    for (ModelSpec spec : List.of(GPT2_124M, AWKWARD)) {
      Plan plan = Planner.plan(spec);
      assertTiled(plan.parameters(), plan.parameterCount());
      assertTiled(plan.activations(), plan.activationCount());
      ArenaSizes sizes = ArenaSizes.of(spec);
      assertEquals(sizes.parameters(), plan.parameterCount(), "closed form vs layout, parameters");
      assertEquals(sizes.activations(), plan.activationCount(), "closed form vs layout, activations");
    }
  }

  private static void assertTiled(List<Tensor> tensors, int count) {
    int next = 0;
    Set<String> names = new HashSet<>();
    for (Tensor t : tensors) {
      assertEquals(next, t.offset(), t.constant());
      assertTrue(names.add(t.constant()), "duplicate " + t.constant());
      next += t.size();
    }
    assertEquals(count, next);
  }

  @Test
  void awkwardOffsetsAreLlmcOrder() {
    Plan plan = Planner.plan(AWKWARD);
    int c = 48;
    int vp = 112;
    assertEquals(0, plan.parameter("WTE").offset());
    assertEquals(vp * c, plan.parameter("WPE").offset());
    int ln1w = vp * c + 13 * c;
    assertEquals(ln1w, plan.parameter("L0_LN1W").offset());
    assertEquals(ln1w + c, plan.parameter("L1_LN1W").offset());
    assertEquals(ln1w + 2 * c, plan.parameter("L0_LN1B").offset());
    assertEquals(ln1w + 4 * c, plan.parameter("L0_QKVW").offset());
    assertEquals(ln1w + 4 * c + 3 * c * c, plan.parameter("L1_QKVW").offset());
    assertEquals("h.1.attn.c_attn.weight", plan.parameter("L1_QKVW").name());
    assertEquals("(3*C, C) = (144, 48)", plan.parameter("L1_QKVW").shapeDoc());
  }

  @Test
  void parameterLayoutIsTheRuntimes() {
    for (ModelSpec spec : List.of(GPT2_124M, AWKWARD, ModelSpec.gpt2("H", 11, 5, 8, 2, 2, 2))) {
      Plan plan = Planner.plan(spec);
      List<ParamTensor> runtime = Gpt2Layout.tensors(new Gpt2Shape(spec.vocab(), plan.paddedVocab(),
          spec.context(), spec.dim(), spec.heads(), spec.layers(), spec.batch(), spec.hidden()));
      assertEquals(runtime.size(), plan.parameters().size());
      for (int i = 0; i < runtime.size(); i++) {
        ParamTensor r = runtime.get(i);
        Tensor t = plan.parameters().get(i);
        assertEquals(r.name(), t.name());
        assertEquals(r.offset(), t.offset(), r.name());
        assertEquals(List.of(java.util.Arrays.stream(r.shape()).boxed().toArray()), List.copyOf(t.dims()), r.name());
      }
    }
  }

  @Test
  void llamaLayoutIsTheRuntimes() {
    for (ModelSpec spec : List.of(ModelSpec.llama("S", 32000, 256, 288, 6, 6, 6, 1, true),
        ModelSpec.llama("A", 97, 13, 48, 6, 2, 2, 3, false))) {
      Plan plan = Planner.plan(spec);
      var shape = new dev.unroll.runtime.llama.LlamaShape(spec.vocab(), plan.paddedVocab(), spec.context(), spec.dim(),
          spec.heads(), spec.kvHeads(), spec.layers(), spec.batch(), spec.hidden(), spec.tiedClassifier());
      List<ParamTensor> runtime = dev.unroll.runtime.llama.LlamaLayout.tensors(shape);
      assertEquals(runtime.size(), plan.parameters().size());
      for (int i = 0; i < runtime.size(); i++) {
        assertEquals(runtime.get(i).name(), plan.parameters().get(i).name());
        assertEquals(runtime.get(i).offset(), plan.parameters().get(i).offset(), runtime.get(i).name());
      }
      assertTiled(plan.parameters(), plan.parameterCount());
      assertTiled(plan.activations(), plan.activationCount());
      ArenaSizes sizes = ArenaSizes.of(spec);
      assertEquals(sizes.parameters(), plan.parameterCount());
      assertEquals(sizes.activations(), plan.activationCount());
    }
  }

  @Test
  void stories15mHasItsKnownParameterCount() {
    Plan plan = Planner.plan(ModelSpec.llama("S", 32000, 256, 288, 6, 6, 6, 1, true));
    // llama2.c's stories15M: 15,191,712 weights without the RoPE tables.
    assertEquals(15_191_712L, plan.trainableParameters());
  }

  @Test
  void flopsFollowTheSharedFormula() {
    Plan plan = Planner.plan(AWKWARD);
    long n = plan.trainableParameters();
    assertEquals(6 * n * 39 + 12L * 2 * 48 * 3 * 13 * 13, plan.trainingFlopsPerStep());
    assertEquals(plan.trainingFlopsPerStep() / 3, plan.forwardFlopsPerStep());
    assertEquals(4 * plan.parameterBytes() + 2 * plan.activationBytes(), plan.totalTrainingBytes());
  }

  @Test
  void forwardAndBackwardAreMirrorImages() {
    Plan plan = Planner.plan(AWKWARD);
    List<String> forward = plan.forward().stream().map(Stage::method).toList();
    List<String> backward = plan.backward().stream().map(Stage::method).toList();
    assertEquals(List.of("forwardEmbedding", "forwardLayer0", "forwardLayer1", "forwardHead"), forward);
    assertEquals(List.of("backwardHead", "backwardLayer1", "backwardLayer0", "backwardEmbedding"), backward);
    for (int i = 0; i < 2; i++) {
      long fwdMatmuls = plan.forward().get(1 + i).ops().stream().filter(o -> o.kernel().equals("matmulForward")).count();
      long bwdMatmuls = plan.backward().get(2 - i).ops().stream().filter(o -> o.kernel().equals("matmulBackward"))
          .count();
      assertEquals(4, fwdMatmuls);
      assertEquals(fwdMatmuls, bwdMatmuls);
    }
  }
}
