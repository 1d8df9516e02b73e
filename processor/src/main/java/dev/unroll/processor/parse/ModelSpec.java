package dev.unroll.processor.parse;

import dev.unroll.Family;
import dev.unroll.Platform;
import java.util.Collections;
import java.util.EnumSet;
import java.util.Set;

/**
 * What a {@code @Transformer} annotation says, with defaults resolved. Plain data: no javac types, so the
 * validator and the planner are tested without a compiler.
 *
 * @param packageName package of the annotated interface (and of the generated class)
 * @param interfaceName simple name of the interface; nested interfaces join their enclosing names with '.'
 * @param generatedName simple name of the generated class, {@code Unrolled<Name>}
 * @param family architecture
 * @param vocab distinct tokens
 * @param context maximum sequence length
 * @param dim residual width
 * @param heads attention heads
 * @param layers blocks
 * @param batch rows per step
 * @param hidden MLP width (the family's default unless given)
 * @param kvHeads key/value heads (LLAMA; equal to heads otherwise)
 * @param tiedClassifier whether the classifier is the token embedding (always for GPT2)
 * @param platforms where the generated class can run (the annotation's {@code platforms}; the validator refuses
 *     an empty set)
 */
public record ModelSpec(String packageName, String interfaceName, String generatedName, Family family, int vocab,
    int context, int dim, int heads, int layers, int batch, int hidden, int kvHeads, boolean tiedClassifier,
    Set<Platform> platforms) {

  public ModelSpec {
    EnumSet<Platform> copy = EnumSet.noneOf(Platform.class);
    copy.addAll(platforms);
    platforms = Collections.unmodifiableSet(copy); // in declaration order, so that output is deterministic
  }

  /** A spec that runs on every platform, the annotation's default. */
  public ModelSpec(String packageName, String interfaceName, String generatedName, Family family, int vocab,
      int context, int dim, int heads, int layers, int batch, int hidden, int kvHeads, boolean tiedClassifier) {
    this(packageName, interfaceName, generatedName, family, vocab, context, dim, heads, layers, batch, hidden,
        kvHeads, tiedClassifier, EnumSet.allOf(Platform.class));
  }

  /** This spec, compiled for {@code platforms} only. */
  public ModelSpec withPlatforms(Set<Platform> platforms) {
    return new ModelSpec(packageName, interfaceName, generatedName, family, vocab, context, dim, heads, layers, batch,
        hidden, kvHeads, tiedClassifier, platforms);
  }

  /** Whether the generated class carries the code of {@code platform}. */
  public boolean runsOn(Platform platform) {
    return platforms.contains(platform);
  }

  /** The spec of a GPT-2 model with the default MLP width, for tests and tools. */
  public static ModelSpec gpt2(String name, int vocab, int context, int dim, int heads, int layers, int batch) {
    return new ModelSpec("test", name, "Unrolled" + name, Family.GPT2, vocab, context, dim, heads, layers, batch,
        defaultHidden(Family.GPT2, dim), heads, true);
  }

  /** The spec of a Llama model with the default MLP width, for tests and tools. */
  public static ModelSpec llama(String name, int vocab, int context, int dim, int heads, int kvHeads, int layers,
      int batch, boolean tied) {
    return new ModelSpec("test", name, "Unrolled" + name, Family.LLAMA, vocab, context, dim, heads, layers, batch,
        defaultHidden(Family.LLAMA, dim), kvHeads, tied);
  }

  /**
   * The family's MLP width: 4·dim for GPT2; 8·dim/3 rounded up to a multiple of 32 for LLAMA. Saturated, so that
   * an absurd dim reaches the validator instead of wrapping around.
   */
  public static int defaultHidden(Family family, int dim) {
    long hidden = family == Family.LLAMA ? (8L * dim / 3 + 31) / 32 * 32 : 4L * dim;
    return (int) Math.max(Integer.MIN_VALUE, Math.min(Integer.MAX_VALUE, hidden));
  }

  /** dim / heads. */
  public int headSize() {
    return dim / heads;
  }

  /** One line for messages and Javadoc. */
  public String describe() {
    String base = "family=" + family + " vocab=" + vocab + " context=" + context + " dim=" + dim + " heads=" + heads
        + " layers=" + layers + " batch=" + batch + " hidden=" + hidden;
    return family == Family.LLAMA ? base + " kvHeads=" + kvHeads + " tiedEmbeddings=" + tiedClassifier : base;
  }
}
