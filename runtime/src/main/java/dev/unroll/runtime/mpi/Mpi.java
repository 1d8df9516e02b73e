package dev.unroll.runtime.mpi;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

/**
 * The MPI world this process belongs to, through Open MPI's C library bound with {@code java.lang.foreign} (no JNI of
 * ours): its rank and size, and the collective operations that data-parallel training needs. One per process,
 * initialised on first use by {@link #world()} and finalised when the JVM exits. An exception that no code catches
 * ends the whole job ({@link #abort}, after the usual report), rather than leave the other ranks waiting forever.
 *
 * <p>Open MPI's handles are the addresses of its global objects ({@code MPI_COMM_WORLD} is {@code
 * &ompi_mpi_comm_world}, {@code MPI_FLOAT} {@code &ompi_mpi_float}, {@code MPI_SUM} {@code &ompi_mpi_op_sum}), so
 * they are looked up as symbols; errors are returned as codes ({@code MPI_ERRORS_RETURN} on the world), never an
 * abort inside the library, and become {@link MpiException}s.
 *
 * <p>Outside {@code mpirun}, or without Open MPI installed, {@link #available()} is false and
 * {@link #unavailableReason()} says what to do.
 */
public final class Mpi {
  /** {@code MPI_IN_PLACE} in Open MPI: the address 1. */
  private static final MemorySegment IN_PLACE = MemorySegment.ofAddress(1);
  private static final int MPI_SUCCESS = 0;
  private static final int MPI_THREAD_FUNNELED = 1;
  /**
   * Floats per MPI_Allreduce: a longer array is reduced in pieces of this many. Open MPI's all-reduce allocates a
   * scratch buffer of up to the message's size on every call; beyond glibc's mmap threshold (32 MB at most) each
   * such buffer is fresh pages, faulted in anew every step, and in a virtual machine that cost dominated: 0.38 GB/s
   * of gradient from 10 M floats up, against 4-5 GB/s below (2 ranks, shared memory). Pieces of 1 M floats keep
   * every scratch buffer at 4 MB. Each element's sum is the same whichever piece holds it.
   */
  static final int ALL_REDUCE_CHUNK = 1 << 20;

  private static final class Lib {
    static final String PROBLEM;
    static final MethodHandle init;
    static final MethodHandle finalizeMpi;
    static final MethodHandle rank;
    static final MethodHandle size;
    static final MethodHandle allreduce;
    static final MethodHandle barrier;
    static final MethodHandle allgatherv;
    static final MethodHandle setErrhandler;
    static final MethodHandle gatherv;
    static final MethodHandle abort;
    static final MethodHandle scatterv;
    static final MethodHandle bcast;
    static final MemorySegment world;
    static final MemorySegment floatType;
    static final MemorySegment byteType;
    static final MemorySegment sum;
    static final MemorySegment errorsReturn;

    static {
      String problem = null;
      SymbolLookup lookup = null;
      if (System.getenv("OMPI_COMM_WORLD_SIZE") == null) {
        problem = "this process was not started by Open MPI's mpirun (no OMPI_COMM_WORLD_SIZE in its environment): "
            + "start it as 'mpirun -np N java ...'";
      } else {
        for (String name : new String[] {"libmpi.so.40", "libmpi.so"}) {
          try {
            lookup = SymbolLookup.libraryLookup(name, Arena.global());
            problem = null;
            break;
          } catch (IllegalArgumentException | IllegalCallerException e) {
            problem = e instanceof IllegalCallerException
                ? "native access is not enabled: run java with --enable-native-access=ALL-UNNAMED"
                : "no Open MPI library (libmpi.so.40): on Debian 'apt-get install openmpi-bin libopenmpi-dev'";
          }
        }
      }
      PROBLEM = problem;
      Linker linker = Linker.nativeLinker();
      SymbolLookup l = lookup;
      init = bind(linker, l, "MPI_Init_thread", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT,
          ADDRESS));
      finalizeMpi = bind(linker, l, "MPI_Finalize", FunctionDescriptor.of(JAVA_INT));
      rank = bind(linker, l, "MPI_Comm_rank", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
      size = bind(linker, l, "MPI_Comm_size", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
      allreduce = bind(linker, l, "MPI_Allreduce", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT,
          ADDRESS, ADDRESS, ADDRESS));
      barrier = bind(linker, l, "MPI_Barrier", FunctionDescriptor.of(JAVA_INT, ADDRESS));
      allgatherv = bind(linker, l, "MPI_Allgatherv", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS,
          ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
      setErrhandler = bind(linker, l, "MPI_Comm_set_errhandler", FunctionDescriptor.of(JAVA_INT, ADDRESS,
          ADDRESS));
      abort = bind(linker, l, "MPI_Abort", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
      gatherv = bind(linker, l, "MPI_Gatherv", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, ADDRESS,
          ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS));
      scatterv = bind(linker, l, "MPI_Scatterv", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS,
          ADDRESS, JAVA_INT, ADDRESS, JAVA_INT, ADDRESS));
      bcast = bind(linker, l, "MPI_Bcast", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, JAVA_INT,
          ADDRESS));
      world = symbol(l, "ompi_mpi_comm_world");
      floatType = symbol(l, "ompi_mpi_float");
      byteType = symbol(l, "ompi_mpi_byte");
      sum = symbol(l, "ompi_mpi_op_sum");
      errorsReturn = symbol(l, "ompi_mpi_errors_return");
    }

    private static MethodHandle bind(Linker linker, SymbolLookup l, String name, FunctionDescriptor d) {
      return l == null ? null : l.find(name).map(s -> linker.downcallHandle(s, d)).orElse(null);
    }

    private static MemorySegment symbol(SymbolLookup l, String name) {
      return l == null ? null : l.find(name).orElse(null);
    }
  }

  private static Mpi world;

  private final int rank;
  private final int size;
  /** A native buffer that collectives work in, grown as needed; allocated once per size. */
  private MemorySegment buffer = MemorySegment.NULL;
  /** Counts and displacements for {@link #allGather}, allocated once. */
  private MemorySegment ints = MemorySegment.NULL;
  private final Arena arena = Arena.ofShared();

  private Mpi(int rank, int size) {
    this.rank = rank;
    this.size = size;
  }

  /** Whether this process runs under Open MPI's {@code mpirun} with the library present. */
  public static boolean available() {
    return Lib.PROBLEM == null && Lib.init != null;
  }

  /** Why {@link #available()} is false, or null. */
  public static String unavailableReason() {
    if (Lib.PROBLEM != null) {
      return Lib.PROBLEM;
    }
    return Lib.init == null ? "libmpi has no MPI_Init_thread" : null;
  }

  /**
   * The world of this process, initialised on first call (MPI_Init_thread, funneled: only the thread that calls
   * the collectives talks to MPI).
   *
   * @throws MpiException when MPI is unavailable (saying what to install or how to start the process) or fails
   */
  public static synchronized Mpi world() {
    if (world != null) {
      return world;
    }
    if (!available()) {
      throw new MpiException("MPI is unavailable: " + unavailableReason());
    }
    try (Arena a = Arena.ofConfined()) {
      MemorySegment provided = a.allocate(JAVA_INT);
      check("MPI_Init_thread", (int) Lib.init.invokeExact(MemorySegment.NULL, MemorySegment.NULL,
          MPI_THREAD_FUNNELED, provided));
      check("MPI_Comm_set_errhandler", (int) Lib.setErrhandler.invokeExact(Lib.world, Lib.errorsReturn));
      MemorySegment out = a.allocate(JAVA_INT);
      check("MPI_Comm_rank", (int) Lib.rank.invokeExact(Lib.world, out));
      int r = out.get(JAVA_INT, 0);
      check("MPI_Comm_size", (int) Lib.size.invokeExact(Lib.world, out));
      world = new Mpi(r, out.get(JAVA_INT, 0));
    } catch (MpiException e) {
      throw e;
    } catch (Throwable t) {
      throw new MpiException("MPI initialisation failed: " + t);
    }
    Runtime.getRuntime().addShutdownHook(new Thread(Mpi::finish, "unroll-mpi-finalize"));
    // An exception that ends a thread of one rank would leave it waiting in MPI_Finalize and the other ranks in
    // their next collective, forever: after it is reported as usual, the whole job is aborted instead.
    Thread.UncaughtExceptionHandler before = Thread.getDefaultUncaughtExceptionHandler();
    Thread.setDefaultUncaughtExceptionHandler((thread, e) -> {
      if (before != null) {
        before.uncaughtException(thread, e);
      } else {
        System.err.print("Exception in thread \"" + thread.getName() + "\" on MPI rank " + world.rank + " ");
        e.printStackTrace();
      }
      world.abort(1);
    });
    return world;
  }

  /** This process's rank, from 0. */
  public int rank() {
    return rank;
  }

  /** How many processes the world holds. */
  public int size() {
    return size;
  }

  /**
   * Replaces {@code values[0, n)} with their sum over every rank, in place (MPI_Allreduce, MPI_SUM on floats).
   * Every rank must call it with the same n. The sum's order is MPI's: the same on every rank for a given size.
   */
  public void allReduceSum(float[] values, int n) {
    MemorySegment b = room(n);
    MemorySegment.copy(values, 0, b, JAVA_FLOAT, 0, n);
    try {
      for (int from = 0; from < n; from += ALL_REDUCE_CHUNK) {
        int count = Math.min(ALL_REDUCE_CHUNK, n - from);
        check("MPI_Allreduce", (int) Lib.allreduce.invokeExact(IN_PLACE, b.asSlice(4L * from, 4L * count), count,
            Lib.floatType, Lib.sum, Lib.world));
      }
    } catch (MpiException e) {
      throw e;
    } catch (Throwable t) {
      throw new MpiException("MPI_Allreduce failed: " + t);
    }
    MemorySegment.copy(b, JAVA_FLOAT, 0, values, 0, n);
  }

  /**
   * Gathers every rank's part of {@code values} into every rank's array, in place (MPI_Allgatherv): rank r's part
   * is {@code values[displs[r], displs[r] + counts[r])}, which it holds up to date; the other parts are replaced by
   * their owners'. Every rank must call it with the same counts and displacements, one of each per rank.
   */
  public void allGather(float[] values, int[] counts, int[] displs) {
    if (counts.length != size || displs.length != size) {
      throw new IllegalArgumentException("allGather needs one count and one displacement per rank (" + size
          + "), got " + counts.length + " and " + displs.length);
    }
    MemorySegment b = room(values.length);
    MemorySegment.copy(values, 0, b, JAVA_FLOAT, 0, values.length);
    if (ints.byteSize() < 8L * size) {
      ints = arena.allocate(8L * size, 8);
    }
    MemorySegment.copy(counts, 0, ints, JAVA_INT, 0, size);
    MemorySegment.copy(displs, 0, ints, JAVA_INT, 4L * size, size);
    try {
      check("MPI_Allgatherv", (int) Lib.allgatherv.invokeExact(IN_PLACE, 0, Lib.floatType, b, ints,
          ints.asSlice(4L * size), Lib.floatType, Lib.world));
    } catch (MpiException e) {
      throw e;
    } catch (Throwable t) {
      throw new MpiException("MPI_Allgatherv failed: " + t);
    }
    MemorySegment.copy(b, JAVA_FLOAT, 0, values, 0, values.length);
  }

  /**
   * Gathers every rank's {@code part[0, counts[rank])} into {@code whole} on rank {@code root}, at {@code displs[r]}
   * for rank r (MPI_Gatherv); {@code whole} is ignored, and may be null, on the other ranks. Every rank must call it
   * with the same counts, displacements and root. For checkpoints, not steps: it allocates native memory per call.
   */
  public void gather(float[] part, float[] whole, int[] counts, int[] displs, int root) {
    checkParts("gather", counts, displs, root);
    try (Arena a = Arena.ofConfined()) {
      MemorySegment send = a.allocate(JAVA_FLOAT, Math.max(1, counts[rank]));
      MemorySegment.copy(part, 0, send, JAVA_FLOAT, 0, counts[rank]);
      MemorySegment recv = rank == root ? a.allocate(JAVA_FLOAT, Math.max(1, whole.length)) : MemorySegment.NULL;
      MemorySegment[] cd = countsAndDispls(a, counts, displs);
      check("MPI_Gatherv", (int) Lib.gatherv.invokeExact(send, counts[rank], Lib.floatType, recv, cd[0], cd[1],
          Lib.floatType, root, Lib.world));
      if (rank == root) {
        MemorySegment.copy(recv, JAVA_FLOAT, 0, whole, 0, whole.length);
      }
    } catch (MpiException e) {
      throw e;
    } catch (Throwable t) {
      throw new MpiException("MPI_Gatherv failed: " + t);
    }
  }

  /**
   * The converse of {@link #gather}: every rank receives {@code whole[displs[rank], displs[rank] + counts[rank])} of
   * rank {@code root}'s array into {@code part[0, counts[rank])} (MPI_Scatterv); {@code whole} is ignored, and may be
   * null, on the other ranks. For checkpoints, not steps: it allocates native memory per call.
   */
  public void scatter(float[] whole, float[] part, int[] counts, int[] displs, int root) {
    checkParts("scatter", counts, displs, root);
    try (Arena a = Arena.ofConfined()) {
      MemorySegment send = MemorySegment.NULL;
      if (rank == root) {
        send = a.allocate(JAVA_FLOAT, Math.max(1, whole.length));
        MemorySegment.copy(whole, 0, send, JAVA_FLOAT, 0, whole.length);
      }
      MemorySegment recv = a.allocate(JAVA_FLOAT, Math.max(1, counts[rank]));
      MemorySegment[] cd = countsAndDispls(a, counts, displs);
      check("MPI_Scatterv", (int) Lib.scatterv.invokeExact(send, cd[0], cd[1], Lib.floatType, recv, counts[rank],
          Lib.floatType, root, Lib.world));
      MemorySegment.copy(recv, JAVA_FLOAT, 0, part, 0, counts[rank]);
    } catch (MpiException e) {
      throw e;
    } catch (Throwable t) {
      throw new MpiException("MPI_Scatterv failed: " + t);
    }
  }

  /**
   * Sends rank {@code root}'s {@code values} into every other rank's {@code values} (MPI_Bcast); every rank must call
   * it with arrays of the same length.
   */
  public void broadcast(float[] values, int root) {
    MemorySegment b = room(values.length);
    if (rank == root) {
      MemorySegment.copy(values, 0, b, JAVA_FLOAT, 0, values.length);
    }
    broadcast(b, values.length, Lib.floatType, root);
    if (rank != root) {
      MemorySegment.copy(b, JAVA_FLOAT, 0, values, 0, values.length);
    }
  }

  /**
   * Rank {@code root}'s {@code bytes} on every rank (two MPI_Bcasts: the length, then the bytes); the other ranks'
   * argument is ignored and may be null.
   */
  public byte[] broadcast(byte[] bytes, int root) {
    MemorySegment b = room(1);
    b.set(JAVA_INT, 0, rank == root ? bytes.length : 0);
    broadcast(b, 4, Lib.byteType, root);
    int n = b.get(JAVA_INT, 0);
    b = room((n + 3) / 4);
    if (rank == root) {
      MemorySegment.copy(bytes, 0, b, JAVA_BYTE, 0, n);
    }
    broadcast(b, n, Lib.byteType, root);
    byte[] out = new byte[n];
    MemorySegment.copy(b, JAVA_BYTE, 0, out, 0, n);
    return out;
  }

  private void broadcast(MemorySegment b, int count, MemorySegment type, int root) {
    try {
      check("MPI_Bcast", (int) Lib.bcast.invokeExact(b, count, type, root, Lib.world));
    } catch (MpiException e) {
      throw e;
    } catch (Throwable t) {
      throw new MpiException("MPI_Bcast failed: " + t);
    }
  }

  private void checkParts(String what, int[] counts, int[] displs, int root) {
    if (counts.length != size || displs.length != size || root < 0 || root >= size) {
      throw new IllegalArgumentException(what + " needs one count and one displacement per rank (" + size
          + ") and a root among them, got " + counts.length + ", " + displs.length + " and root " + root);
    }
  }

  private static MemorySegment[] countsAndDispls(Arena a, int[] counts, int[] displs) {
    MemorySegment c = a.allocate(JAVA_INT, counts.length);
    MemorySegment d = a.allocate(JAVA_INT, displs.length);
    MemorySegment.copy(counts, 0, c, JAVA_INT, 0, counts.length);
    MemorySegment.copy(displs, 0, d, JAVA_INT, 0, displs.length);
    return new MemorySegment[] {c, d};
  }

  /**
   * Ends every rank of the job at once (MPI_Abort): for a failure that only this rank knows of, which would leave
   * the others waiting for it. mpirun reports the rank and {@code code}, and exits with an error.
   */
  public void abort(int code) {
    System.err.flush();
    System.out.flush();
    try {
      int ignored = (int) Lib.abort.invokeExact(Lib.world, code);
    } catch (Throwable t) {
      // Nothing is left to report to: halt below.
    }
    Runtime.getRuntime().halt(code);
  }

  /** Waits until every rank has called it. */
  public void barrier() {
    try {
      check("MPI_Barrier", (int) Lib.barrier.invokeExact(Lib.world));
    } catch (MpiException e) {
      throw e;
    } catch (Throwable t) {
      throw new MpiException("MPI_Barrier failed: " + t);
    }
  }

  private MemorySegment room(int n) {
    long bytes = 4L * n;
    if (buffer.byteSize() < bytes) {
      buffer = arena.allocate(bytes, 64);
    }
    return buffer;
  }

  private static void finish() {
    try {
      int ignored = (int) Lib.finalizeMpi.invokeExact();
    } catch (Throwable t) {
      // The JVM is exiting; nothing to report to.
    }
  }

  private static void check(String call, int rc) {
    if (rc != MPI_SUCCESS) {
      throw new MpiException(call + " failed with MPI error " + rc);
    }
  }
}
