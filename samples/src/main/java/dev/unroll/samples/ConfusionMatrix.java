package dev.unroll.samples;

import java.io.PrintStream;
import java.util.Locale;

/**
 * Counts of (true class, predicted class) over a held-out set, the classifiers' report: accuracy, and the table with
 * a row per true class and a column per prediction, so that the mistakes show which classes are confused.
 */
final class ConfusionMatrix {
  private final String[] names;
  private final int[][] counts;

  /** An empty matrix over classes named {@code names} (class {@code i} is {@code names[i]}). */
  ConfusionMatrix(String... names) {
    this.names = names.clone();
    this.counts = new int[names.length][names.length];
  }

  /** Counts one example of class {@code actual} predicted as {@code predicted}. */
  void add(int actual, int predicted) {
    counts[actual][predicted]++;
  }

  int count(int actual, int predicted) {
    return counts[actual][predicted];
  }

  /** Examples counted. */
  int total() {
    int total = 0;
    for (int[] row : counts) {
      for (int count : row) {
        total += count;
      }
    }
    return total;
  }

  /** Examples on the diagonal: predicted as their own class. */
  int correct() {
    int correct = 0;
    for (int i = 0; i < counts.length; i++) {
      correct += counts[i][i];
    }
    return correct;
  }

  /** The fraction predicted right, from 0 to 1; NaN when nothing was counted. */
  double accuracy() {
    return (double) correct() / total();
  }

  /**
   * Prints the table: a header of predicted classes, then per true class its counts and how many of it were right,
   * every column as wide as its widest entry.
   */
  void print(PrintStream out) {
    int width = 1;
    for (String name : names) {
      width = Math.max(width, name.length());
    }
    for (int[] row : counts) {
      for (int count : row) {
        width = Math.max(width, Integer.toString(count).length());
      }
    }
    String cell = " %" + width + "s";
    StringBuilder line = new StringBuilder();
    line.append(String.format(Locale.ROOT, "%" + width + "s |", ""));
    for (String name : names) {
      line.append(String.format(Locale.ROOT, cell, name));
    }
    out.println(line.append(" | right"));
    line.setLength(0);
    out.println(line.repeat('-', width + 1).append('+').repeat('-', (width + 1) * names.length + 1).append("+------"));
    for (int i = 0; i < names.length; i++) {
      line.setLength(0);
      line.append(String.format(Locale.ROOT, "%" + width + "s |", names[i]));
      int rowTotal = 0;
      for (int j = 0; j < names.length; j++) {
        line.append(String.format(Locale.ROOT, cell, counts[i][j] == 0 && i != j ? "." : counts[i][j]));
        rowTotal += counts[i][j];
      }
      out.println(line.append(String.format(Locale.ROOT, " | %d/%d", counts[i][i], rowTotal)));
    }
  }
}
