package dev.unroll.runtime.mpi;

import dev.unroll.runtime.AdamW;
import dev.unroll.runtime.Parameters;
import dev.unroll.runtime.Trainable;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

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
 * <p>Training checkpoints: {@link #saveCheckpoint} writes, from rank 0, the one file {@link AdamW#saveCheckpoint}
 * writes (a sharded optimizer's slices gathered first), and {@link #loadCheckpoint} reads it on rank 0 and hands
 * every rank the parameters and its slice of the moments: a run resumes with the same number of ranks, another, or
 * as a single process, and a single process's checkpoint resumes on N ranks.
 *
 * <p>On {@code Backend.OPENCL} the gradients are read from the device, averaged on the host and written back (the
 * whole arenas cross the bus twice per step); ZeRO-1 needs the parameters on the host (SCALAR or SIMD).
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
    model.parameters().requireGrads("DataParallel");
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

  /**
   * Checks that every rank holds the same parameters, bit for bit, as data parallelism keeps them after every step:
   * a 64-bit hash of this rank's parameters against every other rank's (all-gathered). A difference means the ranks
   * did not take the same steps (an optimizer set up otherwise on one rank, a model changed on one rank, another
   * program). Every rank must call it; it reads every parameter once, so call it now and then (with a checkpoint),
   * not every step.
   *
   * @throws IllegalStateException on every rank alike, naming the ranks whose parameters differ from rank 0's
   */
  public void checkReplicas() {
    float[] values = model.parameters().values();
    long h = 0xcbf29ce484222325L;
    for (float v : values) {
      h = (h ^ Float.floatToRawIntBits(v)) * 0x100000001b3L; // FNV-1a over the floats' bits
    }
    // Four 16-bit pieces per rank, each a whole float: an all-gather copies them exactly.
    int ranks = mpi.size();
    float[] hashes = new float[4 * ranks];
    int[] four = new int[ranks];
    int[] at = new int[ranks];
    for (int r = 0; r < ranks; r++) {
      four[r] = 4;
      at[r] = 4 * r;
    }
    for (int k = 0; k < 4; k++) {
      hashes[4 * mpi.rank() + k] = (h >>> (16 * k)) & 0xffff;
    }
    mpi.allGather(hashes, four, at);
    StringBuilder differ = new StringBuilder();
    for (int r = 1; r < ranks; r++) {
      if (!java.util.Arrays.equals(hashes, 4 * r, 4 * r + 4, hashes, 0, 4)) {
        differ.append(differ.isEmpty() ? "" : ", ").append(r);
      }
    }
    if (!differ.isEmpty()) {
      throw new IllegalStateException("the parameters of rank(s) " + differ + " differ from rank 0's: the ranks "
          + "did not take the same steps (the same optimizer settings and steps on every rank?)");
    }
  }

  /** The mean of {@code value} over every rank (a loss, for the log); every rank must call it. */
  public float mean(float value) {
    one[0] = value;
    mpi.allReduceSum(one, 1);
    return one[0] / mpi.size();
  }

  /**
   * Writes a training checkpoint of the model and {@code opt} to {@code path}, as {@link AdamW#saveCheckpoint} does
   * in one process: every rank calls it at the same step; a {@link #shardedAdamW()}'s slices of the moments are
   * gathered on rank 0 (which holds the whole model's moments only while it writes), and rank 0 writes the file,
   * atomically. Returns on every rank once the file is complete, or throws on every rank: rank 0 what the write
   * threw, the others an IOException quoting it.
   *
   * @param opt this model's optimizer on this rank: {@link #shardedAdamW()}, or an unsharded AdamW (the same state on
   *     every rank, so rank 0's is written)
   * @param state the caller's strings, as {@link AdamW#saveCheckpoint} keeps them (rank 0's are written)
   */
  public void saveCheckpoint(AdamW opt, Path path, Map<String, String> state) throws IOException {
    boolean sharded = sharded(opt);
    AdamW.State s = null;
    Exception failure = null;
    try {
      s = sharded || root() ? opt.state(state) : null; // an unsharded optimizer's state is rank 0's to write
    } catch (RuntimeException e) {
      failure = e; // a key of state is refused: on every rank alike, as every rank passes the same
    }
    if (sharded && failure == null) {
      float[][] whole = new float[2][];
      float[][] part = {s.firstMoments(), s.secondMoments()};
      for (int k = 0; k < 2; k++) {
        whole[k] = root() ? new float[model.parameters().count()] : null;
        mpi.gather(part[k], whole[k], counts, displs, 0);
      }
      s = root() ? s.withMoments(whole[0], whole[1]) : null;
    }
    if (root() && failure == null) {
      try {
        AdamW.writeCheckpoint(model, path, s);
      } catch (IOException | RuntimeException e) {
        failure = e;
      }
    }
    outcome(failure, "write the training checkpoint " + path);
  }

  /**
   * Restores on every rank the training checkpoint at {@code path} (written by {@link #saveCheckpoint} with any
   * number of ranks, or by {@link AdamW#saveCheckpoint} in one process): every rank calls it; rank 0 reads and
   * verifies the file (only rank 0 needs to see it), then every rank receives the parameters, the step, the
   * hyperparameters, the caller's strings and the moments it holds (a {@link #shardedAdamW()} its own slice). All
   * or nothing: when rank 0 cannot load the file, nothing changes on any rank, and every rank throws: rank 0 the
   * {@link dev.unroll.runtime.format.CheckpointException} naming the file, the others an IOException quoting it.
   *
   * @return the caller's strings the checkpoint was saved with (unmodifiable)
   */
  public Map<String, String> loadCheckpoint(AdamW opt, Path path) throws IOException {
    Parameters p = model.parameters();
    boolean sharded = sharded(opt);
    AdamW.State s = null;
    Exception failure = null;
    if (root()) {
      try {
        s = AdamW.readCheckpoint(model, path);
        model.loadParameters(path); // all or nothing
      } catch (IOException | RuntimeException e) {
        failure = e;
      }
    }
    outcome(failure, "load the training checkpoint " + path);
    // Rank 0 holds the checkpoint's state: the rest travels to every rank.
    AdamW.State header = fromBytes(mpi.broadcast(root() ? toBytes(s) : null, 0));
    mpi.broadcast(p.values(), 0);
    model.parametersChanged();
    float[][] moments = new float[2][];
    for (int k = 0; k < 2; k++) {
      float[] whole = root() ? (k == 0 ? s.firstMoments() : s.secondMoments()) : new float[p.count()];
      if (sharded) {
        moments[k] = new float[counts[mpi.rank()]];
        mpi.scatter(whole, moments[k], counts, displs, 0);
      } else {
        mpi.broadcast(whole, 0);
        moments[k] = whole;
      }
    }
    opt.restore(header.withMoments(moments[0], moments[1]));
    return header.extra();
  }

  private boolean root() {
    return mpi.rank() == 0;
  }

  /** Whether {@code opt} is this rank's {@link #shardedAdamW()} rather than a whole-model AdamW. */
  private boolean sharded(AdamW opt) {
    int n = model.parameters().count();
    int mine = counts[mpi.rank()];
    if (opt.momentCount() == n) {
      return false;
    }
    if (opt.momentCount() != mine) {
      throw new IllegalArgumentException("the optimizer holds moments of " + opt.momentCount() + " parameters: "
          + "neither the model's " + n + " nor this rank's slice of " + mine + " (DataParallel.shardedAdamW())");
    }
    return true;
  }

  /**
   * Tells every rank whether rank 0 succeeded ({@code failure} null there): returns when it did; else rethrows rank
   * 0's exception on rank 0 and throws an IOException quoting it on the others.
   */
  private void outcome(Exception failure, String what) throws IOException {
    byte[] said = mpi.broadcast(root() ? (failure == null ? new byte[0]
        : String.valueOf(failure.getMessage()).getBytes(StandardCharsets.UTF_8)) : null, 0);
    if (failure instanceof IOException e) {
      throw e;
    }
    if (failure instanceof RuntimeException e) {
      throw e;
    }
    if (said.length > 0) {
      throw new IOException("rank 0 could not " + what + ": " + new String(said, StandardCharsets.UTF_8));
    }
  }

  /** The step, hyperparameters and caller's strings of {@code s} (not its moments), for a broadcast. */
  private static byte[] toBytes(AdamW.State s) {
    try {
      ByteArrayOutputStream bytes = new ByteArrayOutputStream();
      DataOutputStream out = new DataOutputStream(bytes);
      out.writeInt(s.step());
      for (float f : new float[] {s.lr(), s.beta1(), s.beta2(), s.eps(), s.weightDecay(), s.maxGradNorm()}) {
        out.writeFloat(f);
      }
      out.writeInt(s.extra().size());
      for (Map.Entry<String, String> e : s.extra().entrySet()) {
        writeString(out, e.getKey());
        writeString(out, e.getValue());
      }
      out.flush();
      return bytes.toByteArray();
    } catch (IOException e) {
      throw new UncheckedIOException(e); // a ByteArrayOutputStream does not fail
    }
  }

  private static AdamW.State fromBytes(byte[] b) {
    try {
      DataInputStream in = new DataInputStream(new ByteArrayInputStream(b));
      int step = in.readInt();
      float[] h = new float[6];
      for (int i = 0; i < h.length; i++) {
        h[i] = in.readFloat();
      }
      Map<String, String> extra = new LinkedHashMap<>();
      for (int i = in.readInt(); i > 0; i--) {
        extra.put(readString(in), readString(in));
      }
      return new AdamW.State(step, h[0], h[1], h[2], h[3], h[4], h[5], extra, new float[0], new float[0]);
    } catch (IOException e) {
      throw new UncheckedIOException(e); // the bytes are toBytes' own
    }
  }

  /** UTF-8 with an int length (DataOutput's writeUTF stops at 64 KiB; a loss curve may be longer). */
  private static void writeString(DataOutputStream out, String s) throws IOException {
    byte[] b = s.getBytes(StandardCharsets.UTF_8);
    out.writeInt(b.length);
    out.write(b);
  }

  private static String readString(DataInputStream in) throws IOException {
    return new String(in.readNBytes(in.readInt()), StandardCharsets.UTF_8);
  }
}
