package dev.unroll.runtime.tokenizer;

import java.nio.charset.StandardCharsets;

/**
 * The tokenizer of byte-level character models: token i is the byte i, so the vocabulary is 256 and any text
 * encodes (as its UTF-8 bytes). ASCII text such as Shakespeare is one token per character.
 */
public final class ByteTokenizer {

  /** Number of tokens: one per byte value. */
  public static final int VOCAB_SIZE = 256;

  /** The one instance; the class holds no state. */
  public static final ByteTokenizer INSTANCE = new ByteTokenizer();

  /** Single-byte pieces, decoded once: ASCII as itself, other bytes alone as U+FFFD. */
  private static final String[] PIECES = new String[VOCAB_SIZE];

  static {
    for (int i = 0; i < VOCAB_SIZE; i++) {
      PIECES[i] = new String(new byte[] {(byte) i}, StandardCharsets.UTF_8);
    }
  }

  private ByteTokenizer() {}

  /** The UTF-8 bytes of {@code text}, each as a token in [0, 256). */
  public int[] encode(String text) {
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    int[] tokens = new int[bytes.length];
    for (int i = 0; i < bytes.length; i++) {
      tokens[i] = bytes[i] & 0xff;
    }
    return tokens;
  }

  /** The text of one token (an ASCII character; U+FFFD for a byte that is not a character alone). Allocates nothing. */
  public String decode(int token) {
    return PIECES[check(token)];
  }

  /** The bytes of {@code tokens}, decoded as UTF-8. */
  public String decode(int[] tokens) {
    byte[] bytes = new byte[tokens.length];
    for (int i = 0; i < tokens.length; i++) {
      bytes[i] = (byte) check(tokens[i]);
    }
    return new String(bytes, StandardCharsets.UTF_8);
  }

  private static int check(int token) {
    if (token < 0 || token >= VOCAB_SIZE) {
      throw new IndexOutOfBoundsException("token " + token + " is not a byte [0, " + VOCAB_SIZE + ")");
    }
    return token;
  }
}
