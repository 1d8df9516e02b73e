package dev.unroll.runtime.llama;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unroll.runtime.ParamTensor;
import dev.unroll.runtime.Parameters;
import dev.unroll.runtime.kernel.Kernels;
import dev.unroll.runtime.scalar.ScalarKernels;
import dev.unroll.runtime.simd.SimdKernels;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The LLAMA kernels composed into a whole (tiny) model over {@link LlamaLayout}'s arena, two ways: a training
 * forward over B rows of T tokens (RoPE over all rows, grouped-query attention with its causal mask), and
 * llama2.c-style decoding, one token at a time against a KV cache (RoPE at the token's position,
 * attentionDecode). The logits must agree at every position: what generated decode() must do, shown on the
 * kernels it will call. The scalar reference gives the same bits both ways.
 */
class LlamaDecodeTest {

  /** V=37 padded to 40, T=9, C=24, NH=4, KVH=2 (hs 6, kvDim 12), L=2, B=2, H=40, untied classifier. */
  private static final LlamaShape S = new LlamaShape(37, 40, 9, 24, 4, 2, 2, 2, 40, false);

  private static final int C = S.dim();
  private static final int KV = S.kvDim();
  private static final int H = S.hidden();
  private static final int HS = S.headSize();
  private static final int T = S.context();
  private static final int VP = S.paddedVocab();

  private final Parameters p;

  LlamaDecodeTest() {
    int n = LlamaLayout.count(S);
    float[] values = new float[n];
    p = new Parameters(values, new float[n], LlamaLayout.tensors(S));
    SplittableRandom r = new SplittableRandom(3);
    for (ParamTensor t : p.tensors()) {
      boolean norm = t.shape().length == 1;
      for (int i = 0; i < t.size(); i++) {
        values[t.offset() + i] = (float) (norm ? r.nextDouble(0.5, 1.5) : r.nextDouble(-0.4, 0.4));
      }
    }
  }

  private int at(String name) {
    return p.tensor(name).offset();
  }

  private int layer(int l, String kind) {
    return at("model.layers." + l + "." + kind);
  }

  /** Logits (N, Vp) of the training forward over tokens (B, T). */
  private float[] forward(Kernels k, int[] tokens) {
    float[] w = p.values();
    int n = tokens.length;
    int rowQkv = C + 2 * KV;
    float[] x = new float[n * C];
    for (int i = 0; i < n; i++) {
      System.arraycopy(w, at(LlamaLayout.EMBEDDING) + tokens[i] * C, x, i * C, C);
    }
    float[] xb = new float[n * C];
    float[] rstd = new float[n];
    float[] q = new float[n * C];
    float[] kk = new float[n * KV];
    float[] v = new float[n * KV];
    float[] qkv = new float[n * rowQkv];
    float[] y = new float[n * C];
    float[] o = new float[n * C];
    int b = n / T;
    float[] preatt = new float[b * S.heads() * T * T];
    float[] att = new float[b * S.heads() * T * T];
    float[] h1 = new float[n * H];
    float[] h3 = new float[n * H];
    float[] hb = new float[n * H];
    for (int l = 0; l < S.layers(); l++) {
      k.rmsnormForward(xb, 0, rstd, 0, x, 0, w, layer(l, "input_layernorm.weight"), n, C);
      k.matmulForward(q, 0, xb, 0, w, layer(l, "self_attn.q_proj.weight"), null, 0, n, C, C);
      k.matmulForward(kk, 0, xb, 0, w, layer(l, "self_attn.k_proj.weight"), null, 0, n, C, KV);
      k.matmulForward(v, 0, xb, 0, w, layer(l, "self_attn.v_proj.weight"), null, 0, n, C, KV);
      for (int i = 0; i < n; i++) {
        System.arraycopy(q, i * C, qkv, i * rowQkv, C);
        System.arraycopy(kk, i * KV, qkv, i * rowQkv + C, KV);
        System.arraycopy(v, i * KV, qkv, i * rowQkv + C + KV, KV);
      }
      k.rope(qkv, 0, n, rowQkv, C, HS, T, 0, +1);
      k.rope(qkv, C, n, rowQkv, KV, HS, T, 0, +1);
      k.attentionForwardGqa(y, 0, preatt, 0, att, 0, qkv, 0, b, T, S.heads(), S.kvHeads(), HS);
      k.matmulForward(o, 0, y, 0, w, layer(l, "self_attn.o_proj.weight"), null, 0, n, C, C);
      k.residualForward(x, 0, x, 0, o, 0, n * C);
      k.rmsnormForward(xb, 0, rstd, 0, x, 0, w, layer(l, "post_attention_layernorm.weight"), n, C);
      k.matmulForward(h1, 0, xb, 0, w, layer(l, "mlp.gate_proj.weight"), null, 0, n, C, H);
      k.matmulForward(h3, 0, xb, 0, w, layer(l, "mlp.up_proj.weight"), null, 0, n, C, H);
      k.swigluForward(hb, 0, h1, 0, h3, 0, n * H);
      k.matmulForward(o, 0, hb, 0, w, layer(l, "mlp.down_proj.weight"), null, 0, n, H, C);
      k.residualForward(x, 0, x, 0, o, 0, n * C);
    }
    k.rmsnormForward(xb, 0, rstd, 0, x, 0, w, at(LlamaLayout.FINAL_NORM), n, C);
    float[] logits = new float[n * VP];
    k.matmulForward(logits, 0, xb, 0, w, at(LlamaLayout.CLASSIFIER), null, 0, n, C, VP);
    return logits;
  }

  /** Logits (T, Vp) of decoding one row token by token, as llama2.c's run.c does. */
  private float[] decode(Kernels k, int[] tokens, int row) {
    float[] w = p.values();
    int layers = S.layers();
    float[] kcache = new float[layers * T * KV];
    float[] vcache = new float[layers * T * KV];
    Arrays.fill(kcache, Float.NaN); // positions not yet decoded must not be read
    Arrays.fill(vcache, Float.NaN);
    float[] x = new float[C];
    float[] xb = new float[C];
    float[] rstd = new float[1];
    float[] q = new float[C];
    float[] y = new float[C];
    float[] o = new float[C];
    float[] att = new float[S.heads() * T];
    float[] h1 = new float[H];
    float[] h3 = new float[H];
    float[] hb = new float[H];
    float[] logits = new float[T * VP];
    for (int pos = 0; pos < T; pos++) {
      System.arraycopy(w, at(LlamaLayout.EMBEDDING) + tokens[row * T + pos] * C, x, 0, C);
      for (int l = 0; l < layers; l++) {
        int cache = (l * T + pos) * KV;
        k.rmsnormForward(xb, 0, rstd, 0, x, 0, w, layer(l, "input_layernorm.weight"), 1, C);
        k.matmulForward(q, 0, xb, 0, w, layer(l, "self_attn.q_proj.weight"), null, 0, 1, C, C);
        k.matmulForward(kcache, cache, xb, 0, w, layer(l, "self_attn.k_proj.weight"), null, 0, 1, C, KV);
        k.matmulForward(vcache, cache, xb, 0, w, layer(l, "self_attn.v_proj.weight"), null, 0, 1, C, KV);
        k.rope(q, 0, 1, C, C, HS, 1, pos, +1);
        k.rope(kcache, cache, 1, KV, KV, HS, 1, pos, +1);
        k.attentionDecode(y, 0, att, 0, q, 0, kcache, l * T * KV, vcache, l * T * KV, pos, T, S.heads(),
            S.kvHeads(), HS);
        k.matmulForward(o, 0, y, 0, w, layer(l, "self_attn.o_proj.weight"), null, 0, 1, C, C);
        k.residualForward(x, 0, x, 0, o, 0, C);
        k.rmsnormForward(xb, 0, rstd, 0, x, 0, w, layer(l, "post_attention_layernorm.weight"), 1, C);
        k.matmulForward(h1, 0, xb, 0, w, layer(l, "mlp.gate_proj.weight"), null, 0, 1, C, H);
        k.matmulForward(h3, 0, xb, 0, w, layer(l, "mlp.up_proj.weight"), null, 0, 1, C, H);
        k.swigluForward(hb, 0, h1, 0, h3, 0, H);
        k.matmulForward(o, 0, hb, 0, w, layer(l, "mlp.down_proj.weight"), null, 0, 1, H, C);
        k.residualForward(x, 0, x, 0, o, 0, C);
      }
      k.rmsnormForward(xb, 0, rstd, 0, x, 0, w, at(LlamaLayout.FINAL_NORM), 1, C);
      k.matmulForward(logits, pos * VP, xb, 0, w, at(LlamaLayout.CLASSIFIER), null, 0, 1, C, VP);
    }
    return logits;
  }

  @ParameterizedTest
  @ValueSource(strings = {"scalar", "simd"})
  void decodingGivesTheTrainingForwardsLogitsAtEveryPosition(String backend) {
    Kernels k = backend.equals("scalar") ? ScalarKernels.INSTANCE : SimdKernels.INSTANCE;
    SplittableRandom r = new SplittableRandom(4);
    int[] tokens = new int[S.batch() * T];
    for (int i = 0; i < tokens.length; i++) {
      tokens[i] = r.nextInt(S.vocab());
    }
    float[] full = forward(k, tokens);
    for (int row = 0; row < S.batch(); row++) {
      float[] decoded = decode(k, tokens, row);
      float[] expected = Arrays.copyOfRange(full, row * T * VP, (row + 1) * T * VP);
      if (k == ScalarKernels.INSTANCE) {
        assertArrayEquals(expected, decoded, "row " + row);
      }
      double scale = 0;
      double diff = 0;
      for (int i = 0; i < expected.length; i++) {
        scale = Math.max(scale, Math.abs(expected[i]));
        diff = Math.max(diff, Math.abs(expected[i] - decoded[i]));
      }
      assertTrue(scale > 0.1 && diff <= 1e-5 * scale, "row " + row + ": max diff " + diff + " of scale " + scale);
    }
  }
}
