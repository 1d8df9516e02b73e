package dev.unroll.processor.emit;

/**
 * One argument of an op as its generated OpenCL wrapper kernel sees it. Pointers arrive as a {@code (__global T*
 * b, int o)} pair and reach the library function as {@code b + o}; sizes are literals, so the library function
 * is specialised for them; the decoded token and position are read from the model's step buffer.
 */
sealed interface ClArg {

  /** A tensor: {@code b + o}. {@code cType} is {@code float}, {@code int} or {@code ushort}. */
  record Ptr(String cType) implements ClArg {}

  /** No tensor (a matmul without bias): the library function receives {@code 0}. */
  record NullPtr() implements ClArg {}

  /** A row chosen at run time: {@code b + o + step[stepIndex] * rowSize}. */
  record RowPtr(String cType, int stepIndex, String rowSize) implements ClArg {}

  /** An int known at compile time: printed as its value. */
  record Const(long value) implements ClArg {}

  /** A float literal ({@code 1.0E-12f}). */
  record FloatConst(String literal) implements ClArg {}

  /** An int known only at run time: {@code step[stepIndex]} (0: the token, 1: the position). */
  record Dyn(int stepIndex) implements ClArg {}
}
