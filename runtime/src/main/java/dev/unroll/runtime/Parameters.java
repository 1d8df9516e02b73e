package dev.unroll.runtime;

import java.util.List;

/**
 * A model's trainable state: the parameter arena, the gradient arena of the same size, and the tensors laid out
 * in them. Optimizers and checkpoint formats work through this view; it shares (does not copy) the model's arrays.
 *
 * @param values parameter arena
 * @param grads gradient arena, same length and layout as {@code values}
 * @param tensors every tensor, in arena order, covering the arena without gaps
 */
public record Parameters(float[] values, float[] grads, List<ParamTensor> tensors) {

  public Parameters {
    if (values.length != grads.length) {
      throw new IllegalArgumentException("values and grads differ in length");
    }
    tensors = List.copyOf(tensors);
  }

  /** The tensor with this name. */
  public ParamTensor tensor(String name) {
    for (ParamTensor t : tensors) {
      if (t.name().equals(name)) {
        return t;
      }
    }
    throw new IllegalArgumentException("no parameter tensor named " + name);
  }

  /** Number of floats in the arena. */
  public int count() {
    return values.length;
  }
}
