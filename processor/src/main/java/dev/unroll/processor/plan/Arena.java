package dev.unroll.processor.plan;

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
  BF16("bf16");

  private final String field;

  Arena(String field) {
    this.field = field;
  }

  /** Name of the generated field holding this arena. */
  public String field() {
    return field;
  }
}
