package dev.unroll.runtime.opencl;

import static dev.unroll.runtime.opencl.Cl.Lib;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import dev.unroll.runtime.train.DeviceParameters;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.ref.Cleaner;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * What a generated model holds on an OpenCL device: a context and an in-order queue, its arenas as device
 * buffers, and its program (Unroll's kernel library followed by the model's generated kernels, with every shape
 * a compile-time constant), built once. Each kernel call of the plan is one {@code cl_kernel} whose arguments are
 * bound once, here, so a training or decode step is a run of enqueues and a read of the loss or the logits.
 *
 * <p>Buffers and kernels are numbered in the order they are made. A kernel's arguments are {@code (buffer,
 * offset)} pairs, matching the generated OpenCL C's {@code (__global T* b, int o)} pairs; a kernel may take
 * further scalar arguments, set with {@link #setInt} and {@link #setFloat}.
 *
 * <p>It is also the model's {@link DeviceParameters}: AdamW's moments and update live here, beside the parameter
 * and gradient buffers named by {@link #trainable}.
 *
 * <p>After construction nothing here allocates on the Java heap: host transfers go through one off-heap staging
 * segment, in chunks. Device memory is released by {@link #close()}, or when the owner becomes unreachable.
 * Not thread-safe, like the models.
 */
public final class DeviceModel implements AutoCloseable, DeviceParameters {
  private static final Cleaner CLEANER = Cleaner.create();
  private static final Cleaner.Cleanable NONE = () -> {};

  /** Floats moved per chunk between Java arrays and the device. */
  static final int STAGING_FLOATS = 1 << 20;

  private static final String LIBRARY = library();

  private final ClDevice device;
  private final Handles handles;
  private final Cleaner.Cleanable cleanable;
  private final Arena arena = Arena.ofShared();
  private final MemorySegment staging = arena.allocate(4L * STAGING_FLOATS, 64);
  private final MemorySegment zeroPattern = arena.allocate(JAVA_INT);
  private final String name;
  /** Kernel calls by number ({@code callCount} of them) and buffers by number, grown by doubling. */
  private KernelCall[] byId = new KernelCall[16];
  private int callCount;
  private boolean closed;
  private MemorySegment[] bufferHandles = new MemorySegment[16];
  private long[] bufferBytes = new long[16];
  private int bufferCount;

  /** Native handles, released by {@link #close()} or by the cleaner; holds nothing that refers back. */
  private static final class Handles implements Runnable {
    MemorySegment context = MemorySegment.NULL;
    MemorySegment queue = MemorySegment.NULL;
    MemorySegment program = MemorySegment.NULL;
    final List<MemorySegment> mems = new ArrayList<>();
    final List<MemorySegment> kernels = new ArrayList<>();
    Arena arena;

    @Override
    public void run() {
      try {
        for (MemorySegment k : kernels) {
          int unused = (int) Lib.clReleaseKernel.invokeExact(k);
        }
        for (MemorySegment m : mems) {
          int unused = (int) Lib.clReleaseMemObject.invokeExact(m);
        }
        if (!program.equals(MemorySegment.NULL)) {
          int unused = (int) Lib.clReleaseProgram.invokeExact(program);
        }
        if (!queue.equals(MemorySegment.NULL)) {
          int unused = (int) Lib.clReleaseCommandQueue.invokeExact(queue);
        }
        if (!context.equals(MemorySegment.NULL)) {
          int unused = (int) Lib.clReleaseContext.invokeExact(context);
        }
      } catch (Throwable t) {
        // releasing is best effort: the process may be ending
      } finally {
        kernels.clear();
        mems.clear();
        program = MemorySegment.NULL;
        queue = MemorySegment.NULL;
        context = MemorySegment.NULL;
        if (arena != null) {
          arena.close();
          arena = null;
        }
      }
    }
  }

  /** One enqueue: a kernel with its arguments bound and its work sizes in native memory. */
  private static final class KernelCall {
    final String name;
    final MemorySegment kernel;
    final int dims;
    final MemorySegment global;
    final MemorySegment local;
    final MemorySegment scalar;

    KernelCall(String name, MemorySegment kernel, int dims, MemorySegment global, MemorySegment local,
        MemorySegment scalar) {
      this.name = name;
      this.kernel = kernel;
      this.dims = dims;
      this.global = global;
      this.local = local;
      this.scalar = scalar;
    }
  }

  private DeviceModel(ClDevice device, String name, Object owner) {
    this.device = device;
    this.name = name;
    this.handles = new Handles();
    this.cleanable = owner == null ? NONE : CLEANER.register(owner, handles);
  }

  /**
   * Makes a context and queue on {@code device} and builds the kernel library followed by {@code modelSource}.
   *
   * @param name the model's name, for messages
   * @param owner the object whose unreachability releases the device memory (the generated model), or null to
   *     rely on {@link #close()}
   * @throws ClException when the device cannot be used or the build fails (the message holds the build log)
   */
  public static DeviceModel open(ClDevice device, String name, String modelSource, Object owner) {
    DeviceModel m = new DeviceModel(device, name, owner);
    try {
      m.start(modelSource);
    } catch (RuntimeException e) {
      m.close();
      throw e;
    }
    return m;
  }

  private void start(String modelSource) {
    handles.arena = arena;
    try (Arena tmp = Arena.ofConfined()) {
      MemorySegment err = tmp.allocate(JAVA_INT);
      MemorySegment devs = tmp.allocate(ADDRESS);
      devs.set(ADDRESS, 0, device.deviceId());
      handles.context = (MemorySegment) Lib.clCreateContext.invokeExact(MemorySegment.NULL, 1, devs,
          MemorySegment.NULL, MemorySegment.NULL, err);
      Cl.check("clCreateContext on " + device.describe(), err.get(JAVA_INT, 0));
      handles.queue = (MemorySegment) Lib.clCreateCommandQueue.invokeExact(handles.context, device.deviceId(), 0L,
          err);
      Cl.check("clCreateCommandQueue", err.get(JAVA_INT, 0));
      String source = LIBRARY + "\n// ---- " + name + " ----\n" + modelSource;
      MemorySegment text = tmp.allocateFrom(source, StandardCharsets.UTF_8);
      MemorySegment strings = tmp.allocate(ADDRESS);
      strings.set(ADDRESS, 0, text);
      handles.program = (MemorySegment) Lib.clCreateProgramWithSource.invokeExact(handles.context, 1, strings,
          MemorySegment.NULL, err);
      Cl.check("clCreateProgramWithSource", err.get(JAVA_INT, 0));
      MemorySegment options = tmp.allocateFrom("-cl-std=CL1.2");
      int rc = (int) Lib.clBuildProgram.invokeExact(handles.program, 1, devs, options, MemorySegment.NULL,
          MemorySegment.NULL);
      SignalHandlers.restore();
      if (rc != Cl.CL_SUCCESS) {
        throw new ClException("clBuildProgram of " + name + "'s kernels on " + device.name(), rc,
            "build log:\n" + buildLog(tmp));
      }
    } catch (ClException e) {
      throw e;
    } catch (Throwable t) {
      throw new ClException("OpenCL setup of " + name + " failed: " + t);
    }
  }

  private String buildLog(Arena tmp) throws Throwable {
    MemorySegment size = tmp.allocate(JAVA_LONG);
    int rc = (int) Lib.clGetProgramBuildInfo.invokeExact(handles.program, device.deviceId(),
        Cl.CL_PROGRAM_BUILD_LOG, 0L, MemorySegment.NULL, size);
    if (rc != Cl.CL_SUCCESS) {
      return "(no log: " + ClException.name(rc) + ")";
    }
    MemorySegment log = tmp.allocate(size.get(JAVA_LONG, 0) + 1);
    rc = (int) Lib.clGetProgramBuildInfo.invokeExact(handles.program, device.deviceId(), Cl.CL_PROGRAM_BUILD_LOG,
        log.byteSize(), log, MemorySegment.NULL);
    return rc == Cl.CL_SUCCESS ? log.getString(0) : "(no log: " + ClException.name(rc) + ")";
  }

  /** The device this model runs on. */
  public ClDevice device() {
    return device;
  }

  /** A zero-filled device buffer of {@code count} floats; returns its number. */
  public int floats(long count) {
    return buffer(4L * count);
  }

  /** A zero-filled device buffer of {@code count} ints. */
  public int ints(long count) {
    return buffer(4L * count);
  }

  /** A zero-filled device buffer of {@code count} 16-bit values (bfloat16 weights). */
  public int shorts(long count) {
    return buffer(2L * ((count + 1) & ~1L));
  }

  private int buffer(long bytes) {
    requireOpen();
    long size = Math.max(4, bytes);
    if (size > device.maxAllocationBytes()) {
      throw new ClException(name + " needs a buffer of " + size + " bytes; " + device.name()
          + " allows at most " + device.maxAllocationBytes() + " in one buffer");
    }
    try (Arena tmp = Arena.ofConfined()) {
      MemorySegment err = tmp.allocate(JAVA_INT);
      MemorySegment mem = (MemorySegment) Lib.clCreateBuffer.invokeExact(handles.context, Cl.CL_MEM_READ_WRITE,
          size, MemorySegment.NULL, err);
      Cl.check("clCreateBuffer(" + size + " bytes) for " + name, err.get(JAVA_INT, 0));
      handles.mems.add(mem);
      int id = bufferCount++;
      if (id == bufferHandles.length) {
        bufferHandles = Arrays.copyOf(bufferHandles, 2 * id);
        bufferBytes = Arrays.copyOf(bufferBytes, 2 * id);
      }
      bufferHandles[id] = mem;
      bufferBytes[id] = size;
      fill(id, 0, size);
      return id;
    } catch (ClException e) {
      throw e;
    } catch (Throwable t) {
      throw new ClException("clCreateBuffer failed: " + t);
    }
  }

  /**
   * Makes one kernel call: {@code kernel} with its {@code (buffer, offset)} argument pairs bound now.
   *
   * @param global work size per dimension (1 to 3 of them), each a multiple of the local size
   * @param local work-group size per dimension, or null to let the implementation choose
   * @param pairs buffer numbers and element offsets, alternating
   * @return the call's number, for {@link #run} and the scalar setters
   */
  public int kernel(String kernel, long[] global, long[] local, int... pairs) {
    requireOpen();
    if (pairs.length % 2 != 0) {
      throw new IllegalArgumentException(kernel + ": arguments come in (buffer, offset) pairs");
    }
    if (global.length < 1 || global.length > 3 || local != null && local.length != global.length) {
      throw new IllegalArgumentException(kernel + ": 1 to 3 global sizes, and as many local sizes");
    }
    MemorySegment g = arena.allocate(JAVA_LONG, 3);
    MemorySegment l = local == null ? MemorySegment.NULL : arena.allocate(JAVA_LONG, 3);
    for (int d = 0; d < global.length; d++) {
      long gd = global[d];
      if (local != null) {
        if (local[d] <= 0 || gd % local[d] != 0) {
          throw new IllegalArgumentException(kernel + ": global size " + gd + " is not a multiple of local size "
              + local[d]);
        }
        l.setAtIndex(JAVA_LONG, d, local[d]);
      }
      g.setAtIndex(JAVA_LONG, d, gd);
    }
    try (Arena tmp = Arena.ofConfined()) {
      MemorySegment err = tmp.allocate(JAVA_INT);
      MemorySegment k = (MemorySegment) Lib.clCreateKernel.invokeExact(handles.program, tmp.allocateFrom(kernel),
          err);
      Cl.check("clCreateKernel(" + kernel + ")", err.get(JAVA_INT, 0));
      handles.kernels.add(k);
      MemorySegment arg = tmp.allocate(8);
      for (int i = 0; i < pairs.length; i += 2) {
        arg.set(ADDRESS, 0, mem(pairs[i]));
        Cl.check("clSetKernelArg(" + kernel + ", " + i + ")",
            (int) Lib.clSetKernelArg.invokeExact(k, i, 8L, arg));
        arg.set(JAVA_INT, 0, pairs[i + 1]);
        Cl.check("clSetKernelArg(" + kernel + ", " + (i + 1) + ")",
            (int) Lib.clSetKernelArg.invokeExact(k, i + 1, 4L, arg));
      }
      KernelCall call = new KernelCall(kernel, k, global.length, g, l, arena.allocate(8));
      if (callCount == byId.length) {
        byId = Arrays.copyOf(byId, 2 * callCount);
      }
      byId[callCount] = call;
      return callCount++;
    } catch (ClException e) {
      throw e;
    } catch (Throwable t) {
      throw new ClException("clCreateKernel(" + kernel + ") failed: " + t);
    }
  }

  /** Sets scalar argument {@code index} of call {@code k} to an int. */
  public void setInt(int k, int index, int value) {
    KernelCall c = byId[k];
    c.scalar.set(JAVA_INT, 0, value);
    setArg(c, index, 4L);
  }

  /** Sets scalar argument {@code index} of call {@code k} to a float. */
  public void setFloat(int k, int index, float value) {
    KernelCall c = byId[k];
    c.scalar.set(JAVA_FLOAT, 0, value);
    setArg(c, index, 4L);
  }

  /** Binds argument {@code index} of call {@code k} to buffer {@code buffer} (a plain pointer, no offset). */
  public void setBuffer(int k, int index, int buffer) {
    KernelCall c = byId[k];
    c.scalar.set(ADDRESS, 0, mem(buffer));
    setArg(c, index, 8L);
  }

  private void setArg(KernelCall c, int index, long size) {
    requireOpen();
    int rc;
    try {
      rc = (int) Lib.clSetKernelArg.invokeExact(c.kernel, index, size, c.scalar);
    } catch (Throwable t) {
      throw new ClException("clSetKernelArg failed: " + t);
    }
    if (rc != Cl.CL_SUCCESS) {
      throw new ClException("clSetKernelArg(" + c.name + ", " + index + ")", rc);
    }
  }

  /** Enqueues call {@code k}. */
  public void run(int k) {
    requireOpen();
    KernelCall c = byId[k];
    int rc;
    try {
      rc = (int) Lib.clEnqueueNDRangeKernel.invokeExact(handles.queue, c.kernel, c.dims, MemorySegment.NULL,
          c.global, c.local, 0, MemorySegment.NULL, MemorySegment.NULL);
    } catch (Throwable t) {
      throw new ClException("clEnqueueNDRangeKernel failed: " + t);
    }
    if (rc != Cl.CL_SUCCESS) {
      throw new ClException("clEnqueueNDRangeKernel(" + c.name + ")", rc);
    }
  }

  /** Enqueues calls {@code from} (inclusive) to {@code to} (exclusive), in order. */
  public void run(int from, int to) {
    for (int k = from; k < to; k++) {
      run(k);
    }
  }

  /** The kernel name of call {@code k}, for messages and profiles. */
  public String callName(int k) {
    return byId[k].name;
  }

  /** Number of kernel calls made so far: the number the next {@link #kernel} returns. */
  public int calls() {
    return callCount;
  }

  /** Waits until everything enqueued has finished. */
  public void finish() {
    requireOpen();
    int rc;
    try {
      rc = (int) Lib.clFinish.invokeExact(handles.queue);
    } catch (Throwable t) {
      throw new ClException("clFinish failed: " + t);
    }
    SignalHandlers.restore();
    Cl.check("clFinish", rc);
  }

  /** Sets {@code count} floats of buffer {@code b} from element {@code offset} to zero. */
  public void zero(int b, long offset, long count) {
    fill(b, 4L * offset, 4L * count);
  }

  private void fill(int b, long byteOffset, long bytes) {
    requireOpen();
    if (bytes == 0) {
      return;
    }
    int rc;
    try {
      rc = (int) Lib.clEnqueueFillBuffer.invokeExact(handles.queue, mem(b), zeroPattern, 4L, byteOffset,
          bytes, 0, MemorySegment.NULL, MemorySegment.NULL);
    } catch (Throwable t) {
      throw new ClException("clEnqueueFillBuffer failed: " + t);
    }
    Cl.check("clEnqueueFillBuffer", rc);
  }

  /** Copies {@code n} floats from {@code src} into buffer {@code b} at element {@code offset}; blocks. */
  public void write(int b, long offset, float[] src, int srcOff, int n) {
    write(b, offset, src, srcOff, n, JAVA_FLOAT);
  }

  /** Copies {@code n} ints into buffer {@code b} at element {@code offset}; blocks. */
  public void write(int b, long offset, int[] src, int srcOff, int n) {
    write(b, offset, src, srcOff, n, JAVA_INT);
  }

  /** Copies {@code n} 16-bit values into buffer {@code b} at element {@code offset}; blocks. */
  public void write(int b, long offset, short[] src, int srcOff, int n) {
    write(b, offset, src, srcOff, n, JAVA_SHORT);
  }

  /**
   * Copies {@code n} elements of the Java array {@code src} (of {@code layout}'s type) into buffer {@code b} at
   * element {@code offset}, through the staging segment a full segment at a time; blocks.
   */
  private void write(int b, long offset, Object src, int srcOff, int n, ValueLayout layout) {
    long size = layout.byteSize();
    int perChunk = (int) (4L * STAGING_FLOATS / size);
    for (int done = 0; done < n; ) {
      int chunk = Math.min(perChunk, n - done);
      MemorySegment.copy(src, srcOff + done, staging, layout, 0, chunk);
      transfer(true, b, size * (offset + done), size * chunk);
      done += chunk;
    }
  }

  /** Copies {@code n} floats of buffer {@code b} from element {@code offset} into {@code dst}; blocks. */
  public void read(int b, long offset, float[] dst, int dstOff, int n) {
    for (int done = 0; done < n; ) {
      int chunk = Math.min(STAGING_FLOATS, n - done);
      transfer(false, b, 4L * (offset + done), 4L * chunk);
      MemorySegment.copy(staging, JAVA_FLOAT, 0, dst, dstOff + done, chunk);
      done += chunk;
    }
  }

  /** One float of buffer {@code b}; blocks. */
  public float read(int b, long offset) {
    transfer(false, b, 4L * offset, 4L);
    return staging.get(JAVA_FLOAT, 0);
  }

  /** One blocking copy between the staging segment and buffer {@code b}: to the device when {@code write}. */
  private void transfer(boolean write, int b, long byteOffset, long bytes) {
    requireOpen();
    MemorySegment mem = mem(b);
    long size = bufferBytes[b];
    if (byteOffset < 0 || byteOffset + bytes > size) {
      throw new IndexOutOfBoundsException((write ? "write" : "read") + ": bytes [" + byteOffset + ", "
          + (byteOffset + bytes) + ") outside buffer " + b + " of " + size + " bytes");
    }
    int rc;
    try {
      rc = write
          ? (int) Lib.clEnqueueWriteBuffer.invokeExact(handles.queue, mem, Cl.CL_TRUE, byteOffset, bytes, staging,
              0, MemorySegment.NULL, MemorySegment.NULL)
          : (int) Lib.clEnqueueReadBuffer.invokeExact(handles.queue, mem, Cl.CL_TRUE, byteOffset, bytes, staging,
              0, MemorySegment.NULL, MemorySegment.NULL);
    } catch (Throwable t) {
      throw new ClException((write ? "clEnqueueWriteBuffer" : "clEnqueueReadBuffer") + " failed: " + t);
    }
    SignalHandlers.restore();
    if (rc != Cl.CL_SUCCESS) {
      throw new ClException(write ? "clEnqueueWriteBuffer" : "clEnqueueReadBuffer", rc);
    }
  }

  // ---- AdamW on the device: moments beside the parameters, the norm reduced in fixed chunks ----

  /** Values per partial sum of the gradient norm: {@code UNROLL_NORM_CHUNK} in optimizer.cl. */
  static final int NORM_CHUNK = 16384;
  private static final int NORM_GROUP = 256;

  private int paramsBuffer = -1;
  private int gradsBuffer = -1;
  private int trainableCount;
  private int moment1 = -1;
  private int moment2;
  private int partials;
  private float[] partialsHost;
  private int sumSquaresCall;
  private int adamwCall;

  /** Names the parameter and gradient buffers (same layout, {@code count} floats) that AdamW updates. */
  public void trainable(int params, int grads, int count) {
    this.paramsBuffer = params;
    this.gradsBuffer = grads;
    this.trainableCount = count;
  }

  /** Makes AdamW's moments (zero) and its kernel calls; idempotent. Called by {@code AdamW.of(model)}. */
  public void prepareAdamW() {
    if (paramsBuffer < 0) {
      throw new IllegalStateException(name + " has no trainable buffers on the device");
    }
    if (moment1 >= 0) {
      return;
    }
    int chunks = (trainableCount + NORM_CHUNK - 1) / NORM_CHUNK;
    moment1 = floats(trainableCount);
    moment2 = floats(trainableCount);
    partials = floats(chunks);
    partialsHost = new float[chunks];
    sumSquaresCall = kernel("unroll_sum_squares", new long[] {(long) chunks * NORM_GROUP},
        new long[] {NORM_GROUP}, gradsBuffer, 0, partials, 0);
    setInt(sumSquaresCall, 4, trainableCount);
    adamwCall = kernel("unroll_adamw", new long[] {roundUp(trainableCount, 64)}, new long[] {64}, paramsBuffer, 0,
        gradsBuffer, 0, moment1, 0, moment2, 0);
    setInt(adamwCall, 8, trainableCount);
  }

  /** Sets AdamW's moments back to zero. */
  @Override
  public void resetAdamW() {
    prepareAdamW();
    zero(moment1, 0, trainableCount);
    zero(moment2, 0, trainableCount);
  }

  /**
   * The squared L2 norm of the gradient: each chunk of {@value #NORM_CHUNK} values summed on the device, the chunk
   * sums added here in order, in double. Blocks until the gradient is complete.
   */
  @Override
  public double gradientSumOfSquares() {
    prepareAdamW();
    run(sumSquaresCall);
    read(partials, 0, partialsHost, 0, partialsHost.length);
    double sum = 0;
    for (float p : partialsHost) {
      sum += p;
    }
    return sum;
  }

  /** One AdamW update of every parameter on the device, with the formula and arguments of {@code AdamW}. */
  @Override
  public void adamw(float scale, float beta1, float beta2, float c1, float c2, float lr, float weightDecay,
      float eps) {
    prepareAdamW();
    setFloat(adamwCall, 9, scale);
    setFloat(adamwCall, 10, beta1);
    setFloat(adamwCall, 11, beta2);
    setFloat(adamwCall, 12, c1);
    setFloat(adamwCall, 13, c2);
    setFloat(adamwCall, 14, lr);
    setFloat(adamwCall, 15, weightDecay);
    setFloat(adamwCall, 16, eps);
    run(adamwCall);
  }

  /** AdamW's first ({@code second == false}) or second moment of parameter {@code i}, read from the device. */
  @Override
  public float moment(boolean second, int i) {
    prepareAdamW();
    return read(second ? moment2 : moment1, i);
  }

  /** Copies AdamW's moments from the device: a training checkpoint's. */
  @Override
  public void readMoments(float[] first, float[] second) {
    prepareAdamW();
    read(moment1, 0, first, 0, trainableCount);
    read(moment2, 0, second, 0, trainableCount);
  }

  /** Sets AdamW's moments on the device: a training checkpoint restored. */
  @Override
  public void writeMoments(float[] first, float[] second) {
    prepareAdamW();
    write(moment1, 0, first, 0, trainableCount);
    write(moment2, 0, second, 0, trainableCount);
  }

  private static long roundUp(long n, long multiple) {
    return (n + multiple - 1) / multiple * multiple;
  }

  /** The handle of buffer {@code b}; a number no buffer has is an exception, never a null handed to the driver. */
  private MemorySegment mem(int b) {
    if (b < 0 || b >= bufferCount) {
      throw new IndexOutOfBoundsException("buffer " + b + " of " + name + ", which has " + bufferCount);
    }
    return bufferHandles[b];
  }

  /** Releases the device memory, kernels, program, queue and context. The model is unusable afterwards. */
  @Override
  public void close() {
    closed = true;
    cleanable.clean();
    handles.run();
  }

  /** Released handles must never reach the driver: a closed model is an exception, not a crash. */
  private void requireOpen() {
    if (closed) {
      throw new IllegalStateException(name + "'s OpenCL state was closed; make a new model");
    }
  }

  /** Unroll's OpenCL C library: the ops of the plan ({@code ops.cl}) and the optimizer ({@code optimizer.cl}). */
  private static String library() {
    StringBuilder sb = new StringBuilder();
    for (String file : new String[] {"ops.cl", "optimizer.cl"}) {
      try (InputStream in = DeviceModel.class.getResourceAsStream(file)) {
        if (in == null) {
          throw new IllegalStateException("dev/unroll/runtime/opencl/" + file + " is missing from the runtime jar");
        }
        sb.append("// ---- ").append(file).append(" ----\n");
        sb.append(new String(in.readAllBytes(), StandardCharsets.UTF_8)).append('\n');
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return sb.toString();
  }
}
