package dev.unroll.processor.emit;

import dev.unroll.processor.kernel.Kernel;
import dev.unroll.processor.kernel.OpenClGeometry;
import java.util.List;

/**
 * How each kernel of the plan runs on OpenCL, by the name the emit code holds: the catalogue's
 * {@link Kernel#phases} (which owns the geometry and the conventions shared with {@code ops.cl}), in the form
 * {@link OpenClWriter} reads until it takes the catalogue's phases directly.
 */
final class OpenClKernels {
  private OpenClKernels() {}

  /** Matrix products of at most this many rows (decoding) run as matrix-vector products. */
  static final int VEC_ROWS = OpenClGeometry.VEC_ROWS;

  /**
   * One enqueue of an op: a catalogue {@link dev.unroll.processor.kernel.Phase}.
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
   * @throws IllegalArgumentException for a kernel not in the catalogue or with no OpenCL version, or the wrong
   *     number of ints
   */
  static List<Phase> phases(String kernel, long[] ints) {
    return Kernel.named(kernel).phases(ints).stream()
        .map(p -> new Phase(p.suffix(), p.global(), p.local(), p.localFloats())).toList();
  }
}
