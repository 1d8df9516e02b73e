package dev.unroll.runtime.tokenizer;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * llama2.c's byte-pair tokenizer (the Llama 2 SentencePiece vocabulary in llama2.c's {@code tokenizer.bin}),
 * encoding and decoding as llama2.c's {@code run.c} does.
 *
 * <p>File layout, little-endian: int32 {@code max_token_length}; then per token: float32 merge score, int32
 * length in bytes, the bytes (no terminator). The file must hold exactly the model's vocabulary.
 *
 * <p>Encoding: {@link #BOS} if asked; then, when the text is not empty, the piece {@code " "} (SentencePiece's
 * dummy prefix); then each UTF-8 code point of the text as its piece, or when the vocabulary has none, each of its
 * bytes as the byte-fallback token {@code <0xNN>} at id byte + 3; then, while any adjacent pair of tokens
 * concatenates to a piece of the vocabulary scoring above -1e10, the pair whose piece has the highest score (the
 * leftmost among equals) is merged; then {@link #EOS} if asked. Where a piece occurs twice in the vocabulary,
 * the lower id is used.
 *
 * <p>Decoding: a token's piece, without its leading space right after {@link #BOS} (as SentencePiece does), and
 * pieces of the form {@code <0xNN>} give the raw byte. {@link #pieceBytes} gives the exact bytes, which a stream
 * of pieces must concatenate before decoding them as UTF-8 (a character may be split across byte tokens);
 * {@link #decode(int, int)} returns one piece as a {@code String} without allocating (pieces are decoded once, at
 * construction; a lone non-ASCII byte reads as U+FFFD); {@link #decode(int[])} decodes a whole sequence exactly.
 *
 * <p>Instances are immutable and thread-safe.
 */
public final class Llama2Tokenizer {

  /** Beginning of sequence. */
  public static final int BOS = 1;

  /** End of sequence. */
  public static final int EOS = 2;

  /** Byte-fallback token of byte b is b + BYTE_OFFSET (after {@code <unk>}, {@code <s>}, {@code </s>}). */
  public static final int BYTE_OFFSET = 3;

  /** run.c's starting best score: pieces scoring this or less never merge. */
  private static final float MERGE_FLOOR = -1e10f;

  /** Code points are at most four UTF-8 bytes; run.c starts a new lookup after four. */
  private static final int MAX_CODE_POINT_BYTES = 4;

  private final byte[][] pieces;
  private final float[] scores;
  /** Piece (bytes as ISO-8859-1 chars, one char per byte) to its lowest id. */
  private final Map<String, Integer> ids;
  /** What {@link #pieceBytes} returns, and its decoding, with and without the space stripped after BOS. */
  private final byte[][] raw;
  private final byte[][] rawAfterBos;
  private final String[] text;
  private final String[] textAfterBos;

  private Llama2Tokenizer(byte[][] pieces, float[] scores) {
    this.pieces = pieces;
    this.scores = scores;
    int n = pieces.length;
    this.ids = new HashMap<>(n * 2);
    this.raw = new byte[n][];
    this.rawAfterBos = new byte[n][];
    this.text = new String[n];
    this.textAfterBos = new String[n];
    for (int i = 0; i < n; i++) {
      ids.putIfAbsent(key(pieces[i]), i);
      int b = rawByte(pieces[i]);
      raw[i] = b >= 0 ? new byte[] {(byte) b} : pieces[i];
      rawAfterBos[i] = b < 0 && pieces[i].length > 0 && pieces[i][0] == ' '
          ? Arrays.copyOfRange(pieces[i], 1, pieces[i].length) : raw[i];
      text[i] = new String(raw[i], StandardCharsets.UTF_8);
      textAfterBos[i] = new String(rawAfterBos[i], StandardCharsets.UTF_8);
    }
  }

  /**
   * Reads llama2.c's {@code tokenizer.bin} for a model of {@code vocabSize} tokens.
   *
   * @throws TokenizerException when the file is missing, truncated, corrupt, or holds another number of tokens
   * @throws IllegalArgumentException when {@code vocabSize} &lt; 3 (there must be room for {@code <unk>}, BOS, EOS)
   * @throws IOException when the file cannot be read
   */
  public static Llama2Tokenizer load(Path path, int vocabSize) throws IOException {
    if (vocabSize < 3) {
      throw new IllegalArgumentException(path + ": vocabulary size " + vocabSize
          + " is too small for <unk>, <s> and </s>");
    }
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(path);
    } catch (NoSuchFileException e) {
      throw new TokenizerException(path, "no such file (llama2.c's tokenizer.bin was expected)", e);
    }
    ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    if (b.remaining() < Integer.BYTES) {
      throw new TokenizerException(path, "file is too short to be a tokenizer: " + bytes.length + " bytes", null);
    }
    int maxLength = b.getInt();
    if (maxLength <= 0 || maxLength > bytes.length) {
      throw new TokenizerException(path, "is not a llama2.c tokenizer: its max_token_length is " + maxLength, null);
    }
    byte[][] pieces = new byte[vocabSize][];
    float[] scores = new float[vocabSize];
    for (int i = 0; i < vocabSize; i++) {
      if (b.remaining() < 8) {
        throw new TokenizerException(path, "file is truncated: it holds " + i + " complete tokens, the model's "
            + "vocabulary has " + vocabSize, null);
      }
      scores[i] = b.getFloat();
      int length = b.getInt();
      if (length < 0 || length > maxLength) {
        throw new TokenizerException(path, "is corrupt: token " + i + " has length " + length
            + ", outside [0, max_token_length " + maxLength + "]", null);
      }
      if (b.remaining() < length) {
        throw new TokenizerException(path, "file is truncated: token " + i + " has " + length + " bytes, the file "
            + b.remaining() + " left", null);
      }
      pieces[i] = new byte[length];
      b.get(pieces[i]);
    }
    if (b.hasRemaining()) {
      throw new TokenizerException(path, "has " + b.remaining() + " bytes after token " + (vocabSize - 1)
          + ": it holds a larger vocabulary than the model's " + vocabSize + " tokens", null);
    }
    return new Llama2Tokenizer(pieces, scores);
  }

  /** Number of tokens. */
  public int vocabSize() {
    return pieces.length;
  }

  /** The piece of {@code token} as stored (byte-fallback tokens as their {@code <0xNN>} text). */
  public byte[] piece(int token) {
    return pieces[check(token)].clone();
  }

  /** The merge score of {@code token}. */
  public float score(int token) {
    return scores[check(token)];
  }

  /**
   * Encodes {@code text} as llama2.c's {@code run.c} does (see the class comment).
   *
   * @throws IllegalArgumentException when a byte has neither a piece nor a byte-fallback token in this vocabulary
   */
  public int[] encode(String text, boolean bos, boolean eos) {
    byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
    int[] tokens = new int[utf8.length + 3];
    int n = 0;
    if (bos) {
      tokens[n++] = BOS;
    }
    if (utf8.length > 0) {
      n = append(tokens, n, new byte[] {' '}, 0, 1);
    }
    for (int start = 0; start < utf8.length; ) {
      int end = start + 1;
      while (end < utf8.length && (utf8[end] & 0xC0) == 0x80 && end - start < MAX_CODE_POINT_BYTES) {
        end++;
      }
      n = append(tokens, n, utf8, start, end);
      start = end;
    }
    n = merge(tokens, n);
    if (eos) {
      tokens[n++] = EOS;
    }
    return Arrays.copyOf(tokens, n);
  }

  /** Appends the piece of bytes [from, to), or their byte-fallback tokens. */
  private int append(int[] tokens, int n, byte[] bytes, int from, int to) {
    Integer id = ids.get(key(bytes, from, to));
    if (id != null) {
      tokens[n++] = id;
      return n;
    }
    for (int i = from; i < to; i++) {
      int token = (bytes[i] & 0xff) + BYTE_OFFSET;
      if (token >= pieces.length) {
        throw new IllegalArgumentException("byte 0x" + Integer.toHexString(bytes[i] & 0xff) + " has no piece and no "
            + "byte-fallback token in a vocabulary of " + pieces.length);
      }
      tokens[n++] = token;
    }
    return n;
  }

  /** Merges the best-scoring adjacent pair until none merges; returns the new length. */
  private int merge(int[] tokens, int n) {
    while (true) {
      float bestScore = MERGE_FLOOR;
      int bestId = -1;
      int bestIndex = -1;
      for (int i = 0; i + 1 < n; i++) {
        Integer id = ids.get(key(pieces[tokens[i]]) + key(pieces[tokens[i + 1]]));
        if (id != null && scores[id] > bestScore) {
          bestScore = scores[id];
          bestId = id;
          bestIndex = i;
        }
      }
      if (bestIndex < 0) {
        return n;
      }
      tokens[bestIndex] = bestId;
      System.arraycopy(tokens, bestIndex + 2, tokens, bestIndex + 1, n - bestIndex - 2);
      n--;
    }
  }

  /**
   * The text of {@code token} following {@code prev}: its piece, without a leading space after {@link #BOS}, a
   * byte-fallback token as its byte (U+FFFD when that byte alone is not UTF-8). Allocates nothing.
   */
  public String decode(int prev, int token) {
    return prev == BOS ? textAfterBos[check(token)] : text[check(token)];
  }

  /** The exact bytes of {@code token} following {@code prev}: what {@link #decode(int, int)} decodes. */
  public byte[] pieceBytes(int prev, int token) {
    return bytes(prev, check(token)).clone();
  }

  /**
   * The text of a token sequence: the bytes of each token's piece after the one before it (the first after none),
   * concatenated, then decoded as UTF-8, so characters split across byte-fallback tokens come out whole. BOS and
   * EOS are control tokens and give no text (as in SentencePiece's decoder).
   */
  public String decode(int[] tokens) {
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    int prev = -1;
    for (int token : tokens) {
      if (check(token) != BOS && token != EOS) {
        out.writeBytes(bytes(prev, token));
      }
      prev = token;
    }
    return out.toString(StandardCharsets.UTF_8);
  }

  /**
   * A decoder for text as it is generated: {@link TextStream#next} returns what a token adds, holding back the bytes
   * of a character split across byte-fallback tokens until it is whole, as a terminal reassembles llama2.c's raw
   * output. One stream per sequence; not thread-safe.
   */
  public TextStream stream() {
    return new TextStream();
  }

  /** See {@link #stream()}. */
  public final class TextStream {
    private final CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
        .onMalformedInput(CodingErrorAction.REPLACE).onUnmappableCharacter(CodingErrorAction.REPLACE);
    /** Bytes of an incomplete character (at most three) followed by the next token's. */
    private ByteBuffer bytes = ByteBuffer.allocate(64);
    private CharBuffer chars = CharBuffer.allocate(64);

    private TextStream() {}

    /**
     * The text {@code token} adds after {@code prev}: whole characters only, so "" while a character is still
     * incomplete; a byte that cannot begin or continue a character is U+FFFD. BOS and EOS add nothing.
     */
    public String next(int prev, int token) {
      if (check(token) == BOS || token == EOS) {
        return "";
      }
      byte[] piece = bytes(prev, token);
      if (bytes.remaining() < piece.length) {
        bytes = ByteBuffer.allocate(bytes.position() + piece.length).put(bytes.flip());
        chars = CharBuffer.allocate(bytes.capacity());
      }
      bytes.put(piece).flip();
      chars.clear();
      decoder.decode(bytes, chars, false);
      bytes.compact();
      return chars.flip().toString();
    }

    /** What an unfinished character at the end of the stream reads as (U+FFFD), or ""; the stream starts afresh. */
    public String finish() {
      bytes.flip();
      chars.clear();
      decoder.decode(bytes, chars, true);
      decoder.flush(chars);
      decoder.reset();
      bytes.clear();
      return chars.flip().toString();
    }
  }

  /** The bytes of a checked {@code token} after {@code prev} (shared: not to be modified). */
  private byte[] bytes(int prev, int token) {
    return prev == BOS ? rawAfterBos[token] : raw[token];
  }

  private int check(int token) {
    if (token < 0 || token >= pieces.length) {
      throw new IndexOutOfBoundsException("token " + token + " is outside the vocabulary [0, " + pieces.length + ")");
    }
    return token;
  }

  /** The byte a piece {@code <0xNN>} stands for, or -1. */
  private static int rawByte(byte[] piece) {
    if (piece.length != 6 || piece[0] != '<' || piece[1] != '0' || piece[2] != 'x' || piece[5] != '>') {
      return -1;
    }
    int hi = Character.digit(piece[3], 16);
    int lo = Character.digit(piece[4], 16);
    return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
  }

  private static String key(byte[] bytes) {
    return new String(bytes, StandardCharsets.ISO_8859_1);
  }

  private static String key(byte[] bytes, int from, int to) {
    return new String(bytes, from, to - from, StandardCharsets.ISO_8859_1);
  }
}
