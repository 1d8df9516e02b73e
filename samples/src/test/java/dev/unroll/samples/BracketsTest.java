package dev.unroll.samples;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The bracket task's strings: the checker by hand, the generator's classes, kinds, lengths and split. */
class BracketsTest {
  private static final int MIN_PAIRS = 3;
  private static final int MAX_PAIRS = 11;
  private static final int MAX_DEPTH = 3;

  @ParameterizedTest
  @ValueSource(strings = {"", "()", "[]", "{}", "<>", "()[]{}<>", "([{<>}])", "(()[<>]){}", "<<>>", "{[()()]<>}"})
  void balanced(String text) {
    assertTrue(Brackets.balanced(text), text);
  }

  @ParameterizedTest
  @ValueSource(strings = {"(", ")", ")(", "(]", "([)]", "(()", "())", "<}", "[(])", "{[}]", "(((", "()]", "[()",
      "<>)(", "({)}", "(><)"})
  void unbalanced(String text) {
    assertFalse(Brackets.balanced(text), text);
  }

  @Test
  void anythingButABracketIsRefused() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Brackets.balanced("(a)"));
    assertEquals("'a' is not a bracket; expected one of ()[]{}<>", e.getMessage());
  }

  @Test
  void balancedStringsHaveTheirPairsAndDepthAndAreBalanced() {
    SplittableRandom rng = new SplittableRandom(1);
    for (int maxDepth = 1; maxDepth <= 4; maxDepth++) {
      Set<Integer> depths = new HashSet<>();
      for (int pairs = 1; pairs <= MAX_PAIRS; pairs++) {
        for (int i = 0; i < 50; i++) {
          String text = Brackets.balancedString(pairs, maxDepth, rng);
          assertEquals(2 * pairs, text.length(), text);
          assertTrue(Brackets.balanced(text), text);
          depths.add(depth(text));
        }
      }
      // Every depth up to the bound occurs, none past it.
      assertEquals(IntStream.rangeClosed(1, maxDepth).boxed().collect(Collectors.toSet()), depths);
    }
  }

  /** Each kind of near miss is unbalanced and one change away, as its name says. */
  @Test
  void nearMissesAreUnbalancedAndOneChangeAway() {
    SplittableRandom rng = new SplittableRandom(2);
    Map<Brackets.Kind, Integer> kinds = new EnumMap<>(Brackets.Kind.class);
    for (int i = 0; i < 4000; i++) {
      String balanced = Brackets.balancedString(1 + rng.nextInt(MAX_PAIRS), MAX_DEPTH, rng);
      Brackets.Example miss = Brackets.nearMiss(balanced, rng);
      String text = miss.text();
      assertFalse(Brackets.balanced(text), balanced + " -> " + text);
      kinds.merge(miss.kind(), 1, Integer::sum);
      switch (miss.kind()) {
        case SWAPPED -> {
          assertEquals(sorted(balanced), sorted(text), "a swap changes no count: " + balanced + " -> " + text);
          assertEquals(2, differences(balanced, text), balanced + " -> " + text);
        }
        case MISMATCHED -> {
          assertEquals(1, differences(balanced, text), balanced + " -> " + text);
          assertEquals(closers(balanced), closers(text), "as many closers as before: " + text);
        }
        case REMOVED -> {
          assertEquals(balanced.length() - 1, text.length());
          assertTrue(isSubsequence(text, balanced), balanced + " -> " + text);
        }
        case BALANCED -> throw new AssertionError("a near miss made as balanced: " + text);
      }
    }
    // Swapped half the time, mismatched and removed a quarter each.
    assertEquals(2000, kinds.get(Brackets.Kind.SWAPPED), 150);
    assertEquals(1000, kinds.get(Brackets.Kind.MISMATCHED), 120);
    assertEquals(1000, kinds.get(Brackets.Kind.REMOVED), 120);
  }

  @Test
  void drawsAreHalfBalancedOfEveryLengthInTheirSplitAndRepeatable() {
    SplittableRandom rng = new SplittableRandom(3);
    int balanced = 0;
    Set<Integer> lengths = new HashSet<>();
    for (int i = 0; i < 4000; i++) {
      Brackets.Example example = Brackets.draw(MIN_PAIRS, MAX_PAIRS, MAX_DEPTH, false, rng);
      assertFalse(Brackets.isHeldOut(example.text()), example.text());
      assertEquals(example.kind() == Brackets.Kind.BALANCED, example.balanced(), example.toString());
      balanced += example.balanced() ? 1 : 0;
      lengths.add(example.text().length());
    }
    assertEquals(2000, balanced, 150);
    // 2 * 3 - 1 = 5 (three pairs, one bracket removed) to 2 * 11 = 22
    assertEquals(IntStream.rangeClosed(5, 22).boxed().collect(Collectors.toSet()), lengths);
    for (int i = 0; i < 200; i++) {
      assertTrue(Brackets.isHeldOut(Brackets.draw(MIN_PAIRS, MAX_PAIRS, MAX_DEPTH, true, rng).text()));
    }
    SplittableRandom a = new SplittableRandom(5);
    SplittableRandom b = new SplittableRandom(5);
    for (int i = 0; i < 100; i++) {
      assertEquals(Brackets.draw(MIN_PAIRS, MAX_PAIRS, MAX_DEPTH, false, a),
          Brackets.draw(MIN_PAIRS, MAX_PAIRS, MAX_DEPTH, false, b));
    }
  }

  @Test
  void aQuarterOfStringsIsHeldOutByTheirCharacters() {
    SplittableRandom rng = new SplittableRandom(6);
    int held = 0;
    for (int i = 0; i < 8000; i++) {
      String text = Brackets.balancedString(1 + rng.nextInt(MAX_PAIRS), MAX_DEPTH, rng);
      held += Brackets.isHeldOut(text) ? 1 : 0;
      assertEquals(Brackets.isHeldOut(text), Brackets.isHeldOut(new String(text.toCharArray())));
    }
    assertEquals(2000, held, 200);
  }

  @Test
  void theHeldOutStringsAreFixedAndNeverDrawnForTraining() {
    Brackets.Example[] test = BracketsTask.heldOut();
    assertEquals(BracketsTask.TEST_SIZE, test.length);
    assertArrayEquals(test, BracketsTask.heldOut());
    int balanced = 0;
    Set<String> distinct = new HashSet<>();
    for (Brackets.Example example : test) {
      assertTrue(Brackets.isHeldOut(example.text()));
      assertTrue(example.text().length() + 2 <= UnrolledBracketsModel.CONTEXT, example.text());
      assertTrue(example.text().length() >= 2 * BracketsTask.MIN_PAIRS - 1, example.text());
      if (example.balanced()) {
        assertTrue(depth(example.text()) <= BracketsTask.MAX_DEPTH, example.text());
      }
      balanced += example.balanced() ? 1 : 0;
      distinct.add(example.text());
    }
    assertEquals(test.length / 2.0, balanced, test.length * 0.05);
    assertTrue(distinct.size() >= 0.98 * test.length, "hardly a string twice: " + distinct.size() + " distinct");
  }

  @Test
  void rowsAreClsTheBracketsSepAndPadding() {
    int[] tokens = new int[2 + 8];
    Arrays.fill(tokens, 99);
    assertEquals(5, Brackets.encode("(]>", tokens, 1, 8));
    assertArrayEquals(new int[] {99, 1, 3, 6, 10, 2, 0, 0, 0, 99}, tokens);
    assertEquals(2, Brackets.encode("", tokens, 1, 8));
    assertArrayEquals(new int[] {99, 1, 2, 0, 0, 0, 0, 0, 0, 99}, tokens);
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Brackets.encode("()()()()", new int[10], 0, 8));
    assertEquals("'()()()()' needs 10 positions; the context is 8", e.getMessage());
    StringBuilder names = new StringBuilder();
    for (int id = 0; id < Brackets.VOCAB; id++) {
      names.append(Brackets.symbol(id));
    }
    assertEquals("[PAD][CLS][SEP]()[]{}<>", names.toString());
    assertEquals(8, Brackets.BRACKETS.length(), "VOCAB counts eight brackets");
  }

  /** The most brackets open at once in a balanced string. */
  private static int depth(String text) {
    int depth = 0;
    int max = 0;
    for (int i = 0; i < text.length(); i++) {
      depth += "([{<".indexOf(text.charAt(i)) >= 0 ? 1 : -1;
      max = Math.max(max, depth);
    }
    return max;
  }

  private static String sorted(String text) {
    char[] chars = text.toCharArray();
    Arrays.sort(chars);
    return new String(chars);
  }

  private static int differences(String a, String b) {
    int n = 0;
    for (int i = 0; i < a.length(); i++) {
      n += a.charAt(i) != b.charAt(i) ? 1 : 0;
    }
    return n;
  }

  private static long closers(String text) {
    return text.chars().filter(c -> ")]}>".indexOf(c) >= 0).count();
  }

  private static boolean isSubsequence(String shorter, String longer) {
    int j = 0;
    for (int i = 0; i < longer.length() && j < shorter.length(); i++) {
      if (longer.charAt(i) == shorter.charAt(j)) {
        j++;
      }
    }
    return j == shorter.length();
  }
}
