package dev.unroll.runtime.family;

import dev.unroll.runtime.ParamTensor;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/** Lays tensors out one after another in a parameter arena, refusing arenas larger than a Java array. */
public final class ArenaBuilder {

  private final String model;
  private final List<ParamTensor> tensors = new ArrayList<>();
  private long offset;

  /** @param model the model, for the message when it is too large ("a GPT-2 model with ...") */
  public ArenaBuilder(String model) {
    this.model = model;
  }

  /**
   * Appends a tensor at the current end of the arena.
   *
   * @throws IllegalArgumentException when the arena would not fit in a Java array
   */
  public ArenaBuilder add(String name, int... shape) {
    long size = 1;
    for (int d : shape) {
      size *= d;
    }
    long end = offset + size;
    if (size > Integer.MAX_VALUE || end > Integer.MAX_VALUE - 8) {
      throw tooLarge();
    }
    tensors.add(new ParamTensor(name, (int) offset, shape));
    offset = end;
    return this;
  }

  /** The failure for a model with more parameters than a Java array can hold. */
  public IllegalArgumentException tooLarge() {
    return new IllegalArgumentException(model + " has more parameters than a Java array can hold");
  }

  /** The tensors added, in order, unmodifiable. */
  public List<ParamTensor> build() {
    return Collections.unmodifiableList(new ArrayList<>(tensors));
  }
}
