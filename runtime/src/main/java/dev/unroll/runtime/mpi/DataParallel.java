package dev.unroll.runtime.mpi;

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
 * <p>Nothing is allocated per step: the collective works in one native buffer, allocated on the first call.
 */
public final class DataParallel {
  private final Mpi mpi;
  private final Trainable model;
  private final float[] one = new float[1];

  private DataParallel(Mpi mpi, Trainable model) {
    this.mpi = mpi;
    this.model = model;
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
    Parameters p = model.parameters();
    float[] g = p.grads();
    mpi.allReduceSum(g, g.length);
    if (mpi.size() > 1) {
      float scale = 1f / mpi.size();
      for (int i = 0; i < g.length; i++) {
        g[i] *= scale;
      }
    }
    model.parametersChanged();
  }

  /** The mean of {@code value} over every rank (a loss, for the log); every rank must call it. */
  public float mean(float value) {
    one[0] = value;
    mpi.allReduceSum(one, 1);
    return one[0] / mpi.size();
  }
}
