package dev.unroll.runtime.bert;

import dev.unroll.runtime.Backend;
import dev.unroll.runtime.TextEncoder;
import dev.unroll.runtime.check.Checks;
import dev.unroll.runtime.family.ModelFamily;
import dev.unroll.runtime.family.EncoderReference;
import dev.unroll.runtime.family.Encoders;
import dev.unroll.runtime.kernel.Kernels;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * BERT over dynamic shapes, numerically Hugging Face's {@code BertModel} with {@code BertForSequenceClassification}'s
 * head (dropout off): one array per activation tensor, the scalar kernels called in a loop over layers, in the
 * order the encoders' contract gives. Slow and obvious on purpose: it is the whole-model reference that generated
 * BERT models are tested against, and it shares nothing with them but the kernels' contract and the parameter
 * layout.
 *
 * <p>Forward: word + position (+ token type) embeddings, LayerNorm; per layer a fused qkv product, bidirectional
 * attention over each row's first {@code length} positions, the output projection, residual and LayerNorm, the
 * exact-GELU MLP, residual and LayerNorm (post-LayerNorm, every eps 1e-12); then the pooler (tanh of a dense layer
 * on each row's first position), the classifier, softmax and the mean cross-entropy over the rows. The padding
 * positions of the tokens and types are replaced by 0 before any kernel sees them; nothing a row's valid positions
 * compute reads its padding positions.
 */
public final class BertReference extends EncoderReference implements TextEncoder {
  /** Every LayerNorm's epsilon, as Hugging Face's BertConfig.layer_norm_eps. */
  static final float EPS = 1e-12f;

  private final BertShape s;
  /** The step's tokens and types, padding positions 0. */
  private final int[] tokens;
  private final int[] types;
  private final Activations a;
  private final Activations d;

  /** A reference model computing with {@code kernels} (the scalar ones, unless a test says otherwise). */
  public BertReference(BertShape shape, Kernels kernels) {
    super(shape, kernels, BertLayout.tensors(shape));
    this.s = shape;
    this.tokens = new int[bt];
    this.types = new int[bt];
    this.a = new Activations(shape);
    this.d = new Activations(shape);
  }

  /** A scalar reference model with BERT's initialisation from {@code seed}. */
  public static BertReference create(BertShape shape, long seed) {
    BertReference m = new BertReference(shape, Backend.SCALAR.kernels());
    BertInit.init(m.parameters, shape, seed);
    return m;
  }

  /** A scalar reference model with the weights of a checkpoint (see {@link BertCheckpoints#load}). */
  public static BertReference load(BertShape shape, Path path) throws IOException {
    BertReference m = new BertReference(shape, Backend.SCALAR.kernels());
    BertCheckpoints.load(m.parameters, shape, path);
    return m;
  }

  /** One array per tensor, as llm.c's ActivationTensors; per-layer tensors indexed by layer. */
  private static final class Activations {
    private final List<float[]> all = new ArrayList<>();
    /** Word + position embeddings, token-type embeddings, their sum (B,T,C); the last two only with types. */
    final float[] words;
    final float[] typed;
    final float[] summed;
    /** The embeddings' LayerNorm: x_0 (B,T,C), its mean and rstd (B,T). */
    final float[] x0;
    final float[] x0Mean;
    final float[] x0Rstd;
    final float[][] qkv;
    final float[][] atty;
    final float[][] preatt;
    final float[][] att;
    final float[][] attproj;
    final float[][] res1;
    final float[][] h1;
    final float[][] h1Mean;
    final float[][] h1Rstd;
    final float[][] fch;
    final float[][] fchGelu;
    final float[][] fcproj;
    final float[][] res2;
    /** Layer l's output x_{l+1} (B,T,C), the output LayerNorm's mean and rstd (B,T). */
    final float[][] out;
    final float[][] outMean;
    final float[][] outRstd;
    /** Each row's first position (B,C), the pooler's dense layer and its tanh (B,C), the logits (B,K). */
    final float[] first;
    final float[] pooledPre;
    final float[] pooled;
    final float[] logits;

    Activations(BertShape s) {
      int l = s.layers();
      int bt = s.batch() * s.context();
      int btc = bt * s.dim();
      int bth = bt * s.hidden();
      int scores = s.batch() * s.heads() * s.context() * s.context();
      int bc = s.batch() * s.dim();
      boolean hasTypes = s.typeVocab() > 0;
      words = array(btc);
      typed = array(hasTypes ? btc : 0);
      summed = array(hasTypes ? btc : 0);
      x0 = array(btc);
      x0Mean = array(bt);
      x0Rstd = array(bt);
      qkv = perLayer(l, 3 * btc);
      atty = perLayer(l, btc);
      preatt = perLayer(l, scores);
      att = perLayer(l, scores);
      attproj = perLayer(l, btc);
      res1 = perLayer(l, btc);
      h1 = perLayer(l, btc);
      h1Mean = perLayer(l, bt);
      h1Rstd = perLayer(l, bt);
      fch = perLayer(l, bth);
      fchGelu = perLayer(l, bth);
      fcproj = perLayer(l, btc);
      res2 = perLayer(l, btc);
      out = perLayer(l, btc);
      outMean = perLayer(l, bt);
      outRstd = perLayer(l, bt);
      first = array(bc);
      pooledPre = array(bc);
      pooled = array(bc);
      logits = array(s.batch() * s.classes());
    }

    private float[] array(int n) {
      float[] x = new float[n];
      all.add(x);
      return x;
    }

    private float[][] perLayer(int layers, int n) {
      float[][] x = new float[layers][];
      for (int i = 0; i < layers; i++) {
        x[i] = array(n);
      }
      return x;
    }

    void zero() {
      for (float[] x : all) {
        EncoderReference.zero(x);
      }
    }
  }

  @Override
  protected float[] hidden() {
    return a.out[s.layers() - 1];
  }

  @Override
  public float forward(int[] tokens, int[] types, int[] lengths, int[] labels) {
    Checks.lengths(lengths, b, t);
    Checks.rows("tokens", tokens, lengths, b, t, s.vocab());
    if (types != null) {
      if (s.typeVocab() == 0) {
        throw new IllegalArgumentException("types were given, but this model has no token-type embedding "
            + "(typeVocab = 0): pass null");
      }
      Checks.rows("types", types, lengths, b, t, s.typeVocab());
    }
    boolean training = begin(labels);
    Encoders.copyRows(tokens, lengths, this.tokens, b, t);
    Encoders.copyRows(types, lengths, this.types, b, t);
    System.arraycopy(lengths, 0, this.lengths, 0, b);
    float[] p = parameters.values();
    int nh = s.heads();
    k.encoderForward(a.words, 0, this.tokens, p, off(BertLayout.WORD), p, off(BertLayout.POSITION), b, t, c);
    float[] embedded = a.words;
    if (s.typeVocab() > 0) {
      k.embeddingForward(a.typed, 0, this.types, p, off(BertLayout.TOKEN_TYPE), bt, c);
      k.residualForward(a.summed, 0, a.words, 0, a.typed, 0, bt * c);
      embedded = a.summed;
    }
    k.layernormForward(a.x0, 0, a.x0Mean, 0, a.x0Rstd, 0, embedded, 0, p, off("embeddings.LayerNorm.weight"), p,
        off("embeddings.LayerNorm.bias"), bt, c, EPS);
    for (int l = 0; l < s.layers(); l++) {
      float[] x = l == 0 ? a.x0 : a.out[l - 1];
      k.matmulForward(a.qkv[l], 0, x, 0, p, off(l, "attention.self.query.weight"), p,
          off(l, "attention.self.query.bias"), bt, c, 3 * c);
      k.attentionForwardBidirectional(a.atty[l], 0, a.preatt[l], 0, a.att[l], 0, a.qkv[l], 0, this.lengths, b, t, c,
          nh);
      k.matmulForward(a.attproj[l], 0, a.atty[l], 0, p, off(l, "attention.output.dense.weight"), p,
          off(l, "attention.output.dense.bias"), bt, c, c);
      k.residualForward(a.res1[l], 0, x, 0, a.attproj[l], 0, bt * c);
      k.layernormForward(a.h1[l], 0, a.h1Mean[l], 0, a.h1Rstd[l], 0, a.res1[l], 0, p,
          off(l, "attention.output.LayerNorm.weight"), p, off(l, "attention.output.LayerNorm.bias"), bt, c, EPS);
      k.matmulForward(a.fch[l], 0, a.h1[l], 0, p, off(l, "intermediate.dense.weight"), p,
          off(l, "intermediate.dense.bias"), bt, c, h);
      k.geluErfForward(a.fchGelu[l], 0, a.fch[l], 0, bt * h);
      k.matmulForward(a.fcproj[l], 0, a.fchGelu[l], 0, p, off(l, "output.dense.weight"), p,
          off(l, "output.dense.bias"), bt, h, c);
      k.residualForward(a.res2[l], 0, a.h1[l], 0, a.fcproj[l], 0, bt * c);
      k.layernormForward(a.out[l], 0, a.outMean[l], 0, a.outRstd[l], 0, a.res2[l], 0, p,
          off(l, "output.LayerNorm.weight"), p, off(l, "output.LayerNorm.bias"), bt, c, EPS);
    }
    k.copyRows(a.first, 0, c, hidden(), 0, t * c, b, c);
    k.matmulForward(a.pooledPre, 0, a.first, 0, p, off("pooler.dense.weight"), p, off("pooler.dense.bias"), b, c, c);
    k.tanhForward(a.pooled, 0, a.pooledPre, 0, b * c);
    k.matmulForward(logits, 0, a.pooled, 0, p, off(BertLayout.CLASSIFIER_WEIGHT), p, off(BertLayout.CLASSIFIER_BIAS),
        b, c, classes);
    return loss(training);
  }

  @Override
  public void backward() {
    d.zero();
    lossBackward(d.logits);
    float[] p = parameters.values();
    float[] g = parameters.grads();
    int nh = s.heads();
    k.matmulBackward(d.pooled, 0, g, off(BertLayout.CLASSIFIER_WEIGHT), g, off(BertLayout.CLASSIFIER_BIAS), d.logits,
        0, a.pooled, 0, p, off(BertLayout.CLASSIFIER_WEIGHT), b, c, classes);
    k.tanhBackward(d.pooledPre, 0, a.pooled, 0, d.pooled, 0, b * c);
    k.matmulBackward(d.first, 0, g, off("pooler.dense.weight"), g, off("pooler.dense.bias"), d.pooledPre, 0,
        a.first, 0, p, off("pooler.dense.weight"), b, c, c);
    k.copyRows(d.out[s.layers() - 1], 0, t * c, d.first, 0, c, b, c); // into the zeroed gradient of x_L
    for (int l = s.layers() - 1; l >= 0; l--) {
      float[] x = l == 0 ? a.x0 : a.out[l - 1];
      float[] dx = l == 0 ? d.x0 : d.out[l - 1];
      k.layernormBackward(d.res2[l], 0, g, off(l, "output.LayerNorm.weight"), g, off(l, "output.LayerNorm.bias"),
          d.out[l], 0, a.res2[l], 0, p, off(l, "output.LayerNorm.weight"), a.outMean[l], 0, a.outRstd[l], 0, bt, c);
      k.residualBackward(d.h1[l], 0, d.fcproj[l], 0, d.res2[l], 0, bt * c);
      k.matmulBackward(d.fchGelu[l], 0, g, off(l, "output.dense.weight"), g, off(l, "output.dense.bias"),
          d.fcproj[l], 0, a.fchGelu[l], 0, p, off(l, "output.dense.weight"), bt, h, c);
      k.geluErfBackward(d.fch[l], 0, a.fch[l], 0, d.fchGelu[l], 0, bt * h);
      k.matmulBackward(d.h1[l], 0, g, off(l, "intermediate.dense.weight"), g, off(l, "intermediate.dense.bias"),
          d.fch[l], 0, a.h1[l], 0, p, off(l, "intermediate.dense.weight"), bt, c, h);
      k.layernormBackward(d.res1[l], 0, g, off(l, "attention.output.LayerNorm.weight"), g,
          off(l, "attention.output.LayerNorm.bias"), d.h1[l], 0, a.res1[l], 0, p,
          off(l, "attention.output.LayerNorm.weight"), a.h1Mean[l], 0, a.h1Rstd[l], 0, bt, c);
      k.residualBackward(dx, 0, d.attproj[l], 0, d.res1[l], 0, bt * c);
      k.matmulBackward(d.atty[l], 0, g, off(l, "attention.output.dense.weight"), g,
          off(l, "attention.output.dense.bias"), d.attproj[l], 0, a.atty[l], 0, p,
          off(l, "attention.output.dense.weight"), bt, c, c);
      k.attentionBackwardBidirectional(d.qkv[l], 0, d.preatt[l], 0, d.att[l], 0, d.atty[l], 0, a.qkv[l], 0,
          a.att[l], 0, lengths, b, t, c, nh);
      k.matmulBackward(dx, 0, g, off(l, "attention.self.query.weight"), g, off(l, "attention.self.query.bias"),
          d.qkv[l], 0, x, 0, p, off(l, "attention.self.query.weight"), bt, c, 3 * c);
    }
    float[] embedded = s.typeVocab() > 0 ? a.summed : a.words;
    float[] dembedded = s.typeVocab() > 0 ? d.summed : d.words;
    k.layernormBackward(dembedded, 0, g, off("embeddings.LayerNorm.weight"), g, off("embeddings.LayerNorm.bias"),
        d.x0, 0, embedded, 0, p, off("embeddings.LayerNorm.weight"), a.x0Mean, 0, a.x0Rstd, 0, bt, c);
    if (s.typeVocab() > 0) {
      k.residualBackward(d.words, 0, d.typed, 0, d.summed, 0, bt * c);
      k.embeddingBackward(g, off(BertLayout.TOKEN_TYPE), d.typed, 0, types, bt, c);
    }
    k.encoderBackward(g, off(BertLayout.WORD), g, off(BertLayout.POSITION), d.words, 0, tokens, b, t, c);
  }

  @Override
  protected ModelFamily.Checkpoints checkpoints() {
    return BertFamily.FAMILY.checkpoints(s);
  }

  /** The offset of layer {@code layer}'s parameter {@code kind}. */
  private int off(int layer, String kind) {
    return off(BertLayout.layerName(layer, kind));
  }
}
