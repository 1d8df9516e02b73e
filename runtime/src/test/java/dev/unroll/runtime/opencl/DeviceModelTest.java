package dev.unroll.runtime.opencl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.management.ThreadMXBean;
import java.lang.management.ManagementFactory;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The binding and DeviceModel on whatever device is here (PoCL in CI). */
class DeviceModelTest {

  private static final String AXPY = """
      __kernel void axpy(__global float* y, int yo, __global const float* x, int xo, float a, int n) {
        int i = get_global_id(0);
        if (i < n) { y[yo + i] += a * x[xo + i]; }
      }
      """;

  @Test
  void listsDevicesAndRunsAKernelOnBuffersAtOffsets() {
    ClDevice device = OpenClTesting.device();
    assertTrue(OpenCl.devices().contains(device));
    try (DeviceModel m = DeviceModel.open(device, "axpy", AXPY, null)) {
      int y = m.floats(40);
      int x = m.floats(40);
      float[] ys = new float[40];
      float[] xs = new float[40];
      for (int i = 0; i < 40; i++) {
        ys[i] = i;
        xs[i] = 2 * i;
      }
      m.write(y, 0, ys, 0, 40);
      m.write(x, 0, xs, 0, 40);
      int k = m.kernel("axpy", new long[] {32}, new long[] {8}, y, 4, x, 8);
      m.setFloat(k, 4, 0.5f);
      m.setInt(k, 5, 30);
      m.run(k);
      float[] out = new float[40];
      m.read(y, 0, out, 0, 40);
      float[] expected = ys.clone();
      for (int i = 0; i < 30; i++) {
        expected[4 + i] += 0.5f * xs[8 + i];
      }
      assertArrayEquals(expected, out);
      assertEquals(expected[7], m.read(y, 7));
      m.zero(y, 10, 5);
      m.read(y, 0, out, 0, 40);
      assertEquals(0f, out[12]);
      assertEquals(expected[15], out[15]);
    }
  }

  /**
   * A driver that compiles with LLVM (PoCL) replaces the JVM's SIGSEGV handler with a one-shot one, which kills
   * the process when two threads fault at once; after a build, a run and a blocking read, the JVM's are back. The
   * kernel's text is new on every run, so that PoCL compiles it rather than taking it from its cache.
   */
  @Test
  void theJvmKeepsItsSignalHandlers() {
    ClDevice device = OpenClTesting.device();
    String fresh = AXPY.replace("+=", "+= " + System.nanoTime() + ".0f * 0.0f +");
    try (DeviceModel m = DeviceModel.open(device, "fresh", fresh, null)) {
      assertTrue(SignalHandlers.intact(), "after the build");
      int y = m.floats(8);
      int k = m.kernel("axpy", new long[] {8}, null, y, 0, y, 0);
      m.setFloat(k, 4, 1f);
      m.setInt(k, 5, 8);
      m.run(k);
      assertEquals(0f, m.read(y, 3));
      assertTrue(SignalHandlers.intact(), "after a run and a read");
    }
  }

  @Test
  void transfersLongerThanTheStagingBufferArriveWhole() {
    ClDevice device = OpenClTesting.device();
    int n = DeviceModel.STAGING_FLOATS * 2 + 37;
    try (DeviceModel m = DeviceModel.open(device, "big", AXPY, null)) {
      int b = m.floats(n);
      float[] src = new float[n];
      for (int i = 0; i < n; i++) {
        src[i] = i * 0.25f;
      }
      m.write(b, 0, src, 0, n);
      float[] back = new float[n];
      m.read(b, 0, back, 0, n);
      assertArrayEquals(src, back);
    }
  }

  @Test
  void aBuildFailureShowsTheLog() {
    ClDevice device = OpenClTesting.device();
    ClException e = assertThrows(ClException.class,
        () -> DeviceModel.open(device, "broken", "__kernel void k(__global float* x) { x[0] = undefined_name; }",
            null));
    assertTrue(e.getMessage().contains("CL_BUILD_PROGRAM_FAILURE"), e.getMessage());
    assertTrue(e.getMessage().contains("undefined_name"), e.getMessage());
  }

  @Test
  void errorsNameTheCallAndTheCode() {
    ClDevice device = OpenClTesting.device();
    try (DeviceModel m = DeviceModel.open(device, "axpy", AXPY, null)) {
      ClException e = assertThrows(ClException.class, () -> m.kernel("nope", new long[] {1}, null));
      assertTrue(e.getMessage().contains("clCreateKernel(nope)"), e.getMessage());
      assertTrue(e.getMessage().contains("CL_INVALID_KERNEL_NAME"), e.getMessage());
      assertEquals(-46, e.code());
      int y = m.floats(4);
      assertThrows(IndexOutOfBoundsException.class, () -> m.read(y, 2, new float[4], 0, 4));
    }
  }

  @Test
  void aClosedModelIsAnExceptionNotACrash() {
    ClDevice device = OpenClTesting.device();
    DeviceModel m = DeviceModel.open(device, "axpy", AXPY, null);
    int y = m.floats(8);
    int k = m.kernel("axpy", new long[] {8}, null, y, 0, y, 0);
    m.close();
    m.close();
    assertThrows(IllegalStateException.class, () -> m.run(k));
    assertThrows(IllegalStateException.class, () -> m.setInt(k, 5, 8));
    assertThrows(IllegalStateException.class, () -> m.read(y, 0, new float[8], 0, 8));
    assertThrows(IllegalStateException.class, () -> m.zero(y, 0, 8));
    assertThrows(IllegalStateException.class, () -> m.floats(4));
  }

  @Test
  void anUnknownDeviceIsAClearErrorListingTheDevices() {
    OpenClTesting.device();
    ClException e = assertThrows(ClException.class, () -> OpenCl.useDevice("no such device 123"));
    assertTrue(e.getMessage().contains("no OpenCL device matches"), e.getMessage());
    assertTrue(e.getMessage().contains(OpenCl.devices().get(0).name()), e.getMessage());
    assertThrows(ClException.class, () -> OpenCl.useDevice("999"));
    OpenCl.useDevice("0");
    assertEquals(OpenCl.devices().get(0), OpenCl.device());
    OpenCl.useDevice(null);
  }

  @Tag("allocation") // warmed by count in a JVM that compiles in the foreground (see the parent POM)
  @Test
  void runningAndTransferringAllocateNothingOnceWarm() {
    ClDevice device = OpenClTesting.device();
    ThreadMXBean mx = (ThreadMXBean) ManagementFactory.getThreadMXBean();
    try (DeviceModel m = DeviceModel.open(device, "axpy", AXPY, null)) {
      int y = m.floats(64);
      int x = m.floats(64);
      int k = m.kernel("axpy", new long[] {64}, null, y, 0, x, 0);
      m.setInt(k, 5, 64);
      float[] host = new float[64];
      long tid = Thread.currentThread().threadId();
      long allocated = Long.MAX_VALUE;
      for (int round = 0; round < 200 && allocated != 0; round++) {
        long before = mx.getThreadAllocatedBytes(tid);
        for (int i = 0; i < 200; i++) {
          m.setFloat(k, 4, 0.001f * i);
          m.run(k);
          m.write(x, 0, host, 0, 64);
          m.read(y, 0, host, 0, 64);
          m.zero(x, 0, 8);
        }
        allocated = mx.getThreadAllocatedBytes(tid) - before;
      }
      assertEquals(0, allocated, "bytes allocated by 200 warm rounds of run, write, read and zero");
    }
  }
}
