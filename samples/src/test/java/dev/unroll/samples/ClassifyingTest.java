package dev.unroll.samples;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** What the classifier samples share: argmax, cross-entropy, the confusion matrix, nearest neighbours. */
class ClassifyingTest {

  @Test
  void argmaxWithinARowFirstOfTies() {
    float[] logits = {9, 1, 3, 3, 2, 7};
    assertEquals(1, Classifying.argmax(logits, 1, 3), "row [1, 3, 3] from index 1: the first 3");
    assertEquals(2, Classifying.argmax(logits, 3, 3), "row [3, 2, 7]");
    assertEquals(0, Classifying.argmax(logits, 0, 6));
  }

  @Test
  void crossEntropyByHand() {
    // softmax of [0, ln 3] is [1/4, 3/4]
    float[] logits = {5, 0, (float) Math.log(3)};
    assertEquals(Math.log(4), Classifying.crossEntropy(logits, 1, 2, 0), 1e-6);
    assertEquals(Math.log(4 / 3.0), Classifying.crossEntropy(logits, 1, 2, 1), 1e-6);
    // large logits do not overflow
    assertEquals(Math.log(2), Classifying.crossEntropy(new float[] {1000, 1000}, 0, 2, 1), 1e-9);
  }

  @Test
  void confusionMatrixCountsAndPrints() {
    ConfusionMatrix m = new ConfusionMatrix("a", "bb", "c");
    m.add(0, 0);
    m.add(0, 0);
    m.add(0, 2);
    m.add(1, 1);
    m.add(2, 1);
    assertEquals(5, m.total());
    assertEquals(3, m.correct());
    assertEquals(0.6, m.accuracy(), 1e-12);
    assertEquals(1, m.count(2, 1));
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    m.print(new PrintStream(bytes, true, StandardCharsets.UTF_8));
    assertEquals("""
           |  a bb  c | right
        ---+----------+------
         a |  2  .  1 | 2/3
        bb |  .  1  . | 1/1
         c |  .  1  0 | 0/1
        """, bytes.toString(StandardCharsets.UTF_8));
  }

  @Test
  void nearestNeighboursByDotProductBestFirst() {
    // unit vectors at angles 0, 90, 30, 180 and 60 degrees; the query at 10 degrees
    float[] candidates = unit(0, 90, 30, 180, 60);
    float[] query = unit(10);
    int[] nearest = new int[3];
    float[] similarity = new float[3];
    NeighboursTask.nearest(query, 0, candidates, 2, nearest, similarity);
    assertArrayEquals(new int[] {0, 2, 4}, nearest);
    assertEquals(Math.cos(Math.toRadians(10)), similarity[0], 1e-6);
    assertEquals(Math.cos(Math.toRadians(20)), similarity[1], 1e-6);
    assertEquals(Math.cos(Math.toRadians(50)), similarity[2], 1e-6);
  }

  private static float[] unit(double... degrees) {
    float[] v = new float[2 * degrees.length];
    for (int i = 0; i < degrees.length; i++) {
      v[2 * i] = (float) Math.cos(Math.toRadians(degrees[i]));
      v[2 * i + 1] = (float) Math.sin(Math.toRadians(degrees[i]));
    }
    return v;
  }
}
