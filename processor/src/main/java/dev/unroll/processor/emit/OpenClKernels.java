package dev.unroll.processor.emit;

import java.util.List;

/**
 * How each kernel of the plan runs on OpenCL: the library functions ({@code uk_<kernel><suffix>} in the runtime's
 * {@code ops.cl}) it takes, in order, and the work sizes of each, from the op's int arguments.
 *
 * <p>Convention shared with {@code ops.cl}: {@code uk_<kernel><suffix>} takes the arguments of the
 * {@code dev.unroll.runtime.Kernels} method of the same name in the same order, each {@code (array, offset)} pair
 * collapsed into one {@code __global} pointer already offset, each int as an int, then, when
 * {@link Phase#localFloats()} is positive, a {@code __local float*} of that many floats.
 */
final class OpenClKernels {
  private OpenClKernels() {}

  /**
   * One enqueue of an op.
   *
   * @param suffix appended to {@code uk_<kernel>} to name the library function ("" for single-phase kernels)
   * @param global work sizes, 1 to 3 dimensions
   * @param local work-group sizes, same dimensions; each divides its global size
   * @param localFloats floats of {@code __local} scratch the function takes, 0 for none
   */
  record Phase(String suffix, long[] global, long[] local, int localFloats) {}

  /**
   * The phases of {@code kernel} for these int arguments (in the Kernels method's order; an int known only at run
   * time, such as the decoded position, is -1 and must not change the work sizes).
   *
   * @throws IllegalArgumentException for a kernel with no OpenCL version
   */
  static List<Phase> phases(String kernel, long[] ints) {
    throw new IllegalArgumentException("no OpenCL version of " + kernel + " yet");
  }
}
