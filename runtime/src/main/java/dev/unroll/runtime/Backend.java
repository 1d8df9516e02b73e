package dev.unroll.runtime;

import dev.unroll.runtime.scalar.ScalarKernels;
import dev.unroll.runtime.simd.SimdKernels;

/** Where a generated model computes. Every backend runs the same plan and is tested against {@link #SCALAR}. */
public enum Backend {
  /** Plain loops over dynamic shapes: the reference, slow and simple on purpose. */
  SCALAR,
  /** The Java Vector API ({@code jdk.incubator.vector}), with the species the CPU prefers. The default. */
  SIMD;

  /** The kernels this backend runs. */
  public Kernels kernels() {
    return switch (this) {
      case SCALAR -> ScalarKernels.INSTANCE;
      case SIMD -> SimdKernels.INSTANCE;
    };
  }
}
