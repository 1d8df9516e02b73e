package dev.unroll.runtime;

import java.util.Arrays;

/**
 * One parameter tensor inside a model's parameter arena. Names are Hugging Face GPT-2's ({@code wte.weight},
 * {@code h.0.attn.c_attn.weight}, ...); shapes are this library's layout: matrices are (out, in) as in llm.c,
 * and {@code wte.weight} has {@code paddedVocab} rows.
 *
 * @param name Hugging Face name
 * @param offset first float in the arena
 * @param shape row-major dimensions
 */
public record ParamTensor(String name, int offset, int[] shape) {

  public ParamTensor {
    shape = shape.clone();
  }

  /** Number of floats. */
  public int size() {
    int n = 1;
    for (int d : shape) {
      n *= d;
    }
    return n;
  }

  @Override
  public int[] shape() {
    return shape.clone();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ParamTensor p && p.name.equals(name) && p.offset == offset && Arrays.equals(p.shape, shape);
  }

  @Override
  public int hashCode() {
    return name.hashCode() * 31 + offset * 7 + Arrays.hashCode(shape);
  }

  @Override
  public String toString() {
    return name + Arrays.toString(shape) + "@" + offset;
  }
}
