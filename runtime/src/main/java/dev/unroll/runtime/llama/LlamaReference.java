package dev.unroll.runtime.llama;

import dev.unroll.runtime.Backend;
import dev.unroll.runtime.family.ModelFamily;
import dev.unroll.runtime.family.ReferenceModel;
import dev.unroll.runtime.kernel.Kernels;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Llama over dynamic shapes: one array per activation tensor, the scalar kernels called in a loop over layers, in
 * the order llama2.c's run.c computes a position (extended to a batch and to backward). The whole-model reference
 * generated Llama models are tested against.
 */
public final class LlamaReference extends ReferenceModel {
  private final LlamaShape s;
  private final Acts a;
  private final Acts d;

  public LlamaReference(LlamaShape shape, Kernels kernels) {
    super(shape, kernels, LlamaLayout.tensors(shape));
    this.s = shape;
    this.a = new Acts(shape);
    this.d = new Acts(shape);
  }

  /** A scalar reference model initialised from {@code seed}. */
  public static LlamaReference create(LlamaShape shape, long seed) {
    LlamaReference m = new LlamaReference(shape, Backend.SCALAR.kernels());
    LlamaInit.init(m.parameters, shape, seed);
    return m;
  }

  /** A scalar reference model with the weights of a checkpoint. */
  public static LlamaReference load(LlamaShape shape, Path path) throws IOException {
    LlamaReference m = new LlamaReference(shape, Backend.SCALAR.kernels());
    LlamaCheckpoints.load(m.parameters, shape, path);
    return m;
  }

  private static final class Acts {
    final float[] encoded;
    final float[][] ln1;
    final float[][] ln1Rstd;
    final float[][] q;
    final float[][] k;
    final float[][] v;
    final float[][] qkv;
    final float[][] atty;
    final float[][] preatt;
    final float[][] att;
    final float[][] attproj;
    final float[][] residual2;
    final float[][] ln2;
    final float[][] ln2Rstd;
    final float[][] fc1;
    final float[][] fc3;
    final float[][] swiglu;
    final float[][] fcproj;
    final float[][] residual3;
    final float[] lnf;
    final float[] lnfRstd;
    final float[] logits;
    final float[] probs;
    final float[] losses;

    Acts(LlamaShape s) {
      int l = s.layers();
      int bt = s.batch() * s.context();
      int btc = bt * s.dim();
      int btkv = bt * s.kvDim();
      int bth = bt * s.hidden();
      int scores = s.batch() * s.heads() * s.context() * s.context();
      encoded = new float[btc];
      ln1 = new float[l][btc];
      ln1Rstd = new float[l][bt];
      q = new float[l][btc];
      k = new float[l][btkv];
      v = new float[l][btkv];
      qkv = new float[l][btc + 2 * btkv];
      atty = new float[l][btc];
      preatt = new float[l][scores];
      att = new float[l][scores];
      attproj = new float[l][btc];
      residual2 = new float[l][btc];
      ln2 = new float[l][btc];
      ln2Rstd = new float[l][bt];
      fc1 = new float[l][bth];
      fc3 = new float[l][bth];
      swiglu = new float[l][bth];
      fcproj = new float[l][btc];
      residual3 = new float[l][btc];
      lnf = new float[btc];
      lnfRstd = new float[bt];
      logits = new float[bt * s.paddedVocab()];
      probs = new float[bt * s.paddedVocab()];
      losses = new float[bt];
    }

    void zero() {
      ReferenceModel.zero(encoded, ln1, ln1Rstd, q, k, v, qkv, atty, preatt, att, attproj, residual2, ln2, ln2Rstd,
          fc1, fc3, swiglu, fcproj, residual3, lnf, lnfRstd, logits, probs, losses);
    }
  }

  private String classifier() {
    return s.tiedClassifier() ? "model.embed_tokens.weight" : "lm_head.weight";
  }

  @Override
  protected float[] logitsArena() {
    return a.logits;
  }

  @Override
  public float forward(int[] in, int[] tg) {
    int kv = s.kvDim();
    int hs = s.headSize();
    int w = c + 2 * kv;
    boolean training = begin(in, tg);
    float[] p = parameters.values();
    k.embeddingForward(a.encoded, 0, inputs, p, off("model.embed_tokens.weight"), bt, c);
    for (int l = 0; l < s.layers(); l++) {
      String n = "model.layers." + l + ".";
      float[] residual = l == 0 ? a.encoded : a.residual3[l - 1];
      k.rmsnormForward(a.ln1[l], 0, a.ln1Rstd[l], 0, residual, 0, p, off(n + "input_layernorm.weight"), bt, c);
      k.matmulForward(a.q[l], 0, a.ln1[l], 0, p, off(n + "self_attn.q_proj.weight"), null, 0, bt, c, c);
      k.matmulForward(a.k[l], 0, a.ln1[l], 0, p, off(n + "self_attn.k_proj.weight"), null, 0, bt, c, kv);
      k.matmulForward(a.v[l], 0, a.ln1[l], 0, p, off(n + "self_attn.v_proj.weight"), null, 0, bt, c, kv);
      k.copyRows(a.qkv[l], 0, w, a.q[l], 0, c, bt, c);
      k.copyRows(a.qkv[l], c, w, a.k[l], 0, kv, bt, kv);
      k.copyRows(a.qkv[l], c + kv, w, a.v[l], 0, kv, bt, kv);
      k.rope(a.qkv[l], 0, bt, w, c, hs, t, 0, 1);
      k.rope(a.qkv[l], c, bt, w, kv, hs, t, 0, 1);
      k.attentionForwardGqa(a.atty[l], 0, a.preatt[l], 0, a.att[l], 0, a.qkv[l], 0, b, t, s.heads(), s.kvHeads(),
          hs);
      k.matmulForward(a.attproj[l], 0, a.atty[l], 0, p, off(n + "self_attn.o_proj.weight"), null, 0, bt, c, c);
      k.residualForward(a.residual2[l], 0, residual, 0, a.attproj[l], 0, bt * c);
      k.rmsnormForward(a.ln2[l], 0, a.ln2Rstd[l], 0, a.residual2[l], 0, p,
          off(n + "post_attention_layernorm.weight"), bt, c);
      k.matmulForward(a.fc1[l], 0, a.ln2[l], 0, p, off(n + "mlp.gate_proj.weight"), null, 0, bt, c, h);
      k.matmulForward(a.fc3[l], 0, a.ln2[l], 0, p, off(n + "mlp.up_proj.weight"), null, 0, bt, c, h);
      k.swigluForward(a.swiglu[l], 0, a.fc1[l], 0, a.fc3[l], 0, bt * h);
      k.matmulForward(a.fcproj[l], 0, a.swiglu[l], 0, p, off(n + "mlp.down_proj.weight"), null, 0, bt, h, c);
      k.residualForward(a.residual3[l], 0, a.residual2[l], 0, a.fcproj[l], 0, bt * c);
    }
    float[] last = a.residual3[s.layers() - 1];
    k.rmsnormForward(a.lnf, 0, a.lnfRstd, 0, last, 0, p, off("model.norm.weight"), bt, c);
    k.matmulForward(a.logits, 0, a.lnf, 0, p, off(classifier()), null, 0, bt, c, s.paddedVocab());
    k.softmaxForward(a.probs, 0, a.logits, 0, bt, s.vocab(), s.paddedVocab());
    if (!training) {
      return Float.NaN;
    }
    return finish(k.crossEntropyForward(a.losses, 0, a.probs, 0, targets, bt, s.paddedVocab()));
  }

  @Override
  public void backward() {
    requireLoss();
    int kv = s.kvDim();
    int hs = s.headSize();
    int w = c + 2 * kv;
    d.zero();
    float[] p = parameters.values();
    float[] g = parameters.grads();
    k.crossEntropySoftmaxBackward(d.logits, 0, a.probs, 0, targets, bt, s.vocab(), s.paddedVocab());
    k.matmulBackward(d.lnf, 0, g, off(classifier()), null, 0, d.logits, 0, a.lnf, 0, p, off(classifier()), bt, c,
        s.paddedVocab());
    float[] last = a.residual3[s.layers() - 1];
    float[] dlast = d.residual3[s.layers() - 1];
    k.rmsnormBackward(dlast, 0, g, off("model.norm.weight"), d.lnf, 0, last, 0, p, off("model.norm.weight"),
        a.lnfRstd, 0, bt, c);
    for (int l = s.layers() - 1; l >= 0; l--) {
      String n = "model.layers." + l + ".";
      float[] residual = l == 0 ? a.encoded : a.residual3[l - 1];
      float[] dresidual = l == 0 ? d.encoded : d.residual3[l - 1];
      k.residualBackward(d.residual2[l], 0, d.fcproj[l], 0, d.residual3[l], 0, bt * c);
      k.matmulBackward(d.swiglu[l], 0, g, off(n + "mlp.down_proj.weight"), null, 0, d.fcproj[l], 0, a.swiglu[l],
          0, p, off(n + "mlp.down_proj.weight"), bt, h, c);
      k.swigluBackward(d.fc1[l], 0, d.fc3[l], 0, d.swiglu[l], 0, a.fc1[l], 0, a.fc3[l], 0, bt * h);
      k.matmulBackward(d.ln2[l], 0, g, off(n + "mlp.gate_proj.weight"), null, 0, d.fc1[l], 0, a.ln2[l], 0, p,
          off(n + "mlp.gate_proj.weight"), bt, c, h);
      k.matmulBackward(d.ln2[l], 0, g, off(n + "mlp.up_proj.weight"), null, 0, d.fc3[l], 0, a.ln2[l], 0, p,
          off(n + "mlp.up_proj.weight"), bt, c, h);
      k.rmsnormBackward(d.residual2[l], 0, g, off(n + "post_attention_layernorm.weight"), d.ln2[l], 0,
          a.residual2[l], 0, p, off(n + "post_attention_layernorm.weight"), a.ln2Rstd[l], 0, bt, c);
      k.residualBackward(dresidual, 0, d.attproj[l], 0, d.residual2[l], 0, bt * c);
      k.matmulBackward(d.atty[l], 0, g, off(n + "self_attn.o_proj.weight"), null, 0, d.attproj[l], 0, a.atty[l],
          0, p, off(n + "self_attn.o_proj.weight"), bt, c, c);
      k.attentionBackwardGqa(d.qkv[l], 0, d.preatt[l], 0, d.att[l], 0, d.atty[l], 0, a.qkv[l], 0, a.att[l], 0, b,
          t, s.heads(), s.kvHeads(), hs);
      k.rope(d.qkv[l], 0, bt, w, c, hs, t, 0, -1);
      k.rope(d.qkv[l], c, bt, w, kv, hs, t, 0, -1);
      k.copyRows(d.q[l], 0, c, d.qkv[l], 0, w, bt, c);
      k.copyRows(d.k[l], 0, kv, d.qkv[l], c, w, bt, kv);
      k.copyRows(d.v[l], 0, kv, d.qkv[l], c + kv, w, bt, kv);
      k.matmulBackward(d.ln1[l], 0, g, off(n + "self_attn.q_proj.weight"), null, 0, d.q[l], 0, a.ln1[l], 0, p,
          off(n + "self_attn.q_proj.weight"), bt, c, c);
      k.matmulBackward(d.ln1[l], 0, g, off(n + "self_attn.k_proj.weight"), null, 0, d.k[l], 0, a.ln1[l], 0, p,
          off(n + "self_attn.k_proj.weight"), bt, c, kv);
      k.matmulBackward(d.ln1[l], 0, g, off(n + "self_attn.v_proj.weight"), null, 0, d.v[l], 0, a.ln1[l], 0, p,
          off(n + "self_attn.v_proj.weight"), bt, c, kv);
      k.rmsnormBackward(dresidual, 0, g, off(n + "input_layernorm.weight"), d.ln1[l], 0, residual, 0, p,
          off(n + "input_layernorm.weight"), a.ln1Rstd[l], 0, bt, c);
    }
    k.embeddingBackward(g, off("model.embed_tokens.weight"), d.encoded, 0, inputs, bt, c);
  }

  @Override
  protected ModelFamily.Checkpoints checkpoints() {
    return LlamaFamily.FAMILY.checkpoints(s);
  }
}
