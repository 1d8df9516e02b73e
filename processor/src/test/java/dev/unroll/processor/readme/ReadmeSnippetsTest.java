package dev.unroll.processor.readme;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every {@code ```java} block of the repository's README.md, compiled with the Unroll processor as a user's build
 * compiles it, and run when it is a program that can run here: the README's examples cannot rot, as rustdoc's cannot.
 * Its inline {@code `import ...;`} declarations are compiled too.
 *
 * <p>A block is a compilation unit (it begins with {@code package}, an annotation or a type declaration) or
 * statements (with any imports among them). Units are compiled; statements are compiled inside a method and run,
 * unless marked compile-only. Where a block needs what a reader would supply, an HTML comment directly above its
 * fence says so (GitHub does not render it), e.g.
 * {@code <!-- snippet: after=train; context='int token = 0;' -->}, with these keys:
 * <ul>
 *   <li>{@code name=ID}: lets later blocks continue this one;
 *   <li>{@code after=ID}: after a unit, compile against its classes, in its package; after statements, run their
 *       statements (and theirs before them) first, in the same method, with their imports;
 *   <li>{@code context='...'}: hidden lines before the block: a unit's package and imports, or statements that
 *       declare what the block uses (leading imports in it are hoisted);
 *   <li>{@code replace='from -> to'}: text changed before compiling, e.g. fewer training steps, or a file name into
 *       {@code snippetDir} (an empty folder the run gets); fails when {@code from} is no longer in the block;
 *   <li>{@code compile-only='why'}: statements that cannot run in a test (hardware); compiled, not run;
 *   <li>{@code jmh=VERSION}: JMH's jmh-core on the classpath and its annotation processor after Unroll's; fails when
 *       the build's JMH is another version;
 *   <li>{@code expect='A B'}: classes the compilation must produce, relative to the block's package.
 * </ul>
 * A block with no comment that does not compile fails, pointing at its README line with javac's diagnostic.
 */
class ReadmeSnippetsTest {

  @TestFactory
  Stream<DynamicTest> readmeJavaBlocks(@TempDir Path work) throws IOException {
    Path readme = findReadme();
    String markdown = Files.readString(readme, StandardCharsets.UTF_8);
    List<Snippet> snippets = MarkdownSnippets.parse("README.md", markdown);
    assertFalse(snippets.isEmpty(), readme + " has no ```java block: the test would check nothing");
    SnippetChecker checker = new SnippetChecker(work);
    List<DynamicTest> tests = new ArrayList<>();
    for (Snippet s : snippets) {
      tests.add(DynamicTest.dynamicTest(s.where() + " (" + s.title() + ")",
          () -> System.out.println(s.where() + ": " + checker.check(s))));
    }
    List<MarkdownSnippets.InlineImport> imports = MarkdownSnippets.inlineImports(markdown);
    if (!imports.isEmpty()) {
      String where = imports.stream().map(i -> "README.md:" + i.line() + " " + i.declaration())
          .collect(Collectors.joining(", "));
      tests.add(DynamicTest.dynamicTest("inline imports (" + where + ")",
          () -> System.out.println("README.md: " + checker.checkImports("README.md", imports))));
    }
    return tests.stream();
  }

  /** The README of the repository: the nearest README.md in the module's folder or a folder above it. */
  private static Path findReadme() {
    Path start = Path.of(System.getProperty("basedir", System.getProperty("user.dir"))).toAbsolutePath();
    for (Path dir = start; dir != null; dir = dir.getParent()) {
      if (Files.isRegularFile(dir.resolve("README.md"))) {
        return dir.resolve("README.md");
      }
    }
    throw new AssertionError("no README.md in " + start + " or any folder above it: the README's snippets cannot be"
        + " tested");
  }

  // The checker itself: a broken block fails, at its line, with javac's words.

  private static SnippetException failure(Path work, String markdown) {
    SnippetChecker checker = new SnippetChecker(work);
    return assertThrows(SnippetException.class, () -> {
      for (Snippet s : MarkdownSnippets.parse("test.md", markdown)) {
        checker.check(s);
      }
    });
  }

  @Test
  void aShadowedVariableFailsAtItsLineWithJavacsMessage(@TempDir Path work) {
    String message = failure(work, """
        Text.

        <!-- snippet: context='int token = 0;' -->
        ```java
        java.util.function.IntConsumer print =
            token -> System.out.print(token);
        ```
        """).getMessage();
    assertTrue(message.startsWith("test.md:5: the block does not compile"), message);
    assertTrue(message.contains("test.md:6: error: variable token is already defined in method run(java.nio.file.Path)"
        + "\n        token -> System.out.print(token);\n        ^"), message);
    assertTrue(message.contains("hidden context of test.md:5"), message);
  }

  @Test
  void aBlockThatNeedsUnstatedContextFails(@TempDir Path work) {
    String message = failure(work, "```java\nSystem.out.println(promptTokens.length);\n```\n").getMessage();
    assertTrue(message.contains("test.md:2: error: cannot find symbol"), message);
    assertTrue(message.contains("<!-- snippet: ... --> comment"), message);
  }

  @Test
  void aWarningOnASnippetLineFails(@TempDir Path work) {
    String message = failure(work, "```java\njava.util.List<?> list = new java.util.ArrayList();\n```\n").getMessage();
    assertTrue(message.startsWith("test.md:2: the block compiles with warnings"), message);
    assertTrue(message.contains("test.md:2: warning: found raw type: java.util.ArrayList"), message);
  }

  @Test
  void aBlockThatThrowsFailsAtTheLineThatThrew(@TempDir Path work) {
    String message = failure(work, "```java\nint[] a = new int[1];\n\na[1] = 2;\n```\n").getMessage();
    assertTrue(message.startsWith("test.md:2: the block compiles but throws java.lang.ArrayIndexOutOfBoundsException"),
        message);
    assertTrue(message.contains("at test.md:4: a[1] = 2;"), message);
  }

  @Test
  void statementsContinueTheBlocksTheyFollowAndRun(@TempDir Path work) {
    List<Snippet> snippets = MarkdownSnippets.parse("test.md", """
        <!-- snippet: name=first; replace='2000 -> 3' -->
        ```java
        import java.util.ArrayList;
        var steps = new ArrayList<Integer>();
        for (int i = 0; i < 2000; i++) steps.add(i);
        ```
        <!-- snippet: after=first -->
        ```java
        if (steps.size() != 3) throw new AssertionError(steps);
        System.out.print(steps);
        ```
        """);
    SnippetChecker checker = new SnippetChecker(work);
    assertTrue(checker.check(snippets.get(0)).contains("printed 0 characters"));
    assertTrue(checker.check(snippets.get(1)).contains("printed 9 characters"));
  }

  @Test
  void aCommentThatDoesNotSitOnABlockIsAnError() {
    SnippetException e = assertThrows(SnippetException.class,
        () -> MarkdownSnippets.parse("test.md", "<!-- snippet: name=x -->\n\n```java\nint a = 1;\n```\n"));
    assertEquals("test.md:1: a snippet comment must end on the line directly above the ```java fence of the block it"
        + " describes", e.getMessage());
    e = assertThrows(SnippetException.class,
        () -> MarkdownSnippets.parse("test.md", "<!-- snippet: nmae=x -->\n```java\nint a = 1;\n```\n"));
    assertTrue(e.getMessage().startsWith("test.md:1: unknown snippet key 'nmae'"), e.getMessage());
    e = assertThrows(SnippetException.class,
        () -> MarkdownSnippets.parse("test.md", "<!-- snippet: after=later -->\n```java\nint a = 1;\n```\n"));
    assertTrue(e.getMessage().startsWith("test.md:1: after=later names no earlier block"), e.getMessage());
  }

  @Test
  void aJmhVersionOtherThanTheBuildsIsAnError(@TempDir Path work) {
    String message = failure(work, "<!-- snippet: jmh=0.9 -->\n```java\nint a = 1;\n```\n").getMessage();
    assertTrue(message.startsWith("test.md:3: the block says jmh=0.9 but this build compiles with jmh-core-"), message);
  }

  @Test
  void aReplacementThatNoLongerMatchesIsAnError(@TempDir Path work) {
    String message = failure(work, "<!-- snippet: replace='2000 -> 3' -->\n```java\nint steps = 20;\n```\n")
        .getMessage();
    assertTrue(message.startsWith("test.md:3: replace='2000 -> 3' matches no line of the block"), message);
  }
}
