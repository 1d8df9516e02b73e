package dev.unroll.processor;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.unroll.runtime.Backend;
import dev.unroll.runtime.opencl.ClDevice;
import dev.unroll.runtime.opencl.OpenCl;

/**
 * Tests that run on every backend include {@link Backend#OPENCL}. Where no OpenCL platform is installed, those
 * runs are skipped with the reason, except in CI ({@code CI=true}), where {@code .ci/run} installs PoCL and a
 * missing platform is a failure. (The runtime's tests hold the same rule in {@code OpenClTesting}; test
 * sources are not shared between modules.)
 */
public final class OpenClRule {
  private OpenClRule() {}

  /** The device to test on; skips (or, in CI, fails) the test when there is none. */
  public static ClDevice device() {
    assumeUsable(Backend.OPENCL);
    return OpenCl.device();
  }

  /** Skips (or, in CI, fails) a test on {@code backend} when it is OPENCL and there is no device. */
  public static void assumeUsable(Backend backend) {
    if (backend != Backend.OPENCL || OpenCl.available()) {
      return;
    }
    String why = OpenCl.unavailableReason();
    if ("true".equalsIgnoreCase(System.getenv("CI"))) {
      fail("CI=true but OpenCL is unusable: " + why);
    }
    assumeTrue(false, "skipped, no OpenCL here: " + why);
  }
}
