package dev.unroll.runtime.simd;

import dev.unroll.runtime.kernel.Kernels;
import dev.unroll.runtime.scalar.ScalarKernels;
import dev.unroll.runtime.thread.WorkerPool;

/**
 * {@link Kernels} on the Java Vector API, with the species the CPU prefers: a table that hands each kernel to the
 * room that holds it, one class per kind of operation (as llm.c keeps one file per kernel):
 *
 * <ul>
 *   <li>{@link Matmul}: the float32 matmul, forward and backward, on {@link Gemm}, the register-blocked GEMM
 *       (six rows by two vectors of columns at a time, on blocks of the reused operand packed into panels that stay
 *       in L2), which training's attention runs on too;
 *   <li>{@link Attention}: causal attention with grouped-query heads, training's forward and backward (per
 *       (batch, head), the scores, the weighted sum and the four backward products as GEMMs over packed panels),
 *       an encoder's bidirectional attention the same way over each row's valid positions, and decoding's against
 *       a KV cache;
 *   <li>{@link Norms}: LayerNorm and RMSNorm;
 *   <li>{@link Pointwise}: the encoder, ViT's patches and class token, GELU (tanh's and the exact one), tanh,
 *       SwiGLU, the residual sum, RoPE and zero;
 *   <li>{@link Loss}: the softmax and cross-entropy's backward through it (the loss itself is the scalar
 *       reference's loop);
 *   <li>{@link QuantizedMatvec}: decoding's matrix-vector products on bfloat16 and int8 weights (four streams of
 *       reads at a time, two for int8, which is bound by its conversion to floats rather than by memory);
 *   <li>{@link Vectors}: what they share (the species, the lane permutations of a sum's tree, a dot product), and
 *       why no vector crosses a call; {@link VectorMath}: exp, tanh and erf.
 * </ul>
 *
 * <p>Results match {@code ScalarKernels} up to float rounding: sums run in a different order, products are fused,
 * and exp, tanh and erf come from {@link VectorMath}, which gives the same bits interpreted or compiled (so results
 * are deterministic).
 *
 * <p>Threads: kernels large enough to pay for a hand-off ({@link WorkerPool#MIN_PARALLEL_WORK}) split over the
 * {@link WorkerPool}: matmul forward by output channel from 32 rows (by rows below), layernorm, softmax and the
 * encoder by rows; matmul backward's dinp by rows (by columns when it has fewer rows than columns) and its dweight
 * and dbias by output channel; attention (causal and bidirectional) by (batch, head); pointwise kernels and zero by
 * ranges of whole vectors; decoding's matrix-vector products (float32, bfloat16 and int8) by output rows, one share
 * per thread, and its attention by head. Every output element is computed by one thread in the same order as on one
 * thread, so results are bit-identical for every thread count. {@code encoderBackward} (a scatter-add into token
 * rows), {@code crossEntropyForward} (a sum over rows), the LLAMA family's RMSNorm, RoPE and SwiGLU, and ViT's
 * patches and class token (copies and sums of rows) stay on the calling thread. Each room hands the pool one
 * {@link KernelJob}, made once: the kernel's arguments in fields named by role and, as a lambda, the task that runs
 * a share.
 */
public final class SimdKernels implements Kernels {

  /** The one instance; the class holds no state. */
  public static final SimdKernels INSTANCE = new SimdKernels();

  private SimdKernels() {}

  // ---------------------------------------------------------------------------------------------------------------
  // embeddings (Pointwise)

  @Override
  public void encoderForward(float[] out, int outOff, int[] inp, float[] wte, int wteOff, float[] wpe, int wpeOff,
      int B, int T, int C) {
    Pointwise.encoderForward(out, outOff, inp, wte, wteOff, wpe, wpeOff, B, T, C);
  }

  @Override
  public void encoderBackward(float[] dwte, int dwteOff, float[] dwpe, int dwpeOff, float[] dout, int doutOff,
      int[] inp, int B, int T, int C) {
    Pointwise.encoderBackward(dwte, dwteOff, dwpe, dwpeOff, dout, doutOff, inp, B, T, C);
  }

  @Override
  public void patches(float[] out, int outOff, float[] pixels, int pixelsOff, int B, int CH, int H, int W, int PH,
      int PW) {
    Pointwise.patches(out, outOff, pixels, pixelsOff, B, CH, H, W, PH, PW);
  }

  @Override
  public void classTokenForward(float[] out, int outOff, float[] patches, int patchesOff, float[] cls, int clsOff,
      float[] pos, int posOff, int B, int NP, int C) {
    Pointwise.classTokenForward(out, outOff, patches, patchesOff, cls, clsOff, pos, posOff, B, NP, C);
  }

  @Override
  public void classTokenBackward(float[] dpatches, int dpatchesOff, float[] dcls, int dclsOff, float[] dpos,
      int dposOff, float[] dout, int doutOff, int B, int NP, int C) {
    Pointwise.classTokenBackward(dpatches, dpatchesOff, dcls, dclsOff, dpos, dposOff, dout, doutOff, B, NP, C);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // norms

  @Override
  public void layernormForward(float[] out, int outOff, float[] mean, int meanOff, float[] rstd, int rstdOff,
      float[] inp, int inpOff, float[] weight, int weightOff, float[] bias, int biasOff, int N, int C, float eps) {
    Norms.layernormForward(out, outOff, mean, meanOff, rstd, rstdOff, inp, inpOff, weight, weightOff, bias, biasOff,
        N, C, eps);
  }

  @Override
  public void layernormBackward(float[] dinp, int dinpOff, float[] dweight, int dweightOff, float[] dbias,
      int dbiasOff, float[] dout, int doutOff, float[] inp, int inpOff, float[] weight, int weightOff, float[] mean,
      int meanOff, float[] rstd, int rstdOff, int N, int C) {
    Norms.layernormBackward(dinp, dinpOff, dweight, dweightOff, dbias, dbiasOff, dout, doutOff, inp, inpOff, weight,
        weightOff, mean, meanOff, rstd, rstdOff, N, C);
  }

  @Override
  public void rmsnormForward(float[] out, int outOff, float[] rstd, int rstdOff, float[] inp, int inpOff,
      float[] weight, int weightOff, int N, int C) {
    Norms.rmsnormForward(out, outOff, rstd, rstdOff, inp, inpOff, weight, weightOff, N, C);
  }

  @Override
  public void rmsnormBackward(float[] dinp, int dinpOff, float[] dweight, int dweightOff, float[] dout, int doutOff,
      float[] inp, int inpOff, float[] weight, int weightOff, float[] rstd, int rstdOff, int N, int C) {
    Norms.rmsnormBackward(dinp, dinpOff, dweight, dweightOff, dout, doutOff, inp, inpOff, weight, weightOff, rstd,
        rstdOff, N, C);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // matmul

  @Override
  public void matmulForward(float[] out, int outOff, float[] inp, int inpOff, float[] weight, int weightOff,
      float[] bias, int biasOff, int N, int C, int OC) {
    Matmul.forward(out, outOff, inp, inpOff, weight, weightOff, bias, biasOff, N, C, OC);
  }

  @Override
  public void matmulBackward(float[] dinp, int dinpOff, float[] dweight, int dweightOff, float[] dbias,
      int dbiasOff, float[] dout, int doutOff, float[] inp, int inpOff, float[] weight, int weightOff, int N, int C,
      int OC) {
    Matmul.backward(dinp, dinpOff, dweight, dweightOff, dbias, dbiasOff, dout, doutOff, inp, inpOff, weight,
        weightOff, N, C, OC);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // attention

  @Override
  public void attentionForward(float[] out, int outOff, float[] preatt, int preattOff, float[] att, int attOff,
      float[] qkv, int qkvOff, int B, int T, int C, int NH) {
    Attention.forward(out, outOff, preatt, preattOff, att, attOff, qkv, qkvOff, B, T, NH, NH, C / NH);
  }

  @Override
  public void attentionBackward(float[] dqkv, int dqkvOff, float[] dpreatt, int dpreattOff, float[] datt,
      int dattOff, float[] dout, int doutOff, float[] qkv, int qkvOff, float[] att, int attOff, int B, int T, int C,
      int NH) {
    Attention.backward(dqkv, dqkvOff, dpreatt, dpreattOff, datt, dattOff, dout, doutOff, qkv, qkvOff, att, attOff,
        B, T, NH, NH, C / NH);
  }

  @Override
  public void attentionForwardGqa(float[] out, int outOff, float[] preatt, int preattOff, float[] att, int attOff,
      float[] qkv, int qkvOff, int B, int T, int NH, int KVH, int hs) {
    Attention.forward(out, outOff, preatt, preattOff, att, attOff, qkv, qkvOff, B, T, NH, KVH, hs);
  }

  @Override
  public void attentionBackwardGqa(float[] dqkv, int dqkvOff, float[] dpreatt, int dpreattOff, float[] datt,
      int dattOff, float[] dout, int doutOff, float[] qkv, int qkvOff, float[] att, int attOff, int B, int T, int NH,
      int KVH, int hs) {
    Attention.backward(dqkv, dqkvOff, dpreatt, dpreattOff, datt, dattOff, dout, doutOff, qkv, qkvOff, att, attOff,
        B, T, NH, KVH, hs);
  }

  @Override
  public void attentionForwardBidirectional(float[] out, int outOff, float[] preatt, int preattOff, float[] att,
      int attOff, float[] qkv, int qkvOff, int[] lengths, int B, int T, int C, int NH) {
    Attention.forwardBidirectional(out, outOff, preatt, preattOff, att, attOff, qkv, qkvOff, lengths, B, T, C, NH);
  }

  @Override
  public void attentionBackwardBidirectional(float[] dqkv, int dqkvOff, float[] dpreatt, int dpreattOff,
      float[] datt, int dattOff, float[] dout, int doutOff, float[] qkv, int qkvOff, float[] att, int attOff,
      int[] lengths, int B, int T, int C, int NH) {
    Attention.backwardBidirectional(dqkv, dqkvOff, dpreatt, dpreattOff, datt, dattOff, dout, doutOff, qkv, qkvOff,
        att, attOff, lengths, B, T, C, NH);
  }

  @Override
  public void attentionDecode(float[] out, int outOff, float[] att, int attOff, float[] q, int qOff,
      float[] kcache, int kOff, float[] vcache, int vOff, int pos, int T, int NH, int KVH, int hs) {
    Attention.decode(out, outOff, att, attOff, q, qOff, kcache, kOff, vcache, vOff, pos, T, NH, KVH, hs);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // pointwise

  @Override
  public void geluForward(float[] out, int outOff, float[] inp, int inpOff, int N) {
    Pointwise.geluForward(out, outOff, inp, inpOff, N);
  }

  @Override
  public void geluBackward(float[] dinp, int dinpOff, float[] inp, int inpOff, float[] dout, int doutOff, int N) {
    Pointwise.geluBackward(dinp, dinpOff, inp, inpOff, dout, doutOff, N);
  }

  @Override
  public void geluErfForward(float[] out, int outOff, float[] inp, int inpOff, int N) {
    Pointwise.geluErfForward(out, outOff, inp, inpOff, N);
  }

  @Override
  public void geluErfBackward(float[] dinp, int dinpOff, float[] inp, int inpOff, float[] dout, int doutOff,
      int N) {
    Pointwise.geluErfBackward(dinp, dinpOff, inp, inpOff, dout, doutOff, N);
  }

  @Override
  public void tanhForward(float[] out, int outOff, float[] inp, int inpOff, int N) {
    Pointwise.tanhForward(out, outOff, inp, inpOff, N);
  }

  @Override
  public void tanhBackward(float[] dinp, int dinpOff, float[] out, int outOff, float[] dout, int doutOff, int N) {
    Pointwise.tanhBackward(dinp, dinpOff, out, outOff, dout, doutOff, N);
  }

  @Override
  public void swigluForward(float[] out, int outOff, float[] gate, int gateOff, float[] up, int upOff, int N) {
    Pointwise.swigluForward(out, outOff, gate, gateOff, up, upOff, N);
  }

  @Override
  public void swigluBackward(float[] dgate, int dgateOff, float[] dup, int dupOff, float[] dout, int doutOff,
      float[] gate, int gateOff, float[] up, int upOff, int N) {
    Pointwise.swigluBackward(dgate, dgateOff, dup, dupOff, dout, doutOff, gate, gateOff, up, upOff, N);
  }

  @Override
  public void residualForward(float[] out, int outOff, float[] inp1, int inp1Off, float[] inp2, int inp2Off,
      int N) {
    Pointwise.residualForward(out, outOff, inp1, inp1Off, inp2, inp2Off, N);
  }

  @Override
  public void residualBackward(float[] dinp1, int dinp1Off, float[] dinp2, int dinp2Off, float[] dout, int doutOff,
      int N) {
    Pointwise.residualBackward(dinp1, dinp1Off, dinp2, dinp2Off, dout, doutOff, N);
  }

  @Override
  public void rope(float[] x, int off, int rows, int stride, int width, int hs, int T, int pos0, int sign) {
    Pointwise.rope(x, off, rows, stride, width, hs, T, pos0, sign);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // softmax and loss

  @Override
  public void softmaxForward(float[] probs, int probsOff, float[] logits, int logitsOff, int N, int V, int Vp) {
    Loss.softmaxForward(probs, probsOff, logits, logitsOff, N, V, Vp);
  }

  @Override
  public float crossEntropyForward(float[] losses, int lossesOff, float[] probs, int probsOff, int[] targets, int N,
      int Vp) {
    // a logarithm per row and a sum over rows in order: nothing to vectorise, the reference's loop is the kernel
    return ScalarKernels.INSTANCE.crossEntropyForward(losses, lossesOff, probs, probsOff, targets, N, Vp);
  }

  @Override
  public void crossEntropySoftmaxBackward(float[] dlogits, int dlogitsOff, float[] probs, int probsOff,
      int[] targets, int N, int V, int Vp) {
    Loss.crossEntropySoftmaxBackward(dlogits, dlogitsOff, probs, probsOff, targets, N, V, Vp);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // memory (Pointwise)

  @Override
  public void zero(float[] a, int off, int n) {
    Pointwise.zero(a, off, n);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // decoding's matrix-vector products on bfloat16 and int8 weights

  @Override
  public void matmulForwardBf16(float[] out, int outOff, float[] inp, int inpOff, short[] weight, int weightOff,
      float[] bias, int biasOff, int N, int C, int OC) {
    QuantizedMatvec.matmulForwardBf16(out, outOff, inp, inpOff, weight, weightOff, bias, biasOff, N, C, OC);
  }

  @Override
  public void matmulForwardBf16Group(float[] out, int[] outOffs, float[] inp, int inpOff, short[] weight,
      int[] weightOffs, int[] rows, int C) {
    QuantizedMatvec.matmulForwardBf16Group(out, outOffs, inp, inpOff, weight, weightOffs, rows, C);
  }

  @Override
  public void packBf16Weight(short[] weight, int weightOff, int C, int OC) {
    QuantizedMatvec.packBf16Weight(weight, weightOff, C, OC);
  }

  @Override
  public void matmulForwardInt8(float[] out, int outOff, float[] inp, int inpOff, byte[] weight, float[] scales,
      int weightOff, float[] bias, int biasOff, int N, int C, int OC) {
    QuantizedMatvec.matmulForwardInt8(out, outOff, inp, inpOff, weight, scales, weightOff, bias, biasOff, N, C, OC);
  }

  @Override
  public void matmulForwardInt8Group(float[] out, int[] outOffs, float[] inp, int inpOff, byte[] weight,
      float[] scales, int[] weightOffs, int[] rows, int C) {
    QuantizedMatvec.matmulForwardInt8Group(out, outOffs, inp, inpOff, weight, scales, weightOffs, rows, C);
  }

  @Override
  public void packInt8Weight(byte[] weight, float[] scales, int weightOff, int C, int OC) {
    QuantizedMatvec.packInt8Weight(weight, scales, weightOff, C, OC);
  }
}
