package dev.unroll.runtime.simd;

import static dev.unroll.runtime.simd.Gemm.GEMM_KC;
import static dev.unroll.runtime.simd.Gemm.GEMM_NC;
import static dev.unroll.runtime.simd.Gemm.PANELS;
import static dev.unroll.runtime.simd.Gemm.gemmPanels;
import static dev.unroll.runtime.simd.Gemm.packRows;
import static dev.unroll.runtime.simd.Gemm.packTransposed;
import static dev.unroll.runtime.simd.Gemm.stripGemm;
import static dev.unroll.runtime.simd.Vectors.L;
import static dev.unroll.runtime.simd.Vectors.MAX_START;
import static dev.unroll.runtime.simd.Vectors.S;
import static dev.unroll.runtime.simd.Vectors.addInto;
import static dev.unroll.runtime.simd.Vectors.dot;
import static dev.unroll.runtime.simd.Vectors.expShifted;
import static dev.unroll.runtime.simd.Vectors.onePerThread;

import dev.unroll.runtime.thread.WorkerPool;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;

/**
 * Causal attention, grouped-query (GPT-2 is the case KVH = NH): training's forward and backward per (batch, head)
 * on {@link Gemm}'s six-by-two micro-kernel, the scores, the weighted sum and the four backward products each a
 * GEMM over packed panels of keys, values, queries or dout; an encoder's bidirectional attention the same way over
 * each row's square of valid positions (its padding neither attends nor is attended to); and decoding's attention
 * of one position against the KV cache, a dot product per key, split over the pool by head.
 */
final class Attention {

  private Attention() {}

  /** {@link dev.unroll.runtime.kernel.Kernels#attentionForwardGqa}. */
  static void forward(float[] out, int outOff, float[] preatt, int preattOff, float[] att, int attOff, float[] qkv,
      int qkvOff, int B, int T, int NH, int KVH, int hs) {
    WorkerPool pool = WorkerPool.acquire(2L * B * T * T * NH * hs);
    if (pool == null) {
      attentionForwardHeads(out, outOff, preatt, preattOff, att, attOff, qkv, qkvOff, T, NH, KVH, hs, 0, B * NH);
      return;
    }
    pool.run(J.task(FORWARD).out(out, outOff).preatt(preatt, preattOff).att(att, attOff).qkv(qkv, qkvOff).T(T)
        .heads(NH, KVH, hs), B * NH, 1);
  }

  /** The arguments of this room's parallel tasks (see {@link KernelJob}). */
  private static final KernelJob J = new KernelJob();

  /** {@link #forward}'s (batch, head) pairs. */
  private static final KernelJob.Task FORWARD = (from, to) -> attentionForwardHeads(J.out, J.outOff, J.preatt,
      J.preattOff, J.att, J.attOff, J.qkv, J.qkvOff, J.T, J.NH, J.KVH, J.hs, from, to);

  /**
   * (batch, query head) pairs [from, to), numbered b·NH + h, of {@link #forward}. A row of qkv holds
   * q (NH·hs), k and v (KVH·hs each); query head h reads kv head h / (NH / KVH). GPT-2 is KVH = NH. Two GEMMs per
   * head on the thread's packed panels: the scores q·kᵀ·scale ({@link #causalScoresGemm}), the causal softmax row
   * by row, then att·v ({@link #causalRowsGemm}). The per-head work is in methods called once per head, so that the
   * JIT compiles it within a few steps (a loop entered a few times per step waits long for its counters: measured,
   * seconds of interpreted strips).
   */
  private static void attentionForwardHeads(float[] out, int outOff, float[] preatt, int preattOff, float[] att,
      int attOff, float[] qkv, int qkvOff, int T, int NH, int KVH, int hs, int from, int to) {
    int R = (NH + 2 * KVH) * hs;
    int C = NH * hs;
    int group = NH / KVH;
    float scale = gqaScale(hs);
    float[] panels = attentionPanels(hs);
    for (int bh = from; bh < to; bh++) {
      int b = bh / NH;
      int h = bh % NH;
      int kvh = (h / group) * hs;
      int base = qkvOff + b * T * R;
      int pre = preattOff + bh * T * T;
      int a0 = attOff + bh * T * T;
      int y0 = outOff + b * T * C + h * hs;
      causalScoresGemm(preatt, pre, qkv, base + h * hs, R, qkv, base + C + kvh, R, T, hs, scale, false, panels);
      causalSoftmaxRows(preatt, pre, att, a0, out, y0, C, T, hs);
      causalRowsGemm(out, y0, C, att, a0, qkv, base + C + KVH * hs + kvh, R, T, hs, 1.0f, panels);
    }
  }

  /** The causal softmax of every row of one head's scores; zeroes the head's output rows for the sum after. */
  private static void causalSoftmaxRows(float[] preatt, int pre, float[] att, int a0, float[] out, int y0, int C,
      int T, int hs) {
    for (int t = 0; t < T; t++) {
      causalSoftmaxRow(preatt, pre + t * T, att, a0 + t * T, t + 1, T);
      Arrays.fill(out, y0 + t * C, y0 + t * C + hs, 0.0f);
    }
  }

  /**
   * One row of attention's softmax: att[a + t2] = softmax of preatt[pre + t2] over t2 &lt; count (the causal
   * prefix, or a row's valid keys), then zeros in both rows from count to T.
   */
  private static void causalSoftmaxRow(float[] preatt, int pre, float[] att, int a, int count, int T) {
    float maxval = MAX_START;
    for (int t2 = 0; t2 < count; t2++) {
      if (preatt[pre + t2] > maxval) {
        maxval = preatt[pre + t2];
      }
    }
    float expsum = expShifted(preatt, pre, maxval, att, a, count);
    scale(att, a, expsum == 0.0f ? 0.0f : 1.0f / expsum, count);
    Arrays.fill(preatt, pre + count, pre + T, 0.0f);
    Arrays.fill(att, a + count, a + T, 0.0f);
  }

  /**
   * Scores of one head, each row t only up to its own key: dst[t, t2] = x[t]·y[t2]·scale for t2 &lt;= t, written
   * (or added, when {@code add}); rows of x and y are hs floats, xld and yld apart. By blocks of
   * {@link #scoreKeys} keys, transposed (and scaled) as they are packed, and six-row strips that stop at their last
   * row's keys, each computed into a scratch tile past the panels, of which every row takes only its own keys. T by
   * T, rows T apart.
   */
  private static void causalScoresGemm(float[] dst, int d0, float[] x, int x0, int xld, float[] y, int y0, int yld,
      int T, int hs, float scale, boolean add, float[] panels) {
    int jb = scoreKeys(hs);
    int scratch = hs * jb; // past the transposed block: six rows of jb keys
    for (int j0 = 0; j0 < T; j0 += jb) {
      int jt = Math.min(jb, T - j0);
      packTransposed(y, y0 + j0 * yld, yld, hs, jt, panels);
      if (scale != 1.0f) {
        scale(panels, 0, scale, hs * jt);
      }
      for (int r = j0 / 6 * 6; r < T; r += 6) {
        int m = Math.min(6, T - r);
        int cols = Math.min(jt, (r + m - j0 + 2 * L - 1) / (2 * L) * (2 * L));
        Arrays.fill(panels, scratch, scratch + m * jb, 0.0f);
        stripGemm(panels, scratch, jb, x, x0 + r * xld, xld, 1, panels, hs, 0, m, hs, jt, cols);
        for (int i = 0; i < m; i++) {
          int n = Math.min(cols, r + i + 1 - j0);
          int row = d0 + (r + i) * T + j0;
          if (n <= 0) {
            continue;
          }
          if (add) {
            addInto(dst, row, panels, scratch + i * jb, n);
          } else {
            System.arraycopy(panels, scratch + i * jb, dst, row, n);
          }
        }
      }
    }
  }

  /**
   * c[t] += sum over t2 &lt;= t of a[t, t2]·b[t2]·scale, for one head: a is T by T (rows T apart), rows of b and c are
   * hs floats, ldb and ldc apart. By blocks of {@link #termRows} rows of b, packed (and scaled), and six-row strips
   * that stop at their last row's terms; a strip's last terms past a row's own position must hold zeros in a.
   */
  private static void causalRowsGemm(float[] c, int c0, int ldc, float[] a, int a0, float[] b, int b0, int ldb,
      int T, int hs, float scale, float[] panels) {
    int kb = termRows(hs);
    for (int k0 = 0; k0 < T; k0 += kb) {
      int kt = Math.min(kb, T - k0);
      packRowsScaled(b, b0 + k0 * ldb, ldb, kt, hs, scale, panels);
      for (int r = k0 / 6 * 6; r < T; r += 6) {
        int m = Math.min(6, T - r);
        stripGemm(c, c0 + r * ldc, ldc, a, a0 + r * T + k0, T, 1, panels, kt, 0, m, Math.min(kt, r + m - k0), hs,
            hs);
      }
    }
  }

  /** {@link Gemm#packRows}, then every packed value times {@code scale} (unless it is 1). */
  private static void packRowsScaled(float[] b, int b0, int ldb, int K, int cols, float scale, float[] panels) {
    packRows(b, b0, ldb, K, cols, panels);
    if (scale != 1.0f) {
      scale(panels, 0, scale, K * cols);
    }
  }

  /**
   * c[t2] += sum over t &gt;= t2 of a[t, t2]·b[t]·scale, for one head: {@link #causalRowsGemm} with a transposed.
   * Each strip starts at its first row's terms; the ones before a later row's own position must hold zeros in a.
   */
  private static void causalColumnsGemm(float[] c, int c0, int ldc, float[] a, int a0, float[] b, int b0, int ldb,
      int T, int hs, float scale, float[] panels) {
    int kb = termRows(hs);
    for (int k0 = 0; k0 < T; k0 += kb) {
      int kt = Math.min(kb, T - k0);
      packRowsScaled(b, b0 + k0 * ldb, ldb, kt, hs, scale, panels);
      for (int r = 0; r < k0 + kt; r += 6) {
        int m = Math.min(6, T - r);
        int koff = Math.max(0, r - k0);
        stripGemm(c, c0 + r * ldc, ldc, a, a0 + (k0 + koff) * T + r, 1, T, panels, kt, koff, m, kt - koff, hs, hs);
      }
    }
  }

  /**
   * Keys per block of {@link #causalScoresGemm} for heads of hs: GEMM_NC, or fewer (whole pairs of vectors) when
   * the transposed block and its six-row scratch would not fit in GEMM_KC·GEMM_NC floats.
   */
  private static int scoreKeys(int hs) {
    return Math.min(GEMM_NC, Math.max(2 * L, GEMM_KC * GEMM_NC / (hs + 6) / (2 * L) * (2 * L)));
  }

  /** Rows of b per block of {@link #causalRowsGemm} and {@link #causalColumnsGemm}: GEMM_KC, fewer for wide heads. */
  private static int termRows(int hs) {
    return Math.min(GEMM_KC, Math.max(6, GEMM_KC * GEMM_NC / hs));
  }

  /**
   * The thread's panels, large enough for attention's blocks at head size hs: GEMM_KC·GEMM_NC floats unless the
   * heads are thousands of floats wide, when they are replaced once by a larger array.
   */
  private static float[] attentionPanels(int hs) {
    int floats = Math.max((hs + 6) * scoreKeys(hs), hs * termRows(hs));
    float[] panels = PANELS.get();
    if (panels.length < floats) {
      panels = new float[floats];
      PANELS.set(panels);
    }
    return panels;
  }

  /** a[ao..ao+n) *= s. */
  private static void scale(float[] a, int ao, float s, int n) {
    int bound = S.loopBound(n);
    int i = 0;
    if (bound > 0) {
      FloatVector vs = FloatVector.broadcast(S, s);
      for (; i < bound; i += L) {
        FloatVector.fromArray(S, a, ao + i).mul(vs).intoArray(a, ao + i);
      }
    }
    for (; i < n; i++) {
      a[ao + i] *= s;
    }
  }

  /** {@link dev.unroll.runtime.kernel.Kernels#attentionBackwardGqa}. */
  static void backward(float[] dqkv, int dqkvOff, float[] dpreatt, int dpreattOff, float[] datt, int dattOff,
      float[] dout, int doutOff, float[] qkv, int qkvOff, float[] att, int attOff, int B, int T, int NH, int KVH,
      int hs) {
    WorkerPool pool = WorkerPool.acquire(4L * B * T * T * NH * hs);
    if (pool == null) {
      attentionBackwardHeads(dqkv, dqkvOff, dpreatt, dpreattOff, datt, dattOff, dout, doutOff, qkv, qkvOff, att,
          attOff, T, NH, KVH, hs, 0, B * KVH);
      return;
    }
    pool.run(J.task(BACKWARD).dqkv(dqkv, dqkvOff).dpreatt(dpreatt, dpreattOff).datt(datt, dattOff).dout(dout, doutOff)
        .qkv(qkv, qkvOff).att(att, attOff).T(T).heads(NH, KVH, hs), B * KVH, 1);
  }

  /** {@link #backward}'s (batch, kv head) pairs. */
  private static final KernelJob.Task BACKWARD = (from, to) -> attentionBackwardHeads(J.dqkv, J.dqkvOff, J.dpreatt,
      J.dpreattOff, J.datt, J.dattOff, J.dout, J.doutOff, J.qkv, J.qkvOff, J.att, J.attOff, J.T, J.NH, J.KVH, J.hs,
      from, to);

  /**
   * (batch, kv head) pairs [from, to), numbered b·KVH + g, of {@link #backward}: the query heads that
   * share kv head g, in order. A pair writes only its own heads' slices of dqkv (its query heads' dq, its kv
   * head's dk and dv), adding into them in the same order on any number of threads. GEMMs per query head on the
   * thread's packed panels, in the order the gradients need: datt += dout·vᵀ ({@link #causalScoresGemm}), the
   * softmax's backward row by row into dpreatt, then dv += attᵀ·dout ({@link #causalColumnsGemm}), dq +=
   * dpreatt·k·scale ({@link #causalRowsGemm}) and dk += dpreattᵀ·q·scale. The terms a strip takes past a row's own
   * position read att or dpreatt above the diagonal, which hold zeros (the forward writes them; nothing writes
   * dpreatt there), so they add nothing.
   */
  private static void attentionBackwardHeads(float[] dqkv, int dqkvOff, float[] dpreatt, int dpreattOff,
      float[] datt, int dattOff, float[] dout, int doutOff, float[] qkv, int qkvOff, float[] att, int attOff, int T,
      int NH, int KVH, int hs, int from, int to) {
    int R = (NH + 2 * KVH) * hs;
    int C = NH * hs;
    int group = NH / KVH;
    float scale = gqaScale(hs);
    float[] panels = attentionPanels(hs);
    for (int bg = from; bg < to; bg++) {
      int b = bg / KVH;
      int kvh = (bg % KVH) * hs;
      int base = qkvOff + b * T * R;
      int dbase = dqkvOff + b * T * R;
      int k0 = C + kvh;
      int v0 = C + KVH * hs + kvh;
      for (int h = (bg % KVH) * group; h < (bg % KVH + 1) * group; h++) {
        int bh = b * NH + h;
        int pa = attOff + bh * T * T;
        int pda = dattOff + bh * T * T;
        int pdp = dpreattOff + bh * T * T;
        int dy = doutOff + b * T * C + h * hs;
        causalScoresGemm(datt, pda, dout, dy, C, qkv, base + v0, R, T, hs, 1.0f, true, panels);
        softmaxBackwardRows(dpreatt, pdp, datt, pda, att, pa, T);
        causalColumnsGemm(dqkv, dbase + v0, R, att, pa, dout, dy, C, T, hs, 1.0f, panels);
        causalRowsGemm(dqkv, dbase + h * hs, R, dpreatt, pdp, qkv, base + k0, R, T, hs, scale, panels);
        causalColumnsGemm(dqkv, dbase + k0, R, dpreatt, pdp, qkv, base + h * hs, R, T, hs, scale, panels);
      }
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // bidirectional: an encoder's, with each row's length as its padding mask

  /** {@link dev.unroll.runtime.kernel.Kernels#attentionForwardBidirectional}. */
  static void forwardBidirectional(float[] out, int outOff, float[] preatt, int preattOff, float[] att, int attOff,
      float[] qkv, int qkvOff, int[] lengths, int B, int T, int C, int NH) {
    WorkerPool pool = WorkerPool.acquire(4L * B * T * T * C);
    if (pool == null) {
      bidirectionalForwardHeads(out, outOff, preatt, preattOff, att, attOff, qkv, qkvOff, lengths, T, NH, C / NH, 0,
          B * NH);
      return;
    }
    pool.run(J.task(FORWARD_BIDIRECTIONAL).out(out, outOff).preatt(preatt, preattOff).att(att, attOff)
        .qkv(qkv, qkvOff).lengths(lengths).T(T).heads(NH, NH, C / NH), B * NH, 1);
  }

  /** {@link #forwardBidirectional}'s (batch, head) pairs. */
  private static final KernelJob.Task FORWARD_BIDIRECTIONAL = (from, to) -> bidirectionalForwardHeads(J.out,
      J.outOff, J.preatt, J.preattOff, J.att, J.attOff, J.qkv, J.qkvOff, J.lengths, J.T, J.NH, J.hs, from, to);

  /**
   * (batch, head) pairs [from, to), numbered b·NH + h, of {@link #forwardBidirectional}. Over the row's n valid
   * positions: the n by n scores q·kᵀ·scale as a GEMM ({@link #scoresGemm}), the softmax row by row over the n
   * keys, then att·v ({@link #rowsGemm}); the padded query rows are zeros in out, preatt and att.
   */
  private static void bidirectionalForwardHeads(float[] out, int outOff, float[] preatt, int preattOff, float[] att,
      int attOff, float[] qkv, int qkvOff, int[] lengths, int T, int NH, int hs, int from, int to) {
    int C = NH * hs;
    int R = 3 * C;
    float scale = gqaScale(hs);
    float[] panels = attentionPanels(hs);
    for (int bh = from; bh < to; bh++) {
      int b = bh / NH;
      int h = bh % NH;
      int n = lengths[b];
      int base = qkvOff + b * T * R;
      int pre = preattOff + bh * T * T;
      int a0 = attOff + bh * T * T;
      int y0 = outOff + b * T * C + h * hs;
      for (int t = 0; t < n; t++) {
        Arrays.fill(preatt, pre + t * T, pre + t * T + n, 0.0f);
        Arrays.fill(out, y0 + t * C, y0 + t * C + hs, 0.0f);
      }
      scoresGemm(preatt, pre, T, qkv, base + h * hs, R, qkv, base + C + h * hs, R, n, hs, scale, panels);
      for (int t = 0; t < n; t++) {
        causalSoftmaxRow(preatt, pre + t * T, att, a0 + t * T, n, T);
      }
      rowsGemm(out, y0, C, att, a0, T, 1, qkv, base + 2 * C + h * hs, R, n, hs, 1.0f, panels);
      Arrays.fill(preatt, pre + n * T, pre + T * T, 0.0f);
      Arrays.fill(att, a0 + n * T, a0 + T * T, 0.0f);
      for (int t = n; t < T; t++) {
        Arrays.fill(out, y0 + t * C, y0 + t * C + hs, 0.0f);
      }
    }
  }

  /**
   * dst[t, t2] += x[t]·y[t2]·scale for t, t2 &lt; n: rows of x and y are hs floats, xld and yld apart; dst's rows
   * ld apart. By blocks of {@link #scoreKeys} keys, transposed (and scaled) as they are packed.
   */
  private static void scoresGemm(float[] dst, int d0, int ld, float[] x, int x0, int xld, float[] y, int y0,
      int yld, int n, int hs, float scale, float[] panels) {
    int jb = scoreKeys(hs);
    for (int j0 = 0; j0 < n; j0 += jb) {
      int jt = Math.min(jb, n - j0);
      packTransposed(y, y0 + j0 * yld, yld, hs, jt, panels);
      if (scale != 1.0f) {
        scale(panels, 0, scale, hs * jt);
      }
      gemmPanels(dst, d0 + j0, ld, x, x0, xld, 1, panels, n, hs, jt);
    }
  }

  /**
   * c[r] += sum over k &lt; n of a[r, k]·b[k]·scale for r &lt; n, a[r, k] at a0 + r·ars + k·aks (ars or aks 1: a or
   * its transpose); rows of b and c are hs floats, ldb and ldc apart. By blocks of {@link #termRows} rows of b,
   * packed (and scaled).
   */
  private static void rowsGemm(float[] c, int c0, int ldc, float[] a, int a0, int ars, int aks, float[] b, int b0,
      int ldb, int n, int hs, float scale, float[] panels) {
    int kb = termRows(hs);
    for (int k0 = 0; k0 < n; k0 += kb) {
      int kt = Math.min(kb, n - k0);
      packRowsScaled(b, b0 + k0 * ldb, ldb, kt, hs, scale, panels);
      gemmPanels(c, c0, ldc, a, a0 + k0 * aks, ars, aks, panels, n, kt, hs);
    }
  }

  /** {@link dev.unroll.runtime.kernel.Kernels#attentionBackwardBidirectional}. */
  static void backwardBidirectional(float[] dqkv, int dqkvOff, float[] dpreatt, int dpreattOff, float[] datt,
      int dattOff, float[] dout, int doutOff, float[] qkv, int qkvOff, float[] att, int attOff, int[] lengths, int B,
      int T, int C, int NH) {
    WorkerPool pool = WorkerPool.acquire(8L * B * T * T * C);
    if (pool == null) {
      bidirectionalBackwardHeads(dqkv, dqkvOff, dpreatt, dpreattOff, datt, dattOff, dout, doutOff, qkv, qkvOff, att,
          attOff, lengths, T, NH, C / NH, 0, B * NH);
      return;
    }
    pool.run(J.task(BACKWARD_BIDIRECTIONAL).dqkv(dqkv, dqkvOff).dpreatt(dpreatt, dpreattOff).datt(datt, dattOff)
        .dout(dout, doutOff).qkv(qkv, qkvOff).att(att, attOff).lengths(lengths).T(T).heads(NH, NH, C / NH), B * NH,
        1);
  }

  /** {@link #backwardBidirectional}'s (batch, head) pairs. */
  private static final KernelJob.Task BACKWARD_BIDIRECTIONAL = (from, to) -> bidirectionalBackwardHeads(J.dqkv,
      J.dqkvOff, J.dpreatt, J.dpreattOff, J.datt, J.dattOff, J.dout, J.doutOff, J.qkv, J.qkvOff, J.att, J.attOff,
      J.lengths, J.T, J.NH, J.hs, from, to);

  /**
   * (batch, head) pairs [from, to) of {@link #backwardBidirectional}: a pair writes only its own head's slices of
   * dqkv, over the row's n valid positions. datt += dout·vᵀ, the softmax's backward row by row into dpreatt, then
   * dv += attᵀ·dout, dq += dpreatt·k·scale and dk += dpreattᵀ·q·scale, each a GEMM.
   */
  private static void bidirectionalBackwardHeads(float[] dqkv, int dqkvOff, float[] dpreatt, int dpreattOff,
      float[] datt, int dattOff, float[] dout, int doutOff, float[] qkv, int qkvOff, float[] att, int attOff,
      int[] lengths, int T, int NH, int hs, int from, int to) {
    int C = NH * hs;
    int R = 3 * C;
    float scale = gqaScale(hs);
    float[] panels = attentionPanels(hs);
    for (int bh = from; bh < to; bh++) {
      int b = bh / NH;
      int h = bh % NH;
      int n = lengths[b];
      int base = qkvOff + b * T * R;
      int dbase = dqkvOff + b * T * R;
      int pa = attOff + bh * T * T;
      int pda = dattOff + bh * T * T;
      int pdp = dpreattOff + bh * T * T;
      int dy = doutOff + b * T * C + h * hs;
      int q0 = h * hs;
      int k0 = C + h * hs;
      int v0 = 2 * C + h * hs;
      scoresGemm(datt, pda, T, dout, dy, C, qkv, base + v0, R, n, hs, 1.0f, panels);
      for (int t = 0; t < n; t++) {
        softmaxBackwardRow(dpreatt, pdp + t * T, datt, pda + t * T, att, pa + t * T, n);
      }
      rowsGemm(dqkv, dbase + v0, R, att, pa, 1, T, dout, dy, C, n, hs, 1.0f, panels);
      rowsGemm(dqkv, dbase + q0, R, dpreatt, pdp, T, 1, qkv, base + k0, R, n, hs, scale, panels);
      rowsGemm(dqkv, dbase + k0, R, dpreatt, pdp, 1, T, qkv, base + q0, R, n, hs, scale, panels);
    }
  }

  /** The softmax's backward of every row of one head: dpreatt += att·(datt - att·datt), row t up to its own key. */
  private static void softmaxBackwardRows(float[] dpreatt, int pdp, float[] datt, int pda, float[] att, int pa,
      int T) {
    for (int t = 0; t < T; t++) {
      softmaxBackwardRow(dpreatt, pdp + t * T, datt, pda + t * T, att, pa + t * T, t + 1);
    }
  }

  /**
   * Attention's backward pass through one row of the softmax, over its causal prefix t3 &lt; count:
   * dpreatt[t3] += att[t3]·(datt[t3] - sum over t2 of att[t2]·datt[t2]).
   */
  private static void softmaxBackwardRow(float[] dpreatt, int dpre, float[] datt, int da, float[] att, int a,
      int count) {
    float weighted = dot(att, a, datt, da, count);
    int bound = S.loopBound(count);
    int t3 = 0;
    if (bound > 0) {
      FloatVector vw = FloatVector.broadcast(S, weighted);
      for (; t3 < bound; t3 += L) {
        FloatVector p = FloatVector.fromArray(S, att, a + t3);
        FloatVector g = FloatVector.fromArray(S, datt, da + t3).sub(vw);
        p.fma(g, FloatVector.fromArray(S, dpreatt, dpre + t3)).intoArray(dpreatt, dpre + t3);
      }
    }
    for (; t3 < count; t3++) {
      dpreatt[dpre + t3] += att[a + t3] * (datt[da + t3] - weighted);
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // decoding: one query position against the KV cache

  /** {@link dev.unroll.runtime.kernel.Kernels#attentionDecode}. */
  static void decode(float[] out, int outOff, float[] att, int attOff, float[] q, int qOff, float[] kcache, int kOff,
      float[] vcache, int vOff, int pos, int T, int NH, int KVH, int hs) {
    // weighed as four times its flops: between the products, whose weights stream through the caches, the keys and
    // values come from memory, and the softmax's exps are slow; at 4x flops, stories15M's attention stayed on one
    // thread below position 113 and took about a tenth of each token (two threads: 599 -> 636 tok/s, medians)
    WorkerPool pool = WorkerPool.acquire(16L * NH * (pos + 1) * hs);
    if (pool == null) {
      attentionDecodeHeads(out, outOff, att, attOff, q, qOff, kcache, kOff, vcache, vOff, pos, T, NH, KVH, hs, 0,
          NH);
      return;
    }
    // each head on one thread, as on one thread alone; one share per thread (6 heads cut in pairs left one thread
    // two shares and the other one)
    pool.run(J.task(DECODE).out(out, outOff).att(att, attOff).q(q, qOff).kcache(kcache, kOff).vcache(vcache, vOff)
        .pos(pos).T(T).heads(NH, KVH, hs), NH, onePerThread(NH, 1));
  }

  /** {@link #decode}'s query heads. */
  private static final KernelJob.Task DECODE = (from, to) -> attentionDecodeHeads(J.out, J.outOff, J.att, J.attOff,
      J.q, J.qOff, J.kcache, J.kOff, J.vcache, J.vOff, J.pos, J.T, J.NH, J.KVH, J.hs, from, to);

  /** Query heads [from, to) of {@link #decode}. */
  private static void attentionDecodeHeads(float[] out, int outOff, float[] att, int attOff, float[] q, int qOff,
      float[] kcache, int kOff, float[] vcache, int vOff, int pos, int T, int NH, int KVH, int hs, int from,
      int to) {
    int kvDim = KVH * hs;
    int group = NH / KVH;
    float scale = gqaScale(hs);
    for (int h = from; h < to; h++) {
      int kvh = (h / group) * hs;
      int a = attOff + h * T;
      gqaScoresSoftmax(att, a, att, a, q, qOff + h * hs, kcache, kOff + kvh, kvDim, pos + 1, hs, scale);
      gqaWeightedSum(out, outOff + h * hs, att, a, vcache, vOff + kvh, kvDim, pos + 1, hs);
    }
  }

  /** 1/sqrt(hs), computed as the scalar reference does. */
  private static float gqaScale(int hs) {
    return (float) (1.0 / (float) Math.sqrt(hs));
  }

  /**
   * Scores and softmax of one query row: pre[p + t2] = scale·(q · k_t2), att[a + t2] their softmax, for
   * t2 &lt; count, key t2 at k + t2·stride. {@code pre} may be {@code att} (decoding keeps no scores). Decoding's
   * half of attention, with {@link #gqaWeightedSum}; training's is {@code attentionForwardHeads}, which computes the
   * same values, parallel over heads (equal within rounding, as the decode tests check).
   */
  private static void gqaScoresSoftmax(float[] pre, int p, float[] att, int a, float[] qArr, int q, float[] kArr,
      int k, int stride, int count, int hs, float scale) {
    // one vector dot product per key: q stays in L1, and decoding streams the cache once
    float maxval = MAX_START;
    for (int t2 = 0; t2 < count; t2++) {
      float score = dot(qArr, q, kArr, k + t2 * stride, hs) * scale;
      pre[p + t2] = score;
      maxval = Math.max(maxval, score);
    }
    float expsum = expShifted(pre, p, maxval, att, a, count);
    scale(att, a, expsum == 0.0f ? 0.0f : 1.0f / expsum, count);
  }

  /**
   * out[y..y+hs) = sum over t2 &lt; count of att[a + t2]·v_t2, value t2 at v + t2·stride; four vectors of hs at a
   * time where it has them, so that four sums are in flight, then one. Each output sums over t2 in order.
   */
  private static void gqaWeightedSum(float[] out, int y, float[] att, int a, float[] vArr, int v, int stride,
      int count, int hs) {
    int hsBound = S.loopBound(hs);
    int i = 0;
    for (; i + 4 * L <= hsBound; i += 4 * L) {
      FloatVector acc0 = FloatVector.zero(S);
      FloatVector acc1 = acc0;
      FloatVector acc2 = acc0;
      FloatVector acc3 = acc0;
      for (int t2 = 0; t2 < count; t2++) {
        FloatVector w = FloatVector.broadcast(S, att[a + t2]);
        int row = v + t2 * stride + i;
        acc0 = FloatVector.fromArray(S, vArr, row).fma(w, acc0);
        acc1 = FloatVector.fromArray(S, vArr, row + L).fma(w, acc1);
        acc2 = FloatVector.fromArray(S, vArr, row + 2 * L).fma(w, acc2);
        acc3 = FloatVector.fromArray(S, vArr, row + 3 * L).fma(w, acc3);
      }
      acc0.intoArray(out, y + i);
      acc1.intoArray(out, y + i + L);
      acc2.intoArray(out, y + i + 2 * L);
      acc3.intoArray(out, y + i + 3 * L);
    }
    for (; i < hsBound; i += L) {
      FloatVector acc = FloatVector.zero(S);
      for (int t2 = 0; t2 < count; t2++) {
        acc = FloatVector.fromArray(S, vArr, v + t2 * stride + i).fma(FloatVector.broadcast(S, att[a + t2]), acc);
      }
      acc.intoArray(out, y + i);
    }
    for (; i < hs; i++) {
      float sum = 0.0f;
      for (int t2 = 0; t2 < count; t2++) {
        sum += att[a + t2] * vArr[v + t2 * stride + i];
      }
      out[y + i] = sum;
    }
  }
}
