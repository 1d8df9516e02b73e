package dev.unroll.runtime;

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
 */
public final class AdamW {
  private final float[] params;
  private final float[] grads;
  private final float[] m;
  private final float[] v;
  private float lr = 1e-3f;
  private float beta1 = 0.9f;
  private float beta2 = 0.999f;
  private float eps = 1e-8f;
  private float weightDecay = 0.01f;
  private float maxGradNorm;
  private int t;

  private AdamW(Parameters p) {
    this.params = p.values();
    this.grads = p.grads();
    this.m = new float[params.length];
    this.v = new float[params.length];
  }

  /** An optimizer for every parameter of {@code model}, with the defaults above. */
  public static AdamW of(CausalLm model) {
    return new AdamW(model.parameters());
  }

  /** An optimizer for these parameters. */
  public static AdamW of(Parameters parameters) {
    return new AdamW(parameters);
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
    double sumSq = 0;
    for (float g : grads) {
      sumSq += (double) g * g;
    }
    float norm = (float) Math.sqrt(sumSq);
    if (!Float.isFinite(norm)) {
      throw new IllegalStateException(
          "AdamW: the gradient's norm is " + norm + " (NaN or infinite gradient); parameters left unchanged");
    }
    float scale = maxGradNorm > 0 && norm > maxGradNorm ? maxGradNorm / norm : 1f;
    t++;
    float b1 = beta1;
    float b2 = beta2;
    float c1 = (float) (1.0 - Math.pow(b1, t));
    float c2 = (float) (1.0 - Math.pow(b2, t));
    float rate = lr;
    float wd = weightDecay;
    float e = eps;
    float[] p = params;
    float[] gr = grads;
    float[] mm = m;
    float[] vv = v;
    for (int i = 0; i < p.length; i++) {
      float g = gr[i] * scale;
      float mi = b1 * mm[i] + (1f - b1) * g;
      float vi = b2 * vv[i] + (1f - b2) * g * g;
      mm[i] = mi;
      vv[i] = vi;
      float mHat = mi / c1;
      float vHat = vi / c2;
      p[i] -= rate * (mHat / ((float) Math.sqrt(vHat) + e) + wd * p[i]);
    }
    return norm;
  }

  /** First moment of parameter {@code i} (for tests and inspection). */
  public float firstMoment(int i) {
    return m[i];
  }

  /** Second moment of parameter {@code i}. */
  public float secondMoment(int i) {
    return v[i];
  }

  private static float requireNonNegative(String name, float value) {
    if (!(value >= 0) || Float.isInfinite(value)) {
      throw new IllegalArgumentException(name + " must be a finite number >= 0, got " + value);
    }
    return value;
  }
}
