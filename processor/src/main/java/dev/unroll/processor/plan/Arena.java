package dev.unroll.processor.plan;

import dev.unroll.processor.kernel.Element;

/** The flat float arenas of a generated model. Gradients mirror the layout of what they are gradients of. */
public enum Arena {
  PARAMS("params"),
  GRADS("grads"),
  ACTS("acts"),
  DACTS("dacts"),
  /** Keys and values of every position decoded so far, per layer. */
  KV("kv"),
  /** Activations of the one position being decoded. */
  DEC("dec"),
  /** A bfloat16 copy of PARAMS, same layout, that decoding can read instead (half the bytes). */
  BF16("bf16"),
  /**
   * An int8 copy of PARAMS, same layout, with one float scale per 32 weights in a second array: a quarter of the
   * bytes. Passed to a kernel as both arrays before the offset.
   */
  INT8("int8", "int8, int8Scales");

  private final String field;
  private final String arrays;

  Arena(String field) {
    this(field, field);
  }

  Arena(String field, String arrays) {
    this.field = field;
    this.arrays = arrays;
  }

  /** What a kernel call passes before a tensor's offset: the arena's array (INT8: its bytes and its scales). */
  public String arrays() {
    return arrays;
  }

  /** Name of the generated field holding this arena. */
  public String field() {
    return field;
  }

  /** What the arena's elements are: what a kernel's tensor argument in it must hold. */
  public Element element() {
    return switch (this) {
      case BF16 -> Element.SHORT;
      case INT8 -> Element.BYTE;
      default -> Element.FLOAT;
    };
  }
}
