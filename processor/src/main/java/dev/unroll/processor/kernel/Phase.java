package dev.unroll.processor.kernel;

/**
 * One enqueue of a kernel on OpenCL: a library function of the runtime's {@code ops.cl} and its work sizes.
 *
 * @param suffix appended to {@code uk_<kernel>} to name the library function ("" for single-phase kernels)
 * @param global work sizes, 1 to 3 dimensions
 * @param local work-group sizes, same dimensions; each divides its global size
 * @param localFloats floats of {@code __local} scratch the function takes as its last parameter, 0 for none
 */
public record Phase(String suffix, long[] global, long[] local, int localFloats) {}
