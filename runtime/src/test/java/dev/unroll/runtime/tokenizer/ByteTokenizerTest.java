package dev.unroll.runtime.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class ByteTokenizerTest {

  private static final ByteTokenizer T = ByteTokenizer.INSTANCE;

  @Test
  void tokensAreTheUtf8Bytes() {
    assertArrayEquals(new int[] {'H', 'i', '\n'}, T.encode("Hi\n"));
    assertArrayEquals(new int[] {0xc3, 0xa9}, T.encode("é"));
    assertEquals("To be, or not — to be", T.decode(T.encode("To be, or not — to be")));
    assertEquals("q", T.decode('q'));
    assertEquals("\uFFFD", T.decode(0xc3));
    assertThrows(IndexOutOfBoundsException.class, () -> T.decode(256));
    assertThrows(IndexOutOfBoundsException.class, () -> T.decode(new int[] {-1}));
  }
}
