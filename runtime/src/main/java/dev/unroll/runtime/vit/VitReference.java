package dev.unroll.runtime.vit;

import dev.unroll.runtime.Backend;
import dev.unroll.runtime.ImageEncoder;
import dev.unroll.runtime.check.Checks;
import dev.unroll.runtime.family.ModelFamily;
import dev.unroll.runtime.family.EncoderReference;
import dev.unroll.runtime.kernel.Kernels;
import java.io.IOException;
import java.nio.file.Path;

/**
 * ViT over dynamic shapes, as Hugging Face's {@code ViTForImageClassification} computes it with dropout off: one
 * array per activation tensor, the kernels called in a loop over layers, in the order the encoder contract writes
 * down. Slow and obvious on purpose: it is the whole-model reference that generated ViT models are tested against,
 * and it shares nothing with them but the kernels' contract and the parameter layout.
 */
public final class VitReference extends EncoderReference implements ImageEncoder {
  /** LayerNorm's epsilon: Hugging Face's ViT default. */
  private static final float EPS = 1e-12f;

  private final VitShape s;
  private final int np;
  private final int kp;
  private final Activations a;
  private final Activations d;
  /** The gradient of the loss at the logits (the logits themselves are the base's). */
  private final float[] dlogits;

  /** A reference model computing with {@code kernels} (the scalar ones, unless a test says otherwise). */
  public VitReference(VitShape shape, Kernels kernels) {
    super(shape, kernels, VitLayout.tensors(shape));
    this.s = shape;
    this.np = shape.patches();
    this.kp = shape.patchSize();
    this.a = new Activations(shape);
    this.d = new Activations(shape);
    this.dlogits = new float[b * classes];
  }

  /** A scalar reference model with ViT's initialisation from {@code seed}. */
  public static VitReference create(VitShape shape, long seed) {
    VitReference m = new VitReference(shape, Backend.SCALAR.kernels());
    VitInit.init(m.parameters, shape, seed);
    return m;
  }

  /** A scalar reference model with the weights of a checkpoint. */
  public static VitReference load(VitShape shape, Path path) throws IOException {
    VitReference m = new VitReference(shape, Backend.SCALAR.kernels());
    VitCheckpoints.load(m.parameters, shape, path);
    return m;
  }

  /** One array per tensor; {@code x[0]} is the embedded grid, {@code x[i + 1]} what layer i leaves. */
  private static final class Activations {
    final float[] patches;
    final float[] proj;
    final float[][] x;
    final float[][] ln1;
    final float[][] ln1Mean;
    final float[][] ln1Rstd;
    final float[][] qkv;
    final float[][] atty;
    final float[][] preatt;
    final float[][] att;
    final float[][] attproj;
    final float[][] res1;
    final float[][] ln2;
    final float[][] ln2Mean;
    final float[][] ln2Rstd;
    final float[][] fch;
    final float[][] fchGelu;
    final float[][] fcproj;
    final float[] lnf;
    final float[] lnfMean;
    final float[] lnfRstd;
    final float[] first;

    Activations(VitShape s) {
      int l = s.layers();
      int bt = s.batch() * s.context();
      int btc = bt * s.dim();
      int bth = bt * s.hidden();
      int scores = s.batch() * s.heads() * s.context() * s.context();
      patches = new float[s.batch() * s.patches() * s.patchSize()];
      proj = new float[s.batch() * s.patches() * s.dim()];
      x = new float[l + 1][btc];
      ln1 = new float[l][btc];
      ln1Mean = new float[l][bt];
      ln1Rstd = new float[l][bt];
      qkv = new float[l][3 * btc];
      atty = new float[l][btc];
      preatt = new float[l][scores];
      att = new float[l][scores];
      attproj = new float[l][btc];
      res1 = new float[l][btc];
      ln2 = new float[l][btc];
      ln2Mean = new float[l][bt];
      ln2Rstd = new float[l][bt];
      fch = new float[l][bth];
      fchGelu = new float[l][bth];
      fcproj = new float[l][btc];
      lnf = new float[btc];
      lnfMean = new float[bt];
      lnfRstd = new float[bt];
      first = new float[s.batch() * s.dim()];
    }

    void zero() {
      EncoderReference.zero(patches, proj, lnf, lnfMean, lnfRstd, first);
      for (float[][] perLayer : new float[][][] {x, ln1, ln1Mean, ln1Rstd, qkv, atty, preatt, att, attproj, res1,
          ln2, ln2Mean, ln2Rstd, fch, fchGelu, fcproj}) {
        EncoderReference.zero(perLayer);
      }
    }
  }

  @Override
  protected float[] hidden() {
    return a.lnf;
  }

  /** The patch projections of the last forward, (B, NP, C): what a test compares with a convolution. */
  float[] projections() {
    return a.proj;
  }

  @Override
  public float forward(float[] pixels, int[] labels) {
    Checks.pixels(pixels, b * s.pixels(), "batch * channels * height * width (" + b + " * " + s.channels() + " * "
        + s.height() + " * " + s.width() + ")");
    boolean training = begin(labels);
    int nh = s.heads();
    float[] p = parameters.values();
    k.patches(a.patches, 0, pixels, 0, b, s.channels(), s.height(), s.width(), s.patchHeight(), s.patchWidth());
    k.matmulForward(a.proj, 0, a.patches, 0, p, off(VitLayout.PATCH_WEIGHT), p, off(VitLayout.PATCH_BIAS), b * np,
        kp, c);
    k.classTokenForward(a.x[0], 0, a.proj, 0, p, off(VitLayout.CLS_TOKEN), p, off(VitLayout.POSITIONS), b, np, c);
    for (int l = 0; l < s.layers(); l++) {
      String n = VitLayout.layerName(l, "");
      k.layernormForward(a.ln1[l], 0, a.ln1Mean[l], 0, a.ln1Rstd[l], 0, a.x[l], 0, p,
          off(n + "layernorm_before.weight"), p, off(n + "layernorm_before.bias"), bt, c, EPS);
      k.matmulForward(a.qkv[l], 0, a.ln1[l], 0, p, off(n + "attention.attention.query.weight"), p,
          off(n + "attention.attention.query.bias"), bt, c, 3 * c); // query, key, value: one (3C, C) matrix
      k.attentionForwardBidirectional(a.atty[l], 0, a.preatt[l], 0, a.att[l], 0, a.qkv[l], 0, lengths, b, t, c, nh);
      k.matmulForward(a.attproj[l], 0, a.atty[l], 0, p, off(n + "attention.output.dense.weight"), p,
          off(n + "attention.output.dense.bias"), bt, c, c);
      k.residualForward(a.res1[l], 0, a.x[l], 0, a.attproj[l], 0, bt * c);
      k.layernormForward(a.ln2[l], 0, a.ln2Mean[l], 0, a.ln2Rstd[l], 0, a.res1[l], 0, p,
          off(n + "layernorm_after.weight"), p, off(n + "layernorm_after.bias"), bt, c, EPS);
      k.matmulForward(a.fch[l], 0, a.ln2[l], 0, p, off(n + "intermediate.dense.weight"), p,
          off(n + "intermediate.dense.bias"), bt, c, h);
      k.geluErfForward(a.fchGelu[l], 0, a.fch[l], 0, bt * h);
      k.matmulForward(a.fcproj[l], 0, a.fchGelu[l], 0, p, off(n + "output.dense.weight"), p,
          off(n + "output.dense.bias"), bt, h, c);
      k.residualForward(a.x[l + 1], 0, a.res1[l], 0, a.fcproj[l], 0, bt * c);
    }
    k.layernormForward(a.lnf, 0, a.lnfMean, 0, a.lnfRstd, 0, a.x[s.layers()], 0, p, off("layernorm.weight"), p,
        off("layernorm.bias"), bt, c, EPS);
    k.copyRows(a.first, 0, c, a.lnf, 0, t * c, b, c); // the class token's row of each grid
    k.matmulForward(logits, 0, a.first, 0, p, off("classifier.weight"), p, off("classifier.bias"), b, c, classes);
    return loss(training);
  }

  @Override
  public void backward() {
    int nh = s.heads();
    d.zero();
    zero(dlogits); // the loss's backward accumulates, as every backward kernel does
    lossBackward(dlogits);
    float[] p = parameters.values();
    float[] g = parameters.grads();
    k.matmulBackward(d.first, 0, g, off("classifier.weight"), g, off("classifier.bias"), dlogits, 0, a.first, 0, p,
        off("classifier.weight"), b, c, classes);
    k.copyRows(d.lnf, 0, t * c, d.first, 0, c, b, c); // into the class token's rows; the others stay 0
    int last = s.layers();
    k.layernormBackward(d.x[last], 0, g, off("layernorm.weight"), g, off("layernorm.bias"), d.lnf, 0, a.x[last], 0,
        p, off("layernorm.weight"), a.lnfMean, 0, a.lnfRstd, 0, bt, c);
    for (int l = s.layers() - 1; l >= 0; l--) {
      String n = VitLayout.layerName(l, "");
      k.residualBackward(d.res1[l], 0, d.fcproj[l], 0, d.x[l + 1], 0, bt * c);
      k.matmulBackward(d.fchGelu[l], 0, g, off(n + "output.dense.weight"), g, off(n + "output.dense.bias"),
          d.fcproj[l], 0, a.fchGelu[l], 0, p, off(n + "output.dense.weight"), bt, h, c);
      k.geluErfBackward(d.fch[l], 0, a.fch[l], 0, d.fchGelu[l], 0, bt * h);
      k.matmulBackward(d.ln2[l], 0, g, off(n + "intermediate.dense.weight"), g, off(n + "intermediate.dense.bias"),
          d.fch[l], 0, a.ln2[l], 0, p, off(n + "intermediate.dense.weight"), bt, c, h);
      k.layernormBackward(d.res1[l], 0, g, off(n + "layernorm_after.weight"), g, off(n + "layernorm_after.bias"),
          d.ln2[l], 0, a.res1[l], 0, p, off(n + "layernorm_after.weight"), a.ln2Mean[l], 0, a.ln2Rstd[l], 0, bt, c);
      k.residualBackward(d.x[l], 0, d.attproj[l], 0, d.res1[l], 0, bt * c);
      k.matmulBackward(d.atty[l], 0, g, off(n + "attention.output.dense.weight"), g,
          off(n + "attention.output.dense.bias"), d.attproj[l], 0, a.atty[l], 0, p,
          off(n + "attention.output.dense.weight"), bt, c, c);
      k.attentionBackwardBidirectional(d.qkv[l], 0, d.preatt[l], 0, d.att[l], 0, d.atty[l], 0, a.qkv[l], 0,
          a.att[l], 0, lengths, b, t, c, nh);
      k.matmulBackward(d.ln1[l], 0, g, off(n + "attention.attention.query.weight"), g,
          off(n + "attention.attention.query.bias"), d.qkv[l], 0, a.ln1[l], 0, p,
          off(n + "attention.attention.query.weight"), bt, c, 3 * c);
      k.layernormBackward(d.x[l], 0, g, off(n + "layernorm_before.weight"), g, off(n + "layernorm_before.bias"),
          d.ln1[l], 0, a.x[l], 0, p, off(n + "layernorm_before.weight"), a.ln1Mean[l], 0, a.ln1Rstd[l], 0, bt, c);
    }
    k.classTokenBackward(d.proj, 0, g, off(VitLayout.CLS_TOKEN), g, off(VitLayout.POSITIONS), d.x[0], 0, b, np, c);
    k.matmulBackward(d.patches, 0, g, off(VitLayout.PATCH_WEIGHT), g, off(VitLayout.PATCH_BIAS), d.proj, 0,
        a.patches, 0, p, off(VitLayout.PATCH_WEIGHT), b * np, kp, c);
  }

  @Override
  protected ModelFamily.Checkpoints checkpoints() {
    return VitFamily.FAMILY.checkpoints(s);
  }
}
