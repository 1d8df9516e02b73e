package dev.unroll.processor.parse;

import dev.unroll.Family;

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
 * @param hidden MLP width (4·dim unless given)
 */
public record ModelSpec(String packageName, String interfaceName, String generatedName, Family family, int vocab,
    int context, int dim, int heads, int layers, int batch, int hidden) {

  /** The spec of a GPT-2 model with the default MLP width, for tests and tools. */
  public static ModelSpec gpt2(String name, int vocab, int context, int dim, int heads, int layers, int batch) {
    return new ModelSpec("test", name, "Unrolled" + name, Family.GPT2, vocab, context, dim, heads, layers, batch,
        defaultHidden(dim));
  }

  /** 4·dim, saturated so that an absurd dim reaches the validator instead of wrapping around. */
  public static int defaultHidden(int dim) {
    return (int) Math.max(Integer.MIN_VALUE, Math.min(Integer.MAX_VALUE, 4L * dim));
  }

  /** One line for messages and Javadoc. */
  public String describe() {
    return "family=" + family + " vocab=" + vocab + " context=" + context + " dim=" + dim + " heads=" + heads
        + " layers=" + layers + " batch=" + batch + " hidden=" + hidden;
  }
}
