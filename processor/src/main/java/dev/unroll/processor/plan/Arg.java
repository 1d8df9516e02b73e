package dev.unroll.processor.plan;

/** One argument of a kernel call in the plan. */
public sealed interface Arg {

  /** A tensor, passed as its arena and its offset constant. */
  record TensorRef(Arena arena, Tensor tensor) implements Arg {}

  /**
   * One row of a tensor, chosen at run time: passed as its arena and {@code CONSTANT + index * rowSize}.
   *
   * @param index a Java expression for the row ({@code "token"}, {@code "pos"})
   * @param rowSize a constant expression for the floats per row ({@code "DIM"})
   */
  record Row(Arena arena, Tensor tensor, String index, String rowSize) implements Arg {}

  /**
   * A tensor at a constant offset past its start: passed as its arena and {@code CONSTANT + offset}.
   *
   * @param offset a constant expression ({@code "DIM + KV_DIM"})
   */
  record At(Arena arena, Tensor tensor, String offset) implements Arg {}

  /** No tensor (a matmul without bias): {@code null, 0}. */
  record None() implements Arg {}

  /** An int, as a constant expression over the generated dimension constants ({@code "3 * DIM"}). */
  record Size(String expression, long value) implements Arg {}

  /** The token ids of the current step. */
  record Inputs() implements Arg {}

  /** The next-token ids of the current step. */
  record Targets() implements Arg {}

  /** An encoder's token types (segments), {@code BATCH * CONTEXT} ints: the {@code types} of the step. */
  record Types() implements Arg {}

  /** An encoder's row lengths, {@code BATCH} ints: the {@code lengths} of the step. */
  record Lengths() implements Arg {}

  /** An image encoder's input grids, {@code BATCH * CHANNELS * HEIGHT * WIDTH} floats: the step's {@code pixels}. */
  record Pixels() implements Arg {}

  /**
   * A float constant, printed as a literal.
   *
   * @param value its value (a norm's epsilon)
   */
  record Constant(float value) implements Arg {
    /** The value as a Java and OpenCL C literal ({@code 1.0E-12f}). */
    public String literal() {
      return value + "f";
    }
  }
}
