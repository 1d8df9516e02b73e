package dev.unroll.samples;

import dev.unroll.runtime.AdamW;
import dev.unroll.runtime.Trainable;
import dev.unroll.runtime.mpi.DataParallel;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * The samples' training loop, one for every task: the learning rate of {@link Schedule#cosine} at each step, forward,
 * zeroGrad, backward, the optimizer's step, the progress display and the loss curve; the held-out loss before the
 * first step, every {@code evalEvery} steps and after the last ({@link Data#finalHeldOutLoss}; its time not counted
 * as training); training
 * checkpoints as {@link Options.Checkpoints} asks, and {@code --resume} from them.
 *
 * <p>A checkpoint holds, besides the model and AdamW's state ({@link AdamW#saveCheckpoint}), everything else the rest
 * of the run depends on: the step, the data's random state and order ({@link Data#save}), the loss curve so far and
 * the display's smoothed loss. A resumed run therefore takes the steps the uninterrupted run would have taken, bit
 * for bit: the same batches, the same learning rate at each step, the same losses, the same model at the end. It
 * also holds what identifies the run ({@code --task}, {@code --seed}, {@code --steps}, {@code --lr}, the model's
 * shape, the text's size and hash), and a resume with other options is refused, naming them.
 *
 * <p>Under {@code mpirun} ({@link Ranks}) every rank trains a replica, data-parallel ({@link DataParallel}): every
 * rank draws the same global batch of ranks x batch rows from the same generator and keeps rows
 * {@code [rank * batch, (rank + 1) * batch)}; after backward the gradients are averaged over the ranks, AdamW's moments
 * are sharded across them (ZeRO-1) and the updated slices gathered, so every rank holds the same parameters after
 * every step. The loss reported is the ranks' mean. With one rank that is the run of one process, bit for bit; a
 * checkpoint holds no rank's own state, so a run resumes on any number of ranks (a different number changes the
 * effective batch from there, which the run says).
 */
final class Training {
  /** The keys of what the loop itself saves; a task's data saves under {@code data.}. */
  private static final String STEP = "train.step";
  private static final String SMOOTHED = "train.smoothedLoss";
  private static final String BACKEND = "run.backend";
  /** The ranks that wrote a checkpoint: not part of the identity, as a run may resume on another number. */
  private static final String RANKS = "run.ranks";
  private static final String IDENTITY = "run.";
  private static final String RNG = "data.rng";

  /** What a task's data gives the loop. */
  interface Data {
    /**
     * Draws the next training example from {@link #rng()} (and whatever else orders the data) and writes it into row
     * {@code row} of the model's batch, or, when {@code row} is -1 (the example is another rank's), draws it only.
     */
    void draw(int row);

    /** Runs forward on the batch that {@link #draw} filled; the loss. */
    float forward();

    /** The loss over the held-out examples (forward only), for the loss curve. */
    float heldOutLoss();

    /**
     * The held-out loss after the last step, the run's result: {@link #heldOutLoss()} unless the task measures more
     * thoroughly there than it can afford to every few steps (the text's whole held-out split).
     */
    default float finalHeldOutLoss() {
      return heldOutLoss();
    }

    /** The generator the training batches are drawn from. */
    Rng rng();

    /** Writes what the next batches depend on into a checkpoint's state: the generator's state, by default. */
    default void save(TrainingState state) {
      state.putLong(RNG, rng().state());
    }

    /** Sets what {@link #save} wrote. */
    default void restore(TrainingState state) throws SampleException {
      rng().state(state.getLong(RNG));
    }

    /** Adds what identifies the data beyond the options (a text's content), by the option that chose it. */
    default void identify(Map<String, String> identity) {}

    /** A line to print once the held-out loss of {@code step} is measured, or null for none. */
    default String report(int step, float heldOutLoss, float smoothedLoss) {
      return null;
    }
  }

  /**
   * How long and how fast a run trains.
   *
   * @param steps steps to take
   * @param lr the peak learning rate
   * @param warmup steps of linear warmup before the cosine
   * @param evalEvery steps between measurements of the held-out loss
   * @param batch rows of the model's batch: the examples {@link Data#draw} writes each step
   * @param perStep examples per step (per rank), for the display's rate
   * @param unit what an example is called in the display's rate ("tok" for tokens/s)
   */
  record Plan(int steps, float lr, int warmup, int evalEvery, int batch, long perStep, String unit) {}

  /**
   * A run that cannot go on as asked: its checkpoints cannot be resumed from or written. {@link Main} reports it as
   * it reports a {@link SampleException}, whose message it carries. Unchecked, so that it passes through a task's
   * training code, which has no checkpoint of its own to handle.
   */
  static final class Stopped extends RuntimeException {
    private static final long serialVersionUID = 1L;

    Stopped(SampleException cause) {
      super(cause.getMessage(), cause);
    }
  }

  private final Options options;
  private final Trainable model;
  private final AdamW opt;
  private final LossCurve curve;
  private final PrintStream out;
  private final Ranks ranks;
  /** Data parallelism across {@link #ranks}, or null in one process. */
  private final DataParallel dp;
  /** Whether {@link #opt} holds this rank's slice of AdamW's moments only (ZeRO-1). */
  private final boolean sharded;
  private final CheckpointFolder checkpoints;
  /** A step's loss and rank 0's "checkpoint now", summed over the ranks in one all-reduce. */
  private final float[] perStep = new float[2];
  private float heldOutLoss = Float.NaN;
  private boolean usedCheckpoints;

  /**
   * A loop that trains {@code model} as {@code options} say, into {@code curve}, with an AdamW that {@code configure}
   * sets up: {@code AdamW.of(model)}'s in one process, a ZeRO-1 shard's ({@link DataParallel#shardedAdamW}) under
   * {@code mpirun}.
   */
  Training(Options options, Trainable model, UnaryOperator<AdamW> configure, LossCurve curve, PrintStream out) {
    this.options = options;
    this.model = model;
    this.curve = curve;
    this.out = out;
    this.ranks = Ranks.world();
    this.dp = ranks.parallel() ? DataParallel.of(model) : null;
    // ZeRO-1 where the moments live on the host; OPENCL keeps them on its device, unsharded.
    this.sharded = dp != null && model.deviceParameters() == null;
    this.opt = configure.apply(sharded ? dp.shardedAdamW() : AdamW.of(model));
    this.checkpoints = new CheckpointFolder(options.checkpoints(), ranks, dp);
  }

  Trainable model() {
    return model;
  }

  /** The processes training together: a task's rates count every rank's examples. */
  int ranks() {
    return ranks.size();
  }

  LossCurve curve() {
    return curve;
  }

  /** The held-out loss last measured (after the last step, once {@link #run} has returned). */
  float heldOutLoss() {
    return heldOutLoss;
  }

  /**
   * Trains as {@code plan} says, from step 0 or, with {@code --resume}, from the newest checkpoint that loads.
   * Returns the finished display, which knows the training time and the steps this process took.
   *
   * @throws Stopped when no checkpoint can be resumed from (or the newest that loads is of another run), or one
   *     cannot be written
   */
  Progress run(Data data, Plan plan) {
    try {
      return train(data, plan);
    } catch (SampleException e) {
      throw new Stopped(e);
    }
  }

  private Progress train(Data data, Plan plan) throws SampleException {
    Options.Checkpoints checkpointing = options.checkpoints();
    Map<String, String> identity = identity(data, plan);
    int start = 0;
    float smoothed = Float.NaN;
    if (dp != null) {
      // Measured, not assumed: the moments this rank's optimizer holds (rank 0's slice is the largest), against all
      // the ranks' together, which an unsharded optimizer would hold on every rank.
      long moments = opt.momentCount();
      long all = ranks.sum(moments);
      out.printf(Locale.ROOT, "data parallel: %d rank%s x batch %d (effective batch %d), %s%n", ranks.size(),
          ranks.size() == 1 ? "" : "s", plan.batch(), ranks.size() * plan.batch(), sharded
              ? String.format(Locale.ROOT, "ZeRO-1: AdamW moments %.2f MB on each rank instead of %.2f MB",
                  moments * 2 * Float.BYTES / 1e6, all * 2 * Float.BYTES / 1e6)
              : String.format(Locale.ROOT, "AdamW moments %.2f MB on each rank (%s keeps them on its device, "
                  + "unsharded)", moments * 2 * Float.BYTES / 1e6, model.backend()));
    }
    if (checkpointing.resume()) {
      checkpoints.deleteTemporaries(out);
      CheckpointFolder.Resumed resumed = checkpoints.resume(opt, out);
      if (resumed == null) {
        out.println("no checkpoint in " + checkpoints.path() + " to resume from: starting at step 0");
      } else {
        usedCheckpoints = true;
        TrainingState state = resumed.state();
        checkIdentity(resumed.checkpoint().file(), state, identity);
        start = state.getInt(STEP);
        if (start != opt.steps() || start < 0 || start > plan.steps()) {
          throw new SampleException(resumed.checkpoint().file() + ": the checkpoint says step " + start
              + " and its optimizer has taken " + opt.steps() + " of " + plan.steps());
        }
        smoothed = state.getFloat(SMOOTHED);
        curve.restore(state, start);
        data.restore(state);
        heldOutLoss = curve.lastValidation();
        out.printf(Locale.ROOT, "resumed from %s at step %d of %d%n", resumed.checkpoint().file(), start,
            plan.steps());
        String backend = state.find(BACKEND);
        if (backend != null && !backend.equals(model.backend().name())) {
          out.println("note: the checkpoint was written on " + backend + " and this run is on " + model.backend()
              + ": the same trajectory to within rounding, not bit for bit");
        }
        // Checkpoints from before the trainer ran under mpirun have no count: they were written by one process.
        String saved = state.find(RANKS);
        int savedRanks = saved == null ? 1 : state.getInt(RANKS);
        if (savedRanks != ranks.size()) {
          out.printf(Locale.ROOT, "note: the checkpoint was written by %d rank(s) and this run has %d: from here a "
              + "step takes %d x %d rows (effective batch %d, it was %d), so the run goes on from the same state but "
              + "not along the uninterrupted run's steps%n", savedRanks, ranks.size(), ranks.size(), plan.batch(),
              ranks.size() * plan.batch(), savedRanks * plan.batch());
        }
      }
    } else if (checkpointing.writes()) {
      checkpoints.deleteTemporaries(out);
    }
    if (start == 0) {
      heldOutLoss = data.heldOutLoss();
      curve.validation(0, heldOutLoss);
      String line = data.report(0, heldOutLoss, Float.NaN);
      if (line != null) {
        out.println(line);
      }
    }
    Progress progress = new Progress(out, plan.steps(), plan.perStep() * ranks.size(), plan.unit());
    if (start > 0) {
      progress.resumeAt(start, smoothed);
    }
    long minutes = (long) (checkpointing.minutes() * 60e9);
    long lastSave = System.nanoTime();
    for (int step = start + 1; step <= plan.steps(); step++) {
      opt.lr(Schedule.cosine(step - 1, plan.steps(), plan.warmup(), plan.lr()));
      draw(data, plan.batch());
      float loss;
      if (dp == null) {
        loss = data.forward();
        model.zeroGrad();
        model.backward();
        opt.step();
      } else {
        loss = parallelStep(data, ranks.root() && minutes > 0 && System.nanoTime() - lastSave >= minutes);
      }
      progress.update(step, loss);
      curve.train(step, loss);
      if (step % plan.evalEvery() == 0 || step == plan.steps()) {
        progress.pause();
        heldOutLoss = step == plan.steps() ? data.finalHeldOutLoss() : data.heldOutLoss();
        curve.validation(step, heldOutLoss);
        String line = data.report(step, heldOutLoss, progress.smoothedLoss());
        if (line != null) {
          progress.println(line);
        }
        progress.resume();
      }
      long now = System.nanoTime();
      // Data-parallel, rank 0's clock decides for every rank, as it read it at this step's all-reduce.
      boolean timeDue = dp == null ? minutes > 0 && now - lastSave >= minutes : perStep[1] > 0;
      // No checkpoint after the last step: the model is saved next, and the checkpoints deleted.
      if (step < plan.steps() && ((checkpointing.every() > 0 && step % checkpointing.every() == 0) || timeDue)) {
        progress.pause();
        save(data, identity, step, progress.smoothedLoss());
        progress.println(String.format(Locale.ROOT, "checkpoint: step %d saved to %s in %.2f s", step,
            checkpoints.file(step), (System.nanoTime() - now) / 1e9));
        progress.resume();
        lastSave = System.nanoTime();
      }
    }
    progress.finish();
    return progress;
  }

  /**
   * Draws this step's global batch, {@code batch} rows for every rank, every rank the same draws from the same state:
   * this rank keeps its own rows {@code [rank * batch, (rank + 1) * batch)}. One rank draws what one process does.
   */
  private void draw(Data data, int batch) {
    int first = ranks.rank() * batch;
    for (int row = 0, rows = ranks.size() * batch; row < rows; row++) {
      int mine = row - first;
      data.draw(mine >= 0 && mine < batch ? mine : -1);
    }
  }

  /**
   * One data-parallel step: forward and backward on this rank's rows; one all-reduce of the loss and of
   * {@code timeDue}, true only on rank 0 when its clock says a checkpoint is due (into {@link #perStep}, where the
   * loop reads the decision); the gradients averaged; the sharded optimizer's step and the slices
   * gathered. Returns the ranks' mean loss. A loss that is not finite on any rank stops every rank at the same
   * step, before the optimizer's: a rank that stopped alone would leave the others waiting in the next all-reduce.
   */
  private float parallelStep(Data data, boolean timeDue) {
    ArithmeticException diverged = null;
    float loss;
    try {
      loss = data.forward();
    } catch (ArithmeticException e) {
      diverged = e;
      loss = Float.NaN;
    }
    model.zeroGrad();
    if (diverged == null) {
      model.backward();
    }
    perStep[0] = loss;
    perStep[1] = timeDue ? 1 : 0;
    dp.mpi().allReduceSum(perStep, 2);
    if (!Float.isFinite(perStep[0])) {
      throw diverged != null ? diverged : new ArithmeticException("the loss of another rank's rows is not finite");
    }
    dp.averageGradients();
    opt.step();
    if (sharded) {
      dp.gatherParameters();
    }
    return perStep[0] / ranks.size();
  }

  /**
   * Writes the trained model to {@code path} and its loss curve beside it, and says where; then deletes this run's
   * checkpoints, which a finished run has no more use for.
   */
  void save(Path path) throws SampleException {
    save(path, Map.of());
  }

  /**
   * {@link #save(Path)} with {@code metadata} added to the model file's header (a text model's vocabulary), beside
   * what {@link Trainable#save} writes there.
   */
  void save(Path path, Map<String, String> metadata) throws SampleException {
    if (!ranks.root()) {
      return; // rank 0 holds the same model and writes it
    }
    try {
      model.safetensors(path).plus(metadata, List.of()).write(path);
    } catch (IOException e) {
      throw new SampleException("cannot save the model to " + path + ": " + e.getMessage());
    }
    out.println("saved the model to " + path);
    curve.writeBeside(path, out);
    if (usedCheckpoints) {
      int deleted = checkpoints.deleteAll();
      out.printf(Locale.ROOT, "deleted the run's %d checkpoint(s) in %s: it is finished%n", deleted,
          checkpoints.path());
    }
  }

  private void save(Data data, Map<String, String> identity, int step, float smoothed) throws SampleException {
    if (dp != null) {
      dp.checkReplicas(); // rank 0 writes the checkpoint for every rank: they must all hold its parameters
    }
    TrainingState state = new TrainingState();
    identity.forEach((option, value) -> state.put(key(option), value));
    state.put(BACKEND, model.backend().name());
    state.putLong(RANKS, ranks.size());
    state.putLong(STEP, step);
    state.putFloat(SMOOTHED, smoothed);
    curve.save(state, step);
    data.save(state);
    checkpoints.write(opt, step, state);
    usedCheckpoints = true;
  }

  /** What a checkpoint must match to be resumed: values by the option (or thing) that sets them. */
  private Map<String, String> identity(Data data, Plan plan) {
    Map<String, String> identity = new LinkedHashMap<>();
    identity.put("--task", options.task().id());
    identity.put("--seed", Long.toString(options.seed()));
    identity.put("--steps", Integer.toString(plan.steps()));
    identity.put("--lr", Float.toString(plan.lr()));
    identity.put("the model", model.shape().describe());
    data.identify(identity);
    return identity;
  }

  /** Refuses a checkpoint of another run, naming each option that differs and both its values. */
  private static void checkIdentity(Path file, TrainingState state, Map<String, String> identity)
      throws SampleException {
    List<String> differences = new ArrayList<>();
    for (Map.Entry<String, String> entry : identity.entrySet()) {
      String saved = state.get(key(entry.getKey()));
      if (!saved.equals(entry.getValue())) {
        differences.add(entry.getKey() + " " + saved + " there, " + entry.getValue() + " here");
      }
    }
    if (!differences.isEmpty()) {
      throw new SampleException("cannot resume from " + file + ": it is a checkpoint of another run ("
          + String.join("; ", differences) + "); resume with its options, or start afresh with another "
          + "--checkpoints folder");
    }
  }

  /** The state's key for an identifying option: "--seed" is kept as "run.seed", "the model" as "run.the-model". */
  private static String key(String option) {
    return IDENTITY + option.replaceFirst("^--", "").replace(' ', '-');
  }
}
