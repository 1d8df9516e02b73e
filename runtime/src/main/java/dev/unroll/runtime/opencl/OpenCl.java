package dev.unroll.runtime.opencl;

import static dev.unroll.runtime.opencl.Cl.Lib;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * OpenCL platforms and devices, and which device {@code Backend.OPENCL} models use.
 *
 * <p>The device is chosen, in this order, by {@link #useDevice(String)}, the system property
 * {@value #PROPERTY}, the environment variable {@value #ENVIRONMENT}, or else it is the first GPU, or the first
 * device when there is no GPU. A choice is a device index as {@link #devices()} numbers them ({@code 1}) or a
 * case-insensitive part of "platform / device name" ({@code nvidia}, {@code pocl}). Asking for OpenCL where there
 * is no platform, or for a device that does not exist, is a {@link ClException} saying so; it never falls back
 * to the CPU backends.
 *
 * <pre>{@code
 * OpenCl.devices().forEach(d -> System.out.println(d.describe()));
 * OpenCl.useDevice("nvidia");
 * MyModel model = UnrolledMyModel.create(Backend.OPENCL, 1);
 * }</pre>
 */
public final class OpenCl {
  private OpenCl() {}

  /** System property naming the device: an index or part of its name. */
  public static final String PROPERTY = "unroll.opencl.device";

  /** Environment variable naming the device, read when the property is not set. */
  public static final String ENVIRONMENT = "UNROLL_OPENCL_DEVICE";

  private static volatile String choice;
  private static List<ClDevice> devices;

  /**
   * Every device of every platform, in platform order.
   *
   * @throws ClException when libOpenCL is missing or no platform is installed
   */
  public static synchronized List<ClDevice> devices() {
    if (devices == null) {
      try {
        devices = List.copyOf(list());
      } finally {
        SignalHandlers.restore(); // loading a driver may have replaced the JVM's signal handlers
      }
    }
    return devices;
  }

  /** Whether OpenCL has at least one device here; never throws. */
  public static boolean available() {
    try {
      return !devices().isEmpty();
    } catch (ClException e) {
      return false;
    }
  }

  /** Why {@link #available()} is false ("" when it is true). */
  public static String unavailableReason() {
    try {
      return devices().isEmpty() ? "OpenCL has platforms but no devices" : "";
    } catch (ClException e) {
      return e.getMessage();
    }
  }

  /**
   * Chooses the device that models created from now on use: an index from {@link #devices()} or part of
   * "platform / device name"; {@code null} goes back to the default.
   *
   * @throws ClException when nothing matches (the message lists the devices)
   */
  public static void useDevice(String indexOrName) {
    if (indexOrName != null) {
      match(indexOrName, "useDevice");
    }
    choice = indexOrName;
  }

  /** The device models use now (see the class comment for how it is chosen). */
  public static ClDevice device() {
    String c = choice;
    String from = "useDevice";
    if (c == null) {
      c = System.getProperty(PROPERTY);
      from = "-D" + PROPERTY;
    }
    if (c == null || c.isBlank()) {
      c = System.getenv(ENVIRONMENT);
      from = ENVIRONMENT;
    }
    if (c != null && !c.isBlank()) {
      return match(c.trim(), from);
    }
    List<ClDevice> all = devices();
    if (all.isEmpty()) {
      throw new ClException("OpenCL has platforms but no devices");
    }
    for (ClDevice d : all) {
      if (d.type().equals("GPU")) {
        return d;
      }
    }
    return all.get(0);
  }

  private static ClDevice match(String c, String from) {
    List<ClDevice> all = devices();
    if (c.chars().allMatch(Character::isDigit)) {
      int i = Integer.parseInt(c);
      if (i < all.size()) {
        return all.get(i);
      }
    } else {
      String needle = c.toLowerCase(Locale.ROOT);
      for (ClDevice d : all) {
        if ((d.platform() + " / " + d.name()).toLowerCase(Locale.ROOT).contains(needle)) {
          return d;
        }
      }
    }
    StringBuilder sb = new StringBuilder("no OpenCL device matches '" + c + "' (from " + from + "); devices:");
    for (ClDevice d : all) {
      sb.append("\n  ").append(d.describe());
    }
    throw new ClException(sb.toString());
  }

  private static List<ClDevice> list() {
    Cl.requireLibrary();
    List<ClDevice> out = new ArrayList<>();
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment count = arena.allocate(JAVA_INT);
      int rc = (int) Lib.clGetPlatformIDs.invokeExact(0, MemorySegment.NULL, count);
      if (rc == Cl.CL_PLATFORM_NOT_FOUND_KHR || rc == Cl.CL_SUCCESS && count.get(JAVA_INT, 0) == 0) {
        throw new ClException("OpenCL is not available: the ICD loader found no platform (no driver is "
            + "installed: on Debian 'apt-get install pocl-opencl-icd' for the CPU, or a GPU vendor's driver)");
      }
      Cl.check("clGetPlatformIDs", rc);
      int n = count.get(JAVA_INT, 0);
      MemorySegment platforms = arena.allocate(ADDRESS, n);
      Cl.check("clGetPlatformIDs", (int) Lib.clGetPlatformIDs.invokeExact(n, platforms, count));
      for (int p = 0; p < n; p++) {
        MemorySegment platform = platforms.getAtIndex(ADDRESS, p);
        String platformName = platformString(arena, platform, Cl.CL_PLATFORM_NAME);
        rc = (int) Lib.clGetDeviceIDs.invokeExact(platform, Cl.CL_DEVICE_TYPE_ALL, 0, MemorySegment.NULL, count);
        if (rc == -1) { // CL_DEVICE_NOT_FOUND: a platform without devices
          continue;
        }
        Cl.check("clGetDeviceIDs", rc);
        int nd = count.get(JAVA_INT, 0);
        MemorySegment ids = arena.allocate(ADDRESS, nd);
        Cl.check("clGetDeviceIDs", (int) Lib.clGetDeviceIDs.invokeExact(platform, Cl.CL_DEVICE_TYPE_ALL, nd, ids,
            MemorySegment.NULL));
        for (int d = 0; d < nd; d++) {
          MemorySegment id = ids.getAtIndex(ADDRESS, d);
          long type = deviceLong(arena, id, Cl.CL_DEVICE_TYPE);
          String typeName = (type & Cl.CL_DEVICE_TYPE_GPU) != 0 ? "GPU"
              : (type & Cl.CL_DEVICE_TYPE_CPU) != 0 ? "CPU"
              : (type & Cl.CL_DEVICE_TYPE_ACCELERATOR) != 0 ? "ACCELERATOR" : "OTHER";
          out.add(new ClDevice(out.size(), platformName, deviceString(arena, id, Cl.CL_DEVICE_NAME),
              deviceString(arena, id, Cl.CL_DEVICE_VENDOR), deviceString(arena, id, Cl.CL_DEVICE_VERSION),
              typeName, deviceInt(arena, id, Cl.CL_DEVICE_MAX_COMPUTE_UNITS),
              deviceLong(arena, id, Cl.CL_DEVICE_GLOBAL_MEM_SIZE), deviceLong(arena, id,
                  Cl.CL_DEVICE_MAX_MEM_ALLOC_SIZE), deviceLong(arena, id, Cl.CL_DEVICE_MAX_WORK_GROUP_SIZE),
              deviceLong(arena, id, Cl.CL_DEVICE_LOCAL_MEM_SIZE), platform, id));
        }
      }
    } catch (ClException e) {
      throw e;
    } catch (Throwable t) {
      throw new ClException("OpenCL is not available: " + t);
    }
    return out;
  }

  private static String platformString(Arena arena, MemorySegment platform, int param) throws Throwable {
    return infoString(arena, "clGetPlatformInfo", Lib.clGetPlatformInfo, platform, param);
  }

  private static String deviceString(Arena arena, MemorySegment device, int param) throws Throwable {
    return infoString(arena, "clGetDeviceInfo", Lib.clGetDeviceInfo, device, param);
  }

  /**
   * A string property by {@code get}, clGetPlatformInfo or clGetDeviceInfo (the same signature): its size first,
   * then its bytes.
   */
  private static String infoString(Arena arena, String name, MethodHandle get, MemorySegment of, int param)
      throws Throwable {
    MemorySegment size = arena.allocate(JAVA_LONG);
    Cl.check(name, (int) get.invokeExact(of, param, 0L, MemorySegment.NULL, size));
    MemorySegment buf = arena.allocate(size.get(JAVA_LONG, 0) + 1);
    Cl.check(name, (int) get.invokeExact(of, param, buf.byteSize(), buf, MemorySegment.NULL));
    return buf.getString(0).trim();
  }

  private static long deviceLong(Arena arena, MemorySegment device, int param) throws Throwable {
    MemorySegment v = arena.allocate(JAVA_LONG);
    Cl.check("clGetDeviceInfo", (int) Lib.clGetDeviceInfo.invokeExact(device, param, 8L, v, MemorySegment.NULL));
    return v.get(JAVA_LONG, 0);
  }

  private static int deviceInt(Arena arena, MemorySegment device, int param) throws Throwable {
    MemorySegment v = arena.allocate(JAVA_INT);
    Cl.check("clGetDeviceInfo", (int) Lib.clGetDeviceInfo.invokeExact(device, param, 4L, v, MemorySegment.NULL));
    return v.get(JAVA_INT, 0);
  }

  /** Prints the devices, one per line, and which one models would use: {@code java ... OpenCl}. */
  public static void main(String[] args) {
    if (!available()) {
      System.out.println(unavailableReason());
      return;
    }
    for (ClDevice d : devices()) {
      System.out.println(d.describe());
    }
    System.out.println("models use: " + device().describe());
  }
}
