package dev.unroll.samples;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.random.RandomGenerator;
import java.util.stream.IntStream;
import java.util.zip.GZIPInputStream;

/**
 * The UCI handwritten digits that ship with the samples ({@value #RESOURCE}, see {@code digits.README.md} beside
 * it): {@value #COUNT} grey 8x8 images, pixels scaled from 0..16 to [0, 1], and their labels 0-9.
 *
 * @param pixels {@code COUNT * PIXELS} floats, one image after another, row by row
 * @param labels each image's digit
 */
record Digits(float[] pixels, int[] labels) {
  static final String RESOURCE = "digits.csv.gz";
  static final int COUNT = 1797;
  static final int SIDE = 8;
  static final int PIXELS = SIDE * SIDE;
  static final int CLASSES = 10;
  /** The largest pixel value in the file: a pixel counts the inked bits of a 4x4 block of the 32x32 scan. */
  static final int MAX_VALUE = 16;
  /**
   * The seed of the held-out split, fixed so that every run and every {@code --seed} is measured on the same
   * images (the year the set was donated).
   */
  static final long SPLIT_SEED = 1998;

  /**
   * A split of the images into training and held-out ones, by index, each in increasing order.
   *
   * @param train about four fifths of the images
   * @param test the rest, never trained on
   */
  record Split(int[] train, int[] test) {}

  /** The bundled images, or a clear error when the resource is missing or not as expected. */
  static Digits load() throws SampleException {
    try (InputStream in = Digits.class.getResourceAsStream(RESOURCE)) {
      if (in == null) {
        throw new SampleException(RESOURCE + " is missing from the samples' resources: rebuild the samples");
      }
      return parse(new GZIPInputStream(in));
    } catch (IOException e) {
      throw new SampleException("cannot read the bundled " + RESOURCE + ": " + e.getMessage());
    }
  }

  /** Reads the CSV: {@value #COUNT} lines of {@value #PIXELS} integers in 0..16 and a label in 0..9. */
  static Digits parse(InputStream csv) throws IOException, SampleException {
    float[] pixels = new float[COUNT * PIXELS];
    int[] labels = new int[COUNT];
    BufferedReader reader = new BufferedReader(new InputStreamReader(csv, StandardCharsets.US_ASCII));
    int row = 0;
    for (String line = reader.readLine(); line != null; line = reader.readLine()) {
      if (line.isBlank()) {
        continue;
      }
      if (row == COUNT) {
        throw new SampleException(RESOURCE + " has more than " + COUNT + " images");
      }
      String[] fields = line.split(",", -1);
      if (fields.length != PIXELS + 1) {
        throw new SampleException(String.format(Locale.ROOT, "%s, line %d: %d fields, expected %d pixels and a label",
            RESOURCE, row + 1, fields.length, PIXELS));
      }
      for (int i = 0; i < PIXELS; i++) {
        pixels[row * PIXELS + i] = (float) value(fields[i], MAX_VALUE, row, i) / MAX_VALUE;
      }
      labels[row] = value(fields[PIXELS], CLASSES - 1, row, PIXELS);
      row++;
    }
    if (row != COUNT) {
      throw new SampleException(RESOURCE + " has " + row + " images, expected " + COUNT);
    }
    return new Digits(pixels, labels);
  }

  private static int value(String field, int max, int row, int column) throws SampleException {
    try {
      int value = Integer.parseInt(field.strip());
      if (value >= 0 && value <= max) {
        return value;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw new SampleException(String.format(Locale.ROOT, "%s, line %d, field %d: '%s' is not a whole number in "
        + "0..%d", RESOURCE, row + 1, column + 1, field, max));
  }

  /** Images in the set. */
  int count() {
    return labels.length;
  }

  /**
   * The fixed 80/20 split, stratified: each digit's images are shuffled by {@link #SPLIT_SEED} and a fifth of them
   * (rounded) held out, so that both parts have the set's proportions of each digit.
   */
  Split split() {
    Rng rng = new Rng(SPLIT_SEED);
    boolean[] heldOut = new boolean[count()];
    for (int digit = 0; digit < CLASSES; digit++) {
      int[] mine = indicesOf(digit);
      shuffle(mine, rng);
      int held = Math.round(mine.length / 5f);
      for (int i = 0; i < held; i++) {
        heldOut[mine[i]] = true;
      }
    }
    int tests = 0;
    for (boolean held : heldOut) {
      tests += held ? 1 : 0;
    }
    int[] train = new int[count() - tests];
    int[] test = new int[tests];
    for (int i = 0, a = 0, b = 0; i < count(); i++) {
      if (heldOut[i]) {
        test[b++] = i;
      } else {
        train[a++] = i;
      }
    }
    return new Split(train, test);
  }

  /** Copies image {@code index}'s pixels into {@code dst} at image slot {@code slot}. */
  void copy(int index, float[] dst, int slot) {
    System.arraycopy(pixels, index * PIXELS, dst, slot * PIXELS, PIXELS);
  }

  private int[] indicesOf(int digit) {
    return IntStream.range(0, count()).filter(i -> labels[i] == digit).toArray();
  }

  /** Fisher-Yates: a permutation drawn by {@code rng}. */
  static void shuffle(int[] values, RandomGenerator rng) {
    for (int i = values.length - 1; i > 0; i--) {
      int j = rng.nextInt(i + 1);
      int t = values[i];
      values[i] = values[j];
      values[j] = t;
    }
  }
}
