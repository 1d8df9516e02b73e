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
 * @param tiedClassifier whether the classifier is the token embedding (always for GPT2; an encoder keeps the
 *     annotation's default, true, and classifies with a head of its own)
 * @param platforms where the generated class can run (the annotation's {@code platforms}; the validator refuses
 *     an empty set)
 * @param encoding what an encoder (BERT, VIT) adds: its head, pooling and input grid; {@code null} for a decoder
 */
public record ModelSpec(String packageName, String interfaceName, String generatedName, Family family, int vocab,
    int context, int dim, int heads, int layers, int batch, int hidden, int kvHeads, boolean tiedClassifier,
    Set<Platform> platforms, Encoding encoding) {

  /**
   * An encoder's own values.
   *
   * @param classes the classification head's classes
   * @param meanPooling whether {@code embed} averages a row's positions (else takes the first)
   * @param normalize whether {@code embed} scales each vector to unit length
   * @param typeVocab BERT: token types of the token-type embedding, 0 for none
   * @param channels VIT: channels of the input grid
   * @param height VIT: rows of the input grid
   * @param width VIT: columns of the input grid
   * @param patchHeight VIT: rows of a patch
   * @param patchWidth VIT: columns of a patch
   */
  public record Encoding(int classes, boolean meanPooling, boolean normalize, int typeVocab, int channels,
      int height, int width, int patchHeight, int patchWidth) {

    /** VIT: patches of the grid, or 0 where a patch does not tile it (the validator refuses such specs). */
    public int patches() {
      if (patchHeight <= 0 || patchWidth <= 0 || height % patchHeight != 0 || width % patchWidth != 0) {
        return 0;
      }
      return (int) Math.min(Integer.MAX_VALUE, (long) (height / patchHeight) * (width / patchWidth));
    }

    /** VIT: floats of one patch, {@code channels * patchHeight * patchWidth}. */
    public int patchSize() {
      return (int) Math.min(Integer.MAX_VALUE, (long) channels * patchHeight * patchWidth);
    }

    /** VIT: floats of one input grid, {@code channels * height * width}. */
    public long pixels() {
      return (long) channels * height * width;
    }

    /** A BERT encoding. */
    public static Encoding bert(int classes, boolean meanPooling, boolean normalize, int typeVocab) {
      return new Encoding(classes, meanPooling, normalize, typeVocab, 0, 0, 0, 0, 0);
    }

    /** A VIT encoding. */
    public static Encoding vit(int classes, boolean meanPooling, boolean normalize, int channels, int height,
        int width, int patchHeight, int patchWidth) {
      return new Encoding(classes, meanPooling, normalize, 0, channels, height, width, patchHeight, patchWidth);
    }
  }

  public ModelSpec {
    EnumSet<Platform> copy = EnumSet.noneOf(Platform.class);
    copy.addAll(platforms);
    platforms = Collections.unmodifiableSet(copy); // in declaration order, so that output is deterministic
  }

  /** A decoder's spec. */
  public ModelSpec(String packageName, String interfaceName, String generatedName, Family family, int vocab,
      int context, int dim, int heads, int layers, int batch, int hidden, int kvHeads, boolean tiedClassifier,
      Set<Platform> platforms) {
    this(packageName, interfaceName, generatedName, family, vocab, context, dim, heads, layers, batch, hidden,
        kvHeads, tiedClassifier, platforms, null);
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
        hidden, kvHeads, tiedClassifier, platforms, encoding);
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
  /** The spec of a BERT model with the default MLP width, for tests and tools. */
  public static ModelSpec bert(String name, int vocab, int context, int dim, int heads, int layers, int batch,
      Encoding encoding) {
    return new ModelSpec("test", name, "Unrolled" + name, Family.BERT, vocab, context, dim, heads, layers, batch,
        defaultHidden(Family.BERT, dim), heads, true, EnumSet.allOf(Platform.class), encoding);
  }

  /** The spec of a ViT model with the default MLP width, for tests and tools: the context is the patches + 1. */
  public static ModelSpec vit(String name, int dim, int heads, int layers, int batch, Encoding encoding) {
    return new ModelSpec("test", name, "Unrolled" + name, Family.VIT, 0, encoding.patches() + 1, dim, heads, layers,
        batch, defaultHidden(Family.VIT, dim), heads, true, EnumSet.allOf(Platform.class), encoding);
  }

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
    return switch (family) {
      case LLAMA -> base + " kvHeads=" + kvHeads + " tiedEmbeddings=" + tiedClassifier;
      case BERT -> base + " typeVocab=" + encoding.typeVocab() + heads(encoding);
      case VIT -> "family=VIT image=" + encoding.channels() + "x" + encoding.height() + "x" + encoding.width()
          + " patch=" + encoding.patchHeight() + "x" + encoding.patchWidth() + " context=" + context + " dim=" + dim
          + " heads=" + heads + " layers=" + layers + " batch=" + batch + " hidden=" + hidden + heads(encoding);
      case GPT2 -> base;
    };
  }

  private static String heads(Encoding e) {
    return " classes=" + e.classes() + " pooling=" + (e.meanPooling() ? "MEAN" : "FIRST")
        + (e.normalize() ? " normalize=true" : "");
  }

  /** The encoder's values. @throws IllegalStateException for a decoder */
  public Encoding encoder() {
    if (encoding == null) {
      throw new IllegalStateException(family + " is a decoder: it has no encoding");
    }
    return encoding;
  }
}
