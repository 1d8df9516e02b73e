package dev.unroll.runtime.scalar;

import static dev.unroll.runtime.scalar.KernelTesting.PAD;
import static dev.unroll.runtime.scalar.KernelTesting.random;
import static dev.unroll.runtime.scalar.KernelTesting.tokens;
import static dev.unroll.runtime.scalar.KernelTesting.zeros;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.SplittableRandom;
import java.util.function.DoubleSupplier;
import org.junit.jupiter.api.Test;

/**
 * Every backward kernel of {@link ScalarKernels} against central differences of its forward kernel. The loss is
 * L = sum(out · r) for a fixed random r (so dL/dout = r), or the cross-entropy itself. Gradient buffers start with
 * random values, so the checked gradient is what the backward pass added: a kernel that overwrites instead of
 * accumulating fails too.
 */
class ScalarKernelsGradientTest {

  private static final ScalarKernels K = ScalarKernels.INSTANCE;

  /** Step of the central differences. The kernels run in float; the loss is summed in double. */
  private static final float H = 1e-2f;

  /**
   * An analytic gradient g passes against the numeric one d when |g - d| &lt;= REL·max(|g|,|d|) + ABS·max|d|.
   * With h = 1e-2, truncation error is ~h²/6 of a third derivative (~1e-5 relative here) and float rounding of the
   * forward outputs adds ~1e-5 of the gradient scale, so 1e-2 relative with a floor of 1e-3 of the largest
   * gradient leaves two orders of margin, while a wrong sign (error 2|d|) or a missing term fails by far.
   */
  private static final double REL = 1e-2;

  private static final double ABS = 1e-3;

  /** sum(out · r) over the tensors' values, in double. */
  static double dotLoss(float[] out, float[] r) {
    double s = 0;
    for (int i = PAD; i < out.length - PAD; i++) {
      s += (double) out[i] * r[i];
    }
    return s;
  }

  /** What a backward pass added to a gradient buffer that held {@code before}. */
  static double[] added(float[] after, float[] before) {
    double[] g = new double[after.length - 2 * PAD];
    for (int i = 0; i < g.length; i++) {
      g[i] = (double) after[PAD + i] - before[PAD + i];
    }
    return g;
  }

  /** Compares {@code analytic} with central differences of {@code loss} in every value of {@code x}. */
  static void checkGradient(String what, float[] x, double[] analytic, DoubleSupplier loss) {
    int n = x.length - 2 * PAD;
    assertEquals(n, analytic.length, what + ": sizes");
    double[] numeric = new double[n];
    double scale = 0;
    for (int i = 0; i < n; i++) {
      float orig = x[PAD + i];
      float up = orig + H;
      float down = orig - H;
      x[PAD + i] = up;
      double lossUp = loss.getAsDouble();
      x[PAD + i] = down;
      double lossDown = loss.getAsDouble();
      x[PAD + i] = orig;
      // divide by the step the floats really took
      numeric[i] = (lossUp - lossDown) / ((double) up - (double) down);
      scale = Math.max(scale, Math.abs(numeric[i]));
    }
    loss.getAsDouble(); // leave the forward outputs as they were at x
    assertTrue(scale > 1e-3, what + ": the gradient is all but zero, so the check would prove nothing");
    for (int i = 0; i < n; i++) {
      double g = analytic[i];
      double d = numeric[i];
      double tol = REL * Math.max(Math.abs(g), Math.abs(d)) + ABS * scale;
      if (!(Math.abs(g - d) <= tol)) {
        fail(what + "[" + i + "]: analytic " + g + ", numeric " + d + " (tolerance " + tol + ")");
      }
    }
  }

  @Test
  void encoder() {
    SplittableRandom rnd = new SplittableRandom(1);
    int B = 2;
    int T = 3;
    int C = 5;
    int V = 4;
    int[] inp = tokens(rnd, B * T, V); // six tokens out of four: some repeat, and their gradients add up
    float[] wte = random(rnd, V * C, -1, 1);
    float[] wpe = random(rnd, T * C, -1, 1);
    float[] r = random(rnd, B * T * C, -1, 1);
    float[] out = zeros(B * T * C);
    DoubleSupplier loss = () -> {
      K.encoderForward(out, PAD, inp, wte, PAD, wpe, PAD, B, T, C);
      return dotLoss(out, r);
    };
    float[] dwte0 = random(rnd, V * C, -1, 1);
    float[] dwpe0 = random(rnd, T * C, -1, 1);
    float[] dwte = dwte0.clone();
    float[] dwpe = dwpe0.clone();
    K.encoderBackward(dwte, PAD, dwpe, PAD, r, PAD, inp, B, T, C);
    checkGradient("dwte", wte, added(dwte, dwte0), loss);
    checkGradient("dwpe", wpe, added(dwpe, dwpe0), loss);
  }

  @Test
  void layernorm() {
    SplittableRandom rnd = new SplittableRandom(2);
    int N = 4;
    int C = 7;
    float[] inp = random(rnd, N * C, -1.5, 2.5);
    float[] weight = random(rnd, C, 0.5, 1.5);
    float[] bias = random(rnd, C, -1, 1);
    float[] r = random(rnd, N * C, -1, 1);
    float[] out = zeros(N * C);
    float[] mean = zeros(N);
    float[] rstd = zeros(N);
    DoubleSupplier loss = () -> {
      K.layernormForward(out, PAD, mean, PAD, rstd, PAD, inp, PAD, weight, PAD, bias, PAD, N, C, 1e-5f);
      return dotLoss(out, r);
    };
    loss.getAsDouble();
    float[] dinp0 = random(rnd, N * C, -1, 1);
    float[] dweight0 = random(rnd, C, -1, 1);
    float[] dbias0 = random(rnd, C, -1, 1);
    float[] dinp = dinp0.clone();
    float[] dweight = dweight0.clone();
    float[] dbias = dbias0.clone();
    K.layernormBackward(dinp, PAD, dweight, PAD, dbias, PAD, r, PAD, inp, PAD, weight, PAD, mean, PAD, rstd, PAD,
        N, C);
    checkGradient("dinp", inp, added(dinp, dinp0), loss);
    checkGradient("dweight", weight, added(dweight, dweight0), loss);
    checkGradient("dbias", bias, added(dbias, dbias0), loss);
  }

  @Test
  void matmulWithBias() {
    matmul(true);
  }

  @Test
  void matmulWithoutBias() {
    matmul(false);
  }

  private static void matmul(boolean withBias) {
    SplittableRandom rnd = new SplittableRandom(withBias ? 3 : 4);
    int N = 5;
    int C = 7;
    int OC = 6;
    float[] inp = random(rnd, N * C, -1, 1);
    float[] weight = random(rnd, OC * C, -1, 1);
    float[] bias = withBias ? random(rnd, OC, -1, 1) : null;
    float[] r = random(rnd, N * OC, -1, 1);
    float[] out = zeros(N * OC);
    DoubleSupplier loss = () -> {
      K.matmulForward(out, PAD, inp, PAD, weight, PAD, bias, PAD, N, C, OC);
      return dotLoss(out, r);
    };
    float[] dinp0 = random(rnd, N * C, -1, 1);
    float[] dweight0 = random(rnd, OC * C, -1, 1);
    float[] dbias0 = random(rnd, OC, -1, 1);
    float[] dinp = dinp0.clone();
    float[] dweight = dweight0.clone();
    float[] dbias = withBias ? dbias0.clone() : null;
    K.matmulBackward(dinp, PAD, dweight, PAD, dbias, PAD, r, PAD, inp, PAD, weight, PAD, N, C, OC);
    checkGradient("dinp", inp, added(dinp, dinp0), loss);
    checkGradient("dweight", weight, added(dweight, dweight0), loss);
    if (withBias) {
      checkGradient("dbias", bias, added(dbias, dbias0), loss);
    }
  }

  @Test
  void attention() {
    SplittableRandom rnd = new SplittableRandom(5);
    int B = 2;
    int T = 4;
    int C = 6;
    int NH = 2;
    float[] qkv = random(rnd, B * T * 3 * C, -2, 2); // large enough that the softmaxes are far from uniform
    float[] r = random(rnd, B * T * C, -1, 1);
    float[] out = zeros(B * T * C);
    float[] preatt = zeros(B * NH * T * T);
    float[] att = zeros(B * NH * T * T);
    DoubleSupplier loss = () -> {
      K.attentionForward(out, PAD, preatt, PAD, att, PAD, qkv, PAD, B, T, C, NH);
      return dotLoss(out, r);
    };
    loss.getAsDouble();
    float[] dqkv0 = random(rnd, B * T * 3 * C, -1, 1);
    float[] dqkv = dqkv0.clone();
    float[] dpreatt = zeros(B * NH * T * T);
    float[] datt = zeros(B * NH * T * T);
    K.attentionBackward(dqkv, PAD, dpreatt, PAD, datt, PAD, r, PAD, qkv, PAD, att, PAD, B, T, C, NH);
    checkGradient("dqkv", qkv, added(dqkv, dqkv0), loss);
  }

  @Test
  void gelu() {
    activation(6, K::geluForward, K::geluBackward);
  }

  /** An element-wise forward kernel, out = f(inp) (GELU's). */
  interface Forward {
    void run(float[] out, int outOff, float[] inp, int inpOff, int N);
  }

  /** Its backward from the forward's input: dinp += f'(inp)·dout. */
  interface Backward {
    void run(float[] dinp, int dinpOff, float[] inp, int inpOff, float[] dout, int doutOff, int N);
  }

  /** An activation's backward against central differences of its forward, on 23 inputs in [-4, 4). */
  private static void activation(long seed, Forward forward, Backward backward) {
    SplittableRandom rnd = new SplittableRandom(seed);
    int N = 23;
    float[] inp = random(rnd, N, -4, 4);
    float[] r = random(rnd, N, -1, 1);
    float[] out = zeros(N);
    DoubleSupplier loss = () -> {
      forward.run(out, PAD, inp, PAD, N);
      return dotLoss(out, r);
    };
    float[] dinp0 = random(rnd, N, -1, 1);
    float[] dinp = dinp0.clone();
    backward.run(dinp, PAD, inp, PAD, r, PAD, N);
    checkGradient("dinp", inp, added(dinp, dinp0), loss);
  }

  @Test
  void attentionBidirectional() {
    SplittableRandom rnd = new SplittableRandom(9);
    int B = 3;
    int T = 5;
    int C = 6;
    int NH = 2;
    int[] lengths = {5, 3, 1};
    float[] qkv = random(rnd, B * T * 3 * C, -2, 2);
    float[] r = random(rnd, B * T * C, -1, 1);
    float[] out = zeros(B * T * C);
    float[] preatt = zeros(B * NH * T * T);
    float[] att = zeros(B * NH * T * T);
    DoubleSupplier loss = () -> {
      K.attentionForwardBidirectional(out, PAD, preatt, PAD, att, PAD, qkv, PAD, lengths, B, T, C, NH);
      return dotLoss(out, r);
    };
    loss.getAsDouble();
    float[] dqkv0 = random(rnd, B * T * 3 * C, -1, 1);
    float[] dqkv = dqkv0.clone();
    float[] dpreatt = zeros(B * NH * T * T);
    float[] datt = zeros(B * NH * T * T);
    K.attentionBackwardBidirectional(dqkv, PAD, dpreatt, PAD, datt, PAD, r, PAD, qkv, PAD, att, PAD, lengths, B, T,
        C, NH);
    // the padded positions' q, k and v have numeric gradient 0 (they change nothing), and get 0 added
    checkGradient("dqkv", qkv, added(dqkv, dqkv0), loss);
  }

  @Test
  void geluErf() {
    activation(10, K::geluErfForward, K::geluErfBackward);
  }

  @Test
  void tanh() {
    SplittableRandom rnd = new SplittableRandom(11);
    int N = 23;
    float[] inp = random(rnd, N, -3, 3);
    float[] r = random(rnd, N, -1, 1);
    float[] out = zeros(N);
    DoubleSupplier loss = () -> {
      K.tanhForward(out, PAD, inp, PAD, N);
      return dotLoss(out, r);
    };
    loss.getAsDouble();
    float[] dinp0 = random(rnd, N, -1, 1);
    float[] dinp = dinp0.clone();
    K.tanhBackward(dinp, PAD, out, PAD, r, PAD, N);
    checkGradient("dinp", inp, added(dinp, dinp0), loss);
  }

  @Test
  void classToken() {
    SplittableRandom rnd = new SplittableRandom(12);
    int B = 2;
    int NP = 4;
    int C = 5;
    float[] patches = random(rnd, B * NP * C, -1, 1);
    float[] cls = random(rnd, C, -1, 1);
    float[] pos = random(rnd, (NP + 1) * C, -1, 1);
    float[] r = random(rnd, B * (NP + 1) * C, -1, 1);
    float[] out = zeros(B * (NP + 1) * C);
    DoubleSupplier loss = () -> {
      K.classTokenForward(out, PAD, patches, PAD, cls, PAD, pos, PAD, B, NP, C);
      return dotLoss(out, r);
    };
    float[] dpatches0 = random(rnd, B * NP * C, -1, 1);
    float[] dcls0 = random(rnd, C, -1, 1);
    float[] dpos0 = random(rnd, (NP + 1) * C, -1, 1);
    float[] dpatches = dpatches0.clone();
    float[] dcls = dcls0.clone();
    float[] dpos = dpos0.clone();
    K.classTokenBackward(dpatches, PAD, dcls, PAD, dpos, PAD, r, PAD, B, NP, C);
    checkGradient("dpatches", patches, added(dpatches, dpatches0), loss);
    checkGradient("dcls", cls, added(dcls, dcls0), loss);
    checkGradient("dpos", pos, added(dpos, dpos0), loss);
  }

  @Test
  void residual() {
    SplittableRandom rnd = new SplittableRandom(7);
    int N = 9;
    float[] inp1 = random(rnd, N, -1, 1);
    float[] inp2 = random(rnd, N, -1, 1);
    float[] r = random(rnd, N, -1, 1);
    float[] out = zeros(N);
    DoubleSupplier loss = () -> {
      K.residualForward(out, PAD, inp1, PAD, inp2, PAD, N);
      return dotLoss(out, r);
    };
    float[] dinp10 = random(rnd, N, -1, 1);
    float[] dinp20 = random(rnd, N, -1, 1);
    float[] dinp1 = dinp10.clone();
    float[] dinp2 = dinp20.clone();
    K.residualBackward(dinp1, PAD, dinp2, PAD, r, PAD, N);
    checkGradient("dinp1", inp1, added(dinp1, dinp10), loss);
    checkGradient("dinp2", inp2, added(dinp2, dinp20), loss);
  }

  @Test
  void crossEntropyThroughSoftmax() {
    SplittableRandom rnd = new SplittableRandom(8);
    int N = 3;
    int V = 5;
    int Vp = 8;
    float[] logits = random(rnd, N * Vp, -2, 2); // padded columns hold values too: they must not count
    int[] targets = tokens(rnd, N, V);
    float[] probs = zeros(N * Vp);
    float[] losses = zeros(N);
    DoubleSupplier loss = () -> {
      K.softmaxForward(probs, PAD, logits, PAD, N, V, Vp);
      K.crossEntropyForward(losses, PAD, probs, PAD, targets, N, Vp);
      double s = 0;
      for (int n = 0; n < N; n++) {
        s += losses[PAD + n];
      }
      return s / N;
    };
    loss.getAsDouble();
    float[] dlogits0 = random(rnd, N * Vp, -1, 1);
    float[] dlogits = dlogits0.clone();
    K.crossEntropySoftmaxBackward(dlogits, PAD, probs, PAD, targets, N, V, Vp);
    for (int n = 0; n < N; n++) {
      for (int i = V; i < Vp; i++) {
        assertEquals(Float.floatToRawIntBits(dlogits0[PAD + n * Vp + i]),
            Float.floatToRawIntBits(dlogits[PAD + n * Vp + i]), "padded dlogits[" + n + "," + i + "] changed");
      }
    }
    // the padded logits have numeric gradient 0, and their analytic one (nothing added) is 0 as well
    checkGradient("dlogits", logits, added(dlogits, dlogits0), loss);
  }
}
