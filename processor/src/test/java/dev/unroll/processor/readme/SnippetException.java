package dev.unroll.processor.readme;

/** A snippet that is wrongly annotated, does not compile, or fails when run; the message says where and why. */
final class SnippetException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  SnippetException(String message) {
    super(message);
  }

  SnippetException(String message, Throwable cause) {
    super(message, cause);
  }
}
