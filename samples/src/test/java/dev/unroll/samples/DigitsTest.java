package dev.unroll.samples;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The bundled digits and their fixed split. */
class DigitsTest {
  private static Digits digits;

  @BeforeAll
  static void load() throws Exception {
    digits = Digits.load();
  }

  @Test
  void everyImageWithItsLabel() {
    assertEquals(1797, digits.count());
    assertEquals(1797 * 64, digits.pixels().length);
    // The number of images of each digit, as the UCI test set has them.
    int[] perDigit = new int[10];
    for (int label : digits.labels()) {
      perDigit[label]++; // an out-of-range label would throw here
    }
    assertArrayEquals(new int[] {178, 182, 177, 183, 181, 182, 181, 179, 174, 180}, perDigit);
    for (float pixel : digits.pixels()) {
      assertTrue(pixel >= 0 && pixel <= 1 && pixel * 16 == Math.round(pixel * 16), "pixel " + pixel);
    }
  }

  @Test
  void theFirstImageAsTheFileHasIt() {
    // Line 1 of digits.csv.gz, a zero: its first row of pixels and its label.
    float[] firstRow = Arrays.copyOf(digits.pixels(), 8);
    assertArrayEquals(new float[] {0, 0, 5 / 16f, 13 / 16f, 9 / 16f, 1 / 16f, 0, 0}, firstRow);
    assertEquals(0, digits.labels()[0]);
    assertEquals(1, digits.labels()[1]);
    assertEquals(2, digits.labels()[2]);
  }

  @Test
  void theBundledCopyIsTheSharedFileUnchanged() throws Exception {
    Path shared = Path.of("..", "..", "shared", "data", "digits.csv.gz");
    if (Files.isRegularFile(shared)) { // a checkout beside the shared data: the copy parses the same
      try (var in = new GZIPInputStream(Files.newInputStream(shared))) {
        Digits fromShared = Digits.parse(in);
        assertArrayEquals(fromShared.pixels(), digits.pixels());
        assertArrayEquals(fromShared.labels(), digits.labels());
      }
    }
  }

  @Test
  void theSplitIsEightyTwentyPerDigitDisjointAndComplete() {
    Digits.Split split = digits.split();
    assertEquals(1438, split.train().length);
    assertEquals(359, split.test().length);
    int[] all = IntStream.concat(Arrays.stream(split.train()), Arrays.stream(split.test())).sorted().toArray();
    assertArrayEquals(IntStream.range(0, 1797).toArray(), all);
    int[] heldPerDigit = new int[10];
    for (int i : split.test()) {
      heldPerDigit[digits.labels()[i]]++;
    }
    // A fifth of each digit's images, rounded: 178/5 = 35.6 -> 36, 177/5 = 35.4 -> 35, ...
    assertArrayEquals(new int[] {36, 36, 35, 37, 36, 36, 36, 36, 35, 36}, heldPerDigit);
  }

  @Test
  void theSplitIsFixed() throws Exception {
    Digits.Split split = digits.split();
    assertArrayEquals(split.test(), digits.split().test());
    assertArrayEquals(split.test(), Digits.load().split().test());
    // The first held-out images as SPLIT_SEED chose them when the split was made: a change of seed, of the order
    // of the draws or of SplittableRandom would move the held-out set, and every reported accuracy with it.
    assertArrayEquals(new int[] {22, 25, 28, 31, 32, 39, 58, 65}, Arrays.copyOf(split.test(), 8));
  }

  @Test
  void epochsVisitEveryTrainingImageOnceInAnOrderFromTheSeed() {
    int[] train = digits.split().train();
    DigitsTask.Epochs epochs = new DigitsTask.Epochs(train, new SplittableRandom(7));
    for (int epoch = 0; epoch < 2; epoch++) {
      int[] seen = new int[train.length];
      for (int i = 0; i < seen.length; i++) {
        seen[i] = epochs.next();
      }
      assertTrue(!Arrays.equals(train, seen), "shuffled");
      Arrays.sort(seen);
      assertArrayEquals(train, seen);
    }
    DigitsTask.Epochs again = new DigitsTask.Epochs(train, new SplittableRandom(7));
    DigitsTask.Epochs other = new DigitsTask.Epochs(train, new SplittableRandom(8));
    DigitsTask.Epochs same = new DigitsTask.Epochs(train, new SplittableRandom(7));
    int differences = 0;
    for (int i = 0; i < 100; i++) {
      int a = again.next();
      assertEquals(a, same.next());
      differences += a != other.next() ? 1 : 0;
    }
    assertTrue(differences > 50, "another seed, another order: " + differences);
  }

  @Test
  void aMalformedFileIsAClearError() {
    String row = "0,".repeat(64) + "3\n";
    SampleException fields = assertThrows(SampleException.class, () -> parse("1,2,3\n"));
    assertEquals("digits.csv.gz, line 1: 3 fields, expected 64 pixels and a label", fields.getMessage());
    SampleException pixel = assertThrows(SampleException.class, () -> parse(row + row.replaceFirst("0", "17")));
    assertEquals("digits.csv.gz, line 2, field 1: '17' is not a whole number in 0..16", pixel.getMessage());
    SampleException label = assertThrows(SampleException.class, () -> parse(row.replace(",3\n", ",10\n")));
    assertEquals("digits.csv.gz, line 1, field 65: '10' is not a whole number in 0..9", label.getMessage());
    SampleException count = assertThrows(SampleException.class, () -> parse(row + row));
    assertEquals("digits.csv.gz has 2 images, expected 1797", count.getMessage());
  }

  private static Digits parse(String csv) throws Exception {
    return Digits.parse(new ByteArrayInputStream(csv.getBytes(StandardCharsets.US_ASCII)));
  }
}
