package dev.unroll.processor.plan;

import java.util.List;

/**
 * A tensor at a fixed place in an arena.
 *
 * @param constant name of the generated offset constant ({@code L0_QKVW})
 * @param name Hugging Face name for parameters ({@code h.0.attn.c_attn.weight}); the constant otherwise
 * @param offset first float in the arena
 * @param dims dimensions, as numbers
 * @param dimNames dimensions, as the spec names them ({@code "3*C"})
 */
public record Tensor(String constant, String name, int offset, List<Integer> dims, List<String> dimNames) {

  public Tensor {
    dims = List.copyOf(dims);
    dimNames = List.copyOf(dimNames);
  }

  /** Number of floats. */
  public int size() {
    int n = 1;
    for (int d : dims) {
      n *= d;
    }
    return n;
  }

  /** "(3*C, C) = (144, 48)". */
  public String shapeDoc() {
    String symbolic = "(" + String.join(", ", dimNames) + ")";
    String numeric = "(" + String.join(", ", dims.stream().map(String::valueOf).toList()) + ")";
    return symbolic.equals(numeric) ? symbolic : symbolic + " = " + numeric;
  }
}
