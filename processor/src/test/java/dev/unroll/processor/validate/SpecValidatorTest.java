package dev.unroll.processor.validate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unroll.Family;
import dev.unroll.Platform;
import dev.unroll.processor.parse.ModelSpec;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class SpecValidatorTest {
  private static ModelSpec spec(Family family, int v, int t, int c, int nh, int l, int b, int h) {
    return new ModelSpec("p", "M", "UnrolledM", family, v, t, c, nh, l, b, h, nh, true);
  }

  @Test
  void aValidSpecHasNoProblems() {
    assertEquals(List.of(), SpecValidator.validate(spec(Family.GPT2, 65, 64, 128, 4, 4, 12, 512)));
  }

  @Test
  void everyProblemIsReportedOnItsAttribute() {
    List<Problem> problems = SpecValidator.validate(spec(Family.GPT2, 0, -1, 100, 3, 0, 0, 400));
    assertEquals(List.of("vocab", "context", "layers", "batch", "heads"),
        problems.stream().map(Problem::attribute).toList());
    assertEquals("dim = 100 is not divisible by heads = 3: choose heads among the divisors of 100"
        + " (1, 2, 4, 5, 10, 20, 25, 50, ...)", problems.get(4).message());
  }

  @Test
  void encoderSpecsAreCheckedForTheirHeadAndGrid() {
    ModelSpec.Encoding digits = ModelSpec.Encoding.vit(10, false, false, 1, 8, 8, 2, 2);
    ModelSpec vit = ModelSpec.vit("D", 64, 4, 2, 32, digits);
    assertEquals(17, vit.context(), "16 patches and the class token");
    assertEquals(List.of(), SpecValidator.validate(vit));
    assertEquals(List.of(), SpecValidator.validate(ModelSpec.bert("B", 30522, 512, 768, 12, 12, 8,
        ModelSpec.Encoding.bert(2, false, false, 2))));
    List<Problem> problems = SpecValidator.validate(ModelSpec.vit("D", 64, 4, 2, 32,
        ModelSpec.Encoding.vit(1, false, false, 0, 8, 9, 2, 2)));
    assertEquals(List.of("channels", "patch", "classes"), problems.stream().map(Problem::attribute).toList());
    assertTrue(problems.get(1).message().startsWith("patch width 2 does not divide width = 9"),
        problems.get(1).message());
    problems = SpecValidator.validate(ModelSpec.bert("B", 9, 5, 8, 2, 1, 2, ModelSpec.Encoding.bert(0, true, true,
        -1)));
    assertEquals(List.of("classes", "typeVocab"), problems.stream().map(Problem::attribute).toList());
  }

  @Test
  void llamaSpecsAreCheckedForGroupedQueryAttentionAndRope() {
    assertEquals(List.of(), SpecValidator.validate(ModelSpec.llama("S", 32000, 256, 288, 6, 6, 6, 1, true)));
    assertEquals(768, ModelSpec.llama("S", 32000, 256, 288, 6, 6, 6, 1, true).hidden());
    assertEquals(2048, ModelSpec.llama("S", 32000, 1024, 768, 12, 12, 12, 1, true).hidden());
    assertEquals(List.of("kvHeads"), SpecValidator.validate(ModelSpec.llama("S", 9, 8, 48, 6, 4, 1, 1, true))
        .stream().map(Problem::attribute).toList());
    assertEquals(List.of("heads"), SpecValidator.validate(ModelSpec.llama("S", 9, 8, 18, 6, 6, 1, 1, true))
        .stream().map(Problem::attribute).toList());
  }

  @Test
  void aModelMustRunOnSomePlatform() {
    ModelSpec valid = spec(Family.GPT2, 65, 64, 128, 4, 4, 12, 512);
    assertEquals(Set.of(Platform.JAVA, Platform.OPENCL), valid.platforms(), "every platform by default");
    assertEquals(List.of(), SpecValidator.validate(valid.withPlatforms(Set.of(Platform.JAVA))));
    assertEquals(List.of(), SpecValidator.validate(valid.withPlatforms(Set.of(Platform.OPENCL))));
    List<Problem> problems = SpecValidator.validate(valid.withPlatforms(Set.of()));
    assertEquals(List.of("platforms"), problems.stream().map(Problem::attribute).toList());
    assertTrue(problems.get(0).message().contains("list Platform.JAVA (the SCALAR and SIMD backends),"
        + " Platform.OPENCL, or both"), problems.get(0).message());
  }

  @Test
  void arenasThatOverflowIntIndexingAreRejected() {
    List<Problem> problems = SpecValidator.validate(spec(Family.GPT2, 50257, 4096, 768, 12, 12, 64, 3072));
    assertEquals(1, problems.size());
    assertEquals("batch", problems.get(0).attribute());
    assertTrue(problems.get(0).message().contains("lower batch or context"));
    problems = SpecValidator.validate(spec(Family.GPT2, 50257, 64, 65536, 1, 2, 1, 4 * 65536));
    assertEquals("dim", problems.get(0).attribute());
    // Two billion layers are measured as one layer times their number, not laid out.
    problems = SpecValidator.validate(spec(Family.GPT2, 50257, 64, 768, 12, Integer.MAX_VALUE, 1, 3072));
    assertEquals(List.of("dim", "batch"), problems.stream().map(Problem::attribute).toList());
    assertTrue(problems.get(0).message().startsWith("the parameter arena would hold 15221089250688768 floats"));
  }
}
