package dev.unroll.runtime.scalar;

import dev.unroll.runtime.kernel.Kernels;
import java.util.Arrays;

/**
 * The reference {@link Kernels}: plain loops in float, with the arithmetic in the same order as llm.c's CPU
 * reference ({@code train_gpt2.c}), so that its results are that reference's; the LLAMA kernels (RMSNorm, RoPE,
 * SwiGLU) follow llama2.c's {@code run.c} the same way, and their backward passes are the derivatives of those
 * loops; the encoders' kernels (bidirectional attention, exact GELU, tanh, patches and class token) compute what
 * Hugging Face's BERT and ViT do, the exact GELU in double with {@link Erf}. Attention, GPT-2's, grouped-query and
 * bidirectional alike, is one set of loops, and decoding against a KV cache runs the very loops training runs for
 * one row. Slow and simple on purpose; every other backend is tested against it.
 */
public final class ScalarKernels implements Kernels {
  /** The one instance; the class holds no state. */
  public static final ScalarKernels INSTANCE = new ScalarKernels();

  /** sqrtf(2.0f / M_PI) as llm.c writes it: the quotient in double, rounded to float, then a float root. */
  private static final float GELU_SCALING_FACTOR = (float) Math.sqrt((float) (2.0 / Math.PI));

  private static final float GELU_CUBE = 0.044715f;

  /** llama2.c's RMSNorm epsilon, added to the mean of squares. */
  private static final float RMSNORM_EPS = 1e-5f;

  /** Initial running maximum in llm.c's softmaxes. */
  private static final float MAX_START = -10000.0f;

  private ScalarKernels() {}

  // ---------------------------------------------------------------------------------------------------------------
  // embeddings

  @Override
  public void encoderForward(float[] out, int outOff, int[] inp, float[] wte, int wteOff, float[] wpe, int wpeOff,
      int B, int T, int C) {
    for (int b = 0; b < B; b++) {
      for (int t = 0; t < T; t++) {
        int o = outOff + (b * T + t) * C;
        int e = wteOff + inp[b * T + t] * C;
        int p = wpeOff + t * C;
        for (int i = 0; i < C; i++) {
          out[o + i] = wte[e + i] + wpe[p + i];
        }
      }
    }
  }

  @Override
  public void encoderBackward(float[] dwte, int dwteOff, float[] dwpe, int dwpeOff, float[] dout, int doutOff,
      int[] inp, int B, int T, int C) {
    for (int b = 0; b < B; b++) {
      for (int t = 0; t < T; t++) {
        int d = doutOff + (b * T + t) * C;
        int e = dwteOff + inp[b * T + t] * C;
        int p = dwpeOff + t * C;
        for (int i = 0; i < C; i++) {
          float g = dout[d + i];
          dwte[e + i] += g;
          dwpe[p + i] += g;
        }
      }
    }
  }

  @Override
  public void patches(float[] out, int outOff, float[] pixels, int pixelsOff, int B, int CH, int H, int W, int PH,
      int PW) {
    int gw = W / PW;
    int np = (H / PH) * gw;
    int k = CH * PH * PW;
    for (int b = 0; b < B; b++) {
      for (int p = 0; p < np; p++) {
        int y0 = (p / gw) * PH;
        int x0 = (p % gw) * PW;
        int o = outOff + (b * np + p) * k;
        for (int ch = 0; ch < CH; ch++) {
          for (int dy = 0; dy < PH; dy++) {
            for (int dx = 0; dx < PW; dx++) {
              out[o++] = pixels[pixelsOff + ((b * CH + ch) * H + y0 + dy) * W + x0 + dx];
            }
          }
        }
      }
    }
  }

  @Override
  public void classTokenForward(float[] out, int outOff, float[] patches, int patchesOff, float[] cls, int clsOff,
      float[] pos, int posOff, int B, int NP, int C) {
    for (int b = 0; b < B; b++) {
      for (int t = 0; t <= NP; t++) {
        int o = outOff + (b * (NP + 1) + t) * C;
        float[] src = t == 0 ? cls : patches;
        int s = t == 0 ? clsOff : patchesOff + (b * NP + t - 1) * C;
        for (int i = 0; i < C; i++) {
          out[o + i] = src[s + i] + pos[posOff + t * C + i];
        }
      }
    }
  }

  @Override
  public void classTokenBackward(float[] dpatches, int dpatchesOff, float[] dcls, int dclsOff, float[] dpos,
      int dposOff, float[] dout, int doutOff, int B, int NP, int C) {
    for (int b = 0; b < B; b++) {
      for (int t = 0; t <= NP; t++) {
        int d = doutOff + (b * (NP + 1) + t) * C;
        float[] dst = t == 0 ? dcls : dpatches;
        int s = t == 0 ? dclsOff : dpatchesOff + (b * NP + t - 1) * C;
        for (int i = 0; i < C; i++) {
          float g = dout[d + i];
          dst[s + i] += g;
          dpos[dposOff + t * C + i] += g;
        }
      }
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // norms

  @Override
  public void layernormForward(float[] out, int outOff, float[] mean, int meanOff, float[] rstd, int rstdOff,
      float[] inp, int inpOff, float[] weight, int weightOff, float[] bias, int biasOff, int N, int C, float eps) {
    for (int n = 0; n < N; n++) {
      int x = inpOff + n * C;
      float m = 0.0f;
      for (int i = 0; i < C; i++) {
        m += inp[x + i];
      }
      m = m / C;
      float v = 0.0f;
      for (int i = 0; i < C; i++) {
        float xshift = inp[x + i] - m;
        v += xshift * xshift;
      }
      v = v / C;
      float s = 1.0f / (float) Math.sqrt(v + eps);
      int o = outOff + n * C;
      for (int i = 0; i < C; i++) {
        float norm = s * (inp[x + i] - m);
        out[o + i] = norm * weight[weightOff + i] + bias[biasOff + i];
      }
      mean[meanOff + n] = m;
      rstd[rstdOff + n] = s;
    }
  }

  @Override
  public void layernormBackward(float[] dinp, int dinpOff, float[] dweight, int dweightOff, float[] dbias,
      int dbiasOff, float[] dout, int doutOff, float[] inp, int inpOff, float[] weight, int weightOff, float[] mean,
      int meanOff, float[] rstd, int rstdOff, int N, int C) {
    for (int n = 0; n < N; n++) {
      int x = inpOff + n * C;
      int d = doutOff + n * C;
      int di = dinpOff + n * C;
      float m = mean[meanOff + n];
      float s = rstd[rstdOff + n];
      // the two reductions of the normalisation's backward
      float dnormMean = 0.0f;
      float dnormNormMean = 0.0f;
      for (int i = 0; i < C; i++) {
        float norm = (inp[x + i] - m) * s;
        float dnorm = weight[weightOff + i] * dout[d + i];
        dnormMean += dnorm;
        dnormNormMean += dnorm * norm;
      }
      dnormMean = dnormMean / C;
      dnormNormMean = dnormNormMean / C;
      for (int i = 0; i < C; i++) {
        float norm = (inp[x + i] - m) * s;
        float dnorm = weight[weightOff + i] * dout[d + i];
        dbias[dbiasOff + i] += dout[d + i];
        dweight[dweightOff + i] += norm * dout[d + i];
        float dval = 0.0f;
        dval += dnorm;
        dval -= dnormMean;
        dval -= norm * dnormNormMean;
        dval *= s;
        dinp[di + i] += dval;
      }
    }
  }

  @Override
  public void rmsnormForward(float[] out, int outOff, float[] rstd, int rstdOff, float[] inp, int inpOff,
      float[] weight, int weightOff, int N, int C) {
    for (int n = 0; n < N; n++) {
      int x = inpOff + n * C;
      int o = outOff + n * C;
      float ss = 0.0f;
      for (int i = 0; i < C; i++) {
        ss += inp[x + i] * inp[x + i];
      }
      ss /= C;
      ss += RMSNORM_EPS;
      float s = 1.0f / (float) Math.sqrt(ss);
      for (int i = 0; i < C; i++) {
        out[o + i] = weight[weightOff + i] * (s * inp[x + i]);
      }
      rstd[rstdOff + n] = s;
    }
  }

  @Override
  public void rmsnormBackward(float[] dinp, int dinpOff, float[] dweight, int dweightOff, float[] dout, int doutOff,
      float[] inp, int inpOff, float[] weight, int weightOff, float[] rstd, int rstdOff, int N, int C) {
    for (int n = 0; n < N; n++) {
      int x = inpOff + n * C;
      int d = doutOff + n * C;
      int di = dinpOff + n * C;
      float s = rstd[rstdOff + n];
      // d rstd / d x_i = -rstd³·x_i / C, so dx_i = rstd·w_i·g_i - x_i·rstd³/C · sum_j g_j·w_j·x_j
      float dot = 0.0f;
      for (int i = 0; i < C; i++) {
        dot += dout[d + i] * weight[weightOff + i] * inp[x + i];
      }
      float k = dot * s * s * s / C;
      for (int i = 0; i < C; i++) {
        float g = dout[d + i];
        dweight[dweightOff + i] += g * (s * inp[x + i]);
        dinp[di + i] += s * weight[weightOff + i] * g - k * inp[x + i];
      }
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // matmul

  @Override
  public void matmulForward(float[] out, int outOff, float[] inp, int inpOff, float[] weight, int weightOff,
      float[] bias, int biasOff, int N, int C, int OC) {
    for (int n = 0; n < N; n++) {
      int x = inpOff + n * C;
      int y = outOff + n * OC;
      for (int o = 0; o < OC; o++) {
        int w = weightOff + o * C;
        float val = bias == null ? 0.0f : bias[biasOff + o];
        for (int i = 0; i < C; i++) {
          val += inp[x + i] * weight[w + i];
        }
        out[y + o] = val;
      }
    }
  }

  @Override
  public void matmulBackward(float[] dinp, int dinpOff, float[] dweight, int dweightOff, float[] dbias,
      int dbiasOff, float[] dout, int doutOff, float[] inp, int inpOff, float[] weight, int weightOff, int N, int C,
      int OC) {
    // dinp, row by row
    for (int n = 0; n < N; n++) {
      int di = dinpOff + n * C;
      int d = doutOff + n * OC;
      for (int o = 0; o < OC; o++) {
        int w = weightOff + o * C;
        float g = dout[d + o];
        for (int i = 0; i < C; i++) {
          dinp[di + i] += weight[w + i] * g;
        }
      }
    }
    // dweight and dbias, output channel by output channel
    for (int o = 0; o < OC; o++) {
      int dw = dweightOff + o * C;
      for (int n = 0; n < N; n++) {
        int x = inpOff + n * C;
        float g = dout[doutOff + n * OC + o];
        if (dbias != null) {
          dbias[dbiasOff + o] += g;
        }
        for (int i = 0; i < C; i++) {
          dweight[dw + i] += inp[x + i] * g;
        }
      }
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // attention: one set of loops for GPT-2's heads and grouped queries; decoding runs them for one row

  /** The KVH = NH case of {@link #attentionForwardGqa}: q, k, v each C = NH·hs wide, row stride 3C. */
  @Override
  public void attentionForward(float[] out, int outOff, float[] preatt, int preattOff, float[] att, int attOff,
      float[] qkv, int qkvOff, int B, int T, int C, int NH) {
    attentionForwardGqa(out, outOff, preatt, preattOff, att, attOff, qkv, qkvOff, B, T, NH, NH, C / NH);
  }

  /** The KVH = NH case of {@link #attentionBackwardGqa}. */
  @Override
  public void attentionBackward(float[] dqkv, int dqkvOff, float[] dpreatt, int dpreattOff, float[] datt,
      int dattOff, float[] dout, int doutOff, float[] qkv, int qkvOff, float[] att, int attOff, int B, int T, int C,
      int NH) {
    attentionBackwardGqa(dqkv, dqkvOff, dpreatt, dpreattOff, datt, dattOff, dout, doutOff, qkv, qkvOff, att, attOff,
        B, T, NH, NH, C / NH);
  }

  @Override
  public void attentionForwardGqa(float[] out, int outOff, float[] preatt, int preattOff, float[] att, int attOff,
      float[] qkv, int qkvOff, int B, int T, int NH, int KVH, int hs) {
    int R = (NH + 2 * KVH) * hs;
    int C = NH * hs;
    int group = NH / KVH;
    float scale = attentionScale(hs);
    for (int b = 0; b < B; b++) {
      int base = qkvOff + b * T * R;
      for (int t = 0; t < T; t++) {
        for (int h = 0; h < NH; h++) {
          int kvh = (h / group) * hs;
          int row = ((b * NH + h) * T + t) * T;
          int pre = preattOff + row;
          int a = attOff + row;
          scoresSoftmax(preatt, pre, att, a, qkv, base + t * R + h * hs, qkv, base + C + kvh, R, t + 1, hs, scale);
          weightedSum(out, outOff + (b * T + t) * C + h * hs, att, a, qkv, base + C + KVH * hs + kvh, R, t + 1, hs);
          Arrays.fill(preatt, pre + t + 1, pre + T, 0.0f);
          Arrays.fill(att, a + t + 1, a + T, 0.0f);
        }
      }
    }
  }

  @Override
  public void attentionBackwardGqa(float[] dqkv, int dqkvOff, float[] dpreatt, int dpreattOff, float[] datt,
      int dattOff, float[] dout, int doutOff, float[] qkv, int qkvOff, float[] att, int attOff, int B, int T, int NH,
      int KVH, int hs) {
    for (int b = 0; b < B; b++) {
      for (int t = 0; t < T; t++) {
        for (int h = 0; h < NH; h++) {
          backwardRow(dqkv, dqkvOff, dpreatt, dpreattOff, datt, dattOff, dout, doutOff, qkv, qkvOff, att, attOff, T,
              NH, KVH, hs, b, t, h, t + 1);
        }
      }
    }
  }

  @Override
  public void attentionForwardBidirectional(float[] out, int outOff, float[] preatt, int preattOff, float[] att,
      int attOff, float[] qkv, int qkvOff, int[] lengths, int B, int T, int C, int NH) {
    int hs = C / NH;
    int R = 3 * C;
    float scale = attentionScale(hs);
    for (int b = 0; b < B; b++) {
      int base = qkvOff + b * T * R;
      int len = lengths[b];
      for (int t = 0; t < T; t++) {
        for (int h = 0; h < NH; h++) {
          int row = ((b * NH + h) * T + t) * T;
          int pre = preattOff + row;
          int a = attOff + row;
          int y = outOff + (b * T + t) * C + h * hs;
          if (t < len) {
            scoresSoftmax(preatt, pre, att, a, qkv, base + t * R + h * hs, qkv, base + C + h * hs, R, len, hs, scale);
            weightedSum(out, y, att, a, qkv, base + 2 * C + h * hs, R, len, hs);
            Arrays.fill(preatt, pre + len, pre + T, 0.0f);
            Arrays.fill(att, a + len, a + T, 0.0f);
          } else {
            Arrays.fill(out, y, y + hs, 0.0f);
            Arrays.fill(preatt, pre, pre + T, 0.0f);
            Arrays.fill(att, a, a + T, 0.0f);
          }
        }
      }
    }
  }

  @Override
  public void attentionBackwardBidirectional(float[] dqkv, int dqkvOff, float[] dpreatt, int dpreattOff,
      float[] datt, int dattOff, float[] dout, int doutOff, float[] qkv, int qkvOff, float[] att, int attOff,
      int[] lengths, int B, int T, int C, int NH) {
    for (int b = 0; b < B; b++) {
      // the padded query rows' outputs are constant zeros: nothing flows back from them
      for (int t = 0; t < lengths[b]; t++) {
        for (int h = 0; h < NH; h++) {
          backwardRow(dqkv, dqkvOff, dpreatt, dpreattOff, datt, dattOff, dout, doutOff, qkv, qkvOff, att, attOff, T,
              NH, NH, C / NH, b, t, h, lengths[b]);
        }
      }
    }
  }

  /**
   * The backward of one query row (b, t, h) of attention whose softmax ran over the keys t2 &lt; count (t + 1 when
   * causal, the row's length when bidirectional), qkv rows of q (NH·hs), k and v (KVH·hs each).
   */
  private static void backwardRow(float[] dqkv, int dqkvOff, float[] dpreatt, int dpreattOff, float[] datt,
      int dattOff, float[] dout, int doutOff, float[] qkv, int qkvOff, float[] att, int attOff, int T, int NH,
      int KVH, int hs, int b, int t, int h, int count) {
    int R = (NH + 2 * KVH) * hs;
    int C = NH * hs;
    float scale = attentionScale(hs);
    int kvh = (h / (NH / KVH)) * hs;
    int row = ((b * NH + h) * T + t) * T;
    int a = attOff + row;
    int da = dattOff + row;
    int dpre = dpreattOff + row;
    int q = qkvOff + (b * T + t) * R + h * hs;
    int dq = dqkvOff + (b * T + t) * R + h * hs;
    int dy = doutOff + (b * T + t) * C + h * hs;
    // through the weighted sum of the values
    for (int t2 = 0; t2 < count; t2++) {
      int v = qkvOff + (b * T + t2) * R + C + KVH * hs + kvh;
      int dv = dqkvOff + (b * T + t2) * R + C + KVH * hs + kvh;
      for (int i = 0; i < hs; i++) {
        datt[da + t2] += qkv[v + i] * dout[dy + i];
        dqkv[dv + i] += att[a + t2] * dout[dy + i];
      }
    }
    // through the softmax
    for (int t2 = 0; t2 < count; t2++) {
      for (int t3 = 0; t3 < count; t3++) {
        float indicator = t2 == t3 ? 1.0f : 0.0f;
        float local = att[a + t2] * (indicator - att[a + t3]);
        dpreatt[dpre + t3] += local * datt[da + t2];
      }
    }
    // through the scaled scores q·k
    for (int t2 = 0; t2 < count; t2++) {
      int k = qkvOff + (b * T + t2) * R + C + kvh;
      int dk = dqkvOff + (b * T + t2) * R + C + kvh;
      for (int i = 0; i < hs; i++) {
        dqkv[dq + i] += qkv[k + i] * dpreatt[dpre + t2] * scale;
        dqkv[dk + i] += qkv[q + i] * dpreatt[dpre + t2] * scale;
      }
    }
  }

  @Override
  public void attentionDecode(float[] out, int outOff, float[] att, int attOff, float[] q, int qOff,
      float[] kcache, int kOff, float[] vcache, int vOff, int pos, int T, int NH, int KVH, int hs) {
    int kvDim = KVH * hs;
    int group = NH / KVH;
    float scale = attentionScale(hs);
    for (int h = 0; h < NH; h++) {
      int kvh = (h / group) * hs;
      int a = attOff + h * T;
      scoresSoftmax(att, a, att, a, q, qOff + h * hs, kcache, kOff + kvh, kvDim, pos + 1, hs, scale);
      weightedSum(out, outOff + h * hs, att, a, vcache, vOff + kvh, kvDim, pos + 1, hs);
    }
  }

  /** 1/sqrt(hs) as llm.c computes it: a float root, the quotient in double, rounded to float. */
  private static float attentionScale(int hs) {
    return (float) (1.0 / (float) Math.sqrt(hs));
  }

  /**
   * Scores and softmax of one query row of attention: pre[p + t2] = scale·(q · k_t2) and att[a + t2] their
   * softmax, for t2 &lt; count, key t2 starting at k + t2·stride. {@code pre} may be {@code att} itself (decoding
   * keeps no scores). Training and decoding both run this and {@link #weightedSum}, so decoding a position gives
   * the bits training gives at it.
   */
  private static void scoresSoftmax(float[] pre, int p, float[] att, int a, float[] qArr, int q, float[] kArr, int k,
      int stride, int count, int hs, float scale) {
    float maxval = MAX_START;
    for (int t2 = 0; t2 < count; t2++) {
      int kt = k + t2 * stride;
      float val = 0.0f;
      for (int i = 0; i < hs; i++) {
        val += qArr[q + i] * kArr[kt + i];
      }
      val *= scale;
      if (val > maxval) {
        maxval = val;
      }
      pre[p + t2] = val;
    }
    float expsum = 0.0f;
    for (int t2 = 0; t2 < count; t2++) {
      float expv = (float) Math.exp(pre[p + t2] - maxval);
      expsum += expv;
      att[a + t2] = expv;
    }
    float expsumInv = expsum == 0.0f ? 0.0f : 1.0f / expsum;
    for (int t2 = 0; t2 < count; t2++) {
      att[a + t2] *= expsumInv;
    }
  }

  /** out[y..y+hs) = sum over t2 &lt; count of att[a + t2]·v_t2, value t2 starting at v + t2·stride. */
  private static void weightedSum(float[] out, int y, float[] att, int a, float[] vArr, int v, int stride, int count,
      int hs) {
    for (int i = 0; i < hs; i++) {
      out[y + i] = 0.0f;
    }
    for (int t2 = 0; t2 < count; t2++) {
      int vt = v + t2 * stride;
      float w = att[a + t2];
      for (int i = 0; i < hs; i++) {
        out[y + i] += w * vArr[vt + i];
      }
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // pointwise

  @Override
  public void geluForward(float[] out, int outOff, float[] inp, int inpOff, int N) {
    for (int i = 0; i < N; i++) {
      float x = inp[inpOff + i];
      float cube = GELU_CUBE * x * x * x;
      out[outOff + i] = 0.5f * x * (1.0f + (float) Math.tanh(GELU_SCALING_FACTOR * (x + cube)));
    }
  }

  @Override
  public void geluBackward(float[] dinp, int dinpOff, float[] inp, int inpOff, float[] dout, int doutOff, int N) {
    for (int i = 0; i < N; i++) {
      float x = inp[inpOff + i];
      float cube = GELU_CUBE * x * x * x;
      float tanhArg = GELU_SCALING_FACTOR * (x + cube);
      float tanhOut = (float) Math.tanh(tanhArg);
      float coshOut = (float) Math.cosh(tanhArg);
      float sechOut = 1.0f / (coshOut * coshOut);
      float localGrad = 0.5f * (1.0f + tanhOut)
          + x * 0.5f * sechOut * GELU_SCALING_FACTOR * (1.0f + 3.0f * GELU_CUBE * x * x);
      dinp[dinpOff + i] += localGrad * dout[doutOff + i];
    }
  }

  @Override
  public void geluErfForward(float[] out, int outOff, float[] inp, int inpOff, int N) {
    for (int i = 0; i < N; i++) {
      double x = inp[inpOff + i];
      out[outOff + i] = (float) (x * Erf.normalCdf(x));
    }
  }

  @Override
  public void geluErfBackward(float[] dinp, int dinpOff, float[] inp, int inpOff, float[] dout, int doutOff,
      int N) {
    for (int i = 0; i < N; i++) {
      double x = inp[inpOff + i];
      float localGrad = (float) (Erf.normalCdf(x) + x * Erf.normalDensity(x));
      dinp[dinpOff + i] += localGrad * dout[doutOff + i];
    }
  }

  @Override
  public void tanhForward(float[] out, int outOff, float[] inp, int inpOff, int N) {
    for (int i = 0; i < N; i++) {
      out[outOff + i] = (float) Math.tanh(inp[inpOff + i]);
    }
  }

  @Override
  public void tanhBackward(float[] dinp, int dinpOff, float[] out, int outOff, float[] dout, int doutOff, int N) {
    for (int i = 0; i < N; i++) {
      float y = out[outOff + i];
      dinp[dinpOff + i] += dout[doutOff + i] * (1.0f - y * y);
    }
  }

  @Override
  public void swigluForward(float[] out, int outOff, float[] gate, int gateOff, float[] up, int upOff, int N) {
    for (int i = 0; i < N; i++) {
      float g = gate[gateOff + i];
      float val = g * (1.0f / (1.0f + (float) Math.exp(-g)));
      out[outOff + i] = val * up[upOff + i];
    }
  }

  @Override
  public void swigluBackward(float[] dgate, int dgateOff, float[] dup, int dupOff, float[] dout, int doutOff,
      float[] gate, int gateOff, float[] up, int upOff, int N) {
    for (int i = 0; i < N; i++) {
      float g = gate[gateOff + i];
      float sig = 1.0f / (1.0f + (float) Math.exp(-g));
      float silu = g * sig;
      float d = dout[doutOff + i];
      // silu'(g) = sig·(1 + g·(1 - sig))
      dgate[dgateOff + i] += d * up[upOff + i] * (sig * (1.0f + g * (1.0f - sig)));
      dup[dupOff + i] += d * silu;
    }
  }

  @Override
  public void residualForward(float[] out, int outOff, float[] inp1, int inp1Off, float[] inp2, int inp2Off,
      int N) {
    for (int i = 0; i < N; i++) {
      out[outOff + i] = inp1[inp1Off + i] + inp2[inp2Off + i];
    }
  }

  @Override
  public void residualBackward(float[] dinp1, int dinp1Off, float[] dinp2, int dinp2Off, float[] dout, int doutOff,
      int N) {
    for (int i = 0; i < N; i++) {
      dinp1[dinp1Off + i] += dout[doutOff + i];
      dinp2[dinp2Off + i] += dout[doutOff + i];
    }
  }

  @Override
  public void rope(float[] x, int off, int rows, int stride, int width, int hs, int T, int pos0, int sign) {
    for (int r = 0; r < rows; r++) {
      int row = off + r * stride;
      int pos = pos0 + r % T;
      // the angle depends on the position within the head only: one cos and sin per pair, for every head
      for (int headDim = 0; headDim < hs; headDim += 2) {
        float freq = 1.0f / (float) Math.pow(10000.0f, headDim / (float) hs);
        float val = pos * freq;
        float fcr = (float) Math.cos(val);
        float fci = sign * (float) Math.sin(val);
        for (int i = headDim; i < width; i += hs) {
          float v0 = x[row + i];
          float v1 = x[row + i + 1];
          x[row + i] = v0 * fcr - v1 * fci;
          x[row + i + 1] = v0 * fci + v1 * fcr;
        }
      }
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // softmax and loss

  @Override
  public void softmaxForward(float[] probs, int probsOff, float[] logits, int logitsOff, int N, int V, int Vp) {
    for (int n = 0; n < N; n++) {
      int x = logitsOff + n * Vp;
      int p = probsOff + n * Vp;
      float maxval = MAX_START;
      for (int i = 0; i < V; i++) {
        if (logits[x + i] > maxval) {
          maxval = logits[x + i];
        }
      }
      float sum = 0.0f;
      for (int i = 0; i < V; i++) {
        probs[p + i] = (float) Math.exp(logits[x + i] - maxval);
        sum += probs[p + i];
      }
      for (int i = 0; i < V; i++) {
        probs[p + i] /= sum;
      }
      for (int i = V; i < Vp; i++) {
        probs[p + i] = 0.0f;
      }
    }
  }

  @Override
  public float crossEntropyForward(float[] losses, int lossesOff, float[] probs, int probsOff, int[] targets, int N,
      int Vp) {
    float meanLoss = 0.0f;
    for (int n = 0; n < N; n++) {
      float loss = -(float) Math.log(probs[probsOff + n * Vp + targets[n]]);
      losses[lossesOff + n] = loss;
      meanLoss += loss;
    }
    return meanLoss / N;
  }

  @Override
  public void crossEntropySoftmaxBackward(float[] dlogits, int dlogitsOff, float[] probs, int probsOff,
      int[] targets, int N, int V, int Vp) {
    float dloss = 1.0f / N;
    for (int n = 0; n < N; n++) {
      int d = dlogitsOff + n * Vp;
      int p = probsOff + n * Vp;
      int ix = targets[n];
      for (int i = 0; i < V; i++) {
        float indicator = i == ix ? 1.0f : 0.0f;
        dlogits[d + i] += (probs[p + i] - indicator) * dloss;
      }
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // memory

  @Override
  public void zero(float[] a, int off, int n) {
    Arrays.fill(a, off, off + n, 0.0f);
  }
}
