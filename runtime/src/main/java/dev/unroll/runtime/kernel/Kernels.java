package dev.unroll.runtime.kernel;

import dev.unroll.runtime.number.Bf16;
import dev.unroll.runtime.number.Int8;

/**
 * The operations the steps of a model are made of: training's forward and backward and decoding's KV-cache step,
 * for every family (GPT-2's as llm.c's CPU reference defines them, LLAMA's as llama2.c computes them, BERT's and
 * ViT's as Hugging Face's models do). Generated models call these with constant arguments; every backend
 * implements the same contract, and {@code ScalarKernels} is the reference that every other implementation is
 * tested against. Each forward stands beside its backward, grouped as the SIMD backend's rooms are.
 *
 * <p>Conventions: tensors live in flat {@code float[]} arenas and are passed as (array, offset) pairs;
 * shapes are row-major. {@code N} is the number of rows (B*T positions). Every {@code *Backward} method
 * <em>accumulates</em> ({@code +=}) into the gradients it writes, exactly like llm.c; callers zero them first.
 * No method allocates during a step; the {@code pack*Weight} methods, called once per weight when a model makes
 * its decoding copy, may.
 */
public interface Kernels {

  // ---------------------------------------------------------------------------------------------------------------
  // embeddings: GPT-2's and BERT's token and position tables, LLAMA's token table, ViT's patches and class token

  /** out[b,t,:] = wte[inp[b,t],:] + wpe[t,:]. out (B,T,C), wte (V,C), wpe (maxT,C). */
  void encoderForward(float[] out, int outOff, int[] inp, float[] wte, int wteOff, float[] wpe, int wpeOff,
      int B, int T, int C);

  /** dwte[inp[b,t],:] += dout[b,t,:]; dwpe[t,:] += dout[b,t,:]. */
  void encoderBackward(float[] dwte, int dwteOff, float[] dwpe, int dwpeOff, float[] dout, int doutOff, int[] inp,
      int B, int T, int C);

  /** out[n,:] = emb[inp[n],:] for N tokens: a token embedding without positions (LLAMA). */
  default void embeddingForward(float[] out, int outOff, int[] inp, float[] emb, int embOff, int N, int C) {
    for (int n = 0; n < N; n++) {
      System.arraycopy(emb, embOff + inp[n] * C, out, outOff + n * C, C);
    }
  }

  /** demb[inp[n],:] += dout[n,:]. */
  default void embeddingBackward(float[] demb, int dembOff, float[] dout, int doutOff, int[] inp, int N, int C) {
    for (int n = 0; n < N; n++) {
      int row = dembOff + inp[n] * C;
      int d = doutOff + n * C;
      for (int i = 0; i < C; i++) {
        demb[row + i] += dout[d + i];
      }
    }
  }

  /**
   * Cuts B grids of CH channels of H×W floats (pixels (B,CH,H,W)) into their NP = (H/PH)·(W/PW) patches of
   * PH×PW: out (B,NP,K), K = CH·PH·PW. Patch (py, px) is row py·(W/PW) + px; its K floats run in (ch, dy, dx)
   * order, the flattening of a Conv2d weight (C_out, CH, PH, PW), so that out · weightᵀ is the strided
   * convolution of ViT's patch embedding. PH divides H and PW divides W. Has no backward: pixels are inputs.
   */
  void patches(float[] out, int outOff, float[] pixels, int pixelsOff, int B, int CH, int H, int W, int PH, int PW);

  /**
   * ViT's token sequence: out[b,0,:] = cls + pos[0,:] and out[b,1+p,:] = patches[b,p,:] + pos[1+p,:]. out
   * (B,NP+1,C), patches (B,NP,C), cls (C), pos (NP+1,C).
   */
  void classTokenForward(float[] out, int outOff, float[] patches, int patchesOff, float[] cls, int clsOff,
      float[] pos, int posOff, int B, int NP, int C);

  /** Accumulates dpatches[b,p,:] += dout[b,1+p,:]; dcls += sum_b dout[b,0,:]; dpos[t,:] += sum_b dout[b,t,:]. */
  void classTokenBackward(float[] dpatches, int dpatchesOff, float[] dcls, int dclsOff, float[] dpos, int dposOff,
      float[] dout, int doutOff, int B, int NP, int C);

  // ---------------------------------------------------------------------------------------------------------------
  // norms

  /**
   * LayerNorm over the last axis (biased variance): out = (inp - mean) · rstd · weight + bias with
   * rstd = 1/sqrt(var + eps). out (N,C), mean (N), rstd (N), inp (N,C), weight (C), bias (C). mean and rstd are
   * cached for the backward pass. GPT-2 passes eps 1e-5, BERT and ViT 1e-12.
   */
  void layernormForward(float[] out, int outOff, float[] mean, int meanOff, float[] rstd, int rstdOff,
      float[] inp, int inpOff, float[] weight, int weightOff, float[] bias, int biasOff, int N, int C, float eps);

  /** Accumulates dinp (N,C), dweight (C), dbias (C) from dout (N,C). */
  void layernormBackward(float[] dinp, int dinpOff, float[] dweight, int dweightOff, float[] dbias, int dbiasOff,
      float[] dout, int doutOff, float[] inp, int inpOff, float[] weight, int weightOff, float[] mean, int meanOff,
      float[] rstd, int rstdOff, int N, int C);

  /**
   * RMSNorm (eps 1e-5): out = inp · rstd · weight with rstd = 1/sqrt(mean(inp²) + eps). out (N,C), rstd (N) kept
   * for backward, inp (N,C), weight (C).
   */
  void rmsnormForward(float[] out, int outOff, float[] rstd, int rstdOff, float[] inp, int inpOff, float[] weight,
      int weightOff, int N, int C);

  /** Accumulates dinp (N,C) and dweight (C) from dout (N,C). */
  void rmsnormBackward(float[] dinp, int dinpOff, float[] dweight, int dweightOff, float[] dout, int doutOff,
      float[] inp, int inpOff, float[] weight, int weightOff, float[] rstd, int rstdOff, int N, int C);

  // ---------------------------------------------------------------------------------------------------------------
  // matmul

  /**
   * out[n,o] = bias[o] + sum_i inp[n,i] * weight[o,i]. out (N,OC), inp (N,C), weight (OC,C), bias (OC).
   * {@code bias == null} means no bias.
   */
  void matmulForward(float[] out, int outOff, float[] inp, int inpOff, float[] weight, int weightOff,
      float[] bias, int biasOff, int N, int C, int OC);

  /**
   * Accumulates dinp (N,C) += dout·weight, dweight (OC,C) += doutᵀ·inp, dbias (OC) += column sums of dout.
   * {@code dbias == null} means no bias.
   */
  void matmulBackward(float[] dinp, int dinpOff, float[] dweight, int dweightOff, float[] dbias, int dbiasOff,
      float[] dout, int doutOff, float[] inp, int inpOff, float[] weight, int weightOff, int N, int C, int OC);

  // ---------------------------------------------------------------------------------------------------------------
  // attention: training (GPT-2's multi-head, LLAMA's grouped-query, an encoder's bidirectional) and decoding
  // against a KV cache

  /**
   * Causal multi-head attention. qkv (B,T,3C) holds q, k, v side by side; out (B,T,C); preatt and att
   * (B,NH,T,T) keep the scaled scores and the softmax for backward (entries above the diagonal are left 0).
   * Scale is 1/sqrt(C/NH).
   */
  void attentionForward(float[] out, int outOff, float[] preatt, int preattOff, float[] att, int attOff,
      float[] qkv, int qkvOff, int B, int T, int C, int NH);

  /** Accumulates dqkv (B,T,3C), dpreatt and datt (B,NH,T,T, scratch that must start zeroed) from dout (B,T,C). */
  void attentionBackward(float[] dqkv, int dqkvOff, float[] dpreatt, int dpreattOff, float[] datt, int dattOff,
      float[] dout, int doutOff, float[] qkv, int qkvOff, float[] att, int attOff, int B, int T, int C, int NH);

  /**
   * Causal grouped-query attention for training. Each of the B*T rows of qkv holds q (NH*hs), k (KVH*hs) and v
   * (KVH*hs) side by side (row stride (NH + 2*KVH)*hs); out (B,T,NH*hs); preatt and att (B,NH,T,T) as in
   * {@link #attentionForward}. Query head h reads kv head h / (NH / KVH). Scale 1/sqrt(hs).
   */
  void attentionForwardGqa(float[] out, int outOff, float[] preatt, int preattOff, float[] att, int attOff,
      float[] qkv, int qkvOff, int B, int T, int NH, int KVH, int hs);

  /** Accumulates dqkv (layout of qkv above), dpreatt and datt (zeroed scratch) from dout (B,T,NH*hs). */
  void attentionBackwardGqa(float[] dqkv, int dqkvOff, float[] dpreatt, int dpreattOff, float[] datt, int dattOff,
      float[] dout, int doutOff, float[] qkv, int qkvOff, float[] att, int attOff, int B, int T, int NH, int KVH,
      int hs);

  /**
   * Bidirectional multi-head attention with a padding mask (an encoder's). qkv (B,T,3C) as in
   * {@link #attentionForward}; heads of C/NH, scale 1/sqrt(C/NH). In row b the query positions t &lt; lengths[b]
   * attend to the key positions j &lt; lengths[b] (the softmax runs over those only); the query positions
   * t &ge; lengths[b] get out = 0 and rows of 0 in preatt and att. preatt (B,NH,T,T) keeps the scaled scores, att
   * the softmax, both 0 at masked keys. out (B,T,C). 1 &le; lengths[b] &le; T.
   */
  void attentionForwardBidirectional(float[] out, int outOff, float[] preatt, int preattOff, float[] att, int attOff,
      float[] qkv, int qkvOff, int[] lengths, int B, int T, int C, int NH);

  /**
   * Accumulates dqkv (B,T,3C), dpreatt and datt (B,NH,T,T, scratch that must start zeroed) from dout (B,T,C) through
   * {@link #attentionForwardBidirectional}; the padded positions' entries of dqkv receive nothing.
   */
  void attentionBackwardBidirectional(float[] dqkv, int dqkvOff, float[] dpreatt, int dpreattOff, float[] datt,
      int dattOff, float[] dout, int doutOff, float[] qkv, int qkvOff, float[] att, int attOff, int[] lengths,
      int B, int T, int C, int NH);

  /**
   * Attention of one query position against a KV cache, for decoding. q (NH*hs); kcache and vcache hold rows
   * 0..pos of (T, KVH*hs) (row stride KVH*hs); out (NH*hs); att (NH, T) is scratch whose first pos+1 entries per
   * head receive the softmax. Query head h reads kv head h / (NH / KVH). Scale 1/sqrt(hs).
   */
  void attentionDecode(float[] out, int outOff, float[] att, int attOff, float[] q, int qOff, float[] kcache,
      int kOff, float[] vcache, int vOff, int pos, int T, int NH, int KVH, int hs);

  // ---------------------------------------------------------------------------------------------------------------
  // pointwise

  /** GELU, tanh approximation: out = 0.5·x·(1 + tanh(sqrt(2/π)·(x + 0.044715·x³))). */
  void geluForward(float[] out, int outOff, float[] inp, int inpOff, int N);

  /** dinp += gelu'(inp) · dout. */
  void geluBackward(float[] dinp, int dinpOff, float[] inp, int inpOff, float[] dout, int doutOff, int N);

  /** The exact GELU (BERT's, ViT's): out = x·Φ(x) = 0.5·x·(1 + erf(x/√2)), over N floats. */
  void geluErfForward(float[] out, int outOff, float[] inp, int inpOff, int N);

  /** dinp += dout · (Φ(x) + x·φ(x)), φ(x) = e^(-x²/2)/√(2π) the normal density, x = inp. */
  void geluErfBackward(float[] dinp, int dinpOff, float[] inp, int inpOff, float[] dout, int doutOff, int N);

  /** out = tanh(inp) over N floats (BERT's pooler). */
  void tanhForward(float[] out, int outOff, float[] inp, int inpOff, int N);

  /** From the forward's output: dinp += dout · (1 - out²). */
  void tanhBackward(float[] dinp, int dinpOff, float[] out, int outOff, float[] dout, int doutOff, int N);

  /** SwiGLU's gate: out = silu(gate) · up, silu(x) = x / (1 + e^-x), over N floats. */
  void swigluForward(float[] out, int outOff, float[] gate, int gateOff, float[] up, int upOff, int N);

  /** Accumulates dgate and dup from dout. */
  void swigluBackward(float[] dgate, int dgateOff, float[] dup, int dupOff, float[] dout, int doutOff, float[] gate,
      int gateOff, float[] up, int upOff, int N);

  /** out = inp1 + inp2 over N floats. */
  void residualForward(float[] out, int outOff, float[] inp1, int inp1Off, float[] inp2, int inp2Off, int N);

  /** dinp1 += dout; dinp2 += dout. */
  void residualBackward(float[] dinp1, int dinp1Off, float[] dinp2, int dinp2Off, float[] dout, int doutOff, int N);

  /**
   * Rotary position embedding, in place, as llama2.c computes it: in each of {@code rows} rows (row r starts at
   * off + r*stride and sits at position pos0 + r % T), the pairs (x[i], x[i+1]) for even i &lt; width are rotated by
   * the angle pos · 10000^(-(i mod hs)/hs). {@code sign} +1 rotates forward; -1 rotates back, which is the
   * backward pass (the rotation is orthogonal).
   */
  void rope(float[] x, int off, int rows, int stride, int width, int hs, int T, int pos0, int sign);

  // ---------------------------------------------------------------------------------------------------------------
  // softmax and loss

  /**
   * Softmax over the first V of each row of Vp logits: probs (N,Vp), logits (N,Vp). probs[n, V..Vp) are set to 0.
   */
  void softmaxForward(float[] probs, int probsOff, float[] logits, int logitsOff, int N, int V, int Vp);

  /**
   * losses[n] = -ln(probs[n, targets[n]]); returns the mean of losses over N. probs (N,Vp), losses (N).
   */
  float crossEntropyForward(float[] losses, int lossesOff, float[] probs, int probsOff, int[] targets, int N, int Vp);

  /**
   * Backward of mean cross-entropy through softmax: dlogits[n,i] += (probs[n,i] - [i == targets[n]]) * dloss
   * for i &lt; V (padded columns untouched), where dloss = 1/N.
   */
  void crossEntropySoftmaxBackward(float[] dlogits, int dlogitsOff, float[] probs, int probsOff, int[] targets,
      int N, int V, int Vp);

  // ---------------------------------------------------------------------------------------------------------------
  // memory

  /** a[off..off+n) = 0. */
  void zero(float[] a, int off, int n);

  /** dst[dstOff..dstOff+n) = src[srcOff..srcOff+n). */
  default void copy(float[] dst, int dstOff, float[] src, int srcOff, int n) {
    System.arraycopy(src, srcOff, dst, dstOff, n);
  }

  /**
   * Copies {@code width} floats from each of {@code rows} rows: dst[dstOff + r*dstStride + i] =
   * src[srcOff + r*srcStride + i]. Packs separate q, k, v into one attention input, and unpacks their gradients.
   */
  default void copyRows(float[] dst, int dstOff, int dstStride, float[] src, int srcOff, int srcStride, int rows,
      int width) {
    for (int r = 0; r < rows; r++) {
      System.arraycopy(src, srcOff + r * srcStride, dst, dstOff + r * dstStride, width);
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // decoding's matrix-vector products on bfloat16 and int8 weights

  /**
   * As {@link #matmulForward}, with the weight held as bfloat16: each short is the high 16 bits of a float
   * ({@link Bf16}). Half the bytes of float32 weights, so that decoding, which reads every weight once per token,
   * moves half the memory. The weight is laid out as {@link #packBf16Weight} left it (row-major [OC][C] here).
   * {@code bias == null} means no bias.
   */
  default void matmulForwardBf16(float[] out, int outOff, float[] inp, int inpOff, short[] weight, int weightOff,
      float[] bias, int biasOff, int N, int C, int OC) {
    for (int n = 0; n < N; n++) {
      for (int o = 0; o < OC; o++) {
        float val = bias == null ? 0f : bias[biasOff + o];
        int w = weightOff + o * C;
        int x = inpOff + n * C;
        for (int i = 0; i < C; i++) {
          val += inp[x + i] * Bf16.toFloat(weight[w + i]);
        }
        out[outOff + n * OC + o] = val;
      }
    }
  }

  /**
   * Several {@link #matmulForwardBf16} products of one input row (N = 1, no bias), as one job: for each j,
   * out[outOffs[j] ..] = inp · W_jᵀ, W_j the rows[j]×C weight at weightOffs[j]. Decoding reads q, k and v (and a
   * SwiGLU's two up-projections) from the same row; together they make one pass over the threads instead of
   * several. The same values as the separate calls.
   */
  default void matmulForwardBf16Group(float[] out, int[] outOffs, float[] inp, int inpOff, short[] weight,
      int[] weightOffs, int[] rows, int C) {
    for (int j = 0; j < outOffs.length; j++) {
      matmulForwardBf16(out, outOffs[j], inp, inpOff, weight, weightOffs[j], null, 0, 1, C, rows[j]);
    }
  }

  /**
   * Rearranges, in place, an OC×C bfloat16 weight stored row-major at weight[weightOff..] into the layout these
   * kernels' {@link #matmulForwardBf16} reads: called once per weight when a model makes its bfloat16 copy. Here,
   * row-major: nothing to do.
   */
  default void packBf16Weight(short[] weight, int weightOff, int C, int OC) {}

  /**
   * As {@link #matmulForward}, with the weight held as group-quantized int8 ({@link Int8}): a quarter of float32's
   * bytes, half of bfloat16's, for decoding, which reads every weight once per token. The OC×C weight is at
   * weight[weightOff..], laid out as {@link #packInt8Weight} left it (row-major here); the scale of row o, inputs
   * [32g, 32g + 32) is scales[(weightOff + o * C) / 32 + g], as {@link Int8#quantize} wrote them for the whole
   * array. {@code bias == null} means no bias.
   *
   * <p>Every implementation sums in this order, so that all give the same bits: per group, a partial sum of
   * fused multiply-adds in input order from 0; then acc = fma(partial, scale, acc), acc starting at 0; then
   * acc + bias (+ 0 without one, which turns a -0 into +0). The scale multiplies each group's partial sum once,
   * not each weight, and a vector kernel reading a panel of rows per input keeps this order lane by lane.
   *
   * @throws IllegalArgumentException unless C and weightOff are multiples of {@link Int8#GROUP}
   */
  default void matmulForwardInt8(float[] out, int outOff, float[] inp, int inpOff, byte[] weight, float[] scales,
      int weightOff, float[] bias, int biasOff, int N, int C, int OC) {
    Int8.checkLayout(weightOff, C);
    int groups = C / Int8.GROUP;
    for (int n = 0; n < N; n++) {
      int x = inpOff + n * C;
      for (int o = 0; o < OC; o++) {
        int w = weightOff + o * C;
        int s = w / Int8.GROUP;
        float acc = 0f;
        for (int g = 0; g < groups; g++) {
          int i0 = g * Int8.GROUP;
          float p = 0f;
          for (int i = i0; i < i0 + Int8.GROUP; i++) {
            p = Math.fma((float) weight[w + i], inp[x + i], p);
          }
          acc = Math.fma(p, scales[s + g], acc);
        }
        out[outOff + n * OC + o] = acc + (bias == null ? 0f : bias[biasOff + o]);
      }
    }
  }

  /**
   * Several {@link #matmulForwardInt8} products of one input row (N = 1, no bias), as one job, as
   * {@link #matmulForwardBf16Group} does for bfloat16: for each j, out[outOffs[j] ..] = inp · W_jᵀ, W_j the
   * rows[j]×C weight at weightOffs[j] with its scales in {@code scales}. The same values as the separate calls.
   */
  default void matmulForwardInt8Group(float[] out, int[] outOffs, float[] inp, int inpOff, byte[] weight,
      float[] scales, int[] weightOffs, int[] rows, int C) {
    for (int j = 0; j < outOffs.length; j++) {
      matmulForwardInt8(out, outOffs[j], inp, inpOff, weight, scales, weightOffs[j], null, 0, 1, C, rows[j]);
    }
  }

  /**
   * Rearranges, in place, an OC×C int8 weight stored row-major at weight[weightOff..], and its scales (see
   * {@link #matmulForwardInt8}), into the layout these kernels' {@link #matmulForwardInt8} reads: called once per
   * weight when a model makes its int8 copy. The scales stay within the weight's own slots. Here, row-major:
   * nothing to do.
   */
  default void packInt8Weight(byte[] weight, float[] scales, int weightOff, int C, int OC) {}
}
