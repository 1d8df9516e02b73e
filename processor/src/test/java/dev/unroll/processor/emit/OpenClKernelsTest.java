package dev.unroll.processor.emit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unroll.processor.kernel.Kernel;
import dev.unroll.processor.kernel.OpenClGeometry;
import dev.unroll.processor.kernel.Phase;
import dev.unroll.processor.parse.ModelSpec;
import dev.unroll.processor.plan.Arg;
import dev.unroll.processor.plan.Op;
import dev.unroll.processor.plan.Plan;
import dev.unroll.processor.plan.Planner;
import dev.unroll.processor.plan.Stage;
import dev.unroll.runtime.number.Bf16;
import dev.unroll.runtime.opencl.ClDevice;
import dev.unroll.runtime.opencl.DeviceModel;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * The OpenCL library ({@code ops.cl}) against the scalar reference, through what the generated backend uses: the
 * wrappers {@link OpenClWriter#wrapper} prints and the phases and work sizes of {@link Kernel#phases}. Every
 * kernel runs at awkward sizes (rows not multiples of the work-group, channels not multiples of 4 or 16, padded
 * vocabularies, T not a power of two, grouped queries, head sizes 4 and 6, rows wider than a work-group), on random
 * inputs at nonzero offsets, with every accumulated output starting from random values so that {@code =} in place
 * of {@code +=} shows.
 *
 * <p>Error measure: the largest absolute difference from the reference over an output, divided by the largest
 * absolute value of what the op wrote there (the reference's result less the output's starting value), so that
 * the tolerances bound the op's own error. Tolerances, per kernel:
 * <ul>
 *   <li>0 (bit for bit): what is only copies and additions in the reference's order: copy, copyRows,
 *       encoderForward, embeddingForward, residualForward, residualBackward, the scatters of encoderBackward and
 *       embeddingBackward, the bias gradients of layernormBackward and matmulBackward, patches, and the class
 *       token's forward and backward;
 *   <li>2e-6: the other element-wise ops (GELU, the exact GELU, tanh, SwiGLU, RoPE, crossEntropyForward,
 *       crossEntropySoftmaxBackward): a few float operations, where OpenCL's library functions may differ from
 *       Java's by an ulp or two and the compiler may fuse a multiply and an add (OpenCL C allows it by default), so
 *       that an accumulated value can differ by an ulp of itself, which is up to about 1e-6 of the (smaller)
 *       change;
 *   <li>1e-5: sums (the matrix products, layernorm, rmsnorm, softmax, attention causal and bidirectional, decoding
 *       attention): most run in
 *       the reference's order and differ by fused multiply-adds only, the work-group reductions (norms, softmax,
 *       the decoding softmax, the matrix-vector products) sum in a tree.
 * </ul>
 * The worst errors seen are printed after the class runs.
 */
class OpenClKernelsTest {

  private static final dev.unroll.runtime.scalar.ScalarKernels REF =
      dev.unroll.runtime.scalar.ScalarKernels.INSTANCE;

  private static final double EXACT = 0;
  private static final double ELEMENTWISE = 2e-6;
  private static final double SUMS = 1e-5;

  /** Worst relative error seen per output, for the report printed at the end. */
  private static final Map<String, Double> WORST = new TreeMap<>();

  @AfterAll
  static void printWorstErrors() {
    StringBuilder sb = new StringBuilder("OpenCL vs ScalarKernels, worst error relative to the output's scale:\n");
    WORST.forEach((k, v) -> sb.append(String.format("  %-48s %.3g%n", k, v)));
    System.out.print(sb);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Running ops on the device

  /** A float tensor: its array, whose contents go to the device and come back, and its offset. */
  private record F(float[] a, int off) {}

  /** An int tensor (token ids), read only. */
  private record I(int[] a, int off) {}

  /** A bfloat16 tensor, read only. */
  private record H(short[] a, int off) {}

  /** An int the wrapper reads from the step buffer at run time (the decoded position). */
  private record Dyn(int value) {}

  /** An absent tensor (a matmul without bias). */
  private record Null() {}

  private static final Null NULL = new Null();

  private record Call(String kernel, Object[] args) {}

  private static F f(float[] a, int off) {
    return new F(a, off);
  }

  private static Call call(String kernel, Object... args) {
    return new Call(kernel, args);
  }

  /**
   * Builds the wrappers of every call's phases into one program (one build per test), then runs the calls in
   * order, each on fresh buffers holding its arrays, and reads every float array back.
   */
  private static void runOnDevice(Call... calls) {
    ClDevice device = dev.unroll.processor.OpenClRule.device();
    StringBuilder source = new StringBuilder();
    List<List<Phase>> phases = new ArrayList<>();
    for (int c = 0; c < calls.length; c++) {
      Call call = calls[c];
      List<ClArg> args = new ArrayList<>();
      List<Long> ints = new ArrayList<>();
      for (Object a : call.args()) {
        switch (a) {
          case F unused -> args.add(new ClArg.Ptr("float"));
          case I unused -> args.add(new ClArg.Ptr("int"));
          case H unused -> args.add(new ClArg.Ptr("ushort"));
          case Null unused -> args.add(new ClArg.NullPtr());
          case Dyn unused -> {
            args.add(new ClArg.Dyn(1));
            ints.add(-1L);
          }
          case Integer v -> {
            args.add(new ClArg.Const(v));
            ints.add((long) v);
          }
          case Float v -> args.add(new ClArg.FloatConst(v + "f"));
          default -> throw new IllegalArgumentException("argument " + a);
        }
      }
      List<Phase> ps = Kernel.named(call.kernel()).phases(ints.stream().mapToLong(Long::longValue).toArray());
      phases.add(ps);
      for (int p = 0; p < ps.size(); p++) {
        source.append(OpenClWriter.wrapper(wrapperName(c, p), "uk_" + call.kernel() + ps.get(p).suffix(), args,
            ps.get(p).localFloats()));
      }
    }
    try (DeviceModel m = DeviceModel.open(device, "OpenClKernelsTest", source.toString(), null)) {
      for (int c = 0; c < calls.length; c++) {
        Map<Object, Integer> buffers = new IdentityHashMap<>();
        List<Integer> pairs = new ArrayList<>();
        Integer step = null;
        for (Object a : calls[c].args()) {
          switch (a) {
            case F t -> {
              pairs.add(buffers.computeIfAbsent(t.a(), k -> {
                int b = m.floats(t.a().length);
                m.write(b, 0, t.a(), 0, t.a().length);
                return b;
              }));
              pairs.add(t.off());
            }
            case I t -> {
              pairs.add(buffers.computeIfAbsent(t.a(), k -> {
                int b = m.ints(t.a().length);
                m.write(b, 0, t.a(), 0, t.a().length);
                return b;
              }));
              pairs.add(t.off());
            }
            case H t -> {
              pairs.add(buffers.computeIfAbsent(t.a(), k -> {
                int b = m.shorts(t.a().length);
                m.write(b, 0, t.a(), 0, t.a().length);
                return b;
              }));
              pairs.add(t.off());
            }
            case Dyn d -> {
              step = m.ints(4);
              m.write(step, 0, new int[] {-7, -7, -7, 0}, 0, 4);
              m.write(step, 2, new int[] {d.value()}, 0, 1); // the step buffer at offset 1: step[1] = value
            }
            default -> { }
          }
        }
        if (step != null) {
          pairs.add(step);
          pairs.add(1);
        }
        int[] bound = pairs.stream().mapToInt(Integer::intValue).toArray();
        for (int p = 0; p < phases.get(c).size(); p++) {
          Phase phase = phases.get(c).get(p);
          m.run(m.kernel(wrapperName(c, p), phase.global(), phase.local(), bound));
        }
        m.finish();
        for (Map.Entry<Object, Integer> e : buffers.entrySet()) {
          if (e.getKey() instanceof float[] a) {
            m.read(e.getValue(), 0, a, 0, a.length);
          }
        }
      }
    }
  }

  private static String wrapperName(int call, int phase) {
    return "test_" + call + "_" + phase;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Data and comparison

  private static float[] random(Random r, int n) {
    float[] a = new float[n];
    for (int i = 0; i < n; i++) {
      a[i] = 2 * r.nextFloat() - 1;
    }
    return a;
  }

  private static float[] random(Random r, int n, float lo, float hi) {
    float[] a = new float[n];
    for (int i = 0; i < n; i++) {
      a[i] = lo + (hi - lo) * r.nextFloat();
    }
    return a;
  }

  private static int[] tokens(Random r, int n, int bound) {
    int[] a = new int[n];
    for (int i = 0; i < n; i++) {
      a[i] = r.nextInt(bound);
    }
    return a;
  }

  /**
   * Checks {@code actual} against {@code expected}: the largest difference, over the largest change the reference
   * made to the array ({@code start} its values before, null for an array that starts at zero), at most tol.
   */
  private static void check(String what, float[] start, float[] expected, float[] actual, double tol) {
    assertEquals(expected.length, actual.length, what);
    double scale = 0;
    double worst = 0;
    for (int i = 0; i < expected.length; i++) {
      scale = Math.max(scale, Math.abs(expected[i] - (start == null ? 0 : start[i])));
      double d = Math.abs((double) expected[i] - actual[i]);
      if (Double.isNaN(d) && !(Float.isNaN(expected[i]) && Float.isNaN(actual[i]))) {
        throw new AssertionError(what + ": NaN at " + i + ", expected " + expected[i] + ", got " + actual[i]);
      }
      worst = Math.max(worst, d);
    }
    double rel = scale == 0 ? worst : worst / scale;
    WORST.merge(what, rel, Math::max);
    if (rel > tol) {
      int at = 0;
      for (int i = 0; i < expected.length; i++) {
        if (Math.abs((double) expected[i] - actual[i]) == worst) {
          at = i;
          break;
        }
      }
      throw new AssertionError(what + ": error " + rel + " of scale " + scale + " > " + tol + "; first worst at "
          + at + ": expected " + expected[at] + ", got " + actual[at]);
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // The tests, by family

  @Test
  void elementWiseOps() {
    Random r = new Random(1);
    int n = 1000;
    // copy, copyRows (strided in and out), residual, GELU, SwiGLU at 1000 (not a multiple of 256) floats
    float[] src = random(r, n + 9);
    float[] dst = random(r, n + 5);
    float[] dstRows = random(r, 7 * 13 + 4);
    float[] srcRows = random(r, 7 * 11 + 3);
    float[] inp1 = random(r, n + 3);
    float[] inp2 = random(r, n + 4);
    float[] out = random(r, n + 2);
    float[] gx = random(r, n + 1, -5, 5);
    float[] gout = random(r, n + 2);
    float[] dgx = random(r, n + 3);
    float[] dout = random(r, n + 1);
    float[] dinp1 = random(r, n + 2);
    float[] dinp2 = random(r, n + 6);
    float[] gate = random(r, n + 3, -6, 6);
    float[] up = random(r, n + 2);
    float[] sw = random(r, n + 1);
    float[] dgate = random(r, n + 4);
    float[] dup = random(r, n + 5);
    // the encoder and the token embedding: B=2, T=5, C=7, V=11 with repeated tokens
    int b = 2;
    int t = 5;
    int c = 7;
    int v = 11;
    int[] inp = tokens(r, b * t, v);
    float[] wte = random(r, v * c + 3);
    float[] wpe = random(r, t * c + 2);
    float[] enc = random(r, b * t * c + 4);
    float[] emb = random(r, b * t * c + 1);
    // cross-entropy: N = 10, V = 11 of Vp = 16; a padded column of probs that must stay untouched
    int vp = 16;
    float[] probs = random(r, b * t * vp + 3, 0.01f, 1);
    int[] targets = tokens(r, b * t, v);
    float[] losses = random(r, b * t + 2);
    float[] dlogits = random(r, b * t * vp + 5);

    Map<String, float[]> starts = new TreeMap<>();
    for (Object[] kv : new Object[][] {{"dst", dst}, {"dstRows", dstRows}, {"out", out}, {"gout", gout},
        {"dgx", dgx}, {"dinp1", dinp1}, {"dinp2", dinp2}, {"sw", sw}, {"dgate", dgate}, {"dup", dup},
        {"enc", enc}, {"emb", emb}, {"losses", losses}, {"dlogits", dlogits}}) {
      starts.put((String) kv[0], ((float[]) kv[1]).clone());
    }
    Map<String, float[]> want = new TreeMap<>();
    starts.forEach((k, a) -> want.put(k, a.clone()));
    REF.copy(want.get("dst"), 5, src, 9, n);
    REF.copyRows(want.get("dstRows"), 4, 13, srcRows, 3, 11, 7, 9);
    REF.residualForward(want.get("out"), 2, inp1, 3, inp2, 4, n);
    REF.geluForward(want.get("gout"), 2, gx, 1, n);
    REF.geluBackward(want.get("dgx"), 3, gx, 1, dout, 1, n);
    REF.residualBackward(want.get("dinp1"), 2, want.get("dinp2"), 6, dout, 1, n);
    REF.swigluForward(want.get("sw"), 1, gate, 3, up, 2, n);
    REF.swigluBackward(want.get("dgate"), 4, want.get("dup"), 5, dout, 1, gate, 3, up, 2, n);
    REF.encoderForward(want.get("enc"), 4, inp, wte, 3, wpe, 2, b, t, c);
    REF.embeddingForward(want.get("emb"), 1, inp, wte, 3, b * t, c);
    float meanLoss = REF.crossEntropyForward(want.get("losses"), 2, probs, 3, targets, b * t, vp);
    REF.crossEntropySoftmaxBackward(want.get("dlogits"), 5, probs, 3, targets, b * t, v, vp);

    runOnDevice(
        call("copy", f(dst, 5), f(src, 9), n),
        call("copyRows", f(dstRows, 4), 13, f(srcRows, 3), 11, 7, 9),
        call("residualForward", f(out, 2), f(inp1, 3), f(inp2, 4), n),
        call("geluForward", f(gout, 2), f(gx, 1), n),
        call("geluBackward", f(dgx, 3), f(gx, 1), f(dout, 1), n),
        call("residualBackward", f(dinp1, 2), f(dinp2, 6), f(dout, 1), n),
        call("swigluForward", f(sw, 1), f(gate, 3), f(up, 2), n),
        call("swigluBackward", f(dgate, 4), f(dup, 5), f(dout, 1), f(gate, 3), f(up, 2), n),
        call("encoderForward", f(enc, 4), new I(inp, 0), f(wte, 3), f(wpe, 2), b, t, c),
        call("embeddingForward", f(emb, 1), new I(inp, 0), f(wte, 3), b * t, c),
        call("crossEntropyForward", f(losses, 2), f(probs, 3), new I(targets, 0), b * t, vp),
        call("crossEntropySoftmaxBackward", f(dlogits, 5), f(probs, 3), new I(targets, 0), b * t, v, vp));

    Map<String, float[]> got = Map.ofEntries(Map.entry("dst", dst), Map.entry("dstRows", dstRows),
        Map.entry("out", out), Map.entry("gout", gout), Map.entry("dgx", dgx), Map.entry("dinp1", dinp1),
        Map.entry("dinp2", dinp2), Map.entry("sw", sw), Map.entry("dgate", dgate), Map.entry("dup", dup),
        Map.entry("enc", enc), Map.entry("emb", emb), Map.entry("losses", losses), Map.entry("dlogits", dlogits));
    Map<String, Double> tolerance = Map.ofEntries(Map.entry("dst", EXACT), Map.entry("dstRows", EXACT),
        Map.entry("out", EXACT), Map.entry("gout", ELEMENTWISE), Map.entry("dgx", ELEMENTWISE),
        Map.entry("dinp1", EXACT), Map.entry("dinp2", EXACT), Map.entry("sw", ELEMENTWISE),
        Map.entry("dgate", ELEMENTWISE), Map.entry("dup", ELEMENTWISE), Map.entry("enc", EXACT),
        Map.entry("emb", EXACT), Map.entry("losses", ELEMENTWISE), Map.entry("dlogits", ELEMENTWISE));
    Map<String, String> kernel = Map.ofEntries(Map.entry("dst", "copy"), Map.entry("dstRows", "copyRows"),
        Map.entry("out", "residualForward"), Map.entry("gout", "geluForward"), Map.entry("dgx", "geluBackward"),
        Map.entry("dinp1", "residualBackward dinp1"), Map.entry("dinp2", "residualBackward dinp2"),
        Map.entry("sw", "swigluForward"), Map.entry("dgate", "swigluBackward dgate"),
        Map.entry("dup", "swigluBackward dup"), Map.entry("enc", "encoderForward"),
        Map.entry("emb", "embeddingForward"), Map.entry("losses", "crossEntropyForward"),
        Map.entry("dlogits", "crossEntropySoftmaxBackward"));
    for (String k : want.keySet()) {
      boolean accumulates = k.startsWith("d") && !k.startsWith("dst");
      check(kernel.get(k), accumulates ? starts.get(k) : null, want.get(k), got.get(k), tolerance.get(k));
    }
    // untouched around the written ranges: the padded columns of dlogits, the gaps of copyRows
    assertEquals(starts.get("dlogits")[5 + 11], dlogits[5 + 11], "padded column of dlogits");
    assertEquals(starts.get("dstRows")[4 + 9], dstRows[4 + 9], "gap between copied rows");
    float deviceMean = 0;
    for (int i = 0; i < b * t; i++) {
      deviceMean += losses[2 + i];
    }
    assertEquals(meanLoss, deviceMean / (b * t), 1e-6f * Math.abs(meanLoss), "mean of the device's losses");
  }

  @Test
  void embeddingGradientsScatterInTokenOrder() {
    Random r = new Random(2);
    int b = 3;
    int t = 7;
    int c = 37;
    int v = 5; // few tokens: many rows hit several times
    int[] inp = tokens(r, b * t, v);
    float[] dout = random(r, b * t * c + 3);
    float[] dwte = random(r, v * c + 2);
    float[] dwpe = random(r, t * c + 1);
    float[] demb = random(r, v * c + 4);
    // a table wider than one work-group of channels
    int wide = 300;
    int[] inp2 = tokens(r, 9, 4);
    float[] dout2 = random(r, 9 * wide);
    float[] demb2 = random(r, 4 * wide);
    float[][] start = {dwte.clone(), dwpe.clone(), demb.clone(), demb2.clone()};
    float[][] want = {dwte.clone(), dwpe.clone(), demb.clone(), demb2.clone()};
    REF.encoderBackward(want[0], 2, want[1], 1, dout, 3, inp, b, t, c);
    REF.embeddingBackward(want[2], 4, dout, 3, inp, b * t, c);
    REF.embeddingBackward(want[3], 0, dout2, 0, inp2, 9, wide);
    runOnDevice(
        call("encoderBackward", f(dwte, 2), f(dwpe, 1), f(dout, 3), new I(inp, 0), b, t, c),
        call("embeddingBackward", f(demb, 4), f(dout, 3), new I(inp, 0), b * t, c),
        call("embeddingBackward", f(demb2, 0), f(dout2, 0), new I(inp2, 0), 9, wide));
    check("encoderBackward dwte", start[0], want[0], dwte, EXACT);
    check("encoderBackward dwpe", start[1], want[1], dwpe, EXACT);
    check("embeddingBackward", start[2], want[2], demb, EXACT);
    check("embeddingBackward", start[3], want[3], demb2, EXACT);
  }

  @Test
  void normalisations() {
    Random r = new Random(3);
    List<Call> calls = new ArrayList<>();
    List<Runnable> checks = new ArrayList<>();
    // C = 37: under one work-group; C = 300: rows wider than the 256 items of a work-group; N = 1 decodes
    for (int[] nc : new int[][] {{5, 37}, {3, 300}, {1, 37}}) {
      int n = nc[0];
      int c = nc[1];
      float[] inp = random(r, n * c + 3, -2, 3);
      float[] w = random(r, c + 1);
      float[] bias = random(r, c + 2);
      float[] dout = random(r, n * c + 4);
      // layernorm forward and backward
      float[] out = random(r, n * c + 1);
      float[] mean = random(r, n + 2);
      float[] rstd = random(r, n + 3);
      float[] wantOut = out.clone();
      float[] wantMean = mean.clone();
      float[] wantRstd = rstd.clone();
      REF.layernormForward(wantOut, 1, wantMean, 2, wantRstd, 3, inp, 3, w, 1, bias, 2, n, c, 1e-5f);
      calls.add(call("layernormForward", f(out, 1), f(mean, 2), f(rstd, 3), f(inp, 3), f(w, 1), f(bias, 2), n, c,
          1e-5f));
      checks.add(() -> {
        check("layernormForward out", null, wantOut, out, SUMS);
        check("layernormForward mean", null, wantMean, mean, SUMS);
        check("layernormForward rstd", null, wantRstd, rstd, SUMS);
      });
      float[] dinp = random(r, n * c + 2);
      float[] dw = random(r, c + 3);
      float[] db = random(r, c + 1);
      float[][] start = {dinp.clone(), dw.clone(), db.clone()};
      float[][] want = {dinp.clone(), dw.clone(), db.clone()};
      // backward from the reference's own mean and rstd, so that both run on the same inputs
      REF.layernormBackward(want[0], 2, want[1], 3, want[2], 1, dout, 4, inp, 3, w, 1, wantMean, 2, wantRstd, 3,
          n, c);
      calls.add(call("layernormBackward", f(dinp, 2), f(dw, 3), f(db, 1), f(dout, 4), f(inp, 3), f(w, 1),
          f(wantMean.clone(), 2), f(wantRstd.clone(), 3), n, c));
      checks.add(() -> {
        check("layernormBackward dinp", start[0], want[0], dinp, SUMS);
        check("layernormBackward dweight", start[1], want[1], dw, SUMS);
        check("layernormBackward dbias", start[2], want[2], db, EXACT);
      });
      // rmsnorm forward and backward
      float[] rout = random(r, n * c + 2);
      float[] rrstd = random(r, n + 1);
      float[] wantRout = rout.clone();
      float[] wantRrstd = rrstd.clone();
      REF.rmsnormForward(wantRout, 2, wantRrstd, 1, inp, 3, w, 1, n, c);
      calls.add(call("rmsnormForward", f(rout, 2), f(rrstd, 1), f(inp, 3), f(w, 1), n, c));
      checks.add(() -> {
        check("rmsnormForward out", null, wantRout, rout, SUMS);
        check("rmsnormForward rstd", null, wantRrstd, rrstd, SUMS);
      });
      float[] rdinp = random(r, n * c + 1);
      float[] rdw = random(r, c + 2);
      float[][] rstart = {rdinp.clone(), rdw.clone()};
      float[][] rwant = {rdinp.clone(), rdw.clone()};
      REF.rmsnormBackward(rwant[0], 1, rwant[1], 2, dout, 4, inp, 3, w, 1, wantRrstd, 1, n, c);
      calls.add(call("rmsnormBackward", f(rdinp, 1), f(rdw, 2), f(dout, 4), f(inp, 3), f(w, 1),
          f(wantRrstd.clone(), 1), n, c));
      checks.add(() -> {
        check("rmsnormBackward dinp", rstart[0], rwant[0], rdinp, SUMS);
        check("rmsnormBackward dweight", rstart[1], rwant[1], rdw, SUMS);
      });
    }
    runOnDevice(calls.toArray(new Call[0]));
    checks.forEach(Runnable::run);
  }

  @Test
  void softmaxOverThePaddedVocabulary() {
    Random r = new Random(4);
    List<Call> calls = new ArrayList<>();
    List<Runnable> checks = new ArrayList<>();
    // V = 11 of 16; V = 300 of 320 (wider than a work-group); logits spread over [-20, 20]; and one row below
    // llm.c's starting maximum of -10000, whose exponentials all underflow as in the reference
    for (int[] nv : new int[][] {{5, 11, 16}, {3, 300, 320}}) {
      int n = nv[0];
      int v = nv[1];
      int vp = nv[2];
      float[] logits = random(r, n * vp + 3, -20, 20);
      float[] probs = random(r, n * vp + 2);
      float[] want = probs.clone();
      REF.softmaxForward(want, 2, logits, 3, n, v, vp);
      calls.add(call("softmaxForward", f(probs, 2), f(logits, 3), n, v, vp));
      checks.add(() -> check("softmaxForward", null, want, probs, SUMS));
    }
    float[] low = random(r, 2 * 16, -20030, -20000);
    float[] lowProbs = random(r, 2 * 16);
    float[] lowWant = lowProbs.clone();
    REF.softmaxForward(lowWant, 0, low, 0, 2, 11, 16);
    calls.add(call("softmaxForward", f(lowProbs, 0), f(low, 0), 2, 11, 16));
    runOnDevice(calls.toArray(new Call[0]));
    checks.forEach(Runnable::run);
    for (int i = 0; i < lowWant.length; i++) {
      assertEquals(Float.floatToIntBits(lowWant[i]), Float.floatToIntBits(lowProbs[i]),
          "all-underflow softmax at " + i + ": " + lowWant[i] + " vs " + lowProbs[i]);
    }
  }

  @Test
  void matrixProducts() {
    Random r = new Random(5);
    List<Call> calls = new ArrayList<>();
    List<Runnable> checks = new ArrayList<>();
    // {N, C, OC}: tiles with remainders on every side; several tiles along each axis; one and three rows
    // (matrix-vector phases); and wide rows. Then the GEMM's tile edges (64 x 64 outputs, k in steps of 16; the
    // forward product is N x OC over C, dinp N x C over OC, dweight OC x C over N): every size a multiple (no edge
    // tests compiled), sizes one below and one above 64, 16 and 128 on each side, and five rows (just past the
    // matrix-vector phase) against a full tile.
    int[][] shapes = {{19, 23, 29}, {37, 70, 45}, {1, 37, 21}, {3, 300, 70}, {64, 128, 192}, {63, 65, 17},
        {65, 15, 127}, {129, 63, 16}, {127, 17, 129}, {5, 64, 64}};
    for (int[] s : shapes) {
      int n = s[0];
      int c = s[1];
      int oc = s[2];
      float[] inp = random(r, n * c + 3);
      float[] w = random(r, oc * c + 2);
      float[] bias = random(r, oc + 1);
      String shape = n <= OpenClGeometry.VEC_ROWS ? " (vec)" : "";
      for (boolean withBias : new boolean[] {true, false}) {
        float[] out = random(r, n * oc + 4);
        float[] want = out.clone();
        REF.matmulForward(want, 4, inp, 3, w, 2, withBias ? bias : null, 1, n, c, oc);
        calls.add(call("matmulForward", f(out, 4), f(inp, 3), f(w, 2), withBias ? f(bias, 1) : NULL, n, c, oc));
        checks.add(() -> check("matmulForward" + shape, null, want, out, SUMS));
      }
      // bfloat16 weights: the reference widens each short as Bf16.toFloat does
      short[] wb = new short[oc * c + 5];
      for (int i = 0; i < wb.length; i++) {
        wb[i] = Bf16.fromFloat(2 * r.nextFloat() - 1);
      }
      float[] outB = random(r, n * oc + 2);
      float[] wantB = outB.clone();
      REF.matmulForwardBf16(wantB, 2, inp, 3, wb, 5, bias, 1, n, c, oc);
      calls.add(call("matmulForwardBf16", f(outB, 2), f(inp, 3), new H(wb, 5), f(bias, 1), n, c, oc));
      checks.add(() -> check("matmulForwardBf16" + shape, null, wantB, outB, SUMS));
      if (n <= OpenClGeometry.VEC_ROWS) {
        continue; // training runs backward on B*T rows
      }
      float[] dout = random(r, n * oc + 1);
      for (boolean withBias : new boolean[] {true, false}) {
        float[] dinp = random(r, n * c + 2);
        float[] dw = random(r, oc * c + 3);
        float[] db = random(r, oc + 4);
        float[][] start = {dinp.clone(), dw.clone(), db.clone()};
        float[][] want = {dinp.clone(), dw.clone(), db.clone()};
        REF.matmulBackward(want[0], 2, want[1], 3, withBias ? want[2] : null, 4, dout, 1, inp, 3, w, 2, n, c, oc);
        calls.add(call("matmulBackward", f(dinp, 2), f(dw, 3), withBias ? f(db, 4) : NULL, f(dout, 1), f(inp, 3),
            f(w, 2), n, c, oc));
        checks.add(() -> {
          check("matmulBackward dinp", start[0], want[0], dinp, SUMS);
          check("matmulBackward dweight", start[1], want[1], dw, SUMS);
          check("matmulBackward dbias", start[2], want[2], db, EXACT);
          if (!withBias) {
            assertArrayEquals(start[2], db, "no dbias: untouched");
          }
        });
      }
    }
    runOnDevice(calls.toArray(new Call[0]));
    checks.forEach(Runnable::run);
  }

  /** {B, T, NH, KVH, hs}: GPT-2 (KVH = NH) at head sizes 4 and 6, grouped queries, T past one work-group. */
  private static final int[][] ATTENTION_SHAPES = {{2, 7, 3, 3, 4}, {2, 6, 4, 2, 6}, {1, 5, 3, 1, 4},
      {1, 260, 2, 1, 4}};

  @Test
  void attentionForTraining() {
    Random r = new Random(6);
    List<Call> calls = new ArrayList<>();
    List<Runnable> checks = new ArrayList<>();
    for (int[] s : ATTENTION_SHAPES) {
      int b = s[0];
      int t = s[1];
      int nh = s[2];
      int kvh = s[3];
      int hs = s[4];
      boolean gpt2 = nh == kvh;
      int rw = (nh + 2 * kvh) * hs;
      int c = nh * hs;
      String name = (gpt2 ? "attention" : "attentionGqa") + (t > 256 ? " (T > 256)" : "");
      float[] qkv = random(r, b * t * rw + 3, -2, 2);
      float[] out = random(r, b * t * c + 1);
      float[] preatt = random(r, b * nh * t * t + 2);
      float[] att = random(r, b * nh * t * t + 4);
      float[] wantOut = out.clone();
      float[] wantPre = preatt.clone();
      float[] wantAtt = att.clone();
      if (gpt2) {
        REF.attentionForward(wantOut, 1, wantPre, 2, wantAtt, 4, qkv, 3, b, t, c, nh);
        calls.add(call("attentionForward", f(out, 1), f(preatt, 2), f(att, 4), f(qkv, 3), b, t, c, nh));
      } else {
        REF.attentionForwardGqa(wantOut, 1, wantPre, 2, wantAtt, 4, qkv, 3, b, t, nh, kvh, hs);
        calls.add(call("attentionForwardGqa", f(out, 1), f(preatt, 2), f(att, 4), f(qkv, 3), b, t, nh, kvh, hs));
      }
      checks.add(() -> {
        check(name + "Forward out", null, wantOut, out, SUMS);
        check(name + "Forward preatt", null, wantPre, preatt, SUMS);
        check(name + "Forward att", null, wantAtt, att, SUMS);
      });
      // backward from the reference's att; gradients and the two scratch tensors start random
      float[] dout = random(r, b * t * c + 2);
      float[] dqkv = random(r, b * t * rw + 1);
      float[] dpreatt = random(r, b * nh * t * t + 3);
      float[] datt = random(r, b * nh * t * t + 1);
      float[][] start = {dqkv.clone(), dpreatt.clone(), datt.clone()};
      float[][] want = {dqkv.clone(), dpreatt.clone(), datt.clone()};
      float[] attIn = wantAtt.clone();
      if (gpt2) {
        REF.attentionBackward(want[0], 1, want[1], 3, want[2], 1, dout, 2, qkv, 3, attIn, 4, b, t, c, nh);
        calls.add(call("attentionBackward", f(dqkv, 1), f(dpreatt, 3), f(datt, 1), f(dout, 2), f(qkv, 3),
            f(attIn, 4), b, t, c, nh));
      } else {
        REF.attentionBackwardGqa(want[0], 1, want[1], 3, want[2], 1, dout, 2, qkv, 3, attIn, 4, b, t, nh, kvh, hs);
        calls.add(call("attentionBackwardGqa", f(dqkv, 1), f(dpreatt, 3), f(datt, 1), f(dout, 2), f(qkv, 3),
            f(attIn, 4), b, t, nh, kvh, hs));
      }
      checks.add(() -> {
        check(name + "Backward dqkv", start[0], want[0], dqkv, SUMS);
        check(name + "Backward dpreatt", start[1], want[1], dpreatt, SUMS);
        check(name + "Backward datt", start[2], want[2], datt, SUMS);
      });
    }
    runOnDevice(calls.toArray(new Call[0]));
    checks.forEach(Runnable::run);
  }

  /**
   * The encoders' kernels: bidirectional attention with padded rows (BERT's awkward shape, B = 3, T = 13, C = 48,
   * NH = 3, lengths 13, 7 and 1; and T past one work-group), the exact GELU, tanh, and ViT's patches (3 channels
   * of 10 by 6 in 2 by 3 patches) and class token.
   */
  @Test
  void encoderKernels() {
    Random r = new Random(8);
    List<Call> calls = new ArrayList<>();
    List<Runnable> checks = new ArrayList<>();
    int[][] shapes = {{3, 13, 3, 16}, {2, 260, 2, 4}};
    int[][] lengthsOf = {{13, 7, 1}, {260, 131}};
    for (int s = 0; s < shapes.length; s++) {
      int b = shapes[s][0];
      int t = shapes[s][1];
      int nh = shapes[s][2];
      int c = nh * shapes[s][3];
      int[] lengths = lengthsOf[s];
      String name = "attentionBidirectional" + (t > 256 ? " (T > 256)" : "");
      float[] qkv = random(r, b * t * 3 * c + 3, -2, 2);
      float[] out = random(r, b * t * c + 1);
      float[] preatt = random(r, b * nh * t * t + 2);
      float[] att = random(r, b * nh * t * t + 4);
      float[] wantOut = out.clone();
      float[] wantPre = preatt.clone();
      float[] wantAtt = att.clone();
      REF.attentionForwardBidirectional(wantOut, 1, wantPre, 2, wantAtt, 4, qkv, 3, lengths, b, t, c, nh);
      calls.add(call("attentionForwardBidirectional", f(out, 1), f(preatt, 2), f(att, 4), f(qkv, 3),
          new I(lengths, 0), b, t, c, nh));
      checks.add(() -> {
        check(name + " forward out", null, wantOut, out, SUMS);
        check(name + " forward preatt", null, wantPre, preatt, SUMS);
        check(name + " forward att", null, wantAtt, att, SUMS);
      });
      float[] dout = random(r, b * t * c + 2);
      float[] dqkv = random(r, b * t * 3 * c + 1);
      float[] dpreatt = random(r, b * nh * t * t + 3);
      float[] datt = random(r, b * nh * t * t + 1);
      float[][] start = {dqkv.clone(), dpreatt.clone(), datt.clone()};
      float[][] want = {dqkv.clone(), dpreatt.clone(), datt.clone()};
      float[] attIn = wantAtt.clone();
      REF.attentionBackwardBidirectional(want[0], 1, want[1], 3, want[2], 1, dout, 2, qkv, 3, attIn, 4, lengths, b,
          t, c, nh);
      calls.add(call("attentionBackwardBidirectional", f(dqkv, 1), f(dpreatt, 3), f(datt, 1), f(dout, 2),
          f(qkv, 3), f(attIn, 4), new I(lengths, 0), b, t, c, nh));
      checks.add(() -> {
        check(name + " backward dqkv", start[0], want[0], dqkv, SUMS);
        check(name + " backward dpreatt", start[1], want[1], dpreatt, SUMS);
        check(name + " backward datt", start[2], want[2], datt, SUMS);
      });
    }

    // the exact GELU and tanh over 1000 floats (not a multiple of 256)
    int n = 1000;
    float[] x = random(r, n + 1, -5, 5);
    float[] dout = random(r, n + 2);
    float[] gout = random(r, n + 2);
    float[] dgx = random(r, n + 3);
    float[] tout = random(r, n + 1);
    float[] dtx = random(r, n + 2);
    float[] dgxStart = dgx.clone();
    float[] dtxStart = dtx.clone();
    float[] wantG = gout.clone();
    float[] wantDg = dgx.clone();
    float[] wantT = tout.clone();
    float[] wantDt = dtx.clone();
    REF.geluErfForward(wantG, 2, x, 1, n);
    REF.geluErfBackward(wantDg, 3, x, 1, dout, 2, n);
    REF.tanhForward(wantT, 1, x, 1, n);
    REF.tanhBackward(wantDt, 2, wantT, 1, dout, 2, n);
    float[] tanhOut = wantT.clone(); // the backward reads the forward's output: the reference's, as the device's
    calls.add(call("geluErfForward", f(gout, 2), f(x, 1), n));
    calls.add(call("geluErfBackward", f(dgx, 3), f(x, 1), f(dout, 2), n));
    calls.add(call("tanhForward", f(tout, 1), f(x, 1), n));
    calls.add(call("tanhBackward", f(dtx, 2), f(tanhOut, 1), f(dout, 2), n));
    checks.add(() -> {
      check("geluErfForward", null, wantG, gout, ELEMENTWISE);
      check("geluErfBackward", dgxStart, wantDg, dgx, ELEMENTWISE);
      check("tanhForward", null, wantT, tout, ELEMENTWISE);
      check("tanhBackward", dtxStart, wantDt, dtx, ELEMENTWISE);
    });

    // ViT: B = 2 grids of 3 channels of 10 by 6 in 2 by 3 patches: NP = 10, K = 18; a class token of C = 48
    int b = 2;
    int ch = 3;
    int h = 10;
    int w = 6;
    int np = 10;
    int k = 18;
    int c = 48;
    float[] pixels = random(r, b * ch * h * w + 2);
    float[] pt = random(r, b * np * k + 3);
    float[] wantPt = pt.clone();
    REF.patches(wantPt, 3, pixels, 2, b, ch, h, w, 2, 3);
    calls.add(call("patches", f(pt, 3), f(pixels, 2), b, ch, h, w, 2, 3));
    float[] proj = random(r, b * np * c + 1);
    float[] cls = random(r, c + 2);
    float[] pos = random(r, (np + 1) * c + 3);
    float[] tokens = random(r, b * (np + 1) * c + 4);
    float[] wantTokens = tokens.clone();
    REF.classTokenForward(wantTokens, 4, proj, 1, cls, 2, pos, 3, b, np, c);
    calls.add(call("classTokenForward", f(tokens, 4), f(proj, 1), f(cls, 2), f(pos, 3), b, np, c));
    float[] dtokens = random(r, b * (np + 1) * c + 1);
    float[] dproj = random(r, b * np * c + 2);
    float[] dcls = random(r, c + 3);
    float[] dpos = random(r, (np + 1) * c + 1);
    float[][] start = {dproj.clone(), dcls.clone(), dpos.clone()};
    float[][] want = {dproj.clone(), dcls.clone(), dpos.clone()};
    REF.classTokenBackward(want[0], 2, want[1], 3, want[2], 1, dtokens, 1, b, np, c);
    calls.add(call("classTokenBackward", f(dproj, 2), f(dcls, 3), f(dpos, 1), f(dtokens, 1), b, np, c));
    checks.add(() -> {
      check("patches", null, wantPt, pt, EXACT);
      check("classTokenForward", null, wantTokens, tokens, EXACT);
      check("classTokenBackward dpatches", start[0], want[0], dproj, EXACT);
      check("classTokenBackward dcls", start[1], want[1], dcls, EXACT);
      check("classTokenBackward dpos", start[2], want[2], dpos, EXACT);
    });
    runOnDevice(calls.toArray(new Call[0]));
    checks.forEach(Runnable::run);
  }

  @Test
  void decodingAndRope() {
    Random r = new Random(7);
    List<Call> calls = new ArrayList<>();
    List<Runnable> checks = new ArrayList<>();
    // attentionDecode at positions read at run time: the first, a middle one, the last; T = 300 (more positions
    // than items in the work-group) at a late position
    int[][] shapes = {{0, 9, 4, 2, 6}, {5, 9, 4, 2, 6}, {8, 9, 3, 3, 4}, {280, 300, 2, 1, 4}};
    for (int[] s : shapes) {
      int pos = s[0];
      int t = s[1];
      int nh = s[2];
      int kvh = s[3];
      int hs = s[4];
      float[] q = random(r, nh * hs + 1, -2, 2);
      float[] kc = random(r, t * kvh * hs + 2, -2, 2);
      float[] vc = random(r, t * kvh * hs + 3);
      float[] out = random(r, nh * hs + 2);
      float[] att = random(r, nh * t + 1);
      float[] wantOut = out.clone();
      float[] wantAtt = att.clone();
      REF.attentionDecode(wantOut, 2, wantAtt, 1, q, 1, kc, 2, vc, 3, pos, t, nh, kvh, hs);
      calls.add(call("attentionDecode", f(out, 2), f(att, 1), f(q, 1), f(kc, 2), f(vc, 3), new Dyn(pos), t, nh,
          kvh, hs));
      checks.add(() -> {
        check("attentionDecode out", null, wantOut, out, SUMS);
        check("attentionDecode att", null, wantAtt, att, SUMS);
      });
    }
    // RoPE in training: q and k of qkv rows (B*T rows, stride (NH + 2 KVH) hs) forward, then back (sign -1)
    int b = 2;
    int t = 7;
    int hs = 6;
    int dim = 4 * hs;
    int kvDim = 2 * hs;
    int rw = dim + 2 * kvDim;
    float[] qkv = random(r, b * t * rw + 3);
    for (int sign : new int[] {1, -1}) {
      float[] x = qkv.clone();
      float[] want = qkv.clone();
      REF.rope(want, 3, b * t, rw, dim, hs, t, 0, sign);
      REF.rope(want, 3 + dim, b * t, rw, kvDim, hs, t, 0, sign);
      calls.add(call("rope", f(x, 3), b * t, rw, dim, hs, t, 0, sign));
      calls.add(call("rope", f(x, 3 + dim), b * t, rw, kvDim, hs, t, 0, sign));
      checks.add(() -> check("rope (training)", qkv, want, x, ELEMENTWISE));
    }
    // RoPE in decoding: one row at a position read at run time, late in a long context
    for (int pos : new int[] {0, 3, 1000}) {
      float[] x = random(r, dim + 2);
      float[] want = x.clone();
      float[] start = x.clone();
      REF.rope(want, 2, 1, dim, dim, hs, 1024, pos, 1);
      calls.add(call("rope", f(x, 2), 1, dim, dim, hs, 1024, new Dyn(pos), 1));
      checks.add(() -> check("rope (decoding)", start, want, x, ELEMENTWISE));
    }
    runOnDevice(calls.toArray(new Call[0]));
    checks.forEach(Runnable::run);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // The catalog, without a device

  /** Every kernel of every plan (GPT-2 and LLAMA, training and decoding, float32 and bfloat16) has phases. */
  @Test
  void everyPlannedKernelHasPhasesWithinGpuLimits() throws IOException {
    String ops;
    try (InputStream in = DeviceModel.class.getResourceAsStream("ops.cl")) {
      ops = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    Set<String> seen = new TreeSet<>();
    for (ModelSpec spec : List.of(ModelSpec.gpt2("Gpt2", 50257, 1024, 768, 12, 12, 4),
        ModelSpec.gpt2("Awkward", 97, 13, 48, 3, 2, 3), ModelSpec.llama("S", 32000, 256, 288, 6, 6, 6, 1, true),
        ModelSpec.llama("A", 97, 13, 48, 6, 2, 2, 3, false))) {
      Plan plan = Planner.plan(spec);
      for (Stage stage : Stream.of(plan.forward(), plan.backward(), plan.decode(), plan.decodeBf16())
          .flatMap(List::stream).toList()) {
        for (Op op : stage.ops()) {
          if (op.kernel().equals("zero")) {
            continue; // clEnqueueFillBuffer
          }
          long[] ints = op.args().stream().filter(a -> a instanceof Arg.Size).mapToLong(a -> ((Arg.Size) a).value())
              .toArray();
          List<Phase> phases = Kernel.named(op.kernel()).phases(ints);
          assertTrue(!phases.isEmpty(), op.kernel());
          for (Phase p : phases) {
            String function = "uk_" + op.kernel() + p.suffix();
            assertTrue(ops.contains("void " + function + "("), function + " is not in ops.cl");
            assertGeometry(function, p);
            seen.add(function);
          }
        }
      }
    }
    assertTrue(seen.size() > 30, "kernels seen: " + seen);
  }

  private static void assertGeometry(String what, Phase p) {
    assertEquals(p.global().length, p.local().length, what);
    assertTrue(p.global().length >= 1 && p.global().length <= 3, what);
    long items = 1;
    for (int d = 0; d < p.global().length; d++) {
      assertTrue(p.local()[d] >= 1 && p.global()[d] >= p.local()[d], what + " dimension " + d);
      assertEquals(0, p.global()[d] % p.local()[d], what + ": global a multiple of local in dimension " + d);
      items *= p.local()[d];
    }
    assertTrue(items <= 256, what + ": " + items + " items in a work-group");
    assertTrue(p.localFloats() >= 0 && 4L * p.localFloats() <= 16 * 1024, what + ": local scratch");
  }

  /**
   * The GEMM phases: 16 x 16 work-groups, one per 64 x 64 output tile (dimension 0 along the output's columns), the
   * scratch ops.cl's uk_gemm stages (a 64 x 16 block of a, 16 rows of 66 for b); at most 4 rows, the gemv.
   */
  @Test
  void gemmGeometry() {
    // forward: N = 65 rows, C = 17, OC = 129 columns
    Phase f = Kernel.named("matmulForward").phases(new long[] {65, 17, 129}).get(0);
    assertEquals("", f.suffix());
    assertArrayEquals(new long[] {48, 32}, f.global()); // 3 x 2 tiles of 16 x 16 items
    assertArrayEquals(new long[] {16, 16}, f.local());
    assertEquals(64 * 16 + 16 * 66, f.localFloats());
    // backward: dinp N x C, dweight OC x C
    List<Phase> b = Kernel.named("matmulBackward").phases(new long[] {65, 17, 129});
    assertArrayEquals(new long[] {16, 32}, b.get(0).global());
    assertArrayEquals(new long[] {16, 48}, b.get(1).global());
    assertEquals("_vec", Kernel.named("matmulForwardBf16").phases(new long[] {4, 17, 129}).get(0).suffix());
  }

  @Test
  void runTimeIntsDoNotChangeWorkSizes() {
    List<Phase> a = Kernel.named("attentionDecode").phases(new long[] {-1, 256, 6, 2, 48});
    assertEquals(1, a.size());
    assertArrayEquals(new long[] {256, 6}, a.get(0).global());
    assertEquals(256, a.get(0).localFloats());
    List<Phase> known = Kernel.named("rope").phases(new long[] {1, 288, 288, 48, 256, 17, 1});
    List<Phase> runTime = Kernel.named("rope").phases(new long[] {1, 288, 288, 48, 256, -1, 1});
    assertArrayEquals(known.get(0).global(), runTime.get(0).global());
    // a method the catalogue does not hold (zero is one since activation gradients share storage)
    assertThrows(IllegalArgumentException.class, () -> Kernel.named("fill").phases(new long[] {5}));
    assertThrows(IllegalArgumentException.class, () -> Kernel.named("matmulForward").phases(new long[] {5, 3}));
  }
}
