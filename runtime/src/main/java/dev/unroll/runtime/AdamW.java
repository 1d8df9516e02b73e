package dev.unroll.runtime;

import dev.unroll.runtime.format.CheckpointException;
import dev.unroll.runtime.format.CheckpointIo;
import dev.unroll.runtime.format.Safetensors;
import dev.unroll.runtime.thread.WorkerPool;
import dev.unroll.runtime.train.DeviceParameters;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
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
 * <p>{@link #saveCheckpoint} writes a training checkpoint (the model's parameters with this optimizer's whole state)
 * and {@link #loadCheckpoint} restores one, so that a run stopped at any step continues with the same bits.
 *
 * <p>The update is vectorised and split over the {@link WorkerPool}; every parameter gets the same operations, in
 * the same order and without fused multiply-adds, as the scalar formula in {@link #step()}'s loop, so the result
 * does not depend on the vector length or the thread count. The gradient's squared norm is summed in double, in
 * fixed chunks of {@value #NORM_CHUNK} values whose partial sums are then added in order: also independent of the
 * thread count.
 */
public final class AdamW {
  /** The model whose parameters these are, for training checkpoints; null when made from bare parameters. */
  private final Trainable model;
  private final Parameters parameters;
  private final float[] params;
  private final float[] grads;
  /** Where the parameters live when the model is on a device (OPENCL), or null: the moments are there too. */
  private final DeviceParameters device;
  /** The parameters this optimizer updates, [shardFrom, shardTo): all of them unless it is one rank's shard. */
  private final int shardFrom;
  private final int shardTo;
  /** The moments of parameters [shardFrom, shardTo), at index i - shardFrom. */
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

  private AdamW(Trainable model, Parameters p, DeviceParameters device) {
    this(model, p, device, 0, p.count());
  }

  private AdamW(Trainable model, Parameters p, DeviceParameters device, int shardFrom, int shardTo) {
    this.model = model;
    this.parameters = p;
    this.shardFrom = shardFrom;
    this.shardTo = shardTo;
    this.params = p.values();
    this.grads = p.requireGrads("AdamW");
    this.device = device;
    boolean host = device == null;
    this.m = new float[host ? shardTo - shardFrom : 0];
    this.v = new float[host ? shardTo - shardFrom : 0];
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
    return new AdamW(model, model.parameters(), model.deviceParameters());
  }

  /**
   * An optimizer that keeps AdamW's moments for, and updates, only parameters {@code [from, to)} of {@code model},
   * leaving the others as they are: one rank's shard of the optimizer's state under ZeRO-1 (see {@code
   * dev.unroll.runtime.mpi.DataParallel}, which gathers the updated shards). Its moments take {@code to - from}
   * floats each instead of the whole model's. The gradient's norm (for clipping) is still the whole gradient's, so
   * every shard scales alike; each parameter gets the bits the unsharded optimizer would give it.
   *
   * @throws IllegalArgumentException when the range is not within the parameters, or the model's parameters live
   *     on a device (not yet supported)
   */
  public static AdamW ofShard(Trainable model, int from, int to) {
    Parameters p = model.parameters();
    if (from < 0 || to < from || to > p.count()) {
      throw new IllegalArgumentException("shard [" + from + ", " + to + ") is not within the " + p.count()
          + " parameters");
    }
    if (model.deviceParameters() != null) {
      throw new IllegalArgumentException("a sharded AdamW needs the parameters on the host (SCALAR or SIMD); "
          + model.backend() + " keeps them on its device");
    }
    return new AdamW(model, p, null, from, to);
  }

  /** An optimizer for these parameters, held in Java arrays (for a device model use {@link #of(Trainable)}). */
  public static AdamW of(Parameters parameters) {
    return new AdamW(null, parameters, null);
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
    int n = shardTo - shardFrom;
    // the update streams four arrays, so its time goes with bytes, not its ~16 operations a parameter: counted as
    // 2 a parameter, like the other streaming kernels (measured at the tiny shape, 109k parameters: 61 us alone,
    // 76 us shared; at baby, 812k: 394 us alone, 308 us shared)
    WorkerPool pool = WorkerPool.acquire(2L * n);
    if (pool == null) {
      updateRange(this, scale, c1, c2, 0, n);
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
      updateRange(opt, scale, c1, c2, from, to);
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
   * Moments [from, to) of {@code o} and their parameters: the whole arena's loop when {@code o} holds every
   * parameter's moments, else the shard's, whose moments are offset from their parameters.
   */
  private static void updateRange(AdamW o, float scale, float c1, float c2, int from, int to) {
    if (o.shardFrom == 0) {
      update(o.params, o.grads, o.m, o.v, scale, o.beta1, o.beta2, c1, c2, o.lr, o.weightDecay, o.eps, from, to);
    } else {
      updateShard(o.params, o.grads, o.m, o.v, o.shardFrom, scale, o.beta1, o.beta2, c1, c2, o.lr, o.weightDecay,
          o.eps, from, to);
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
    updateShard(p, gr, mm, vv, 0, scale, b1, b2, c1, c2, rate, wd, e, i, to); // the tail, one at a time
  }

  /**
   * {@link #update} of one shard: moments [from, to), which belong to parameters [base + from, base + to). The same
   * operations per parameter, so the same bits. A scalar loop of its own: one vector loop for both, with the
   * parameters offset from the moments, made the whole-arena loop allocate (C2 left its vectors boxed: 3 MB in ten
   * steps of ParallelKernelsTest); a vectorised shard loop is still to be written and measured.
   */
  private static void updateShard(float[] p, float[] gr, float[] mm, float[] vv, int base, float scale, float b1,
      float b2, float c1, float c2, float rate, float wd, float e, int from, int to) {
    float omb1 = 1f - b1;
    float omb2 = 1f - b2;
    for (int i = from; i < to; i++) {
      int j = base + i;
      float g = gr[j] * scale;
      float mi = b1 * mm[i] + omb1 * g;
      float vi = b2 * vv[i] + omb2 * g * g;
      mm[i] = mi;
      vv[i] = vi;
      float mHat = mi / c1;
      float vHat = vi / c2;
      p[j] -= rate * (mHat / ((float) Math.sqrt(vHat) + e) + wd * p[j]);
    }
  }

  /** First moment of parameter {@code i} (for tests and inspection). */
  public float firstMoment(int i) {
    return device != null ? device.moment(false, i) : m[inShard(i)];
  }

  /** Second moment of parameter {@code i}. */
  public float secondMoment(int i) {
    return device != null ? device.moment(true, i) : v[inShard(i)];
  }

  /** Moments held: the whole model's, or one shard's ({@link #ofShard}). */
  public int momentCount() {
    return device != null ? params.length : m.length;
  }

  private int inShard(int i) {
    if (i < shardFrom || i >= shardTo) {
      throw new IndexOutOfBoundsException("parameter " + i + " is outside this optimizer's shard [" + shardFrom
          + ", " + shardTo + ")");
    }
    return i - shardFrom;
  }

  // ---------------------------------------------------------------------------------------------------------
  // Training checkpoints

  /** Metadata key that marks a training checkpoint, and its value. */
  static final String KIND_KEY = "unroll.checkpoint";
  static final String KIND = "training";
  static final String OPTIMIZER_KEY = "unroll.optimizer";
  static final String STEP_KEY = "unroll.adamw.step";
  /** The names of each moment's tensors: PyTorch's names of AdamW's state, before the parameter's name. */
  static final String FIRST_MOMENT = CheckpointIo.OPTIMIZER_PREFIX + "exp_avg.";
  static final String SECOND_MOMENT = CheckpointIo.OPTIMIZER_PREFIX + "exp_avg_sq.";

  /** The hyperparameters, each under its metadata key, read and written as exact float strings. */
  private enum Hyper {
    LR("unroll.adamw.lr"),
    BETA1("unroll.adamw.beta1"),
    BETA2("unroll.adamw.beta2"),
    EPS("unroll.adamw.eps"),
    WEIGHT_DECAY("unroll.adamw.weight_decay"),
    MAX_GRAD_NORM("unroll.adamw.max_grad_norm");

    final String key;

    Hyper(String key) {
      this.key = key;
    }

    float of(State s) {
      return switch (this) {
        case LR -> s.lr;
        case BETA1 -> s.beta1;
        case BETA2 -> s.beta2;
        case EPS -> s.eps;
        case WEIGHT_DECAY -> s.weightDecay;
        case MAX_GRAD_NORM -> s.maxGradNorm;
      };
    }
  }

  /**
   * AdamW's state besides the parameters: the step count, every hyperparameter, a caller's strings ({@code extra},
   * kept with a training checkpoint; no key may begin with {@code unroll.}), and both moments of the parameters an
   * optimizer holds ({@code firstMoments[i]} is parameter {@code i}'s, or under a shard {@link #ofShard}'s {@code
   * from + i}'s). What {@link #saveCheckpoint} writes besides the parameters, in parts that {@code
   * dev.unroll.runtime.mpi.DataParallel} moves between ranks: {@link #state}, {@link #restore}, {@link
   * #writeCheckpoint}, {@link #readCheckpoint}.
   *
   * @throws IllegalArgumentException when a value is out of its range (as the setters check it), the moments'
   *     lengths differ, or a key of {@code extra} begins with {@code unroll.}
   */
  public record State(int step, float lr, float beta1, float beta2, float eps, float weightDecay, float maxGradNorm,
      Map<String, String> extra, float[] firstMoments, float[] secondMoments) {
    public State {
      if (step < 0) {
        throw new IllegalArgumentException("step must be >= 0, got " + step);
      }
      for (Hyper h : Hyper.values()) {
        requireNonNegative(h.key, h.of(this));
      }
      if (!(beta1 < 1 && beta2 < 1)) {
        throw new IllegalArgumentException("betas must be in [0, 1), got " + beta1 + ", " + beta2);
      }
      if (firstMoments.length != secondMoments.length) {
        throw new IllegalArgumentException("moments of " + firstMoments.length + " and " + secondMoments.length
            + " parameters");
      }
      for (String key : extra.keySet()) {
        if (key.startsWith("unroll.")) {
          throw new IllegalArgumentException("checkpoint state key " + key + ": keys beginning with unroll. are the "
              + "checkpoint's own");
        }
      }
      extra = Collections.unmodifiableMap(new LinkedHashMap<>(extra));
    }

    /** This state with other moments (a shard's gathered into the whole, or the whole's cut into a shard). */
    public State withMoments(float[] first, float[] second) {
      return new State(step, lr, beta1, beta2, eps, weightDecay, maxGradNorm, extra, first, second);
    }
  }

  /**
   * A copy of this optimizer's state, with {@code extra} as its caller's strings: the moments it holds (read from the
   * device on {@link Backend#OPENCL}), the step and the hyperparameters.
   *
   * @throws IllegalArgumentException when a key of {@code extra} begins with {@code unroll.}
   */
  public State state(Map<String, String> extra) {
    float[] first = m.clone();
    float[] second = v.clone();
    if (device != null) {
      first = new float[params.length];
      second = new float[params.length];
      device.readMoments(first, second);
    }
    return new State(t, lr, beta1, beta2, eps, weightDecay, maxGradNorm, extra, first, second);
  }

  /**
   * Sets this optimizer's moments, step and hyperparameters from {@code s} (the parameters are the model's to set):
   * all at once, after checking that {@code s} holds as many moments as this optimizer does.
   *
   * @throws IllegalArgumentException when {@code s} holds moments of another number of parameters
   */
  public void restore(State s) {
    if (s.firstMoments.length != momentCount()) {
      throw new IllegalArgumentException("the state holds moments of " + s.firstMoments.length + " parameters; this "
          + "optimizer holds " + momentCount());
    }
    if (device != null) {
      device.writeMoments(s.firstMoments, s.secondMoments);
    } else {
      System.arraycopy(s.firstMoments, 0, m, 0, m.length);
      System.arraycopy(s.secondMoments, 0, v, 0, v.length);
    }
    t = s.step;
    lr = s.lr;
    beta1 = s.beta1;
    beta2 = s.beta2;
    eps = s.eps;
    weightDecay = s.weightDecay;
    maxGradNorm = s.maxGradNorm;
  }

  /**
   * Writes a training checkpoint to {@code path}: the model's parameters as {@link Trainable#save} writes them (a
   * plain {@code load} reads the file as a model), this optimizer's moments as tensors {@code optimizer.exp_avg.<name>}
   * and {@code optimizer.exp_avg_sq.<name>} in the parameters' arena shapes (not transposed as some parameters are
   * for Hugging Face), and in the metadata the step count, every hyperparameter (as exact float strings), the shape,
   * {@code state} (the caller's own: a trainer's position in its data, say) and a CRC32C of the whole file. Written
   * atomically: a temporary file beside {@code path}, forced to the disk, renamed over it, the folder forced. On
   * {@link Backend#OPENCL} the parameters and moments are read from the device first.
   *
   * @param state strings to keep with the checkpoint; their keys must not begin with {@code unroll.}
   * @throws IllegalStateException when this optimizer was made from bare {@link Parameters}, without a model, or
   *     holds one shard of the state (use {@code DataParallel.saveCheckpoint}, which gathers the shards)
   * @throws IllegalArgumentException when a key of {@code state} begins with {@code unroll.}
   */
  public void saveCheckpoint(Path path, Map<String, String> state) throws IOException {
    writeCheckpoint(requireModel(), path, state(state));
  }

  /**
   * {@link #saveCheckpoint} of {@code model}'s parameters with state {@code s}, whose moments must be the whole
   * model's (a sharded optimizer's gathered first).
   *
   * @throws IllegalArgumentException when {@code s} holds moments of another number of parameters than the model's
   */
  public static void writeCheckpoint(Trainable model, Path path, State s) throws IOException {
    Parameters parameters = model.parameters();
    if (s.firstMoments.length != parameters.count()) {
      throw new IllegalArgumentException("the state holds moments of " + s.firstMoments.length + " parameters; the "
          + "model has " + parameters.count() + ": gather a shard's moments before writing them");
    }
    Safetensors.Contents contents = model.safetensors(path);
    List<Safetensors.Entry> moments = new ArrayList<>(2 * parameters.tensors().size());
    for (ParamTensor t : parameters.tensors()) {
      moments.add(Safetensors.Entry.of(FIRST_MOMENT + t.name(), t.shape(), s.firstMoments, t.offset()));
      moments.add(Safetensors.Entry.of(SECOND_MOMENT + t.name(), t.shape(), s.secondMoments, t.offset()));
    }
    Map<String, String> metadata = new LinkedHashMap<>();
    metadata.put(KIND_KEY, KIND);
    metadata.put(OPTIMIZER_KEY, "AdamW");
    metadata.put(STEP_KEY, Integer.toString(s.step));
    for (Hyper h : Hyper.values()) {
      metadata.put(h.key, Float.toString(h.of(s)));
    }
    metadata.putAll(s.extra);
    contents.plus(metadata, moments).writeChecksummed(path);
  }

  /**
   * Restores a training checkpoint that {@link #saveCheckpoint} wrote: verifies its checksum, then sets the model's
   * parameters, both moments, the step count and every hyperparameter (lr, betas, eps, weight decay, clipping) from
   * it, so that the next {@link #step()} computes what the run that wrote it would have computed next, to the bit.
   * All or nothing: on any exception the model and this optimizer are as they were.
   *
   * @return the {@code state} the checkpoint was saved with (unmodifiable)
   * @throws CheckpointException naming the file: its checksum does not match (corrupt or truncated), it is no
   *     training checkpoint (a plain {@code save}), it was saved from another shape, or its state is malformed
   * @throws IllegalStateException when this optimizer was made from bare {@link Parameters}, without a model, or
   *     holds one shard of the state (use {@code DataParallel.loadCheckpoint}, which hands each rank its shard)
   */
  public Map<String, String> loadCheckpoint(Path path) throws IOException {
    Trainable owner = requireModel();
    State s = readCheckpoint(owner, path);
    owner.loadParameters(path); // all or nothing; nothing of the optimizer is changed before it succeeds
    restore(s);
    return s.extra;
  }

  /**
   * The optimizer's state in the training checkpoint at {@code path}, for {@code model} (whose shape it must have):
   * the whole model's moments, the step, the hyperparameters and the caller's strings, after the file's checksum,
   * kind, shape and every field are verified. Changes nothing: the parameters are {@link Trainable#loadParameters}'s
   * to load, the state {@link #restore}'s to install.
   *
   * @throws CheckpointException naming the file, as {@link #loadCheckpoint} says
   */
  public static State readCheckpoint(Trainable model, Path path) throws IOException {
    Parameters parameters = model.parameters();
    float[] first = new float[parameters.count()];
    float[] second = new float[parameters.count()];
    float[] hyper = new float[Hyper.values().length];
    int step;
    Map<String, String> state = new LinkedHashMap<>();
    try (Safetensors st = Safetensors.open(path)) {
      Map<String, String> meta = st.metadata();
      if (!KIND.equals(meta.get(KIND_KEY))) {
        throw new CheckpointException(path, "is not a training checkpoint (its metadata has no " + KIND_KEY + "="
            + KIND + "): a model's save writes weights only; AdamW.saveCheckpoint writes the optimizer's state too");
      }
      st.verifyChecksum();
      String describe = model.shape().describe();
      String saved = meta.get(CheckpointIo.SHAPE_KEY);
      if (!describe.equals(saved)) {
        throw new CheckpointException(path, "was saved from a model with " + saved + "; this model has " + describe);
      }
      if (!"AdamW".equals(meta.get(OPTIMIZER_KEY))) {
        throw new CheckpointException(path, "holds the state of optimizer " + meta.get(OPTIMIZER_KEY) + ", not AdamW");
      }
      step = nonNegativeInt(path, meta, STEP_KEY);
      for (Hyper h : Hyper.values()) {
        hyper[h.ordinal()] = finiteFloat(path, meta, h.key);
      }
      if (!(hyper[Hyper.BETA1.ordinal()] < 1 && hyper[Hyper.BETA2.ordinal()] < 1)) {
        throw new CheckpointException(path, "has betas outside [0, 1)");
      }
      for (ParamTensor t : parameters.tensors()) {
        readMoment(st, FIRST_MOMENT + t.name(), t, first);
        readMoment(st, SECOND_MOMENT + t.name(), t, second);
      }
      for (Map.Entry<String, String> e : meta.entrySet()) {
        if (!e.getKey().startsWith("unroll.") && !e.getKey().equals("format")) {
          state.put(e.getKey(), e.getValue());
        }
      }
    }
    return new State(step, hyper[Hyper.LR.ordinal()], hyper[Hyper.BETA1.ordinal()], hyper[Hyper.BETA2.ordinal()],
        hyper[Hyper.EPS.ordinal()], hyper[Hyper.WEIGHT_DECAY.ordinal()], hyper[Hyper.MAX_GRAD_NORM.ordinal()], state,
        first, second);
  }

  private Trainable requireModel() {
    if (shardTo - shardFrom != params.length) {
      throw new IllegalStateException("this AdamW holds one shard [" + shardFrom + ", " + shardTo + ") of the "
          + "optimizer's state: DataParallel.saveCheckpoint and loadCheckpoint move the shards between the ranks and "
          + "the one file");
    }
    if (model == null) {
      throw new IllegalStateException("this AdamW was made from bare Parameters; training checkpoints need the "
          + "model: make it with AdamW.of(model)");
    }
    return model;
  }

  /** Reads one moment tensor of the file into {@code dst} at the parameter's offset, checking name and shape. */
  private static void readMoment(Safetensors st, String name, ParamTensor t, float[] dst) throws IOException {
    Safetensors.Tensor f = st.tensors().get(name);
    if (f == null) {
      throw new CheckpointException(st.path(), "has no tensor " + name + ": it is no complete AdamW checkpoint");
    }
    if (!f.hasShape(t.shape()) || f.dtype() != Safetensors.Dtype.F32) {
      throw new CheckpointException(st.path(), "tensor " + name + " is " + f.dtype() + Arrays.toString(f.shape())
          + " but the parameter is F32" + Arrays.toString(t.shape()));
    }
    st.readFloats(name, dst, t.offset());
  }

  private static int nonNegativeInt(Path path, Map<String, String> meta, String key) throws CheckpointException {
    String value = meta.get(key);
    try {
      int n = Integer.parseInt(value == null ? "" : value);
      if (n >= 0) {
        return n;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw new CheckpointException(path, "metadata " + key + " is " + (value == null ? "missing" : "'" + value + "'")
        + ", not a whole number >= 0");
  }

  private static float finiteFloat(Path path, Map<String, String> meta, String key) throws CheckpointException {
    String value = meta.get(key);
    try {
      float x = Float.parseFloat(value == null ? "" : value);
      if (Float.isFinite(x) && x >= 0) {
        return x;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw new CheckpointException(path, "metadata " + key + " is " + (value == null ? "missing" : "'" + value + "'")
        + ", not a finite number >= 0");
  }

  private static float requireNonNegative(String name, float value) {
    if (!(value >= 0) || Float.isInfinite(value)) {
      throw new IllegalArgumentException(name + " must be a finite number >= 0, got " + value);
    }
    return value;
  }
}
