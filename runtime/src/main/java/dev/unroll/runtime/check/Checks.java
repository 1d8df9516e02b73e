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

  /**
   * Checks an encoder's row lengths: {@code batch} values, each in {@code [1, context]}.
   *
   * @throws IllegalArgumentException naming the first bad row and its value
   */
  public static void lengths(int[] lengths, int batch, int context) {
    length("lengths", lengths, batch);
    for (int b = 0; b < batch; b++) {
      if (lengths[b] < 1 || lengths[b] > context) {
        throw new IllegalArgumentException("lengths[" + b + "] = " + lengths[b] + " is outside [1, " + context
            + "]: a row holds at least one token and at most context = " + context);
      }
    }
  }

  /**
   * Checks the first {@code lengths[b]} ids of each row of {@code tokens} ({@code batch * context}, row-major) to be
   * in {@code [0, vocab)}; the rest of each row is padding and is not read. {@code lengths} is checked first.
   *
   * @param what the argument's name, for the message
   * @throws IllegalArgumentException naming the first bad index, its row and position, and the value
   */
  public static void rows(String what, int[] tokens, int[] lengths, int batch, int context, int vocab) {
    if (tokens == null) {
      throw new NullPointerException(what + " is null");
    }
    if (tokens.length != batch * context) {
      throw new IllegalArgumentException(what + " has length " + tokens.length + "; this model takes batch * context"
          + " = " + batch + " * " + context + " = " + batch * context);
    }
    for (int b = 0; b < batch; b++) {
      for (int t = 0; t < lengths[b]; t++) {
        int token = tokens[b * context + t];
        if (token < 0 || token >= vocab) {
          throw new IllegalArgumentException(what + "[" + (b * context + t) + "] (row " + b + ", position " + t
              + ") = " + token + " is outside [0, " + vocab + ")");
        }
      }
    }
  }

  /**
   * Checks an encoder's labels: {@code batch} classes, each in {@code [0, classes)}.
   *
   * @throws IllegalArgumentException naming the first bad row and its value
   */
  public static void labels(int[] labels, int batch, int classes) {
    length("labels", labels, batch);
    for (int b = 0; b < batch; b++) {
      if (labels[b] < 0 || labels[b] >= classes) {
        throw new IllegalArgumentException("labels[" + b + "] = " + labels[b] + " is outside the classes [0, "
            + classes + ")");
      }
    }
  }

  /**
   * Checks an image encoder's input: {@code n} floats, every one finite.
   *
   * @throws IllegalArgumentException naming the first value that is not finite, or the wrong length
   */
  public static void pixels(float[] pixels, int n, String layout) {
    if (pixels == null) {
      throw new NullPointerException("pixels is null");
    }
    if (pixels.length != n) {
      throw new IllegalArgumentException("pixels has length " + pixels.length + "; this model takes " + layout
          + " = " + n + " floats per step");
    }
    for (int i = 0; i < n; i++) {
      if (!Float.isFinite(pixels[i])) {
        throw new IllegalArgumentException("pixels[" + i + "] = " + pixels[i] + " is not finite");
      }
    }
  }

  /**
   * Checks that {@code dst} can hold {@code n} floats of {@code what}.
   *
   * @throws IllegalArgumentException when it is too short
   */
  public static void room(float[] dst, int n, String what) {
    if (dst == null) {
      throw new NullPointerException("dst is null");
    }
    if (dst.length < n) {
      throw new IllegalArgumentException("dst has length " + dst.length + "; " + what + " need " + n + " floats");
    }
  }

  /** Checks that an int array is there and has one value per row ({@code batch}); builds no message unless wrong. */
  private static void length(String what, int[] values, int batch) {
    if (values == null) {
      throw new NullPointerException(what + " is null");
    }
    if (values.length != batch) {
      throw new IllegalArgumentException(what + " has length " + values.length + "; this model takes rows per step"
          + " (batch) = " + batch);
    }
  }
}
