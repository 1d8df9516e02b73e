package dev.unroll.runtime.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.unroll.runtime.format.FuzzSeeds;
import dev.unroll.runtime.format.ReaderFuzzing;
import java.io.IOException;
import org.junit.jupiter.api.Timeout;

/**
 * Fuzzes the tokenizers' files: llama2.c's {@code tokenizer.bin} ({@link Llama2Tokenizer#load}, for a vocabulary of
 * {@link FuzzSeeds#LLAMA2_TOKENIZER_VOCAB}) and a BERT {@code vocab.txt} ({@link WordPieceTokenizer#load}). A
 * vocabulary that loads also encodes and decodes a fixed text, since what the file holds steers both (llama2.c's
 * encoding may refuse a byte the vocabulary has no token for, as documented). See {@link ReaderFuzzing} for what
 * each input is checked for.
 */
@Timeout(value = ReaderFuzzing.TIMEOUT_SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class TokenizerFuzzTest {

  private static final String TEXT = "Hello, unaffable world! h\u00e9llo \u4f60\u597d abc";

  /**
   * A llama2.c tokenizer's fixed costs: its arrays of the model's vocabulary size, and what encoding and decoding the
   * fixed text allocate (the text's bytes, token arrays, the strings of each merge round).
   */
  private static final long LLAMA2_BYTES = 64 << 10;

  private static final ReaderFuzzing LLAMA2 = new ReaderFuzzing("tokenizer.bin", ReaderFuzzing.PER_BYTE,
      LLAMA2_BYTES, TokenizerException.class);

  /**
   * A vocab.txt of one-character lines costs about 250 bytes of objects a line (the line's buffers, its string, a
   * list slot, a map entry and its id), so 128 a byte; encoding the fixed text adds a fixed amount.
   */
  private static final ReaderFuzzing WORD_PIECE = new ReaderFuzzing("vocab.txt", 2 * ReaderFuzzing.PER_BYTE,
      64 << 10, TokenizerException.class);

  @FuzzTest(maxDuration = "5m")
  void llama2(byte[] input) throws IOException {
    LLAMA2.check(input, null, path -> {
      Llama2Tokenizer tokenizer = Llama2Tokenizer.load(path, FuzzSeeds.LLAMA2_TOKENIZER_VOCAB);
      assertEquals(FuzzSeeds.LLAMA2_TOKENIZER_VOCAB, tokenizer.vocabSize());
      int[] tokens;
      try {
        tokens = tokenizer.encode(TEXT, true, true);
      } catch (IllegalArgumentException e) {
        assertTrue(e.getMessage().contains("has no piece and no byte-fallback token"), e.getMessage());
        return;
      }
      tokenizer.decode(tokens);
      for (int i = 1; i < tokens.length; i++) {
        tokenizer.decode(tokens[i - 1], tokens[i]);
      }
    });
  }

  @FuzzTest(maxDuration = "5m")
  void wordPiece(byte[] input) throws IOException {
    WORD_PIECE.check(input, null, path -> {
      WordPieceTokenizer tokenizer = WordPieceTokenizer.load(path);
      WordPieceTokenizer.Encoding e = tokenizer.encode(TEXT, "abc", 16);
      assertEquals(16, e.ids().length);
      tokenizer.decode(e.ids());
    });
  }
}
