package dev.unroll.samples;

import static dev.unroll.samples.UnrolledDigitsModel.BATCH;

import java.io.PrintStream;
import java.util.Arrays;
import java.util.Locale;
import java.util.random.RandomGenerator;

/**
 * {@link DigitsModel} trained from scratch on the UCI handwritten digits ({@link Digits}): a fixed 80/20 split,
 * AdamW, then the accuracy on the held-out fifth and its confusion matrix.
 *
 * <p>Training goes through the training images in epochs, each in a new order drawn from the seed; the learning
 * rate warms up for {@value #WARMUP} steps, then follows a cosine down to a tenth of its peak. Every
 * {@value #EVAL_EVERY} steps the loss on every held-out image is measured for the loss curve.
 */
final class DigitsTask {
  static final int DEFAULT_STEPS = 1200;
  static final float DEFAULT_LR = 2e-3f;
  static final float WEIGHT_DECAY = 0.05f;
  static final int WARMUP = 100;
  static final int EVAL_EVERY = 100;
  /** The classes' names, for the confusion matrix. */
  static final String[] NAMES = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};

  static {
    if (UnrolledDigitsModel.PIXELS != Digits.PIXELS || UnrolledDigitsModel.CLASSES != Digits.CLASSES) {
      throw new AssertionError("DigitsModel must read one 8x8 grey image and have ten classes");
    }
  }

  private DigitsTask() {}

  /**
   * A trained model and what it was measured on.
   *
   * @param training the loop it was trained by, which saves it and its loss curve
   * @param evaluation on the held-out images, in the order of {@code split.test()}
   */
  record Trained(UnrolledDigitsModel model, Digits digits, Digits.Split split, Training training,
      Classifying.Evaluation evaluation) {}

  /**
   * Trains a fresh model, prints its held-out accuracy and confusion matrix, and saves it.
   *
   * @return the held-out accuracy, from 0 to 1
   */
  static double run(Options options, PrintStream out) throws SampleException {
    Trained trained = train(options, out);
    ConfusionMatrix matrix = trained.evaluation().matrix();
    out.println("confusion matrix of the held-out images (a row per true digit, a column per prediction):");
    matrix.print(out);
    trained.training().save(options.save());
    return matrix.accuracy();
  }

  /** Trains a fresh model as {@code options} say and prints how it went and its held-out accuracy. */
  static Trained train(Options options, PrintStream out) throws SampleException {
    Digits digits = Digits.load();
    Digits.Split split = digits.split();
    int steps = options.steps() > 0 ? options.steps() : DEFAULT_STEPS;
    float lr = Float.isNaN(options.lr()) ? DEFAULT_LR : options.lr();
    int warmup = Math.min(WARMUP, steps / 10);
    out.printf(Locale.ROOT, "data: %,d UCI handwritten digits (8x8, pixels 0..16 scaled to [0, 1]), a fixed split: "
        + "%,d for training, %,d held out%n", digits.count(), split.train().length, split.test().length);
    out.printf(Locale.ROOT, "training: %,d steps of %d images (%.1f epochs), lr %s (warmup %d, cosine to %s), AdamW "
        + "betas (0.9, 0.999), weight decay %s, gradient clip 1.0%n", steps, BATCH,
        (double) steps * BATCH / split.train().length, Main.plain(lr), warmup, Main.plain(lr / 10),
        Main.plain(WEIGHT_DECAY));

    UnrolledDigitsModel model = UnrolledDigitsModel.create(options.backend(), options.seed());
    float[] pixels = new float[BATCH * Digits.PIXELS];
    int[] labels = new int[BATCH];
    Rng rng = new Rng(options.seed());
    Epochs epochs = new Epochs(split.train(), rng);
    int[] test = split.test();
    LossCurve curve = new LossCurve("DigitsModel on the UCI digits (seed " + options.seed() + ")",
        "held-out loss (" + test.length + " images)", steps);
    Training training = new Training(options, model,
        opt -> opt.lr(lr).weightDecay(WEIGHT_DECAY).clipGradNorm(1f), curve, out);
    Progress progress = training.run(new Training.Data() {
      @Override
      public void draw(int row) {
        int image = epochs.next();
        if (row >= 0) {
          digits.copy(image, pixels, row);
          labels[row] = digits.labels()[image];
        }
      }

      @Override
      public float forward() {
        return model.forward(pixels, labels);
      }

      @Override
      public float heldOutLoss() {
        return (float) evaluate(model, digits, test, pixels).loss();
      }

      @Override
      public Rng rng() {
        return rng;
      }

      @Override
      public void save(TrainingState state) {
        Training.Data.super.save(state);
        epochs.save(state);
      }

      @Override
      public void restore(TrainingState state) throws SampleException {
        Training.Data.super.restore(state);
        epochs.restore(state);
      }
    }, new Training.Plan(steps, lr, warmup, EVAL_EVERY, BATCH, BATCH, "img"));
    double seconds = progress.trainingSeconds();
    Classifying.Evaluation evaluation = evaluate(model, digits, test, pixels);
    out.printf(Locale.ROOT, "trained in %.1f s (%.1f s with evaluation): %,.0f images/s, %.2f GFLOP/s; loss %s "
        + "(smoothed), held-out loss %s%n", seconds, progress.wallSeconds(), progress.tokensPerSecond(),
        UnrolledDigitsModel.FLOPS_PER_STEP * (double) progress.stepsRun() * training.ranks() / seconds / 1e9,
        Progress.loss(progress.smoothedLoss()), Progress.loss((float) evaluation.loss()));
    ConfusionMatrix matrix = evaluation.matrix();
    out.printf(Locale.ROOT, "held-out accuracy: %d/%d images (%.2f%%)%n", matrix.correct(), matrix.total(),
        100 * matrix.accuracy());
    return new Trained(model, digits, split, training, evaluation);
  }

  /** Classifies the images {@code indices} and measures the loss, a batch at a time. */
  static Classifying.Evaluation evaluate(DigitsModel model, Digits digits, int[] indices, float[] pixels) {
    return Classifying.evaluate(model, indices.length, BATCH, i -> digits.labels()[indices[i]],
        (first, rows) -> forward(model, digits, indices, first, rows, pixels), NAMES);
  }

  /** Runs the model, without labels, on images {@code indices[first, first + rows)}; the other rows are blank. */
  static void forward(DigitsModel model, Digits digits, int[] indices, int first, int rows, float[] pixels) {
    for (int r = 0; r < rows; r++) {
      digits.copy(indices[first + r], pixels, r);
    }
    Arrays.fill(pixels, rows * Digits.PIXELS, pixels.length, 0f);
    model.forward(pixels, null);
  }

  /**
   * The training images in epochs: each epoch every image once, in an order drawn from the seed. A checkpoint keeps
   * the order and the position in it ({@link #save}); the generator's state is its owner's to keep.
   */
  static final class Epochs {
    private static final String ORDER = "data.order";
    private static final String NEXT = "data.next";
    private final int[] order;
    private final RandomGenerator rng;
    private int next;

    Epochs(int[] images, RandomGenerator rng) {
      this.order = images.clone();
      this.rng = rng;
      this.next = order.length;
    }

    int next() {
      if (next == order.length) {
        Digits.shuffle(order, rng);
        next = 0;
      }
      return order[next++];
    }

    /** Writes the current order and the position in it. */
    void save(TrainingState state) {
      state.putInts(ORDER, order);
      state.putLong(NEXT, next);
    }

    /** Sets what {@link #save} wrote; the order must be of the same images. */
    void restore(TrainingState state) throws SampleException {
      int[] saved = new int[order.length];
      state.getInts(ORDER, saved);
      int position = state.getInt(NEXT);
      int[] images = saved.clone();
      int[] ours = order.clone();
      Arrays.sort(images);
      Arrays.sort(ours);
      if (!Arrays.equals(images, ours) || position < 0 || position > order.length) {
        throw new SampleException("the checkpoint's order of the training images is not an order of this run's "
            + "training images (or its position " + position + " is outside it)");
      }
      System.arraycopy(saved, 0, order, 0, order.length);
      next = position;
    }
  }
}
