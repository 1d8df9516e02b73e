package dev.unroll.samples;

import dev.unroll.runtime.Encoder;
import java.util.function.IntUnaryOperator;

/**
 * What the classifier samples ({@link DigitsTask}, {@link BracketsTask}) share besides the training loop
 * ({@link Training}): measuring a classifier on held-out examples and reading a class off the logits.
 */
final class Classifying {
  private Classifying() {}

  /** Runs the model without labels on examples {@code [first, first + rows)}, in a batch's first rows. */
  interface Forward {
    void run(int first, int rows);
  }

  /**
   * A classifier measured on held-out examples.
   *
   * @param loss the mean cross-entropy of the examples' labels
   * @param matrix true class against predicted class
   * @param predicted each example's predicted class
   */
  record Evaluation(double loss, ConfusionMatrix matrix, int[] predicted) {}

  /**
   * Classifies {@code count} examples, a batch of {@code batch} at a time ({@code forward} fills and runs it; the
   * rows past the last example in the last batch are ignored), and measures the loss and the confusion matrix
   * over all of them from the logits, so that no example is left out or counted twice.
   *
   * @param label the true class of each example
   * @param names the classes' names, {@code classes} of them
   */
  static Evaluation evaluate(Encoder model, int count, int batch, IntUnaryOperator label, Forward forward,
      String... names) {
    int classes = names.length;
    float[] logits = new float[batch * classes];
    ConfusionMatrix matrix = new ConfusionMatrix(names);
    int[] predicted = new int[count];
    double loss = 0;
    for (int first = 0; first < count; first += batch) {
      int rows = Math.min(batch, count - first);
      forward.run(first, rows);
      model.logits(logits);
      for (int r = 0; r < rows; r++) {
        int truth = label.applyAsInt(first + r);
        predicted[first + r] = argmax(logits, r * classes, classes);
        matrix.add(truth, predicted[first + r]);
        loss += crossEntropy(logits, r * classes, classes, truth);
      }
    }
    return new Evaluation(loss / count, matrix, predicted);
  }

  /** {@code -log softmax(values[from, from + n))[label]}, in double, shifted by the largest for stability. */
  static double crossEntropy(float[] logits, int from, int n, int label) {
    double max = logits[from + argmax(logits, from, n)];
    double sum = 0;
    for (int i = 0; i < n; i++) {
      sum += Math.exp(logits[from + i] - max);
    }
    return Math.log(sum) - (logits[from + label] - max);
  }

  /** The index of the largest of {@code values[from, from + n)}, counted from {@code from}; the first of ties. */
  static int argmax(float[] values, int from, int n) {
    int best = 0;
    for (int i = 1; i < n; i++) {
      if (values[from + i] > values[from + best]) {
        best = i;
      }
    }
    return best;
  }
}
