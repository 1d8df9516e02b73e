package dev.unroll.archetype;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Runs what the README's "Your own model" section tells a user to run, with this build's artifacts, and with
 * Maven on the Java that runs this build (Java 17 on the build machine: older than the JDK 25 the projects need,
 * which they must find by themselves).
 *
 * <p>The commands and the pom snippet are read from README.md, so that they cannot drift from what is tested: the
 * section's {@code sh} blocks are run in order, as written ({@code cd} moves to the folder they name), with one
 * change: the benchmark gets JMH options for one short iteration. The section's {@code xml} blocks go into a
 * minimal pom, which builds and runs a small model with the same run command.
 *
 * <p>Every nested Maven gets {@code -s} and {@code -Dmaven.repo.local} from a wrapper script named {@code mvn}
 * first on the {@code PATH}: the local repository is a private one that invoker:install filled with this build's
 * artifacts (nothing is installed into, or read stale from, the user's), and the settings add the user's local
 * repository as a {@code file:} repository of releases, so that plugins and libraries already downloaded are not
 * downloaded again (Central stays reachable for the rest).
 */
class NewProjectIT {
  private static final Path README = Path.of(System.getProperty("it.readme"));
  private static final Path WORK = Path.of(System.getProperty("it.work"));
  private static final String SECTION = "## Your own model";
  /** JMH options the test adds to the README's benchmark command: one iteration of one second, no warm-up. */
  private static final String SHORT_BENCH = " -Dbench.args='-wi 0 -i 1 -r 1s -p backend=SIMD'";
  private static final Pattern LAST_STEP = Pattern.compile("(?m)^step +(\\d+)/\\1 +loss (\\S+)");
  private static final Pattern ACCURACY = Pattern.compile("(?m)^held-out accuracy: (\\d+)/(\\d+) ");
  private static final Pattern FIRST_LOSS = Pattern.compile("(?m)^first loss (\\S+) \\(ln 16 = ");
  private static final long TIMEOUT_MINUTES = 10;

  private static Path bin;

  @BeforeAll
  static void setUp() throws IOException, InterruptedException {
    deleteRecursively(WORK);
    Files.createDirectories(WORK);
    Path settings = WORK.resolve("it-settings.xml");
    Files.writeString(settings, settings(Path.of(System.getProperty("it.userRepo")).toUri().toString()));
    bin = Files.createDirectories(WORK.resolve("bin"));
    Path wrapper = bin.resolve("mvn");
    Files.writeString(wrapper, "#!/bin/sh\nexec " + quote(Path.of(System.getProperty("it.mavenHome"), "bin", "mvn"))
        + " -s " + quote(settings) + " -Dmaven.repo.local=" + quote(Path.of(System.getProperty("it.repo")))
        + " \"$@\"\n");
    assertTrue(wrapper.toFile().setExecutable(true), "cannot make " + wrapper + " executable");
    String version = run("mvn -v", WORK, "maven-version");
    System.out.println("[it] nested Maven: " + version.lines()
        .filter(line -> line.contains("Apache Maven") || line.contains("Java version"))
        .reduce((a, b) -> a + "; " + b).orElse("?"));
  }

  /** Generate, build, run and benchmark a new project, with the section's shell commands. */
  @Test
  void newProjectFromTheArchetype() throws IOException, InterruptedException {
    List<String> commands = commands(blocks(section(), "sh"));
    assertTrue(commands.stream().anyMatch(c -> c.contains("archetype:generate")),
        "no archetype:generate command in the README's section: " + commands);
    Path dir = WORK;
    String runOutput = null;
    String benchOutput = null;
    int n = 0;
    for (String command : commands) {
      if (command.startsWith("cd ")) {
        dir = dir.resolve(command.substring(3).trim()).normalize();
        assertTrue(Files.isDirectory(dir), "'" + command + "': no folder " + dir);
        continue;
      }
      boolean bench = command.contains("-Pbench");
      String output = run(bench ? command + SHORT_BENCH : command, dir, "new-" + ++n);
      if (bench) {
        benchOutput = output;
      } else if (command.contains("exec:exec")) {
        runOutput = output;
      }
    }
    assertTrue(runOutput != null, "no run command (exec:exec without -Pbench) among " + commands);
    assertTrue(benchOutput != null, "no benchmark command (-Pbench) among " + commands);

    Matcher lastStep = LAST_STEP.matcher(runOutput);
    assertTrue(lastStep.find(), "no final 'step N/N loss L' line in the run's output:\n" + runOutput);
    Matcher accuracy = ACCURACY.matcher(runOutput);
    assertTrue(accuracy.find(), "no 'held-out accuracy' line in the run's output:\n" + runOutput);
    int correct = Integer.parseInt(accuracy.group(1));
    int total = Integer.parseInt(accuracy.group(2));
    // 100% measured (182/182, SIMD, two cores); the bound leaves room for other vector widths' rounding.
    assertTrue(total > 0 && correct >= 0.9 * total, "the model did not learn to sort: " + accuracy.group());

    for (String benchmark : List.of("trainingStep", "forward")) {
      Matcher result = Pattern.compile("(?m)^UnrolledSortModelBenchmark\\." + benchmark
          + " +SIMD +\\d+ +avgt +(?:\\d+ +)?([0-9.]+) +(?:± +\\S+ +)?ms/op$").matcher(benchOutput);
      assertTrue(result.find(), "no JMH result line for " + benchmark + ":\n" + benchOutput);
      assertTrue(Double.parseDouble(result.group(1)) > 0, result.group());
    }
  }

  /** Add Unroll to an existing project with the section's pom snippet, then build and run it. */
  @Test
  void existingProjectFromTheReadmeSnippet() throws IOException, InterruptedException {
    List<String> xml = blocks(section(), "xml");
    assertFalse(xml.isEmpty(), "no xml block in the README's section");
    String runCommand = commands(blocks(section(), "sh")).stream()
        .filter(c -> c.contains("exec:exec") && !c.contains("-Pbench"))
        .findFirst().orElseThrow(() -> new AssertionError("no run command in the README's section"));
    Path project = WORK.resolve("existing-project");
    copyRecursively(Path.of(System.getProperty("it.existingProject")), project);
    Files.writeString(project.resolve("pom.xml"), """
        <?xml version="1.0" encoding="UTF-8"?>
        <project xmlns="http://maven.apache.org/POM/4.0.0">
          <modelVersion>4.0.0</modelVersion>
          <groupId>com.example</groupId>
          <artifactId>existing-project</artifactId>
          <version>1.0</version>
          <properties>
            <project.build.sourceEncoding>UTF-8</project.build.sourceEncoding>
          </properties>
        %s
        </project>
        """.formatted(String.join("\n", xml)));

    String output = run(runCommand, project, "existing");
    Matcher loss = FIRST_LOSS.matcher(output);
    assertTrue(loss.find(), "no 'first loss' line in the run's output:\n" + output);
    // A fresh GPT-2 initialisation predicts about uniformly: the loss is near ln 16 = 2.77.
    assertEquals(Math.log(16), Double.parseDouble(loss.group(1)), 0.5, loss.group());
  }

  /** The README's section: from its heading to the next heading of the same level. */
  private static List<String> section() throws IOException {
    List<String> lines = Files.readAllLines(README, StandardCharsets.UTF_8);
    int start = lines.indexOf(SECTION);
    assertTrue(start >= 0, "no '" + SECTION + "' heading in " + README);
    int end = start + 1;
    while (end < lines.size() && !lines.get(end).startsWith("## ")) {
      end++;
    }
    return lines.subList(start + 1, end);
  }

  /** The contents of the fenced blocks of {@code language}, in order. */
  static List<String> blocks(List<String> lines, String language) {
    List<String> blocks = new ArrayList<>();
    StringBuilder block = null;
    for (String line : lines) {
      if (block == null && line.equals("```" + language)) {
        block = new StringBuilder();
      } else if (block != null && line.equals("```")) {
        blocks.add(block.toString());
        block = null;
      } else if (block != null) {
        block.append(line).append('\n');
      }
    }
    return blocks;
  }

  /** The commands of shell blocks: a line ending in a backslash goes on; blank lines and comments are skipped. */
  static List<String> commands(List<String> blocks) {
    List<String> commands = new ArrayList<>();
    for (String block : blocks) {
      StringBuilder command = new StringBuilder();
      for (String line : block.lines().toList()) {
        if (line.endsWith("\\")) {
          command.append(line, 0, line.length() - 1);
          continue;
        }
        command.append(line);
        String text = command.toString().strip();
        command.setLength(0);
        if (!text.isEmpty() && !text.startsWith("#")) {
          commands.add(text);
        }
      }
    }
    return commands;
  }

  /**
   * Runs {@code command} with bash in {@code dir}, Maven on the Java that runs this build and the wrapper first on
   * the PATH; fails unless it exits with 0. Returns its output (stdout and stderr), also kept in a log file.
   */
  private static String run(String command, Path dir, String name) throws IOException, InterruptedException {
    Path log = WORK.resolve("logs").resolve(name + ".log");
    Files.createDirectories(log.getParent());
    ProcessBuilder builder = new ProcessBuilder("bash", "-c", command).directory(dir.toFile())
        .redirectErrorStream(true).redirectOutput(log.toFile());
    builder.environment().put("JAVA_HOME", System.getProperty("it.mavenJavaHome"));
    builder.environment().put("PATH", bin + java.io.File.pathSeparator + System.getenv("PATH"));
    long start = System.nanoTime();
    Process process = builder.start();
    if (!process.waitFor(TIMEOUT_MINUTES, TimeUnit.MINUTES)) {
      process.descendants().forEach(ProcessHandle::destroyForcibly);
      process.destroyForcibly();
      fail("'" + command + "' ran over " + TIMEOUT_MINUTES + " minutes; output in " + log);
    }
    String output = Files.readString(log, StandardCharsets.UTF_8);
    System.out.printf(Locale.ROOT, "[it] %6.1f s  %s  (in %s, output in %s)%n", (System.nanoTime() - start) / 1e9,
        command, WORK.relativize(dir), WORK.relativize(log));
    assertEquals(0, process.exitValue(), "'" + command + "' in " + dir + " failed:\n" + output);
    return output;
  }

  /**
   * Settings for the nested builds: the user's local repository as a remote one ({@code file:}), releases only,
   * so that a snapshot of Unroll is never read from there; the private local repository has this build's.
   */
  private static String settings(String userRepoUrl) {
    String repository = "<id>local.central</id><url>" + userRepoUrl + "</url>"
        + "<releases><enabled>true</enabled></releases><snapshots><enabled>false</enabled></snapshots>";
    return """
        <?xml version="1.0" encoding="UTF-8"?>
        <settings>
          <profiles>
            <profile>
              <id>it-repo</id>
              <repositories>
                <repository>%1$s</repository>
              </repositories>
              <pluginRepositories>
                <pluginRepository>%1$s</pluginRepository>
              </pluginRepositories>
            </profile>
          </profiles>
          <activeProfiles>
            <activeProfile>it-repo</activeProfile>
          </activeProfiles>
        </settings>
        """.formatted(repository);
  }

  private static String quote(Path path) {
    String text = path.toAbsolutePath().toString();
    if (text.contains("'")) {
      throw new IllegalArgumentException("a path with a quote cannot go into the wrapper script: " + text);
    }
    return "'" + text + "'";
  }

  private static void copyRecursively(Path from, Path to) throws IOException {
    try (Stream<Path> paths = Files.walk(from)) {
      for (Path path : paths.toList()) {
        Path target = to.resolve(from.relativize(path).toString());
        if (Files.isDirectory(path)) {
          Files.createDirectories(target);
        } else {
          Files.copy(path, target);
        }
      }
    }
  }

  private static void deleteRecursively(Path root) throws IOException {
    if (!Files.exists(root)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(root)) {
      paths.sorted(Comparator.reverseOrder()).forEach(path -> {
        try {
          Files.delete(path);
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      });
    }
  }
}
