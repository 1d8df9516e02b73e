package dev.unroll.runtime.simd;

import static dev.unroll.runtime.scalar.KernelTesting.PAD;
import static dev.unroll.runtime.scalar.KernelTesting.assertClose;
import static dev.unroll.runtime.scalar.KernelTesting.random;
import static dev.unroll.runtime.scalar.KernelTesting.zeros;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unroll.runtime.kernel.Kernels;
import dev.unroll.runtime.scalar.ScalarKernels;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The LLAMA-family and decoding kernels of {@link SimdKernels} against {@link ScalarKernels} at sizes awkward for
 * vectors (head sizes below and above a vector, not multiples of it; GQA groups of 1, 2, 3 and 4), and decoding
 * against training attention on both backends. Tolerance as in {@link SimdKernelsTest}: 1e-5 of a tensor's scale.
 */
class SimdLlamaKernelsTest {

  private static final Kernels REF = ScalarKernels.INSTANCE;

  private static final Kernels SIMD = SimdKernels.INSTANCE;

  private static final double TOL = 1e-5;

  /** Sizes: batch, time, query heads, kv heads, head size. */
  record Shape(String name, int B, int T, int NH, int KVH, int hs) {

    int C() {
      return NH * hs;
    }

    int R() {
      return (NH + 2 * KVH) * hs;
    }

    int N() {
      return B * T;
    }

    @Override
    public String toString() {
      return name + " B=" + B + " T=" + T + " NH=" + NH + " KVH=" + KVH + " hs=" + hs;
    }
  }

  static Stream<Shape> shapes() {
    return Stream.of(
        new Shape("groups of 3", 2, 13, 6, 2, 6),
        new Shape("groups of 2", 1, 13, 6, 3, 6),
        new Shape("multi-head", 2, 9, 4, 4, 16),
        new Shape("one kv head, wide heads", 1, 37, 4, 1, 67),
        new Shape("tiny", 3, 2, 2, 1, 1),
        // attention's blocks sized for wide heads: fewer terms per block; then a buffer grown past the panels
        new Shape("heads of 130", 1, 9, 2, 1, 130),
        new Shape("heads of 2100", 1, 9, 1, 1, 2100));
  }


  private static SplittableRandom rnd(Shape s, int salt) {
    return new SplittableRandom(s.hashCode() * 31L + salt);
  }

  @ParameterizedTest
  @MethodSource("shapes")
  void attentionForwardGqa(Shape s) {
    SplittableRandom rnd = rnd(s, 1);
    int att = s.B() * s.NH() * s.T() * s.T();
    float[] qkv = random(rnd, s.N() * s.R(), -2, 2);
    float[][] out = {zeros(s.N() * s.C()), zeros(s.N() * s.C())};
    float[][] preatt = {random(rnd, att, 5, 6), random(rnd, att, 5, 6)};
    float[][] attn = {random(rnd, att, 5, 6), random(rnd, att, 5, 6)};
    Kernels[] ks = {REF, SIMD};
    for (int k = 0; k < 2; k++) {
      ks[k].attentionForwardGqa(out[k], PAD, preatt[k], PAD, attn[k], PAD, qkv, PAD, s.B(), s.T(), s.NH(), s.KVH(),
          s.hs());
    }
    assertClose("out", out[0], out[1], TOL);
    assertClose("preatt", preatt[0], preatt[1], TOL);
    assertClose("att", attn[0], attn[1], TOL);
  }

  @ParameterizedTest
  @MethodSource("shapes")
  void attentionBackwardGqa(Shape s) {
    SplittableRandom rnd = rnd(s, 2);
    int att = s.B() * s.NH() * s.T() * s.T();
    float[] qkv = random(rnd, s.N() * s.R(), -2, 2);
    float[] out = zeros(s.N() * s.C());
    float[] preatt = zeros(att);
    float[] attn = zeros(att);
    REF.attentionForwardGqa(out, PAD, preatt, PAD, attn, PAD, qkv, PAD, s.B(), s.T(), s.NH(), s.KVH(), s.hs());
    float[] dout = random(rnd, s.N() * s.C(), -1, 1);
    float[] dqkv0 = random(rnd, s.N() * s.R(), -1, 1);
    float[][] dqkv = {dqkv0.clone(), dqkv0.clone()};
    float[][] dpre = {zeros(att), zeros(att)};
    float[][] datt = {zeros(att), zeros(att)};
    Kernels[] ks = {REF, SIMD};
    for (int k = 0; k < 2; k++) {
      ks[k].attentionBackwardGqa(dqkv[k], PAD, dpre[k], PAD, datt[k], PAD, dout, PAD, qkv, PAD, attn, PAD, s.B(),
          s.T(), s.NH(), s.KVH(), s.hs());
    }
    assertClose("dqkv", dqkv[0], dqkv[1], TOL);
    assertClose("dpreatt", dpre[0], dpre[1], TOL);
    assertClose("datt", datt[0], datt[1], TOL);
  }

  /** GPT-2's attention is the case KVH = NH with q, k, v of C = NH·hs each: the SIMD GQA kernels must agree. */
  @ParameterizedTest
  @MethodSource("shapes")
  void gqaWithAsManyKvHeadsAsHeadsIsGpt2Attention(Shape g) {
    Shape s = new Shape(g.name(), g.B(), g.T(), g.NH(), g.NH(), g.hs());
    SplittableRandom rnd = rnd(s, 3);
    int att = s.B() * s.NH() * s.T() * s.T();
    float[] qkv = random(rnd, s.N() * 3 * s.C(), -2, 2);
    float[][] out = {zeros(s.N() * s.C()), zeros(s.N() * s.C()), zeros(s.N() * s.C())};
    float[][] preatt = {zeros(att), zeros(att), zeros(att)};
    float[][] attn = {zeros(att), zeros(att), zeros(att)};
    REF.attentionForward(out[0], PAD, preatt[0], PAD, attn[0], PAD, qkv, PAD, s.B(), s.T(), s.C(), s.NH());
    SIMD.attentionForward(out[1], PAD, preatt[1], PAD, attn[1], PAD, qkv, PAD, s.B(), s.T(), s.C(), s.NH());
    SIMD.attentionForwardGqa(out[2], PAD, preatt[2], PAD, attn[2], PAD, qkv, PAD, s.B(), s.T(), s.NH(), s.NH(),
        s.hs());
    for (int k = 1; k < 3; k++) {
      assertClose("out " + k, out[0], out[k], TOL);
      assertClose("att " + k, attn[0], attn[k], TOL);
    }
    float[] dout = random(rnd, s.N() * s.C(), -1, 1);
    float[] dqkv0 = random(rnd, s.N() * 3 * s.C(), -1, 1);
    float[][] dqkv = {dqkv0.clone(), dqkv0.clone(), dqkv0.clone()};
    float[][] dpre = {zeros(att), zeros(att), zeros(att)};
    float[][] datt = {zeros(att), zeros(att), zeros(att)};
    REF.attentionBackward(dqkv[0], PAD, dpre[0], PAD, datt[0], PAD, dout, PAD, qkv, PAD, attn[0], PAD, s.B(), s.T(),
        s.C(), s.NH());
    SIMD.attentionBackward(dqkv[1], PAD, dpre[1], PAD, datt[1], PAD, dout, PAD, qkv, PAD, attn[0], PAD, s.B(), s.T(),
        s.C(), s.NH());
    SIMD.attentionBackwardGqa(dqkv[2], PAD, dpre[2], PAD, datt[2], PAD, dout, PAD, qkv, PAD, attn[0], PAD, s.B(),
        s.T(), s.NH(), s.NH(), s.hs());
    for (int k = 1; k < 3; k++) {
      assertClose("dqkv " + k, dqkv[0], dqkv[k], TOL);
    }
  }

  /**
   * For every position pos, decoding the query of row pos against a cache holding the keys and values of rows
   * 0..pos (the rest NaN, so reading past pos shows) gives training attention's output row, on both backends;
   * the scalar reference gives the very same bits, since both paths run the same loops.
   */
  @ParameterizedTest
  @MethodSource("shapes")
  void decodeEqualsTrainingAttentionAtEveryPosition(Shape s) {
    for (Kernels k : new Kernels[] {REF, SIMD}) {
      SplittableRandom rnd = rnd(s, 4);
      int T = s.T();
      int hs = s.hs();
      int kvDim = s.KVH() * hs;
      int C = s.C();
      float[] qkv = random(rnd, s.N() * s.R(), -2, 2);
      float[] out = zeros(s.N() * C);
      float[] preatt = zeros(s.B() * s.NH() * T * T);
      float[] att = zeros(s.B() * s.NH() * T * T);
      k.attentionForwardGqa(out, PAD, preatt, PAD, att, PAD, qkv, PAD, s.B(), T, s.NH(), s.KVH(), hs);
      for (int b = 0; b < s.B(); b++) {
        float[] kcache = zeros(T * kvDim);
        float[] vcache = zeros(T * kvDim);
        Arrays.fill(kcache, Float.NaN);
        Arrays.fill(vcache, Float.NaN);
        for (int pos = 0; pos < T; pos++) {
          int row = PAD + (b * T + pos) * s.R();
          System.arraycopy(qkv, row + C, kcache, PAD + pos * kvDim, kvDim);
          System.arraycopy(qkv, row + C + kvDim, vcache, PAD + pos * kvDim, kvDim);
          float[] q = zeros(C);
          System.arraycopy(qkv, row, q, PAD, C);
          float[] scratch = zeros(s.NH() * T);
          float[] y = zeros(C);
          k.attentionDecode(y, PAD, scratch, PAD, q, PAD, kcache, PAD, vcache, PAD, pos, T, s.NH(), s.KVH(), hs);
          float[] expected = zeros(C);
          System.arraycopy(out, PAD + (b * T + pos) * C, expected, PAD, C);
          String what = k.getClass().getSimpleName() + " b=" + b + " pos=" + pos;
          assertClose(what, expected, y, TOL);
          for (int h = 0; h < s.NH(); h++) {
            for (int t2 = 0; t2 <= pos; t2++) {
              float a = att[PAD + ((b * s.NH() + h) * T + pos) * T + t2];
              assertEquals(a, scratch[PAD + h * T + t2], 1e-6, what + ": att[" + h + "," + t2 + "]");
            }
          }
          if (k == REF) {
            assertTrue(Arrays.equals(expected, y), what + ": decode and training differ in the last bits");
          }
        }
      }
    }
  }

  @ParameterizedTest
  @MethodSource("shapes")
  void rmsnorm(Shape s) {
    SplittableRandom rnd = rnd(s, 5);
    int N = s.N();
    int C = s.C();
    float[] inp = random(rnd, N * C, -1, 3);
    float[] weight = random(rnd, C, 0.5, 1.5);
    float[][] out = {zeros(N * C), zeros(N * C)};
    float[][] rstd = {zeros(N), zeros(N)};
    Kernels[] ks = {REF, SIMD};
    for (int k = 0; k < 2; k++) {
      ks[k].rmsnormForward(out[k], PAD, rstd[k], PAD, inp, PAD, weight, PAD, N, C);
    }
    assertClose("out", out[0], out[1], TOL);
    assertClose("rstd", rstd[0], rstd[1], TOL);
    float[] dout = random(rnd, N * C, -1, 1);
    float[] dinp0 = random(rnd, N * C, -1, 1);
    float[] dweight0 = random(rnd, C, -1, 1);
    float[][] dinp = {dinp0.clone(), dinp0.clone()};
    float[][] dweight = {dweight0.clone(), dweight0.clone()};
    for (int k = 0; k < 2; k++) {
      ks[k].rmsnormBackward(dinp[k], PAD, dweight[k], PAD, dout, PAD, inp, PAD, weight, PAD, rstd[0], PAD, N, C);
    }
    assertClose("dinp", dinp[0], dinp[1], TOL);
    assertClose("dweight", dweight[0], dweight[1], TOL);
  }

  @ParameterizedTest
  @MethodSource("shapes")
  void rope(Shape s) {
    SplittableRandom rnd = rnd(s, 6);
    float[] x = random(rnd, s.N() * s.R(), -1, 1);
    float[][] y = {x.clone(), x.clone()};
    Kernels[] ks = {REF, SIMD};
    for (int k = 0; k < 2; k++) {
      // q and k of every row, as a training step rotates them
      ks[k].rope(y[k], PAD, s.N(), s.R(), s.C(), s.hs() + s.hs() % 2, s.T(), 0, +1);
      ks[k].rope(y[k], PAD + s.C(), s.N(), s.R(), s.KVH() * s.hs() & ~1, s.hs() + s.hs() % 2, s.T(), 0, +1);
    }
    assertClose("rope", y[0], y[1], 0);
  }

  /**
   * Decoding rotates one row at a time at any position of the context, forwards and back. The SIMD kernel reads its
   * angles from a table made once per head size, so head sizes are interleaved, positions come in any order, and a
   * second, longer context makes the table grow. Same bits as the reference.
   */
  @Test
  void ropeOneRowAtAnyPosition() {
    SplittableRandom rnd = new SplittableRandom(11);
    int[] headSizes = {48, 2, 64, 48, 130};
    for (int round = 0; round < 400; round++) {
      int T = round < 200 ? 300 : 1000;
      int hs = headSizes[round % headSizes.length];
      int width = hs * (1 + rnd.nextInt(3));
      int pos = round % 200 < 5 ? T - 1 : rnd.nextInt(T);
      int sign = rnd.nextBoolean() ? 1 : -1;
      float[] x = random(rnd, width, -1, 1);
      float[] y = x.clone();
      REF.rope(x, PAD, 1, width, width, hs, T, pos, sign);
      SIMD.rope(y, PAD, 1, width, width, hs, T, pos, sign);
      assertClose("rope hs=" + hs + " T=" + T + " pos=" + pos + " sign=" + sign, x, y, 0);
    }
  }

  @ParameterizedTest
  @MethodSource("shapes")
  void swiglu(Shape s) {
    SplittableRandom rnd = rnd(s, 7);
    int N = s.N() * s.C() * 4 + 1;
    float[] gate = random(rnd, N, -8, 8);
    float[] up = random(rnd, N, -2, 2);
    float[][] out = {zeros(N), zeros(N)};
    Kernels[] ks = {REF, SIMD};
    for (int k = 0; k < 2; k++) {
      ks[k].swigluForward(out[k], PAD, gate, PAD, up, PAD, N);
    }
    assertClose("out", out[0], out[1], TOL);
    float[] dout = random(rnd, N, -1, 1);
    float[] dgate0 = random(rnd, N, -1, 1);
    float[] dup0 = random(rnd, N, -1, 1);
    float[][] dgate = {dgate0.clone(), dgate0.clone()};
    float[][] dup = {dup0.clone(), dup0.clone()};
    for (int k = 0; k < 2; k++) {
      ks[k].swigluBackward(dgate[k], PAD, dup[k], PAD, dout, PAD, gate, PAD, up, PAD, N);
    }
    assertClose("dgate", dgate[0], dgate[1], TOL);
    assertClose("dup", dup[0], dup[1], TOL);
  }
}
