package dev.unroll.samples;

/** A problem the user can fix (a missing file, one too short); {@link Main} prints its message alone. */
final class SampleException extends Exception {
  private static final long serialVersionUID = 1L;

  SampleException(String message) {
    super(message);
  }
}
