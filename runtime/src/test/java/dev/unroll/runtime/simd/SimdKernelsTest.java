package dev.unroll.runtime.simd;

import static dev.unroll.runtime.scalar.KernelTesting.PAD;
import static dev.unroll.runtime.scalar.KernelTesting.assertClose;
import static dev.unroll.runtime.scalar.KernelTesting.random;
import static dev.unroll.runtime.scalar.KernelTesting.tokens;
import static dev.unroll.runtime.scalar.KernelTesting.zeros;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unroll.runtime.kernel.Kernels;
import dev.unroll.runtime.scalar.KernelTesting;
import dev.unroll.runtime.scalar.ScalarKernels;
import dev.unroll.runtime.thread.WorkerPool;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link SimdKernels} against {@link ScalarKernels}, method by method, on sizes that are awkward for vectors:
 * smaller than a vector, not a multiple of it, odd row counts for the 4-row blocks, several matmul tiles. Gradient
 * buffers start with random values, so accumulation is compared too; every tensor sits at an odd offset between
 * NaN pads (see {@code KernelTesting}).
 */
class SimdKernelsTest {

  private static final Kernels REF = ScalarKernels.INSTANCE;

  private static final Kernels SIMD = SimdKernels.INSTANCE;

  /**
   * max|simd - scalar| / max|scalar| over a tensor. Both compute in float; the vector kernels add in a different
   * order (lanes, then a reduction) and fuse multiply-adds, and use the Vector API's exp/tanh/cosh. Each of those
   * moves a result by a few float ulps (~1e-7 relative) per operation; over sums of at most a few hundred terms of
   * mixed sign that stays below ~1e-6 of the tensor's scale, so 1e-5 leaves a margin of ten without hiding a
   * wrong index or a missed tail, which is off by the size of a whole term.
   */
  private static final double TOL = 1e-5;

  /** Sizes of one comparison: batch B, time T, channels C, heads NH, matmul outputs OC, vocab V padded to Vp. */
  record Shape(String name, int B, int T, int C, int NH, int OC, int V, int Vp) {

    int N() {
      return B * T;
    }

    @Override
    public String toString() {
      return name + " B=" + B + " T=" + T + " C=" + C + " NH=" + NH + " OC=" + OC + " V=" + V + " Vp=" + Vp;
    }
  }

  static Stream<Shape> shapes() {
    return Stream.of(
        new Shape("awkward", 3, 13, 48, 3, 97, 97, 112),
        new Shape("below one vector", 2, 3, 5, 1, 7, 5, 8),
        new Shape("odd widths", 1, 9, 67, 1, 131, 131, 136),
        new Shape("several tiles", 2, 70, 256, 4, 300, 301, 320),
        // past one GEMM block in every direction (256 terms, 128 columns), each with a ragged last block
        new Shape("several blocks", 2, 150, 264, 4, 520, 301, 320),
        // attention's GEMMs past one block of keys (128) and of terms (256), heads of 32
        new Shape("long context", 1, 300, 64, 2, 70, 65, 72));
  }

  private static SplittableRandom rnd(Shape s, int salt) {
    return new SplittableRandom(s.hashCode() * 31L + salt);
  }

  @ParameterizedTest
  @MethodSource("shapes")
  void encoderForward(Shape s) {
    SplittableRandom rnd = rnd(s, 1);
    int[] inp = tokens(rnd, s.N(), s.V());
    float[] wte = random(rnd, s.V() * s.C(), -1, 1);
    float[] wpe = random(rnd, s.T() * s.C(), -1, 1);
    float[] expected = zeros(s.N() * s.C());
    float[] actual = zeros(s.N() * s.C());
    REF.encoderForward(expected, PAD, inp, wte, PAD, wpe, PAD, s.B(), s.T(), s.C());
    SIMD.encoderForward(actual, PAD, inp, wte, PAD, wpe, PAD, s.B(), s.T(), s.C());
    assertClose("out", expected, actual, TOL);
  }

  @ParameterizedTest
  @MethodSource("shapes")
  void encoderBackward(Shape s) {
    SplittableRandom rnd = rnd(s, 2);
    int[] inp = tokens(rnd, s.N(), s.V());
    float[] dout = random(rnd, s.N() * s.C(), -1, 1);
    float[] dwte = random(rnd, s.V() * s.C(), -1, 1);
    float[] dwpe = random(rnd, s.T() * s.C(), -1, 1);
    float[] dwte2 = dwte.clone();
    float[] dwpe2 = dwpe.clone();
    REF.encoderBackward(dwte, PAD, dwpe, PAD, dout, PAD, inp, s.B(), s.T(), s.C());
    SIMD.encoderBackward(dwte2, PAD, dwpe2, PAD, dout, PAD, inp, s.B(), s.T(), s.C());
    assertClose("dwte", dwte, dwte2, TOL);
    assertClose("dwpe", dwpe, dwpe2, TOL);
  }

  @ParameterizedTest
  @MethodSource("shapes")
  void layernormForward(Shape s) {
    SplittableRandom rnd = rnd(s, 3);
    int N = s.N();
    int C = s.C();
    float[] inp = random(rnd, N * C, -1, 3);
    float[] weight = random(rnd, C, 0.5, 1.5);
    float[] bias = random(rnd, C, -1, 1);
    float[][] out = {zeros(N * C), zeros(N * C)};
    float[][] mean = {zeros(N), zeros(N)};
    float[][] rstd = {zeros(N), zeros(N)};
    Kernels[] ks = {REF, SIMD};
    for (int k = 0; k < 2; k++) {
      ks[k].layernormForward(out[k], PAD, mean[k], PAD, rstd[k], PAD, inp, PAD, weight, PAD, bias, PAD, N, C, 1e-5f);
    }
    assertClose("out", out[0], out[1], TOL);
    assertClose("mean", mean[0], mean[1], TOL);
    assertClose("rstd", rstd[0], rstd[1], TOL);
  }

  @ParameterizedTest
  @MethodSource("shapes")
  void layernormBackward(Shape s) {
    SplittableRandom rnd = rnd(s, 4);
    int N = s.N();
    int C = s.C();
    float[] inp = random(rnd, N * C, -1, 3);
    float[] weight = random(rnd, C, 0.5, 1.5);
    float[] bias = random(rnd, C, -1, 1);
    float[] out = zeros(N * C);
    float[] mean = zeros(N);
    float[] rstd = zeros(N);
    REF.layernormForward(out, PAD, mean, PAD, rstd, PAD, inp, PAD, weight, PAD, bias, PAD, N, C, 1e-5f);
    float[] dout = random(rnd, N * C, -1, 1);
    float[][] dinp = {random(rnd, N * C, -1, 1), null};
    float[][] dweight = {random(rnd, C, -1, 1), null};
    float[][] dbias = {random(rnd, C, -1, 1), null};
    dinp[1] = dinp[0].clone();
    dweight[1] = dweight[0].clone();
    dbias[1] = dbias[0].clone();
    Kernels[] ks = {REF, SIMD};
    for (int k = 0; k < 2; k++) {
      ks[k].layernormBackward(dinp[k], PAD, dweight[k], PAD, dbias[k], PAD, dout, PAD, inp, PAD, weight, PAD, mean,
          PAD, rstd, PAD, N, C);
    }
    assertClose("dinp", dinp[0], dinp[1], TOL);
    assertClose("dweight", dweight[0], dweight[1], TOL);
    assertClose("dbias", dbias[0], dbias[1], TOL);
  }

  @ParameterizedTest
  @MethodSource("shapes")
  void matmulForwardWithBias(Shape s) {
    matmulForward(s, true);
  }

  @ParameterizedTest
  @MethodSource("shapes")
  void matmulForwardWithoutBias(Shape s) {
    matmulForward(s, false);
  }

  private static void matmulForward(Shape s, boolean withBias) {
    SplittableRandom rnd = rnd(s, withBias ? 5 : 6);
    int N = s.N();
    int C = s.C();
    int OC = s.OC();
    float[] inp = random(rnd, N * C, -1, 1);
    float[] weight = random(rnd, OC * C, -1, 1);
    float[] bias = withBias ? random(rnd, OC, -1, 1) : null;
    float[] expected = zeros(N * OC);
    float[] actual = zeros(N * OC);
    REF.matmulForward(expected, PAD, inp, PAD, weight, PAD, bias, PAD, N, C, OC);
    SIMD.matmulForward(actual, PAD, inp, PAD, weight, PAD, bias, PAD, N, C, OC);
    assertClose("out", expected, actual, TOL);
  }

  /**
   * Fewer than four rows (decoding has one): the matrix-vector path, which reads four weight rows from the four
   * quarters of the output range at a time and the leftover rows one by one, with and without vector tails.
   */
  @ParameterizedTest
  @CsvSource({"1, 5, 3", "1, 67, 131", "2, 48, 97", "3, 516, 301", "1, 16, 4", "1, 288, 768"})
  void matrixVectorProducts(int n, int c, int oc) {
    SplittableRandom rnd = new SplittableRandom(n * 7919 + c * 31 + oc);
    float[] inp = random(rnd, n * c, -1, 1);
    float[] weight = random(rnd, oc * c, -1, 1);
    for (float[] bias : new float[][] {random(rnd, oc, -1, 1), null}) {
      float[] expected = zeros(n * oc);
      float[] actual = zeros(n * oc);
      REF.matmulForward(expected, PAD, inp, PAD, weight, PAD, bias, PAD, n, c, oc);
      SIMD.matmulForward(actual, PAD, inp, PAD, weight, PAD, bias, PAD, n, c, oc);
      assertClose("out", expected, actual, TOL);
    }
  }

  @ParameterizedTest
  @MethodSource("shapes")
  void matmulBackwardWithBias(Shape s) {
    matmulBackward(s, true);
  }

  @ParameterizedTest
  @MethodSource("shapes")
  void matmulBackwardWithoutBias(Shape s) {
    matmulBackward(s, false);
  }

  /**
   * A weight gradient on one thread, so that one share holds more output channels than the SIMD GEMM copies of
   * dout's transpose at a time (768), and more rows than one block of terms (256).
   */
  @Test
  void weightGradientPastOneBlockOfTransposedRows() {
    int threads = WorkerPool.threads();
    WorkerPool.setThreads(1);
    try {
      matmulBackward(new Shape("many outputs", 1, 300, 24, 2, 1700, 65, 72), true);
    } finally {
      WorkerPool.setThreads(threads);
    }
  }

  private static void matmulBackward(Shape s, boolean withBias) {
    SplittableRandom rnd = rnd(s, withBias ? 7 : 8);
    int N = s.N();
    int C = s.C();
    int OC = s.OC();
    float[] inp = random(rnd, N * C, -1, 1);
    float[] weight = random(rnd, OC * C, -1, 1);
    float[] dout = random(rnd, N * OC, -1, 1);
    float[][] dinp = {random(rnd, N * C, -1, 1), null};
    float[][] dweight = {random(rnd, OC * C, -1, 1), null};
    float[][] dbias = {withBias ? random(rnd, OC, -1, 1) : null, null};
    dinp[1] = dinp[0].clone();
    dweight[1] = dweight[0].clone();
    dbias[1] = withBias ? dbias[0].clone() : null;
    Kernels[] ks = {REF, SIMD};
    for (int k = 0; k < 2; k++) {
      ks[k].matmulBackward(dinp[k], PAD, dweight[k], PAD, dbias[k], PAD, dout, PAD, inp, PAD, weight, PAD, N, C, OC);
    }
    assertClose("dinp", dinp[0], dinp[1], TOL);
    assertClose("dweight", dweight[0], dweight[1], TOL);
    if (withBias) {
      assertClose("dbias", dbias[0], dbias[1], TOL);
    }
  }

  @ParameterizedTest
  @MethodSource("shapes")
  void attentionForward(Shape s) {
    SplittableRandom rnd = rnd(s, 9);
    int B = s.B();
    int T = s.T();
    int C = s.C();
    int NH = s.NH();
    float[] qkv = random(rnd, B * T * 3 * C, -1.5, 1.5);
    float[][] out = {zeros(B * T * C), zeros(B * T * C)};
    // garbage in the caches: what lies above the diagonal must come out 0 from both
    float[][] preatt = {random(rnd, B * NH * T * T, 5, 6), null};
    float[][] att = {random(rnd, B * NH * T * T, 5, 6), null};
    preatt[1] = preatt[0].clone();
    att[1] = att[0].clone();
    Kernels[] ks = {REF, SIMD};
    for (int k = 0; k < 2; k++) {
      ks[k].attentionForward(out[k], PAD, preatt[k], PAD, att[k], PAD, qkv, PAD, B, T, C, NH);
    }
    assertClose("out", out[0], out[1], TOL);
    assertClose("preatt", preatt[0], preatt[1], TOL);
    assertClose("att", att[0], att[1], TOL);
  }

  @ParameterizedTest
  @MethodSource("shapes")
  void attentionBackward(Shape s) {
    SplittableRandom rnd = rnd(s, 10);
    int B = s.B();
    int T = s.T();
    int C = s.C();
    int NH = s.NH();
    float[] qkv = random(rnd, B * T * 3 * C, -1.5, 1.5);
    float[] out = zeros(B * T * C);
    float[] preatt = zeros(B * NH * T * T);
    float[] att = zeros(B * NH * T * T);
    REF.attentionForward(out, PAD, preatt, PAD, att, PAD, qkv, PAD, B, T, C, NH);
    float[] dout = random(rnd, B * T * C, -1, 1);
    float[][] dqkv = {random(rnd, B * T * 3 * C, -1, 1), null};
    dqkv[1] = dqkv[0].clone();
    float[][] dpreatt = {zeros(B * NH * T * T), zeros(B * NH * T * T)};
    float[][] datt = {zeros(B * NH * T * T), zeros(B * NH * T * T)};
    Kernels[] ks = {REF, SIMD};
    for (int k = 0; k < 2; k++) {
      ks[k].attentionBackward(dqkv[k], PAD, dpreatt[k], PAD, datt[k], PAD, dout, PAD, qkv, PAD, att, PAD, B, T, C,
          NH);
    }
    assertClose("dqkv", dqkv[0], dqkv[1], TOL);
    assertClose("datt", datt[0], datt[1], TOL);
    assertClose("dpreatt", dpreatt[0], dpreatt[1], TOL);
  }

  @ParameterizedTest
  @MethodSource("shapes")
  void gelu(Shape s) {
    activation(rnd(s, 11), s.N() * s.C(), Kernels::geluForward, Kernels::geluBackward);
  }

  /** An element-wise forward kernel of {@code k}, out = f(inp) (a GELU's). */
  interface Forward {
    void run(Kernels k, float[] out, int outOff, float[] inp, int inpOff, int N);
  }

  /** Its backward from the forward's input: dinp += f'(inp)·dout. */
  interface Backward {
    void run(Kernels k, float[] dinp, int dinpOff, float[] inp, int inpOff, float[] dout, int doutOff, int N);
  }

  /** An activation's forward and backward, SIMD against the reference, on N inputs in [-6, 6). */
  private static void activation(SplittableRandom rnd, int N, Forward forward, Backward backward) {
    float[] inp = random(rnd, N, -6, 6);
    float[] expected = zeros(N);
    float[] actual = zeros(N);
    forward.run(REF, expected, PAD, inp, PAD, N);
    forward.run(SIMD, actual, PAD, inp, PAD, N);
    assertClose("out", expected, actual, TOL);
    float[] dout = random(rnd, N, -1, 1);
    float[] dinp = random(rnd, N, -1, 1);
    float[] dinp2 = dinp.clone();
    backward.run(REF, dinp, PAD, inp, PAD, dout, PAD, N);
    backward.run(SIMD, dinp2, PAD, inp, PAD, dout, PAD, N);
    assertClose("dinp", dinp, dinp2, TOL);
  }

  /** Rows of lengths from T down to 1, evenly: {13, 7, 1} for the awkward shape; every row full when B = 1. */
  private static int[] lengths(int B, int T) {
    int[] lengths = new int[B];
    for (int b = 0; b < B; b++) {
      lengths[b] = T - b * (T - 1) / Math.max(1, B - 1);
    }
    return lengths;
  }

  @ParameterizedTest
  @MethodSource("shapes")
  void attentionBidirectional(Shape s) {
    attentionBidirectional(rnd(s, 14), s.B(), s.T(), s.C(), s.NH(), lengths(s.B(), s.T()));
  }

  /** Past one block of keys (128) and of terms (256) with ragged valid squares. */
  @Test
  void attentionBidirectionalPastOneBlock() {
    attentionBidirectional(new SplittableRandom(15), 2, 300, 64, 2, new int[] {290, 139});
  }

  private static void attentionBidirectional(SplittableRandom rnd, int B, int T, int C, int NH, int[] lengths) {
    float[] qkv = random(rnd, B * T * 3 * C, -1.5, 1.5);
    // garbage in every output: the masked and padded entries must come out 0 from both
    float[][] out = {random(rnd, B * T * C, 5, 6), null};
    float[][] preatt = {random(rnd, B * NH * T * T, 5, 6), null};
    float[][] att = {random(rnd, B * NH * T * T, 5, 6), null};
    out[1] = out[0].clone();
    preatt[1] = preatt[0].clone();
    att[1] = att[0].clone();
    Kernels[] ks = {REF, SIMD};
    for (int k = 0; k < 2; k++) {
      ks[k].attentionForwardBidirectional(out[k], PAD, preatt[k], PAD, att[k], PAD, qkv, PAD, lengths, B, T, C, NH);
    }
    assertClose("out", out[0], out[1], TOL);
    assertClose("preatt", preatt[0], preatt[1], TOL);
    assertClose("att", att[0], att[1], TOL);

    float[] dout = random(rnd, B * T * C, -1, 1);
    float[][] dqkv = {random(rnd, B * T * 3 * C, -1, 1), null};
    dqkv[1] = dqkv[0].clone();
    float[][] dpreatt = {zeros(B * NH * T * T), zeros(B * NH * T * T)};
    float[][] datt = {zeros(B * NH * T * T), zeros(B * NH * T * T)};
    for (int k = 0; k < 2; k++) {
      ks[k].attentionBackwardBidirectional(dqkv[k], PAD, dpreatt[k], PAD, datt[k], PAD, dout, PAD, qkv, PAD, att[0],
          PAD, lengths, B, T, C, NH);
    }
    assertClose("dqkv", dqkv[0], dqkv[1], TOL);
    assertClose("datt", datt[0], datt[1], TOL);
    assertClose("dpreatt", dpreatt[0], dpreatt[1], TOL);
  }

  @Test
  void attentionBidirectionalIgnoresPadding() {
    KernelTesting.assertAttentionPaddingIgnored(SIMD);
  }

  @ParameterizedTest
  @MethodSource("shapes")
  void geluErf(Shape s) {
    activation(rnd(s, 16), s.N() * s.C(), Kernels::geluErfForward, Kernels::geluErfBackward);
  }

  @ParameterizedTest
  @MethodSource("shapes")
  void tanh(Shape s) {
    SplittableRandom rnd = rnd(s, 17);
    int N = s.B() * s.C(); // the pooler's shape: a row per sequence
    float[] inp = random(rnd, N, -4, 4);
    float[] expected = zeros(N);
    float[] actual = zeros(N);
    REF.tanhForward(expected, PAD, inp, PAD, N);
    SIMD.tanhForward(actual, PAD, inp, PAD, N);
    assertClose("out", expected, actual, TOL);
    float[] dout = random(rnd, N, -1, 1);
    float[] dinp = random(rnd, N, -1, 1);
    float[] dinp2 = dinp.clone();
    REF.tanhBackward(dinp, PAD, expected, PAD, dout, PAD, N);
    SIMD.tanhBackward(dinp2, PAD, expected, PAD, dout, PAD, N);
    assertClose("dinp", dinp, dinp2, TOL);
  }

  /** ViT's awkward grid (3 channels of 10 by 6 in 2 by 3 patches) and ViT-Tiny's (224 by 224 in 16 by 16). */
  @ParameterizedTest
  @CsvSource({"2, 3, 10, 6, 2, 3", "1, 3, 224, 224, 16, 16", "3, 1, 8, 8, 8, 8"})
  void patchesAndClassToken(int B, int CH, int H, int W, int PH, int PW) {
    SplittableRandom rnd = new SplittableRandom(18L * H + W);
    int np = (H / PH) * (W / PW);
    int k = CH * PH * PW;
    float[] pixels = random(rnd, B * CH * H * W, -1, 1);
    float[][] pt = {random(rnd, B * np * k, 5, 6), null};
    pt[1] = pt[0].clone();
    REF.patches(pt[0], PAD, pixels, PAD, B, CH, H, W, PH, PW);
    SIMD.patches(pt[1], PAD, pixels, PAD, B, CH, H, W, PH, PW);
    assertClose("patches", pt[0], pt[1], 0);

    int c = 48;
    float[] proj = random(rnd, B * np * c, -1, 1);
    float[] cls = random(rnd, c, -1, 1);
    float[] pos = random(rnd, (np + 1) * c, -1, 1);
    float[][] out = {random(rnd, B * (np + 1) * c, 5, 6), null};
    out[1] = out[0].clone();
    REF.classTokenForward(out[0], PAD, proj, PAD, cls, PAD, pos, PAD, B, np, c);
    SIMD.classTokenForward(out[1], PAD, proj, PAD, cls, PAD, pos, PAD, B, np, c);
    assertClose("class token out", out[0], out[1], 0);

    float[] dout = random(rnd, B * (np + 1) * c, -1, 1);
    float[][] dproj = {random(rnd, B * np * c, -1, 1), null};
    float[][] dcls = {random(rnd, c, -1, 1), null};
    float[][] dpos = {random(rnd, (np + 1) * c, -1, 1), null};
    dproj[1] = dproj[0].clone();
    dcls[1] = dcls[0].clone();
    dpos[1] = dpos[0].clone();
    Kernels[] ks = {REF, SIMD};
    for (int i = 0; i < 2; i++) {
      ks[i].classTokenBackward(dproj[i], PAD, dcls[i], PAD, dpos[i], PAD, dout, PAD, B, np, c);
    }
    // the same sums in the same order: the same bits
    assertClose("dpatches", dproj[0], dproj[1], 0);
    assertClose("dcls", dcls[0], dcls[1], 0);
    assertClose("dpos", dpos[0], dpos[1], 0);
  }

  @ParameterizedTest
  @MethodSource("shapes")
  void residual(Shape s) {
    SplittableRandom rnd = rnd(s, 12);
    int N = s.N() * s.C();
    float[] a = random(rnd, N, -1, 1);
    float[] b = random(rnd, N, -1, 1);
    float[] expected = zeros(N);
    float[] actual = zeros(N);
    REF.residualForward(expected, PAD, a, PAD, b, PAD, N);
    SIMD.residualForward(actual, PAD, a, PAD, b, PAD, N);
    assertClose("out", expected, actual, TOL);
    float[] dout = random(rnd, N, -1, 1);
    float[] d1 = random(rnd, N, -1, 1);
    float[] d2 = random(rnd, N, -1, 1);
    float[] d1b = d1.clone();
    float[] d2b = d2.clone();
    REF.residualBackward(d1, PAD, d2, PAD, dout, PAD, N);
    SIMD.residualBackward(d1b, PAD, d2b, PAD, dout, PAD, N);
    assertClose("dinp1", d1, d1b, TOL);
    assertClose("dinp2", d2, d2b, TOL);
  }

  @ParameterizedTest
  @MethodSource("shapes")
  void softmaxAndCrossEntropy(Shape s) {
    SplittableRandom rnd = rnd(s, 13);
    int N = s.N();
    int V = s.V();
    int Vp = s.Vp();
    float[] logits = random(rnd, N * Vp, -5, 5);
    int[] targets = tokens(rnd, N, V);
    float[][] probs = {random(rnd, N * Vp, 5, 6), null};
    probs[1] = probs[0].clone();
    REF.softmaxForward(probs[0], PAD, logits, PAD, N, V, Vp);
    SIMD.softmaxForward(probs[1], PAD, logits, PAD, N, V, Vp);
    assertClose("probs", probs[0], probs[1], TOL);

    // the loss and its gradient from the same probabilities, so that each compares one kernel
    float[] p = probs[0];
    float[][] losses = {zeros(N), zeros(N)};
    float mean0 = REF.crossEntropyForward(losses[0], PAD, p, PAD, targets, N, Vp);
    float mean1 = SIMD.crossEntropyForward(losses[1], PAD, p, PAD, targets, N, Vp);
    assertClose("losses", losses[0], losses[1], TOL);
    assertTrue(Math.abs(mean0 - mean1) <= TOL * Math.abs(mean0), "mean loss " + mean0 + " vs " + mean1);

    // the gradient is (p - [target])/N, so start from values of that size: larger ones would set the scale of
    // the comparison and hide errors in what the kernels add
    float[][] dlogits = {random(rnd, N * Vp, -1.0 / N, 1.0 / N), null};
    dlogits[1] = dlogits[0].clone();
    REF.crossEntropySoftmaxBackward(dlogits[0], PAD, p, PAD, targets, N, V, Vp);
    SIMD.crossEntropySoftmaxBackward(dlogits[1], PAD, p, PAD, targets, N, V, Vp);
    assertClose("dlogits", dlogits[0], dlogits[1], TOL);
  }

  @Test
  void zero() {
    float[] a = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20};
    SIMD.zero(a, 1, 18);
    assertTrue(a[0] == 1 && a[19] == 20);
    for (int i = 1; i < 19; i++) {
      assertTrue(a[i] == 0, "a[" + i + "]");
    }
  }
}
