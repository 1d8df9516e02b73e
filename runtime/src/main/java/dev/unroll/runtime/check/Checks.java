package dev.unroll.runtime.check;

/** Argument checks that generated models share. Each throws before anything is computed. */
public final class Checks {
  private Checks() {}

  /**
   * Checks that {@code tokens} holds {@code batch * context} ids in {@code [0, vocab)}.
   *
   * @param what the argument's name, for the message
   * @throws IllegalArgumentException naming the first bad index, its row and position, and the value
   */
  public static void tokens(String what, int[] tokens, int batch, int context, int vocab) {
    if (tokens == null) {
      throw new NullPointerException(what + " is null");
    }
    int n = batch * context;
    if (tokens.length != n) {
      throw new IllegalArgumentException(what + " has length " + tokens.length + "; this model takes batch * context = "
          + batch + " * " + context + " = " + n + " tokens per step");
    }
    for (int i = 0; i < n; i++) {
      int token = tokens[i];
      if (token < 0 || token >= vocab) {
        throw new IllegalArgumentException(what + "[" + i + "] (row " + i / context + ", position " + i % context
            + ") = " + token + " is outside the vocabulary [0, " + vocab + ")");
      }
    }
  }

  /** Checks a (row, position) pair against the step's shape. */
  public static void position(int row, int position, int batch, int context) {
    if (row < 0 || row >= batch || position < 0 || position >= context) {
      throw new IndexOutOfBoundsException("(row " + row + ", position " + position + ") is outside (batch "
          + batch + ", context " + context + ")");
    }
  }
}
