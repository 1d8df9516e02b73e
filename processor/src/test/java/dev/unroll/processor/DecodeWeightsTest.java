package dev.unroll.processor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unroll.processor.models.ModelFixtures;
import dev.unroll.runtime.Backend;
import dev.unroll.runtime.Bf16;
import dev.unroll.runtime.CausalLm;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Decoding with bfloat16 weights against float32 decoding. bfloat16 keeps 8 significant bits, so each weight moves
 * by up to 2^-9 of itself; a logit, a sum of C such products through every layer, moves by a few parts in a
 * thousand of the logits' scale. Stated tolerance: every logit within 2e-2 of the largest |logit| at its position.
 */
class Bf16DecodeTest {

  @ParameterizedTest
  @CsvSource({"AWKWARD, SCALAR", "AWKWARD, SIMD", "AWKWARD, OPENCL", "LLAMA_AWKWARD, SCALAR",
      "LLAMA_AWKWARD, SIMD", "LLAMA_AWKWARD, OPENCL"})
  void bf16DecodingStaysCloseToFloat32(ModelFixtures fixture, Backend backend) {
    OpenClRule.assumeUsable(backend);
    CausalLm f32 = fixture.create(backend, 9);
    CausalLm bf16 = fixture.create(backend, 9);
    bf16.decodeWithBf16Weights(true);
    int[] x = fixture.tokens(5);
    double worst = 0;
    boolean anyDifference = false;
    for (int t = 0; t < fixture.shape().context(); t++) {
      float[] want = f32.decode(x[t]).clone();
      float[] got = bf16.decode(x[t]);
      float scale = 0;
      for (float w : want) {
        scale = Math.max(scale, Math.abs(w));
      }
      for (int i = 0; i < want.length; i++) {
        double err = Math.abs(want[i] - got[i]) / scale;
        worst = Math.max(worst, err);
        anyDifference |= want[i] != got[i];
      }
    }
    assertTrue(worst <= 2e-2, "worst relative logit error " + worst);
    assertTrue(anyDifference, "bfloat16 weights were not used");
    bf16.decodeWithBf16Weights(false);
    bf16.reset();
    f32.reset();
    assertEquals(f32.decode(x[0])[3], bf16.decode(x[0])[3], "back to float32");
  }

  /**
   * The SIMD kernels read the bfloat16 copy in their own layout (panels of 16 rows); the scalar kernels read it
   * row-major. With the same rounded weights, only the order of sums differs: every logit within the SIMD backend's
   * whole-model tolerance, 2e-5 of the largest |logit| at its position.
   */
  @ParameterizedTest
  @CsvSource({"AWKWARD", "LLAMA_AWKWARD"})
  void simdBf16DecodingMatchesTheScalarKernels(ModelFixtures fixture) {
    CausalLm scalar = fixture.create(Backend.SCALAR, 4);
    CausalLm simd = fixture.create(Backend.SIMD, 4);
    scalar.decodeWithBf16Weights(true);
    simd.decodeWithBf16Weights(true);
    int[] x = fixture.tokens(6);
    for (int t = 0; t < fixture.shape().context(); t++) {
      float[] want = scalar.decode(x[t]).clone();
      float[] got = simd.decode(x[t]);
      float scale = 0;
      for (float w : want) {
        scale = Math.max(scale, Math.abs(w));
      }
      for (int i = 0; i < want.length; i++) {
        assertTrue(Math.abs(want[i] - got[i]) <= 2e-5 * scale,
            "position " + t + ", logit " + i + ": " + want[i] + " vs " + got[i]);
      }
    }
  }

  @org.junit.jupiter.api.Test
  void roundingIsToNearestEven() {
    assertEquals(1.0f, Bf16.toFloat(Bf16.fromFloat(1.0f)));
    assertEquals(1.0f, Bf16.toFloat(Bf16.fromFloat(Float.intBitsToFloat(0x3F808000)))); // tie: even is 1.0
    assertEquals(Float.intBitsToFloat(0x3F820000), Bf16.toFloat(Bf16.fromFloat(Float.intBitsToFloat(0x3F818000))));
    assertEquals(Float.intBitsToFloat(0x3F810000), Bf16.toFloat(Bf16.fromFloat(Float.intBitsToFloat(0x3F808001))));
    assertTrue(Float.isNaN(Bf16.toFloat(Bf16.fromFloat(Float.NaN))));
    assertEquals(Float.POSITIVE_INFINITY, Bf16.toFloat(Bf16.fromFloat(Float.POSITIVE_INFINITY)));
  }
}
