package dev.unroll.samples;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unroll.runtime.Backend;
import dev.unroll.runtime.CausalLm;
import dev.unroll.runtime.format.Safetensors;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The text sample's vocabulary: characters as nanoGPT numbers them, bytes otherwise, and saved with the model. */
class VocabularyTest {
  @TempDir
  Path dir;

  @Test
  void charactersSortedByCodePointRoundTrip() {
    String text = "héllo, wörld\n" + Character.toString(0x1F600) + "!";
    Vocabulary vocabulary = Vocabulary.of(text);
    // '\n' ' ' '!' ',' 'd' 'e'... sorted by code point, the emoji (outside the BMP) one character, last.
    assertEquals(13, vocabulary.size());
    int[] tokens = vocabulary.encode(text);
    assertEquals(text.codePointCount(0, text.length()), tokens.length);
    assertEquals(0, vocabulary.token('\n'));
    assertEquals(12, vocabulary.token(0x1F600));
    assertEquals(-1, vocabulary.token('z'));
    assertEquals(text, vocabulary.decode(tokens, 0, tokens.length));
    assertEquals("llo", vocabulary.decode(tokens, 2, 5));
    assertArrayEquals(tokens, vocabulary.encode(text.getBytes(StandardCharsets.UTF_8)));
  }

  @Test
  void anUnknownCharacterIsNamedWithItsPlace() {
    Vocabulary vocabulary = Vocabulary.of("abc");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> vocabulary.encode("abzc"));
    assertEquals("'z' (U+007A) (character 2 of the text) is not one of the vocabulary's 3 characters", e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> vocabulary.encode("a\tb"));
    assertEquals("U+0009 (character 1 of the text) is not one of the vocabulary's 3 characters", e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> vocabulary.decode(new int[] {0, 3}, 0, 2));
    assertEquals("token 3 is outside the vocabulary [0, 3)", e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> vocabulary.encode(new byte[] {'a', (byte) 0xC3})); // a cut-short two-byte sequence
    assertTrue(e.getMessage().contains("not UTF-8"), e.getMessage());
  }

  @Test
  void bytesEncodeAnyFile() {
    byte[] notUtf8 = {'a', (byte) 0xFF, 'b'};
    assertNull(Vocabulary.utf8(notUtf8));
    assertArrayEquals(new int[] {'a', 0xFF, 'b'}, Vocabulary.BYTES.encode(notUtf8));
    assertEquals(10, Vocabulary.BYTES.token('\n'));
    assertEquals(-1, Vocabulary.BYTES.token(0xE9), "é is two bytes");
    // Bytes decode as UTF-8: a sequence a byte model drew whole is its character; a broken one is U+FFFD.
    int[] e = Vocabulary.BYTES.encode("é");
    assertEquals("é", Vocabulary.BYTES.decode(e, 0, 2));
    assertEquals("\uFFFD", Vocabulary.BYTES.decode(e, 0, 1));
    assertEquals(256, Vocabulary.BYTES.size());
  }

  @Test
  void aSavedVocabularyMustBeDistinctAndAscending() {
    assertEquals("ab", Vocabulary.ofCharacters("ab").decode(new int[] {0, 1}, 0, 2));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> Vocabulary.ofCharacters("ba")).getMessage()
        .contains("'a' (U+0061) follows 'b' (U+0062)"));
    assertThrows(IllegalArgumentException.class, () -> Vocabulary.ofCharacters("aa"));
    assertThrows(IllegalArgumentException.class, () -> Vocabulary.ofCharacters(""));
  }

  @Test
  void aSavedModelDecodesTheSameCharacters() throws Exception {
    Vocabulary vocabulary = Vocabulary.of("To be, or not to be: that is the question.\n");
    CausalLm model = UnrolledCharModel.create(Backend.SIMD, 7);
    Path file = dir.resolve("char.safetensors");
    model.safetensors(file).plus(vocabulary.metadata(), List.of()).write(file);

    CausalLm loaded = UnrolledCharModel.load(Backend.SIMD, file);
    Vocabulary read = Vocabulary.read(file);
    int first = read.token('\n');
    // The sample draws from the vocabulary's 18 ids only, of CharModel's 65: decode would refuse any other.
    String before = vocabulary.decode(TextTask.sample(model, vocabulary.size(), vocabulary.token('\n'), new Rng(3)),
        1, 1 + TextTask.SAMPLE_TOKENS);
    String after = read.decode(TextTask.sample(loaded, read.size(), first, new Rng(3)), 1,
        1 + TextTask.SAMPLE_TOKENS);
    assertEquals(before, after);
    assertEquals(TextTask.SAMPLE_TOKENS, after.codePointCount(0, after.length()));
    assertEquals(vocabulary.metadata(), read.metadata());
    assertEquals(Map.of("unroll.tokens", "characters", "unroll.characters", "\n ,.:Tabehinoqrstu"),
        read.metadata());
  }

  @Test
  void aModelFileWithoutAVocabularyIsAClearError() throws Exception {
    Path file = dir.resolve("plain.safetensors");
    UnrolledCharModel.create(Backend.SIMD, 7).save(file);
    SampleException e = assertThrows(SampleException.class, () -> Vocabulary.read(file));
    assertTrue(e.getMessage().startsWith(file + " holds no vocabulary"), e.getMessage());
    Path bytes = dir.resolve("bytes.safetensors");
    Safetensors.write(bytes, Vocabulary.BYTES.metadata(), List.of());
    assertSame(Vocabulary.BYTES, Vocabulary.read(bytes));
    Path broken = dir.resolve("broken.safetensors");
    Safetensors.write(broken, Map.of(Vocabulary.KIND_KEY, "characters", Vocabulary.CHARACTERS_KEY, "zz"), List.of());
    e = assertThrows(SampleException.class, () -> Vocabulary.read(broken));
    assertTrue(e.getMessage().contains("its vocabulary is broken"), e.getMessage());
    assertThrows(SampleException.class, () -> Vocabulary.read(dir.resolve("absent.safetensors")));
    assertTrue(Files.notExists(dir.resolve("absent.safetensors")));
  }
}
