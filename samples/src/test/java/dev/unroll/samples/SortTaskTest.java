package dev.unroll.samples;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** The sort task's data: disjoint, fixed splits and correct rows. */
class SortTaskTest {

  @Test
  void splitsAreDisjointAndCoverEverySequence() {
    int[] train = SortTask.split(false);
    int[] test = SortTask.split(true);
    int[] all = IntStream.concat(Arrays.stream(train), Arrays.stream(test)).sorted().toArray();
    assertArrayEquals(IntStream.range(0, SortTask.SEQUENCES).toArray(), all);
  }

  @Test
  void aboutAQuarterIsHeldOutAndAtLeastAThousand() {
    int held = SortTask.split(true).length;
    assertTrue(held >= 1000, "held out: " + held);
    assertEquals(SortTask.SEQUENCES / 4.0, held, SortTask.SEQUENCES * 0.02);
  }

  @Test
  void theSplitDependsOnNothingButTheDigits() {
    assertArrayEquals(SortTask.split(true), SortTask.split(true));
    assertEquals(IntStream.range(0, 50).filter(SortTask::isHeldOut).boxed().toList(),
        IntStream.range(0, 50).filter(SortTask::isHeldOut).boxed().toList());
  }

  @Test
  void digitsAreBaseVocabMostSignificantFirst() {
    int[] digits = new int[SortTask.LENGTH];
    SortTask.digits(SortTask.SEQUENCES - 1, digits);
    int[] top = new int[SortTask.LENGTH];
    Arrays.fill(top, UnrolledSortModel.VOCAB - 1);
    assertArrayEquals(top, digits);
    SortTask.digits(1, digits);
    assertEquals(1, digits[SortTask.LENGTH - 1]);
    assertEquals(0, digits[0]);
  }

  @Test
  void sortsLikeArraysSort() {
    int[] digits = new int[SortTask.LENGTH];
    int[] sorted = new int[SortTask.LENGTH];
    for (int id = 0; id < SortTask.SEQUENCES; id += 7) {
      SortTask.digits(id, digits);
      SortTask.sort(digits, sorted);
      int[] expected = digits.clone();
      Arrays.sort(expected);
      assertArrayEquals(expected, sorted);
    }
  }
}
