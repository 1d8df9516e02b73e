package dev.unroll.processor;

import dev.unroll.processor.models.UnrolledMicro;
import dev.unroll.runtime.AdamW;
import dev.unroll.runtime.Backend;
import dev.unroll.runtime.mpi.DataParallel;
import java.util.Locale;
import java.util.zip.CRC32;

/**
 * One rank of {@link DataParallelTest}'s run, started by {@code mpirun}: {@link UnrolledMicro} (batch 2) takes rows
 * {@code [2·rank, 2·rank + 2)} of each step's global batch ({@link #globalBatch}), averages its gradients over the
 * ranks and steps. Writes, for every step, its loss, the mean loss over the ranks and a checksum of its parameters
 * after the step, to {@code rank-<rank>.txt} in the folder its argument names (one file per rank: the ranks'
 * standard outputs are merged by mpirun in pieces). With a second argument {@code zero}, AdamW's state is sharded
 * across the ranks (ZeRO-1: {@link DataParallel#shardedAdamW()}, then {@link DataParallel#gatherParameters()}), and
 * the file's first line says how many moments of each kind the rank holds. With {@code accumulate}, each step is two
 * micro-steps of batch 2 per rank (rows {@code [4·rank, 4·rank + 4)} of a global batch of 4N), their gradients
 * accumulated and averaged once. With {@code endless}, it trains until killed, rank 1 having written its process id
 * to {@code pid-1} after its first step (the test of a rank that dies); with {@code throw}, rank 1 alone throws an
 * exception at step 2, which nothing catches; {@code plain} checks every step that the ranks' parameters agree
 ({@link DataParallel#checkReplicas()}), and {@code diverge} makes rank 1's learning rate another, writing what
 the check said to {@code replicas-<rank>.txt}; {@code opencl} is {@code plain} on the OPENCL backend (the gradients
 * read from the device, averaged on the host, written back). Further arguments: {@code save=S} writes a
 * training checkpoint {@code checkpoint.safetensors} into the folder after S steps ({@link
 * DataParallel#saveCheckpoint}), {@code until=S} stops after S steps, and {@code resume=FILE} starts from a
 * checkpoint ({@link DataParallel#loadCheckpoint}) at the step it was saved after. With {@code times}, rank 0 also
 * writes {@code time.txt}, the median and the mean wall time of the second half's steps (the first half warms the JIT
 * up; the median is the one a busy machine's preemptions hardly move), for measuring a step's time by hand (across
 * network namespaces with {@code runtime/mpi-netns.sh}, or on shared memory).
 */
public final class DataParallelRun {
  private DataParallelRun() {}

  static final long SEED = 5;
  static final int STEPS = 20;

  public static void main(String[] args) throws java.io.IOException {
    if (args[1].equals("sums")) {
      sums(args[0]);
      return;
    }
    UnrolledMicro model = UnrolledMicro.create(args[1].equals("opencl") ? Backend.OPENCL : Backend.SIMD, SEED);
    DataParallel dp = DataParallel.of(model);
    int rank = dp.mpi().rank();
    int ranks = dp.mpi().size();
    boolean zero = args.length > 1 && args[1].equals("zero");
    int micro = args.length > 1 && args[1].equals("accumulate") ? 2 : 1;
    boolean endless = args.length > 1 && args[1].equals("endless");
    boolean diverge = args[1].equals("diverge");
    AdamW opt = (zero ? dp.shardedAdamW() : AdamW.of(model)).lr(diverge && rank == 1 ? 2e-2f : 1e-2f)
        .weightDecay(0.1f).clipGradNorm(1f);
    int save = Integer.parseInt(option(args, "save", "-1"));
    int until = Integer.parseInt(option(args, "until", Integer.toString(STEPS)));
    int first = 0;
    String resume = option(args, "resume", null);
    if (resume != null) {
      try {
        first = Integer.parseInt(dp.loadCheckpoint(opt, java.nio.file.Path.of(resume)).get("next"));
      } catch (java.io.IOException e) {
        // Every rank fails alike: each says what it was told before the first to end aborts the others.
        java.nio.file.Files.writeString(java.nio.file.Path.of(args[0], "failed-" + rank + ".txt"), e.toString());
        dp.mpi().barrier();
        throw e;
      }
    }
    int per = UnrolledMicro.TOKENS;
    int[] x = new int[per];
    int[] y = new int[per];
    StringBuilder log = new StringBuilder();
    log.append(String.format(Locale.ROOT, "rank %d moments %d of %d on %s%n", rank, opt.momentCount(),
        model.parameters().count(), model.backend()));
    long[] took = new long[endless ? 0 : Math.max(0, until - first)];
    for (int step = first; step < until || endless; step++) {
      long began = System.nanoTime();
      int[][] global = globalBatch(step, ranks * micro * UnrolledMicro.BATCH);
      model.zeroGrad();
      float loss = 0;
      for (int k = 0; k < micro; k++) {
        System.arraycopy(global[0], (rank * micro + k) * per, x, 0, per);
        System.arraycopy(global[1], (rank * micro + k) * per, y, 0, per);
        loss += model.forward(x, y) / micro;
        model.backward();
      }
      dp.averageGradients(micro);
      opt.step();
      if (zero) {
        dp.gatherParameters();
      }
      float mean = dp.mean(loss);
      if (args[1].equals("plain") || diverge) {
        try {
          dp.checkReplicas();
        } catch (IllegalStateException e) {
          java.nio.file.Files.writeString(java.nio.file.Path.of(args[0], "replicas-" + rank + ".txt"),
              "step " + step + ": " + e.getMessage());
          return;
        }
      }
      if (args[1].equals("throw") && rank == 1 && step == 2) {
        throw new IllegalStateException("rank 1 fails alone at step 2");
      }
      if (endless) {
        if (step == 0 && rank == 1) {
          java.nio.file.Path written = java.nio.file.Files.writeString(java.nio.file.Path.of(args[0], "pid-1.tmp"),
              Long.toString(ProcessHandle.current().pid()));
          java.nio.file.Files.move(written, java.nio.file.Path.of(args[0], "pid-1"),
              java.nio.file.StandardCopyOption.ATOMIC_MOVE); // the test reads it whole or not at all
        }
        continue;
      }
      took[step - first] = System.nanoTime() - began;
      log.append(String.format(Locale.ROOT, "rank %d step %d loss %s mean %s checksum %08x%n", rank, step,
          Float.toString(loss), Float.toString(mean), checksum(model.parameters().values())));
      if (step + 1 == save) {
        dp.saveCheckpoint(opt, java.nio.file.Path.of(args[0], "checkpoint.safetensors"),
            java.util.Map.of("next", Integer.toString(step + 1)));
      }
    }
    if (rank == 0 && java.util.Arrays.asList(args).contains("times") && took.length > 1) {
      long[] warm = java.util.Arrays.copyOfRange(took, took.length / 2, took.length);
      java.util.Arrays.sort(warm);
      java.nio.file.Files.writeString(java.nio.file.Path.of(args[0], "time.txt"), String.format(Locale.ROOT,
          "%d ranks, %s, steps %d to %d: median %.3f ms, mean %.3f ms per step%n", ranks, args[1],
          first + took.length / 2, until, warm[warm.length / 2] / 1e6,
          java.util.Arrays.stream(warm).average().orElse(0) / 1e6));
    }
    java.nio.file.Files.writeString(java.nio.file.Path.of(args[0], "rank-" + rank + ".txt"), log);
  }

  /**
   * Mode {@code sums}: an all-reduce of 2,500,007 floats (more than two of the pieces Mpi reduces a long array in),
   * element i of rank r being {@code i % 1000 + r}; writes to {@code sums-<rank>.txt} how many sums are not exactly
   * {@code N·(i % 1000) + N(N-1)/2} (whole numbers, so float sums are exact in any order).
   */
  private static void sums(String folder) throws java.io.IOException {
    dev.unroll.runtime.mpi.Mpi mpi = dev.unroll.runtime.mpi.Mpi.world();
    int n = 2_500_007;
    int ranks = mpi.size();
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] = i % 1000 + mpi.rank();
    }
    mpi.allReduceSum(v, n);
    int wrong = 0;
    for (int i = 0; i < n; i++) {
      if (v[i] != ranks * (i % 1000) + ranks * (ranks - 1) / 2) {
        wrong++;
      }
    }
    java.nio.file.Files.writeString(java.nio.file.Path.of(folder, "sums-" + mpi.rank() + ".txt"),
        n + " sums, " + wrong + " wrong");
  }

  /** The value of argument {@code name=value}, or {@code otherwise}. */
  private static String option(String[] args, String name, String otherwise) {
    for (String a : args) {
      if (a.startsWith(name + "=")) {
        return a.substring(name.length() + 1);
      }
    }
    return otherwise;
  }

  /** Inputs and targets of {@code rows} rows of {@link UnrolledMicro#CONTEXT} tokens for step {@code step}. */
  static int[][] globalBatch(int step, int rows) {
    java.util.SplittableRandom r = new java.util.SplittableRandom(1000 + step);
    int n = rows * UnrolledMicro.CONTEXT;
    int[] x = new int[n];
    int[] y = new int[n];
    for (int i = 0; i < n; i++) {
      x[i] = r.nextInt(UnrolledMicro.VOCAB);
      y[i] = r.nextInt(UnrolledMicro.VOCAB);
    }
    return new int[][] {x, y};
  }

  /** CRC32 of the floats' bits. */
  static long checksum(float[] values) {
    CRC32 crc = new CRC32();
    java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(4 * values.length);
    b.asFloatBuffer().put(values);
    crc.update(b.array());
    return crc.getValue();
  }
}
