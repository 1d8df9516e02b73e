package dev.unroll.processor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unroll.processor.models.ModelFixtures;
import dev.unroll.processor.models.UnrolledStories15MUntied;
import dev.unroll.runtime.Backend;
import dev.unroll.runtime.CausalLm;
import dev.unroll.runtime.DecodeWeights;
import dev.unroll.runtime.number.Bf16;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

/** Decoding with bfloat16 and int8 copies of the weights ({@link DecodeWeights}) against float32 decoding. */
class DecodeWeightsTest {

  /**
   * bfloat16 keeps 8 significant bits, so each weight moves by up to 2^-9 of itself; a logit, a sum of C such
   * products through every layer, moves by a few parts in a thousand of the logits' scale. Every logit within 4e-3
   * of the largest |logit| at its position (measured worst: 0.18% on AWKWARD, 0.30% on LLAMA_AWKWARD, on every
   * backend).
   */
  @ParameterizedTest
  @CsvSource({"AWKWARD, SCALAR", "AWKWARD, SIMD", "AWKWARD, OPENCL", "LLAMA_AWKWARD, SCALAR",
      "LLAMA_AWKWARD, SIMD", "LLAMA_AWKWARD, OPENCL"})
  void bf16DecodingStaysCloseToFloat32(ModelFixtures fixture, Backend backend) {
    OpenClRule.assumeUsable(backend);
    assertCloseToFloat32(fixture, backend, DecodeWeights.BFLOAT16, 4e-3);
  }

  /**
   * int8 rounds each weight to the nearest of 255 steps of its group's scale, max |w| / 127 over 32 weights of a
   * row: an error uniform in half a step, RMS max|w| / 440, about 0.5% of a Gaussian weight's spread (bfloat16's is
   * about 0.1%), and the logits move by about that share of their RMS. Every logit within 1e-2 of the largest
   * |logit| at its position (measured worst: 0.70% on EVEN, 0.36% on LLAMA_EVEN, on both backends).
   */
  @ParameterizedTest
  @CsvSource({"EVEN, SCALAR", "EVEN, SIMD", "LLAMA_EVEN, SCALAR", "LLAMA_EVEN, SIMD"})
  void int8DecodingStaysCloseToFloat32(ModelFixtures fixture, Backend backend) {
    assertCloseToFloat32(fixture, backend, DecodeWeights.INT8, 1e-2);
  }

  /**
   * The README's figures, at stories15M's shape with an untied classifier, the larger of the two it states (seed 1,
   * 256 random tokens; {@link DecodeAccuracy} defines the measure and prints the rest): worst and median logit error
   * measured 2.19% and 1.68% for int8, 0.61% and 0.49% for bfloat16, each held here to within a tenth of itself:
   * a larger error fails, and so does a smaller one (or none, if the copy went unused), since the README would then
   * state a figure that is no longer measured. The fixtures above are too small to show what a shape of real width
   * does: their int8 error is a third of this one.
   */
  @ParameterizedTest
  @CsvSource({"INT8, 2.19e-2, 1.68e-2", "BFLOAT16, 0.61e-2, 0.49e-2"})
  void storiesShapedDecodingKeepsItsMeasuredError(DecodeWeights format, double worst, double median) {
    int[] tokens = DecodeAccuracy.randomTokens(UnrolledStories15MUntied.VOCAB, UnrolledStories15MUntied.CONTEXT, 1);
    CausalLm f32 = UnrolledStories15MUntied.create(Backend.SIMD, 1);
    CausalLm low = UnrolledStories15MUntied.create(Backend.SIMD, 1);
    low.decodeWeights(format);
    DecodeAccuracy.Accuracy measured = DecodeAccuracy.measure(f32, low, UnrolledStories15MUntied.CONTEXT, tokens);
    assertTrue(Math.abs(measured.worst() / worst - 1) <= 0.1 && Math.abs(measured.median() / median - 1) <= 0.1,
        format + ": " + measured + "; the README states worst " + worst + ", median " + median);
  }

  private static void assertCloseToFloat32(ModelFixtures fixture, Backend backend, DecodeWeights format,
      double tolerance) {
    CausalLm f32 = fixture.create(backend, 9);
    CausalLm low = fixture.create(backend, 9);
    low.decodeWeights(format);
    int[] x = fixture.tokens(5);
    double worst = DecodeAccuracy.measure(f32, low, fixture.shape().context(), x).worst();
    assertTrue(worst <= tolerance, format + ": worst relative logit error " + worst);
    assertTrue(worst > 0, format + " weights were not used");
    low.decodeWeights(DecodeWeights.FLOAT32);
    low.reset();
    f32.reset();
    assertEquals(f32.decode(x[0])[3], low.decode(x[0])[3], "back to float32");
  }

  /**
   * The SIMD kernels read the bfloat16 and int8 copies in their own layout (panels of 16 rows); the scalar kernels
   * read them row-major. With the same rounded weights, the products give the same bits (int8) or differ in the
   * order of sums (bfloat16); the other kernels differ as they do in float32. Every logit within the SIMD backend's
   * whole-model tolerance, 2e-5 of the largest |logit| at its position.
   */
  @ParameterizedTest
  @CsvSource({"AWKWARD, BFLOAT16", "LLAMA_AWKWARD, BFLOAT16", "EVEN, INT8", "LLAMA_EVEN, INT8"})
  void simdDecodingMatchesTheScalarKernels(ModelFixtures fixture, DecodeWeights format) {
    CausalLm scalar = fixture.create(Backend.SCALAR, 4);
    CausalLm simd = fixture.create(Backend.SIMD, 4);
    scalar.decodeWeights(format);
    simd.decodeWeights(format);
    int[] x = fixture.tokens(6);
    for (int t = 0; t < fixture.shape().context(); t++) {
      float[] want = scalar.decode(x[t]).clone();
      float[] got = simd.decode(x[t]);
      float scale = largest(want);
      for (int i = 0; i < want.length; i++) {
        assertTrue(Math.abs(want[i] - got[i]) <= 2e-5 * scale,
            "position " + t + ", logit " + i + ": " + want[i] + " vs " + got[i]);
      }
    }
  }

  /** Each format chosen after another decodes as it does in a model that chose only it: nothing is left behind. */
  @ParameterizedTest
  @EnumSource(value = ModelFixtures.class, names = {"EVEN", "LLAMA_EVEN"})
  void switchingFormatsLeavesNothingBehind(ModelFixtures fixture) {
    CausalLm model = fixture.create(Backend.SIMD, 2);
    int[] x = fixture.tokens(3);
    for (DecodeWeights format : new DecodeWeights[] {DecodeWeights.INT8, DecodeWeights.BFLOAT16,
        DecodeWeights.INT8, DecodeWeights.FLOAT32, DecodeWeights.BFLOAT16, DecodeWeights.FLOAT32}) {
      CausalLm fresh = fixture.create(Backend.SIMD, 2);
      fresh.decodeWeights(format);
      model.decodeWeights(format);
      model.reset();
      for (int t = 0; t < 3; t++) {
        WholeModelTest.assertClose(format + " position " + t, fresh.decode(x[t]), model.decode(x[t]), 0f);
      }
    }
  }

  /**
   * int8 needs every matrix width a multiple of 32 (a scale per 32 weights of a row) and a CPU backend: otherwise a
   * clear error, and the model decodes as before.
   */
  @ParameterizedTest
  @CsvSource({"AWKWARD, SIMD", "LLAMA_AWKWARD, SCALAR", "EVEN, OPENCL", "LLAMA_EVEN, OPENCL"})
  void int8IsRefusedWhereItCannotRun(ModelFixtures fixture, Backend backend) {
    OpenClRule.assumeUsable(backend);
    CausalLm model = fixture.create(backend, 1);
    CausalLm f32 = fixture.create(backend, 1);
    model.decodeWeights(DecodeWeights.BFLOAT16);
    model.decodeWeights(DecodeWeights.FLOAT32);
    var e = assertThrows(UnsupportedOperationException.class, () -> model.decodeWeights(DecodeWeights.INT8));
    String expected = backend == Backend.OPENCL
        ? "int8 weights decode on the SCALAR and SIMD backends; OPENCL decodes in FLOAT32 or BFLOAT16"
        : "int8 weights share a scale per 32 weights of a row, so every matrix's input width must be a multiple of"
            + " 32; this shape has dim 48 and hidden width " + (fixture == ModelFixtures.AWKWARD ? 192 : 128);
    assertEquals(expected, e.getMessage());
    int[] x = fixture.tokens(2);
    WholeModelTest.assertClose("still float32", f32.decode(x[0]), model.decode(x[0]), 0f);
    assertThrows(NullPointerException.class, () -> model.decodeWeights(null));
  }

  private static float largest(float[] values) {
    float scale = 0;
    for (float v : values) {
      scale = Math.max(scale, Math.abs(v));
    }
    return scale;
  }

  @Test
  void roundingIsToNearestEven() {
    assertEquals(1.0f, Bf16.toFloat(Bf16.fromFloat(1.0f)));
    assertEquals(1.0f, Bf16.toFloat(Bf16.fromFloat(Float.intBitsToFloat(0x3F808000)))); // tie: even is 1.0
    assertEquals(Float.intBitsToFloat(0x3F820000), Bf16.toFloat(Bf16.fromFloat(Float.intBitsToFloat(0x3F818000))));
    assertEquals(Float.intBitsToFloat(0x3F810000), Bf16.toFloat(Bf16.fromFloat(Float.intBitsToFloat(0x3F808001))));
    assertTrue(Float.isNaN(Bf16.toFloat(Bf16.fromFloat(Float.NaN))));
    assertEquals(Float.POSITIVE_INFINITY, Bf16.toFloat(Bf16.fromFloat(Float.POSITIVE_INFINITY)));
  }
}
