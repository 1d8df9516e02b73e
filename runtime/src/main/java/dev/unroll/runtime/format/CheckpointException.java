package dev.unroll.runtime.format;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A checkpoint file that cannot be read or written as asked: wrong format, corrupt, truncated, or made for a
 * different model. The message always starts with the file's path as the caller gave it, then states the
 * problem, e.g. {@code "model.safetensors: tensor h.0.ln_1.weight has shape [64] but the model expects [48]"}.
 */
public final class CheckpointException extends IOException {

  private static final long serialVersionUID = 1L;

  /** The file, as the caller named it. */
  private final String file;

  /** The problem, without the file name. */
  private final String problem;

  /**
   * @param file the checkpoint file
   * @param problem what is wrong with it, as a sentence fragment without the file name
   */
  public CheckpointException(Path file, String problem) {
    this(file, problem, null);
  }

  /**
   * @param file the checkpoint file
   * @param problem what is wrong with it, as a sentence fragment without the file name
   * @param cause the underlying failure, or {@code null}
   */
  public CheckpointException(Path file, String problem, Throwable cause) {
    super(file + ": " + problem, cause);
    this.file = file.toString();
    this.problem = problem;
  }

  /** The file's path, as the caller gave it. */
  public String file() {
    return file;
  }

  /** What is wrong, without the file name. */
  public String problem() {
    return problem;
  }
}
