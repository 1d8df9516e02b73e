package dev.unroll.processor.emit;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.unroll.runtime.opencl.ClDevice;
import dev.unroll.runtime.opencl.OpenCl;

/**
 * The runtime's rule for tests that need an OpenCL device ({@code dev.unroll.runtime.opencl.OpenClTesting}, which
 * lives in the runtime's test sources and so is not on this module's test class path), repeated: outside CI, with
 * no platform, they are skipped with the reason; in CI ({@code CI=true}), where PoCL is installed, a missing
 * platform fails them.
 */
final class ClTesting {
  private ClTesting() {}

  /** The device to test on; skips or fails (see above) when there is none. */
  static ClDevice device() {
    if (!OpenCl.available()) {
      String why = OpenCl.unavailableReason();
      if ("true".equalsIgnoreCase(System.getenv("CI"))) {
        fail("CI=true but OpenCL is unusable: " + why);
      }
      assumeTrue(false, "skipped, no OpenCL here: " + why);
    }
    return OpenCl.device();
  }
}
