package dev.unroll.runtime.mpi;

/** MPI is unavailable, or one of its calls failed: the message names the call and why. */
public final class MpiException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public MpiException(String message) {
    super(message);
  }
}
