package dev.unroll.runtime.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;
import org.junit.jupiter.api.io.TempDir;

class Llama2TokenizerTest {

  @TempDir
  Path dir;

  /** Piece and score of one token of a hand-made vocabulary. */
  private record Piece(String text, float score) {}

  /** 0..2 the specials, 3..258 the byte tokens, then the pieces below from id 259. */
  private static final List<Piece> PIECES = List.of(
      new Piece(" ", -1), // 259
      new Piece("a", -2), // 260
      new Piece("b", -3), // 261
      new Piece("c", -4), // 262
      new Piece(" a", 1), // 263
      new Piece("ab", 5), // 264
      new Piece("bc", 10), // 265
      new Piece(" ab", 20), // 266
      new Piece("x", -5), // 267
      new Piece("xx", 2), // 268: "xxxx" merges the leftmost equal pair first
      new Piece("é", -6), // 269: one piece for a two-byte code point
      new Piece(" x", -1e10f)); // 270: scores at the floor never merge

  private static byte[] file(List<byte[]> pieces, List<Float> scores, int maxLength) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteBuffer b = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(maxLength);
    out.writeBytes(b.array());
    for (int i = 0; i < pieces.size(); i++) {
      ByteBuffer t = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putFloat(scores.get(i))
          .putInt(pieces.get(i).length);
      out.writeBytes(t.array());
      out.writeBytes(pieces.get(i));
    }
    return out.toByteArray();
  }

  private static byte[] smallFile() {
    List<byte[]> pieces = new ArrayList<>();
    List<Float> scores = new ArrayList<>();
    for (String s : new String[] {"<unk>", "\n<s>\n", "\n</s>\n"}) {
      pieces.add(s.getBytes(StandardCharsets.UTF_8));
      scores.add(0f);
    }
    for (int i = 0; i < 256; i++) {
      pieces.add(String.format("<0x%02X>", i).getBytes(StandardCharsets.US_ASCII));
      scores.add(0f);
    }
    for (Piece p : PIECES) {
      pieces.add(p.text().getBytes(StandardCharsets.UTF_8));
      scores.add(p.score());
    }
    return file(pieces, scores, 6);
  }

  private static final int VOCAB = 3 + 256 + PIECES.size();

  private Llama2Tokenizer small() throws IOException {
    Path path = dir.resolve("tokenizer.bin");
    Files.write(path, smallFile());
    return Llama2Tokenizer.load(path, VOCAB);
  }

  @Test
  void mergesTheBestScoringPairFirst() throws IOException {
    Llama2Tokenizer t = small();
    // [" ", a, b, c]: bc (10) beats ab (5) and " a" (1); then " a" merges; " abc" is no piece
    assertArrayEquals(new int[] {263, 265}, t.encode("abc", false, false));
    // [" ", a, b]: ab (5), then " ab" (20)
    assertArrayEquals(new int[] {Llama2Tokenizer.BOS, 266, Llama2Tokenizer.EOS}, t.encode("ab", true, true));
    // [" ", x, x, x, x]: the three xx pairs score alike, the leftmost merges first: [" ", xx, x, x], [" ", xx, xx]
    assertArrayEquals(new int[] {259, 268, 268}, t.encode("xxxx", false, false));
    // " x" scores -1e10: run.c never merges at its floor
    assertArrayEquals(new int[] {259, 267}, t.encode("x", false, false));
  }

  @Test
  void emptyTextHasNoDummyPrefix() throws IOException {
    Llama2Tokenizer t = small();
    assertArrayEquals(new int[] {Llama2Tokenizer.BOS}, t.encode("", true, false));
    assertArrayEquals(new int[0], t.encode("", false, false));
  }

  @Test
  void unknownCodePointsFallBackToBytes() throws IOException {
    Llama2Tokenizer t = small();
    // é has a piece; ü (c3 bc) and € (e2 82 ac) do not, so their bytes are tokens byte + 3
    assertArrayEquals(new int[] {259, 269, 0xc3 + 3, 0xbc + 3, 0xe2 + 3, 0x82 + 3, 0xac + 3},
        t.encode("éü€", false, false));
    int[] tokens = t.encode("aé€b", true, false);
    assertEquals("aé€b", t.decode(tokens)); // the space after BOS is stripped, the bytes join into €
  }

  @Test
  void decodeStripsTheSpaceAfterBosAndTurnsByteTokensIntoBytes() throws IOException {
    Llama2Tokenizer t = small();
    assertEquals("a", t.decode(Llama2Tokenizer.BOS, 263));
    assertEquals(" a", t.decode(260, 263));
    assertEquals("A", t.decode(260, 'A' + 3));
    assertEquals("\n", t.decode(260, '\n' + 3));
    assertEquals("\uFFFD", t.decode(260, 0xe2 + 3)); // one byte of a longer character
    assertArrayEquals(new byte[] {(byte) 0xe2}, t.pieceBytes(260, 0xe2 + 3));
    assertSame(t.decode(260, 263), t.decode(261, 263), "decoding a piece allocates nothing");
    assertThrows(IndexOutOfBoundsException.class, () -> t.decode(1, VOCAB));
  }

  @Test
  void aStreamHoldsBackTheBytesOfASplitCharacterUntilItIsWhole() throws IOException {
    Llama2Tokenizer t = small();
    Llama2Tokenizer.TextStream s = t.stream();
    assertEquals("a", s.next(Llama2Tokenizer.BOS, 263)); // the space after BOS stripped, as decode does
    byte[] euro = "€".getBytes(StandardCharsets.UTF_8); // three byte tokens
    assertEquals("", s.next(263, (euro[0] & 0xff) + 3));
    assertEquals("", s.next((euro[0] & 0xff) + 3, (euro[1] & 0xff) + 3));
    assertEquals("€", s.next((euro[1] & 0xff) + 3, (euro[2] & 0xff) + 3));
    byte[] smile = "🙂".getBytes(StandardCharsets.UTF_8); // four bytes, two chars in Java
    StringBuilder text = new StringBuilder();
    for (byte b : smile) {
      text.append(s.next(260, (b & 0xff) + 3));
    }
    assertEquals("🙂", text.toString());
    assertEquals("", s.next(260, Llama2Tokenizer.EOS));
    assertEquals("\uFFFD", s.next(260, 0xff + 3)); // never part of UTF-8
    assertEquals("", s.next(260, 0xc3 + 3));
    assertEquals("\uFFFDb", s.next(0xc3 + 3, 261)); // a lead byte whose character never came
    assertEquals("", s.next(260, 0xc3 + 3)); // a character left unfinished when the stream ends
    assertEquals("\uFFFD", s.finish());
    assertEquals("é", s.next(260, 269), "after finish the stream starts afresh");
    assertEquals("", s.finish());
  }

  @Test
  void badFilesAreNamed() throws IOException {
    byte[] good = smallFile();
    assertFails(dir.resolve("missing.bin"), null, VOCAB, "no such file");
    assertFails(dir.resolve("cut.bin"), Arrays.copyOf(good, good.length - 3), VOCAB, "truncated");
    assertFails(dir.resolve("cut2.bin"), Arrays.copyOf(good, 30), VOCAB, "truncated", "holds 2 complete tokens");
    assertFails(dir.resolve("short.bin"), new byte[2], VOCAB, "too short");
    assertFails(dir.resolve("big.bin"), good, VOCAB - 1, "larger vocabulary than the model's " + (VOCAB - 1));
    byte[] corrupt = good.clone();
    ByteBuffer.wrap(corrupt).order(ByteOrder.LITTLE_ENDIAN).putInt(4 + 4, 1000); // token 0's length
    assertFails(dir.resolve("corrupt.bin"), corrupt, VOCAB, "token 0 has length 1000");
    byte[] negative = good.clone();
    ByteBuffer.wrap(negative).order(ByteOrder.LITTLE_ENDIAN).putInt(0, -1);
    assertFails(dir.resolve("negative.bin"), negative, VOCAB, "max_token_length is -1");
  }

  private static void assertFails(Path path, byte[] content, int vocab, String... fragments) throws IOException {
    if (content != null) {
      Files.write(path, content);
    }
    TokenizerException e = assertThrows(TokenizerException.class, () -> Llama2Tokenizer.load(path, vocab));
    assertTrue(e.getMessage().startsWith(path + ": "), e.getMessage());
    for (String f : fragments) {
      assertTrue(e.getMessage().contains(f), () -> "message lacks \"" + f + "\": " + e.getMessage());
    }
  }

  // ---------------------------------------------------------------------------------------------------------
  // the real 32,000-token vocabulary, opt in: -Dunroll.sharedData=1 or UNROLL_SHARED_DATA=1

  /** llama2.c's tokenizer.bin in ../shared/data beside the repository (tests run in runtime/). */
  private static final Path SHARED = Path.of("..", "..", "shared", "data", "tokenizer.bin");

  static boolean sharedData() {
    boolean asked = "1".equals(System.getProperty("unroll.sharedData"))
        || "1".equals(System.getenv("UNROLL_SHARED_DATA"));
    return asked && Files.isRegularFile(SHARED);
  }

  @Test
  @EnabledIf("sharedData")
  void encodesAsLlama2cDoesWithTheRealVocabulary() throws IOException {
    Llama2Tokenizer t = Llama2Tokenizer.load(SHARED, 32000);
    // expected ids from llama2.c's run.c (its test_prompt_encodings and the HF Llama 2 tokenizer)
    assertArrayEquals(new int[] {1, 15043, 3186}, t.encode("Hello world", true, false));
    assertArrayEquals(new int[] {1, 306, 4658, 278, 6593, 310, 2834, 338},
        t.encode("I believe the meaning of life is", true, false));
    assertArrayEquals(new int[] {1}, t.encode("", true, false));
    for (String text : new String[] {"Hello world", "Once upon a time, there was a little girl.\nShe smiled 😊"}) {
      assertEquals(text, t.decode(t.encode(text, true, true)));
    }
    assertEquals("Hello", t.decode(1, 15043));
    assertEquals(" world", t.decode(15043, 3186));
    // streamed token by token, characters spelled in byte tokens (the emoji here) come out whole
    String text = "She smiled 😊 and said 日本語";
    int[] tokens = t.encode(text, true, false);
    assertTrue(Arrays.stream(tokens).anyMatch(id -> id >= Llama2Tokenizer.BYTE_OFFSET && id < 259), "byte tokens");
    Llama2Tokenizer.TextStream stream = t.stream();
    StringBuilder streamed = new StringBuilder();
    for (int i = 1; i < tokens.length; i++) {
      streamed.append(stream.next(tokens[i - 1], tokens[i]));
    }
    assertEquals(text, streamed.append(stream.finish()).toString());
  }
}
