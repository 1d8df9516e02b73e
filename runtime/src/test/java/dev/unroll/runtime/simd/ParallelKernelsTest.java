package dev.unroll.runtime.simd;

import static dev.unroll.runtime.scalar.KernelTesting.PAD;
import static dev.unroll.runtime.scalar.KernelTesting.random;
import static dev.unroll.runtime.scalar.KernelTesting.tokens;
import static dev.unroll.runtime.scalar.KernelTesting.zeros;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.management.ThreadMXBean;
import dev.unroll.runtime.AdamW;
import dev.unroll.runtime.Parameters;
import dev.unroll.runtime.number.Bf16;
import dev.unroll.runtime.number.Int8;
import dev.unroll.runtime.thread.WorkerPool;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The {@link WorkerPool}'s contract with the kernels: every kernel and AdamW give bit-identical results on 1, 2
 * and 3 threads, and nothing is allocated per call on the calling thread or on any worker. The sizes are awkward
 * (rows not a multiple of 4, channels not a multiple of a vector) and large enough that every kernel that splits
 * does split.
 */
class ParallelKernelsTest {

  private static final SimdKernels K = SimdKernels.INSTANCE;

  private static final int B = 2;
  private static final int T = 263;
  private static final int C = 516;
  private static final int NH = 4;
  private static final int OC = 301;
  private static final int V = 301;
  private static final int VP = 304;
  private static final int N = B * T;
  private static final int KV_DIM = 2 * C / NH;
  /** An encoder's rows: one full, one padded past a block of keys. */
  private static final int[] LENGTHS = {T, 77};
  /** ViT's inputs: 3 channels of 24 by 32 in 4 by 8 patches, 24 patches of 96 floats, a class token of C. */
  private static final int CH = 3;
  private static final int H = 24;
  private static final int W = 32;
  private static final int PH = 4;
  private static final int PW = 8;
  private static final int NP = (H / PH) * (W / PW);
  /** Inputs of the int8 products: C is not a whole number of scale groups. */
  private static final int C_INT8 = 512;
  /** The int8 group: the weight's rows as two products, neither a whole number of panels. */
  private static final int[] INT8_ROWS = {254, OC - 254};
  private static final int[] INT8_WEIGHT_OFFS = {Int8.GROUP, Int8.GROUP + 254 * C_INT8};
  private static final int[] INT8_OUT_OFFS = {PAD, PAD + 254};

  private final int initialThreads = WorkerPool.threads();

  @AfterEach
  void restoreThreads() {
    WorkerPool.setThreads(initialThreads);
  }

  /** Inputs and outputs of one run of every kernel; the same inputs for every instance. */
  private static final class Run {
    final SplittableRandom rnd = new SplittableRandom(42);
    final int[] inp = tokens(rnd, N, V);
    final int[] targets = tokens(rnd, N, V);
    final float[] wte = random(rnd, V * C, -1, 1);
    final float[] wpe = random(rnd, T * C, -1, 1);
    final float[] x = random(rnd, N * C, -1, 3);
    final float[] lnw = random(rnd, C, 0.5, 1.5);
    final float[] lnb = random(rnd, C, -1, 1);
    final float[] w = random(rnd, OC * C, -1, 1);
    final float[] bias = random(rnd, OC, -1, 1);
    final float[] qkv = random(rnd, N * 3 * C, -1, 1);
    final float[] dN = random(rnd, N * C, -1, 1);
    final float[] dOc = random(rnd, N * OC, -1, 1);
    final float[] logits = random(rnd, N * VP, -4, 4);
    // outputs, accumulated gradients start from random values
    final float[] enc = zeros(N * C);
    final float[] dwte = random(rnd, V * C, -1, 1);
    final float[] dwpe = random(rnd, T * C, -1, 1);
    final float[] ln = zeros(N * C);
    final float[] mean = zeros(N);
    final float[] rstd = zeros(N);
    final float[] dx = random(rnd, N * C, -1, 1);
    final float[] dlnw = random(rnd, C, -1, 1);
    final float[] dlnb = random(rnd, C, -1, 1);
    final float[] mm = zeros(N * OC);
    final float[] kcache = random(rnd, T * KV_DIM, -1, 1);
    final float[] vcache = random(rnd, T * KV_DIM, -1, 1);
    final float[] decOut = zeros(C);
    final float[] decAtt = zeros(NH * T);
    final float[] mv = zeros(OC);
    final float[] mvBf16 = zeros(OC);
    final short[] wBf16 = bf16Packed(w);
    final float[] mvInt8 = zeros(OC);
    final float[] mvInt8Group = zeros(OC);
    final Int8Weight wInt8 = new Int8Weight(w, new int[] {OC}, new int[] {Int8.GROUP});
    final Int8Weight wInt8Group = new Int8Weight(w, INT8_ROWS, INT8_WEIGHT_OFFS);
    final float[] dxm = random(rnd, N * C, -1, 1);
    final float[] dw = random(rnd, OC * C, -1, 1);
    final float[] dbias = random(rnd, OC, -1, 1);
    final float[] att = zeros(N * C);
    final float[] preatt = zeros(B * NH * T * T);
    final float[] attw = zeros(B * NH * T * T);
    final float[] dqkv = random(rnd, N * 3 * C, -1, 1);
    final float[] dpreatt = zeros(B * NH * T * T);
    final float[] datt = zeros(B * NH * T * T);
    final float[] gelu = zeros(N * C);
    final float[] dgelu = random(rnd, N * C, -1, 1);
    final float[] res = zeros(N * C);
    final float[] dres1 = random(rnd, N * C, -1, 1);
    final float[] dres2 = random(rnd, N * C, -1, 1);
    final float[] probs = zeros(N * VP);
    final float[] losses = zeros(N);
    final float[] dlogits = random(rnd, N * VP, -1, 1);
    final float[] biOut = zeros(N * C);
    final float[] biPreatt = zeros(B * NH * T * T);
    final float[] biAtt = zeros(B * NH * T * T);
    final float[] biDqkv = random(rnd, N * 3 * C, -1, 1);
    final float[] biDpreatt = zeros(B * NH * T * T);
    final float[] biDatt = zeros(B * NH * T * T);
    final float[] geluErf = zeros(N * C);
    final float[] dgeluErf = random(rnd, N * C, -1, 1);
    final float[] tanh = zeros(N * C);
    final float[] dtanh = random(rnd, N * C, -1, 1);
    final float[] patches = zeros(B * NP * CH * PH * PW);
    final float[] tokens = zeros(B * (NP + 1) * C);
    final float[] dpatches = random(rnd, B * NP * C, -1, 1);
    final float[] dcls = random(rnd, C, -1, 1);
    final float[] dpos = random(rnd, (NP + 1) * C, -1, 1);
    // AdamW reads the whole arena, so these have no NaN pads
    final float[] params = new float[300_003];
    final float[] grads = new float[300_003];
    final AdamW opt = AdamW.of(new Parameters(params, grads, List.of())).clipGradNorm(1f);

    {
      for (int i = 0; i < params.length; i++) {
        params[i] = (float) rnd.nextDouble(-1, 1);
        grads[i] = (float) rnd.nextDouble(-1, 1);
      }
    }
    float loss;
    float norm;

    /** The threads whose allocations {@link #tick} reads (null before {@link #watch}), and each kernel's bytes. */
    private ThreadMXBean mx;
    private long[] ids;
    private final String[] kernels = new String[64];
    private final long[] bytes = new long[64];
    private int kernel;
    private long mark;

    /** From now on {@link #tick} adds the bytes that these threads allocate to the kernel that has just run. */
    void watch(ThreadMXBean mx, long[] ids) {
      this.mx = mx;
      this.ids = ids;
      mark = allocatedBy(mx, ids);
    }

    /** The kernels that allocated since {@link #watch}, with their bytes ("" if none). */
    String allocating() {
      StringBuilder s = new StringBuilder();
      for (int i = 0; i < kernel; i++) {
        if (bytes[i] != 0) {
          s.append(s.isEmpty() ? "" : ", ").append(kernels[i]).append(' ').append(bytes[i]).append(" bytes");
        }
      }
      return s.toString();
    }

    /** Closes the watched kernel {@code name}: the bytes allocated since the last tick are its. */
    private void tick(String name) {
      if (ids == null) {
        return;
      }
      long now = allocatedBy(mx, ids);
      kernels[kernel] = name;
      bytes[kernel++] += now - mark;
      mark = now;
    }

    /** Runs every kernel once, in the order of a training step. */
    void all() {
      kernel = 0;
      K.encoderForward(enc, PAD, inp, wte, PAD, wpe, PAD, B, T, C);
      tick("encoderForward");
      K.encoderBackward(dwte, PAD, dwpe, PAD, dN, PAD, inp, B, T, C);
      tick("encoderBackward");
      K.layernormForward(ln, PAD, mean, PAD, rstd, PAD, x, PAD, lnw, PAD, lnb, PAD, N, C, 1e-5f);
      tick("layernormForward");
      K.layernormBackward(dx, PAD, dlnw, PAD, dlnb, PAD, dN, PAD, x, PAD, lnw, PAD, mean, PAD, rstd, PAD, N, C);
      tick("layernormBackward");
      K.matmulForward(mm, PAD, x, PAD, w, PAD, bias, PAD, N, C, OC);
      tick("matmulForward");
      K.matmulForward(mv, PAD, x, PAD, w, PAD, bias, PAD, 1, C, OC); // decoding's matrix-vector product
      tick("matmulForward (one row)");
      K.matmulForwardBf16(mvBf16, PAD, x, PAD, wBf16, PAD, bias, PAD, 1, C, OC);
      tick("matmulForwardBf16");
      K.matmulForwardInt8(mvInt8, PAD, x, PAD, wInt8.q, wInt8.scales, Int8.GROUP, bias, PAD, 1, C_INT8, OC);
      tick("matmulForwardInt8");
      K.matmulForwardInt8Group(mvInt8Group, INT8_OUT_OFFS, x, PAD, wInt8Group.q, wInt8Group.scales,
          INT8_WEIGHT_OFFS, INT8_ROWS, C_INT8);
      tick("matmulForwardInt8Group");
      K.matmulBackward(dxm, PAD, dw, PAD, dbias, PAD, dOc, PAD, x, PAD, w, PAD, N, C, OC);
      tick("matmulBackward");
      K.attentionForward(att, PAD, preatt, PAD, attw, PAD, qkv, PAD, B, T, C, NH);
      tick("attentionForward");
      // decoding's attention at the last position, 4 query heads over 2 kv heads
      K.attentionDecode(decOut, PAD, decAtt, PAD, x, PAD, kcache, PAD, vcache, PAD, T - 1, T, NH, 2, C / NH);
      tick("attentionDecode");
      K.zero(dpreatt, PAD, B * NH * T * T);
      tick("zero");
      K.zero(datt, PAD, B * NH * T * T);
      tick("zero");
      K.attentionBackward(dqkv, PAD, dpreatt, PAD, datt, PAD, dN, PAD, qkv, PAD, attw, PAD, B, T, C, NH);
      tick("attentionBackward");
      K.geluForward(gelu, PAD, x, PAD, N * C);
      tick("geluForward");
      K.geluBackward(dgelu, PAD, x, PAD, dN, PAD, N * C);
      tick("geluBackward");
      // an encoder's: bidirectional attention over padded rows, the exact GELU, tanh, patches and class token
      K.attentionForwardBidirectional(biOut, PAD, biPreatt, PAD, biAtt, PAD, qkv, PAD, LENGTHS, B, T, C, NH);
      tick("attentionForwardBidirectional");
      K.zero(biDpreatt, PAD, B * NH * T * T);
      tick("zero");
      K.zero(biDatt, PAD, B * NH * T * T);
      tick("zero");
      K.attentionBackwardBidirectional(biDqkv, PAD, biDpreatt, PAD, biDatt, PAD, dN, PAD, qkv, PAD, biAtt, PAD,
          LENGTHS, B, T, C, NH);
      tick("attentionBackwardBidirectional");
      K.geluErfForward(geluErf, PAD, x, PAD, N * C);
      tick("geluErfForward");
      K.geluErfBackward(dgeluErf, PAD, x, PAD, dN, PAD, N * C);
      tick("geluErfBackward");
      K.tanhForward(tanh, PAD, x, PAD, N * C);
      tick("tanhForward");
      K.tanhBackward(dtanh, PAD, tanh, PAD, dN, PAD, N * C);
      tick("tanhBackward");
      K.patches(patches, PAD, x, PAD, B, CH, H, W, PH, PW);
      tick("patches");
      K.classTokenForward(tokens, PAD, x, PAD, lnw, PAD, wpe, PAD, B, NP, C);
      tick("classTokenForward");
      K.classTokenBackward(dpatches, PAD, dcls, PAD, dpos, PAD, x, PAD, B, NP, C);
      tick("classTokenBackward");
      K.residualForward(res, PAD, x, PAD, dN, PAD, N * C);
      tick("residualForward");
      K.residualBackward(dres1, PAD, dres2, PAD, dN, PAD, N * C);
      tick("residualBackward");
      K.softmaxForward(probs, PAD, logits, PAD, N, V, VP);
      tick("softmaxForward");
      loss = K.crossEntropyForward(losses, PAD, probs, PAD, targets, N, VP);
      tick("crossEntropyForward");
      K.crossEntropySoftmaxBackward(dlogits, PAD, probs, PAD, targets, N, V, VP);
      tick("crossEntropySoftmaxBackward");
      norm = opt.step();
      tick("opt.step");
    }

    List<float[]> outputs() {
      List<float[]> all = new ArrayList<>(List.of(enc, dwte, dwpe, ln, mean, rstd, dx, dlnw, dlnb, mm, mv, mvBf16,
          mvInt8, mvInt8Group, decOut, decAtt, dxm, dw, dbias, att, preatt, attw, dqkv, dpreatt, datt, gelu, dgelu,
          res, dres1, dres2, probs, losses, dlogits, biOut, biPreatt, biAtt, biDqkv, biDpreatt, biDatt, geluErf,
          dgeluErf, tanh, dtanh, patches, tokens, dpatches, dcls, dpos, params, grads));
      all.add(new float[] {loss, norm, opt.firstMoment(7), opt.secondMoment(99_999)});
      return all;
    }
  }

  private static final String[] NAMES = {"encoder out", "dwte", "dwpe", "layernorm out", "mean", "rstd",
      "layernorm dinp", "dweight (layernorm)", "dbias (layernorm)", "matmul out", "matrix-vector out",
      "bfloat16 matrix-vector out", "int8 matrix-vector out", "int8 grouped matrix-vector out",
      "decode attention out", "decode attention att", "matmul dinp", "matmul dweight",
      "matmul dbias", "attention out", "preatt", "att", "dqkv", "dpreatt", "datt", "gelu out", "gelu dinp",
      "residual out", "residual dinp1", "residual dinp2", "probs", "losses", "dlogits",
      "bidirectional attention out", "bidirectional preatt", "bidirectional att", "bidirectional dqkv",
      "bidirectional dpreatt", "bidirectional datt", "exact gelu out", "exact gelu dinp", "tanh out", "tanh dinp",
      "patches", "class token out", "dpatches", "dcls", "dpos", "AdamW params", "grads", "loss, norm and moments"};

  /** w rounded to bfloat16 (PAD ahead of it, as w has), in the SIMD kernels' layout. */
  private static short[] bf16Packed(float[] w) {
    short[] b = new short[w.length];
    Bf16.fromFloats(w, 0, b, 0, w.length);
    K.packBf16Weight(b, PAD, C, OC);
    return b;
  }

  /**
   * The first OC × C_INT8 floats of w (after its PAD) quantized to int8 at an offset of one group, and packed in
   * the SIMD kernels' layout as the products at {@code offs} of {@code rows} rows each.
   */
  private static final class Int8Weight {
    final byte[] q;
    final float[] scales;

    Int8Weight(float[] w, int[] rows, int[] offs) {
      int n = Int8.GROUP + OC * C_INT8;
      float[] src = new float[n];
      System.arraycopy(w, PAD, src, Int8.GROUP, OC * C_INT8);
      q = new byte[n];
      scales = new float[Int8.scaleCount(n)];
      Int8.quantize(src, q, scales, n);
      for (int j = 0; j < rows.length; j++) {
        K.packInt8Weight(q, scales, offs[j], C_INT8, rows[j]);
      }
    }
  }

  private static List<float[]> runOn(int threads) {
    WorkerPool.setThreads(threads);
    Run run = new Run();
    run.all();
    run.all(); // twice: the second step's AdamW and accumulations start from the first one's results
    return run.outputs();
  }

  @Test
  void everyKernelGivesTheSameBitsOnOneTwoAndThreeThreads() {
    List<float[]> one = runOn(1);
    for (int threads = 2; threads <= 3; threads++) {
      List<float[]> many = runOn(threads);
      for (int i = 0; i < one.size(); i++) {
        assertArrayEquals(one.get(i), many.get(i), NAMES[i] + " on " + threads + " threads vs 1");
      }
    }
  }

  @Test
  void zeroClearsExactlyItsRangeOnThreeThreads() {
    WorkerPool.setThreads(3);
    int n = 3 * (int) WorkerPool.MIN_PARALLEL_WORK + 5; // shared, with a ragged last share
    float[] a = random(new SplittableRandom(5), n, 1, 2);
    K.zero(a, PAD, n);
    for (int i = 0; i < a.length; i++) {
      boolean inside = i >= PAD && i < PAD + n;
      assertTrue(inside ? a[i] == 0.0f && Float.floatToRawIntBits(a[i]) == 0 : Float.isNaN(a[i]), "element " + i);
    }
  }

  @Test
  void workersAreNamedDaemons() {
    WorkerPool.setThreads(3);
    assertEquals(3, WorkerPool.threads());
    long[] ids = WorkerPool.workerThreadIds();
    assertEquals(2, ids.length);
    List<String> names = new ArrayList<>();
    for (Thread t : Thread.getAllStackTraces().keySet()) {
      for (long id : ids) {
        if (t.threadId() == id) {
          assertTrue(t.isDaemon(), t.getName());
          names.add(t.getName());
        }
      }
    }
    names.sort(null);
    assertEquals(List.of("unroll-worker-1", "unroll-worker-2"), names);
  }

  /**
   * Runs of every kernel before measuring. With the encoders' kernels, some run once a round on a few vectors, so
   * HotSpot's C2 (whose thresholds also scale with the load on its compile queue) reaches them at a round that
   * varies: with 512-bit vectors the last run that allocated was the 170th, 184th and 169th in three JVMs, and in one
   * of 400 rounds still the 399th (the encoders' first full build). 1,600 is four times that run's bound.
   */
  private static final int WARM_RUNS = 1600;

  @Tag("allocation") // warmed by count in a JVM that compiles in the foreground (see the parent POM)
  @Test
  void nothingIsAllocatedOnAnyThreadOnceWarm() {
    WorkerPool.setThreads(3);
    Run run = new Run();
    ThreadMXBean mx = (ThreadMXBean) ManagementFactory.getThreadMXBean();
    long[] workers = WorkerPool.workerThreadIds();
    long[] ids = new long[workers.length + 1];
    ids[0] = Thread.currentThread().threadId();
    System.arraycopy(workers, 0, ids, 1, workers.length);
    long[] before = new long[ids.length];
    long[] after = new long[ids.length];
    int lastAllocating = -1;
    for (int round = 0; round < WARM_RUNS; round++) {
      allocated(mx, ids, before);
      run.all();
      allocated(mx, ids, after);
      if (total(before, after) != 0) {
        lastAllocating = round;
      }
    }
    long cpuBefore = mx.getThreadCpuTime(ids[1]); // outside the measured window: it allocates
    allocated(mx, ids, before);
    run.watch(mx, ids);
    for (int i = 0; i < 10; i++) {
      run.all();
    }
    allocated(mx, ids, after);
    assertTrue(mx.getThreadCpuTime(ids[1]) > cpuBefore, "unroll-worker-1 took part");
    for (int i = 0; i < ids.length; i++) {
      assertEquals(0, after[i] - before[i], (i == 0 ? "caller" : "unroll-worker-" + i)
          + ": bytes allocated by 10 runs of every kernel and AdamW after " + WARM_RUNS + " warm-up runs (the last "
          + "of them that allocated: " + lastAllocating + "; the kernels that allocated, on all threads: "
          + run.allocating() + ")");
    }
  }

  private static long allocatedBy(ThreadMXBean mx, long[] ids) {
    long s = 0;
    for (long id : ids) {
      s += mx.getThreadAllocatedBytes(id);
    }
    return s;
  }

  private static void allocated(ThreadMXBean mx, long[] ids, long[] into) {
    for (int i = 0; i < ids.length; i++) {
      into[i] = mx.getThreadAllocatedBytes(ids[i]);
    }
  }

  private static long total(long[] before, long[] after) {
    long s = 0;
    for (int i = 0; i < before.length; i++) {
      s += after[i] - before[i];
    }
    return s;
  }
}
