package dev.unroll;

/**
 * Where a generated model's code can run: what {@link Transformer#platforms()} lists. Each platform is one part
 * of the generated class; a model carries only the parts its annotation lists.
 */
public enum Platform {
  /**
   * Java on the CPU: the runtime's {@code Backend.SCALAR} and {@code Backend.SIMD}, which run the same generated
   * kernel calls over Java arrays (SCALAR is the reference every backend is tested against).
   */
  JAVA,
  /**
   * An OpenCL device: the runtime's {@code Backend.OPENCL}, which runs the model's generated OpenCL C on device
   * buffers. Leave it out and the generated class holds no OpenCL source and no reference to the OpenCL binding.
   */
  OPENCL
}
