package dev.unroll.runtime.tokenizer;

import java.text.Normalizer;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;
import java.util.function.IntPredicate;

/**
 * BERT's basic tokenization, the step before word pieces, in the order Hugging Face's {@code BasicTokenizer}
 * applies it: clean the text (drop NUL, U+FFFD and every character of a {@code C*} category but tab, newline and
 * carriage return; whitespace becomes a space), put spaces around CJK ideographs, normalise to NFC, split on
 * whitespace; then per word: lower-case (if set), strip accents (NFD, then drop {@code Mn} marks; if set), and split
 * every punctuation character off as a word of its own. No word is empty.
 *
 * <p>Special tokens such as {@code [CLS]} get no special treatment here: written in the text they split like any
 * other text ({@code [}, {@code cls}, {@code ]}).
 *
 * <p>Character classes follow the JDK's Unicode tables, which may be a newer version than a given Python's.
 */
final class BasicTokenizer {

  private static final char CAPITAL_SIGMA = '\u03A3';

  private final boolean lowerCase;
  private final boolean stripAccents;

  BasicTokenizer(boolean lowerCase, boolean stripAccents) {
    this.lowerCase = lowerCase;
    this.stripAccents = stripAccents;
  }

  /** The words of {@code text}, as the class comment says. */
  List<String> split(String text) {
    List<String> words = new ArrayList<>();
    String clean = Normalizer.normalize(clean(text), Normalizer.Form.NFC);
    splitAt(clean, BasicTokenizer::isSplitSpace, false,
        word -> splitAt(normalise(word), BasicTokenizer::isPunctuation, true, words::add));
    return words;
  }

  /**
   * Hands {@code to} the non-empty runs of {@code text} between the code points {@code at} accepts, and, when
   * {@code keep}, each of those code points as a run of its own, in order.
   */
  private static void splitAt(String text, IntPredicate at, boolean keep, Consumer<String> to) {
    int start = 0;
    for (int i = 0; i < text.length(); ) {
      int next = text.offsetByCodePoints(i, 1);
      if (at.test(text.codePointAt(i))) {
        if (start < i) {
          to.accept(text.substring(start, i));
        }
        if (keep) {
          to.accept(text.substring(i, next));
        }
        start = next;
      }
      i = next;
    }
    if (start < text.length()) {
      to.accept(text.substring(start));
    }
  }

  /** Drops what BERT drops, turns whitespace into spaces, and puts spaces around CJK ideographs. */
  private static String clean(String text) {
    StringBuilder out = new StringBuilder(text.length() + 16);
    for (int i = 0; i < text.length(); ) {
      int c = text.codePointAt(i);
      i += Character.charCount(c);
      if (c == 0 || c == 0xFFFD || isControl(c)) {
        continue;
      }
      if (isWhitespace(c)) {
        out.append(' ');
      } else if (isCjk(c)) {
        out.append(' ').appendCodePoint(c).append(' ');
      } else {
        out.appendCodePoint(c);
      }
    }
    return out.toString();
  }

  /** A word lower-cased and stripped of accents as configured. */
  private String normalise(String word) {
    if (lowerCase) {
      word = lowerCase(word);
    }
    if (stripAccents) {
      String decomposed = Normalizer.normalize(word, Normalizer.Form.NFD);
      StringBuilder out = new StringBuilder(decomposed.length());
      for (int i = 0; i < decomposed.length(); ) {
        int c = decomposed.codePointAt(i);
        i += Character.charCount(c);
        if (Character.getType(c) != Character.NON_SPACING_MARK) {
          out.appendCodePoint(c);
        }
      }
      word = out.toString();
    }
    return word;
  }

  /**
   * Lower-cases as Python's {@code str.lower()}, which Hugging Face calls, and Rust's {@code to_lowercase} do: the
   * full Unicode mapping, a capital sigma becoming the final {@code ς} by the Unicode Final_Sigma rule: after a
   * cased letter and not before one, case-ignorable characters skipped both ways. {@code String.toLowerCase} decides
   * the sigma by word boundaries instead, and so differs where a sigma meets letters without case (Hangul, Han) or
   * combining marks; it maps every other character as Python does.
   */
  static String lowerCase(String word) {
    int sigma = word.indexOf(CAPITAL_SIGMA);
    if (sigma < 0) {
      return word.toLowerCase(Locale.ROOT);
    }
    StringBuilder out = new StringBuilder(word.length() + 8);
    int from = 0;
    for (; sigma >= 0; sigma = word.indexOf(CAPITAL_SIGMA, from)) {
      out.append(word.substring(from, sigma).toLowerCase(Locale.ROOT));
      out.append(finalSigma(word, sigma) ? '\u03C2' : '\u03C3');
      from = sigma + 1;
    }
    return out.append(word.substring(from).toLowerCase(Locale.ROOT)).toString();
  }

  /** Whether the capital sigma at {@code at} is word-final by Unicode's Final_Sigma condition. */
  private static boolean finalSigma(String word, int at) {
    int i = at;
    int before = -1;
    while (i > 0 && before < 0) {
      int c = word.codePointBefore(i);
      i -= Character.charCount(c);
      before = caseIgnorable(c) ? -1 : c;
    }
    if (before < 0 || !cased(before)) {
      return false;
    }
    for (i = at + 1; i < word.length(); ) {
      int c = word.codePointAt(i);
      i += Character.charCount(c);
      if (!caseIgnorable(c)) {
        return !cased(c);
      }
    }
    return true;
  }

  /** Unicode's Cased property: lowercase, uppercase (both with their Other_ parts) or titlecase. */
  private static boolean cased(int c) {
    return Character.isLowerCase(c) || Character.isUpperCase(c) || Character.isTitleCase(c);
  }

  /**
   * Unicode's Case_Ignorable property: categories Mn, Me, Cf, Lm, Sk, and the characters of word-break classes
   * MidLetter, MidNumLet and Single_Quote (apostrophes, full stops, colons, middle dots).
   */
  private static boolean caseIgnorable(int c) {
    return switch (Character.getType(c)) {
      case Character.NON_SPACING_MARK, Character.ENCLOSING_MARK, Character.FORMAT, Character.MODIFIER_LETTER,
          Character.MODIFIER_SYMBOL -> true;
      default -> switch (c) {
        case 0x0027, 0x002E, 0x003A, 0x00B7, 0x0387, 0x055F, 0x05F4, 0x2018, 0x2019, 0x2024, 0x2027, 0xFE13, 0xFE52,
            0xFE55, 0xFF07, 0xFF0E, 0xFF1A -> true;
        default -> false;
      };
    };
  }

  /** Tab, newline, carriage return, space, or any space separator (Zs): what cleaning turns into a space. */
  static boolean isWhitespace(int c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || Character.getType(c) == Character.SPACE_SEPARATOR;
  }

  /**
   * What splits words after cleaning: the space, and the line and paragraph separators (U+2028, U+2029), which
   * cleaning keeps but Python's {@code str.split()}, the split Hugging Face uses, splits on.
   */
  private static boolean isSplitSpace(int c) {
    return c == ' ' || c == 0x2028 || c == 0x2029;
  }

  /** A character of a {@code C*} category (control, format, surrogate, private use, unassigned) but tab, LF, CR. */
  static boolean isControl(int c) {
    if (c == '\t' || c == '\n' || c == '\r') {
      return false;
    }
    return switch (Character.getType(c)) {
      case Character.CONTROL, Character.FORMAT, Character.SURROGATE, Character.PRIVATE_USE, Character.UNASSIGNED ->
          true;
      default -> false;
    };
  }

  /** The ASCII symbols BERT counts as punctuation (33-47, 58-64, 91-96, 123-126), or any {@code P*} category. */
  static boolean isPunctuation(int c) {
    if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126)) {
      return true;
    }
    return switch (Character.getType(c)) {
      case Character.CONNECTOR_PUNCTUATION, Character.DASH_PUNCTUATION, Character.START_PUNCTUATION,
          Character.END_PUNCTUATION, Character.INITIAL_QUOTE_PUNCTUATION, Character.FINAL_QUOTE_PUNCTUATION,
          Character.OTHER_PUNCTUATION -> true;
      default -> false;
    };
  }

  /** A CJK ideograph of the blocks BERT's tokenizer lists (not Hangul, Hiragana or Katakana). */
  static boolean isCjk(int c) {
    return (c >= 0x4E00 && c <= 0x9FFF)
        || (c >= 0x3400 && c <= 0x4DBF)
        || (c >= 0x20000 && c <= 0x2A6DF)
        || (c >= 0x2A700 && c <= 0x2B73F)
        || (c >= 0x2B740 && c <= 0x2B81F)
        || (c >= 0x2B820 && c <= 0x2CEAF)
        || (c >= 0xF900 && c <= 0xFAFF)
        || (c >= 0x2F800 && c <= 0x2FA1F);
  }
}
