package dev.unroll.processor;

import static com.google.testing.compile.CompilationSubject.assertThat;
import static com.google.testing.compile.Compiler.javac;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.testing.compile.Compilation;
import com.google.testing.compile.JavaFileObjects;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Pattern;
import javax.tools.JavaFileObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The processor under javac: a tiny model's generated source against a golden file, clean compilation under
 * {@code -Werror -Xlint:all}, and one compile error per invalid spec, pinned to the line of the value to change.
 *
 * <p>To refresh the golden file after an intended change: {@code UNROLL_UPDATE_GOLDEN=1 mvn -pl processor -am test
 * -Dtest=ProcessorCompileTest -Dsurefire.failIfNoSpecifiedTests=false}, then review the diff.
 */
class ProcessorCompileTest {
  private static final Path GOLDEN = Path.of(System.getProperty("basedir", "."),
      "src/test/resources/golden/UnrolledTiny.java");

  private static Compilation compile(JavaFileObject... sources) {
    return javac()
        .withProcessors(new UnrollProcessor())
        .withOptions("-Werror", "-Xlint:all,-processing")
        .compile(sources);
  }

  private static JavaFileObject model(String annotation) {
    return JavaFileObjects.forSourceLines("test.Tiny",
        "package test;",
        "",
        "import dev.unroll.Family;",
        "import dev.unroll.Transformer;",
        "import dev.unroll.runtime.CausalLm;",
        "",
        "@Transformer(",
        annotation,
        ")",
        "public interface Tiny extends CausalLm {}");
  }

  @Test
  void tinyModelMatchesGoldenFileAndCompilesClean() throws IOException {
    Compilation compilation = compile(model(
        "    family = Family.GPT2, vocab = 11, context = 5, dim = 8, heads = 2, layers = 2, batch = 2"));
    assertThat(compilation).succeededWithoutWarnings();
    matchesGolden(compilation, "UnrolledTiny.java");
  }

  /**
   * One note per model, on its interface: the bytes of each arena, as the golden file's memory map counts them
   * (params 7,712 B; acts 13,160 B; dacts 3,520 B; kv 640 B; dec 624 B; 47,528 B against llm.c's 61,808 B), and a
   * model that does not decode (an encoder) names no KV cache.
   */
  @Test
  void footprintIsANoteOnTheInterface() {
    Compilation compilation = compile(model(
        "    family = Family.GPT2, vocab = 11, context = 5, dim = 8, heads = 2, layers = 2, batch = 2"));
    assertThat(compilation).succeededWithoutWarnings();
    assertThat(compilation).hadNoteContaining("UnrolledTiny: parameters 7.7 kB, gradients 7.7 kB, AdamW moments"
        + " 15.4 kB, activations 13.2 kB, activation gradients 3.5 kB, KV cache 640 B, decode 624 B; training total"
        + " 47.5 kB (llm.c's layout: 61.8 kB, this is 77%); made for decoding only (createForDecoding,"
        + " loadForDecoding) 9.0 kB").inFile(model("")).onLineContaining("interface Tiny");
    assertEquals(1, compilation.notes().stream().filter(n -> n.getMessage(null).contains("UnrolledTiny:")).count());

    Compilation encoder = compile(JavaFileObjects.forSourceLines("test.Enc",
        "package test;",
        "",
        "import dev.unroll.Family;",
        "import dev.unroll.Transformer;",
        "import dev.unroll.runtime.TextEncoder;",
        "",
        "@Transformer(family = Family.BERT, vocab = 11, context = 5, dim = 8, heads = 2, layers = 2, batch = 2,",
        "    classes = 3)",
        "public interface Enc extends TextEncoder {}"));
    assertThat(encoder).succeededWithoutWarnings();
    String note = encoder.notes().stream().map(n -> n.getMessage(null)).filter(m -> m.startsWith("UnrolledEnc:"))
        .findFirst().orElseThrow();
    assertTrue(note.contains("activation gradients") && !note.contains("KV cache") && !note.contains("decoding"),
        note);
  }

  /** The generated {@code test.UnrolledTiny} against {@code golden/<file>} (rewritten instead when refreshing). */
  private static void matchesGolden(Compilation compilation, String file) throws IOException {
    JavaFileObject generated = compilation.generatedSourceFile("test.UnrolledTiny").orElseThrow();
    String source = generated.getCharContent(true).toString();
    Path path = GOLDEN.resolveSibling(file);
    if (System.getenv("UNROLL_UPDATE_GOLDEN") != null) {
      Files.createDirectories(path.getParent());
      Files.writeString(path, source, StandardCharsets.UTF_8);
      return;
    }
    String golden;
    try (var in = ProcessorCompileTest.class.getResourceAsStream("/golden/" + file)) {
      golden = in == null ? "(missing golden file)" : new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    assertEquals(golden, source, "generated source differs from " + path + "; see the class Javadoc to refresh");
  }

  @Test
  void outputIsDeterministic() throws IOException {
    String a = compile(model("vocab = 11, context = 5, dim = 8, heads = 2, layers = 1, batch = 2"))
        .generatedSourceFile("test.UnrolledTiny").orElseThrow().getCharContent(true).toString();
    String b = compile(model("vocab = 11, context = 5, dim = 8, heads = 2, layers = 1, batch = 2"))
        .generatedSourceFile("test.UnrolledTiny").orElseThrow().getCharContent(true).toString();
    assertEquals(a, b);
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
      "vocab = 0, context = 5, dim = 8, heads = 2, layers = 1, batch = 2 | vocab = 0 | vocab = 0 must be positive",
      "vocab = 9, context = -5, dim = 8, heads = 2, layers = 1, batch = 2 | context = -5 | context = -5 must be"
          + " positive",
      "vocab = 9, context = 5, dim = 0, heads = 2, layers = 1, batch = 2 | dim = 0 | dim = 0 must be positive",
      "vocab = 9, context = 5, dim = 8, heads = 0, layers = 1, batch = 2 | heads = 0 | heads = 0 must be positive",
      "vocab = 9, context = 5, dim = 8, heads = 2, layers = 0, batch = 2 | layers = 0 | layers = 0 must be positive",
      "vocab = 9, context = 5, dim = 8, heads = 2, layers = 1, batch = -1 | batch = -1 | batch = -1 must be"
          + " positive",
      "vocab = 9, context = 5, dim = 8, heads = 2, layers = 1, batch = 2, hidden = 0 | hidden = 0 | hidden = 0 must"
          + " be positive",
      "vocab = 9, context = 5, dim = 100, heads = 3, layers = 1, batch = 2 | heads = 3 | dim = 100 is not divisible"
          + " by heads = 3",
      "family = Family.GPT2, vocab = 9, context = 5, dim = 8, heads = 2, layers = 1, batch = 2, classes = 3"
          + " | Family.GPT2 | classes, pooling, normalize, typeVocab, channels, height, width, patch apply to the"
          + " encoders (BERT, VIT) only",
      "family = Family.LLAMA, vocab = 9, context = 5, dim = 24, heads = 6, kvHeads = 4, layers = 1, batch = 2"
          + " | kvHeads = 4 | kvHeads = 4 does not divide heads = 6",
      "family = Family.LLAMA, vocab = 9, context = 5, dim = 24, heads = 6, kvHeads = 0, layers = 1, batch = 2"
          + " | kvHeads = 0 | kvHeads = 0 must be positive",
      "family = Family.LLAMA, vocab = 9, context = 5, dim = 18, heads = 6, layers = 1, batch = 2 | heads = 6"
          + " | head size dim / heads = 18 / 6 = 3 is odd, but RoPE rotates pairs",
      "vocab = 9, context = 5, dim = 8, heads = 2, kvHeads = 1, layers = 1, batch = 2 | kvHeads = 1 | kvHeads = 1"
          + " applies to LLAMA only",
      "vocab = 9, context = 5, dim = 8, heads = 2, layers = 1, batch = 2, tiedEmbeddings = false | tiedEmbeddings"
          + " | GPT2 always ties its classifier",
      "vocab = 50257, context = 4096, dim = 768, heads = 12, layers = 12, batch = 64 | batch = 64 | more than one"
          + " Java array can index",
      "vocab = 9, context = 5, dim = 8, heads = 2, layers = 1, batch = 2, platforms = {} | platforms = {}"
          + " | platforms lists no platform: a model must run somewhere",
  })
  void invalidSpecIsAnErrorOnItsValue(String annotation, String line, String message) {
    Compilation compilation = compile(model("    " + annotation));
    assertThat(compilation).failed();
    assertThat(compilation).hadErrorContaining(message).inFile(model("    " + annotation))
        .onLineContaining(line);
    assertThat(compilation).hadErrorCount(1);
  }

  private static JavaFileObject encoder(String annotation, String family) {
    return JavaFileObjects.forSourceLines("test.Tiny",
        "package test;",
        "",
        "import dev.unroll.Family;",
        "import dev.unroll.Pooling;",
        "import dev.unroll.Transformer;",
        "",
        "@Transformer(",
        annotation,
        ")",
        "public interface Tiny extends dev.unroll.runtime." + (family.equals("BERT") ? "TextEncoder" : "ImageEncoder")
            + " {}");
  }

  private static final String VIT = "family = Family.VIT, channels = 3, height = 10, width = 6, dim = 8, heads = 2,"
      + " layers = 1, batch = 2, classes = 3, ";
  private static final String BERT = "family = Family.BERT, vocab = 9, context = 5, dim = 8, heads = 2, layers = 1,"
      + " batch = 2, ";

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
      "VIT | " + VIT + "patch = {4, 3} | patch = {4, 3} | patch height 4 does not divide height = 10: patches must"
          + " tile the grid; choose a patch height among the divisors of 10 (1, 2, 5, 10)",
      "VIT | " + VIT + "patch = {2, 4} | patch = {2, 4} | patch width 4 does not divide width = 6",
      "VIT | " + VIT + "patch = {2, 3}, context = 5 | context = 5 | context = 5, but a 10x6 grid in 2x3 patches"
          + " makes 10 patches and the class token: 11 positions; remove context (VIT derives it)",
      "VIT | " + VIT + "patch = {} | patch = {} | patch must be one positive value",
      "VIT | " + VIT + "patch = {1, 2, 3} | patch = {1, 2, 3} | patch must be one positive value",
      "VIT | " + VIT + "patch = 2, vocab = 9 | vocab = 9 | vocab = 9 applies to token models",
      "VIT | " + VIT + "patch = 2, typeVocab = 2 | typeVocab = 2 | typeVocab applies to BERT only",
      "BERT | " + BERT + "classes = 1 | classes = 1 | classes = 1: an encoder's classification head needs at least"
          + " 2 classes",
      "BERT | " + BERT + "classes = 2, typeVocab = -1 | typeVocab = -1 | typeVocab = -1 must be 0 (no token types)"
          + " or positive",
      "BERT | " + BERT + "classes = 2, patch = 2 | patch = 2 | patch applies to VIT only",
      "BERT | " + BERT + "classes = 2, kvHeads = 1 | kvHeads = 1 | kvHeads = 1 applies to LLAMA only",
  })
  void invalidEncoderSpecIsAnErrorOnItsValue(String family, String annotation, String line, String message) {
    JavaFileObject source = encoder("    " + annotation, family);
    Compilation compilation = compile(source);
    assertThat(compilation).failed();
    assertThat(compilation).hadErrorContaining(message).inFile(source).onLineContaining(line);
    assertThat(compilation).hadErrorCount(1);
  }

  @Test
  void anEncoderMustExtendItsFamilysInterface() {
    JavaFileObject source = JavaFileObjects.forSourceLines("test.Tiny",
        "package test;",
        "import dev.unroll.Family;",
        "import dev.unroll.Transformer;",
        "@Transformer(family = Family.BERT, vocab = 9, context = 5, dim = 8, heads = 2, layers = 1, batch = 2,",
        "    classes = 2)",
        "public interface Tiny extends dev.unroll.runtime.CausalLm {}");
    Compilation compilation = compile(source);
    assertThat(compilation).hadErrorContaining("Tiny must extend TextEncoder, the interface of BERT models: declare"
        + " `interface Tiny extends dev.unroll.runtime.TextEncoder`").inFile(source).onLineContaining("@Transformer");
    assertThat(compilation).hadErrorCount(1);
  }

  /** An encoder's generated source against its golden file: the BERT room, lengths, types, pooling, OpenCL. */
  @Test
  void tinyEncoderMatchesGoldenFileAndCompilesClean() throws IOException {
    Compilation compilation = compile(encoder("    " + BERT.replace("layers = 1", "layers = 2") + "classes = 3,"
        + " pooling = Pooling.MEAN, normalize = true", "BERT"));
    assertThat(compilation).succeededWithoutWarnings();
    matchesGolden(compilation, "UnrolledTinyBert.java");
  }

  @Test
  void aVitModelCompilesClean() {
    Compilation compilation = compile(encoder("    " + VIT + "patch = {2, 3}", "VIT"));
    assertThat(compilation).succeededWithoutWarnings();
    assertThat(compilation).generatedSourceFile("test.UnrolledTiny").contentsAsUtf8String()
        .contains("k.patches(acts, PATCHES_CUT, pixels, 0, BATCH, CHANNELS, HEIGHT, WIDTH, PATCH_HEIGHT,");
  }

  @Test
  void aLlamaModelCompilesClean() {
    Compilation compilation = compile(model("    family = Family.LLAMA, vocab = 11, context = 5, dim = 8, heads = 2,"
        + " kvHeads = 1, layers = 2, batch = 2, tiedEmbeddings = false"));
    assertThat(compilation).succeededWithoutWarnings();
    assertThat(compilation).generatedSourceFile("test.UnrolledTiny").contentsAsUtf8String()
        .contains("k.attentionForwardGqa(acts, L1_ATTY, acts, L1_PREATT, acts, L1_ATT, acts, L1_QKV, BATCH");
    // bfloat16 decoding reads q, k and v in one job, and the SwiGLU's two up-projections in another
    assertThat(compilation).generatedSourceFile("test.UnrolledTiny").contentsAsUtf8String()
        .contains("DECODE_LAYER1_BF16_GROUP0_OUT = {DEC_Q, DEC_K, DEC_V};");
    assertThat(compilation).generatedSourceFile("test.UnrolledTiny").contentsAsUtf8String()
        .contains("DECODE_LAYER1_BF16_GROUP1_WEIGHTS = {L1_W1, L1_W3};");
  }

  /** What only the OpenCL room holds: none of it may be in a model compiled without it. */
  private static final List<String> OPEN_CL_CODE = List.of("dev.unroll.runtime.opencl", "DeviceModel", "OpenCl.",
      "OpenClSteps", "OPENCL_SOURCE", "__kernel", "cl.", "CL_");

  @Test
  void aModelWithoutOpenClHasNoOpenClCode() throws IOException {
    String source = cleanSource("platforms = dev.unroll.Platform.JAVA");
    for (String code : OPEN_CL_CODE) {
      assertFalse(source.contains(code), "a model without OPENCL has " + code + " in its source");
    }
    assertTrue(source.contains("private static final class CpuSteps implements Steps"), "the Java room is there");
    assertTrue(source.contains("throw new UnsupportedOperationException(\"UnrolledTiny was compiled without"
        + " Platform.OPENCL: add it to @Transformer(platforms = ...) on Tiny to run on Backend.OPENCL\")"), source);
    String full = cleanSource("platforms = {dev.unroll.Platform.JAVA, dev.unroll.Platform.OPENCL}");
    assertTrue(source.lines().count() * 3 < full.lines().count() * 2, "without OPENCL " + source.lines().count()
        + " lines, with it " + full.lines().count());
  }

  @Test
  void aModelWithoutJavaHasNoJavaKernelCalls() throws IOException {
    String source = cleanSource("platforms = dev.unroll.Platform.OPENCL");
    for (String code : List.of("Kernels", "CpuSteps", "packBf16Weight")) {
      assertFalse(source.contains(code), "a model without JAVA has " + code + " in its source");
    }
    assertFalse(Pattern.compile("\\bk\\.").matcher(source).find(), "a model without JAVA calls kernels k.*");
    assertTrue(source.contains("private static final class OpenClSteps implements Steps"), "the OpenCL room");
  }

  @Test
  void anUnknownPlatformIsJavacsErrorAlone() {
    JavaFileObject source = model("    vocab = 9, context = 5, dim = 8, heads = 2, layers = 1, batch = 2,"
        + " platforms = dev.unroll.Platform.CUDA");
    Compilation compilation = compile(source);
    assertThat(compilation).failed();
    assertThat(compilation).hadErrorContaining("an enum annotation value must be an enum constant").inFile(source)
        .onLineContaining("platforms");
    assertThat(compilation).hadErrorCount(1);
  }

  /** The source generated for the golden file's shape with {@code platforms}, which compiles clean. */
  private static String cleanSource(String platforms) throws IOException {
    Compilation compilation = compile(model("    vocab = 11, context = 5, dim = 8, heads = 2, layers = 2, batch = 2, "
        + platforms));
    assertThat(compilation).succeededWithoutWarnings();
    return compilation.generatedSourceFile("test.UnrolledTiny").orElseThrow().getCharContent(true).toString();
  }

  @Test
  void aClassIsNotAModel() {
    JavaFileObject source = JavaFileObjects.forSourceLines("test.Tiny",
        "package test;",
        "import dev.unroll.Transformer;",
        "@Transformer(vocab = 9, context = 5, dim = 8, heads = 2, layers = 1, batch = 2)",
        "public abstract class Tiny implements dev.unroll.runtime.CausalLm {}");
    Compilation compilation = compile(source);
    assertThat(compilation).hadErrorContaining("@Transformer goes on an interface; Tiny is a class").inFile(source)
        .onLineContaining("@Transformer");
  }

  @Test
  void anInterfaceMustExtendCausalLm() {
    JavaFileObject source = JavaFileObjects.forSourceLines("test.Tiny",
        "package test;",
        "import dev.unroll.Transformer;",
        "@Transformer(vocab = 9, context = 5, dim = 8, heads = 2, layers = 1, batch = 2)",
        "public interface Tiny {}");
    Compilation compilation = compile(source);
    assertThat(compilation).hadErrorContaining("Tiny must extend CausalLm").inFile(source)
        .onLineContaining("@Transformer");
  }

  @Test
  void extraAbstractMethodsAreErrorsOnTheMethod() {
    JavaFileObject source = JavaFileObjects.forSourceLines("test.Tiny",
        "package test;",
        "import dev.unroll.Transformer;",
        "@Transformer(vocab = 9, context = 5, dim = 8, heads = 2, layers = 1, batch = 2)",
        "public interface Tiny extends dev.unroll.runtime.CausalLm {",
        "  int extra();",
        "  default int fine() { return 1; }",
        "}");
    Compilation compilation = compile(source);
    assertThat(compilation).hadErrorContaining("extra() would be left unimplemented").inFile(source)
        .onLineContaining("int extra()");
    assertThat(compilation).hadErrorCount(1);
  }

  @Test
  void nestedInterfacesGetJoinedNames() {
    JavaFileObject source = JavaFileObjects.forSourceLines("test.Outer",
        "package test;",
        "import dev.unroll.Transformer;",
        "public class Outer {",
        "  @Transformer(vocab = 9, context = 5, dim = 8, heads = 2, layers = 1, batch = 2)",
        "  public interface Inner extends dev.unroll.runtime.CausalLm {}",
        "}");
    Compilation compilation = compile(source);
    assertThat(compilation).succeededWithoutWarnings();
    assertThat(compilation).generatedSourceFile("test.UnrolledOuter_Inner");
  }
}
