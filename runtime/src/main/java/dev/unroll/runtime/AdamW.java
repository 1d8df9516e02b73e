package dev.unroll.runtime;

import dev.unroll.runtime.thread.WorkerPool;
import dev.unroll.runtime.train.DeviceParameters;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * AdamW with bias correction and decoupled weight decay, as llm.c's CPU trainer computes it, plus optional
 * clipping of the gradient by its global L2 norm. Moments are allocated once, here; {@link #step()} allocates
 * nothing.
 *
 * <pre>{@code
 * AdamW opt = AdamW.of(model).lr(1e-3f).weightDecay(0.1f).clipGradNorm(1f);
 * model.forward(x, y); model.zeroGrad(); model.backward(); opt.step();
 * }</pre>
 *
 * <p>Defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight decay 0.01, no clipping. Weight decay applies to
 * every parameter, as in llm.c's CPU reference.
 *
 * <p>The update is vectorised and split over the {@link WorkerPool}; every parameter gets the same operations, in
 * the same order and without fused multiply-adds, as the scalar formula in {@link #step()}'s loop, so the result
 * does not depend on the vector length or the thread count. The gradient's squared norm is summed in double, in
 * fixed chunks of {@value #NORM_CHUNK} values whose partial sums are then added in order: also independent of the
 * thread count.
 */
public final class AdamW {
  private final float[] params;
  private final float[] grads;
  /** Where the parameters live when the model is on a device (OPENCL), or null: the moments are there too. */
  private final DeviceParameters device;
  private final float[] m;
  private final float[] v;
  /** Partial sums of squares of the gradient, one per chunk of {@link #NORM_CHUNK} values. */
  private final double[] partials;
  private float lr = 1e-3f;
  private float beta1 = 0.9f;
  private float beta2 = 0.999f;
  private float eps = 1e-8f;
  private float weightDecay = 0.01f;
  private float maxGradNorm;
  private int t;

  private AdamW(Parameters p, DeviceParameters device) {
    this.params = p.values();
    this.grads = p.grads();
    this.device = device;
    boolean host = device == null;
    this.m = new float[host ? params.length : 0];
    this.v = new float[host ? params.length : 0];
    this.partials = new double[host ? (params.length + NORM_CHUNK - 1) / NORM_CHUNK : 0];
    if (!host) {
      device.resetAdamW();
    }
  }

  /** Gradient values per partial sum of the norm; fixed, so the sum does not depend on the thread count. */
  static final int NORM_CHUNK = 1 << 14;

  private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

  /**
   * An optimizer for every parameter of {@code model}, with the defaults above. On {@code Backend.OPENCL} the
   * moments and the update live on the device, beside the parameters.
   */
  public static AdamW of(Trainable model) {
    return new AdamW(model.parameters(), model.deviceParameters());
  }

  /** An optimizer for these parameters, held in Java arrays (for a device model use {@link #of(Trainable)}). */
  public static AdamW of(Parameters parameters) {
    return new AdamW(parameters, null);
  }

  /** Sets the learning rate (may change between steps, for schedules). */
  public AdamW lr(float lr) {
    this.lr = requireNonNegative("lr", lr);
    return this;
  }

  public float lr() {
    return lr;
  }

  /** Sets the decay rates of the first and second moments, each in [0, 1). */
  public AdamW betas(float beta1, float beta2) {
    if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1)) {
      throw new IllegalArgumentException("betas must be in [0, 1), got " + beta1 + ", " + beta2);
    }
    this.beta1 = beta1;
    this.beta2 = beta2;
    return this;
  }

  public AdamW eps(float eps) {
    this.eps = requireNonNegative("eps", eps);
    return this;
  }

  /** Decoupled weight decay: each step subtracts {@code lr * weightDecay * param}. */
  public AdamW weightDecay(float weightDecay) {
    this.weightDecay = requireNonNegative("weightDecay", weightDecay);
    return this;
  }

  /** Scales the gradient down when its global L2 norm exceeds {@code maxNorm}; 0 turns clipping off. */
  public AdamW clipGradNorm(float maxNorm) {
    this.maxGradNorm = requireNonNegative("maxNorm", maxNorm);
    return this;
  }

  /** Number of steps taken. */
  public int steps() {
    return t;
  }

  /**
   * Updates every parameter from its gradient.
   *
   * @return the global L2 norm of the gradient, before clipping
   * @throws IllegalStateException when the gradient holds NaN or infinity; then nothing is changed
   */
  public float step() {
    float norm = (float) Math.sqrt(device != null ? device.gradientSumOfSquares() : sumOfSquares());
    if (!Float.isFinite(norm)) {
      throw new IllegalStateException(
          "AdamW: the gradient's norm is " + norm + " (NaN or infinite gradient); parameters left unchanged");
    }
    float scale = maxGradNorm > 0 && norm > maxGradNorm ? maxGradNorm / norm : 1f;
    t++;
    float c1 = (float) (1.0 - Math.pow(beta1, t));
    float c2 = (float) (1.0 - Math.pow(beta2, t));
    if (device != null) {
      device.adamw(scale, beta1, beta2, c1, c2, lr, weightDecay, eps);
      return norm;
    }
    int n = params.length;
    WorkerPool pool = WorkerPool.acquire(16L * n);
    if (pool == null) {
      update(params, grads, m, v, scale, beta1, beta2, c1, c2, lr, weightDecay, eps, 0, n);
    } else {
      UPDATE.opt = this;
      UPDATE.scale = scale;
      UPDATE.c1 = c1;
      UPDATE.c2 = c2;
      pool.run(UPDATE, n, S.length());
    }
    return norm;
  }

  /** The gradient's squared L2 norm: chunk sums in double (in parallel), added in chunk order. */
  private double sumOfSquares() {
    int chunks = partials.length;
    WorkerPool pool = WorkerPool.acquire(2L * grads.length);
    if (pool == null) {
      sumSquares(grads, partials, 0, chunks);
    } else {
      SUM_SQUARES.grads = grads;
      SUM_SQUARES.partials = partials;
      pool.run(SUM_SQUARES, chunks, 1);
    }
    double sumSq = 0;
    for (int c = 0; c < chunks; c++) {
      sumSq += partials[c];
    }
    return sumSq;
  }

  /** {@link #sumOfSquares}' chunks. */
  private static final class SumSquaresJob extends WorkerPool.Job {
    float[] grads;
    double[] partials;

    @Override
    protected void run(int from, int to) {
      sumSquares(grads, partials, from, to);
    }

    @Override
    protected void clear() {
      grads = null;
      partials = null;
    }
  }

  /** Filled only by the pool's owner (see {@link WorkerPool}), so one serves every optimizer. */
  private static final SumSquaresJob SUM_SQUARES = new SumSquaresJob();

  /**
   * {@link #step}'s parameters, by ranges of whole vectors: the optimizer (its arrays and hyperparameters, which do
   * not change during a step) and the step's gradient scale and bias corrections.
   */
  private static final class UpdateJob extends WorkerPool.Job {
    AdamW opt;
    float scale;
    float c1;
    float c2;

    @Override
    protected void run(int from, int to) {
      AdamW o = opt;
      update(o.params, o.grads, o.m, o.v, scale, o.beta1, o.beta2, c1, c2, o.lr, o.weightDecay, o.eps, from, to);
    }

    @Override
    protected void clear() {
      opt = null;
    }
  }

  private static final UpdateJob UPDATE = new UpdateJob();

  /** partials[c] = sum in double of g² over chunk c, for chunks [from, to); four interleaved running sums. */
  private static void sumSquares(float[] g, double[] partials, int from, int to) {
    for (int c = from; c < to; c++) {
      int start = c * NORM_CHUNK;
      int end = Math.min(g.length, start + NORM_CHUNK);
      double s0 = 0;
      double s1 = 0;
      double s2 = 0;
      double s3 = 0;
      int i = start;
      for (; i + 4 <= end; i += 4) {
        s0 += (double) g[i] * g[i];
        s1 += (double) g[i + 1] * g[i + 1];
        s2 += (double) g[i + 2] * g[i + 2];
        s3 += (double) g[i + 3] * g[i + 3];
      }
      for (; i < end; i++) {
        s0 += (double) g[i] * g[i];
      }
      partials[c] = (s0 + s1) + (s2 + s3);
    }
  }

  /**
   * The AdamW update of parameters [from, to): for each i, with g = grad[i]·scale,
   * {@code m = b1·m + (1-b1)·g; v = b2·v + (1-b2)·g·g; p -= lr·((m/c1) / (sqrt(v/c2) + eps) + wd·p)}. The vector
   * body performs exactly these float operations (no fused multiply-add; sqrt is correctly rounded in both), so
   * it gives the same bits as the scalar tail would.
   */
  private static void update(float[] p, float[] gr, float[] mm, float[] vv, float scale, float b1, float b2,
      float c1, float c2, float rate, float wd, float e, int from, int to) {
    float omb1 = 1f - b1;
    float omb2 = 1f - b2;
    int i = from;
    int bound = from + S.loopBound(to - from);
    if (i < bound) {
      FloatVector vScale = FloatVector.broadcast(S, scale);
      FloatVector vb1 = FloatVector.broadcast(S, b1);
      FloatVector vb2 = FloatVector.broadcast(S, b2);
      FloatVector vomb1 = FloatVector.broadcast(S, omb1);
      FloatVector vomb2 = FloatVector.broadcast(S, omb2);
      FloatVector vc1 = FloatVector.broadcast(S, c1);
      FloatVector vc2 = FloatVector.broadcast(S, c2);
      FloatVector vRate = FloatVector.broadcast(S, rate);
      FloatVector vWd = FloatVector.broadcast(S, wd);
      FloatVector vEps = FloatVector.broadcast(S, e);
      int L = S.length();
      for (; i < bound; i += L) {
        FloatVector g = FloatVector.fromArray(S, gr, i).mul(vScale);
        FloatVector mi = vb1.mul(FloatVector.fromArray(S, mm, i)).add(vomb1.mul(g));
        FloatVector vi = vb2.mul(FloatVector.fromArray(S, vv, i)).add(vomb2.mul(g).mul(g));
        mi.intoArray(mm, i);
        vi.intoArray(vv, i);
        FloatVector mHat = mi.div(vc1);
        FloatVector vHat = vi.div(vc2);
        FloatVector pi = FloatVector.fromArray(S, p, i);
        FloatVector step = mHat.div(vHat.sqrt().add(vEps)).add(vWd.mul(pi));
        pi.sub(vRate.mul(step)).intoArray(p, i);
      }
    }
    for (; i < to; i++) {
      float g = gr[i] * scale;
      float mi = b1 * mm[i] + omb1 * g;
      float vi = b2 * vv[i] + omb2 * g * g;
      mm[i] = mi;
      vv[i] = vi;
      float mHat = mi / c1;
      float vHat = vi / c2;
      p[i] -= rate * (mHat / ((float) Math.sqrt(vHat) + e) + wd * p[i]);
    }
  }

  /** First moment of parameter {@code i} (for tests and inspection). */
  public float firstMoment(int i) {
    return device != null ? device.moment(false, i) : m[i];
  }

  /** Second moment of parameter {@code i}. */
  public float secondMoment(int i) {
    return device != null ? device.moment(true, i) : v[i];
  }

  private static float requireNonNegative(String name, float value) {
    if (!(value >= 0) || Float.isInfinite(value)) {
      throw new IllegalArgumentException(name + " must be a finite number >= 0, got " + value);
    }
    return value;
  }
}
