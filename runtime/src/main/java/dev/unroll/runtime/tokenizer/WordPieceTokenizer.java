package dev.unroll.runtime.tokenizer;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntFunction;

/**
 * BERT's WordPiece tokenizer over a BERT {@code vocab.txt}, tokenizing as Hugging Face's (slow) {@code BertTokenizer}
 * does with its defaults, and building the inputs of encoder models ({@code [CLS] a [SEP] b [SEP]}, token types,
 * truncation, padding).
 *
 * <p>The vocabulary file holds one token per line, UTF-8; a token's id is its line number counted from 0. Lines end
 * in LF or CRLF; a byte-order mark at the start and empty lines after the last token are ignored. It must hold
 * {@code [PAD]}, {@code [UNK]}, {@code [CLS]} and {@code [SEP]}, no token twice, and no empty line before the last
 * token (ids are line numbers, so one cannot be skipped).
 *
 * <p>Tokenizing a text: basic tokenization (cleaning, CJK ideographs and punctuation split off, lower-casing and
 * accent stripping as the {@link Options} say; see {@code BasicTokenizer}), then each word in greedy longest-match
 * word pieces: the longest prefix of the word that is a token, then from where it ends the longest piece that is a
 * token with {@code ##} before it, and so on. A word longer than {@link #MAX_INPUT_CHARS_PER_WORD} code points, or
 * one where at some point no piece matches, becomes the single token {@code [UNK]}.
 *
 * <p>Special tokens written in the text are not recognised: {@code "[CLS]"} tokenizes as {@code [}, {@code cls},
 * {@code ]} (Hugging Face matches them in the text first). Encoders are given them by
 * {@link #encode(String, String, int)} and {@link #encodeBatch}.
 *
 * <p>Instances are immutable and thread-safe. Nothing here is on a model's per-step path, so it allocates freely.
 */
public final class WordPieceTokenizer {

  /** Words longer than this, in code points, become {@code [UNK]} (BERT's {@code max_input_chars_per_word}). */
  public static final int MAX_INPUT_CHARS_PER_WORD = 100;

  /** What a continuation piece starts with. */
  private static final String CONTINUATION = "##";

  /** The special tokens a vocabulary must hold, in the order a BERT vocabulary has them. */
  private static final List<String> REQUIRED = List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]");

  /**
   * How words are normalised before they are split in pieces.
   *
   * @param lowerCase lower-case each word (the uncased BERT models)
   * @param stripAccents decompose each word (NFD) and drop its non-spacing marks ({@code Mn})
   */
  public record Options(boolean lowerCase, boolean stripAccents) {

    /** Lower-cased, accents stripped: {@code bert-base-uncased} and the default. */
    public static final Options UNCASED = new Options(true, true);

    /** Neither lower-cased nor stripped: {@code bert-base-cased}. */
    public static final Options CASED = new Options(false, false);

    /** Lower-casing as given and accents stripped exactly when lower-casing, as Hugging Face's default does. */
    public static Options lowerCase(boolean lowerCase) {
      return new Options(lowerCase, lowerCase);
    }

    /** These options with accent stripping set apart from lower-casing. */
    public Options withStripAccents(boolean stripAccents) {
      return new Options(lowerCase, stripAccents);
    }
  }

  /**
   * One row of encoder input, {@code context} long: {@code ids} are {@code [CLS] a [SEP]} (and {@code b [SEP]} for
   * a pair) then {@code [PAD]}; {@code types} are 0 over {@code [CLS] a [SEP]}, 1 over {@code b [SEP]} and 0 over
   * the padding; {@code length} counts the tokens before the padding.
   */
  public record Encoding(int[] ids, int[] types, int length) {}

  private final String[] tokens;
  private final Map<String, Integer> ids;
  /** The longest token in chars, so the search for a piece starts no longer than any token. */
  private final int longestToken;
  private final BasicTokenizer basic;
  private final int pad;
  private final int unk;
  private final int cls;
  private final int sep;

  private WordPieceTokenizer(String[] tokens, Map<String, Integer> ids, Options options) {
    this.tokens = tokens;
    this.ids = ids;
    this.longestToken = Arrays.stream(tokens).mapToInt(String::length).max().orElse(0);
    this.basic = new BasicTokenizer(options.lowerCase(), options.stripAccents());
    this.pad = ids.get("[PAD]");
    this.unk = ids.get("[UNK]");
    this.cls = ids.get("[CLS]");
    this.sep = ids.get("[SEP]");
  }

  /** Reads a BERT {@code vocab.txt} with {@link Options#UNCASED}. See {@link #load(Path, Options)}. */
  public static WordPieceTokenizer load(Path vocab) throws IOException {
    return load(vocab, Options.UNCASED);
  }

  /**
   * Reads a BERT {@code vocab.txt} (see the class comment for its form).
   *
   * @throws TokenizerException when the file is missing, empty, not UTF-8, has an empty line or a token twice, or
   *     lacks one of {@code [PAD]}, {@code [UNK]}, {@code [CLS]}, {@code [SEP]}; the message names the line
   * @throws IOException when the file cannot be read
   */
  public static WordPieceTokenizer load(Path vocab, Options options) throws IOException {
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(vocab);
    } catch (NoSuchFileException e) {
      throw new TokenizerException(vocab, "no such file (a BERT vocab.txt was expected)", e);
    }
    CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder()
        .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
    List<String> lines = new ArrayList<>();
    boolean bom = bytes.length >= 3 && (bytes[0] & 0xff) == 0xEF && (bytes[1] & 0xff) == 0xBB
        && (bytes[2] & 0xff) == 0xBF;
    // A LF byte never occurs inside a multi-byte UTF-8 character, so lines can be cut before decoding.
    for (int start = bom ? 3 : 0; start < bytes.length; ) {
      int end = start;
      while (end < bytes.length && bytes[end] != '\n') {
        end++;
      }
      int stop = end > start && bytes[end - 1] == '\r' ? end - 1 : end;
      try {
        lines.add(utf8.decode(ByteBuffer.wrap(bytes, start, stop - start)).toString());
      } catch (CharacterCodingException e) {
        throw new TokenizerException(vocab, "line " + (lines.size() + 1) + " is not UTF-8 text", e);
      }
      start = end + 1;
    }
    while (!lines.isEmpty() && lines.getLast().isEmpty()) {
      lines.removeLast();
    }
    if (lines.isEmpty()) {
      throw new TokenizerException(vocab, "is empty; a BERT vocab.txt holds one token per line", null);
    }
    Map<String, Integer> ids = new HashMap<>(lines.size() * 2);
    String problem = problem(lines, i -> "line " + (i + 1), ids);
    if (problem != null) {
      throw new TokenizerException(vocab, problem, null);
    }
    return new WordPieceTokenizer(lines.toArray(String[]::new), ids, options);
  }

  /** A tokenizer over {@code tokens} with {@link Options#UNCASED}. See {@link #of(List, Options)}. */
  public static WordPieceTokenizer of(List<String> tokens) {
    return of(tokens, Options.UNCASED);
  }

  /**
   * A tokenizer over {@code tokens}, token i having id i: a vocabulary a program builds, held to the rules of a
   * {@code vocab.txt} (see the class comment).
   *
   * @throws IllegalArgumentException when the list is empty, has an empty token or a token twice, or lacks one of
   *     {@code [PAD]}, {@code [UNK]}, {@code [CLS]}, {@code [SEP]}; the message names the index
   * @throws NullPointerException when a token is null
   */
  public static WordPieceTokenizer of(List<String> tokens, Options options) {
    if (tokens.isEmpty()) {
      throw new IllegalArgumentException("the vocabulary is empty");
    }
    String[] copy = tokens.toArray(String[]::new);
    for (int i = 0; i < copy.length; i++) {
      if (copy[i] == null) {
        throw new NullPointerException("tokens[" + i + "] is null");
      }
    }
    Map<String, Integer> ids = new HashMap<>(copy.length * 2);
    String problem = problem(Arrays.asList(copy), i -> "tokens[" + i + "]", ids);
    if (problem != null) {
      throw new IllegalArgumentException("vocabulary: " + problem);
    }
    return new WordPieceTokenizer(copy, ids, options);
  }

  /**
   * Fills {@code ids} with each token's id and returns the first thing wrong with the vocabulary, or null.
   *
   * @param where names entry i in a message ("line 5", "tokens[4]")
   */
  private static String problem(List<String> tokens, IntFunction<String> where, Map<String, Integer> ids) {
    for (int i = 0; i < tokens.size(); i++) {
      String token = tokens.get(i);
      if (token.isEmpty()) {
        return where.apply(i) + " is empty; every line up to the last token is a token (ids are line numbers)";
      }
      Integer first = ids.putIfAbsent(token, i);
      if (first != null) {
        return where.apply(i) + " repeats the token \"" + token + "\" of " + where.apply(first);
      }
    }
    List<String> missing = REQUIRED.stream().filter(s -> !ids.containsKey(s)).toList();
    if (!missing.isEmpty()) {
      return "has no " + String.join(", ", missing) + " among its " + tokens.size() + " tokens; a BERT vocabulary "
          + "holds " + String.join(", ", REQUIRED);
    }
    return null;
  }

  /** Number of tokens. */
  public int size() {
    return tokens.length;
  }

  /** The id of {@code token}, or -1 when the vocabulary has no such token. */
  public int id(String token) {
    Integer id = ids.get(token);
    return id == null ? -1 : id;
  }

  /** The token of {@code id}, continuation pieces with their {@code ##}. */
  public String token(int id) {
    return tokens[check(id)];
  }

  /** The id of {@code [CLS]}, which starts every encoder input. */
  public int cls() {
    return cls;
  }

  /** The id of {@code [SEP]}, which ends each sentence of an encoder input. */
  public int sep() {
    return sep;
  }

  /** The id of {@code [PAD]}, which fills a row after its length. */
  public int pad() {
    return pad;
  }

  /** The id of {@code [UNK]}, what a word becomes that cannot be split in pieces. */
  public int unk() {
    return unk;
  }

  /** The ids of the word pieces of {@code text}, without special tokens (see the class comment). */
  public int[] encode(String text) {
    List<String> words = basic.split(text);
    int[] out = new int[16];
    int n = 0;
    for (String word : words) {
      if (n + word.length() > out.length) {
        out = Arrays.copyOf(out, Math.max(out.length * 2, n + word.length()));
      }
      n = pieces(word, out, n);
    }
    return Arrays.copyOf(out, n);
  }

  /** The word pieces of {@code text} as tokens: what {@link #encode(String)} gives ids of. */
  public List<String> tokenize(String text) {
    return Arrays.stream(encode(text)).mapToObj(id -> tokens[id]).toList();
  }

  /**
   * Appends the ids of {@code word}'s greedy longest-match pieces to {@code out} from {@code n}, or {@code [UNK]}
   * alone; returns the new count. {@code out} has room for one id per char of the word, the most it can take.
   */
  private int pieces(String word, int[] out, int n) {
    if (word.codePointCount(0, word.length()) > MAX_INPUT_CHARS_PER_WORD) {
      out[n] = unk;
      return n + 1;
    }
    int count = n;
    for (int start = 0; start < word.length(); ) {
      String prefix = start == 0 ? "" : CONTINUATION;
      // Pieces longer than the longest token cannot match, so the search starts there; when that cuts a surrogate
      // pair, the cut piece matches no token of well-formed text, and the next step back ends between code points.
      int end = Math.min(word.length(), start + longestToken - prefix.length());
      Integer id = null;
      while (end > start) {
        id = ids.get(prefix + word.substring(start, end));
        if (id != null) {
          break;
        }
        end = word.offsetByCodePoints(end, -1);
      }
      if (id == null) {
        out[n] = unk;
        return n + 1;
      }
      out[count++] = id;
      start = end;
    }
    return count;
  }

  /**
   * The text of {@code ids}: their tokens joined by spaces, a continuation piece glued to the one before it without
   * its {@code ##}, special tokens kept (as Hugging Face's {@code decode} without clean-up). Lower-casing and accents
   * stripped do not come back.
   */
  public String decode(int[] ids) {
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < ids.length; i++) {
      String token = tokens[check(ids[i])];
      if (i > 0 && token.startsWith(CONTINUATION)) {
        out.append(token, CONTINUATION.length(), token.length());
      } else {
        out.append(i > 0 ? " " : "").append(token);
      }
    }
    return out.toString();
  }

  /** {@code [CLS] a [SEP]}, truncated and padded to {@code context}. See {@link #encode(String, String, int)}. */
  public Encoding encode(String a, int context) {
    return encode(a, null, context);
  }

  /**
   * One row of encoder input: {@code [CLS] a [SEP] b [SEP]}, or {@code [CLS] a [SEP]} when {@code b} is null, with
   * its token types, padded with {@code [PAD]} to {@code context}. When the pieces do not fit, they are truncated
   * as Hugging Face's {@code longest_first} does: one piece at a time from the end of the longer of a and b (of b
   * when they are as long), until they fit beside the special tokens.
   *
   * @throws IllegalArgumentException when {@code context} leaves no room for the special tokens (3 for a pair, 2
   *     for one sentence)
   */
  public Encoding encode(String a, String b, int context) {
    checkContext(context, b != null);
    int[] ids = new int[context];
    int[] types = new int[context];
    int length = row(encode(a), b == null ? null : encode(b), context, ids, types, 0);
    return new Encoding(ids, types, length);
  }

  /**
   * Fills the inputs of an encoder step with {@code texts}, one per row: row r of {@code tokens} and {@code types}
   * (row-major, {@code batch * context}) as {@link #encode(String, int)} gives it, {@code lengths[r]} its length.
   * Rows after the last text are an empty text ({@code [CLS] [SEP]}, length 2), so a last, partial batch needs no
   * other handling.
   *
   * @param types filled with the token types (all 0 for single sentences), or null when the model takes none
   * @throws IllegalArgumentException when there are more texts than rows, {@code context} &lt; 2, or an array's
   *     length is not {@code batch * context} ({@code batch} for {@code lengths})
   */
  public void encodeBatch(List<String> texts, int batch, int context, int[] tokens, int[] types, int[] lengths) {
    fill(texts, null, batch, context, tokens, types, lengths);
  }

  /**
   * {@link #encodeBatch(List, int, int, int[], int[], int[])} for sentence pairs: row r is
   * {@code [CLS] a[r] [SEP] b[r] [SEP]} as {@link #encode(String, String, int)} gives it; rows after the last pair
   * are {@code [CLS] [SEP] [SEP]}, length 3, the last {@code [SEP]} of type 1.
   *
   * @throws IllegalArgumentException when {@code a} and {@code b} differ in size, there are more pairs than rows,
   *     {@code context} &lt; 3, or an array's length is not {@code batch * context} ({@code batch} for
   *     {@code lengths})
   */
  public void encodeBatch(List<String> a, List<String> b, int batch, int context, int[] tokens, int[] types,
      int[] lengths) {
    if (a.size() != b.size()) {
      throw new IllegalArgumentException("a has " + a.size() + " texts and b " + b.size() + "; pairs need as many");
    }
    fill(a, b, batch, context, tokens, types, lengths);
  }

  private void fill(List<String> a, List<String> b, int batch, int context, int[] tokens, int[] types,
      int[] lengths) {
    checkContext(context, b != null);
    if (batch < 1) {
      throw new IllegalArgumentException("batch " + batch + " must be at least 1");
    }
    if (a.size() > batch) {
      throw new IllegalArgumentException(a.size() + " texts do not fit a batch of " + batch + " rows");
    }
    checkLength("tokens", tokens, batch * context, "batch * context = " + batch + " * " + context);
    if (types != null) {
      checkLength("types", types, batch * context, "batch * context = " + batch + " * " + context);
    }
    checkLength("lengths", lengths, batch, "batch");
    int[] empty = new int[0];
    int[] rowTypes = types != null ? types : new int[batch * context];
    for (int r = 0; r < batch; r++) {
      int[] first = r < a.size() ? encode(a.get(r)) : empty;
      int[] second = b == null ? null : r < b.size() ? encode(b.get(r)) : empty;
      lengths[r] = row(first, second, context, tokens, rowTypes, r * context);
    }
  }

  /**
   * Writes {@code [CLS] a [SEP] (b [SEP])} truncated longest-first, then padding, into {@code ids} and
   * {@code types} at {@code [at, at + context)}; returns the length before the padding.
   */
  private int row(int[] a, int[] b, int context, int[] ids, int[] types, int at) {
    int keepA = a.length;
    int keepB = b == null ? 0 : b.length;
    int room = context - (b == null ? 2 : 3);
    while (keepA + keepB > room) {
      if (keepA > keepB) {
        keepA--;
      } else {
        keepB--;
      }
    }
    int n = at;
    ids[n] = cls;
    types[n++] = 0;
    for (int i = 0; i < keepA; i++) {
      ids[n] = a[i];
      types[n++] = 0;
    }
    ids[n] = sep;
    types[n++] = 0;
    if (b != null) {
      for (int i = 0; i < keepB; i++) {
        ids[n] = b[i];
        types[n++] = 1;
      }
      ids[n] = sep;
      types[n++] = 1;
    }
    int length = n - at;
    Arrays.fill(ids, n, at + context, pad);
    Arrays.fill(types, n, at + context, 0);
    return length;
  }

  private static void checkContext(int context, boolean pair) {
    int least = pair ? 3 : 2;
    if (context < least) {
      throw new IllegalArgumentException("context " + context + " leaves no room for " + (pair
          ? "[CLS] a [SEP] b [SEP]: a pair needs at least 3" : "[CLS] a [SEP]: one sentence needs at least 2"));
    }
  }

  private static void checkLength(String what, int[] array, int length, String formula) {
    if (array == null) {
      throw new NullPointerException(what + " is null");
    }
    if (array.length != length) {
      throw new IllegalArgumentException(what + " has length " + array.length + "; it must be " + formula + " = "
          + length);
    }
  }

  private int check(int id) {
    if (id < 0 || id >= tokens.length) {
      throw new IndexOutOfBoundsException("token " + id + " is outside the vocabulary [0, " + tokens.length + ")");
    }
    return id;
  }
}
