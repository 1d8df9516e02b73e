package dev.unroll.runtime.opencl;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The rule for tests that need an OpenCL device: outside CI, with no platform, they are skipped with the reason;
 * in CI ({@code CI=true}), where {@code .ci/run} installs PoCL, a missing platform fails them.
 */
public final class OpenClTesting {
  private OpenClTesting() {}

  /** The device to test on; skips or fails (see above) when there is none. */
  public static ClDevice device() {
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
