package dev.unroll.processor.kernel;

/**
 * What a tensor argument of a kernel holds, which decides how the runtime's {@code Kernels} method takes it: a
 * {@code float[]}, {@code short[]} or {@code byte[]} array followed by its offset (an int8 array also by its scales,
 * {@code float[]}, before the offset), or a bare {@code int[]} of token ids.
 */
public enum Element {
  /** float32: the arenas of parameters, gradients, activations, the KV cache and decoding. */
  FLOAT,
  /** bfloat16 bits: the bfloat16 copy of the parameters. */
  SHORT,
  /** int8 with one float scale per group of 32: the int8 copy of the parameters. */
  BYTE,
  /** Token ids: the step's inputs or targets, passed whole. */
  INT
}
