package dev.unroll.runtime.format;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The smallest JSON reader and writer that safetensors headers need. Objects become {@link LinkedHashMap}s (key
 * order kept, duplicate keys rejected), arrays {@link ArrayList}s, integers that fit {@code long} become
 * {@link Long}, other numbers {@link Double}, plus {@link String}, {@link Boolean} and {@code null}. Public for
 * the benchmarks' reader of the PyTorch script's results; not a general-purpose JSON library.
 */
public final class Json {

  /** Deeper nesting than this is rejected (a safetensors header needs 3 levels). */
  private static final int MAX_DEPTH = 64;

  private final String s;
  private int pos;

  private Json(String s) {
    this.s = s;
  }

  /** Malformed JSON; the message says where and what. */
  public static final class SyntaxException extends Exception {
    private static final long serialVersionUID = 1L;

    SyntaxException(String message) {
      super(message);
    }
  }

  /** Parses one JSON value that fills {@code text} apart from surrounding whitespace. */
  public static Object parse(String text) throws SyntaxException {
    Json p = new Json(text);
    p.skipWhitespace();
    Object value = p.value(0);
    p.skipWhitespace();
    if (p.pos != text.length()) {
      throw p.error("unexpected " + p.describeHere() + " after the end of the JSON value");
    }
    return value;
  }

  private Object value(int depth) throws SyntaxException {
    if (depth > MAX_DEPTH) {
      throw error("nesting deeper than " + MAX_DEPTH + " levels");
    }
    if (pos >= s.length()) {
      throw error("unexpected end of the JSON text");
    }
    char c = s.charAt(pos);
    return switch (c) {
      case '{' -> object(depth);
      case '[' -> array(depth);
      case '"' -> string();
      case 't' -> literal("true", Boolean.TRUE);
      case 'f' -> literal("false", Boolean.FALSE);
      case 'n' -> literal("null", null);
      default -> {
        if (c == '-' || (c >= '0' && c <= '9')) {
          yield number();
        }
        throw error("unexpected " + describeHere());
      }
    };
  }

  private Map<String, Object> object(int depth) throws SyntaxException {
    pos++; // '{'
    Map<String, Object> map = new LinkedHashMap<>();
    if (closes('}')) {
      return map;
    }
    while (true) {
      skipWhitespace();
      if (peek() != '"') {
        throw error("expected a string key but found " + describeHere());
      }
      int keyAt = pos;
      String key = string();
      skipWhitespace();
      expect(':');
      skipWhitespace();
      Object v = value(depth + 1);
      if (map.containsKey(key)) {
        pos = keyAt;
        throw error("duplicate key " + quote(key));
      }
      map.put(key, v);
      if (endOf('}')) {
        return map;
      }
    }
  }

  /** Skips white space, then {@code close} if it comes next: whether it did (an empty object or array). */
  private boolean closes(char close) {
    skipWhitespace();
    if (peek() == close) {
      pos++;
      return true;
    }
    return false;
  }

  /** After a member or an element: skips the ',' that says another follows, or the {@code close} that ends it. */
  private boolean endOf(char close) throws SyntaxException {
    if (closes(close)) {
      return true;
    }
    if (peek() == ',') {
      pos++;
      return false;
    }
    throw error("expected ',' or '" + close + "' but found " + describeHere());
  }

  private List<Object> array(int depth) throws SyntaxException {
    pos++; // '['
    List<Object> list = new ArrayList<>();
    if (closes(']')) {
      return list;
    }
    while (true) {
      skipWhitespace();
      list.add(value(depth + 1));
      if (endOf(']')) {
        return list;
      }
    }
  }

  private String string() throws SyntaxException {
    pos++; // opening quote
    StringBuilder b = new StringBuilder();
    while (true) {
      if (pos >= s.length()) {
        throw error("unterminated string");
      }
      char c = s.charAt(pos++);
      if (c == '"') {
        return b.toString();
      }
      if (c < 0x20) {
        pos--;
        throw error("control character U+" + String.format("%04X", (int) c) + " inside a string");
      }
      if (c != '\\') {
        b.append(c);
        continue;
      }
      if (pos >= s.length()) {
        throw error("unterminated string");
      }
      char e = s.charAt(pos++);
      switch (e) {
        case '"' -> b.append('"');
        case '\\' -> b.append('\\');
        case '/' -> b.append('/');
        case 'b' -> b.append('\b');
        case 'f' -> b.append('\f');
        case 'n' -> b.append('\n');
        case 'r' -> b.append('\r');
        case 't' -> b.append('\t');
        case 'u' -> b.append(hex4());
        default -> {
          pos--;
          throw error("invalid escape \\" + e);
        }
      }
    }
  }

  private char hex4() throws SyntaxException {
    if (pos + 4 > s.length()) {
      throw error("truncated \\u escape");
    }
    int v = 0;
    for (int i = 0; i < 4; i++) {
      int d = Character.digit(s.charAt(pos + i), 16);
      if (d < 0) {
        throw error("invalid \\u escape");
      }
      v = v * 16 + d;
    }
    pos += 4;
    return (char) v;
  }

  private Object number() throws SyntaxException {
    int start = pos;
    boolean integer = true;
    if (peek() == '-') {
      pos++;
    }
    if (peek() == '0') {
      pos++;
    } else if (isDigit(peek())) {
      while (isDigit(peek())) {
        pos++;
      }
    } else {
      throw error("invalid number");
    }
    if (peek() == '.') {
      integer = false;
      pos++;
      if (!isDigit(peek())) {
        throw error("invalid number: expected a digit after '.'");
      }
      while (isDigit(peek())) {
        pos++;
      }
    }
    if (peek() == 'e' || peek() == 'E') {
      integer = false;
      pos++;
      if (peek() == '+' || peek() == '-') {
        pos++;
      }
      if (!isDigit(peek())) {
        throw error("invalid number: expected a digit in the exponent");
      }
      while (isDigit(peek())) {
        pos++;
      }
    }
    String text = s.substring(start, pos);
    if (integer) {
      try {
        return Long.parseLong(text);
      } catch (NumberFormatException tooLarge) {
        return Double.parseDouble(text);
      }
    }
    return Double.parseDouble(text);
  }

  private Object literal(String word, Object value) throws SyntaxException {
    if (!s.startsWith(word, pos)) {
      throw error("unexpected " + describeHere());
    }
    pos += word.length();
    return value;
  }

  private void expect(char c) throws SyntaxException {
    if (peek() != c) {
      throw error("expected '" + c + "' but found " + describeHere());
    }
    pos++;
  }

  private char peek() {
    return pos < s.length() ? s.charAt(pos) : '\0';
  }

  private static boolean isDigit(char c) {
    return c >= '0' && c <= '9';
  }

  private void skipWhitespace() {
    while (pos < s.length()) {
      char c = s.charAt(pos);
      if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
        return;
      }
      pos++;
    }
  }

  private String describeHere() {
    if (pos >= s.length()) {
      return "end of text";
    }
    char c = s.charAt(pos);
    return c >= 0x20 && c < 0x7f ? "'" + c + "'" : "character U+" + String.format("%04X", (int) c);
  }

  private SyntaxException error(String what) {
    return new SyntaxException(what + " at character " + pos);
  }

  /** {@code text} as a JSON string literal, quotes included. */
  static String quote(String text) {
    StringBuilder b = new StringBuilder(text.length() + 2).append('"');
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      switch (c) {
        case '"' -> b.append("\\\"");
        case '\\' -> b.append("\\\\");
        case '\n' -> b.append("\\n");
        case '\r' -> b.append("\\r");
        case '\t' -> b.append("\\t");
        default -> {
          if (c < 0x20) {
            b.append(String.format("\\u%04x", (int) c));
          } else {
            b.append(c);
          }
        }
      }
    }
    return b.append('"').toString();
  }
}
