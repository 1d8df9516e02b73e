package dev.unroll.runtime.thread;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The pool on its own: shares cover the range once, failures reach the caller, a busy pool is not shared. */
class WorkerPoolTest {
  private final int initialThreads = WorkerPool.threads();

  @AfterEach
  void restoreThreads() {
    WorkerPool.setThreads(initialThreads);
  }

  @Test
  void everyUnitRunsExactlyOnceInSharesAlignedToTheGrain() {
    WorkerPool.setThreads(3);
    for (int units : new int[] {1, 7, 8, 9, 100, 1001}) {
      for (int grain : new int[] {1, 4, 5}) {
        AtomicIntegerArray seen = new AtomicIntegerArray(units);
        WorkerPool pool = WorkerPool.acquire(Long.MAX_VALUE);
        assertNotNull(pool);
        MARK.counts = seen;
        MARK.grain = grain;
        pool.run(MARK, units, grain);
        assertNull(MARK.counts, "the pool clears a job's arrays after it");
        for (int i = 0; i < units; i++) {
          assertEquals(1, seen.get(i), "unit " + i + " of " + units + ", grain " + grain);
        }
      }
    }
  }

  @Test
  void sharesShrinkTowardTheMiddleWhereTheClaimsMeet() {
    int[] starts = new int[7];
    assertEquals(6, WorkerPool.plan(starts, 12 * 32, 32));
    assertArrayEquals(new int[] {0, 3 * 32, 5 * 32, 6 * 32, 7 * 32, 9 * 32, 12 * 32}, starts);
    assertEquals(6, WorkerPool.plan(starts, 1000, 16)); // 63 blocks, the last one short
    assertArrayEquals(new int[] {0, 256, 416, 512, 592, 752, 1000}, starts);
    assertEquals(3, WorkerPool.plan(starts, 7, 3)); // fewer blocks than shares: one block each
    assertArrayEquals(new int[] {0, 3, 6, 7}, java.util.Arrays.copyOf(starts, 4));
    assertEquals(1, WorkerPool.plan(starts, 5, 8));
    assertArrayEquals(new int[] {0, 5}, java.util.Arrays.copyOf(starts, 2));
  }

  /**
   * Counts each unit it runs; every share reads the fields the owner wrote before {@link WorkerPool#run}, on
   * whichever thread runs it.
   */
  private static final class Mark extends WorkerPool.Job {
    AtomicIntegerArray counts;
    int grain;

    @Override
    protected void run(int from, int to) {
      if (from % grain != 0) {
        throw new AssertionError("share starts at " + from + ", not a multiple of " + grain);
      }
      for (int i = from; i < to; i++) {
        counts.incrementAndGet(i);
      }
    }

    @Override
    protected void clear() {
      counts = null;
    }
  }

  private static final Mark MARK = new Mark();

  /** A job that fails in the share that ends at {@code failAt}, and records that it was cleared. */
  private static final class Failing extends WorkerPool.Job {
    int failAt;
    int cleared;
    int[] held;

    @Override
    protected void run(int from, int to) {
      if (to == failAt) {
        throw new IllegalStateException("last share");
      }
    }

    @Override
    protected void clear() {
      held = null;
      cleared++;
    }
  }

  @Test
  void aFailureInAnyShareReachesTheCallerAndReleasesThePool() {
    WorkerPool.setThreads(2);
    WorkerPool pool = WorkerPool.acquire(Long.MAX_VALUE);
    Failing job = new Failing();
    job.failAt = 1000;
    job.held = new int[1];
    var e = assertThrows(IllegalStateException.class, () -> pool.run(job, 1000, 1));
    assertEquals("last share", e.getMessage());
    assertNull(job.held, "cleared after the failure");
    assertEquals(1, job.cleared);
    assertSame(pool, WorkerPool.acquire(Long.MAX_VALUE), "released after the failure");
    job.failAt = -1;
    pool.run(job, 1, 1);
    assertEquals(2, job.cleared);
  }

  @Test
  void smallJobsOneThreadAndABusyPoolRunOnTheCaller() {
    WorkerPool.setThreads(2);
    assertNull(WorkerPool.acquire(WorkerPool.MIN_PARALLEL_WORK - 1));
    WorkerPool pool = WorkerPool.acquire(WorkerPool.MIN_PARALLEL_WORK);
    assertNotNull(pool);
    assertNull(WorkerPool.acquire(Long.MAX_VALUE), "owned by this caller until run returns");
    Failing job = new Failing();
    job.failAt = -1;
    pool.run(job, 0, 1);
    assertEquals(1, job.cleared, "an empty job is cleared too");
    WorkerPool.setThreads(1);
    assertNull(WorkerPool.acquire(Long.MAX_VALUE));
    assertEquals(0, WorkerPool.workerThreadIds().length);
    assertThrows(IllegalArgumentException.class, () -> WorkerPool.setThreads(0));
  }
}
