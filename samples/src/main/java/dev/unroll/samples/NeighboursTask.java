package dev.unroll.samples;

import static dev.unroll.samples.UnrolledDigitsModel.BATCH;
import static dev.unroll.samples.UnrolledDigitsModel.DIM;

import java.io.PrintStream;
import java.util.Arrays;
import java.util.Locale;

/**
 * Embeddings: trains {@link DigitsModel} as {@link DigitsTask} does, embeds every image (the mean of the last hidden
 * states, unit length, as the model's annotation says), and for held-out images lists the training images nearest
 * by cosine similarity. It reports how often a held-out image's nearest training image has its digit, beside the
 * same measure on the raw pixels, the baseline that the embeddings must be judged against.
 */
final class NeighboursTask {
  /** Neighbours listed per query. */
  static final int K = 5;
  /** Queries drawn as pictures, spread over the held-out images. */
  static final int SHOWN = 4;
  /** Pixel shades from blank to full, one character each. */
  private static final String SHADES = " .:-=+*#%@";

  private NeighboursTask() {}

  /**
   * Trains a fresh model, prints nearest neighbours and the nearest-neighbour agreement, and saves the model.
   *
   * @return the fraction of held-out images whose nearest training image (by embedding) has the same digit
   */
  static double run(Options options, PrintStream out) throws SampleException {
    DigitsTask.Trained trained = DigitsTask.train(options, out);
    Digits digits = trained.digits();
    int[] train = trained.split().train();
    int[] test = trained.split().test();
    long start = System.nanoTime();
    float[] trainVectors = embed(trained.model(), digits, train);
    float[] testVectors = embed(trained.model(), digits, test);
    double seconds = (System.nanoTime() - start) / 1e9;
    out.printf(Locale.ROOT, "embedded %,d images in %.2f s: %d floats each, the mean of the last hidden states, "
        + "unit length%n", train.length + test.length, seconds, DIM);

    int[] nearest = new int[K];
    float[] similarity = new float[K];
    for (int k = 0; k < SHOWN; k++) {
      int q = k * test.length / SHOWN;
      nearest(testVectors, q, trainVectors, DIM, nearest, similarity);
      printQuery(out, digits, test[q], train, nearest, similarity);
    }
    double byEmbedding = agreement(digits, train, trainVectors, test, testVectors, DIM);
    double byPixels = agreement(digits, train, unitPixels(digits, train), test, unitPixels(digits, test),
        Digits.PIXELS);
    out.printf(Locale.ROOT, "held-out images whose nearest training image has the same digit: %.2f%% by embedding, "
        + "%.2f%% by raw pixels (cosine of the 64 pixel values), of %d%n", 100 * byEmbedding, 100 * byPixels,
        test.length);
    trained.training().save(options.save());
    return byEmbedding;
  }

  /** The embeddings of the images {@code indices}, {@code DIM} floats each, one after another. */
  static float[] embed(DigitsModel model, Digits digits, int[] indices) {
    float[] pixels = new float[BATCH * Digits.PIXELS];
    float[] batch = new float[BATCH * DIM];
    float[] vectors = new float[indices.length * DIM];
    for (int first = 0; first < indices.length; first += BATCH) {
      int rows = Math.min(BATCH, indices.length - first);
      DigitsTask.forward(model, digits, indices, first, rows, pixels);
      model.embeddings(batch);
      System.arraycopy(batch, 0, vectors, first * DIM, rows * DIM);
    }
    return vectors;
  }

  /**
   * The {@code nearest.length} rows of {@code candidates} most similar to row {@code query} of {@code queries}
   * (dot products of unit vectors: cosine similarities), best first, with their similarities.
   */
  static void nearest(float[] queries, int query, float[] candidates, int dim, int[] nearest, float[] similarity) {
    int k = nearest.length;
    Arrays.fill(similarity, Float.NEGATIVE_INFINITY);
    for (int c = 0; c < candidates.length / dim; c++) {
      float dot = 0;
      for (int i = 0; i < dim; i++) {
        dot += queries[query * dim + i] * candidates[c * dim + i];
      }
      if (dot > similarity[k - 1]) {
        int at = k - 1;
        while (at > 0 && dot > similarity[at - 1]) {
          similarity[at] = similarity[at - 1];
          nearest[at] = nearest[at - 1];
          at--;
        }
        similarity[at] = dot;
        nearest[at] = c;
      }
    }
  }

  /** The fraction of {@code test} images whose most similar {@code train} image has the same label. */
  static double agreement(Digits digits, int[] train, float[] trainVectors, int[] test, float[] testVectors,
      int dim) {
    int[] nearest = new int[1];
    float[] similarity = new float[1];
    int same = 0;
    for (int q = 0; q < test.length; q++) {
      nearest(testVectors, q, trainVectors, dim, nearest, similarity);
      same += digits.labels()[train[nearest[0]]] == digits.labels()[test[q]] ? 1 : 0;
    }
    return (double) same / test.length;
  }

  /** The pixels of the images {@code indices}, each scaled to unit length: the baseline's vectors. */
  static float[] unitPixels(Digits digits, int[] indices) {
    float[] vectors = new float[indices.length * Digits.PIXELS];
    for (int r = 0; r < indices.length; r++) {
      digits.copy(indices[r], vectors, r);
      double norm = 0;
      for (int i = 0; i < Digits.PIXELS; i++) {
        norm += (double) vectors[r * Digits.PIXELS + i] * vectors[r * Digits.PIXELS + i];
      }
      float scale = norm > 0 ? (float) (1 / Math.sqrt(norm)) : 0;
      for (int i = 0; i < Digits.PIXELS; i++) {
        vectors[r * Digits.PIXELS + i] *= scale;
      }
    }
    return vectors;
  }

  /** The query image and its neighbours side by side, each under its digit and similarity. */
  private static void printQuery(PrintStream out, Digits digits, int query, int[] train, int[] nearest,
      float[] similarity) {
    int[] images = new int[K + 1];
    images[0] = query;
    StringBuilder line = new StringBuilder();
    line.append(String.format(Locale.ROOT, "%-19s", "held out: " + digits.labels()[query]));
    for (int k = 0; k < K; k++) {
      images[k + 1] = train[nearest[k]];
      line.append(String.format(Locale.ROOT, "%-19s", String.format(Locale.ROOT, "%d (%.3f)",
          digits.labels()[images[k + 1]], similarity[k])));
    }
    out.println(line.toString().stripTrailing());
    for (int y = 0; y < Digits.SIDE; y++) {
      line.setLength(0);
      for (int image : images) {
        line.append('|');
        for (int x = 0; x < Digits.SIDE; x++) {
          float value = digits.pixels()[image * Digits.PIXELS + y * Digits.SIDE + x];
          char shade = SHADES.charAt(Math.round(value * (SHADES.length() - 1)));
          line.append(shade).append(shade);
        }
        line.append("| ");
      }
      out.println(line.toString().stripTrailing());
    }
  }
}
