package dev.unroll.samples;

import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.random.RandomGenerator;

/**
 * The bracket task's data: strings of four kinds of brackets, {@code ()[]{}<>}, balanced or not, and their tokens.
 *
 * <p>Half the strings drawn are balanced (each bracket closed by its own kind, properly nested, no deeper than the
 * draw's bound); the other half are near misses made from a balanced string by one change, so that the two classes
 * are hard to tell apart by counting: two brackets {@linkplain Kind#SWAPPED swapped} (every count unchanged), one
 * closer of the wrong kind ({@linkplain Kind#MISMATCHED mismatched}: as many closers as openers), or one bracket
 * {@linkplain Kind#REMOVED removed}. Whether a string is balanced is always decided by {@link #balanced}, a stack,
 * never assumed from how it was made.
 *
 * <p>Every string belongs, by a fixed hash of its characters, to the training split (3 in 4) or to the held-out
 * split (1 in 4), as the sort task's sequences do: training never sees a held-out string.
 *
 * <p>Tokens: {@value #PAD} is padding, {@value #CLS} {@code [CLS]} (the position BERT's head reads), {@value #SEP}
 * {@code [SEP]} (the end), then the eight brackets in the order of {@link #BRACKETS}. A row is {@code [CLS]}, the
 * string, {@code [SEP]}, and padding up to the context.
 */
final class Brackets {
  /** The brackets, each opener before its closer; token {@code FIRST_BRACKET + i} is {@code BRACKETS.charAt(i)}. */
  static final String BRACKETS = "()[]{}<>";
  static final int PAD = 0;
  static final int CLS = 1;
  static final int SEP = 2;
  static final int FIRST_BRACKET = 3;
  /** Tokens: the three special ones and the eight brackets (a constant, for {@link BracketsModel}'s annotation). */
  static final int VOCAB = FIRST_BRACKET + 8;
  /** The special tokens' names, by id, for display. */
  private static final String[] SPECIAL = {"[PAD]", "[CLS]", "[SEP]"};
  private static final int KINDS = BRACKETS.length() / 2;

  /** How a string was made. */
  enum Kind {
    /** A balanced string. */
    BALANCED,
    /** Two different brackets of a balanced string exchanged, until the result is unbalanced. */
    SWAPPED,
    /** One closer of a balanced string replaced by a closer of another kind. */
    MISMATCHED,
    /** One bracket of a balanced string deleted. */
    REMOVED
  }

  /** A string and how it was made; its class is {@link #balanced()}. */
  record Example(String text, Kind kind) {
    boolean balanced() {
      return Brackets.balanced(text);
    }
  }

  private Brackets() {}

  /**
   * Whether every bracket of {@code text} is closed by its own kind, properly nested: the stack of open brackets
   * matches each closer and is empty at the end.
   *
   * @throws IllegalArgumentException for a character that is not one of {@link #BRACKETS}
   */
  static boolean balanced(CharSequence text) {
    ArrayDeque<Character> open = new ArrayDeque<>();
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      int index = index(c);
      if (index % 2 == 0) {
        open.push(c);
      } else if (open.isEmpty() || open.pop() != BRACKETS.charAt(index - 1)) {
        return false;
      }
    }
    return open.isEmpty();
  }

  /**
   * A string of the chosen split: half balanced, half near misses, made from a balanced string of {@code minPairs}
   * to {@code maxPairs} pairs (so of {@code 2 * minPairs - 1} to {@code 2 * maxPairs} characters) nested at most
   * {@code maxDepth} deep, drawn from {@code rng} until one falls in that split.
   */
  static Example draw(int minPairs, int maxPairs, int maxDepth, boolean heldOut, RandomGenerator rng) {
    while (true) {
      String balanced = balancedString(minPairs + rng.nextInt(maxPairs - minPairs + 1), maxDepth, rng);
      Example example = rng.nextBoolean() ? new Example(balanced, Kind.BALANCED) : nearMiss(balanced, rng);
      if (isHeldOut(example.text()) == heldOut) {
        return example;
      }
    }
  }

  /**
   * A balanced string of {@code pairs} pairs nested at most {@code maxDepth} deep: at each position it opens a
   * bracket of a random kind or closes the last open one, by a coin, unless the depth (none open, or
   * {@code maxDepth}) or the positions left decide.
   */
  static String balancedString(int pairs, int maxDepth, RandomGenerator rng) {
    StringBuilder text = new StringBuilder(2 * pairs);
    int[] open = new int[pairs];
    int depth = 0;
    int opened = 0;
    for (int position = 0; position < 2 * pairs; position++) {
      boolean mustOpen = depth == 0;
      boolean mustClose = opened == pairs || depth == maxDepth;
      if (mustOpen || (!mustClose && rng.nextBoolean())) {
        int kind = rng.nextInt(KINDS);
        open[depth++] = kind;
        opened++;
        text.append(BRACKETS.charAt(2 * kind));
      } else {
        text.append(BRACKETS.charAt(2 * open[--depth] + 1));
      }
    }
    return text.toString();
  }

  /**
   * An unbalanced string one change away from {@code balanced}: swapped half the time, mismatched or removed a
   * quarter each.
   */
  static Example nearMiss(String balanced, RandomGenerator rng) {
    char[] text = balanced.toCharArray();
    int choice = rng.nextInt(4);
    if (choice < 2) {
      // Swaps that leave it balanced ("()()" -> "(())") are drawn again; exchanging the first bracket (an opener)
      // with the last (a closer) never does, so that is the answer when the draws keep failing.
      for (int attempt = 0; attempt < 100; attempt++) {
        int i = rng.nextInt(text.length);
        int j = rng.nextInt(text.length);
        if (text[i] != text[j]) {
          swap(text, i, j);
          if (!balanced(new String(text))) {
            return new Example(new String(text), Kind.SWAPPED);
          }
          swap(text, i, j);
        }
      }
      swap(text, 0, text.length - 1);
      return new Example(new String(text), Kind.SWAPPED);
    }
    if (choice == 2) {
      int closers = balanced.length() / 2;
      int which = rng.nextInt(closers);
      for (int i = 0; i < text.length; i++) {
        int index = index(text[i]);
        if (index % 2 == 1 && which-- == 0) {
          int other = (index / 2 + 1 + rng.nextInt(KINDS - 1)) % KINDS;
          text[i] = BRACKETS.charAt(2 * other + 1);
          break;
        }
      }
      return new Example(new String(text), Kind.MISMATCHED);
    }
    int at = rng.nextInt(text.length);
    return new Example(balanced.substring(0, at) + balanced.substring(at + 1), Kind.REMOVED);
  }

  /**
   * Writes {@code [CLS]}, the tokens of {@code text} and {@code [SEP]} at {@code tokens[offset]}, and padding up to
   * {@code context}; returns the row's length (the string's plus 2).
   *
   * @throws IllegalArgumentException when the row does not fit in {@code context}
   */
  static int encode(String text, int[] tokens, int offset, int context) {
    int length = text.length() + 2;
    if (length > context) {
      throw new IllegalArgumentException("'" + text + "' needs " + length + " positions; the context is " + context);
    }
    tokens[offset] = CLS;
    for (int i = 0; i < text.length(); i++) {
      tokens[offset + 1 + i] = FIRST_BRACKET + index(text.charAt(i));
    }
    tokens[offset + length - 1] = SEP;
    Arrays.fill(tokens, offset + length, offset + context, PAD);
    return length;
  }

  /** The name of token {@code id}: a bracket, or {@code [PAD]}, {@code [CLS]}, {@code [SEP]}. */
  static String symbol(int id) {
    if (id < 0 || id >= VOCAB) {
      throw new IllegalArgumentException("token " + id + " is not in [0, " + VOCAB + ")");
    }
    return id < FIRST_BRACKET ? SPECIAL[id] : String.valueOf(BRACKETS.charAt(id - FIRST_BRACKET));
  }

  /** Whether {@code text} is held out: one string in four, by a fixed hash of its characters (FNV-1a). */
  static boolean isHeldOut(String text) {
    long hash = 0xCBF29CE484222325L;
    for (int i = 0; i < text.length(); i++) {
      hash = (hash ^ text.charAt(i)) * 0x100000001B3L;
    }
    return SortTask.oneInFour(hash);
  }

  private static int index(char c) {
    int index = BRACKETS.indexOf(c);
    if (index < 0) {
      throw new IllegalArgumentException("'" + c + "' is not a bracket; expected one of " + BRACKETS);
    }
    return index;
  }

  private static void swap(char[] text, int i, int j) {
    char t = text[i];
    text[i] = text[j];
    text[j] = t;
  }
}
