package dev.unroll.runtime.gpt2;

import dev.unroll.runtime.Backend;
import dev.unroll.runtime.family.ModelFamily;
import dev.unroll.runtime.family.ReferenceModel;
import dev.unroll.runtime.kernel.Kernels;
import java.io.IOException;
import java.nio.file.Path;

/**
 * GPT-2 over dynamic shapes, written the way llm.c's {@code train_gpt2.c} is: one array per activation tensor,
 * the scalar kernels called in a loop over layers. Slow and obvious on purpose: it is the whole-model reference
 * that generated models are tested against, and it shares nothing with them but the kernels' contract and the
 * parameter layout.
 */
public final class Gpt2Reference extends ReferenceModel {

  /** GPT-2's LayerNorm epsilon. */
  private static final float LAYERNORM_EPS = 1e-5f;

  private final Gpt2Shape s;
  private final Activations a;
  private final Activations d;

  /** A reference model computing with {@code kernels} (the scalar ones, unless a test says otherwise). */
  public Gpt2Reference(Gpt2Shape shape, Kernels kernels) {
    super(shape, kernels, Gpt2Layout.tensors(shape));
    this.s = shape;
    this.a = new Activations(shape);
    this.d = new Activations(shape);
  }

  /** A scalar reference model with GPT-2's initialisation from {@code seed}. */
  public static Gpt2Reference create(Gpt2Shape shape, long seed) {
    Gpt2Reference m = new Gpt2Reference(shape, Backend.SCALAR.kernels());
    Gpt2Init.init(m.parameters, shape, seed);
    return m;
  }

  /** A scalar reference model with the weights of a checkpoint. */
  public static Gpt2Reference load(Gpt2Shape shape, Path path) throws IOException {
    Gpt2Reference m = new Gpt2Reference(shape, Backend.SCALAR.kernels());
    Gpt2Checkpoints.load(m.parameters, shape, path);
    return m;
  }

  /** One array per tensor, as llm.c's ActivationTensors; per-layer tensors indexed by layer. */
  private static final class Activations {
    final float[] encoded;
    final float[][] ln1;
    final float[][] ln1Mean;
    final float[][] ln1Rstd;
    final float[][] qkv;
    final float[][] atty;
    final float[][] preatt;
    final float[][] att;
    final float[][] attproj;
    final float[][] residual2;
    final float[][] ln2;
    final float[][] ln2Mean;
    final float[][] ln2Rstd;
    final float[][] fch;
    final float[][] fchGelu;
    final float[][] fcproj;
    final float[][] residual3;
    final float[] lnf;
    final float[] lnfMean;
    final float[] lnfRstd;
    final float[] logits;
    final float[] probs;
    final float[] losses;

    Activations(Gpt2Shape s) {
      int l = s.layers();
      int bt = s.batch() * s.context();
      int btc = bt * s.dim();
      int bth = bt * s.hidden();
      int scores = s.batch() * s.heads() * s.context() * s.context();
      encoded = new float[btc];
      ln1 = new float[l][btc];
      ln1Mean = new float[l][bt];
      ln1Rstd = new float[l][bt];
      qkv = new float[l][3 * btc];
      atty = new float[l][btc];
      preatt = new float[l][scores];
      att = new float[l][scores];
      attproj = new float[l][btc];
      residual2 = new float[l][btc];
      ln2 = new float[l][btc];
      ln2Mean = new float[l][bt];
      ln2Rstd = new float[l][bt];
      fch = new float[l][bth];
      fchGelu = new float[l][bth];
      fcproj = new float[l][btc];
      residual3 = new float[l][btc];
      lnf = new float[btc];
      lnfMean = new float[bt];
      lnfRstd = new float[bt];
      logits = new float[bt * s.paddedVocab()];
      probs = new float[bt * s.paddedVocab()];
      losses = new float[bt];
    }

    void zero() {
      ReferenceModel.zero(encoded, ln1, ln1Mean, ln1Rstd, qkv, atty, preatt, att, attproj, residual2, ln2, ln2Mean,
          ln2Rstd, fch, fchGelu, fcproj, residual3, lnf, lnfMean, lnfRstd, logits, probs, losses);
    }
  }

  @Override
  protected float[] logitsArena() {
    return a.logits;
  }

  @Override
  public float forward(int[] in, int[] tg) {
    int nh = s.heads();
    boolean training = begin(in, tg);
    float[] p = parameters.values();
    k.encoderForward(a.encoded, 0, inputs, p, off("wte.weight"), p, off("wpe.weight"), b, t, c);
    for (int l = 0; l < s.layers(); l++) {
      String n = "h." + l + ".";
      float[] residual = l == 0 ? a.encoded : a.residual3[l - 1];
      k.layernormForward(a.ln1[l], 0, a.ln1Mean[l], 0, a.ln1Rstd[l], 0, residual, 0, p, off(n + "ln_1.weight"), p,
          off(n + "ln_1.bias"), bt, c, LAYERNORM_EPS);
      k.matmulForward(a.qkv[l], 0, a.ln1[l], 0, p, off(n + "attn.c_attn.weight"), p, off(n + "attn.c_attn.bias"),
          bt, c, 3 * c);
      k.attentionForward(a.atty[l], 0, a.preatt[l], 0, a.att[l], 0, a.qkv[l], 0, b, t, c, nh);
      k.matmulForward(a.attproj[l], 0, a.atty[l], 0, p, off(n + "attn.c_proj.weight"), p,
          off(n + "attn.c_proj.bias"), bt, c, c);
      k.residualForward(a.residual2[l], 0, residual, 0, a.attproj[l], 0, bt * c);
      k.layernormForward(a.ln2[l], 0, a.ln2Mean[l], 0, a.ln2Rstd[l], 0, a.residual2[l], 0, p,
          off(n + "ln_2.weight"), p, off(n + "ln_2.bias"), bt, c, LAYERNORM_EPS);
      k.matmulForward(a.fch[l], 0, a.ln2[l], 0, p, off(n + "mlp.c_fc.weight"), p, off(n + "mlp.c_fc.bias"), bt, c,
          h);
      k.geluForward(a.fchGelu[l], 0, a.fch[l], 0, bt * h);
      k.matmulForward(a.fcproj[l], 0, a.fchGelu[l], 0, p, off(n + "mlp.c_proj.weight"), p,
          off(n + "mlp.c_proj.bias"), bt, h, c);
      k.residualForward(a.residual3[l], 0, a.residual2[l], 0, a.fcproj[l], 0, bt * c);
    }
    float[] last = a.residual3[s.layers() - 1];
    k.layernormForward(a.lnf, 0, a.lnfMean, 0, a.lnfRstd, 0, last, 0, p, off("ln_f.weight"), p, off("ln_f.bias"),
        bt, c, LAYERNORM_EPS);
    k.matmulForward(a.logits, 0, a.lnf, 0, p, off("wte.weight"), null, 0, bt, c, s.paddedVocab());
    k.softmaxForward(a.probs, 0, a.logits, 0, bt, s.vocab(), s.paddedVocab());
    if (!training) {
      return Float.NaN;
    }
    return finish(k.crossEntropyForward(a.losses, 0, a.probs, 0, targets, bt, s.paddedVocab()));
  }

  @Override
  public void backward() {
    requireLoss();
    int nh = s.heads();
    d.zero();
    float[] p = parameters.values();
    float[] g = parameters.grads();
    k.crossEntropySoftmaxBackward(d.logits, 0, a.probs, 0, targets, bt, s.vocab(), s.paddedVocab());
    k.matmulBackward(d.lnf, 0, g, off("wte.weight"), null, 0, d.logits, 0, a.lnf, 0, p, off("wte.weight"), bt, c,
        s.paddedVocab());
    float[] last = a.residual3[s.layers() - 1];
    float[] dlast = d.residual3[s.layers() - 1];
    k.layernormBackward(dlast, 0, g, off("ln_f.weight"), g, off("ln_f.bias"), d.lnf, 0, last, 0, p,
        off("ln_f.weight"), a.lnfMean, 0, a.lnfRstd, 0, bt, c);
    for (int l = s.layers() - 1; l >= 0; l--) {
      String n = "h." + l + ".";
      float[] residual = l == 0 ? a.encoded : a.residual3[l - 1];
      float[] dresidual = l == 0 ? d.encoded : d.residual3[l - 1];
      k.residualBackward(d.residual2[l], 0, d.fcproj[l], 0, d.residual3[l], 0, bt * c);
      k.matmulBackward(d.fchGelu[l], 0, g, off(n + "mlp.c_proj.weight"), g, off(n + "mlp.c_proj.bias"),
          d.fcproj[l], 0, a.fchGelu[l], 0, p, off(n + "mlp.c_proj.weight"), bt, h, c);
      k.geluBackward(d.fch[l], 0, a.fch[l], 0, d.fchGelu[l], 0, bt * h);
      k.matmulBackward(d.ln2[l], 0, g, off(n + "mlp.c_fc.weight"), g, off(n + "mlp.c_fc.bias"), d.fch[l], 0,
          a.ln2[l], 0, p, off(n + "mlp.c_fc.weight"), bt, c, h);
      k.layernormBackward(d.residual2[l], 0, g, off(n + "ln_2.weight"), g, off(n + "ln_2.bias"), d.ln2[l], 0,
          a.residual2[l], 0, p, off(n + "ln_2.weight"), a.ln2Mean[l], 0, a.ln2Rstd[l], 0, bt, c);
      k.residualBackward(dresidual, 0, d.attproj[l], 0, d.residual2[l], 0, bt * c);
      k.matmulBackward(d.atty[l], 0, g, off(n + "attn.c_proj.weight"), g, off(n + "attn.c_proj.bias"),
          d.attproj[l], 0, a.atty[l], 0, p, off(n + "attn.c_proj.weight"), bt, c, c);
      k.attentionBackward(d.qkv[l], 0, d.preatt[l], 0, d.att[l], 0, d.atty[l], 0, a.qkv[l], 0, a.att[l], 0, b, t,
          c, nh);
      k.matmulBackward(d.ln1[l], 0, g, off(n + "attn.c_attn.weight"), g, off(n + "attn.c_attn.bias"), d.qkv[l], 0,
          a.ln1[l], 0, p, off(n + "attn.c_attn.weight"), bt, c, 3 * c);
      k.layernormBackward(dresidual, 0, g, off(n + "ln_1.weight"), g, off(n + "ln_1.bias"), d.ln1[l], 0, residual,
          0, p, off(n + "ln_1.weight"), a.ln1Mean[l], 0, a.ln1Rstd[l], 0, bt, c);
    }
    k.encoderBackward(g, off("wte.weight"), g, off("wpe.weight"), d.encoded, 0, inputs, b, t, c);
  }

  @Override
  protected ModelFamily.Checkpoints checkpoints() {
    return Gpt2Family.FAMILY.checkpoints(s);
  }
}
