package dev.unroll.runtime.simd;

import static dev.unroll.runtime.simd.Vectors.L;
import static dev.unroll.runtime.simd.Vectors.S;

import jdk.incubator.vector.FloatVector;

/**
 * The register-blocked GEMM that the matmuls and training's attention run on: operands packed into panels that
 * stay in L2 ({@link #packRows}, {@link #packTransposed}), six rows by two vectors of columns at a time
 * ({@link #gemm6x2Rows}, {@link #gemm6x2Columns}) with the general loops for what is left
 * ({@link #gemmAccumulateFrom}). Every element of c takes its terms in the order of k, as the scalar loops add
 * them, whatever the blocking: the same bits on any number of threads.
 */
final class Gemm {

  /**
   * A GEMM's blocks: GEMM_KC terms by GEMM_NC columns of the operand it reuses (an eighth of L2), sized for the
   * machine's caches by {@link Tuning} (256 by 128 with a 48 KiB L1d and a 1 MiB L2, AVX-512: 128 KiB). Shares of
   * rows are multiples of six (the GEMM's tile), so that few rows take its slower remainder loops.
   */
  static final int GEMM_KC = Tuning.KC;
  static final int GEMM_NC = Tuning.NC;

  /** Each thread's packed block of a GEMM operand (GEMM_KC by GEMM_NC), made on its first GEMM and reused after. */
  static final ThreadLocal<float[]> PANELS = ThreadLocal.withInitial(() -> new float[GEMM_KC * GEMM_NC]);

  /**
   * Rows of a transposed GEMM operand copied at a time (see {@link #gemmBlocks}): three quarters of L2, beside the
   * panel ({@link Tuning}; 768 rows of 256 terms, 768 KiB, with a 1 MiB L2).
   */
  private static final int GEMM_MB = Tuning.MB;

  /** Each thread's GEMM_MB rows of a transposed GEMM operand, GEMM_KC terms each (see {@link #gemmBlocks}). */
  private static final ThreadLocal<float[]> A_ROWS = ThreadLocal.withInitial(() -> new float[GEMM_MB * GEMM_KC]);

  private Gemm() {}

  /**
   * c (M by cols, rows ld floats apart) += a (M by K; a[r, k] at a0 + r*ars + k*aks) times b (K by cols, rows ld
   * floats apart), by blocks of GEMM_NC columns and GEMM_KC terms: each block of b is packed into the thread's
   * panels (in L2 while the rows pass by), and each six-row tile of c takes GEMM_KC terms in registers
   * between a load and a store (short runs spend their time loading and storing c). Terms in order of k.
   *
   * <p>An a stored transposed (aks != 1, ars = 1: dout's columns in a weight gradient) is first copied, GEMM_MB rows
   * by GEMM_KC terms at a time, into rows that run along k ({@link #transposeRows}), and that block's rows then meet
   * every block of b (each c element still takes its terms in order of k). Read in place, a's six adjacent floats
   * per k, a cache line from the next k's, ran 27% slower in L1; copied six rows at a time before each block of b,
   * the copies took a tenth of the weight gradient. Two threads, in-JVM A/B: gpt2's training step 71.0 -> 77.1 ->
   * 77.5 tokens/s (read in place, six rows per block of b, GEMM_MB rows once), medium 804 -> 825 -> 881, baby
   * 7.59k -> 7.96k -> 8.75k (the machine's speed drifts between runs; each arrow is one run).
   */
  static void gemmBlocks(float[] c, int c0, float[] a, int a0, int ars, int aks, float[] b, int b0, int ld,
      int M, int K, int cols) {
    float[] panels = PANELS.get();
    if (aks != 1) {
      if (ars != 1) {
        throw badStrides(ars, aks);
      }
      float[] rows = A_ROWS.get();
      for (int r0 = 0; r0 < M; r0 += GEMM_MB) {
        int mb = Math.min(GEMM_MB, M - r0);
        for (int k0 = 0; k0 < K; k0 += GEMM_KC) {
          int kt = Math.min(GEMM_KC, K - k0);
          transposeRows(a, a0 + r0 + k0 * aks, aks, mb, kt, rows);
          for (int j0 = 0; j0 < cols; j0 += GEMM_NC) {
            int jt = Math.min(GEMM_NC, cols - j0);
            packRows(b, b0 + k0 * ld + j0, ld, kt, jt, panels);
            gemmPanels(c, c0 + r0 * ld + j0, ld, rows, 0, kt, 1, panels, mb, kt, jt);
          }
        }
      }
      return;
    }
    for (int j0 = 0; j0 < cols; j0 += GEMM_NC) {
      int jt = Math.min(GEMM_NC, cols - j0);
      for (int k0 = 0; k0 < K; k0 += GEMM_KC) {
        int kt = Math.min(GEMM_KC, K - k0);
        packRows(b, b0 + k0 * ld + j0, ld, kt, jt, panels);
        gemmPanels(c, c0 + j0, ld, a, a0 + k0 * aks, ars, aks, panels, M, kt, jt);
      }
    }
  }

  /** The GEMMs take an a whose rows run along k (aks = 1) or lie side by side (ars = 1): not this one. */
  static IllegalArgumentException badStrides(int ars, int aks) {
    return new IllegalArgumentException("a GEMM operand with rows " + ars + " and terms " + aks + " floats apart");
  }

  /**
   * rows[r * kt + k] = a[a0 + k * aks + r] for r &lt; m, k &lt; kt: rows of a transposed operand (a weight gradient's
   * dout columns) as rows that run along k, for {@link #gemm6x2Rows}.
   */
  private static void transposeRows(float[] a, int a0, int aks, int m, int kt, float[] rows) {
    int r = 0;
    for (; r + 6 <= m; r += 6) {
      int t = r * kt;
      for (int k = 0; k < kt; k++) {
        int ak = a0 + k * aks + r;
        rows[t + k] = a[ak];
        rows[t + kt + k] = a[ak + 1];
        rows[t + 2 * kt + k] = a[ak + 2];
        rows[t + 3 * kt + k] = a[ak + 3];
        rows[t + 4 * kt + k] = a[ak + 4];
        rows[t + 5 * kt + k] = a[ak + 5];
      }
    }
    for (; r < m; r++) {
      for (int k = 0; k < kt; k++) {
        rows[r * kt + k] = a[a0 + k * aks + r];
      }
    }
  }

  /**
   * Copies b[k, j] (k &lt; K, j &lt; cols; at b0 + k*ldb + j) into {@link #gemmPanels}' layout: panels of two vectors of
   * columns, each K rows of 2L floats one after another, then the columns left over (cols mod 2L) as one narrower
   * panel. A GEMM then reads its operand as one stream: the rows of a block far apart in memory (a row of 768 or
   * 3072 floats) fall into few cache sets and evict one another.
   */
  static void packRows(float[] b, int b0, int ldb, int K, int cols, float[] panels) {
    int full = cols / (2 * L);
    for (int p = 0; p < full; p++) {
      int dst = p * K * 2 * L;
      int src = b0 + p * 2 * L;
      for (int k = 0; k < K; k++) {
        FloatVector.fromArray(S, b, src + k * ldb).intoArray(panels, dst + k * 2 * L);
        FloatVector.fromArray(S, b, src + k * ldb + L).intoArray(panels, dst + k * 2 * L + L);
      }
    }
    int w = cols - full * 2 * L;
    int dst = full * K * 2 * L;
    for (int k = 0; k < K; k++) {
      System.arraycopy(b, b0 + k * ldb + full * 2 * L, panels, dst + k * w, w);
    }
  }

  /** {@link #packRows} of the transpose: b[k, j] = w[w0 + j*ldw + k] (a block of a weight, rows by channels). */
  static void packTransposed(float[] w, int w0, int ldw, int K, int cols, float[] panels) {
    for (int j = 0; j < cols; j++) {
      int p = j / (2 * L);
      int width = Math.min(2 * L, cols - p * 2 * L);
      int dst = p * K * 2 * L + j - p * 2 * L;
      int src = w0 + j * ldw;
      for (int k = 0; k < K; k++) {
        panels[dst + k * width] = w[src + k];
      }
    }
  }

  /**
   * c[r, j] += sum over k in order of a[r, k] * b[k, j], for r &lt; M, j &lt; cols, k &lt; K, with b packed by
   * {@link #packRows} or {@link #packTransposed}. Element (r, j) of c is at c0 + r*ldc + j, a[r, k] at a0 + r*ars
   * + k*aks. Each c element gets its terms in the order of k, as the scalar loops add them (however the rows and
   * columns are grouped: the same bits); six rows by two vectors of columns at a time ({@link #gemm6x2Rows}), then the
   * general loops for the rows past the last six and the narrow panel.
   */
  static void gemmPanels(float[] c, int c0, int ldc, float[] a, int a0, int ars, int aks, float[] panels,
      int M, int K, int cols) {
    for (int r = 0; r < M; r += 6) {
      stripGemm(c, c0 + r * ldc, ldc, a, a0 + r * ars, ars, aks, panels, K, 0, Math.min(6, M - r), K, cols, cols);
    }
  }

  /**
   * c (m &lt;= 6 rows, ldc apart) += a (m by K) times terms [koff, koff + K) and the first {@code cols} columns of
   * panels packed by {@link #packRows} or {@link #packTransposed} from {@code kt} terms and {@code width} columns;
   * {@code cols} is {@code width} or a multiple of two vectors, and a0 points at term koff of a's first row. a's
   * rows run along k (aks = 1) or lie side by side (ars = 1): the two kernels there are.
   */
  static void stripGemm(float[] c, int c0, int ldc, float[] a, int a0, int ars, int aks, float[] panels,
      int kt, int koff, int m, int K, int width, int cols) {
    if (aks != 1 && ars != 1) {
      throw badStrides(ars, aks);
    }
    int full = cols / (2 * L);
    for (int p = 0; p < full; p++) {
      int b0 = (p * kt + koff) * 2 * L;
      if (m == 6 && aks == 1) {
        gemm6x2Rows(c, c0 + p * 2 * L, ldc, a, a0, ars, panels, b0, 2 * L, K);
      } else if (m == 6) {
        gemm6x2Columns(c, c0 + p * 2 * L, ldc, a, a0, aks, panels, b0, 2 * L, K);
      } else {
        gemmAccumulateFrom(c, c0 + p * 2 * L, ldc, a, a0, ars, aks, panels, b0, 2 * L, m, K, 2 * L);
      }
    }
    int w = cols - full * 2 * L;
    if (w > 0) {
      gemmAccumulateFrom(c, c0 + full * 2 * L, ldc, a, a0, ars, aks, panels, full * kt * 2 * L + koff * w, w, m, K,
          w);
    }
  }

  /**
   * Six rows by two vectors of columns of {@link #gemmPanels}, from column j (folded into c0 and b0): twelve
   * accumulators, so that the FMA units always have independent work (with eight, FMA latency times the two FMA
   * pipes is not covered), and per k two loads of b and six broadcasts of a for twelve FMAs. A method of its own:
   * its loop stays within C2's parse budget (see {@link Vectors}' class comment).
   *
   * <p>This one for a whose rows run along k (a matmul's input, dout's rows; aks = 1), {@link #gemm6x2Columns} for
   * a whose rows are adjacent floats (a transposed operand; ars = 1). One general kernel indexed a[r·ars + k·aks]:
   * with k·aks C2 cannot prove the index in bounds once per call, and checked six loads per k, 10% slower in L1;
   * these two measured medium's training step 731 -> 793 tokens/s and gpt2's 65.3 -> 70.3 on two threads.
   */
  private static void gemm6x2Rows(float[] c, int c0, int ldc, float[] a, int a0, int ars, float[] b, int b0,
      int ldb, int K) {
    int cr1 = c0 + ldc;
    int cr2 = cr1 + ldc;
    int cr3 = cr2 + ldc;
    int cr4 = cr3 + ldc;
    int cr5 = cr4 + ldc;
    int ar1 = a0 + ars;
    int ar2 = ar1 + ars;
    int ar3 = ar2 + ars;
    int ar4 = ar3 + ars;
    int ar5 = ar4 + ars;
    FloatVector c00 = FloatVector.fromArray(S, c, c0);
    FloatVector c01 = FloatVector.fromArray(S, c, c0 + L);
    FloatVector c10 = FloatVector.fromArray(S, c, cr1);
    FloatVector c11 = FloatVector.fromArray(S, c, cr1 + L);
    FloatVector c20 = FloatVector.fromArray(S, c, cr2);
    FloatVector c21 = FloatVector.fromArray(S, c, cr2 + L);
    FloatVector c30 = FloatVector.fromArray(S, c, cr3);
    FloatVector c31 = FloatVector.fromArray(S, c, cr3 + L);
    FloatVector c40 = FloatVector.fromArray(S, c, cr4);
    FloatVector c41 = FloatVector.fromArray(S, c, cr4 + L);
    FloatVector c50 = FloatVector.fromArray(S, c, cr5);
    FloatVector c51 = FloatVector.fromArray(S, c, cr5 + L);
    for (int k = 0; k < K; k++) {
      int bk = b0 + k * ldb;
      FloatVector v0 = FloatVector.fromArray(S, b, bk);
      FloatVector v1 = FloatVector.fromArray(S, b, bk + L);
      FloatVector g = FloatVector.broadcast(S, a[a0 + k]);
      c00 = v0.fma(g, c00);
      c01 = v1.fma(g, c01);
      g = FloatVector.broadcast(S, a[ar1 + k]);
      c10 = v0.fma(g, c10);
      c11 = v1.fma(g, c11);
      g = FloatVector.broadcast(S, a[ar2 + k]);
      c20 = v0.fma(g, c20);
      c21 = v1.fma(g, c21);
      g = FloatVector.broadcast(S, a[ar3 + k]);
      c30 = v0.fma(g, c30);
      c31 = v1.fma(g, c31);
      g = FloatVector.broadcast(S, a[ar4 + k]);
      c40 = v0.fma(g, c40);
      c41 = v1.fma(g, c41);
      g = FloatVector.broadcast(S, a[ar5 + k]);
      c50 = v0.fma(g, c50);
      c51 = v1.fma(g, c51);
    }
    c00.intoArray(c, c0);
    c01.intoArray(c, c0 + L);
    c10.intoArray(c, cr1);
    c11.intoArray(c, cr1 + L);
    c20.intoArray(c, cr2);
    c21.intoArray(c, cr2 + L);
    c30.intoArray(c, cr3);
    c31.intoArray(c, cr3 + L);
    c40.intoArray(c, cr4);
    c41.intoArray(c, cr4 + L);
    c50.intoArray(c, cr5);
    c51.intoArray(c, cr5 + L);
  }

  /**
   * {@link #gemm6x2Rows} where a's six rows are adjacent floats (ars = 1: a transposed operand, dout's columns in a
   * weight gradient, dpreatt's in attention's dk): one index per k, a[a0 + k·aks + r] for r &lt; 6.
   */
  private static void gemm6x2Columns(float[] c, int c0, int ldc, float[] a, int a0, int aks, float[] b, int b0,
      int ldb, int K) {
    int cr1 = c0 + ldc;
    int cr2 = cr1 + ldc;
    int cr3 = cr2 + ldc;
    int cr4 = cr3 + ldc;
    int cr5 = cr4 + ldc;
    FloatVector c00 = FloatVector.fromArray(S, c, c0);
    FloatVector c01 = FloatVector.fromArray(S, c, c0 + L);
    FloatVector c10 = FloatVector.fromArray(S, c, cr1);
    FloatVector c11 = FloatVector.fromArray(S, c, cr1 + L);
    FloatVector c20 = FloatVector.fromArray(S, c, cr2);
    FloatVector c21 = FloatVector.fromArray(S, c, cr2 + L);
    FloatVector c30 = FloatVector.fromArray(S, c, cr3);
    FloatVector c31 = FloatVector.fromArray(S, c, cr3 + L);
    FloatVector c40 = FloatVector.fromArray(S, c, cr4);
    FloatVector c41 = FloatVector.fromArray(S, c, cr4 + L);
    FloatVector c50 = FloatVector.fromArray(S, c, cr5);
    FloatVector c51 = FloatVector.fromArray(S, c, cr5 + L);
    for (int k = 0; k < K; k++) {
      int bk = b0 + k * ldb;
      int ak = a0 + k * aks;
      FloatVector v0 = FloatVector.fromArray(S, b, bk);
      FloatVector v1 = FloatVector.fromArray(S, b, bk + L);
      FloatVector g = FloatVector.broadcast(S, a[ak]);
      c00 = v0.fma(g, c00);
      c01 = v1.fma(g, c01);
      g = FloatVector.broadcast(S, a[ak + 1]);
      c10 = v0.fma(g, c10);
      c11 = v1.fma(g, c11);
      g = FloatVector.broadcast(S, a[ak + 2]);
      c20 = v0.fma(g, c20);
      c21 = v1.fma(g, c21);
      g = FloatVector.broadcast(S, a[ak + 3]);
      c30 = v0.fma(g, c30);
      c31 = v1.fma(g, c31);
      g = FloatVector.broadcast(S, a[ak + 4]);
      c40 = v0.fma(g, c40);
      c41 = v1.fma(g, c41);
      g = FloatVector.broadcast(S, a[ak + 5]);
      c50 = v0.fma(g, c50);
      c51 = v1.fma(g, c51);
    }
    c00.intoArray(c, c0);
    c01.intoArray(c, c0 + L);
    c10.intoArray(c, cr1);
    c11.intoArray(c, cr1 + L);
    c20.intoArray(c, cr2);
    c21.intoArray(c, cr2 + L);
    c30.intoArray(c, cr3);
    c31.intoArray(c, cr3 + L);
    c40.intoArray(c, cr4);
    c41.intoArray(c, cr4 + L);
    c50.intoArray(c, cr5);
    c51.intoArray(c, cr5 + L);
  }

  /**
   * {@link #gemmPanels}' general loops: the rows left over by its six-row tiles and the narrow panel, four rows by
   * one vector, then single rows and single columns; every c element's terms in the order of k.
   */
  private static void gemmAccumulateFrom(float[] c, int c0, int ldc, float[] a, int a0, int ars, int aks,
      float[] b, int b0, int ldb, int M, int K, int cols) {
    int bound = S.loopBound(cols);
    int r = 0;
    for (; r + 4 <= M; r += 4) {
      int cr0 = c0 + r * ldc;
      int cr1 = cr0 + ldc;
      int cr2 = cr1 + ldc;
      int cr3 = cr2 + ldc;
      int ar0 = a0 + r * ars;
      int ar1 = ar0 + ars;
      int ar2 = ar1 + ars;
      int ar3 = ar2 + ars;
      int j = 0;
      for (; j < bound; j += L) {
        FloatVector c0v = FloatVector.fromArray(S, c, cr0 + j);
        FloatVector c1v = FloatVector.fromArray(S, c, cr1 + j);
        FloatVector c2v = FloatVector.fromArray(S, c, cr2 + j);
        FloatVector c3v = FloatVector.fromArray(S, c, cr3 + j);
        for (int k = 0; k < K; k++) {
          int ak = k * aks;
          FloatVector v = FloatVector.fromArray(S, b, b0 + k * ldb + j);
          c0v = v.fma(FloatVector.broadcast(S, a[ar0 + ak]), c0v);
          c1v = v.fma(FloatVector.broadcast(S, a[ar1 + ak]), c1v);
          c2v = v.fma(FloatVector.broadcast(S, a[ar2 + ak]), c2v);
          c3v = v.fma(FloatVector.broadcast(S, a[ar3 + ak]), c3v);
        }
        c0v.intoArray(c, cr0 + j);
        c1v.intoArray(c, cr1 + j);
        c2v.intoArray(c, cr2 + j);
        c3v.intoArray(c, cr3 + j);
      }
      for (; j < cols; j++) {
        float s0 = c[cr0 + j];
        float s1 = c[cr1 + j];
        float s2 = c[cr2 + j];
        float s3 = c[cr3 + j];
        for (int k = 0; k < K; k++) {
          int ak = k * aks;
          float v = b[b0 + k * ldb + j];
          s0 += a[ar0 + ak] * v;
          s1 += a[ar1 + ak] * v;
          s2 += a[ar2 + ak] * v;
          s3 += a[ar3 + ak] * v;
        }
        c[cr0 + j] = s0;
        c[cr1 + j] = s1;
        c[cr2 + j] = s2;
        c[cr3 + j] = s3;
      }
    }
    for (; r < M; r++) {
      int cr = c0 + r * ldc;
      int ar = a0 + r * ars;
      int j = 0;
      for (; j < bound; j += L) {
        FloatVector acc = FloatVector.fromArray(S, c, cr + j);
        for (int k = 0; k < K; k++) {
          acc = FloatVector.fromArray(S, b, b0 + k * ldb + j).fma(FloatVector.broadcast(S, a[ar + k * aks]), acc);
        }
        acc.intoArray(c, cr + j);
      }
      for (; j < cols; j++) {
        float s = c[cr + j];
        for (int k = 0; k < K; k++) {
          s += a[ar + k * aks] * b[b0 + k * ldb + j];
        }
        c[cr + j] = s;
      }
    }
  }
}
