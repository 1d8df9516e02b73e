package dev.unroll.runtime.simd;

import static dev.unroll.runtime.simd.Vectors.L;
import static dev.unroll.runtime.simd.Vectors.S;
import static dev.unroll.runtime.simd.Vectors.addInto;

import dev.unroll.runtime.scalar.ScalarKernels;
import dev.unroll.runtime.thread.WorkerPool;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicReferenceArray;
import jdk.incubator.vector.FloatVector;

/**
 * The kernels that work element by element or row by row without a reduction: GPT-2's encoder (token and position
 * embeddings), ViT's patches and class token, GELU (tanh's and the exact one), tanh, the residual sum, SwiGLU, RoPE
 * and zeroing. The GELUs, tanh, the residual and zero split over the pool by ranges of whole vectors, the encoder's
 * forward by positions; each element is computed as on one thread. Patches and the class token are copies and sums
 * of rows, on the calling thread. Exp, tanh and erf go through {@link VectorMath}'s array methods, a chunk at a time
 * through {@link #SCRATCH} (see {@link Vectors} for why).
 */
final class Pointwise {

  /** Floats the pointwise kernels with an exp or a tanh work on at a time (see {@link #SCRATCH}). */
  private static final int CHUNK = 256;

  /**
   * Each thread's two chunks of scratch for the pointwise kernels: they compute exp's or tanh's arguments into one
   * for {@link VectorMath}'s array methods, which keep every vector inside them (see {@link Vectors}' class comment).
   */
  private static final ThreadLocal<float[]> SCRATCH = ThreadLocal.withInitial(() -> new float[2 * CHUNK]);

  private static final float GELU_SCALING_FACTOR = (float) Math.sqrt((float) (2.0 / Math.PI));

  private static final float GELU_CUBE = 0.044715f;

  /** 1/√2: the exact GELU is x·Φ(x), Φ(x) = (1 + erf(x/√2))/2. */
  private static final float INV_SQRT2 = (float) (1.0 / Math.sqrt(2.0));

  /** 1/√(2π), the normal density's factor: Φ'(x) = e^(-x²/2)/√(2π). */
  private static final float INV_SQRT_2PI = (float) (1.0 / Math.sqrt(2.0 * Math.PI));

  private Pointwise() {}

  /** {@link dev.unroll.runtime.kernel.Kernels#encoderForward}. */
  static void encoderForward(float[] out, int outOff, int[] inp, float[] wte, int wteOff, float[] wpe, int wpeOff,
      int B, int T, int C) {
    WorkerPool pool = WorkerPool.acquire((long) B * T * C);
    if (pool == null) {
      encoderForwardRows(out, outOff, inp, wte, wteOff, wpe, wpeOff, T, C, 0, B * T);
      return;
    }
    pool.run(J.task(ENCODER_FORWARD).out(out, outOff).tokens(inp).wte(wte, wteOff).wpe(wpe, wpeOff).T(T).C(C), B * T,
        1);
  }

  /** The arguments of this room's parallel tasks (see {@link KernelJob}). */
  private static final KernelJob J = new KernelJob();

  /** {@link #encoderForward}'s positions. */
  private static final KernelJob.Task ENCODER_FORWARD = (from, to) -> encoderForwardRows(J.out, J.outOff, J.tokens,
      J.wte, J.wteOff, J.wpe, J.wpeOff, J.T, J.C, from, to);

  /** Positions [from, to) of {@link #encoderForward}. */
  private static void encoderForwardRows(float[] out, int outOff, int[] inp, float[] wte, int wteOff, float[] wpe,
      int wpeOff, int T, int C, int from, int to) {
    for (int bt = from; bt < to; bt++) {
      add(out, outOff + bt * C, wte, wteOff + inp[bt] * C, wpe, wpeOff + (bt % T) * C, C);
    }
  }

  /**
   * {@link dev.unroll.runtime.kernel.Kernels#encoderBackward}, on the calling thread: a scatter-add into token rows,
   * which two positions of the same token would share.
   */
  static void encoderBackward(float[] dwte, int dwteOff, float[] dwpe, int dwpeOff, float[] dout, int doutOff,
      int[] inp, int B, int T, int C) {
    for (int b = 0; b < B; b++) {
      for (int t = 0; t < T; t++) {
        int d = doutOff + (b * T + t) * C;
        addInto(dwte, dwteOff + inp[b * T + t] * C, dout, d, C);
        addInto(dwpe, dwpeOff + t * C, dout, d, C);
      }
    }
  }

  /**
   * {@link dev.unroll.runtime.kernel.Kernels#patches}, on the calling thread: a copy of PW floats per patch row.
   */
  static void patches(float[] out, int outOff, float[] pixels, int pixelsOff, int B, int CH, int H, int W, int PH,
      int PW) {
    int gw = W / PW;
    int np = (H / PH) * gw;
    int o = outOff;
    for (int b = 0; b < B; b++) {
      for (int p = 0; p < np; p++) {
        int y0 = (p / gw) * PH;
        int x0 = (p % gw) * PW;
        for (int ch = 0; ch < CH; ch++) {
          for (int dy = 0; dy < PH; dy++) {
            System.arraycopy(pixels, pixelsOff + ((b * CH + ch) * H + y0 + dy) * W + x0, out, o, PW);
            o += PW;
          }
        }
      }
    }
  }

  /** {@link dev.unroll.runtime.kernel.Kernels#classTokenForward}, on the calling thread: one sum per row. */
  static void classTokenForward(float[] out, int outOff, float[] patches, int patchesOff, float[] cls, int clsOff,
      float[] pos, int posOff, int B, int NP, int C) {
    for (int b = 0; b < B; b++) {
      int o = outOff + b * (NP + 1) * C;
      add(out, o, cls, clsOff, pos, posOff, C);
      for (int p = 0; p < NP; p++) {
        add(out, o + (1 + p) * C, patches, patchesOff + (b * NP + p) * C, pos, posOff + (1 + p) * C, C);
      }
    }
  }

  /**
   * {@link dev.unroll.runtime.kernel.Kernels#classTokenBackward}, on the calling thread: the rows of every image
   * add into dcls and dpos in the order of the images, as in the scalar reference (the same bits).
   */
  static void classTokenBackward(float[] dpatches, int dpatchesOff, float[] dcls, int dclsOff, float[] dpos,
      int dposOff, float[] dout, int doutOff, int B, int NP, int C) {
    for (int b = 0; b < B; b++) {
      int d = doutOff + b * (NP + 1) * C;
      addInto(dcls, dclsOff, dout, d, C);
      addInto(dpos, dposOff, dout, d, C);
      for (int p = 0; p < NP; p++) {
        addInto(dpatches, dpatchesOff + (b * NP + p) * C, dout, d + (1 + p) * C, C);
        addInto(dpos, dposOff + (1 + p) * C, dout, d + (1 + p) * C, C);
      }
    }
  }

  /** {@link dev.unroll.runtime.kernel.Kernels#geluForward}. */
  static void geluForward(float[] out, int outOff, float[] inp, int inpOff, int N) {
    WorkerPool pool = WorkerPool.acquire(24L * N);
    if (pool == null) {
      geluForwardRange(out, outOff, inp, inpOff, N, 0, N);
      return;
    }
    pool.run(J.task(GELU_FORWARD).out(out, outOff).inp(inp, inpOff).N(N), N, L);
  }

  /** {@link #geluForward}'s elements. */
  private static final KernelJob.Task GELU_FORWARD =
      (from, to) -> geluForwardRange(J.out, J.outOff, J.inp, J.inpOff, J.N, from, to);

  /**
   * Elements [from, to) of {@link #geluForward}; from is a multiple of the vector length, and elements past the
   * last whole vector of N take the scalar path, as on one thread.
   */
  private static void geluForwardRange(float[] out, int outOff, float[] inp, int inpOff, int N, int from, int to) {
    int bound = Math.min(to, S.loopBound(N));
    float[] th = SCRATCH.get();
    int i = from;
    for (; i < bound; i += CHUNK) {
      int n = Math.min(CHUNK, bound - i);
      geluArgs(th, inp, inpOff + i, n);
      VectorMath.tanh(th, 0, th, CHUNK, n);
      for (int j = 0; j < n; j += L) {
        FloatVector x = FloatVector.fromArray(S, inp, inpOff + i + j);
        x.mul(0.5f).mul(FloatVector.fromArray(S, th, j).add(1.0f)).intoArray(out, outOff + i + j);
      }
    }
    i = Math.max(from, bound);
    for (; i < to; i++) {
      float x = inp[inpOff + i];
      float cube = GELU_CUBE * x * x * x;
      out[outOff + i] = 0.5f * x * (1.0f + VectorMath.tanh(GELU_SCALING_FACTOR * (x + cube)));
    }
  }

  /** args[0..n) = GELU's tanh argument sqrt(2/pi)·(x + 0.044715·x³) of inp[x..x+n), n whole vectors. */
  private static void geluArgs(float[] args, float[] inp, int x, int n) {
    for (int j = 0; j < n; j += L) {
      FloatVector v = FloatVector.fromArray(S, inp, x + j);
      FloatVector cube = v.mul(GELU_CUBE).mul(v).mul(v);
      v.add(cube).mul(GELU_SCALING_FACTOR).intoArray(args, j);
    }
  }

  /** {@link dev.unroll.runtime.kernel.Kernels#geluBackward}. */
  static void geluBackward(float[] dinp, int dinpOff, float[] inp, int inpOff, float[] dout, int doutOff, int N) {
    WorkerPool pool = WorkerPool.acquire(32L * N);
    if (pool == null) {
      geluBackwardRange(dinp, dinpOff, inp, inpOff, dout, doutOff, N, 0, N);
      return;
    }
    pool.run(J.task(GELU_BACKWARD).dinp(dinp, dinpOff).inp(inp, inpOff).dout(dout, doutOff).N(N), N, L);
  }

  /** {@link #geluBackward}'s elements. */
  private static final KernelJob.Task GELU_BACKWARD =
      (from, to) -> geluBackwardRange(J.dinp, J.dinpOff, J.inp, J.inpOff, J.dout, J.doutOff, J.N, from, to);

  /** Elements [from, to) of {@link #geluBackward}; see {@link #geluForwardRange}. */
  private static void geluBackwardRange(float[] dinp, int dinpOff, float[] inp, int inpOff, float[] dout,
      int doutOff, int N, int from, int to) {
    float cube3 = 3.0f * GELU_CUBE;
    int bound = Math.min(to, S.loopBound(N));
    float[] tanhs = SCRATCH.get();
    int i = from;
    for (; i < bound; i += CHUNK) {
      int n = Math.min(CHUNK, bound - i);
      geluArgs(tanhs, inp, inpOff + i, n);
      VectorMath.tanh(tanhs, 0, tanhs, CHUNK, n);
      for (int j = 0; j < n; j += L) {
        int k = i + j;
        FloatVector x = FloatVector.fromArray(S, inp, inpOff + k);
        FloatVector th = FloatVector.fromArray(S, tanhs, j);
        FloatVector sech = th.mul(th).neg().add(1.0f); // sech² = 1 - tanh²
        FloatVector poly = x.mul(cube3).mul(x).add(1.0f);
        FloatVector grad = th.add(1.0f).mul(0.5f).add(x.mul(0.5f).mul(sech).mul(GELU_SCALING_FACTOR).mul(poly));
        grad.fma(FloatVector.fromArray(S, dout, doutOff + k), FloatVector.fromArray(S, dinp, dinpOff + k))
            .intoArray(dinp, dinpOff + k);
      }
    }
    i = Math.max(from, bound);
    for (; i < to; i++) {
      float x = inp[inpOff + i];
      float cube = GELU_CUBE * x * x * x;
      float arg = GELU_SCALING_FACTOR * (x + cube);
      float th = VectorMath.tanh(arg);
      float sech = 1.0f - th * th;
      float grad = 0.5f * (1.0f + th) + x * 0.5f * sech * GELU_SCALING_FACTOR * (1.0f + cube3 * x * x);
      dinp[dinpOff + i] += grad * dout[doutOff + i];
    }
  }

  /** {@link dev.unroll.runtime.kernel.Kernels#geluErfForward}. */
  static void geluErfForward(float[] out, int outOff, float[] inp, int inpOff, int N) {
    WorkerPool pool = WorkerPool.acquire(24L * N);
    if (pool == null) {
      geluErfForwardRange(out, outOff, inp, inpOff, N, 0, N);
      return;
    }
    pool.run(J.task(GELU_ERF_FORWARD).out(out, outOff).inp(inp, inpOff).N(N), N, L);
  }

  /** {@link #geluErfForward}'s elements. */
  private static final KernelJob.Task GELU_ERF_FORWARD =
      (from, to) -> geluErfForwardRange(J.out, J.outOff, J.inp, J.inpOff, J.N, from, to);

  /** Elements [from, to) of {@link #geluErfForward}; see {@link #geluForwardRange}. */
  private static void geluErfForwardRange(float[] out, int outOff, float[] inp, int inpOff, int N, int from,
      int to) {
    int bound = Math.min(to, S.loopBound(N));
    float[] erfs = SCRATCH.get();
    int i = from;
    for (; i < bound; i += CHUNK) {
      int n = Math.min(CHUNK, bound - i);
      erfArgs(erfs, inp, inpOff + i, n);
      VectorMath.erf(erfs, 0, erfs, CHUNK, n);
      for (int j = 0; j < n; j += L) {
        FloatVector x = FloatVector.fromArray(S, inp, inpOff + i + j);
        x.mul(0.5f).mul(FloatVector.fromArray(S, erfs, j).add(1.0f)).intoArray(out, outOff + i + j);
      }
    }
    i = Math.max(from, bound);
    for (; i < to; i++) {
      float x = inp[inpOff + i];
      out[outOff + i] = x * 0.5f * (1.0f + VectorMath.erf(x * INV_SQRT2));
    }
  }

  /** args[0..n) = x/√2 of inp[x..x+n), n whole vectors: the exact GELU's erf argument. */
  private static void erfArgs(float[] args, float[] inp, int x, int n) {
    for (int j = 0; j < n; j += L) {
      FloatVector.fromArray(S, inp, x + j).mul(INV_SQRT2).intoArray(args, j);
    }
  }

  /** {@link dev.unroll.runtime.kernel.Kernels#geluErfBackward}. */
  static void geluErfBackward(float[] dinp, int dinpOff, float[] inp, int inpOff, float[] dout, int doutOff,
      int N) {
    WorkerPool pool = WorkerPool.acquire(32L * N);
    if (pool == null) {
      geluErfBackwardRange(dinp, dinpOff, inp, inpOff, dout, doutOff, N, 0, N);
      return;
    }
    pool.run(J.task(GELU_ERF_BACKWARD).dinp(dinp, dinpOff).inp(inp, inpOff).dout(dout, doutOff).N(N), N, L);
  }

  /** {@link #geluErfBackward}'s elements. */
  private static final KernelJob.Task GELU_ERF_BACKWARD =
      (from, to) -> geluErfBackwardRange(J.dinp, J.dinpOff, J.inp, J.inpOff, J.dout, J.doutOff, J.N, from, to);

  /**
   * Elements [from, to) of {@link #geluErfBackward}; see {@link #geluForwardRange}. The erfs go into the first
   * chunk of scratch (the second is erf's own), then the density's exponents -x²/2 into the second for exp.
   */
  private static void geluErfBackwardRange(float[] dinp, int dinpOff, float[] inp, int inpOff, float[] dout,
      int doutOff, int N, int from, int to) {
    int bound = Math.min(to, S.loopBound(N));
    float[] scratch = SCRATCH.get();
    int i = from;
    for (; i < bound; i += CHUNK) {
      int n = Math.min(CHUNK, bound - i);
      erfArgs(scratch, inp, inpOff + i, n);
      VectorMath.erf(scratch, 0, scratch, CHUNK, n);
      for (int j = 0; j < n; j += L) {
        FloatVector x = FloatVector.fromArray(S, inp, inpOff + i + j);
        x.mul(x).mul(-0.5f).intoArray(scratch, CHUNK + j);
      }
      VectorMath.exp(scratch, CHUNK, n);
      for (int j = 0; j < n; j += L) {
        int k = i + j;
        FloatVector x = FloatVector.fromArray(S, inp, inpOff + k);
        FloatVector cdf = FloatVector.fromArray(S, scratch, j).add(1.0f).mul(0.5f);
        FloatVector density = FloatVector.fromArray(S, scratch, CHUNK + j).mul(INV_SQRT_2PI);
        FloatVector grad = x.fma(density, cdf);
        grad.fma(FloatVector.fromArray(S, dout, doutOff + k), FloatVector.fromArray(S, dinp, dinpOff + k))
            .intoArray(dinp, dinpOff + k);
      }
    }
    i = Math.max(from, bound);
    for (; i < to; i++) {
      float x = inp[inpOff + i];
      float cdf = (VectorMath.erf(x * INV_SQRT2) + 1.0f) * 0.5f;
      float density = VectorMath.exp(x * x * -0.5f) * INV_SQRT_2PI;
      float grad = Math.fma(x, density, cdf);
      dinp[dinpOff + i] = Math.fma(grad, dout[doutOff + i], dinp[dinpOff + i]);
    }
  }

  /** {@link dev.unroll.runtime.kernel.Kernels#tanhForward}. */
  static void tanhForward(float[] out, int outOff, float[] inp, int inpOff, int N) {
    WorkerPool pool = WorkerPool.acquire(16L * N);
    if (pool == null) {
      tanhForwardRange(out, outOff, inp, inpOff, N, 0, N);
      return;
    }
    pool.run(J.task(TANH_FORWARD).out(out, outOff).inp(inp, inpOff).N(N), N, L);
  }

  /** {@link #tanhForward}'s elements. */
  private static final KernelJob.Task TANH_FORWARD =
      (from, to) -> tanhForwardRange(J.out, J.outOff, J.inp, J.inpOff, J.N, from, to);

  /**
   * Elements [from, to) of {@link #tanhForward}, through {@link VectorMath#tanh} a chunk at a time in the thread's
   * scratch (out may be inp, and is written only with results); see {@link #geluForwardRange}.
   */
  private static void tanhForwardRange(float[] out, int outOff, float[] inp, int inpOff, int N, int from, int to) {
    int bound = Math.min(to, S.loopBound(N));
    float[] th = SCRATCH.get();
    int i = from;
    for (; i < bound; i += CHUNK) {
      int n = Math.min(CHUNK, bound - i);
      System.arraycopy(inp, inpOff + i, th, 0, n);
      VectorMath.tanh(th, 0, th, CHUNK, n);
      System.arraycopy(th, 0, out, outOff + i, n);
    }
    i = Math.max(from, bound);
    for (; i < to; i++) {
      out[outOff + i] = VectorMath.tanh(inp[inpOff + i]);
    }
  }

  /** {@link dev.unroll.runtime.kernel.Kernels#tanhBackward}. */
  static void tanhBackward(float[] dinp, int dinpOff, float[] out, int outOff, float[] dout, int doutOff, int N) {
    WorkerPool pool = WorkerPool.acquire(3L * N);
    if (pool == null) {
      tanhBackwardRange(dinp, dinpOff, out, outOff, dout, doutOff, 0, N);
      return;
    }
    pool.run(J.task(TANH_BACKWARD).dinp(dinp, dinpOff).out(out, outOff).dout(dout, doutOff), N, L);
  }

  /** {@link #tanhBackward}'s elements: the same in any lane, so shares need no alignment beyond whole vectors. */
  private static final KernelJob.Task TANH_BACKWARD =
      (from, to) -> tanhBackwardRange(J.dinp, J.dinpOff, J.out, J.outOff, J.dout, J.doutOff, from, to);

  /** Elements [from, to) of {@link #tanhBackward}: dinp += dout·(1 - out²), fused as one multiply-add. */
  private static void tanhBackwardRange(float[] dinp, int dinpOff, float[] out, int outOff, float[] dout,
      int doutOff, int from, int to) {
    int bound = from + S.loopBound(to - from);
    int i = from;
    for (; i < bound; i += L) {
      FloatVector y = FloatVector.fromArray(S, out, outOff + i);
      FloatVector local = y.mul(y).neg().add(1.0f);
      local.fma(FloatVector.fromArray(S, dout, doutOff + i), FloatVector.fromArray(S, dinp, dinpOff + i))
          .intoArray(dinp, dinpOff + i);
    }
    for (; i < to; i++) {
      float y = out[outOff + i];
      dinp[dinpOff + i] = Math.fma(1.0f - y * y, dout[doutOff + i], dinp[dinpOff + i]);
    }
  }

  /** {@link dev.unroll.runtime.kernel.Kernels#residualForward}. */
  static void residualForward(float[] out, int outOff, float[] inp1, int inp1Off, float[] inp2, int inp2Off, int N) {
    WorkerPool pool = WorkerPool.acquire(N);
    if (pool == null) {
      add(out, outOff, inp1, inp1Off, inp2, inp2Off, N);
      return;
    }
    pool.run(J.task(RESIDUAL_FORWARD).out(out, outOff).inp(inp1, inp1Off).inp2(inp2, inp2Off), N, L);
  }

  /**
   * {@link #residualForward}'s elements: a sum is the same in any lane, so shares need no alignment beyond whole
   * vectors.
   */
  private static final KernelJob.Task RESIDUAL_FORWARD = (from, to) -> add(J.out, J.outOff + from, J.inp,
      J.inpOff + from, J.inp2, J.inp2Off + from, to - from);

  /** out[oo..oo+n) = a[ao..ao+n) + b[bo..bo+n). */
  private static void add(float[] out, int oo, float[] a, int ao, float[] b, int bo, int n) {
    int bound = S.loopBound(n);
    int i = 0;
    for (; i < bound; i += L) {
      FloatVector.fromArray(S, a, ao + i).add(FloatVector.fromArray(S, b, bo + i)).intoArray(out, oo + i);
    }
    for (; i < n; i++) {
      out[oo + i] = a[ao + i] + b[bo + i];
    }
  }

  /** {@link dev.unroll.runtime.kernel.Kernels#residualBackward}. */
  static void residualBackward(float[] dinp1, int dinp1Off, float[] dinp2, int dinp2Off, float[] dout, int doutOff,
      int N) {
    WorkerPool pool = WorkerPool.acquire(2L * N);
    if (pool == null) {
      addInto(dinp1, dinp1Off, dout, doutOff, N);
      addInto(dinp2, dinp2Off, dout, doutOff, N);
      return;
    }
    pool.run(J.task(RESIDUAL_BACKWARD).dinp(dinp1, dinp1Off).dinp2(dinp2, dinp2Off).dout(dout, doutOff), N, L);
  }

  /** {@link #residualBackward}'s elements. */
  private static final KernelJob.Task RESIDUAL_BACKWARD = (from, to) -> {
    addInto(J.dinp, J.dinpOff + from, J.dout, J.doutOff + from, to - from);
    addInto(J.dinp2, J.dinp2Off + from, J.dout, J.doutOff + from, to - from);
  };

  /** {@link dev.unroll.runtime.kernel.Kernels#swigluForward}, on the calling thread. */
  static void swigluForward(float[] out, int outOff, float[] gate, int gateOff, float[] up, int upOff, int N) {
    int bound = S.loopBound(N);
    float[] exps = SCRATCH.get();
    int i = 0;
    for (; i < bound; i += CHUNK) {
      int n = Math.min(CHUNK, bound - i);
      expNegated(exps, gate, gateOff + i, n);
      for (int j = 0; j < n; j += L) {
        FloatVector g = FloatVector.fromArray(S, gate, gateOff + i + j);
        FloatVector sig = FloatVector.broadcast(S, 1.0f).div(FloatVector.fromArray(S, exps, j).add(1.0f));
        g.mul(sig).mul(FloatVector.fromArray(S, up, upOff + i + j)).intoArray(out, outOff + i + j);
      }
    }
    i = bound;
    for (; i < N; i++) {
      float g = gate[gateOff + i];
      out[outOff + i] = g * (1.0f / (1.0f + VectorMath.exp(-g))) * up[upOff + i];
    }
  }

  /** exps[0..n) = e^-g of gate[g..g+n), n whole vectors: SwiGLU's sigmoid is 1 / (1 + e^-g). */
  private static void expNegated(float[] exps, float[] gate, int g, int n) {
    for (int j = 0; j < n; j += L) {
      FloatVector.fromArray(S, gate, g + j).neg().intoArray(exps, j);
    }
    VectorMath.exp(exps, 0, n);
  }

  /** {@link dev.unroll.runtime.kernel.Kernels#swigluBackward}, on the calling thread. */
  static void swigluBackward(float[] dgate, int dgateOff, float[] dup, int dupOff, float[] dout, int doutOff,
      float[] gate, int gateOff, float[] up, int upOff, int N) {
    int bound = S.loopBound(N);
    float[] exps = SCRATCH.get();
    int i = 0;
    for (; i < bound; i += CHUNK) {
      int n = Math.min(CHUNK, bound - i);
      expNegated(exps, gate, gateOff + i, n);
      for (int j = 0; j < n; j += L) {
        int k = i + j;
        FloatVector g = FloatVector.fromArray(S, gate, gateOff + k);
        FloatVector d = FloatVector.fromArray(S, dout, doutOff + k);
        FloatVector sig = FloatVector.broadcast(S, 1.0f).div(FloatVector.fromArray(S, exps, j).add(1.0f));
        // silu'(g) = sig·(1 + g·(1 - sig))
        FloatVector dsilu = sig.mul(g.mul(sig.neg().add(1.0f)).add(1.0f));
        d.mul(FloatVector.fromArray(S, up, upOff + k)).fma(dsilu, FloatVector.fromArray(S, dgate, dgateOff + k))
            .intoArray(dgate, dgateOff + k);
        d.fma(g.mul(sig), FloatVector.fromArray(S, dup, dupOff + k)).intoArray(dup, dupOff + k);
      }
    }
    i = bound;
    for (; i < N; i++) {
      float g = gate[gateOff + i];
      float sig = 1.0f / (1.0f + VectorMath.exp(-g));
      float d = dout[doutOff + i];
      dgate[dgateOff + i] += d * up[upOff + i] * (sig * (1.0f + g * (1.0f - sig)));
      dup[dupOff + i] += d * (g * sig);
    }
  }

  /**
   * {@link dev.unroll.runtime.kernel.Kernels#rope}, on the calling thread: the scalar reference's loop, with each
   * angle's cosine and sine read from a table ({@link #ropeAngles}) instead of computed: the same floats, so the same
   * bits. Decoding rotates q and k of every layer at one position, and computing a power, a cosine and a sine per
   * pair each time cost about 2% of a stories15M token.
   */
  static void rope(float[] x, int off, int rows, int stride, int width, int hs, int T, int pos0, int sign) {
    if ((hs & 1) != 0 || hs / 2 >= ROPE_ANGLES.length()) {
      ScalarKernels.INSTANCE.rope(x, off, rows, stride, width, hs, T, pos0, sign);
      return;
    }
    float[] angles = ropeAngles(hs, pos0 + Math.min(rows, T), T);
    for (int r = 0; r < rows; r++) {
      int row = off + r * stride;
      int a = (pos0 + r % T) * hs;
      for (int headDim = 0; headDim < hs; headDim += 2) {
        float fcr = angles[a + headDim];
        float fci = sign * angles[a + headDim + 1];
        for (int i = headDim; i < width; i += hs) {
          float v0 = x[row + i];
          float v1 = x[row + i + 1];
          x[row + i] = v0 * fcr - v1 * fci;
          x[row + i + 1] = v0 * fci + v1 * fcr;
        }
      }
    }
  }

  /** Per even head size (index hs / 2): the cosines and sines of {@link #ropeAngles}, shared by every model. */
  private static final AtomicReferenceArray<float[]> ROPE_ANGLES = new AtomicReferenceArray<>(1024);

  /**
   * For head size {@code hs}, a table of at least {@code positions} positions: at position p, pair j, the cosine
   * and sine of p · 10000^(-2j/hs), computed as the scalar reference computes them. Made once per head size, for
   * {@code T} positions (or more when asked), so that a model's steps allocate nothing; a racing thread may make the
   * same table twice, harmlessly, since the values are the same.
   */
  private static float[] ropeAngles(int hs, int positions, int T) {
    float[] t = ROPE_ANGLES.get(hs / 2);
    if (t != null && t.length >= positions * hs) {
      return t;
    }
    int n = Math.max(positions, Math.max(T, t == null ? 0 : t.length / hs));
    t = new float[n * hs];
    for (int headDim = 0; headDim < hs; headDim += 2) {
      float freq = 1.0f / (float) Math.pow(10000.0f, headDim / (float) hs);
      for (int pos = 0; pos < n; pos++) {
        float val = pos * freq;
        t[pos * hs + headDim] = (float) Math.cos(val);
        t[pos * hs + headDim + 1] = (float) Math.sin(val);
      }
    }
    // keep the larger table when another thread made one meanwhile
    return ROPE_ANGLES.accumulateAndGet(hs / 2, t,
        (had, made) -> had != null && had.length >= made.length ? had : made);
  }

  /** {@link dev.unroll.runtime.kernel.Kernels#zero}. */
  static void zero(float[] a, int off, int n) {
    WorkerPool pool = WorkerPool.acquire(n);
    if (pool == null) {
      Arrays.fill(a, off, off + n, 0.0f);
      return;
    }
    pool.run(J.task(ZERO).out(a, off), n, L);
  }

  /**
   * {@link #zero}'s ranges: a step zeroes every gradient and, per layer, attention's two B·NH·T·T buffers (6 MiB
   * each at medium); one thread alone writes memory at well under what two can.
   */
  private static final KernelJob.Task ZERO = (from, to) -> Arrays.fill(J.out, J.outOff + from, J.outOff + to, 0.0f);
}
