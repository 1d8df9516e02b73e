package dev.unroll.runtime.simd;

import static dev.unroll.runtime.simd.Vectors.L;
import static dev.unroll.runtime.simd.Vectors.S;
import static dev.unroll.runtime.simd.Vectors.SWAP_EIGHTH;
import static dev.unroll.runtime.simd.Vectors.SWAP_HALF;
import static dev.unroll.runtime.simd.Vectors.SWAP_QUARTER;
import static dev.unroll.runtime.simd.Vectors.SWAP_SIXTEENTH;
import static dev.unroll.runtime.simd.Vectors.onePerThread;

import dev.unroll.runtime.number.Bf16;
import dev.unroll.runtime.number.Int8;
import dev.unroll.runtime.thread.WorkerPool;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Decoding's matrix-vector products on bfloat16 and int8 weights, alone or several of one input row as one job (a
 * group): weights packed once into panels of 16 rows stored column by column ({@link #PANEL}), read as sequential
 * streams with no horizontal sums, four panels at a time for bfloat16 and two for int8 (which is bound by its
 * conversion to floats rather than by memory). Split over the pool by output rows, one share of whole panels per
 * thread; every output is summed in the order the scalar reference sums it, so the bits are the same on any number
 * of threads.
 */
final class QuantizedMatvec {

  /** Shorts in one float vector's worth of lanes. */
  private static final VectorSpecies<Short> BF16 = VectorSpecies.of(short.class,
      jdk.incubator.vector.VectorShape.forBitSize(L * 16));

  private static final VectorSpecies<Integer> BF16_WIDE = VectorSpecies.of(int.class, S.vectorShape());


  /**
   * Rows of a bfloat16 weight in one panel. A panel of 16 rows by C columns is stored column by column: for each
   * input i, 16 shorts in which short 2k is row k's weight and short 2k+1 is row 8+k's. Read as 8 ints, the low
   * halves (shifted up) are rows 0-7 and the high halves (masked) rows 8-15, each already a float: no widening
   * shuffle, and the matrix-vector product becomes a sequential stream of loads with no horizontal sums.
   */
  static final int PANEL = 16;

  /** Panels are read with 256-bit vectors where the CPU has them (on AVX-512 too: the kernel is memory-bound). */
  private static final boolean PANEL_VECTORS = S.vectorBitSize() >= 256;

  private static final VectorSpecies<Float> PF = FloatVector.SPECIES_256;

  private static final VectorSpecies<Short> PH = ShortVector.SPECIES_256;

  /** Weights per scale ({@link Int8#GROUP}). */
  private static final int GROUP = Int8.GROUP;

  /**
   * Eight int8 weights, one panel half's column: loaded as 64 bits and widened to 8 floats (vmovq, vpmovsxbd and
   * vcvtdq2ps on AVX2). On a Zen 1 core, whose 128-bit units split each of these, the kernel is bound by that
   * conversion, not by memory: about 7 GB/s of weights per core, which is also what the same instructions reach
   * from C on weights in L2 (where bfloat16's shift and mask reach 22 GB/s). Measured alternatives, all slower: one
   * 128-bit load split into two halves (10%); 128-bit vectors (45% in C, 65% here); converting exactly by adding
   * the integers to the bits of 1.5·2^23 and subtracting that float (20% in C, 50% here).
   */
  private static final VectorSpecies<Byte> Q8 = ByteVector.SPECIES_64;

  private QuantizedMatvec() {}

  // ---------------------------------------------------------------------------------------------------------------
  // bfloat16 weights

  /** L bfloat16 weights from w[off..], as floats: sign-extend to int, shift into the high half. */
  private static FloatVector loadBf16(short[] w, int off) {
    return ((IntVector) ShortVector.fromArray(BF16, w, off)
        .convertShape(VectorOperators.S2I, BF16_WIDE, 0)).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
  }

  /**
   * Stores each full panel of 16 rows in the panel layout ({@link #PANEL}); the last OC % 16 rows stay row-major,
   * where they were.
   */
  static void packBf16Weight(short[] weight, int weightOff, int C, int OC) {
    short[] rows = new short[PANEL * C];
    for (int p = 0; p + PANEL <= OC; p += PANEL) {
      int base = weightOff + p * C;
      System.arraycopy(weight, base, rows, 0, PANEL * C);
      for (int i = 0; i < C; i++) {
        for (int k = 0; k < PANEL / 2; k++) {
          weight[base + i * PANEL + 2 * k] = rows[k * C + i];
          weight[base + i * PANEL + 2 * k + 1] = rows[(PANEL / 2 + k) * C + i];
        }
      }
    }
  }

  /** {@link dev.unroll.runtime.kernel.Kernels#matmulForwardBf16}. */
  static void matmulForwardBf16(float[] out, int outOff, float[] inp, int inpOff, short[] weight, int weightOff,
      float[] bias, int biasOff, int N, int C, int OC) {
    WorkerPool pool = WorkerPool.acquire(2L * N * C * OC);
    if (pool == null) {
      matmulForwardBf16Rows(out, outOff, inp, inpOff, weight, weightOff, bias, biasOff, N, C, OC, 0, OC);
      return;
    }
    // shares of output rows start at whole panels, four at a time (a share's four streams); each row is computed as
    // it is on one thread
    pool.run(J.task(MATMUL_BF16).out(out, outOff).inp(inp, inpOff).bf16(weight, weightOff).bias(bias, biasOff).N(N)
        .C(C).OC(OC), OC, onePerThread(OC, PANEL));
  }

  /** The arguments of this room's parallel tasks (see {@link KernelJob}). */
  private static final KernelJob J = new KernelJob();

  /** {@link #matmulForwardBf16}'s output rows. */
  private static final KernelJob.Task MATMUL_BF16 = (from, to) -> matmulForwardBf16Rows(J.out, J.outOff, J.inp,
      J.inpOff, J.bf16, J.weightOff, J.bias, J.biasOff, J.N, J.C, J.OC, from, to);

  /** {@link dev.unroll.runtime.kernel.Kernels#matmulForwardBf16Group}. */
  static void matmulForwardBf16Group(float[] out, int[] outOffs, float[] inp, int inpOff, short[] weight,
      int[] weightOffs, int[] rows, int C) {
    int units = 0; // each product's rows rounded up to whole panels, so shares begin at panels of every product
    for (int r : rows) {
      units += wholePanels(r);
    }
    WorkerPool pool = WorkerPool.acquire(2L * C * units);
    if (pool == null) {
      matmulForwardBf16GroupRows(out, outOffs, inp, inpOff, weight, weightOffs, rows, C, 0, units);
      return;
    }
    // one share per thread, as for one product: each share's part of every product it meets is computed as on
    // one thread
    pool.run(J.task(MATMUL_BF16_GROUP).out(out, 0).inp(inp, inpOff).bf16(weight, 0).group(outOffs, weightOffs, rows)
        .C(C), units, onePerThread(units, PANEL));
  }

  /** {@link #matmulForwardBf16Group}'s units. */
  private static final KernelJob.Task MATMUL_BF16_GROUP = (from, to) -> matmulForwardBf16GroupRows(J.out, J.outOffs,
      J.inp, J.inpOff, J.bf16, J.weightOffs, J.rows, J.C, from, to);

  /** {@code rows} rounded up to whole panels: a product's units in a group job, so shares begin at panels. */
  private static int wholePanels(int rows) {
    return (rows + PANEL - 1) / PANEL * PANEL;
  }

  /** Units [from, to) of {@link #matmulForwardBf16Group}: the products' rows end to end, each padded to panels. */
  private static void matmulForwardBf16GroupRows(float[] out, int[] outOffs, float[] inp, int inpOff,
      short[] weight, int[] weightOffs, int[] rows, int C, int from, int to) {
    int start = 0;
    for (int j = 0; j < rows.length && start < to; j++) {
      int lo = Math.max(from, start) - start;
      int hi = Math.min(to - start, rows[j]);
      if (lo < hi) {
        matmulForwardBf16Rows(out, outOffs[j], inp, inpOff, weight, weightOffs[j], null, 0, 1, C, rows[j], lo, hi);
      }
      start += wholePanels(rows[j]);
    }
  }

  /**
   * Output rows [from, to) of {@link #matmulForwardBf16}; from is a multiple of {@link #PANEL}. Four panels at a
   * time from the four quarters of the range, as four streams of reads (see {@link Matmul}'s matrix-vector form).
   */
  private static void matmulForwardBf16Rows(float[] out, int outOff, float[] inp, int inpOff, short[] weight,
      int weightOff, float[] bias, int biasOff, int N, int C, int OC, int from, int to) {
    int panelsEnd = Math.min(to, OC / PANEL * PANEL);
    int q = Math.max(0, panelsEnd - from) / PANEL / 4 * PANEL;
    for (int n = 0; n < N; n++) {
      int x = inpOff + n * C;
      int y = outOff + n * OC;
      int o = from;
      if (PANEL_VECTORS) {
        for (; o < from + q; o += PANEL) {
          bf16Panels4(out, y, inp, x, weight, weightOff, bias, biasOff, C, o, o + q, o + 2 * q, o + 3 * q);
        }
        o = from + 4 * q;
      }
      for (; o < panelsEnd; o += PANEL) {
        bf16Panel(out, y + o, inp, x, weight, weightOff + o * C, bias, biasOff + o, C);
      }
    }
    if (panelsEnd < to) {
      // the rows past the last whole panel are row-major
      matmulForwardBf16Tail(out, outOff, inp, inpOff, weight, weightOff, bias, biasOff, N, C, OC,
          Math.max(from, panelsEnd), to);
    }
  }

  /**
   * The four panels starting at rows r0..r3: out[y + r..] = bias + W·x for each, every output summed as
   * {@link #bf16Panel} sums it (one fused multiply-add per input, in order; the same bits).
   */
  private static void bf16Panels4(float[] out, int y, float[] inp, int x, short[] w, int weightOff,
      float[] bias, int biasOff, int C, int r0, int r1, int r2, int r3) {
    IntVector high = IntVector.broadcast(IntVector.SPECIES_256, 0xFFFF0000);
    int p0 = weightOff + r0 * C;
    int p1 = weightOff + r1 * C;
    int p2 = weightOff + r2 * C;
    int p3 = weightOff + r3 * C;
    FloatVector a0 = FloatVector.zero(PF);
    FloatVector b0 = a0;
    FloatVector a1 = a0;
    FloatVector b1 = a0;
    FloatVector a2 = a0;
    FloatVector b2 = a0;
    FloatVector a3 = a0;
    FloatVector b3 = a0;
    for (int i = 0; i < C; i++) {
      FloatVector xi = FloatVector.broadcast(PF, inp[x + i]);
      IntVector v0 = ShortVector.fromArray(PH, w, p0 + i * PANEL).reinterpretAsInts();
      IntVector v1 = ShortVector.fromArray(PH, w, p1 + i * PANEL).reinterpretAsInts();
      IntVector v2 = ShortVector.fromArray(PH, w, p2 + i * PANEL).reinterpretAsInts();
      IntVector v3 = ShortVector.fromArray(PH, w, p3 + i * PANEL).reinterpretAsInts();
      a0 = v0.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(xi, a0);
      b0 = v0.and(high).reinterpretAsFloats().fma(xi, b0);
      a1 = v1.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(xi, a1);
      b1 = v1.and(high).reinterpretAsFloats().fma(xi, b1);
      a2 = v2.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(xi, a2);
      b2 = v2.and(high).reinterpretAsFloats().fma(xi, b2);
      a3 = v3.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(xi, a3);
      b3 = v3.and(high).reinterpretAsFloats().fma(xi, b3);
    }
    if (bias != null) { // written out: a vector handed to a helper C2 might not inline is allocated
      a0 = a0.add(FloatVector.fromArray(PF, bias, biasOff + r0));
      b0 = b0.add(FloatVector.fromArray(PF, bias, biasOff + r0 + PANEL / 2));
      a1 = a1.add(FloatVector.fromArray(PF, bias, biasOff + r1));
      b1 = b1.add(FloatVector.fromArray(PF, bias, biasOff + r1 + PANEL / 2));
      a2 = a2.add(FloatVector.fromArray(PF, bias, biasOff + r2));
      b2 = b2.add(FloatVector.fromArray(PF, bias, biasOff + r2 + PANEL / 2));
      a3 = a3.add(FloatVector.fromArray(PF, bias, biasOff + r3));
      b3 = b3.add(FloatVector.fromArray(PF, bias, biasOff + r3 + PANEL / 2));
    }
    a0.intoArray(out, y + r0);
    b0.intoArray(out, y + r0 + PANEL / 2);
    a1.intoArray(out, y + r1);
    b1.intoArray(out, y + r1 + PANEL / 2);
    a2.intoArray(out, y + r2);
    b2.intoArray(out, y + r2 + PANEL / 2);
    a3.intoArray(out, y + r3);
    b3.intoArray(out, y + r3 + PANEL / 2);
  }

  /**
   * One panel (16 rows) at w[p..]: out[y..y+16) = bias + W·x, one fused multiply-add per input, in order; in plain
   * Java ({@link #bf16PanelPlain}) where the CPU's vectors are narrower than 256 bits.
   */
  static void bf16Panel(float[] out, int y, float[] inp, int x, short[] w, int p, float[] bias, int b, int C) {
    if (!PANEL_VECTORS) {
      bf16PanelPlain(out, y, inp, x, w, p, bias, b, C);
      return;
    }
    IntVector high = IntVector.broadcast(IntVector.SPECIES_256, 0xFFFF0000);
    FloatVector a0 = FloatVector.zero(PF);
    FloatVector b0 = a0;
    for (int i = 0; i < C; i++) {
      FloatVector xi = FloatVector.broadcast(PF, inp[x + i]);
      IntVector v0 = ShortVector.fromArray(PH, w, p + i * PANEL).reinterpretAsInts();
      a0 = v0.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(xi, a0);
      b0 = v0.and(high).reinterpretAsFloats().fma(xi, b0);
    }
    if (bias != null) {
      a0 = a0.add(FloatVector.fromArray(PF, bias, b));
      b0 = b0.add(FloatVector.fromArray(PF, bias, b + PANEL / 2));
    }
    a0.intoArray(out, y);
    b0.intoArray(out, y + PANEL / 2);
  }

  /** {@link #bf16Panel} without vectors, row by row in the same order: the same bits. */
  static void bf16PanelPlain(float[] out, int y, float[] inp, int x, short[] w, int p, float[] bias, int b,
      int C) {
    for (int r = 0; r < PANEL; r++) {
      int lane = r < PANEL / 2 ? 2 * r : 2 * (r - PANEL / 2) + 1;
      float acc = 0f;
      for (int i = 0; i < C; i++) {
        acc = Math.fma(Bf16.toFloat(w[p + i * PANEL + lane]), inp[x + i], acc);
      }
      out[y + r] = acc + (bias == null ? 0f : bias[b + r]);
    }
  }

  /**
   * Row-major output rows [from, to) of {@link #matmulForwardBf16}: the fewer than 16 rows past its last whole
   * panel, one at a time.
   */
  private static void matmulForwardBf16Tail(float[] out, int outOff, float[] inp, int inpOff, short[] weight,
      int weightOff, float[] bias, int biasOff, int N, int C, int OC, int from, int to) {
    int bound = S.loopBound(C);
    for (int n = 0; n < N; n++) {
      int x = inpOff + n * C;
      for (int o = from; o < to; o++) {
        int w0 = weightOff + o * C;
        FloatVector a0 = FloatVector.zero(S);
        int i = 0;
        for (; i < bound; i += L) {
          a0 = loadBf16(weight, w0 + i).fma(FloatVector.fromArray(S, inp, x + i), a0);
        }
        a0 = a0.add(a0.rearrange(SWAP_HALF)); // VectorMath.sum's tree, written out (see SWAP_HALF)
        a0 = a0.add(a0.rearrange(SWAP_QUARTER));
        if (L >= 8) {
          a0 = a0.add(a0.rearrange(SWAP_EIGHTH));
        }
        if (L >= 16) {
          a0 = a0.add(a0.rearrange(SWAP_SIXTEENTH));
        }
        float s0 = a0.lane(0);
        for (; i < C; i++) {
          s0 += inp[x + i] * Bf16.toFloat(weight[w0 + i]);
        }
        out[outOff + n * OC + o] = s0 + (bias == null ? 0f : bias[biasOff + o]);
      }
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // int8 weights

  /**
   * Stores each full panel of 16 rows column by column (for each input i, 16 bytes: rows 0..15 of the panel), and
   * the panel's scales, which fill the slots [(weightOff + p·C) / 32, + 16·C / 32) either way, as [group][16 rows];
   * the last OC % 16 rows and their scales stay row-major, where they were.
   */
  static void packInt8Weight(byte[] weight, float[] scales, int weightOff, int C, int OC) {
    Int8.checkLayout(weightOff, C);
    int groups = C / GROUP;
    byte[] rows = new byte[PANEL * C];
    float[] rowScales = new float[PANEL * groups];
    for (int p = 0; p + PANEL <= OC; p += PANEL) {
      int base = weightOff + p * C;
      int s = base / GROUP;
      System.arraycopy(weight, base, rows, 0, PANEL * C);
      System.arraycopy(scales, s, rowScales, 0, PANEL * groups);
      for (int i = 0; i < C; i++) {
        for (int r = 0; r < PANEL; r++) {
          weight[base + i * PANEL + r] = rows[r * C + i];
        }
      }
      for (int g = 0; g < groups; g++) {
        for (int r = 0; r < PANEL; r++) {
          scales[s + g * PANEL + r] = rowScales[r * groups + g];
        }
      }
    }
  }

  /** {@link dev.unroll.runtime.kernel.Kernels#matmulForwardInt8}. */
  static void matmulForwardInt8(float[] out, int outOff, float[] inp, int inpOff, byte[] weight, float[] scales,
      int weightOff, float[] bias, int biasOff, int N, int C, int OC) {
    Int8.checkLayout(weightOff, C);
    WorkerPool pool = WorkerPool.acquire(2L * N * C * OC);
    if (pool == null) {
      matmulForwardInt8Rows(out, outOff, inp, inpOff, weight, scales, weightOff, bias, biasOff, N, C, OC, 0, OC);
      return;
    }
    // as for bfloat16: one share of whole panels per thread, each row computed as on one thread
    pool.run(J.task(MATMUL_INT8).out(out, outOff).inp(inp, inpOff).int8(weight, scales, weightOff).bias(bias, biasOff)
        .N(N).C(C).OC(OC), OC, onePerThread(OC, PANEL));
  }

  /** {@link #matmulForwardInt8}'s output rows. */
  private static final KernelJob.Task MATMUL_INT8 = (from, to) -> matmulForwardInt8Rows(J.out, J.outOff, J.inp,
      J.inpOff, J.int8, J.scales, J.weightOff, J.bias, J.biasOff, J.N, J.C, J.OC, from, to);

  /** {@link dev.unroll.runtime.kernel.Kernels#matmulForwardInt8Group}. */
  static void matmulForwardInt8Group(float[] out, int[] outOffs, float[] inp, int inpOff, byte[] weight,
      float[] scales, int[] weightOffs, int[] rows, int C) {
    int units = 0; // each product's rows rounded up to whole panels, so shares begin at panels of every product
    for (int j = 0; j < rows.length; j++) {
      Int8.checkLayout(weightOffs[j], C); // all before any is computed
      units += wholePanels(rows[j]);
    }
    WorkerPool pool = WorkerPool.acquire(2L * C * units);
    if (pool == null) {
      matmulForwardInt8GroupRows(out, outOffs, inp, inpOff, weight, scales, weightOffs, rows, C, 0, units);
      return;
    }
    pool.run(J.task(MATMUL_INT8_GROUP).out(out, 0).inp(inp, inpOff).int8(weight, scales, 0)
        .group(outOffs, weightOffs, rows).C(C), units, onePerThread(units, PANEL));
  }

  /** {@link #matmulForwardInt8Group}'s units. */
  private static final KernelJob.Task MATMUL_INT8_GROUP = (from, to) -> matmulForwardInt8GroupRows(J.out, J.outOffs,
      J.inp, J.inpOff, J.int8, J.scales, J.weightOffs, J.rows, J.C, from, to);

  /** Units [from, to) of {@link #matmulForwardInt8Group}: the products' rows end to end, each padded to panels. */
  private static void matmulForwardInt8GroupRows(float[] out, int[] outOffs, float[] inp, int inpOff,
      byte[] weight, float[] scales, int[] weightOffs, int[] rows, int C, int from, int to) {
    int start = 0;
    for (int j = 0; j < rows.length && start < to; j++) {
      int lo = Math.max(from, start) - start;
      int hi = Math.min(to - start, rows[j]);
      if (lo < hi) {
        matmulForwardInt8Rows(out, outOffs[j], inp, inpOff, weight, scales, weightOffs[j], null, 0, 1, C, rows[j],
            lo, hi);
      }
      start += wholePanels(rows[j]);
    }
  }

  /**
   * Output rows [from, to) of {@link #matmulForwardInt8}; from is a multiple of {@link #PANEL}. Two panels at a
   * time, from the two halves of the range, as two streams of reads (one panel at a time was 12% slower). Four
   * streams, as bfloat16 reads, measured 4% slower with the accumulators kept in {@code out} between groups and 30%
   * slower with them in (spilled) registers: on the machine measured the kernel is bound by converting the weights
   * (see {@link #Q8}), and four partial sums already hide the fused multiply-adds' latency.
   */
  private static void matmulForwardInt8Rows(float[] out, int outOff, float[] inp, int inpOff, byte[] weight,
      float[] scales, int weightOff, float[] bias, int biasOff, int N, int C, int OC, int from, int to) {
    int panelsEnd = Math.min(to, OC / PANEL * PANEL);
    int q = Math.max(0, panelsEnd - from) / PANEL / 2 * PANEL;
    for (int n = 0; n < N; n++) {
      int x = inpOff + n * C;
      int y = outOff + n * OC;
      int o = from;
      if (PANEL_VECTORS) {
        for (; o < from + q; o += PANEL) {
          int p0 = weightOff + o * C;
          int p1 = weightOff + (o + q) * C;
          int b0 = biasOff + o;
          int b1 = biasOff + o + q;
          int8Panels2(out, y + o, y + o + q, inp, x, weight, p0, p1, scales, bias, b0, b1, C);
        }
        o = from + 2 * q;
      }
      for (; o < panelsEnd; o += PANEL) {
        int8Panel(out, y + o, inp, x, weight, weightOff + o * C, scales, bias, biasOff + o, C);
      }
    }
    if (panelsEnd < to) {
      // the rows past the last whole panel are row-major
      matmulForwardInt8Tail(out, outOff, inp, inpOff, weight, scales, weightOff, bias, biasOff, N, C, OC,
          Math.max(from, panelsEnd), to);
    }
  }

  /**
   * The panels at w[p0..] and w[p1..] (16 rows each, see {@link #packInt8Weight}), into out[y0..y0+16) and
   * out[y1..y1+16), every output summed as {@link #int8Panel} sums it: the same bits.
   */
  private static void int8Panels2(float[] out, int y0, int y1, float[] inp, int x, byte[] w, int p0, int p1,
      float[] scales, float[] bias, int b0, int b1, int C) {
    int s0 = p0 / GROUP;
    int s1 = p1 / GROUP;
    FloatVector acc0 = FloatVector.zero(PF);
    FloatVector acc1 = acc0;
    FloatVector acc2 = acc0;
    FloatVector acc3 = acc0;
    // the panels' scales are [group][16 rows]: group g's begin PANEL slots after group g - 1's
    for (int g = 0; g < C; g += GROUP, s0 += PANEL, s1 += PANEL) {
      FloatVector part0 = FloatVector.zero(PF);
      FloatVector part1 = part0;
      FloatVector part2 = part0;
      FloatVector part3 = part0;
      for (int i = g; i < g + GROUP; i++) {
        FloatVector xi = FloatVector.broadcast(PF, inp[x + i]);
        int w0 = p0 + i * PANEL;
        int w1 = p1 + i * PANEL;
        part0 = ((FloatVector) ByteVector.fromArray(Q8, w, w0).convertShape(VectorOperators.B2F, PF, 0))
            .fma(xi, part0);
        part1 = ((FloatVector) ByteVector.fromArray(Q8, w, w0 + PANEL / 2).convertShape(VectorOperators.B2F, PF, 0))
            .fma(xi, part1);
        part2 = ((FloatVector) ByteVector.fromArray(Q8, w, w1).convertShape(VectorOperators.B2F, PF, 0))
            .fma(xi, part2);
        part3 = ((FloatVector) ByteVector.fromArray(Q8, w, w1 + PANEL / 2).convertShape(VectorOperators.B2F, PF, 0))
            .fma(xi, part3);
      }
      acc0 = part0.fma(FloatVector.fromArray(PF, scales, s0), acc0);
      acc1 = part1.fma(FloatVector.fromArray(PF, scales, s0 + PANEL / 2), acc1);
      acc2 = part2.fma(FloatVector.fromArray(PF, scales, s1), acc2);
      acc3 = part3.fma(FloatVector.fromArray(PF, scales, s1 + PANEL / 2), acc3);
    }
    // always an addition, + 0 without a bias, as the reference adds: -0 + 0 is +0
    if (bias != null) {
      acc0 = acc0.add(FloatVector.fromArray(PF, bias, b0));
      acc1 = acc1.add(FloatVector.fromArray(PF, bias, b0 + PANEL / 2));
      acc2 = acc2.add(FloatVector.fromArray(PF, bias, b1));
      acc3 = acc3.add(FloatVector.fromArray(PF, bias, b1 + PANEL / 2));
    } else {
      acc0 = acc0.add(0f);
      acc1 = acc1.add(0f);
      acc2 = acc2.add(0f);
      acc3 = acc3.add(0f);
    }
    acc0.intoArray(out, y0);
    acc1.intoArray(out, y0 + PANEL / 2);
    acc2.intoArray(out, y1);
    acc3.intoArray(out, y1 + PANEL / 2);
  }

  /**
   * One panel (16 rows) at w[p..] into out[y..y+16), in the reference's order (per group, a partial sum of fused
   * multiply-adds; then acc = fma(partial, scale, acc); then + bias); in plain Java ({@link #int8PanelPlain}) where
   * the CPU's vectors are narrower than 256 bits.
   */
  static void int8Panel(float[] out, int y, float[] inp, int x, byte[] w, int p, float[] scales, float[] bias,
      int b, int C) {
    if (!PANEL_VECTORS) {
      int8PanelPlain(out, y, inp, x, w, p, scales, bias, b, C);
      return;
    }
    int s = p / GROUP;
    FloatVector acc0 = FloatVector.zero(PF);
    FloatVector acc1 = acc0;
    for (int g = 0; g < C; g += GROUP, s += PANEL) {
      FloatVector part0 = FloatVector.zero(PF);
      FloatVector part1 = part0;
      for (int i = g; i < g + GROUP; i++) {
        FloatVector xi = FloatVector.broadcast(PF, inp[x + i]);
        int w0 = p + i * PANEL;
        part0 = ((FloatVector) ByteVector.fromArray(Q8, w, w0).convertShape(VectorOperators.B2F, PF, 0))
            .fma(xi, part0);
        part1 = ((FloatVector) ByteVector.fromArray(Q8, w, w0 + PANEL / 2).convertShape(VectorOperators.B2F, PF, 0))
            .fma(xi, part1);
      }
      acc0 = part0.fma(FloatVector.fromArray(PF, scales, s), acc0);
      acc1 = part1.fma(FloatVector.fromArray(PF, scales, s + PANEL / 2), acc1);
    }
    if (bias != null) {
      acc0 = acc0.add(FloatVector.fromArray(PF, bias, b));
      acc1 = acc1.add(FloatVector.fromArray(PF, bias, b + PANEL / 2));
    } else {
      acc0 = acc0.add(0f);
      acc1 = acc1.add(0f);
    }
    acc0.intoArray(out, y);
    acc1.intoArray(out, y + PANEL / 2);
  }

  /** {@link #int8Panel} without vectors, row by row in the same order: the same bits. */
  static void int8PanelPlain(float[] out, int y, float[] inp, int x, byte[] w, int p, float[] scales,
      float[] bias, int b, int C) {
    int s = p / GROUP;
    for (int r = 0; r < PANEL; r++) {
      float acc = 0f;
      for (int g = 0, sg = s + r; g < C; g += GROUP, sg += PANEL) {
        float part = 0f;
        for (int i = g; i < g + GROUP; i++) {
          part = Math.fma((float) w[p + i * PANEL + r], inp[x + i], part);
        }
        acc = Math.fma(part, scales[sg], acc);
      }
      out[y + r] = acc + (bias == null ? 0f : bias[b + r]);
    }
  }

  /**
   * Row-major output rows [from, to) of {@link #matmulForwardInt8}: the fewer than 16 rows past its last whole
   * panel, one at a time in the reference's order (a vector across a row's inputs would change the sums' order).
   */
  private static void matmulForwardInt8Tail(float[] out, int outOff, float[] inp, int inpOff, byte[] weight,
      float[] scales, int weightOff, float[] bias, int biasOff, int N, int C, int OC, int from, int to) {
    for (int n = 0; n < N; n++) {
      int x = inpOff + n * C;
      for (int o = from; o < to; o++) {
        int w = weightOff + o * C;
        float acc = 0f;
        for (int g = 0, s = w / GROUP; g < C; g += GROUP, s++) {
          float part = 0f;
          for (int i = g; i < g + GROUP; i++) {
            part = Math.fma((float) weight[w + i], inp[x + i], part);
          }
          acc = Math.fma(part, scales[s], acc);
        }
        out[outOff + n * OC + o] = acc + (bias == null ? 0f : bias[biasOff + o]);
      }
    }
  }
}
