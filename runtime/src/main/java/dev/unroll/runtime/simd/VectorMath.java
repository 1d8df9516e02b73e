package dev.unroll.runtime.simd;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * exp, tanh and erf built from additions, multiplications and fused multiply-adds only, in a vector form and a
 * scalar twin that computes every lane bit for bit the same way.
 *
 * <p>Why not {@code VectorOperators.EXP}: its result depends on how the code runs. Interpreted, the Vector API
 * falls back to {@code Math.exp} per lane; compiled by C2, it calls a vector math library. The two differ in the
 * last bit, so the same step could give different losses before and after warm-up, breaking determinism. Plain
 * IEEE arithmetic is the same in every tier. Accuracy: within 2 ulp of the correctly rounded result for exp on
 * [-87, 88]; tanh within about 1e-7 absolute; erf within 1.2e-7 absolute (measured by {@code VectorMathTest} over
 * [-10, 10]).
 */
final class VectorMath {
  private VectorMath() {}

  private static final float LOG2E = 1.44269504088896341f;
  private static final float LN2_HI = 0.693359375f;
  private static final float LN2_LO = -2.12194440e-4f;
  /** 1.5·2^23: adding then subtracting it rounds a float of magnitude below 2^22 to the nearest integer. */
  private static final float ROUNDER = 12582912f;
  private static final float EXP_MIN = -87.3f;
  private static final float EXP_MAX = 88.3f;
  /** Taylor coefficients 1/k! for k = 7 down to 2. */
  private static final float C7 = 1.9841270e-4f;
  private static final float C6 = 1.3888889e-3f;
  private static final float C5 = 8.3333333e-3f;
  private static final float C4 = 4.1666668e-2f;
  private static final float C3 = 1.6666667e-1f;
  private static final float C2 = 0.5f;
  /** Beyond this |x|, tanh(x) rounds to ±1 in float. */
  private static final float TANH_CLAMP = 9f;

  /*
   * erf: below ERF_SPLIT, erf(a) = a·P(a²); from there to ERF_END, erf(a) = 1 - e^(-a² + R(t)) with
   * t = (a - ERF_MID)·ERF_SCALE in [-1, 1], R(t) approximating ln(erfc(a)) + a²; past ERF_END erfc(a) < 1.6e-8 and
   * the result rounds to 1. P and R are least-squares fits on Chebyshev nodes, weighted to erf's absolute error,
   * made for this kernel against a multi-precision erf: in double their error is below 6e-9 (P) and 2e-9 (R), the
   * rest of the float result's error is rounding. R is fitted with -a² taken out (a fused multiply-add puts it
   * back, rounded once), so that no large terms cancel in its sum.
   */
  private static final float ERF_SPLIT = 0.9f;
  private static final float ERF_END = 4f;
  private static final float ERF_MID = (ERF_SPLIT + ERF_END) / 2;
  private static final float ERF_SCALE = 2 / (ERF_END - ERF_SPLIT);
  /** P's coefficients of u⁰ .. u⁵, u = a². */
  private static final float P0 = 1.1283791074823615f;
  private static final float P1 = -0.37612405545115335f;
  private static final float P2 = 0.11281321552627627f;
  private static final float P3 = -0.02675577405094874f;
  private static final float P4 = 0.004983434060507316f;
  private static final float P5 = -0.0005962508960222213f;
  /** R's coefficients of t⁰ .. t⁶. */
  private static final float R0 = -1.5390426187895816f;
  private static final float R1 = -0.555500059344336f;
  private static final float R2 = 0.13883858904405852f;
  private static final float R3 = -0.04141569349294899f;
  private static final float R4 = 0.015101138324719265f;
  private static final float R5 = -0.0013365551316877333f;
  private static final float R6 = 0.0027533298268109796f;

  private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
  private static final VectorShuffle<Float> SWAP8 = swap(8);
  private static final VectorShuffle<Float> SWAP4 = swap(4);
  private static final VectorShuffle<Float> SWAP2 = swap(2);
  private static final VectorShuffle<Float> SWAP1 = swap(1);

  /** Lane i takes lane i ^ d (identity where d is not below the vector length). */
  private static VectorShuffle<Float> swap(int d) {
    return VectorShuffle.fromOp(S, i -> d < S.length() ? i ^ d : i);
  }

  /**
   * The sum of lanes[0..L), a vector of the preferred species stored, in a fixed tree: lane i plus lane i ^ (L/2),
   * then i ^ (L/4), ... (for 8 lanes: ((x0+x4)+(x2+x6))+((x1+x5)+(x3+x7))), the tree that the kernels write out with
   * lane permutations where they reduce in registers. Not {@code reduceLanes(ADD)}: compiled by C2 it adds in this
   * tree, but interpreted it adds lane by lane, so a kernel gave different bits before and after warm-up; lanewise
   * adds and permutes are the same in every tier. The kernels write this tree out in registers with lane permutations
   * ({@link Vectors#SWAP_HALF} and the rest): a vector passed to a call that C2 does not inline is allocated
   * (see {@link Vectors}' class comment). This is the tree stated once, over a stored vector, for the tests.
   */
  static float sum(float[] lanes) {
    FloatVector v = FloatVector.fromArray(S, lanes, 0);
    if (S.length() > 8) {
      v = v.add(v.rearrange(SWAP8));
    }
    if (S.length() > 4) {
      v = v.add(v.rearrange(SWAP4));
    }
    if (S.length() > 2) {
      v = v.add(v.rearrange(SWAP2));
    }
    if (S.length() > 1) {
      v = v.add(v.rearrange(SWAP1));
    }
    return v.lane(0);
  }


  /*
   * The constants of exp and tanh, broadcast once: the same lanes as broadcasting them in each call, but a Vector API
   * call with a scalar operand makes C2 parse a broadcast too, and exp took 10,400 of the 18,000 nodes C2 parses
   * into one compilation before it defers the rest (see Vectors' class comment); with these, 8,000.
   */
  private static final FloatVector V_EXP_MIN = FloatVector.broadcast(S, EXP_MIN);
  private static final FloatVector V_EXP_MAX = FloatVector.broadcast(S, EXP_MAX);
  private static final FloatVector V_LOG2E = FloatVector.broadcast(S, LOG2E);
  private static final FloatVector V_ROUNDER = FloatVector.broadcast(S, ROUNDER);
  private static final FloatVector V_NEG_LN2_HI = FloatVector.broadcast(S, -LN2_HI);
  private static final FloatVector V_NEG_LN2_LO = FloatVector.broadcast(S, -LN2_LO);
  private static final FloatVector V_ZERO = FloatVector.zero(S);
  private static final FloatVector V_ONE = FloatVector.broadcast(S, 1f);
  private static final FloatVector V_TWO = FloatVector.broadcast(S, 2f);
  private static final FloatVector V_C7 = FloatVector.broadcast(S, C7);
  private static final FloatVector V_C6 = FloatVector.broadcast(S, C6);
  private static final FloatVector V_C5 = FloatVector.broadcast(S, C5);
  private static final FloatVector V_C4 = FloatVector.broadcast(S, C4);
  private static final FloatVector V_C3 = FloatVector.broadcast(S, C3);
  private static final FloatVector V_C2 = FloatVector.broadcast(S, C2);
  private static final FloatVector V_TANH_CLAMP = FloatVector.broadcast(S, TANH_CLAMP);
  private static final IntVector V_BIAS = IntVector.broadcast(S.withLanes(int.class), 127);
  private static final FloatVector V_ERF_SPLIT = FloatVector.broadcast(S, ERF_SPLIT);
  private static final FloatVector V_ERF_END = FloatVector.broadcast(S, ERF_END);
  private static final FloatVector V_ERF_MID = FloatVector.broadcast(S, ERF_MID);
  private static final FloatVector V_ERF_SCALE = FloatVector.broadcast(S, ERF_SCALE);
  private static final FloatVector V_P0 = FloatVector.broadcast(S, P0);
  private static final FloatVector V_P1 = FloatVector.broadcast(S, P1);
  private static final FloatVector V_P2 = FloatVector.broadcast(S, P2);
  private static final FloatVector V_P3 = FloatVector.broadcast(S, P3);
  private static final FloatVector V_P4 = FloatVector.broadcast(S, P4);
  private static final FloatVector V_P5 = FloatVector.broadcast(S, P5);
  private static final FloatVector V_R0 = FloatVector.broadcast(S, R0);
  private static final FloatVector V_R1 = FloatVector.broadcast(S, R1);
  private static final FloatVector V_R2 = FloatVector.broadcast(S, R2);
  private static final FloatVector V_R3 = FloatVector.broadcast(S, R3);
  private static final FloatVector V_R4 = FloatVector.broadcast(S, R4);
  private static final FloatVector V_R5 = FloatVector.broadcast(S, R5);
  private static final FloatVector V_R6 = FloatVector.broadcast(S, R6);

  /**
   * a[off + i] = e^(a[off + i]) for i &lt; n, in place: whole vectors of the preferred species, then the rest one by
   * one with the scalar twin, which gives the same bits. Arrays in and out, so that no vector leaves the method: a
   * vector passed to a call C2 does not inline is allocated, and whether C2 inlines a method this size depends on
   * the profile it compiles with (see {@link Vectors}' class comment).
   */
  static void exp(float[] a, int off, int n) {
    int bound = S.loopBound(n);
    int i = 0;
    for (; i < bound; i += S.length()) {
      FloatVector x = FloatVector.fromArray(S, a, off + i);
      // the clamp as compares and blends: the same lanes as max then min (NaN stays NaN, and the bounds are far
      // from ±0), but Java's max and min are emulated on x86 for NaN and signed zeros, and cost three times as much
      FloatVector c = x.blend(V_EXP_MIN, x.lt(V_EXP_MIN));
      c = c.blend(V_EXP_MAX, V_EXP_MAX.lt(c));
      FloatVector k = c.fma(V_LOG2E, V_ROUNDER).sub(V_ROUNDER);
      FloatVector r = k.fma(V_NEG_LN2_HI, V_ZERO).add(c); // k·(-LN2_HI) is exact: LN2_HI has 10 significant bits
      r = k.fma(V_NEG_LN2_LO, r);
      FloatVector p = r.fma(V_C7, V_C6);
      p = p.fma(r, V_C5);
      p = p.fma(r, V_C4);
      p = p.fma(r, V_C3);
      p = p.fma(r, V_C2);
      p = p.fma(r, V_ONE);
      p = p.fma(r, V_ONE);
      IntVector bits = ((IntVector) k.convert(VectorOperators.F2I, 0)).add(V_BIAS).lanewise(VectorOperators.LSHL, 23);
      p.mul(bits.reinterpretAsFloats()).intoArray(a, off + i);
    }
    for (; i < n; i++) {
      a[off + i] = exp(a[off + i]);
    }
  }

  /** e^x, the scalar twin of {@link #exp(float[], int, int)}. */
  static float exp(float x) {
    float c = Math.min(Math.max(x, EXP_MIN), EXP_MAX);
    float k = Math.fma(c, LOG2E, ROUNDER) - ROUNDER;
    float r = k * -LN2_HI + c;
    r = Math.fma(k, -LN2_LO, r);
    float p = Math.fma(r, C7, C6);
    p = Math.fma(p, r, C5);
    p = Math.fma(p, r, C4);
    p = Math.fma(p, r, C3);
    p = Math.fma(p, r, C2);
    p = Math.fma(p, r, 1f);
    p = Math.fma(p, r, 1f);
    return p * Float.intBitsToFloat(((int) k + 127) << 23);
  }

  /**
   * a[off + i] = tanh(a[off + i]) for i &lt; n, in place, as sign(x)·(1 - 2 / (e^(2|x|) + 1)); tmp[tmpOff..+n) is
   * scratch. Whole vectors, then the rest with the scalar twin: the same bits.
   */
  static void tanh(float[] a, int off, float[] tmp, int tmpOff, int n) {
    int bound = S.loopBound(n);
    for (int i = 0; i < bound; i += S.length()) {
      FloatVector x = FloatVector.fromArray(S, a, off + i).abs();
      x = x.blend(V_TANH_CLAMP, V_TANH_CLAMP.lt(x)); // min(|x|, clamp), as in exp
      x.add(x).intoArray(tmp, tmpOff + i);
    }
    exp(tmp, tmpOff, bound);
    int i = 0;
    for (; i < bound; i += S.length()) {
      FloatVector x = FloatVector.fromArray(S, a, off + i);
      FloatVector e = FloatVector.fromArray(S, tmp, tmpOff + i);
      FloatVector t = V_TWO.div(e.add(V_ONE)).neg().add(V_ONE);
      VectorMask<Float> negative = x.lt(V_ZERO);
      t.blend(t.neg(), negative).intoArray(a, off + i);
    }
    for (; i < n; i++) {
      a[off + i] = tanh(a[off + i]);
    }
  }

  /** tanh(x), the scalar twin of {@link #tanh(float[], int, float[], int, int)}. */
  static float tanh(float x) {
    float a = Math.min(Math.abs(x), TANH_CLAMP);
    float e = exp(a + a);
    float t = 1f - 2f / (e + 1f);
    return x < 0f ? -t : t;
  }

  /**
   * a[off + i] = erf(a[off + i]) for i &lt; n, in place; tmp[tmpOff..+n) is scratch. Whole vectors: the tail's
   * exponents into tmp, {@link #exp} of them, then the result of whichever branch each lane's |x| takes; then the
   * rest with the scalar twin: the same bits.
   */
  static void erf(float[] a, int off, float[] tmp, int tmpOff, int n) {
    int bound = S.loopBound(n);
    for (int i = 0; i < bound; i += S.length()) {
      FloatVector x = FloatVector.fromArray(S, a, off + i).abs();
      // clamped into the tail's interval, as in exp: compares and blends
      FloatVector c = x.blend(V_ERF_SPLIT, x.lt(V_ERF_SPLIT));
      c = c.blend(V_ERF_END, V_ERF_END.lt(c));
      FloatVector t = c.sub(V_ERF_MID).mul(V_ERF_SCALE);
      FloatVector r = t.fma(V_R6, V_R5);
      r = r.fma(t, V_R4);
      r = r.fma(t, V_R3);
      r = r.fma(t, V_R2);
      r = r.fma(t, V_R1);
      r = r.fma(t, V_R0);
      c.neg().fma(c, r).intoArray(tmp, tmpOff + i);
    }
    exp(tmp, tmpOff, bound);
    int i = 0;
    for (; i < bound; i += S.length()) {
      FloatVector x = FloatVector.fromArray(S, a, off + i);
      FloatVector abs = x.abs();
      FloatVector u = abs.mul(abs);
      FloatVector p = u.fma(V_P5, V_P4);
      p = p.fma(u, V_P3);
      p = p.fma(u, V_P2);
      p = p.fma(u, V_P1);
      p = p.fma(u, V_P0);
      FloatVector e = V_ONE.sub(FloatVector.fromArray(S, tmp, tmpOff + i)).blend(abs.mul(p), abs.lt(V_ERF_SPLIT));
      e.blend(e.neg(), x.lt(V_ZERO)).intoArray(a, off + i);
    }
    for (; i < n; i++) {
      a[off + i] = erf(a[off + i]);
    }
  }

  /** erf(x), the scalar twin of {@link #erf(float[], int, float[], int, int)}. */
  static float erf(float x) {
    float abs = Math.abs(x);
    float e;
    if (abs < ERF_SPLIT) {
      float u = abs * abs;
      float p = Math.fma(u, P5, P4);
      p = Math.fma(p, u, P3);
      p = Math.fma(p, u, P2);
      p = Math.fma(p, u, P1);
      p = Math.fma(p, u, P0);
      e = abs * p;
    } else {
      float c = Math.min(abs, ERF_END);
      float t = (c - ERF_MID) * ERF_SCALE;
      float r = Math.fma(t, R6, R5);
      r = Math.fma(r, t, R4);
      r = Math.fma(r, t, R3);
      r = Math.fma(r, t, R2);
      r = Math.fma(r, t, R1);
      r = Math.fma(r, t, R0);
      e = 1f - exp(Math.fma(-c, c, r));
    }
    return x < 0f ? -e : e;
  }
}
