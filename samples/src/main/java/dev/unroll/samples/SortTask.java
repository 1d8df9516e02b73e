package dev.unroll.samples;

import static dev.unroll.samples.UnrolledSortModel.BATCH;
import static dev.unroll.samples.UnrolledSortModel.CONTEXT;
import static dev.unroll.samples.UnrolledSortModel.VOCAB;

import java.io.PrintStream;
import java.util.Arrays;
import java.util.Locale;

/**
 * minGPT's sort task on {@link SortModel}: learn to sort {@link #LENGTH} digits drawn from {@code [0, VOCAB)}.
 *
 * <p>Every possible input sequence belongs, by a fixed hash of its digits, to the training split (3 in 4) or
 * to the held-out split (1 in 4), as minGPT assigns them; training draws only from the first, and the accuracy
 * reported at the end is greedy exact-match over every sequence of the second.
 *
 * <p>A row is the input digits followed by the sorted digits minus the last. minGPT masks the loss of the
 * positions whose next token is a random input digit; {@code CausalLm} counts every position, so those
 * positions get the constant target 0 instead: the model learns it in a few steps, it costs nothing at the
 * positions that matter (generation never reads them), and the reported loss then falls towards 0 instead of
 * stalling at the entropy of random digits.
 *
 * <p>Every {@value #EVAL_EVERY} steps the loss is also measured on {@value #EVAL_BATCHES} fixed batches of
 * held-out sequences, for the loss curve that is written beside the model.
 */
final class SortTask {
  /** Digits to sort: a row holds them and all but the last of their sorted copy. */
  static final int LENGTH = (CONTEXT + 1) / 2;
  /** Every input sequence, as a number in base VOCAB. */
  static final int SEQUENCES = pow(VOCAB, LENGTH);
  static final int DEFAULT_STEPS = 1000;
  static final float DEFAULT_LR = 3e-3f;
  static final int WARMUP = 100;
  static final int EVAL_EVERY = 100;
  static final int EVAL_BATCHES = 4;
  private static final int EXAMPLES = 5;

  static {
    if (CONTEXT != 2 * LENGTH - 1) {
      throw new AssertionError("SortModel's context must be odd: 2 * digits - 1");
    }
  }

  private SortTask() {}

  /**
   * Trains a fresh model and prints its held-out accuracy and a few worked examples.
   *
   * @return the held-out exact-match accuracy, from 0 to 1
   */
  static double run(Options options, PrintStream out) throws SampleException {
    int steps = options.steps() > 0 ? options.steps() : DEFAULT_STEPS;
    float lr = Float.isNaN(options.lr()) ? DEFAULT_LR : options.lr();
    int warmup = Math.min(WARMUP, steps / 10);
    int[] train = split(false);
    int[] test = split(true);
    out.printf(Locale.ROOT, "task: sort %d digits from [0, %d); %,d sequences: %,d for training, %,d held out%n",
        LENGTH, VOCAB, SEQUENCES, train.length, test.length);
    out.printf(Locale.ROOT, "training: %,d steps of %d rows, lr %s (warmup %d, cosine to %s), AdamW betas "
        + "(0.9, 0.95), weight decay 0.1, gradient clip 1.0%n", steps, BATCH, Main.plain(lr), warmup,
        Main.plain(lr / 10));

    UnrolledSortModel model = UnrolledSortModel.create(options.backend(), options.seed());
    Rng rng = new Rng(options.seed());
    int[] x = new int[BATCH * CONTEXT];
    int[] y = new int[BATCH * CONTEXT];
    int[] digits = new int[LENGTH];
    int[] sorted = new int[LENGTH];

    // The same held-out rows at every evaluation, spread over the whole split (it is in increasing order).
    int[] evalIds = new int[EVAL_BATCHES * BATCH];
    for (int i = 0; i < evalIds.length; i++) {
      evalIds[i] = test[(int) ((long) i * test.length / evalIds.length)];
    }
    LossCurve curve = new LossCurve("SortModel on minGPT's sort task (seed " + options.seed() + ")",
        "held-out loss (" + evalIds.length + " sequences)", steps);
    Training training = new Training(options, model,
        opt -> opt.lr(lr).betas(0.9f, 0.95f).weightDecay(0.1f).clipGradNorm(1f), curve, out);
    Progress progress = training.run(new Training.Data() {
      @Override
      public void draw(int row) {
        int id = train[rng.nextInt(train.length)];
        if (row >= 0) {
          fillRow(id, row, x, y, digits, sorted);
        }
      }

      @Override
      public float forward() {
        return model.forward(x, y);
      }

      @Override
      public float heldOutLoss() {
        return SortTask.heldOutLoss(model, evalIds, x, y, digits, sorted);
      }

      @Override
      public Rng rng() {
        return rng;
      }
    }, new Training.Plan(steps, lr, warmup, EVAL_EVERY, BATCH, (long) BATCH * CONTEXT, "tok"));
    double seconds = progress.trainingSeconds();
    out.printf(Locale.ROOT, "trained in %.1f s: %,.0f tokens/s, %.2f GFLOP/s; loss %s (smoothed), held-out loss "
        + "%s%n", seconds, progress.tokensPerSecond(),
        UnrolledSortModel.FLOPS_PER_STEP * (double) progress.stepsRun() * training.ranks() / seconds / 1e9,
        Progress.loss(progress.smoothedLoss()), Progress.loss(training.heldOutLoss()));

    int[] predicted = new int[test.length * LENGTH];
    long evalStart = System.nanoTime();
    int correct = predict(model, test, predicted, x);
    double evalSeconds = (System.nanoTime() - evalStart) / 1e9;
    out.printf(Locale.ROOT, "held-out accuracy: %d/%d sequences sorted exactly (%.2f%%), greedy, in %.2f s%n",
        correct, test.length, 100.0 * correct / test.length, evalSeconds);
    out.println("examples (input -> model output (expected)):");
    for (int k = 0; k < EXAMPLES; k++) {
      printExample(out, test, predicted, (int) ((long) k * test.length / EXAMPLES), digits, sorted);
    }
    if (correct < test.length) {
      out.println("mistakes:");
      for (int i = 0, shown = 0; i < test.length && shown < EXAMPLES; i++) {
        if (!matches(test[i], predicted, i, digits, sorted)) {
          printExample(out, test, predicted, i, digits, sorted);
          shown++;
        }
      }
    }
    training.save(options.save());
    return (double) correct / test.length;
  }

  /** Mean loss over the rows of {@code ids}, {@code BATCH} at a time ({@code ids.length} is a multiple of it). */
  private static float heldOutLoss(SortModel model, int[] ids, int[] x, int[] y, int[] digits, int[] sorted) {
    double sum = 0;
    for (int first = 0; first < ids.length; first += BATCH) {
      for (int row = 0; row < BATCH; row++) {
        fillRow(ids[first + row], row, x, y, digits, sorted);
      }
      sum += model.forward(x, y);
    }
    return (float) (sum / (ids.length / BATCH));
  }

  /** The sequences of one split, in increasing order. */
  static int[] split(boolean heldOut) {
    int count = 0;
    for (int id = 0; id < SEQUENCES; id++) {
      if (isHeldOut(id) == heldOut) {
        count++;
      }
    }
    int[] ids = new int[count];
    for (int id = 0, n = 0; id < SEQUENCES; id++) {
      if (isHeldOut(id) == heldOut) {
        ids[n++] = id;
      }
    }
    return ids;
  }

  /** Whether a sequence is held out: one in four, by a fixed hash (SplitMix64's finalizer) of its digits. */
  static boolean isHeldOut(int id) {
    return oneInFour((id + 1) * 0x9E3779B97F4A7C15L);
  }

  /**
   * Whether {@code key} falls in a fixed quarter of all keys, by SplitMix64's finalizer, which spreads every bit of
   * the key over the two it keeps: how the samples hold out a quarter of their data.
   */
  static boolean oneInFour(long key) {
    return (Rng.mix64(key) & 3) == 0;
  }

  /** Writes the digits of sequence {@code id}, most significant first. */
  static void digits(int id, int[] dst) {
    for (int i = LENGTH - 1; i >= 0; i--) {
      dst[i] = id % VOCAB;
      id /= VOCAB;
    }
  }

  /** Writes {@code digits} in ascending order (counting sort). */
  static void sort(int[] digits, int[] dst) {
    int n = 0;
    for (int d = 0; d < VOCAB; d++) {
      for (int digit : digits) {
        if (digit == d) {
          dst[n++] = d;
        }
      }
    }
  }

  /** Row {@code row} of a training batch: inputs, then sorted minus the last; targets are the next tokens. */
  private static void fillRow(int id, int row, int[] x, int[] y, int[] digits, int[] sorted) {
    digits(id, digits);
    sort(digits, sorted);
    int base = row * CONTEXT;
    for (int t = 0; t < LENGTH; t++) {
      x[base + t] = digits[t];
    }
    for (int t = 0; t < LENGTH - 1; t++) {
      x[base + LENGTH + t] = sorted[t];
    }
    for (int t = 0; t < LENGTH - 1; t++) {
      y[base + t] = 0; // the next token is a random input digit: nothing to learn (see the class comment)
    }
    for (int t = 0; t < LENGTH; t++) {
      y[base + LENGTH - 1 + t] = sorted[t];
    }
  }

  /**
   * Sorts every sequence of {@code ids} with the model, greedily, {@code BATCH} at a time; writes the outputs to
   * {@code predicted} ({@code LENGTH} per sequence) and returns how many are exactly right.
   */
  static int predict(SortModel model, int[] ids, int[] predicted, int[] x) {
    int[] digits = new int[LENGTH];
    int[] sorted = new int[LENGTH];
    float[] logits = new float[VOCAB];
    int correct = 0;
    for (int first = 0; first < ids.length; first += BATCH) {
      int rows = Math.min(BATCH, ids.length - first);
      Arrays.fill(x, 0);
      for (int r = 0; r < rows; r++) {
        digits(ids[first + r], digits);
        System.arraycopy(digits, 0, x, r * CONTEXT, LENGTH);
      }
      // No KV cache: each step runs the whole batch and reads the logits at the last known position. What lies
      // beyond it is padding (0), which causal attention never lets that position see.
      for (int i = 0; i < LENGTH; i++) {
        model.forward(x, null);
        int position = LENGTH - 1 + i;
        for (int r = 0; r < rows; r++) {
          int next = Classifying.argmax(model.logits(r, position, logits), 0, VOCAB);
          predicted[(first + r) * LENGTH + i] = next;
          if (position + 1 < CONTEXT) {
            x[r * CONTEXT + position + 1] = next;
          }
        }
      }
      for (int r = 0; r < rows; r++) {
        if (matches(ids[first + r], predicted, first + r, digits, sorted)) {
          correct++;
        }
      }
    }
    return correct;
  }

  private static boolean matches(int id, int[] predicted, int index, int[] digits, int[] sorted) {
    digits(id, digits);
    sort(digits, sorted);
    return Arrays.equals(predicted, index * LENGTH, (index + 1) * LENGTH, sorted, 0, LENGTH);
  }

  private static void printExample(PrintStream out, int[] ids, int[] predicted, int index, int[] digits,
      int[] sorted) {
    digits(ids[index], digits);
    sort(digits, sorted);
    StringBuilder line = new StringBuilder("  ");
    appendDigits(line, digits, 0);
    line.append(" -> ");
    appendDigits(line, predicted, index * LENGTH);
    line.append(" (");
    appendDigits(line, sorted, 0);
    line.append(')');
    out.println(line);
  }

  private static void appendDigits(StringBuilder line, int[] src, int from) {
    for (int i = 0; i < LENGTH; i++) {
      if (i > 0) {
        line.append(' ');
      }
      line.append(src[from + i]);
    }
  }

  private static int pow(int base, int exponent) {
    int result = 1;
    for (int i = 0; i < exponent; i++) {
      result = Math.multiplyExact(result, base);
    }
    return result;
  }
}
