package dev.unroll.processor.readme;

import java.util.ArrayDeque;
import java.util.List;

/**
 * One {@code ```java} block of a Markdown file, with what its {@code <!-- snippet: ... -->} comment says about it.
 *
 * @param file the Markdown file's name, for messages ({@code README.md})
 * @param line the 1-based line of the block's first code line
 * @param code the block's lines, as a reader sees them
 * @param unit whether the block is a whole compilation unit (else it is statements, with imports allowed)
 * @param name the name later blocks use in {@code after=}, or null
 * @param after the block whose context this one continues, or null
 * @param context hidden lines the reader supplies: before a unit's text, or before a statement block's statements
 * @param replacements what the test changes in the text before compiling, each {@code from -> to}
 * @param compileOnly why the statements are compiled but not run, or null: they run
 * @param jmh the JMH version the block is compiled with (jmh-core on the classpath, JMH's annotation processor after
 *     Unroll's), or null for none
 * @param expect classes the compilation must produce, relative to the block's package
 */
record Snippet(String file, int line, List<String> code, boolean unit, String name, Snippet after, String context,
    List<Replacement> replacements, String compileOnly, String jmh, List<String> expect) {

  /** A text substitution made before compiling: every occurrence of {@code from} on a line becomes {@code to}. */
  record Replacement(String from, String to) {}

  /** {@code README.md:82}: where a reader finds the block. */
  String where() {
    return file + ":" + line;
  }

  /** What the block is and what the test does with it, for reports: {@code train, statements, compiled and run}. */
  String title() {
    return (name == null ? "" : name + ", ") + (unit ? "compilation unit" : "statements")
        + (unit ? ", compiled" : compileOnly == null ? ", compiled and run" : ", compiled only (" + compileOnly + ")")
        + (jmh == null ? "" : ", with JMH " + jmh);
  }

  /** The block's lines with the replacements made, each replacement checked to match somewhere. */
  List<String> replacedCode() {
    List<String> lines = code;
    for (Replacement r : replacements) {
      if (lines.stream().noneMatch(l -> l.contains(r.from()))) {
        throw new SnippetException(where() + ": replace='" + r.from() + " -> " + r.to() + "' matches no line of the"
            + " block; change the annotation to the block's current text");
      }
      lines = lines.stream().map(l -> l.replace(r.from(), r.to())).toList();
    }
    return lines;
  }

  /** The chain of blocks this one continues, outermost first, ending with this one. */
  List<Snippet> chain() {
    ArrayDeque<Snippet> chain = new ArrayDeque<>();
    for (Snippet s = this; s != null; s = s.after()) {
      chain.addFirst(s);
    }
    return List.copyOf(chain);
  }
}
