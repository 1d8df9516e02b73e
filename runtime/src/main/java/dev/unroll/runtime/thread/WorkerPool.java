package dev.unroll.runtime.thread;

import dev.unroll.runtime.AdamW;
import dev.unroll.runtime.kernel.Kernels;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.locks.LockSupport;

/**
 * The persistent threads that the SIMD kernels and {@link AdamW} split their work over. One pool serves the whole
 * process: {@code threads - 1} daemon workers named {@code unroll-worker-N}, plus the calling thread, which always
 * takes the first share itself.
 *
 * <p>Size: {@link Runtime#availableProcessors()} unless the system property {@code unroll.threads} says otherwise,
 * and {@link #setThreads(int)} changes it at run time (between steps, not during one).
 *
 * <p>How a kernel uses it, with nothing allocated and no lock taken:
 *
 * <pre>{@code
 * WorkerPool pool = WorkerPool.acquire(flops);         // null: too small, one thread, or the pool is busy
 * if (pool == null) { rows(out, inp, 0, N); return; }  // the same code, on the caller alone
 * ROWS.out = out; ROWS.inp = inp;                      // a preallocated Job, filled only by the pool's owner
 * pool.run(ROWS, N, 4);                                // runs ROWS.run(from, to) per share; clears ROWS; releases
 * }</pre>
 *
 * <p>A job's fields are shared by every thread that runs a share of it, so only the thread that acquired the pool
 * writes them: a caller that finds the pool busy runs its kernel alone, with its own arguments, and never touches a
 * job. There is one pool at a time ({@link #setThreads} takes the old one for good before making a new one), so a
 * job kept in a {@code static final} field has at most one writer.
 *
 * <p>The caller cuts {@code [0, units)} into a few contiguous shares that start at multiples of the caller's grain,
 * publishes the job with one volatile write (a ticket holding the job's epoch, its share count and how many shares
 * were claimed from each end), and then claims shares with an atomic increment: the caller from the front, the
 * workers from the back, so that with two threads the caller runs the first part of every job and the worker the
 * last, and a kernel that reads what the one before wrote in the same place (rows after rows) finds it in its own
 * core's cache more often (baby's training step 3.6% faster, tiny's 1.6%, in-JVM A/B). A worker watches the ticket
 * for {@link #SPIN_NANOS} after its last job (spinning, then yielding its core between looks), and only then parks
 * ({@link LockSupport}): a training step's kernels follow one another within that, so a worker wakes from a park
 * once a step at most, not once a kernel.
 * Each finished share counts down a volatile counter the caller spins on. A worker that is late (descheduled on a
 * busy machine) simply finds the shares taken. A kernel whose every output element is computed within one share,
 * in a fixed order, therefore gives the same bits for every thread count. When two threads drive kernels at once,
 * the one that finds the pool busy runs its kernel alone.
 */
public final class WorkerPool {

  /**
   * A job: its arguments in named fields, which the pool's owner fills before {@link #run} and every share reads,
   * and the work on a range of units. Kept in a {@code static final} field and reused, so that a kernel call
   * allocates nothing; its fields hold arrays and numbers only (a vector in a field would be allocated).
   */
  public abstract static class Job {
    /** For subclasses. */
    protected Job() {}

    /** Runs units {@code [from, to)} of the job, reading its arguments from its fields. */
    protected abstract void run(int from, int to);

    /** Drops the job's array references; {@link WorkerPool#run} calls it after every job, so no array outlives it. */
    protected abstract void clear();
  }

  /**
   * Below this many floating-point operations a kernel stays on the calling thread: sharing costs more than it saves.
   * The cost is less the hand-off (0.4 us to a spinning worker) than the data: each thread's half of the output
   * lives in its own cache and the next kernel reads across. Measured per kernel at the tiny shape (caller alone
   * against caller and worker, alternating steps): layer norm's channel sums at 2^17 took 12.7 us alone and 18 us
   * shared; at 2^18 and above (layer norm's rows, 29-39 us) sharing won 1.38x.
   *
   * <p>The bench module's {@code PoolThresholdBenchmark} measures it again on any machine, and the report prints
   * its crossover beside this ({@code mvn -B -q -DskipTests -Pbench verify -Dbench.args=PoolThresholdBenchmark}):
   * a matmul forward at 64 channels on a ladder of work, one thread against two. On a 2-vCPU AMD EPYC (AVX-512),
   * medians of five runs on a machine shared with builds, two threads' speed over one's: 2^14 0.55, 2^15 0.65,
   * 2^16 0.94, 2^17 0.95 (the dot-product form: sharing does not pay below 2^18), and 2^18 to 2^22 0.46 to 0.26
   * (the GEMM form, shared by output channel: at 64 channels each of the four shares was one vector wide, too narrow
   * for the 6x2 kernel). That was the matmul's way of sharing, not the threshold (raising the threshold past 2^22 to
   * fit it would keep every other kernel under that on one thread), so the GEMM form now shares two vectors at a
   * time; its rungs then vary between JVMs (2^20: 0.36x in some forks, up to 1.8x in others), as the two threads
   * still write parts of one cache line in every row.
   */
  public static final long MIN_PARALLEL_WORK = minParallelWork();

  /**
   * How long a worker keeps watching for the next job after its last one before it parks. A parked worker costs a
   * futex wake and an interrupt to its core: measured on a 2-vCPU Firecracker VM, 30-44 us from the caller's
   * publish to the worker's claim (p50; p99 up to 0.6 ms), against 0.4 us for a worker that is spinning; a kernel at
   * the baby shape takes 20-1,000 us, and the worker that waits out the caller's last share parked between most of
   * them when it spun only 2^11 onSpinWait rounds (37 us): it took 43% of the shares, and 50% with this. Through
   * the pool, a job of two 20 us shares after 0.1-1 ms of the caller's own work took 36-57 us (p50) with the short
   * spin, worse than the caller alone (the unpark of a parked worker itself holds the caller for tens of
   * microseconds), and 22 us with this. Two milliseconds cover the gaps inside a training step; a worker idle
   * longer parks, so an idle pool burns no core.
   */
  static final long SPIN_NANOS = 2_000_000L;

  /** onSpinWait rounds between looks at the clock; from the second look on, the worker also yields its core. */
  private static final int SPINS_PER_LOOK = 1 << 6;

  /**
   * Shares per thread: slack, so that a thread that starts late (or not at all) costs less, and small shares in the
   * middle of the range, where the threads' claims meet ({@link #plan}).
   */
  private static final int SHARES_PER_THREAD = 3;

  /**
   * The ticket holds the number of shares and the claims from either end in 16 bits each; a claim past the last
   * share still counts (once per thread and job), so the share count stays well below 2^16.
   */
  private static final int MAX_SHARES = 0x7FFF;

  private static final VarHandle BUSY;
  private static final VarHandle PENDING;
  private static final VarHandle TICKET;

  static {
    try {
      MethodHandles.Lookup lookup = MethodHandles.lookup();
      BUSY = lookup.findVarHandle(WorkerPool.class, "busy", int.class);
      PENDING = lookup.findVarHandle(WorkerPool.class, "pending", int.class);
      TICKET = lookup.findVarHandle(WorkerPool.class, "ticket", long.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  private static volatile WorkerPool shared = new WorkerPool(defaultThreads());

  private final int threads;
  private final Worker[] workers;
  /** 1 while a caller owns the pool (CAS from 0). */
  @SuppressWarnings("unused")
  private volatile int busy;
  /** Shares of the current job not yet finished. */
  @SuppressWarnings("unused")
  private volatile int pending;
  /**
   * The current job: its epoch (bits 48-63, wrapping; it only wakes workers), its number of shares (bits
   * 32-47), the shares claimed from the back (bits 16-31) and from the front (bits 0-15). Publishing a job writes
   * it whole; a thread claims a share with one getAndAdd (1 at the front, 2^16 at the back), which gets a share
   * while front + back is below the count, so every claim names the job it belongs to and is valid whoever makes
   * it, and no share is claimed twice: a worker that wakes late runs a share of whatever job is current, or finds
   * none left.
   */
  private volatile long ticket;
  private volatile boolean stopped;
  private Job job;
  /** Where each share of the current job starts (multiples of the grain), and its end: starts[shares] = units. */
  private final int[] starts;
  /** First failure of a worker in the current job, rethrown on the caller. */
  private volatile Throwable failure;

  private WorkerPool(int threads) {
    this.threads = threads;
    this.starts = new int[Math.min(threads * SHARES_PER_THREAD, MAX_SHARES) + 1];
    this.workers = new Worker[threads - 1];
    for (int w = 1; w < threads; w++) {
      Worker worker = new Worker(this);
      worker.setName("unroll-worker-" + w);
      worker.setDaemon(true);
      workers[w - 1] = worker;
      worker.start();
    }
  }

  /**
   * {@link #MIN_PARALLEL_WORK}: 2^18, or the system property {@code unroll.minParallelWork} (floating-point
   * operations), which the pool threshold benchmark sets to 0 so that it can time the small jobs on two threads too.
   */
  private static long minParallelWork() {
    return longProperty("unroll.minParallelWork", 1L << 18, 0);
  }

  private static int defaultThreads() {
    return (int) longProperty("unroll.threads", Math.max(1, Runtime.getRuntime().availableProcessors()), 1);
  }

  /** The system property {@code name}, a whole number >= {@code min}; {@code fallback} when it is not set. */
  private static long longProperty(String name, long fallback, long min) {
    String p = System.getProperty(name);
    if (p == null || p.isBlank()) {
      return fallback;
    }
    try {
      long n = Long.parseLong(p.trim());
      if (n >= min && n <= Integer.MAX_VALUE) {
        return n;
      }
    } catch (NumberFormatException e) {
      // fall through to the message below
    }
    throw new IllegalArgumentException("-D" + name + "=" + p + ": give a whole number >= " + min);
  }

  /** Threads the kernels split over, the caller included. */
  public static int threads() {
    return shared.threads;
  }

  /**
   * Replaces the pool by one of {@code n} threads (the caller included; 1 means no worker threads). Call it
   * between steps: a kernel that is running finishes on the old pool first.
   */
  public static synchronized void setThreads(int n) {
    if (n < 1) {
      throw new IllegalArgumentException("threads must be >= 1, got " + n);
    }
    WorkerPool old = shared;
    if (old.threads == n) {
      return;
    }
    while (!BUSY.compareAndSet(old, 0, 1)) {
      Thread.onSpinWait();
    }
    shared = new WorkerPool(n);
    old.stopped = true;
    for (Worker w : old.workers) {
      LockSupport.unpark(w);
    }
  }

  /** The ids of the current pool's worker threads (for allocation and CPU-time accounting). */
  public static long[] workerThreadIds() {
    Worker[] ws = shared.workers;
    long[] ids = new long[ws.length];
    for (int i = 0; i < ws.length; i++) {
      ids[i] = ws[i].threadId();
    }
    return ids;
  }

  /**
   * The pool, owned by the caller until {@link #run} returns; or null when the job should run on the caller
   * alone: {@code work} (about the job's floating-point operations) is below {@link #MIN_PARALLEL_WORK}, there
   * is one thread, or another thread is using the pool.
   */
  public static WorkerPool acquire(long work) {
    WorkerPool p = shared;
    if (p.threads == 1 || work < MIN_PARALLEL_WORK) {
      return null;
    }
    return BUSY.compareAndSet(p, 0, 1) ? p : null;
  }

  /**
   * Runs {@code job} over {@code [0, units)} on every thread of the pool, the caller included, and returns when
   * all shares are done; then clears the job and releases the pool. Shares are contiguous and begin at multiples of
   * {@code grain}; which thread runs which share is decided at run time, but the shares themselves are not.
   */
  public void run(Job job, int units, int grain) {
    try {
      if (units <= 0) {
        return;
      }
      int shares = plan(starts, units, Math.max(1, grain));
      this.job = job;
      this.failure = null;
      PENDING.setVolatile(this, shares);
      long epoch = (ticket >>> 48) + 1;
      TICKET.setVolatile(this, (epoch << 48) | ((long) shares << 32)); // publishes the fields above
      // no branch that is rarely taken on this path: a first-time branch makes C2 deoptimize, and deoptimizing
      // reallocates objects it had eliminated; an unpark of a thread that is not parked is cheap
      for (Worker w : workers) {
        LockSupport.unpark(w);
      }
      Throwable mine = null;
      try {
        claimShares(FRONT);
      } catch (RuntimeException | Error t) {
        mine = t;
      }
      // the workers may still be writing into the caller's arrays: wait for them even when the caller failed
      while ((int) PENDING.getVolatile(this) != 0) {
        Thread.onSpinWait();
      }
      Throwable f = mine != null ? mine : failure;
      if (f != null) {
        if (f instanceof RuntimeException r) {
          throw r;
        }
        if (f instanceof Error e) {
          throw e;
        }
        throw new IllegalStateException(f);
      }
    } finally {
      this.job = null;
      job.clear();
      BUSY.setVolatile(this, 0);
    }
  }

  /**
   * Cuts [0, units) into at most {@code starts.length - 1} shares that start at multiples of {@code grain}, writes
   * their starts and the end (units) into {@code starts}, and returns their number. The shares shrink from both ends
   * toward the middle (weights n/2, ..., 2, 1, 1, 2, ..., n/2 in blocks of the grain), since the caller claims from
   * the front and the workers from the back: each thread starts on a large share, and the last shares claimed,
   * where the threads meet, are small, so the thread that finishes first waits for the other less. Counted inside
   * the pool on a 2-vCPU AMD EPYC (two threads, two runs each, alternating builds): with four equal shares the caller
   * waited 52-70 ms of a 347-363 ms training step at the medium shape for the worker's last share, and 4.4-7.1 ms of
   * 30-38 ms at baby; with these six, 7-15 ms and 1.4-2.2 ms.
   */
  static int plan(int[] starts, int units, int grain) {
    int blocks = (units + grain - 1) / grain;
    int n = Math.max(1, Math.min(blocks, starts.length - 1));
    long total = 0;
    for (int i = 0; i < n; i++) {
      total += weight(i, n);
    }
    long sum = 0;
    int block = 0;
    for (int i = 0; i < n; i++) {
      starts[i] = (int) Math.min(units, (long) block * grain);
      sum += weight(i, n);
      // the next start: this share's part of the blocks, at least one block, leaving one for each share after it
      block = (int) Math.max(block + 1, Math.min(blocks - (n - 1 - i), (sum * blocks + total / 2) / total));
    }
    starts[n] = units;
    return n;
  }

  /** Share i's weight in {@link #plan}'s cut into n: (n + 1) / 2 at either end, one less per share inward. */
  private static int weight(int i, int n) {
    return (n + 1) / 2 - Math.min(i, n - 1 - i);
  }

  /** The caller's claim: the next share from the front. */
  private static final long FRONT = 1L;

  /** A worker's claim: the next share from the back. */
  private static final long BACK = 1L << 16;

  /**
   * Claims ({@link #FRONT} or {@link #BACK}) and runs shares of the current job until none is left; failures are
   * recorded, not thrown.
   */
  private void claimShares(long end) {
    while (true) {
      long t = (long) TICKET.getAndAdd(this, end);
      int front = (int) t & 0xFFFF;
      int back = (int) (t >>> 16) & 0xFFFF;
      int shares = (int) (t >>> 32) & 0xFFFF;
      if (front + back >= shares) {
        return;
      }
      int share = end == FRONT ? front : shares - 1 - back;
      try {
        job.run(starts[share], starts[share + 1]);
      } catch (RuntimeException | Error e) {
        if (failure == null) {
          failure = e;
        }
      } finally {
        PENDING.getAndAdd(this, -1);
      }
    }
  }

  /** A pool thread: waits for the next epoch, then claims and runs shares like the caller. */
  private static final class Worker extends Thread {
    private final WorkerPool pool;
    volatile boolean parked;

    Worker(WorkerPool pool) {
      this.pool = pool;
    }

    @Override
    public void run() {
      WorkerPool p = pool;
      long seen = 0;
      while (true) {
        long e;
        int spins = 0;
        long idleSince = System.nanoTime();
        while ((e = p.ticket >>> 48) == seen && !p.stopped) {
          if (++spins % SPINS_PER_LOOK != 0) {
            Thread.onSpinWait();
          } else if (System.nanoTime() - idleSince < SPIN_NANOS) {
            // a core shared with other runnable threads (an oversubscribed machine; the caller itself) gets them
            // back between looks; on an idle core this returns at once
            if (spins > SPINS_PER_LOOK) {
              Thread.yield();
            }
          } else {
            parked = true;
            if (p.ticket >>> 48 == seen && !p.stopped) {
              LockSupport.park(p);
            }
            parked = false;
          }
        }
        if (p.stopped) {
          return;
        }
        seen = e;
        p.claimShares(BACK);
      }
    }
  }
}
