package dev.unroll.runtime.opencl;

import java.lang.foreign.MemorySegment;

/**
 * One OpenCL device, as {@link OpenCl#devices()} lists it.
 *
 * @param index position in the list of every device of every platform, the number {@link OpenCl#useDevice}
 *     accepts
 * @param platform the platform's name ({@code Portable Computing Language}, {@code NVIDIA CUDA})
 * @param name the device's name
 * @param vendor the device's vendor
 * @param version the device's OpenCL version string
 * @param type {@code CPU}, {@code GPU}, {@code ACCELERATOR} or {@code OTHER}
 * @param computeUnits parallel compute units
 * @param globalMemoryBytes global memory size
 * @param maxAllocationBytes the largest single buffer the device allows
 * @param maxWorkGroupSize the most work-items in one work-group
 * @param localMemoryBytes local memory per work-group
 */
public record ClDevice(int index, String platform, String name, String vendor, String version, String type,
    int computeUnits, long globalMemoryBytes, long maxAllocationBytes, long maxWorkGroupSize, long localMemoryBytes,
    MemorySegment platformId, MemorySegment deviceId) {

  /** One line: index, platform, name, type and memory. */
  public String describe() {
    return String.format("#%d %s / %s (%s, %d compute units, %.1f GiB, %s)", index, platform, name, type,
        computeUnits, globalMemoryBytes / (double) (1L << 30), version);
  }

  @Override
  public String toString() {
    return describe();
  }
}
