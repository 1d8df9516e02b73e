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
    List<Problem> problems = SpecValidator.validate(spec(Family.ENCODER, 0, -1, 100, 3, 0, 0, 400));
    assertEquals(List.of("family", "vocab", "context", "layers", "batch", "heads"),
        problems.stream().map(Problem::attribute).toList());
    assertEquals("dim = 100 is not divisible by heads = 3: choose heads among the divisors of 100"
        + " (1, 2, 4, 5, 10, 20, 25, 50, ...)", problems.get(5).message());
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
