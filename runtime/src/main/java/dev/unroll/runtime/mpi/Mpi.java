package dev.unroll.runtime.mpi;

import static java.lang.foreign.ValueLayout.ADDRESS;
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
 * initialised on first use by {@link #world()} and finalised when the JVM exits.
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
    static final MemorySegment world;
    static final MemorySegment floatType;
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
      world = symbol(l, "ompi_mpi_comm_world");
      floatType = symbol(l, "ompi_mpi_float");
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
      check("MPI_Allreduce", (int) Lib.allreduce.invokeExact(IN_PLACE, b, n, Lib.floatType, Lib.sum, Lib.world));
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
