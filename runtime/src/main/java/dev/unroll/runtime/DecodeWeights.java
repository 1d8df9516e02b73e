package dev.unroll.runtime;

import dev.unroll.runtime.number.Bf16;
import dev.unroll.runtime.number.Int8;

/**
 * How {@link CausalLm#decode} reads the weights of its matrix products. Decoding reads every weight once per token,
 * so on a CPU its speed is the memory's speed divided by the bytes of the weights: fewer bytes, more tokens. The
 * lower-precision formats are copies made from the float32 parameters when chosen; training always reads float32.
 */
public enum DecodeWeights {
  /** The parameters themselves: 4 bytes per weight. */
  FLOAT32,
  /** A copy rounded to bfloat16 ({@link Bf16}): 2 bytes per weight, 8 significant bits. */
  BFLOAT16,
  /**
   * A copy quantized to int8 ({@link Int8}) with one float scale per 32 weights of a row: 1.125 bytes per weight.
   * Needs every matrix's input width to be a multiple of 32; runs on the SCALAR and SIMD backends.
   */
  INT8
}
