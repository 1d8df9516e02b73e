package dev.unroll.runtime.opencl;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.util.List;

/**
 * The entry points of libOpenCL that Unroll uses, bound with {@code java.lang.foreign}: no JNI, no native library
 * of ours. The ICD loader is looked up by its runtime name first ({@code libOpenCL.so.1}), then by its development
 * name. Calls through these handles allocate nothing once compiled; callers pass segments they allocated once.
 *
 * <p>Types: {@code cl_uint} and {@code cl_int} are {@code int}; {@code size_t}, {@code cl_ulong} and bitfields
 * are {@code long} (64-bit hosts only); handles and pointers are {@link MemorySegment}.
 */
final class Cl {
  private Cl() {}

  static final int CL_SUCCESS = 0;
  static final int CL_PLATFORM_NOT_FOUND_KHR = -1001;

  static final int CL_PLATFORM_VERSION = 0x0901;
  static final int CL_PLATFORM_NAME = 0x0902;
  static final int CL_PLATFORM_VENDOR = 0x0903;

  static final long CL_DEVICE_TYPE_ALL = 0xFFFFFFFFL;
  static final long CL_DEVICE_TYPE_CPU = 1L << 1;
  static final long CL_DEVICE_TYPE_GPU = 1L << 2;
  static final long CL_DEVICE_TYPE_ACCELERATOR = 1L << 3;
  static final int CL_DEVICE_TYPE = 0x1000;
  static final int CL_DEVICE_MAX_COMPUTE_UNITS = 0x1002;
  static final int CL_DEVICE_MAX_WORK_GROUP_SIZE = 0x1004;
  static final int CL_DEVICE_MAX_MEM_ALLOC_SIZE = 0x1010;
  static final int CL_DEVICE_GLOBAL_MEM_SIZE = 0x101F;
  static final int CL_DEVICE_LOCAL_MEM_SIZE = 0x1023;
  static final int CL_DEVICE_NAME = 0x102B;
  static final int CL_DEVICE_VENDOR = 0x102C;
  static final int CL_DEVICE_VERSION = 0x102F;

  static final int CL_PROGRAM_BUILD_LOG = 0x1183;
  static final long CL_MEM_READ_WRITE = 1L;
  static final int CL_TRUE = 1;
  static final int CL_FALSE = 0;

  /** The bound entry points, or why there are none; resolved once, on first use. */
  static final class Lib {
    static final String PROBLEM;
    static final MethodHandle clGetPlatformIDs;
    static final MethodHandle clGetPlatformInfo;
    static final MethodHandle clGetDeviceIDs;
    static final MethodHandle clGetDeviceInfo;
    static final MethodHandle clCreateContext;
    static final MethodHandle clCreateCommandQueue;
    static final MethodHandle clCreateBuffer;
    static final MethodHandle clCreateProgramWithSource;
    static final MethodHandle clBuildProgram;
    static final MethodHandle clGetProgramBuildInfo;
    static final MethodHandle clCreateKernel;
    static final MethodHandle clSetKernelArg;
    static final MethodHandle clEnqueueNDRangeKernel;
    static final MethodHandle clEnqueueReadBuffer;
    static final MethodHandle clEnqueueWriteBuffer;
    static final MethodHandle clEnqueueFillBuffer;
    static final MethodHandle clFinish;
    static final MethodHandle clReleaseMemObject;
    static final MethodHandle clReleaseKernel;
    static final MethodHandle clReleaseProgram;
    static final MethodHandle clReleaseCommandQueue;
    static final MethodHandle clReleaseContext;

    static {
      SignalHandlers.remember(); // the JVM's, before any driver can replace them
      SymbolLookup lookup = null;
      String problem = null;
      for (String name : List.of("libOpenCL.so.1", "libOpenCL.so", "OpenCL.dll",
          "/System/Library/Frameworks/OpenCL.framework/OpenCL")) {
        try {
          lookup = SymbolLookup.libraryLookup(name, Arena.global());
          break;
        } catch (IllegalArgumentException | IllegalCallerException e) {
          problem = e instanceof IllegalCallerException
              ? "native access is not enabled: run java with --enable-native-access=ALL-UNNAMED"
              : "no OpenCL library (libOpenCL.so.1): install an ICD loader and a driver, on Debian "
                  + "'apt-get install ocl-icd-libopencl1 pocl-opencl-icd' for the CPU, or a GPU vendor's driver";
        }
      }
      PROBLEM = lookup == null ? problem : null;
      Linker linker = Linker.nativeLinker();
      SymbolLookup l = lookup;
      clGetPlatformIDs = bind(linker, l, "clGetPlatformIDs", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS,
          ADDRESS));
      clGetPlatformInfo = bind(linker, l, "clGetPlatformInfo", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT,
          JAVA_LONG, ADDRESS, ADDRESS));
      clGetDeviceIDs = bind(linker, l, "clGetDeviceIDs", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG,
          JAVA_INT, ADDRESS, ADDRESS));
      clGetDeviceInfo = bind(linker, l, "clGetDeviceInfo", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT,
          JAVA_LONG, ADDRESS, ADDRESS));
      clCreateContext = bind(linker, l, "clCreateContext", FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_INT,
          ADDRESS, ADDRESS, ADDRESS, ADDRESS));
      clCreateCommandQueue = bind(linker, l, "clCreateCommandQueue", FunctionDescriptor.of(ADDRESS, ADDRESS,
          ADDRESS, JAVA_LONG, ADDRESS));
      clCreateBuffer = bind(linker, l, "clCreateBuffer", FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_LONG,
          JAVA_LONG, ADDRESS, ADDRESS));
      clCreateProgramWithSource = bind(linker, l, "clCreateProgramWithSource", FunctionDescriptor.of(ADDRESS,
          ADDRESS, JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
      clBuildProgram = bind(linker, l, "clBuildProgram", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT,
          ADDRESS, ADDRESS, ADDRESS, ADDRESS));
      clGetProgramBuildInfo = bind(linker, l, "clGetProgramBuildInfo", FunctionDescriptor.of(JAVA_INT, ADDRESS,
          ADDRESS, JAVA_INT, JAVA_LONG, ADDRESS, ADDRESS));
      clCreateKernel = bind(linker, l, "clCreateKernel", FunctionDescriptor.of(ADDRESS, ADDRESS, ADDRESS,
          ADDRESS));
      clSetKernelArg = bind(linker, l, "clSetKernelArg", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT,
          JAVA_LONG, ADDRESS));
      clEnqueueNDRangeKernel = bind(linker, l, "clEnqueueNDRangeKernel", FunctionDescriptor.of(JAVA_INT, ADDRESS,
          ADDRESS, JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS));
      FunctionDescriptor transfer = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, JAVA_LONG,
          JAVA_LONG, ADDRESS, JAVA_INT, ADDRESS, ADDRESS);
      clEnqueueReadBuffer = bind(linker, l, "clEnqueueReadBuffer", transfer);
      clEnqueueWriteBuffer = bind(linker, l, "clEnqueueWriteBuffer", transfer);
      clEnqueueFillBuffer = bind(linker, l, "clEnqueueFillBuffer", FunctionDescriptor.of(JAVA_INT, ADDRESS,
          ADDRESS, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT, ADDRESS, ADDRESS));
      FunctionDescriptor one = FunctionDescriptor.of(JAVA_INT, ADDRESS);
      clFinish = bind(linker, l, "clFinish", one);
      clReleaseMemObject = bind(linker, l, "clReleaseMemObject", one);
      clReleaseKernel = bind(linker, l, "clReleaseKernel", one);
      clReleaseProgram = bind(linker, l, "clReleaseProgram", one);
      clReleaseCommandQueue = bind(linker, l, "clReleaseCommandQueue", one);
      clReleaseContext = bind(linker, l, "clReleaseContext", one);
    }

    private static MethodHandle bind(Linker linker, SymbolLookup lookup, String name, FunctionDescriptor fd) {
      if (lookup == null) {
        return null;
      }
      MemorySegment symbol = lookup.find(name).orElse(null);
      return symbol == null ? null : linker.downcallHandle(symbol, fd);
    }
  }

  /** Throws when libOpenCL is not there, saying how to get it. */
  static void requireLibrary() {
    if (Lib.PROBLEM != null) {
      throw new ClException("OpenCL is not available: " + Lib.PROBLEM);
    }
  }

  /** Throws {@link ClException} naming {@code call} unless {@code code} is {@code CL_SUCCESS}. */
  static void check(String call, int code) {
    if (code != CL_SUCCESS) {
      throw new ClException(call, code);
    }
  }
}
