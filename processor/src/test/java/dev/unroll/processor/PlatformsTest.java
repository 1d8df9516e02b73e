package dev.unroll.processor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.unroll.processor.models.ModelFixtures;
import dev.unroll.processor.models.UnrolledMicro;
import dev.unroll.processor.models.UnrolledMicroJava;
import dev.unroll.processor.models.UnrolledMicroOpenCl;
import dev.unroll.runtime.AdamW;
import dev.unroll.runtime.Backend;
import dev.unroll.runtime.CausalLm;
import dev.unroll.runtime.DecodeWeights;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@code @Transformer(platforms = ...)}: a model compiled for some platforms has only their backends' code, refuses
 * the other backends clearly, and computes on the ones it has exactly what a model with every platform computes.
 * (That its source holds no OpenCL is checked in {@link ProcessorCompileTest}.)
 */
class PlatformsTest {

  @Test
  void aModelWithoutOpenClRefusesItNamingTheValueToChange() {
    var e = assertThrows(UnsupportedOperationException.class, () -> UnrolledMicroJava.create(Backend.OPENCL, 1));
    assertEquals("UnrolledMicroJava was compiled without Platform.OPENCL: add it to @Transformer(platforms = ...)"
        + " on MicroJava to run on Backend.OPENCL", e.getMessage());
    assertThrows(ClassNotFoundException.class,
        () -> Class.forName(UnrolledMicroJava.class.getName() + "$OpenClSteps"), "no OpenCL room in the class");
  }

  @ParameterizedTest
  @EnumSource(value = Backend.class, names = {"SCALAR", "SIMD"})
  void aModelWithoutJavaRefusesTheCpuBackends(Backend backend) {
    var e = assertThrows(UnsupportedOperationException.class, () -> UnrolledMicroOpenCl.create(backend, 1));
    assertEquals("UnrolledMicroOpenCl was compiled without Platform.JAVA: add it to @Transformer(platforms = ...)"
        + " on MicroOpenCl to run on Backend." + backend, e.getMessage());
    assertThrows(ClassNotFoundException.class,
        () -> Class.forName(UnrolledMicroOpenCl.class.getName() + "$CpuSteps"), "no Java room in the class");
  }

  @ParameterizedTest
  @EnumSource(Backend.class)
  void eachRoomAloneComputesTheSameBitsAsAModelWithEveryRoom(Backend backend) {
    OpenClRule.assumeUsable(backend);
    CausalLm alone = backend == Backend.OPENCL ? UnrolledMicroOpenCl.create(backend, 7)
        : UnrolledMicroJava.create(backend, 7);
    CausalLm full = UnrolledMicro.create(backend, 7);
    assertEquals(backend == Backend.OPENCL, alone.deviceParameters() != null, "device parameters on OPENCL only");
    int[] x = ModelFixtures.MICRO.tokens(1);
    int[] y = ModelFixtures.MICRO.tokens(2);
    AdamW aloneOpt = AdamW.of(alone).lr(1e-2f);
    AdamW fullOpt = AdamW.of(full).lr(1e-2f);
    for (int step = 0; step < 3; step++) {
      float want = full.forward(x, y);
      assertEquals(want, alone.forward(x, y), "loss of step " + step);
      full.zeroGrad();
      alone.zeroGrad();
      full.backward();
      alone.backward();
      assertEquals(fullOpt.step(), aloneOpt.step(), "gradient norm of step " + step);
      full.finish();
      alone.finish();
    }
    assertArrayEquals(full.parameters().values(), alone.parameters().values(), "parameters after 3 steps");
    assertArrayEquals(full.logits(1, 4, new float[UnrolledMicro.VOCAB]),
        alone.logits(1, 4, new float[UnrolledMicro.VOCAB]), "logits");
    full.decodeWeights(DecodeWeights.BFLOAT16);
    alone.decodeWeights(DecodeWeights.BFLOAT16);
    for (int t = 0; t < UnrolledMicro.CONTEXT; t++) {
      assertArrayEquals(full.decode(x[t]).clone(), alone.decode(x[t]), "bfloat16 decode at position " + t);
    }
  }
}
