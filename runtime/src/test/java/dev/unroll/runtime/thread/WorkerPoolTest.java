package dev.unroll.runtime.thread;

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
      AtomicIntegerArray seen = new AtomicIntegerArray(units);
      WorkerPool pool = WorkerPool.acquire(Long.MAX_VALUE);
      assertNotNull(pool);
      pool.args().n0 = new int[] {units};
      COUNTS = seen;
      pool.run(MARK, units, 4);
      for (int i = 0; i < units; i++) {
        assertEquals(1, seen.get(i), "unit " + i + " of " + units);
      }
    }
  }

  private static AtomicIntegerArray COUNTS;

  private static final WorkerPool.RangeTask MARK = (a, from, to) -> {
    if (from % 4 != 0) {
      throw new AssertionError("share starts at " + from);
    }
    for (int i = from; i < to; i++) {
      COUNTS.incrementAndGet(i);
    }
  };

  @Test
  void aFailureInAnyShareReachesTheCallerAndReleasesThePool() {
    WorkerPool.setThreads(2);
    WorkerPool pool = WorkerPool.acquire(Long.MAX_VALUE);
    var e = assertThrows(IllegalStateException.class, () -> pool.run((a, from, to) -> {
      if (to == 1000) {
        throw new IllegalStateException("last share");
      }
    }, 1000, 1));
    assertEquals("last share", e.getMessage());
    assertSame(pool, WorkerPool.acquire(Long.MAX_VALUE), "released after the failure");
    pool.run((a, from, to) -> { }, 1, 1);
  }

  @Test
  void smallJobsOneThreadAndABusyPoolRunOnTheCaller() {
    WorkerPool.setThreads(2);
    assertNull(WorkerPool.acquire(WorkerPool.MIN_PARALLEL_WORK - 1));
    WorkerPool pool = WorkerPool.acquire(WorkerPool.MIN_PARALLEL_WORK);
    assertNotNull(pool);
    assertNull(WorkerPool.acquire(Long.MAX_VALUE), "owned by this caller until run returns");
    pool.run((a, from, to) -> { }, 0, 1);
    WorkerPool.setThreads(1);
    assertNull(WorkerPool.acquire(Long.MAX_VALUE));
    assertEquals(0, WorkerPool.workerThreadIds().length);
    assertThrows(IllegalArgumentException.class, () -> WorkerPool.setThreads(0));
  }
}
