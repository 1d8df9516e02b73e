package dev.unroll.runtime;

import java.util.List;

/**
 * A model's trainable state: the parameter arena, the gradient arena of the same size, and the tensors laid out
 * in them. Optimizers and checkpoint formats work through this view; it shares (does not copy) the model's arrays.
 *
 * @param values parameter arena
 * @param grads gradient arena, same length and layout as {@code values}; null for a model made for decoding only,
 *     which has none
 * @param tensors every tensor, in arena order, covering the arena without gaps
 */
public record Parameters(float[] values, float[] grads, List<ParamTensor> tensors) {

  public Parameters {
    if (grads != null && values.length != grads.length) {
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

  /**
   * The gradient arena, or throws: what training needs, with the message a model made for decoding only gives.
   *
   * @param user what needs the gradients, for the message ("AdamW")
   * @throws IllegalArgumentException when there are none
   */
  public float[] requireGrads(String user) {
    if (grads == null) {
      throw new IllegalArgumentException(user + " needs the model's gradients, and this model has none: it was made "
          + "for decoding only (createForDecoding or loadForDecoding); make it with create or load to train it");
    }
    return grads;
  }

  /** Number of floats in the arena. */
  public int count() {
    return values.length;
  }
}
