package dev.unroll.runtime.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unroll.runtime.tokenizer.WordPieceTokenizer.Encoding;
import dev.unroll.runtime.tokenizer.WordPieceTokenizer.Options;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * WordPiece on a small vocabulary written here. Every expected id is worked out by hand from the algorithm's
 * definition (basic tokenization, then greedy longest-match pieces), against the ids listed in {@link #VOCAB}.
 */
class WordPieceTokenizerTest {

  @TempDir
  Path dir;

  private static final String HUNDRED_A = "a".repeat(100);
  private static final String SMILE = "\uD83D\uDE00"; // U+1F600, one code point, two chars, a symbol (So)

  /** Token i has id i. */
  private static final List<String> VOCAB = List.of(
      "[PAD]", // 0
      "[UNK]", // 1
      "[CLS]", // 2
      "[SEP]", // 3
      "[MASK]", // 4
      "un", // 5
      "##aff", // 6
      "##able", // 7
      "##affable", // 8: longer than ##aff, so greedy matching takes it first
      "##s", // 9
      "hello", // 10
      "world", // 11
      "h\u00E9llo", // 12: héllo, composed (NFC)
      "Hello", // 13
      "don", // 14
      "'", // 15
      "t", // 16
      "!", // 17
      ",", // 18
      "\u6211", // 19: 我
      "\u7231", // 20: 爱
      "a", // 21
      "##a", // 22
      HUNDRED_A, // 23: a word of exactly 100 characters
      SMILE, // 24
      "##" + SMILE, // 25
      "ab", // 26
      "##bcd"); // 27: "abcd" could be a ##bcd, but greedy matching takes ab first

  private static final int PAD = 0;
  private static final int UNK = 1;
  private static final int CLS = 2;
  private static final int SEP = 3;

  private static WordPieceTokenizer uncased() {
    return WordPieceTokenizer.of(VOCAB);
  }

  private static List<String> words(String text, boolean lowerCase, boolean stripAccents) {
    return new BasicTokenizer(lowerCase, stripAccents).split(text);
  }

  // -------------------------------------------------------------------------------------------------------------
  // word pieces

  @Test
  void takesTheLongestPieceFirst() {
    WordPieceTokenizer t = uncased();
    // un, then ##affable (9 chars) before ##aff (5): never un ##aff ##able
    assertArrayEquals(new int[] {5, 8}, t.encode("unaffable"));
    assertEquals(List.of("un", "##affable", "##s"), t.tokenize("unaffables"));
    // a, then ##a for each further a: no longer piece of a's matches below 100
    assertArrayEquals(new int[] {21, 22, 22}, t.encode("aaa"));
  }

  @Test
  void withoutTheLongPieceTheWordSplitsInShorterOnes() {
    List<String> vocab = new ArrayList<>(VOCAB);
    vocab.set(8, "##affable-gone");
    WordPieceTokenizer t = WordPieceTokenizer.of(vocab);
    assertArrayEquals(new int[] {5, 6, 7}, t.encode("unaffable"));
  }

  @Test
  void greedyMatchingNeverBacktracks() {
    WordPieceTokenizer t = uncased();
    // ab matches first; then neither ##cd nor ##c is a token, so the word is [UNK], though a ##bcd would spell it
    assertArrayEquals(new int[] {UNK}, t.encode("abcd"));
    assertArrayEquals(new int[] {26}, t.encode("ab"));
  }

  @Test
  void aWordThatCannotBeSplitIsOneUnknownAndTheOthersStay() {
    WordPieceTokenizer t = uncased();
    // xyz has no first piece; unaffz has un ##aff (or ##affable) but nothing for the z: the whole word goes
    assertArrayEquals(new int[] {10, UNK, 11, UNK}, t.encode("hello xyz world unaffz"));
    assertEquals(List.of("hello", "[UNK]", "world", "[UNK]"), t.tokenize("hello xyz world unaffz"));
  }

  @Test
  void aWordOfMoreThanOneHundredCharactersIsUnknown() {
    WordPieceTokenizer t = uncased();
    assertArrayEquals(new int[] {23}, t.encode(HUNDRED_A));
    // 101 a's would split as the 100-a token and ##a, but a word that long is [UNK] unread
    assertArrayEquals(new int[] {UNK}, t.encode(HUNDRED_A + "a"));
    assertArrayEquals(new int[] {10, UNK, 11}, t.encode("hello " + HUNDRED_A + "a world"));
  }

  @Test
  void theLimitCountsCodePointsNotChars() {
    WordPieceTokenizer t = uncased();
    int[] hundred = t.encode(SMILE.repeat(100)); // 200 chars, 100 code points: within the limit
    assertEquals(100, hundred.length);
    assertEquals(24, hundred[0]);
    assertTrue(Arrays.stream(hundred, 1, 100).allMatch(id -> id == 25), Arrays.toString(hundred));
    assertArrayEquals(new int[] {UNK}, t.encode(SMILE.repeat(101)));
  }

  @Test
  void piecesNeverCutASurrogatePair() {
    // the longest token is 5 chars ([PAD] ...), so the first search starts 5 chars in: inside the third emoji
    WordPieceTokenizer t = WordPieceTokenizer.of(List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]", SMILE, "##" + SMILE));
    assertArrayEquals(new int[] {4, 5, 5, 5}, t.encode(SMILE.repeat(4)));
  }

  // -------------------------------------------------------------------------------------------------------------
  // basic tokenization

  @Test
  void lowerCasesAndStripsAccentsByDefault() {
    WordPieceTokenizer t = uncased();
    assertArrayEquals(new int[] {10}, t.encode("H\u00E9llo")); // Héllo -> hello
    assertArrayEquals(new int[] {10, 11}, t.encode("HELLO World"));
  }

  @Test
  void lowerCasingCanKeepAccents() {
    WordPieceTokenizer t = WordPieceTokenizer.of(VOCAB, new Options(true, false));
    assertArrayEquals(new int[] {12}, t.encode("H\u00E9llo")); // Héllo -> héllo
    assertArrayEquals(new int[] {10}, t.encode("Hello"));
  }

  @Test
  void casedTokenizingKeepsCaseAndAccents() {
    WordPieceTokenizer t = WordPieceTokenizer.of(VOCAB, Options.CASED);
    assertArrayEquals(new int[] {13, 10}, t.encode("Hello hello"));
    assertArrayEquals(new int[] {UNK}, t.encode("H\u00E9llo")); // no Héllo in the vocabulary
    WordPieceTokenizer stripped = WordPieceTokenizer.of(VOCAB, Options.CASED.withStripAccents(true));
    assertArrayEquals(new int[] {13}, stripped.encode("H\u00E9llo")); // Héllo -> Hello
  }

  @Test
  void accentStrippingFollowsLowerCasingUnlessSet() {
    assertEquals(Options.UNCASED, Options.lowerCase(true));
    assertEquals(Options.CASED, Options.lowerCase(false));
    assertEquals(new Options(true, false), Options.lowerCase(true).withStripAccents(false));
    assertEquals(new Options(false, true), Options.lowerCase(false).withStripAccents(true));
  }

  @Test
  void aCapitalSigmaLowerCasesByUnicodesFinalSigmaRuleAsPythonDoes() {
    // ΟΔΟΣ ΣΑ -> οδος σα
    assertEquals(List.of("\u03BF\u03B4\u03BF\u03C2", "\u03C3\u03B1"),
        words("\u039F\u0394\u039F\u03A3 \u03A3\u0391", true, false));
    // ΑΣ가UK: the Hangul syllable has no case and is not case-ignorable, so the sigma ends its word: ς (Java's
    // String.toLowerCase looks on to the U and K of the same word and says σ)
    assertEquals(List.of("\u03B1\u03C2\uAC00uk"), words("\u0391\u03A3\uAC00UK", true, false));
    // QᄬΣ: no cased letter right before the sigma (the jamo has no case): σ (String.toLowerCase finds the Q: ς)
    assertEquals(List.of("q\u112C\u03C3"), words("Q\u112C\u03A3", true, false));
    // lower-casing comes before punctuation is split off, so a full stop (case-ignorable) between letters keeps σ
    assertEquals(List.of("\u03B1\u03C3", ".", "\u03B2"), words("\u0391\u03A3.\u0392", true, false));
    assertEquals(List.of("\u03B1\u03C2", "."), words("\u0391\u03A3.", true, false));
  }

  @Test
  void decomposedTextIsComposedBeforeLookup() {
    // e + combining acute (U+0301) is composed to é (NFC), so it finds the composed token
    WordPieceTokenizer t = WordPieceTokenizer.of(VOCAB, new Options(true, false));
    assertArrayEquals(new int[] {12}, t.encode("he\u0301llo"));
    assertArrayEquals(new int[] {10}, uncased().encode("he\u0301llo"));
  }

  @Test
  void punctuationIsSplitOffCharacterByCharacter() {
    WordPieceTokenizer t = uncased();
    assertEquals(List.of("don", "'", "t", "!"), t.tokenize("don't!"));
    assertArrayEquals(new int[] {14, 15, 16, 17, 17, 18, 10}, t.encode("Don't!!,hello"));
  }

  @Test
  void punctuationIsBertsAsciiSetAndEveryUnicodePunctuationCategory() {
    // $ + < ^ ` | ~ are symbols in Unicode (S*) but punctuation to BERT
    assertEquals(List.of("a", "$", "b", "+", "c", "<", "d", "^", "e", "`", "f", "|", "g", "~", "h"),
        words("a$b+c<d^e`f|g~h", true, true));
    // an em dash (Pd), a left guillemet (Pi), an inverted question mark (Po), a fullwidth comma (Po)
    assertEquals(List.of("a", "\u2014", "b", "\u00AB", "c", "\u00BF", "d", "\uFF0C", "e"),
        words("a\u2014b\u00ABc\u00BFd\uFF0Ce", true, true));
    // a symbol outside BERT's ASCII set that is not punctuation stays in the word: the euro sign (Sc)
    assertEquals(List.of("5\u20AC"), words("5\u20AC", true, true));
  }

  @Test
  void cjkIdeographsAreWordsOfTheirOwn() {
    WordPieceTokenizer t = uncased();
    assertArrayEquals(new int[] {19, 20, 11}, t.encode("\u6211\u7231World")); // 我爱World
    // an ideograph outside the BMP (U+20000) and one of the compatibility block, which NFC maps to U+8C48
    assertEquals(List.of("a", "\uD840\uDC00", "b", "\u8C48", "c"), words("a\uD840\uDC00b\uF900c", true, true));
    // kana and hangul are not among BERT's CJK blocks: they stay whole words
    assertEquals(List.of("\u3072\u3089\u304C\u306A", "\uD55C\uAD6D\uC5B4"),
        words("\u3072\u3089\u304C\u306A \uD55C\uAD6D\uC5B4", true, false));
  }

  @Test
  void controlAndFormatCharactersAreDropped() {
    WordPieceTokenizer t = uncased();
    // NUL, U+FFFD, BEL (Cc), zero-width space (Cf), a private-use character (Co): gone, the word joins up
    assertArrayEquals(new int[] {10}, t.encode("he\u0000l\uFFFDl\u0007o\u200B\uE000"));
    assertEquals(List.of("hello"), words("\u0000hel\u200Blo\u0000", true, true));
  }

  @Test
  void everyKindOfWhitespaceSeparatesWords() {
    // tab, newline, carriage return, no-break space (Zs), ideographic space (Zs), line separator (Zl)
    assertEquals(List.of("a", "b", "c", "d", "e", "f", "g"),
        words("a\tb\nc\r\nd\u00A0e\u3000f\u2028g", true, true));
    assertEquals(List.of("hello", "world"), words("   hello    world   ", true, true));
    assertEquals(List.of(), words("", true, true));
    assertEquals(List.of(), words(" \t\n ", true, true));
    assertArrayEquals(new int[0], uncased().encode(""));
  }

  @Test
  void aWordOfAccentsAloneVanishesWhenAccentsAreStripped() {
    assertEquals(List.of("a", "b"), words("a \u0301 b", true, true));
    assertEquals(List.of("a", "\u0301", "b"), words("a \u0301 b", true, false));
  }

  @Test
  void specialTokensInTheTextAreJustText() {
    assertEquals(List.of("[", "cls", "]", "hello", "[", "sep", "]"), words("[CLS] hello [SEP]", true, true));
    assertEquals(List.of("[", "UNK", "]"), words("[UNK]", false, false));
  }

  // -------------------------------------------------------------------------------------------------------------
  // vocabulary lookups and decoding

  @Test
  void looksUpTokensAndSpecials() {
    WordPieceTokenizer t = uncased();
    assertEquals(VOCAB.size(), t.size());
    assertEquals(PAD, t.pad());
    assertEquals(UNK, t.unk());
    assertEquals(CLS, t.cls());
    assertEquals(SEP, t.sep());
    assertEquals(8, t.id("##affable"));
    assertEquals(-1, t.id("affable"));
    assertEquals("##affable", t.token(8));
    assertThrows(IndexOutOfBoundsException.class, () -> t.token(VOCAB.size()));
    assertThrows(IndexOutOfBoundsException.class, () -> t.token(-1));
  }

  @Test
  void specialsAreFoundWhereverTheyAre() {
    WordPieceTokenizer t = WordPieceTokenizer.of(List.of("x", "[SEP]", "[CLS]", "##y", "[UNK]", "[PAD]"));
    assertEquals(5, t.pad());
    assertEquals(4, t.unk());
    assertEquals(2, t.cls());
    assertEquals(1, t.sep());
    assertArrayEquals(new int[] {0, 3, 4}, t.encode("xy z"));
  }

  @Test
  void decodeGluesContinuationsAndKeepsSpecials() {
    WordPieceTokenizer t = uncased();
    assertEquals("unaffables hello", t.decode(t.encode("Unaffables HELLO")));
    assertEquals("[CLS] unaaff [SEP] [PAD]", t.decode(new int[] {CLS, 5, 22, 6, SEP, PAD}));
    assertEquals("##a a", t.decode(new int[] {22, 21}), "a leading continuation keeps its ##");
    assertEquals("don ' t !", t.decode(t.encode("don't!")), "no clean-up of spaces around punctuation");
    assertEquals("", t.decode(new int[0]));
    assertThrows(IndexOutOfBoundsException.class, () -> t.decode(new int[] {VOCAB.size()}));
  }

  // -------------------------------------------------------------------------------------------------------------
  // encoder inputs

  @Test
  void oneSentenceIsClsTextSepThenPadding() {
    Encoding e = uncased().encode("hello unaffable", 7);
    assertArrayEquals(new int[] {CLS, 10, 5, 8, SEP, PAD, PAD}, e.ids());
    assertArrayEquals(new int[7], e.types());
    assertEquals(5, e.length());
  }

  @Test
  void oneSentenceIsCutFromItsEnd() {
    Encoding e = uncased().encode("hello unaffable world", 4); // 4 pieces, room for 2
    assertArrayEquals(new int[] {CLS, 10, 5, SEP}, e.ids());
    assertEquals(4, e.length());
    assertArrayEquals(new int[] {CLS, SEP}, uncased().encode("hello", 2).ids());
  }

  @Test
  void aPairHasTypesZeroThenOne() {
    Encoding e = uncased().encode("hello world", "unaffable", 9);
    assertArrayEquals(new int[] {CLS, 10, 11, SEP, 5, 8, SEP, PAD, PAD}, e.ids());
    assertArrayEquals(new int[] {0, 0, 0, 0, 1, 1, 1, 0, 0}, e.types());
    assertEquals(7, e.length());
  }

  @Test
  void aPairIsTruncatedLongestFirst() {
    WordPieceTokenizer t = uncased();
    // a: hello world un ##affable ##s (5 pieces), b: don ' t (3); context 8 leaves 5
    // remove 3: a (5 > 3) -> 4, a (4 > 3) -> 3, tie 3 = 3 -> b loses one -> 2
    Encoding e = t.encode("hello world unaffables", "don't", 8);
    assertArrayEquals(new int[] {CLS, 10, 11, 5, SEP, 14, 15, SEP}, e.ids());
    assertArrayEquals(new int[] {0, 0, 0, 0, 0, 1, 1, 1}, e.types());
    assertEquals(8, e.length());
    // context 10 leaves 7: one piece goes, from the longer a
    assertArrayEquals(new int[] {CLS, 10, 11, 5, 8, SEP, 14, 15, 16, SEP}, t.encode("hello world unaffables",
        "don't", 10).ids());
    // b (don ' t !, 4) the longer: it loses all 3 pieces to go, down to a's length
    assertArrayEquals(new int[] {CLS, 10, SEP, 14, SEP}, t.encode("hello", "don't!", 5).ids());
  }

  @Test
  void anEqualPairLosesFromBOnTies() {
    // a: hello world hello, b: don ' t; context 8 leaves 5: one piece goes, and on the tie it is b's
    Encoding e = uncased().encode("hello world hello", "don't", 8);
    assertArrayEquals(new int[] {CLS, 10, 11, 10, SEP, 14, 15, SEP}, e.ids());
    assertArrayEquals(new int[] {0, 0, 0, 0, 0, 1, 1, 1}, e.types());
    // context 7 leaves 4: tie -> b 2, then a 3 > 2 -> a 2
    assertArrayEquals(new int[] {CLS, 10, 11, SEP, 14, 15, SEP}, uncased().encode("hello world hello", "don't", 7)
        .ids());
  }

  @Test
  void thePairAtItsSmallestContextIsSpecialsOnly() {
    Encoding e = uncased().encode("hello", "world", 3);
    assertArrayEquals(new int[] {CLS, SEP, SEP}, e.ids());
    assertArrayEquals(new int[] {0, 0, 1}, e.types());
    assertEquals(3, e.length());
  }

  @Test
  void aContextWithoutRoomForTheSpecialsIsRejected() {
    WordPieceTokenizer t = uncased();
    IllegalArgumentException pair = assertThrows(IllegalArgumentException.class, () -> t.encode("a", "b", 2));
    assertTrue(pair.getMessage().contains("context 2"), pair.getMessage());
    IllegalArgumentException single = assertThrows(IllegalArgumentException.class, () -> t.encode("a", 1));
    assertTrue(single.getMessage().contains("context 1"), single.getMessage());
  }

  @Test
  void aBatchIsFilledRowByRowWithPadding() {
    WordPieceTokenizer t = uncased();
    int batch = 3;
    int context = 6;
    int[] tokens = new int[batch * context];
    int[] types = new int[batch * context];
    int[] lengths = new int[batch];
    Arrays.fill(tokens, 99); // what a previous batch left: every place must be written
    Arrays.fill(types, 7);
    t.encodeBatch(List.of("hello world", "unaffables don't"), batch, context, tokens, types, lengths);
    assertArrayEquals(new int[] {
        CLS, 10, 11, SEP, PAD, PAD, // hello world
        CLS, 5, 8, 9, 14, SEP, // un ##affable ##s don ' t, cut to 4 pieces
        CLS, SEP, PAD, PAD, PAD, PAD}, // no text: [CLS] [SEP]
        tokens);
    assertArrayEquals(new int[batch * context], types);
    assertArrayEquals(new int[] {4, 6, 2}, lengths);
    int[] again = new int[batch * context];
    t.encodeBatch(List.of("hello world", "unaffables don't"), batch, context, again, null, lengths);
    assertArrayEquals(tokens, again, "types may be null");
  }

  @Test
  void aBatchOfPairsHasTheirTypes() {
    WordPieceTokenizer t = uncased();
    int[] tokens = new int[2 * 6];
    int[] types = new int[2 * 6];
    int[] lengths = new int[2];
    t.encodeBatch(List.of("hello"), List.of("world"), 2, 6, tokens, types, lengths);
    assertArrayEquals(new int[] {CLS, 10, SEP, 11, SEP, PAD, CLS, SEP, SEP, PAD, PAD, PAD}, tokens);
    assertArrayEquals(new int[] {0, 0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0}, types);
    assertArrayEquals(new int[] {5, 3}, lengths);
    assertThrows(IllegalArgumentException.class,
        () -> t.encodeBatch(List.of("a", "b"), List.of("c"), 2, 6, tokens, types, lengths));
  }

  @Test
  void aBatchRejectsWhatDoesNotFit() {
    WordPieceTokenizer t = uncased();
    int[] tokens = new int[2 * 4];
    int[] lengths = new int[2];
    IllegalArgumentException many = assertThrows(IllegalArgumentException.class,
        () -> t.encodeBatch(List.of("a", "b", "c"), 2, 4, tokens, null, lengths));
    assertTrue(many.getMessage().contains("3 texts") && many.getMessage().contains("batch of 2"), many.getMessage());
    IllegalArgumentException shape = assertThrows(IllegalArgumentException.class,
        () -> t.encodeBatch(List.of("a"), 2, 4, new int[7], null, lengths));
    assertTrue(shape.getMessage().contains("tokens has length 7") && shape.getMessage().contains("= 8"),
        shape.getMessage());
    assertThrows(IllegalArgumentException.class, () -> t.encodeBatch(List.of("a"), 2, 4, tokens, new int[9], lengths));
    assertThrows(IllegalArgumentException.class, () -> t.encodeBatch(List.of("a"), 2, 4, tokens, null, new int[3]));
    assertThrows(IllegalArgumentException.class, () -> t.encodeBatch(List.of("a"), 4, 1, new int[4], null,
        new int[4]));
    assertThrows(IllegalArgumentException.class, () -> t.encodeBatch(List.of(), 0, 4, new int[0], null, new int[0]));
  }

  // -------------------------------------------------------------------------------------------------------------
  // the vocab.txt file

  private Path write(String name, String content) throws IOException {
    return write(name, content.getBytes(StandardCharsets.UTF_8));
  }

  private Path write(String name, byte[] content) throws IOException {
    Path path = dir.resolve(name);
    Files.write(path, content);
    return path;
  }

  @Test
  void aVocabFileReadsAsTheSameListDoes() throws IOException {
    Path path = write("vocab.txt", String.join("\n", VOCAB) + "\n");
    WordPieceTokenizer file = WordPieceTokenizer.load(path);
    WordPieceTokenizer list = uncased();
    assertEquals(list.size(), file.size());
    for (int i = 0; i < VOCAB.size(); i++) {
      assertEquals(VOCAB.get(i), file.token(i));
    }
    String text = "Unaffables, H\u00E9llo \u6211\u7231 world! don't " + SMILE + SMILE + " abcd";
    assertArrayEquals(list.encode(text), file.encode(text));
    assertArrayEquals(new int[] {5, 8, 9, 18, 10, 19, 20, 11, 17, 14, 15, 16, 24, 25, UNK}, file.encode(text));
    assertArrayEquals(new int[] {13}, WordPieceTokenizer.load(path, Options.CASED).encode("Hello"));
  }

  @Test
  void crlfLinesAByteOrderMarkAndTrailingEmptyLinesAreAccepted() throws IOException {
    byte[] text = ("\uFEFF" + String.join("\r\n", VOCAB) + "\r\n\r\n\n").getBytes(StandardCharsets.UTF_8);
    WordPieceTokenizer t = WordPieceTokenizer.load(write("crlf.txt", text));
    assertEquals(VOCAB.size(), t.size());
    assertEquals("[PAD]", t.token(0));
    assertEquals("##bcd", t.token(VOCAB.size() - 1));
    assertArrayEquals(new int[] {5, 8}, t.encode("unaffable"));
    WordPieceTokenizer noNewline = WordPieceTokenizer.load(write("last.txt", String.join("\n", VOCAB)));
    assertEquals("##bcd", noNewline.token(VOCAB.size() - 1));
  }

  @Test
  void aMissingFileIsNamed() {
    assertFails(dir.resolve("missing.txt"), "no such file");
  }

  @Test
  void anEmptyFileIsNamed() throws IOException {
    assertFails(write("empty.txt", ""), "is empty");
    assertFails(write("blank.txt", "\n\n\r\n"), "is empty");
  }

  @Test
  void anEmptyLineBeforeTheLastTokenIsNamed() throws IOException {
    assertFails(write("gap.txt", "[PAD]\n[UNK]\n\n[CLS]\n[SEP]\n"), "line 3 is empty");
  }

  @Test
  void aRepeatedTokenIsNamedWithBothLines() throws IOException {
    assertFails(write("twice.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\nun\n##a\nun\n"),
        "line 7 repeats the token \"un\" of line 5");
  }

  @Test
  void missingSpecialTokensAreListed() throws IOException {
    assertFails(write("nospecials.txt", "[PAD]\n[UNK]\nhello\n"), "has no [CLS], [SEP] among its 3 tokens");
    assertFails(write("nounk.txt", "[PAD]\n[CLS]\n[SEP]\n[unk]\n"), "has no [UNK] ");
  }

  @Test
  void aLineThatIsNotUtf8IsNamed() throws IOException {
    byte[] bytes = "[PAD]\n[UNK]\n[CLS]\n[SEP]\nca\u00FFfe\n".getBytes(StandardCharsets.ISO_8859_1);
    assertFails(write("latin1.txt", bytes), "line 5 is not UTF-8");
  }

  private static void assertFails(Path path, String... fragments) {
    TokenizerException e = assertThrows(TokenizerException.class, () -> WordPieceTokenizer.load(path));
    assertTrue(e.getMessage().startsWith(path + ": "), e.getMessage());
    for (String f : fragments) {
      assertTrue(e.getMessage().contains(f), () -> "message lacks \"" + f + "\": " + e.getMessage());
    }
  }

  @Test
  void aBadListIsNamedByIndex() {
    assertListFails(List.of(), "vocabulary is empty");
    assertListFails(List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]", "x", "x"), "tokens[5] repeats the token \"x\" of "
        + "tokens[4]");
    assertListFails(List.of("[PAD]", "", "[UNK]", "[CLS]", "[SEP]"), "tokens[1] is empty");
    assertListFails(List.of("[PAD]", "[UNK]", "[CLS]"), "has no [SEP] ");
    List<String> withNull = new ArrayList<>(List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]"));
    withNull.add(null);
    NullPointerException e = assertThrows(NullPointerException.class, () -> WordPieceTokenizer.of(withNull));
    assertTrue(e.getMessage().contains("tokens[4]"), e.getMessage());
  }

  private static void assertListFails(List<String> tokens, String fragment) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> WordPieceTokenizer.of(tokens));
    assertTrue(e.getMessage().contains(fragment), () -> "message lacks \"" + fragment + "\": " + e.getMessage());
  }

  @Test
  void theListIsCopied() {
    List<String> tokens = new ArrayList<>(VOCAB);
    WordPieceTokenizer t = WordPieceTokenizer.of(tokens);
    tokens.set(10, "changed");
    assertEquals("hello", t.token(10));
    assertArrayEquals(new int[] {10}, t.encode("hello"));
  }
}
