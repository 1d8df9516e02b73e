package dev.unroll.runtime.tokenizer;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A tokenizer file that cannot be read: missing, truncated, corrupt, or made for another vocabulary. The message
 * starts with the file's path, then states the problem.
 */
public final class TokenizerException extends IOException {

  private static final long serialVersionUID = 1L;

  /**
   * @param file the tokenizer file
   * @param problem what is wrong with it, as a sentence fragment without the file name
   * @param cause the underlying failure, or {@code null}
   */
  public TokenizerException(Path file, String problem, Throwable cause) {
    super(file + ": " + problem, cause);
  }
}
