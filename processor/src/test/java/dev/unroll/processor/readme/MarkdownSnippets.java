package dev.unroll.processor.readme;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads the {@code ```java} blocks of a Markdown file and the {@code <!-- snippet: ... -->} comments above them.
 *
 * <p>The comment sits on the line(s) directly above the opening fence (GitHub does not render it) and holds
 * {@code key=value} pairs separated by {@code ;}; a value with spaces or {@code ;} is quoted with {@code '} or
 * {@code "} and may run over several lines. The keys are listed in {@link #KEYS}; the test class's Javadoc says
 * what each means. A block with no comment is compiled as it stands, and run if it is statements.
 */
final class MarkdownSnippets {
  /** The keys a snippet comment may hold, with what each takes (for the error on an unknown one). */
  static final Map<String, String> KEYS = keys();

  private static final Pattern FENCE = Pattern.compile("^```\\s*(\\S*)\\s*$");
  private static final Pattern COMMENT_START = Pattern.compile("^\\s*<!--\\s*snippet:(.*)$", Pattern.DOTALL);
  /** A top-level declaration's first line: what makes a block a compilation unit rather than statements. */
  private static final Pattern UNIT_START = Pattern.compile(
      "^(package\\s|@[A-Za-z]|((public|abstract|final|sealed|non-sealed|strictfp)\\s+)*(class|interface|enum|record)"
          + "\\s)");
  /** An import declaration (a regular expression). */
  static final String IMPORT_DECLARATION = "import\\s+(?:static\\s+)?[\\w.]+(?:\\.\\*)?\\s*;";
  private static final Pattern IMPORT = Pattern.compile("^\\s*" + IMPORT_DECLARATION + ".*$");
  /** Inline code that is exactly an import declaration, such as {@code `import dev.unroll.Family;`}. */
  private static final Pattern INLINE_IMPORT = Pattern.compile("`(" + IMPORT_DECLARATION + ")`");
  private static final Pattern PAIR = Pattern.compile(
      "\\s*([a-z-]+)\\s*(?:=\\s*(?:'([^']*)'|\"([^\"]*)\"|([^;\\s'\"]+)))?\\s*(;|$)", Pattern.DOTALL);

  /** An inline {@code import ...;} of the prose, at its line. */
  record InlineImport(int line, String declaration) {}

  private MarkdownSnippets() {}

  private static Map<String, String> keys() {
    Map<String, String> keys = new LinkedHashMap<>();
    keys.put("name", "a name for after=");
    keys.put("after", "the name of an earlier block whose context this one continues");
    keys.put("context", "hidden Java put before the block");
    keys.put("replace", "'from -> to', changed in the block before compiling (may repeat)");
    keys.put("compile-only", "'why', for statements that cannot run in a test");
    keys.put("jmh", "the JMH version to compile with");
    keys.put("expect", "class names the compilation must produce, relative to the block's package");
    return Collections.unmodifiableMap(keys);
  }

  /** Whether a line of a statement block is an import declaration (hoisted above the wrapper class). */
  static boolean isImport(String line) {
    return IMPORT.matcher(line).matches();
  }

  /**
   * Every {@code ```java} block of {@code markdown}, in order.
   *
   * @throws SnippetException for a snippet comment that is not directly above a {@code ```java} block, an unknown or
   *     repeated key, a malformed value, or an {@code after=} that names no earlier block
   */
  static List<Snippet> parse(String file, String markdown) {
    String[] lines = markdown.split("\n", -1);
    List<Snippet> snippets = new ArrayList<>();
    Map<String, Snippet> named = new HashMap<>();
    String comment = null;
    int commentLine = 0;
    for (int i = 0; i < lines.length; i++) {
      Matcher fence = FENCE.matcher(lines[i]);
      if (fence.matches()) {
        int end = i + 1;
        while (end < lines.length && !lines[end].strip().equals("```")) {
          end++;
        }
        if (end == lines.length) {
          throw new SnippetException(file + ":" + (i + 1) + ": the code block opened here is never closed");
        }
        if (fence.group(1).equals("java")) {
          List<String> code = List.of(lines).subList(i + 1, end);
          Snippet s = snippet(file, i + 2, code, comment, commentLine, named);
          snippets.add(s);
          if (s.name() != null && named.putIfAbsent(s.name(), s) != null) {
            throw new SnippetException(file + ":" + commentLine + ": name=" + s.name() + " is already the name of"
                + " the block at " + named.get(s.name()).where());
          }
        } else if (comment != null) {
          throw misplaced(file, commentLine);
        }
        comment = null;
        i = end;
        continue;
      }
      if (comment != null) {
        throw misplaced(file, commentLine);
      }
      Matcher start = COMMENT_START.matcher(lines[i]);
      if (start.matches()) {
        commentLine = i + 1;
        StringBuilder text = new StringBuilder(start.group(1));
        while (!text.toString().contains("-->")) {
          if (++i == lines.length) {
            throw new SnippetException(file + ":" + commentLine + ": the snippet comment is never closed with -->");
          }
          text.append('\n').append(lines[i]);
        }
        int close = text.indexOf("-->");
        if (!text.substring(close + 3).isBlank()) {
          throw new SnippetException(file + ":" + commentLine + ": nothing may follow --> on the snippet comment's"
              + " last line");
        }
        comment = text.substring(0, close);
      }
    }
    if (comment != null) {
      throw misplaced(file, commentLine);
    }
    return snippets;
  }

  /** Every inline code span of the prose that is an import declaration, such as {@code `import dev.unroll.Family;`}. */
  static List<InlineImport> inlineImports(String markdown) {
    String[] lines = markdown.split("\n", -1);
    List<InlineImport> imports = new ArrayList<>();
    boolean inFence = false;
    for (int i = 0; i < lines.length; i++) {
      if (FENCE.matcher(lines[i]).matches()) {
        inFence = !inFence || !lines[i].strip().equals("```");
        continue;
      }
      if (!inFence) {
        Matcher m = INLINE_IMPORT.matcher(lines[i]);
        while (m.find()) {
          imports.add(new InlineImport(i + 1, m.group(1)));
        }
      }
    }
    return imports;
  }

  private static SnippetException misplaced(String file, int line) {
    return new SnippetException(file + ":" + line + ": a snippet comment must end on the line directly above the"
        + " ```java fence of the block it describes");
  }

  private static Snippet snippet(String file, int line, List<String> code, String comment, int commentLine,
      Map<String, Snippet> named) {
    Map<String, String> values = new HashMap<>();
    List<Snippet.Replacement> replacements = new ArrayList<>();
    if (comment != null) {
      Matcher m = PAIR.matcher(comment);
      int at = 0;
      while (at < comment.length() && !comment.substring(at).isBlank()) {
        if (!m.find(at) || m.start() != at) {
          throw new SnippetException(file + ":" + commentLine + ": cannot read the snippet comment from '"
              + comment.substring(at).strip() + "': write key=value pairs separated by ';', quoting values with"
              + " spaces in ' or \"");
        }
        String key = m.group(1);
        String value = m.group(2) != null ? m.group(2) : m.group(3) != null ? m.group(3) : m.group(4);
        if (!KEYS.containsKey(key)) {
          throw new SnippetException(file + ":" + commentLine + ": unknown snippet key '" + key + "'; the keys are "
              + KEYS + " (see ReadmeSnippetsTest)");
        }
        if (value == null || value.isBlank()) {
          throw new SnippetException(file + ":" + commentLine + ": " + key + " needs a value: " + KEYS.get(key));
        }
        if (key.equals("replace")) {
          int arrow = value.indexOf(" -> ");
          if (arrow < 0) {
            throw new SnippetException(file + ":" + commentLine + ": replace='" + value + "' must read 'from -> to'");
          }
          replacements.add(new Snippet.Replacement(value.substring(0, arrow), value.substring(arrow + 4)));
        } else if (values.put(key, value) != null) {
          throw new SnippetException(file + ":" + commentLine + ": " + key + " is given twice");
        }
        at = m.end();
      }
    }
    Snippet after = null;
    if (values.containsKey("after")) {
      after = named.get(values.get("after"));
      if (after == null) {
        throw new SnippetException(file + ":" + commentLine + ": after=" + values.get("after") + " names no earlier"
            + " block; the names so far are " + Set.copyOf(named.keySet()));
      }
    }
    boolean unit = code.stream()
        .filter(l -> !l.isBlank() && !l.strip().startsWith("//") && !isImport(l))
        .findFirst().map(l -> UNIT_START.matcher(l).find()).orElse(false);
    if (unit && values.containsKey("compile-only")) {
      throw new SnippetException(file + ":" + commentLine + ": compile-only is for statements; a compilation unit is"
          + " only ever compiled");
    }
    if (unit && after != null && !after.unit()) {
      throw new SnippetException(file + ":" + commentLine + ": a compilation unit can only come after another"
          + " compilation unit, not after the statements at " + after.where());
    }
    List<String> expect = values.containsKey("expect")
        ? List.of(values.get("expect").strip().split("\\s+")) : List.of();
    return new Snippet(file, line, code, unit, values.get("name"), after, values.get("context"),
        List.copyOf(replacements), values.get("compile-only"), values.get("jmh"), expect);
  }
}
