package dev.unroll.processor.readme;

import static java.nio.charset.StandardCharsets.UTF_8;

import com.palantir.javapoet.JavaFile;
import dev.unroll.Transformer;
import dev.unroll.processor.UnrollProcessor;
import dev.unroll.runtime.CausalLm;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.io.StringWriter;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.net.MalformedURLException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import javax.tools.Diagnostic;
import javax.tools.DiagnosticCollector;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileObject;
import javax.tools.SimpleJavaFileObject;
import javax.tools.StandardJavaFileManager;
import javax.tools.ToolProvider;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.generators.BenchmarkProcessor;

/**
 * Compiles snippets the way a user's build compiles them, and runs the statement blocks.
 *
 * <p>javac gets what the README's pom gives it: {@code --release 25 --add-modules jdk.incubator.vector}, the
 * annotations and runtime on the classpath, and the processor with its own dependencies on the processor path, where
 * javac finds it through its service file (nothing names it). Those are the artifacts this build made, found through
 * the classes' own locations. {@code -Xlint:all} is on, and a warning on a snippet's line fails it, since readers copy
 * these lines into their own code.
 *
 * <p>A compilation unit compiles as it stands, after its hidden context. Statements compile in the method
 * {@code public static void run(Path snippetDir) throws Exception} of a class in the package of the compilation unit
 * they follow, after the statements of the blocks they follow (with the hidden context of each before its own lines);
 * every import line of the chain goes above the class. Lines keep their text and column, so javac's column points
 * into the README's line. Each block is compiled against the classes of the compilation units it follows.
 */
final class SnippetChecker {
  /** The release of the README's pom. */
  private static final String RELEASE = "25";
  private static final Pattern PACKAGE = Pattern.compile("\\bpackage\\s+([\\w.]+)\\s*;");
  private static final Pattern TYPE = Pattern.compile("\\b(?:class|interface|enum|record)\\s+(\\w+)");
  private static final Pattern LEADING_IMPORT =
      Pattern.compile("^\\s*(" + MarkdownSnippets.IMPORT_DECLARATION + ")");

  private final Path work;
  private final Map<Snippet, Path> outputs = new IdentityHashMap<>();
  private final Set<Snippet> failed = Collections.newSetFromMap(new IdentityHashMap<>());

  /** A line of a file given to javac, and where a reader finds it: a README line, a hidden one, or none (ours). */
  private record Line(String text, String origin) {}

  /** A source file given to javac. */
  private record SourceFile(String binaryName, List<Line> lines) {
    String packageName() {
      int dot = binaryName.lastIndexOf('.');
      return dot < 0 ? "" : binaryName.substring(0, dot);
    }

    JavaFileObject fileObject() {
      String text = lines.stream().map(Line::text).collect(Collectors.joining("\n", "", "\n"));
      URI uri = URI.create("string:///" + binaryName.replace('.', '/') + JavaFileObject.Kind.SOURCE.extension);
      return new SimpleJavaFileObject(uri, JavaFileObject.Kind.SOURCE) {
        @Override
        public CharSequence getCharContent(boolean ignoreEncodingErrors) {
          return text;
        }
      };
    }
  }

  /** @param work an empty folder for the classes, generated sources and run folders of every block */
  SnippetChecker(Path work) {
    this.work = work;
  }

  /**
   * Compiles the block and, if it is statements not marked compile-only, runs them.
   *
   * @return what was done and how long it took, for the test's log
   * @throws SnippetException naming the README line when the block does not compile, misses an expected class, or
   *     throws when run
   */
  String check(Snippet snippet) {
    for (Snippet before : snippet.chain()) {
      if (before != snippet && failed.contains(before)) {
        failed.add(snippet);
        throw new SnippetException(snippet.where() + ": this block follows the block at " + before.where()
            + ", which failed; fix that one first");
      }
    }
    try {
      return checkUnchecked(snippet);
    } catch (RuntimeException | Error e) {
      failed.add(snippet);
      throw e;
    }
  }

  private String checkUnchecked(Snippet snippet) {
    List<Snippet> chain = snippet.chain();
    SourceFile source = snippet.unit() ? unitSource(snippet) : statementSource(snippet, chain);
    List<Path> classpath = new ArrayList<>(List.of(location(Transformer.class), location(CausalLm.class)));
    List<Path> processorPath = new ArrayList<>(List.of(location(UnrollProcessor.class), location(Transformer.class),
        location(JavaFile.class)));
    for (Snippet before : chain) {
      if (before != snippet && before.unit()) {
        classpath.add(outputs.get(before));
      }
    }
    String jmh = chain.stream().map(Snippet::jmh).filter(v -> v != null).reduce((a, b) -> b).orElse(null);
    if (jmh != null) {
      Path core = location(Benchmark.class);
      if (!core.getFileName().toString().equals("jmh-core-" + jmh + ".jar")) {
        throw new SnippetException(snippet.where() + ": the block says jmh=" + jmh + " but this build compiles with "
            + core.getFileName() + "; give readers the version the build uses, in the annotation and in the text");
      }
      classpath.add(core);
      processorPath.add(location(BenchmarkProcessor.class)); // after Unroll's, as the README says
      processorPath.add(core);
    }
    Path dir = work.resolve("block-" + snippet.line());
    long start = System.nanoTime();
    Path classes = compile(snippet.where(), source, classpath, processorPath, dir);
    double compileSeconds = (System.nanoTime() - start) / 1e9;
    outputs.put(snippet, classes);
    for (String expected : snippet.expect()) {
      String name = source.packageName().isEmpty() ? expected : source.packageName() + "." + expected;
      if (!Files.isRegularFile(classes.resolve(name.replace('.', '/') + ".class"))) {
        throw new SnippetException(snippet.where() + ": compiling the block did not produce " + name + " (expect="
            + expected + "); it produced " + classNames(classes));
      }
    }
    String done = String.format(Locale.ROOT, "compiled in %.1f s", compileSeconds);
    if (snippet.unit()) {
      return done + (snippet.expect().isEmpty() ? "" : ", produced " + String.join(", ", snippet.expect()));
    }
    if (snippet.compileOnly() != null) {
      return done + "; not run: " + snippet.compileOnly();
    }
    List<Path> loaderPath = new ArrayList<>(classpath.subList(2, classpath.size()));
    loaderPath.add(classes);
    start = System.nanoTime();
    int printed = run(snippet, source, loaderPath, dir.resolve("run"));
    double runSeconds = (System.nanoTime() - start) / 1e9;
    return done + String.format(Locale.ROOT, "; ran in %.1f s, printed %d characters", runSeconds, printed);
  }

  /**
   * Compiles the prose's inline import declarations (such as {@code `import dev.unroll.Family;`}) in one file, so
   * that each names a type a user's classpath has.
   */
  String checkImports(String file, List<MarkdownSnippets.InlineImport> imports) {
    List<Line> lines = new ArrayList<>();
    lines.add(new Line("package readme.inline;", null));
    for (MarkdownSnippets.InlineImport i : imports) {
      lines.add(new Line(i.declaration(), file + ":" + i.line()));
    }
    lines.add(new Line("final class InlineImports {}", null));
    compile(file + " (inline imports)", new SourceFile("readme.inline.InlineImports", lines),
        List.of(location(Transformer.class), location(CausalLm.class)), List.of(), work.resolve("inline-imports"));
    return imports.size() + " inline imports compiled";
  }

  private static SourceFile unitSource(Snippet snippet) {
    List<Line> lines = new ArrayList<>();
    if (snippet.context() != null) {
      snippet.context().lines().forEach(l -> lines.add(new Line(l, hidden(snippet))));
    }
    lines.addAll(visible(snippet, snippet.replacedCode()));
    String text = lines.stream().map(Line::text).collect(Collectors.joining("\n"));
    Matcher type = TYPE.matcher(text);
    if (!type.find()) {
      throw new SnippetException(snippet.where() + ": the block looks like a compilation unit but declares no type");
    }
    Matcher pkg = PACKAGE.matcher(text);
    return new SourceFile((pkg.find() ? pkg.group(1) + "." : "") + type.group(1), lines);
  }

  private static SourceFile statementSource(Snippet snippet, List<Snippet> chain) {
    String pkg = chain.stream().filter(Snippet::unit).map(s -> unitSource(s).packageName())
        .reduce((a, b) -> b).orElse("");
    Set<String> seen = new LinkedHashSet<>();
    List<Line> imports = new ArrayList<>();
    List<Line> body = new ArrayList<>();
    for (Snippet s : chain) {
      if (s.unit()) {
        continue;
      }
      if (s.context() != null) {
        String context = s.context();
        for (Matcher m = LEADING_IMPORT.matcher(context); m.find(); m = LEADING_IMPORT.matcher(context)) {
          if (seen.add(m.group(1))) {
            imports.add(new Line(m.group(1), hidden(s)));
          }
          context = context.substring(m.end());
        }
        context.strip().lines().forEach(l -> body.add(new Line(l, hidden(s))));
      }
      for (Line l : visible(s, s.replacedCode())) {
        if (!MarkdownSnippets.isImport(l.text())) {
          body.add(l);
        } else if (seen.add(l.text().strip())) {
          imports.add(l);
        }
      }
    }
    String className = "Snippet" + snippet.line();
    List<Line> lines = new ArrayList<>();
    if (!pkg.isEmpty()) {
      lines.add(new Line("package " + pkg + ";", null));
    }
    lines.addAll(imports);
    lines.add(new Line("public final class " + className + " {", null));
    lines.add(new Line("public static void run(java.nio.file.Path snippetDir) throws Exception {", null));
    lines.addAll(body);
    lines.add(new Line("}", null));
    lines.add(new Line("}", null));
    return new SourceFile(pkg.isEmpty() ? className : pkg + "." + className, lines);
  }

  private static List<Line> visible(Snippet snippet, List<String> code) {
    List<Line> lines = new ArrayList<>();
    for (int i = 0; i < code.size(); i++) {
      lines.add(new Line(code.get(i), snippet.file() + ":" + (snippet.line() + i)));
    }
    return lines;
  }

  private static String hidden(Snippet snippet) {
    return "hidden context of " + snippet.where();
  }

  private static Path compile(String where, SourceFile source, List<Path> classpath, List<Path> processorPath,
      Path dir) {
    Path classes = dir.resolve("classes");
    Path generated = dir.resolve("generated");
    JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
    DiagnosticCollector<JavaFileObject> diagnostics = new DiagnosticCollector<>();
    StringWriter output = new StringWriter();
    boolean compiled;
    try (StandardJavaFileManager files = javac.getStandardFileManager(diagnostics, Locale.ROOT, UTF_8)) {
      Files.createDirectories(classes);
      Files.createDirectories(generated);
      List<String> options = new ArrayList<>(List.of("--release", RELEASE, "--add-modules", "jdk.incubator.vector",
          "-Xlint:all,-processing", "-classpath", join(classpath), "-d", classes.toString(), "-s",
          generated.toString()));
      if (!processorPath.isEmpty()) {
        options.addAll(List.of("-processorpath", join(processorPath)));
      }
      compiled = javac.getTask(output, files, diagnostics, options, null, List.of(source.fileObject())).call();
    } catch (IOException e) {
      throw new SnippetException(where + ": cannot compile in " + dir, e);
    }
    StringBuilder problems = new StringBuilder();
    for (Diagnostic<? extends JavaFileObject> d : diagnostics.getDiagnostics()) {
      boolean ours = d.getSource() != null && d.getSource().toUri().getScheme().equals("string");
      if (d.getKind() == Diagnostic.Kind.ERROR || (ours && d.getKind() != Diagnostic.Kind.NOTE)) {
        problems.append(ours ? describe(d, source) : d.toString()).append('\n');
      }
    }
    if (!compiled || !problems.isEmpty()) {
      throw new SnippetException(where + ": the block " + (compiled ? "compiles with warnings" : "does not compile")
          + " (javac --release " + RELEASE + " with the Unroll processor):\n" + problems + output
          + "\nThe file javac compiled, each line with where it comes from:\n" + listing(source)
          + (compiled ? "" : "\nIf the block needs what a reader would supply, say so in a <!-- snippet: ... -->"
              + " comment above it (see ReadmeSnippetsTest)."));
    }
    return classes;
  }

  /** One diagnostic on our file: where the reader finds the line, javac's message, the line and a caret. */
  private static String describe(Diagnostic<? extends JavaFileObject> d, SourceFile source) {
    long n = d.getLineNumber();
    if (n < 1 || n > source.lines().size()) {
      return source.binaryName() + ": " + d.getKind().toString().toLowerCase(Locale.ROOT) + ": "
          + d.getMessage(Locale.ROOT);
    }
    Line line = source.lines().get((int) n - 1);
    String origin = line.origin() != null ? line.origin() : "line " + n + " of the test's wrapper";
    String caret = d.getColumnNumber() > 0 ? "\n    " + " ".repeat((int) d.getColumnNumber() - 1) + "^" : "";
    return origin + ": " + d.getKind().toString().toLowerCase(Locale.ROOT) + ": " + d.getMessage(Locale.ROOT)
        + "\n    " + line.text() + caret;
  }

  private static String listing(SourceFile source) {
    StringBuilder text = new StringBuilder();
    for (int i = 0; i < source.lines().size(); i++) {
      Line line = source.lines().get(i);
      text.append(String.format(Locale.ROOT, "%4d  %-34s| %s%n", i + 1,
          line.origin() == null ? "(the test's wrapper)" : line.origin(), line.text()));
    }
    return text.toString();
  }

  /** Runs the statements with standard output captured; returns how many characters they printed. */
  private static int run(Snippet snippet, SourceFile source, List<Path> loaderPath, Path runDir) {
    URL[] urls = loaderPath.stream().map(SnippetChecker::url).toArray(URL[]::new);
    ByteArrayOutputStream printed = new ByteArrayOutputStream();
    PrintStream out = System.out;
    try (URLClassLoader loader = new URLClassLoader(urls, SnippetChecker.class.getClassLoader())) {
      Files.createDirectories(runDir);
      Method run = loader.loadClass(source.binaryName()).getMethod("run", Path.class);
      System.setOut(new PrintStream(printed, true, UTF_8));
      try {
        run.invoke(null, runDir);
      } finally {
        System.setOut(out);
      }
    } catch (InvocationTargetException e) {
      Throwable cause = e.getCause();
      String at = Stream.of(cause.getStackTrace())
          .filter(f -> f.getClassName().equals(source.binaryName()) && f.getLineNumber() > 0)
          .findFirst()
          .map(f -> source.lines().get(f.getLineNumber() - 1))
          .map(l -> (l.origin() == null ? "the test's wrapper" : l.origin()) + ": " + l.text().strip())
          .orElse("(no frame of the block)");
      throw new SnippetException(snippet.where() + ": the block compiles but throws " + cause + "\n  at " + at
          + "\nIt printed: " + printed.toString(UTF_8), cause);
    } catch (ReflectiveOperationException | IOException e) {
      throw new SnippetException(snippet.where() + ": cannot run the compiled block", e);
    }
    return printed.toString(UTF_8).length();
  }

  private static String classNames(Path classes) {
    try (Stream<Path> files = Files.walk(classes)) {
      return files.filter(f -> f.toString().endsWith(".class"))
          .map(f -> classes.relativize(f).toString().replace('/', '.').replaceAll("\\.class$", ""))
          .sorted().toList().toString();
    } catch (IOException e) {
      return "(cannot list " + classes + ": " + e + ")";
    }
  }

  /** Where a class was loaded from: a jar, or a build's classes folder. */
  private static Path location(Class<?> type) {
    try {
      return Path.of(type.getProtectionDomain().getCodeSource().getLocation().toURI());
    } catch (URISyntaxException e) {
      throw new IllegalStateException("cannot locate " + type, e);
    }
  }

  private static URL url(Path path) {
    try {
      return path.toUri().toURL();
    } catch (MalformedURLException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String join(List<Path> paths) {
    return paths.stream().map(Path::toString).collect(Collectors.joining(File.pathSeparator));
  }
}
