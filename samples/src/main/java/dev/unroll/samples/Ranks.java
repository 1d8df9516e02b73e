package dev.unroll.samples;

import dev.unroll.runtime.mpi.Mpi;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/**
 * The processes a run trains on: this one alone, or, when Open MPI's {@code mpirun} started it, every rank of its
 * world, each training one replica data-parallel ({@link Training}). Rank 0 is the root: it alone prints, lists the
 * checkpoints and writes files; the other ranks learn what it found through {@link #onRoot}, so that every rank takes
 * the same decisions and meets the others in the same collectives. Alone, this process is rank 0 of one and every
 * method does what a single process would.
 */
final class Ranks {
  /** This process alone: no MPI. */
  static final Ranks ONE = new Ranks(null);

  private static Ranks world;

  /** The world, or null alone. */
  private final Mpi mpi;
  /** Four 16-bit pieces of a long, for {@link #sum}. */
  private final float[] pieces = new float[4];

  private Ranks(Mpi mpi) {
    this.mpi = mpi;
  }

  /**
   * The ranks of {@code mpirun}'s world when it started this process (and Open MPI's library loads), MPI initialised
   * now; else {@link #ONE}. Under {@code mpirun -np 1} too: one rank, data-parallel through MPI, trains exactly as
   * the process alone would.
   */
  static synchronized Ranks world() {
    if (world == null) {
      world = Mpi.available() ? new Ranks(Mpi.world()) : ONE;
    }
    return world;
  }

  /** Whether this process is a rank of an MPI world (of any size, 1 included). */
  boolean parallel() {
    return mpi != null;
  }

  int rank() {
    return mpi == null ? 0 : mpi.rank();
  }

  int size() {
    return mpi == null ? 1 : mpi.size();
  }

  boolean root() {
    return rank() == 0;
  }

  /** The world, for the collectives of data parallelism; only when {@link #parallel()}. */
  Mpi mpi() {
    return mpi;
  }

  /** What rank 0 alone does, returning a text for every rank; it may fail, as a SampleException. */
  interface RootAction {
    String run() throws SampleException;
  }

  /**
   * Runs {@code action} on rank 0 alone and returns its text on every rank. When it fails, every rank throws: rank 0
   * what the action threw, the others a SampleException quoting it, so that no rank goes on to wait for a rank that
   * stopped.
   */
  String onRoot(RootAction action) throws SampleException {
    if (mpi == null) {
      return action.run();
    }
    String result = null;
    Exception failure = null;
    if (root()) {
      try {
        result = action.run();
      } catch (SampleException | RuntimeException e) {
        failure = e;
      }
    }
    // '+' and the result, or '-' and why it failed.
    byte[] sent = root() ? (failure == null ? "+" + result : "-" + failure.getMessage()).getBytes(
        StandardCharsets.UTF_8) : null;
    String received = new String(mpi.broadcast(sent, 0), StandardCharsets.UTF_8);
    if (received.startsWith("+")) {
      return received.substring(1);
    }
    if (failure instanceof SampleException e) {
      throw e;
    }
    if (failure instanceof RuntimeException e) {
      throw e;
    }
    throw new SampleException("rank 0 stopped: " + received.substring(1));
  }

  /**
   * The sum of {@code value} (at least 0, below 2^64) over every rank; every rank must call it. Exact: the all-reduce
   * sums floats, so the value travels as four 16-bit pieces, whose sums stay exact up to 256 ranks.
   */
  long sum(long value) {
    if (mpi == null) {
      return value;
    }
    for (int i = 0; i < pieces.length; i++) {
      pieces[i] = (value >>> (16 * i)) & 0xFFFF;
    }
    mpi.allReduceSum(pieces, pieces.length);
    long sum = 0;
    for (int i = 0; i < pieces.length; i++) {
      sum += (long) pieces[i] << (16 * i);
    }
    return sum;
  }

  /** What this rank prints on: {@code out} on rank 0, nothing elsewhere (the ranks would print the same N times). */
  PrintStream out(PrintStream out) {
    return root() ? out : new PrintStream(OutputStream.nullOutputStream());
  }

  /** What this rank reports errors on: {@code err}, each line after {@code "rank N: "} on the ranks but 0. */
  PrintStream err(PrintStream err) {
    if (root()) {
      return err;
    }
    byte[] prefix = ("rank " + rank() + ": ").getBytes(StandardCharsets.UTF_8);
    return new PrintStream(new FilterOutputStream(err) {
      private boolean lineStart = true;

      @Override
      public void write(int b) throws IOException {
        if (lineStart) {
          out.write(prefix);
        }
        out.write(b);
        lineStart = b == '\n';
      }
    }, true, StandardCharsets.UTF_8);
  }
}
