package dev.unroll.processor.plan;

import dev.unroll.processor.parse.ModelSpec;

/**
 * Turns a valid {@link ModelSpec} into a {@link Plan}: lays out the arenas and writes down the kernel calls of
 * forward, backward and decode. Pure arithmetic; assumes {@code SpecValidator} accepted the spec.
 */
public final class Planner {
  /** The classifier's rows are padded to a multiple of this (one 512-bit vector of floats). */
  public static final int VOCAB_ALIGN = 16;

  private Planner() {}

  /** vocab rounded up to {@link #VOCAB_ALIGN}. */
  public static int paddedVocab(int vocab) {
    return (int) Math.min(Integer.MAX_VALUE, ((long) vocab + VOCAB_ALIGN - 1) / VOCAB_ALIGN * VOCAB_ALIGN);
  }

  public static Plan plan(ModelSpec spec) {
    return Families.of(spec.family()).plan(spec);
  }
}
