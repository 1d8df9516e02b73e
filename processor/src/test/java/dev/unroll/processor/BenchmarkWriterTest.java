package dev.unroll.processor;

import static com.google.testing.compile.CompilationSubject.assertThat;
import static com.google.testing.compile.Compiler.javac;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.testing.compile.Compilation;
import com.google.testing.compile.JavaFileObjects;
import java.io.File;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import javax.tools.JavaFileObject;
import org.junit.jupiter.api.Test;
import org.openjdk.jmh.generators.BenchmarkProcessor;

/**
 * {@code benchmark = true}: the processor writes {@code Unrolled<Name>Benchmark}, which compiles clean, which JMH's
 * own annotation processor turns into benchmarks in the same compilation, and which is a clear compile error on
 * the {@code benchmark} value when JMH is not on the classpath.
 */
class BenchmarkWriterTest {

  private static JavaFileObject model(String benchmark) {
    return JavaFileObjects.forSourceLines("test.Tiny",
        "package test;",
        "",
        "import dev.unroll.Transformer;",
        "import dev.unroll.runtime.CausalLm;",
        "",
        "@Transformer(vocab = 11, context = 5, dim = 8, heads = 2, layers = 1, batch = 2,",
        "    " + benchmark + ")",
        "public interface Tiny extends CausalLm {}");
  }

  @Test
  void benchmarkClassIsGeneratedAndCompilesClean() throws IOException {
    String source = benchmarkSource("benchmark = true");
    assertTrue(source.contains("@Benchmark\n  public float trainingStep()"), source);
    assertTrue(source.contains("@Benchmark\n  public float forward()"), source);
    assertTrue(source.contains("@Param({\"SIMD\", \"SCALAR\"})\n  public Backend backend;"), source);
    assertTrue(source.contains("FLOPS_PER_STEP = UnrolledTiny.FLOPS_PER_STEP"), source);
    assertTrue(source.contains("opt.step();\n    model.finish();\n    return loss;"), source);
  }

  @Test
  void aModelForOpenClAloneIsBenchmarkedOnOpenCl() throws IOException {
    String source = benchmarkSource("benchmark = true, platforms = dev.unroll.Platform.OPENCL");
    assertTrue(source.contains("@Param({\"OPENCL\"})\n  public Backend backend;"), source);
  }

  /** The benchmark written for a model with {@code values}, which compiles clean. */
  private static String benchmarkSource(String values) throws IOException {
    Compilation compilation = javac()
        .withProcessors(new UnrollProcessor())
        .withOptions("-Werror", "-Xlint:all,-processing")
        .compile(model(values));
    assertThat(compilation).succeededWithoutWarnings();
    return compilation.generatedSourceFile("test.UnrolledTinyBenchmark").orElseThrow().getCharContent(true)
        .toString();
  }

  @Test
  void jmhsProcessorPicksTheBenchmarkUp() {
    Compilation compilation = javac()
        .withProcessors(new UnrollProcessor(), new BenchmarkProcessor())
        .compile(model("benchmark = true"));
    assertThat(compilation).succeeded();
    assertThat(compilation).generatedSourceFile("test.jmh_generated.UnrolledTinyBenchmark_trainingStep_jmhTest");
    assertThat(compilation).generatedSourceFile("test.jmh_generated.UnrolledTinyBenchmark_forward_jmhTest");
  }

  @Test
  void noBenchmarkUnlessAsked() {
    Compilation compilation = javac().withProcessors(new UnrollProcessor()).compile(model("benchmark = false"));
    assertThat(compilation).succeededWithoutWarnings();
    assertFalse(compilation.generatedSourceFile("test.UnrolledTinyBenchmark").isPresent());
  }

  @Test
  void withoutJmhOnTheClasspathItIsAnErrorOnTheValue() {
    List<File> classpath = new ArrayList<>();
    for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
      if (!entry.contains("jmh")) {
        classpath.add(new File(entry));
      }
    }
    Compilation compilation = javac()
        .withProcessors(new UnrollProcessor())
        .withClasspath(classpath)
        .compile(model("benchmark = true"));
    assertThat(compilation).failed();
    assertThat(compilation).hadErrorContaining("benchmark = true needs JMH, but org.openjdk.jmh.annotations.Benchmark"
        + " is not on the compile classpath: add the dependency org.openjdk.jmh:jmh-core")
        .inFile(model("benchmark = true")).onLineContaining("benchmark = true");
  }
}
