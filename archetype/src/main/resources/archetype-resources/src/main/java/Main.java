package ${package};

import dev.unroll.runtime.AdamW;
import dev.unroll.runtime.Backend;
import dev.unroll.runtime.sample.Greedy;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.stream.IntStream;

/**
 * Trains {@link SortModel} from scratch on minGPT's sort task, then counts how many held-out sequences it sorts
 * exactly. About half a minute on two cores.
 *
 * <p>The data is made here: every sequence of six digits from {0, 1, 2} (729 of them), shuffled with a fixed
 * seed; a quarter is held out and never trained on. Training draws random batches from the rest.
 */
public final class Main {
  /** Digits per sequence: a row holds them and all but the last of their sorted copy (6 for context 11). */
  static final int LENGTH = (UnrolledSortModel.CONTEXT + 1) / 2;
  static final int STEPS = 1000;
  static final float LEARNING_RATE = 3e-3f;

  private Main() {}

  public static void main(String[] args) {
    List<int[]> sequences = allSequences();
    Collections.shuffle(sequences, new Random(42));
    List<int[]> heldOut = sequences.subList(0, sequences.size() / 4);
    List<int[]> training = sequences.subList(sequences.size() / 4, sequences.size());
    System.out.printf(Locale.ROOT, "sort %d digits from [0, %d): %d sequences, %d for training, %d held out%n",
        LENGTH, UnrolledSortModel.VOCAB, sequences.size(), training.size(), heldOut.size());

    SortModel model = UnrolledSortModel.create(Backend.SIMD, 1337); // GPT-2 initialisation, seeded
    AdamW optimizer = AdamW.of(model).lr(LEARNING_RATE).betas(0.9f, 0.95f).weightDecay(0.1f).clipGradNorm(1f);
    System.out.printf(Locale.ROOT, "%s: %,d parameters; %d steps of %d rows%n", model.getClass().getSimpleName(),
        UnrolledSortModel.PARAMETER_COUNT, STEPS, UnrolledSortModel.BATCH);

    Random random = new Random(1);
    int[] inputs = new int[UnrolledSortModel.TOKENS];
    int[] targets = new int[UnrolledSortModel.TOKENS];
    long start = System.nanoTime();
    for (int step = 1; step <= STEPS; step++) {
      for (int row = 0; row < UnrolledSortModel.BATCH; row++) {
        writeRow(training.get(random.nextInt(training.size())), row * UnrolledSortModel.CONTEXT, inputs, targets);
      }
      optimizer.lr(LEARNING_RATE * (STEPS - step + 1) / STEPS); // decays linearly to 0
      float loss = model.forward(inputs, targets); // mean cross-entropy over every position
      model.zeroGrad();
      model.backward();
      optimizer.step();
      if (step % 100 == 0) {
        double seconds = (System.nanoTime() - start) / 1e9;
        System.out.printf(Locale.ROOT, "step %4d/%d  loss %.3g  %,.0f tokens/s%n", step, STEPS, loss,
            (double) step * UnrolledSortModel.TOKENS / seconds);
      }
    }

    int correct = 0;
    for (int[] digits : heldOut) {
      if (Arrays.equals(sortWith(model, digits), sorted(digits))) {
        correct++;
      }
    }
    System.out.printf(Locale.ROOT, "held-out accuracy: %d/%d sequences sorted exactly (%.1f%%)%n", correct,
        heldOut.size(), 100.0 * correct / heldOut.size());
    for (int[] digits : heldOut.subList(0, 3)) {
      System.out.println("  " + Arrays.toString(digits) + " -> " + Arrays.toString(sortWith(model, digits)));
    }
  }

  /**
   * Writes one training row at {@code offset}: the digits, then their sorted copy minus the last; each target is
   * the token that follows. The model sees every position's loss, and the token after one of the first digits is
   * another random digit, with nothing to learn: those positions get the constant target 0 instead.
   */
  static void writeRow(int[] digits, int offset, int[] inputs, int[] targets) {
    int[] sorted = sorted(digits);
    for (int t = 0; t < UnrolledSortModel.CONTEXT; t++) {
      inputs[offset + t] = t < LENGTH ? digits[t] : sorted[t - LENGTH];
      targets[offset + t] = t < LENGTH - 1 ? 0 : sorted[t - LENGTH + 1];
    }
  }

  /** The model's answer: the digits as the prompt, then {@code LENGTH} tokens, each the most likely one. */
  static int[] sortWith(SortModel model, int[] digits) {
    IntStream.Builder answer = IntStream.builder();
    model.generate(digits, LENGTH, Greedy.INSTANCE, answer); // decodes with the KV cache
    return answer.build().toArray();
  }

  static int[] sorted(int[] digits) {
    int[] copy = digits.clone();
    Arrays.sort(copy);
    return copy;
  }

  /** Every sequence of {@code LENGTH} digits from {@code [0, VOCAB)}. */
  static List<int[]> allSequences() {
    List<int[]> all = new ArrayList<>();
    int count = (int) Math.pow(UnrolledSortModel.VOCAB, LENGTH);
    for (int n = 0; n < count; n++) {
      int[] digits = new int[LENGTH];
      for (int i = LENGTH - 1, rest = n; i >= 0; i--, rest /= UnrolledSortModel.VOCAB) {
        digits[i] = rest % UnrolledSortModel.VOCAB;
      }
      all.add(digits);
    }
    return all;
  }
}
