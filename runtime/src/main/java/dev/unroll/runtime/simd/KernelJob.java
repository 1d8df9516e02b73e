package dev.unroll.runtime.simd;

import dev.unroll.runtime.thread.WorkerPool;

/**
 * The job a SIMD room hands the pool: the kernel's arguments in fields named by role (an array and its offset
 * set together), and the {@link Task} that runs a range of units with them. Each room keeps one in a
 * {@code static final} field and its parallel tasks as non-capturing lambdas that read it, so a kernel call
 * allocates nothing:
 *
 * <pre>{@code
 * private static final KernelJob J = new KernelJob();
 * private static final KernelJob.Task ROWS = (from, to) -> rows(J.out, J.outOff, J.inp, J.inpOff, J.C, from, to);
 * ...
 * pool.run(J.task(ROWS).out(out, outOff).inp(inp, inpOff).C(C), N, 1);
 * }</pre>
 *
 * <p>Only the thread that acquired the pool fills it (see {@link WorkerPool}); a caller that finds the pool busy
 * runs its kernel alone and never touches it. A room's kernels share one: the pool runs one job at a time. The pool
 * clears it after every job, so no array outlives the call. Its fields hold arrays and numbers only (a vector in a
 * field would be allocated).
 */
final class KernelJob extends WorkerPool.Job {

  /** Units [from, to) of a kernel, its arguments read from its room's {@link KernelJob}. */
  @FunctionalInterface
  interface Task {
    void run(int from, int to);
  }

  private Task task;

  // arrays by role, each beside its offset; a role a kernel does not have stays null
  float[] out, inp, inp2, weight, bias, mean, rstd, scales;
  int outOff, inpOff, inp2Off, weightOff, biasOff, meanOff, rstdOff;
  float[] dinp, dinp2, dout, dweight, dbias;
  int dinpOff, dinp2Off, doutOff, dweightOff, dbiasOff;
  float[] qkv, dqkv, preatt, dpreatt, att, datt, q, kcache, vcache;
  int qkvOff, dqkvOff, preattOff, dpreattOff, attOff, dattOff, qOff, kOff, vOff;
  float[] probs, logits, dlogits, wte, wpe;
  int probsOff, logitsOff, dlogitsOff, wteOff, wpeOff;
  int[] tokens, targets, lengths, outOffs, weightOffs, rows;
  short[] bf16;
  byte[] int8;
  // sizes
  int N, C, OC, T, NH, KVH, hs, V, Vp, pos;
  // a constant of the numerics (a norm's epsilon)
  float eps;

  KernelJob task(Task t) { task = t; return this; }

  KernelJob out(float[] a, int off) { out = a; outOff = off; return this; }
  KernelJob inp(float[] a, int off) { inp = a; inpOff = off; return this; }
  KernelJob inp2(float[] a, int off) { inp2 = a; inp2Off = off; return this; }
  KernelJob weight(float[] a, int off) { weight = a; weightOff = off; return this; }
  KernelJob bias(float[] a, int off) { bias = a; biasOff = off; return this; }
  KernelJob mean(float[] a, int off) { mean = a; meanOff = off; return this; }
  KernelJob rstd(float[] a, int off) { rstd = a; rstdOff = off; return this; }
  KernelJob dinp(float[] a, int off) { dinp = a; dinpOff = off; return this; }
  KernelJob dinp2(float[] a, int off) { dinp2 = a; dinp2Off = off; return this; }
  KernelJob dout(float[] a, int off) { dout = a; doutOff = off; return this; }
  KernelJob dweight(float[] a, int off) { dweight = a; dweightOff = off; return this; }
  KernelJob dbias(float[] a, int off) { dbias = a; dbiasOff = off; return this; }
  KernelJob qkv(float[] a, int off) { qkv = a; qkvOff = off; return this; }
  KernelJob dqkv(float[] a, int off) { dqkv = a; dqkvOff = off; return this; }
  KernelJob preatt(float[] a, int off) { preatt = a; preattOff = off; return this; }
  KernelJob dpreatt(float[] a, int off) { dpreatt = a; dpreattOff = off; return this; }
  KernelJob att(float[] a, int off) { att = a; attOff = off; return this; }
  KernelJob datt(float[] a, int off) { datt = a; dattOff = off; return this; }
  KernelJob q(float[] a, int off) { q = a; qOff = off; return this; }
  KernelJob kcache(float[] a, int off) { kcache = a; kOff = off; return this; }
  KernelJob vcache(float[] a, int off) { vcache = a; vOff = off; return this; }
  KernelJob probs(float[] a, int off) { probs = a; probsOff = off; return this; }
  KernelJob logits(float[] a, int off) { logits = a; logitsOff = off; return this; }
  KernelJob dlogits(float[] a, int off) { dlogits = a; dlogitsOff = off; return this; }
  KernelJob wte(float[] a, int off) { wte = a; wteOff = off; return this; }
  KernelJob wpe(float[] a, int off) { wpe = a; wpeOff = off; return this; }

  /** A bfloat16 weight; its offset is {@link #weightOff}. */
  KernelJob bf16(short[] a, int off) { bf16 = a; weightOff = off; return this; }

  /** An int8 weight and its scales; its offset is {@link #weightOff}. */
  KernelJob int8(byte[] a, float[] s, int off) { int8 = a; scales = s; weightOff = off; return this; }

  /** A group's outputs and weights: each product's offsets and rows. */
  KernelJob group(int[] outOffsets, int[] weightOffsets, int[] rowCounts) {
    outOffs = outOffsets;
    weightOffs = weightOffsets;
    rows = rowCounts;
    return this;
  }

  KernelJob tokens(int[] a) { tokens = a; return this; }
  KernelJob targets(int[] a) { targets = a; return this; }
  KernelJob lengths(int[] a) { lengths = a; return this; }

  KernelJob N(int n) { N = n; return this; }
  KernelJob C(int c) { C = c; return this; }
  KernelJob OC(int oc) { OC = oc; return this; }
  KernelJob T(int t) { T = t; return this; }
  KernelJob V(int v, int vp) { V = v; Vp = vp; return this; }
  KernelJob pos(int p) { pos = p; return this; }
  KernelJob eps(float e) { eps = e; return this; }

  /** Query heads, key/value heads and head size. */
  KernelJob heads(int nh, int kvh, int headSize) { NH = nh; KVH = kvh; hs = headSize; return this; }

  @Override
  protected void run(int from, int to) {
    task.run(from, to);
  }

  @Override
  protected void clear() {
    task = null;
    out = inp = inp2 = weight = bias = mean = rstd = scales = null;
    dinp = dinp2 = dout = dweight = dbias = null;
    qkv = dqkv = preatt = dpreatt = att = datt = q = kcache = vcache = null;
    probs = logits = dlogits = wte = wpe = null;
    tokens = targets = lengths = outOffs = weightOffs = rows = null;
    bf16 = null;
    int8 = null;
  }
}
