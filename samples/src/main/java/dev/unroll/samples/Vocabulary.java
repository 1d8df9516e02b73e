package dev.unroll.samples;

import dev.unroll.runtime.format.Safetensors;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * What the character model's token ids stand for. Either nanoGPT's character vocabulary (its {@code meta.pkl}): the
 * distinct characters (Unicode code points) of a UTF-8 text, sorted, token i being the i-th, so that tiny
 * Shakespeare's 65 characters get the ids nanoGPT gives them ({@code '\n'} 0, {@code ' '} 1, ..., {@code 'z'} 64);
 * or bytes, token i being the byte i, for a text that is not UTF-8 or has more characters than a model's vocabulary
 * holds.
 *
 * <p>A model file saved by the text sample carries its vocabulary in the safetensors header's metadata
 * ({@link #metadata()}, read back by {@link #read}), so that text generated from the saved model decodes to the
 * characters it was trained on.
 */
final class Vocabulary {
  /** The metadata key that says what tokens are: {@value #CHARACTERS_KIND} or {@value #BYTES_KIND}. */
  static final String KIND_KEY = "unroll.tokens";
  /** The metadata key of a character vocabulary's characters, in token order, as one string. */
  static final String CHARACTERS_KEY = "unroll.characters";
  static final String CHARACTERS_KIND = "characters";
  static final String BYTES_KIND = "bytes";

  /** Tokens are bytes: 256 of them. */
  static final Vocabulary BYTES = new Vocabulary(null);

  /** The code points in token order, ascending; null for bytes. */
  private final int[] characters;

  private Vocabulary(int[] characters) {
    this.characters = characters;
  }

  /** The vocabulary of {@code text}: its distinct characters, sorted by code point. */
  static Vocabulary of(String text) {
    return new Vocabulary(text.codePoints().sorted().distinct().toArray());
  }

  /**
   * The characters of {@code characters} as a vocabulary, in the order given: the order of a saved vocabulary.
   *
   * @throws IllegalArgumentException when they are not distinct and ascending, or there are none
   */
  static Vocabulary ofCharacters(String characters) {
    int[] codePoints = characters.codePoints().toArray();
    if (codePoints.length == 0) {
      throw new IllegalArgumentException("a character vocabulary needs at least one character");
    }
    for (int i = 1; i < codePoints.length; i++) {
      if (codePoints[i] <= codePoints[i - 1]) {
        throw new IllegalArgumentException(String.format(Locale.ROOT, "the characters of a vocabulary are distinct "
            + "and ascending; %s follows %s", describe(codePoints[i]), describe(codePoints[i - 1])));
      }
    }
    return new Vocabulary(codePoints);
  }

  /** {@code data} decoded as UTF-8, or null when it is not UTF-8. */
  static String utf8(byte[] data) {
    try {
      return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(data)).toString();
    } catch (CharacterCodingException e) {
      return null;
    }
  }

  /** Whether tokens are bytes rather than characters. */
  boolean bytes() {
    return characters == null;
  }

  /** Distinct tokens: the characters, or 256 bytes. */
  int size() {
    return characters == null ? 256 : characters.length;
  }

  /** What a token is called in messages: "character" or "byte". */
  String unit() {
    return characters == null ? "byte" : "character";
  }

  /**
   * The tokens of {@code data}: one per character of its UTF-8 text, or one per byte.
   *
   * @throws IllegalArgumentException when {@code data} is not UTF-8 or holds a character outside this vocabulary
   */
  int[] encode(byte[] data) {
    if (characters == null) {
      int[] tokens = new int[data.length];
      for (int i = 0; i < data.length; i++) {
        tokens[i] = data[i] & 0xFF;
      }
      return tokens;
    }
    String text = utf8(data);
    if (text == null) {
      throw new IllegalArgumentException("the text is not UTF-8, and a character vocabulary encodes UTF-8 text only");
    }
    return encode(text);
  }

  /**
   * The tokens of {@code text}: one per character, or one per byte of its UTF-8 encoding.
   *
   * @throws IllegalArgumentException naming the first character that is not in this vocabulary and where it is
   */
  int[] encode(String text) {
    if (characters == null) {
      return encode(text.getBytes(StandardCharsets.UTF_8));
    }
    int[] tokens = new int[text.codePointCount(0, text.length())];
    for (int i = 0, at = 0; at < text.length(); i++) {
      int c = text.codePointAt(at);
      int token = Arrays.binarySearch(characters, c);
      if (token < 0) {
        throw new IllegalArgumentException(String.format(Locale.ROOT, "%s (character %,d of the text) is not one "
            + "of the vocabulary's %d characters", describe(c), i, characters.length));
      }
      tokens[i] = token;
      at += Character.charCount(c);
    }
    return tokens;
  }

  /**
   * The text of {@code tokens[from, to)}: their characters, or their bytes decoded as UTF-8 (a malformed sequence,
   * which a byte model may well draw, becomes U+FFFD).
   *
   * @throws IllegalArgumentException for a token outside this vocabulary
   */
  String decode(int[] tokens, int from, int to) {
    if (characters == null) {
      byte[] bytes = new byte[to - from];
      for (int i = from; i < to; i++) {
        bytes[i - from] = (byte) check(tokens[i]);
      }
      return new String(bytes, StandardCharsets.UTF_8);
    }
    StringBuilder text = new StringBuilder(to - from);
    for (int i = from; i < to; i++) {
      text.appendCodePoint(characters[check(tokens[i])]);
    }
    return text.toString();
  }

  /** The token of {@code codePoint}, or -1 when it is not in this vocabulary. */
  int token(int codePoint) {
    if (characters == null) {
      return codePoint < 0x80 ? codePoint : -1; // a byte alone is a character only in ASCII
    }
    int token = Arrays.binarySearch(characters, codePoint);
    return token < 0 ? -1 : token;
  }

  /** What a model file saved with this vocabulary carries in its metadata, for {@link #read}. */
  Map<String, String> metadata() {
    Map<String, String> metadata = new LinkedHashMap<>();
    metadata.put(KIND_KEY, characters == null ? BYTES_KIND : CHARACTERS_KIND);
    if (characters != null) {
      metadata.put(CHARACTERS_KEY, new String(characters, 0, characters.length));
    }
    return metadata;
  }

  /**
   * The vocabulary that {@code model}, a safetensors file saved by the text sample, was trained with.
   *
   * @throws SampleException when the file cannot be read or its metadata holds no vocabulary, or a broken one
   */
  static Vocabulary read(Path model) throws SampleException {
    Map<String, String> metadata;
    try (Safetensors file = Safetensors.open(model)) {
      metadata = file.metadata();
    } catch (IOException e) {
      throw new SampleException("cannot read the vocabulary of " + model + ": " + e.getMessage());
    }
    String kind = metadata.get(KIND_KEY);
    if (BYTES_KIND.equals(kind)) {
      return BYTES;
    }
    String saved = metadata.get(CHARACTERS_KEY);
    if (!CHARACTERS_KIND.equals(kind) || saved == null) {
      throw new SampleException(model + " holds no vocabulary (metadata " + KIND_KEY + " \"" + CHARACTERS_KIND
          + "\" with " + CHARACTERS_KEY + ", or \"" + BYTES_KIND + "\"; it has " + KIND_KEY + " " + (kind == null
              ? "none" : "\"" + kind + "\"") + "): it was not saved by the text sample");
    }
    try {
      return ofCharacters(saved);
    } catch (IllegalArgumentException e) {
      throw new SampleException(model + ": its vocabulary is broken: " + e.getMessage());
    }
  }

  @Override
  public String toString() {
    return characters == null ? "bytes (256)"
        : String.format(Locale.ROOT, "%d characters, %s to %s", characters.length, describe(characters[0]),
            describe(characters[characters.length - 1]));
  }

  private int check(int token) {
    if (token < 0 || token >= size()) {
      throw new IllegalArgumentException("token " + token + " is outside the vocabulary [0, " + size() + ")");
    }
    return token;
  }

  /** A character for messages: {@code 'a' (U+0061)}, or only its code for a control or blank character. */
  static String describe(int codePoint) {
    String code = String.format(Locale.ROOT, "U+%04X", codePoint);
    return Character.isISOControl(codePoint) || Character.isWhitespace(codePoint) || !Character.isDefined(codePoint)
        ? code : "'" + new String(Character.toChars(codePoint)) + "' (" + code + ")";
  }
}
