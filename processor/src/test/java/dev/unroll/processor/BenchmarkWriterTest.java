package dev.unroll.processor;

import static com.google.testing.compile.CompilationSubject.assertThat;
import static com.google.testing.compile.Compiler.javac;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.testing.compile.Compilation;
import com.google.testing.compile.JavaFileObjects;
import java.io.File;
import dev.unroll.runtime.Backend;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import javax.tools.JavaFileObject;
import org.junit.jupiter.api.Test;
import org.openjdk.jmh.generators.BenchmarkProcessor;

/**
 * {@code benchmark = true}: the processor writes {@code Unrolled<Name>Benchmark}, which compiles clean, which JMH's
 * own annotation processor turns into benchmarks in the same compilation (a decoder's training step and forward, an
 * encoder's inference and training step, which run), and which is a clear compile error on the {@code benchmark}
 * value when JMH is not on the classpath.
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

  /** A BERT model and a ViT model that ask for their benchmarks. */
  private static final JavaFileObject BERT = JavaFileObjects.forSourceLines("test.Bert",
      "package test;",
      "",
      "import dev.unroll.Family;",
      "import dev.unroll.Pooling;",
      "import dev.unroll.Transformer;",
      "import dev.unroll.runtime.TextEncoder;",
      "",
      "@Transformer(family = Family.BERT, vocab = 11, context = 5, dim = 8, heads = 2, layers = 1, batch = 2,",
      "    classes = 3, pooling = Pooling.MEAN, normalize = true, benchmark = true)",
      "public interface Bert extends TextEncoder {}");
  private static final JavaFileObject VIT = JavaFileObjects.forSourceLines("test.Vit",
      "package test;",
      "",
      "import dev.unroll.Family;",
      "import dev.unroll.Transformer;",
      "import dev.unroll.runtime.ImageEncoder;",
      "",
      "@Transformer(family = Family.VIT, channels = 2, height = 4, width = 6, patch = {2, 3}, dim = 8, heads = 2,",
      "    layers = 1, batch = 2, classes = 3, benchmark = true)",
      "public interface Vit extends ImageEncoder {}");

  @Test
  void encoderBenchmarksAreInferenceAndTrainingStepAndCompileClean() throws IOException {
    Compilation compilation = javac()
        .withProcessors(new UnrollProcessor())
        .withOptions("-Werror", "-Xlint:all,-processing")
        .compile(BERT, VIT);
    assertThat(compilation).succeededWithoutWarnings();
    String bert = compilation.generatedSourceFile("test.UnrolledBertBenchmark").orElseThrow().getCharContent(true)
        .toString();
    assertTrue(bert.contains("@Benchmark\n  public float[] inference() {\n"
        + "    return model.embed(tokens, null, lengths, vectors);"), bert);
    assertTrue(bert.contains("float loss = model.forward(tokens, lengths, labels);\n    model.zeroGrad();\n"
        + "    model.backward();\n    opt.step();\n    model.finish();\n    return loss;"), bert);
    assertTrue(bert.contains("ITEMS = UnrolledBert.BATCH"), bert);
    assertTrue(bert.contains("FLOPS_PER_STEP = UnrolledBert.FLOPS_PER_STEP"), bert);
    assertFalse(bert.contains("forward()"), bert);
    String vit = compilation.generatedSourceFile("test.UnrolledVitBenchmark").orElseThrow().getCharContent(true)
        .toString();
    assertTrue(vit.contains("return model.embed(pixels, vectors);"), vit);
    assertTrue(vit.contains("float loss = model.forward(pixels, labels);"), vit);
  }

  @Test
  void jmhsProcessorPicksTheEncoderBenchmarksUp() {
    Compilation compilation = javac()
        .withProcessors(new UnrollProcessor(), new BenchmarkProcessor())
        .compile(BERT, VIT);
    assertThat(compilation).succeeded();
    for (String model : List.of("Bert", "Vit")) {
      for (String method : List.of("inference", "trainingStep")) {
        assertThat(compilation).generatedSourceFile("test.jmh_generated.Unrolled" + model + "Benchmark_" + method
            + "_jmhTest");
      }
    }
  }

  /**
   * The generated encoder benchmarks run: their inputs are valid (full rows of tokens, finite grids), the loss of
   * a fresh model is near ln 3 (three classes, logits near 0), the vectors are the model's and BERT's (mean,
   * normalized) have unit length, and a second inference gives the same bits.
   */
  @Test
  void encoderBenchmarksRun() throws Exception {
    Compilation compilation = javac().withProcessors(new UnrollProcessor()).compile(BERT, VIT);
    assertThat(compilation).succeeded();
    ClassLoader loader = new GeneratedClasses(compilation);
    for (String model : List.of("Bert", "Vit")) {
      Class<?> type = loader.loadClass("test.Unrolled" + model + "Benchmark");
      Object benchmark = type.getConstructor().newInstance();
      type.getField("backend").set(benchmark, Backend.SIMD);
      type.getMethod("setUp").invoke(benchmark);
      float[] vectors = ((float[]) type.getMethod("inference").invoke(benchmark)).clone();
      assertEquals(2 * 8, vectors.length, model);
      for (int row = 0; row < 2; row++) {
        double norm = 0;
        for (int i = 0; i < 8; i++) {
          assertTrue(Float.isFinite(vectors[row * 8 + i]), model);
          norm += (double) vectors[row * 8 + i] * vectors[row * 8 + i];
        }
        if (model.equals("Bert")) {
          assertEquals(1, Math.sqrt(norm), 1e-5, model + " row " + row);
        } else {
          assertTrue(norm > 0, model + " row " + row);
        }
      }
      float loss = (float) type.getMethod("trainingStep").invoke(benchmark);
      assertEquals(Math.log(3), loss, 0.05, model);
      type.getMethod("trainingStep").invoke(benchmark);
      float[] again = (float[]) type.getMethod("inference").invoke(benchmark);
      assertFalse(java.util.Arrays.equals(vectors, again), model + ": two AdamW steps changed nothing");
      assertArrayEquals(again.clone(), (float[]) type.getMethod("inference").invoke(benchmark), model);
    }
  }

  /** The classes a compilation wrote, loaded from memory over this test's class path. */
  private static final class GeneratedClasses extends ClassLoader {
    private final Compilation compilation;

    GeneratedClasses(Compilation compilation) {
      super(BenchmarkWriterTest.class.getClassLoader());
      this.compilation = compilation;
    }

    @Override
    protected Class<?> findClass(String name) throws ClassNotFoundException {
      String path = name.replace('.', '/') + ".class";
      for (JavaFileObject f : compilation.generatedFiles()) {
        if (f.getKind() == JavaFileObject.Kind.CLASS && f.toUri().getPath().endsWith("/" + path)) {
          try (InputStream in = f.openInputStream()) {
            byte[] bytes = in.readAllBytes();
            return defineClass(name, bytes, 0, bytes.length);
          } catch (IOException e) {
            throw new ClassNotFoundException(name, e);
          }
        }
      }
      throw new ClassNotFoundException(name);
    }
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
