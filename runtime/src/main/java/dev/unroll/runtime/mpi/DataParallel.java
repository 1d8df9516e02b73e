package dev.unroll.runtime.mpi;

import dev.unroll.runtime.AdamW;
import dev.unroll.runtime.Parameters;
import dev.unroll.runtime.Trainable;

/**
 * Data-parallel training over the processes of an MPI world: each rank holds a replica of the same model, takes
 * its own share of every batch, and after {@code backward()} calls {@link #averageGradients()}, which replaces every
 * rank's gradients with their mean over the ranks (one MPI_Allreduce of the whole gradient arena). Every rank then
 * takes the same optimizer step from the same gradients and keeps the same parameters, so that N ranks of batch b
 * train as one process of batch N·b would, to within the order of float32 sums.
 *
 * <pre>{@code
 * DataParallel dp = DataParallel.of(model);            // Mpi.world(): rank and size from mpirun
 * float loss = model.forward(myRowsX, myRowsY);        // this rank's share of the batch
 * model.zeroGrad(); model.backward();
 * dp.averageGradients();                               // the mean over the ranks, on every rank
 * opt.step();
 * float meanLoss = dp.mean(loss);                      // the batch's loss, for the log
 * }</pre>
 *
 * <p>ZeRO-1, as llm.c shards AdamW: {@link #shardedAdamW} keeps AdamW's moments only for this rank's slice of the
 * parameters (1/N of them), its step updates only that slice, and {@link #gatherParameters()} hands every rank the
 * others' slices, so that every rank again holds every parameter, bit for bit what an unsharded optimizer gives:
 *
 * <pre>{@code
 * AdamW opt = dp.shardedAdamW().lr(1e-3f);              // moments for this rank's slice only
 * ... forward, zeroGrad, backward, dp.averageGradients();
 * opt.step();                                          // this rank's slice
 * dp.gatherParameters();                               // every slice, to every rank
 * }</pre>
 *
 * <p>Nothing is allocated per step: the collectives work in native buffers, allocated on the first call.
 */
public final class DataParallel {
  private final Mpi mpi;
  private final Trainable model;
  private final float[] one = new float[1];
  /** Each rank's slice of the parameters under ZeRO-1: its first parameter and its count. */
  private final int[] displs;
  private final int[] counts;

  private DataParallel(Mpi mpi, Trainable model) {
    this.mpi = mpi;
    this.model = model;
    int n = model.parameters().count();
    int ranks = mpi.size();
    // Slices of whole 16-float blocks (a SIMD vector at AVX-512), the last ranks' shorter or empty when n is small.
    int chunk = ((n + ranks - 1) / ranks + 15) / 16 * 16;
    displs = new int[ranks];
    counts = new int[ranks];
    for (int r = 0; r < ranks; r++) {
      displs[r] = (int) Math.min(n, (long) r * chunk);
      counts[r] = (int) Math.min(n - displs[r], chunk);
    }
  }

  /**
   * Data parallelism for {@code model} over this process's MPI world.
   *
   * @throws MpiException when MPI is unavailable (not started by mpirun, or Open MPI not installed), saying which
   */
  public static DataParallel of(Trainable model) {
    return new DataParallel(Mpi.world(), model);
  }

  /** The world this runs in. */
  public Mpi mpi() {
    return mpi;
  }

  /** Replaces this rank's gradients with their mean over every rank; every rank must call it once per step. */
  public void averageGradients() {
    averageGradients(1);
  }

  /**
   * After {@code microSteps} forward and backward passes without {@code zeroGrad()} between them (gradient
   * accumulation: the effective batch is batch × microSteps × ranks), replaces this rank's gradients, the sum of
   * its micro-steps' mean gradients, with the mean over every micro-step of every rank: one all-reduce per optimizer
   * step, whatever the number of micro-steps.
   */
  public void averageGradients(int microSteps) {
    if (microSteps < 1) {
      throw new IllegalArgumentException("microSteps must be at least 1, got " + microSteps);
    }
    Parameters p = model.parameters();
    float[] g = p.grads();
    mpi.allReduceSum(g, g.length);
    int parts = mpi.size() * microSteps;
    if (parts > 1) {
      float scale = 1f / parts;
      for (int i = 0; i < g.length; i++) {
        g[i] *= scale;
      }
    }
    model.parametersChanged();
  }

  /**
   * ZeRO-1: an AdamW that keeps its moments for, and updates, only this rank's slice of the parameters; after each
   * of its steps call {@link #gatherParameters()}.
   */
  public AdamW shardedAdamW() {
    int r = mpi.rank();
    return AdamW.ofShard(model, displs[r], displs[r] + counts[r]);
  }

  /** This rank's slice under ZeRO-1: {@code {first parameter, count}}. */
  public int[] shard() {
    return new int[] {displs[mpi.rank()], counts[mpi.rank()]};
  }

  /** After a {@link #shardedAdamW()}'s step on every rank: every rank's slice of the parameters to every rank. */
  public void gatherParameters() {
    Parameters p = model.parameters();
    mpi.allGather(p.values(), counts, displs);
    model.parametersChanged();
  }

  /** The mean of {@code value} over every rank (a loss, for the log); every rank must call it. */
  public float mean(float value) {
    one[0] = value;
    mpi.allReduceSum(one, 1);
    return one[0] / mpi.size();
  }
}
