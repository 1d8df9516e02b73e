package dev.unroll.runtime;

import dev.unroll.runtime.kernel.Kernels;
import dev.unroll.runtime.scalar.ScalarKernels;
import dev.unroll.runtime.simd.SimdKernels;

/** Where a generated model computes. Every backend runs the same plan and is tested against {@link #SCALAR}. */
public enum Backend {
  /** Plain loops over dynamic shapes: the reference, slow and simple on purpose. */
  SCALAR,
  /** The Java Vector API ({@code jdk.incubator.vector}), with the species the CPU prefers. The default. */
  SIMD,
  /**
   * An OpenCL device, through {@code java.lang.foreign}: the model's arenas live on the device and its generated
   * OpenCL C kernels run there. The device is {@link dev.unroll.runtime.opencl.OpenCl#device()}; where OpenCL is
   * missing, making a model on this backend is a {@link dev.unroll.runtime.opencl.ClException}, never a quiet
   * fall back to the CPU.
   */
  OPENCL;

  /**
   * The Java kernels this backend runs.
   *
   * @throws UnsupportedOperationException for {@link #OPENCL}, which runs generated OpenCL kernels instead
   */
  public Kernels kernels() {
    return switch (this) {
      case SCALAR -> ScalarKernels.INSTANCE;
      case SIMD -> SimdKernels.INSTANCE;
      case OPENCL -> throw new UnsupportedOperationException(
          "OPENCL runs the model's generated OpenCL kernels on the device, not Java kernels");
    };
  }
}
