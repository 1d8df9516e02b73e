package dev.unroll.processor.plan;

import dev.unroll.processor.kernel.Kernel;
import dev.unroll.processor.parse.ModelSpec;
import java.util.List;

/**
 * What BERT and ViT share: a stack of bidirectional blocks (attention over each row's lengths, an exact-GELU MLP,
 * LayerNorms with epsilon 1e-12) and a classification head on the first position, and no decoding. A family
 * declares its own parameters (in its checkpoints' order) and says where its LayerNorms sit; the ops of the
 * attention, the MLP and the head are written here once.
 */
abstract class EncoderPlanner extends PlanBuilder {
  /** Hugging Face's LayerNorm epsilon for BERT and ViT. */
  static final Arg EPS = new Arg.Constant(1e-12f);

  final Arg.Size classes = dimension("CLASSES", s.encoder().classes(), "Classes of the head (classes).");
  final Arg.Size dim3 = size("3 * DIM", 3L * s.dim());
  final Arg.Size rowStride = size("CONTEXT * DIM", (long) s.context() * s.dim());
  final Arg.Size batchDim = size("BATCH * DIM", (long) s.batch() * s.dim());

  /** Every layer's parameters and activations (the latter joined in by {@link #layoutLayers}). */
  List<Block> blocks;

  // The head: the first position of each row, the logits, their softmax and the per-row losses.
  Tensor first;
  Tensor headLogits;
  Tensor headProbs;
  Tensor headLosses;

  EncoderPlanner(ModelSpec spec, Mode mode) {
    super(spec, mode);
  }

  @Override
  final boolean decodes() {
    return false;
  }

  @Override
  final void layoutDecode() {
    // an encoder keeps no KV cache and decodes nothing
  }

  // an encoder decodes nothing: PlanBuilder asks for no decode stage when decodes() is false
  @Override
  final Stage decodeEmbedding() {
    throw new IllegalStateException("an encoder does not decode");
  }

  @Override
  final Stage decodeLayer(int i) {
    throw new IllegalStateException("an encoder does not decode");
  }

  @Override
  final Stage decodeHead() {
    throw new IllegalStateException("an encoder does not decode");
  }

  /** The last hidden states, (B, T, C), which embeddings pool. */
  abstract Tensor hidden();

  /** Floats of the embedding tables, which are looked up, not multiplied. */
  abstract long tableParameters();

  @Override
  final Plan.Encoding encoding() {
    return new Plan.Encoding(hidden(), headLogits, headProbs, headLosses, tableParameters());
  }

  @Override
  String layerName(int i, String suffix) {
    return "encoder.layer." + i + "." + suffix;
  }

  /** Every layer's activations, laid out layer by layer, joined to the layer's parameters in {@link #blocks}. */
  final void layoutLayers() {
    List<LayerActs> acts = perLayer(this::layerActs);
    List<Block> joined = new java.util.ArrayList<>();
    for (int i = 0; i < acts.size(); i++) {
      joined.add(blocks.get(i).with(acts.get(i)));
    }
    blocks = joined;
  }

  /** One layer's activations, laid out together; a block's two LayerNorms are its family's. */
  private LayerActs layerActs(int i) {
    long b = s.batch();
    long t = s.context();
    long c = s.dim();
    long h = s.hidden();
    long nh = s.heads();
    String p = "L" + i + "_";
    return new LayerActs(
        act(p + "NORM1", dims(b, t, c), names("B", "T", "C")),
        act(p + "NORM1_MEAN", dims(b, t), names("B", "T")),
        act(p + "NORM1_RSTD", dims(b, t), names("B", "T")),
        act(p + "QKV", dims(b, t, 3 * c), names("B", "T", "3*C")),
        layerScratch(i, "PREATT", dims(b, nh, t, t), names("B", "NH", "T", "T")),
        act(p + "ATT", dims(b, nh, t, t), names("B", "NH", "T", "T")),
        act(p + "ATTY", dims(b, t, c), names("B", "T", "C")),
        layerScratch(i, "ATTPROJ", dims(b, t, c), names("B", "T", "C")),
        act(p + "RES1", dims(b, t, c), names("B", "T", "C")),
        act(p + "NORM2", dims(b, t, c), names("B", "T", "C")),
        act(p + "NORM2_MEAN", dims(b, t), names("B", "T")),
        act(p + "NORM2_RSTD", dims(b, t), names("B", "T")),
        act(p + "FCH", dims(b, t, h), names("B", "T", "H")),
        layerScratch(i, "FCH_GELU", dims(b, t, h), names("B", "T", "H")),
        layerScratch(i, "FCPROJ", dims(b, t, c), names("B", "T", "C")),
        act(p + "RES2", dims(b, t, c), names("B", "T", "C")));
  }

  /** The head's activations: the first positions, and {@code before} (B, C) tensors between them and the logits. */
  final void layoutHead() {
    long b = s.batch();
    long k = s.encoder().classes();
    first = act("FIRST", dims(b, s.dim()), names("B", "C"));
    layoutPooler();
    headLogits = act("LOGITS", dims(b, k), names("B", "K"));
    headProbs = act("PROBS", dims(b, k), names("B", "K"));
    headLosses = act("LOSSES", dims(b), names("B"));
  }

  /** What lies between the first positions and the classifier (BERT's pooler); nothing by default. */
  void layoutPooler() {}

  /** LayerNorm (epsilon 1e-12) of {@code in} into {@code out}, over every position. */
  final Op norm(String comment, Tensor out, Tensor mean, Tensor rstd, Tensor in, Tensor w, Tensor b) {
    return op(Kernel.LAYERNORM_FORWARD, comment, a(out), a(mean), a(rstd), a(in), p(w), p(b), tokens, dim, EPS);
  }

  final Op normBackward(String comment, Tensor out, Tensor mean, Tensor rstd, Tensor in, Tensor w, Tensor b) {
    return op(Kernel.LAYERNORM_BACKWARD, comment, d(in), g(w), g(b), d(out), a(in), p(w), a(mean), a(rstd), tokens,
        dim);
  }

  /** Attention of layer {@code i} over {@code in}: qkv, the bidirectional attention and its projection. */
  final Op[] attention(int i, Tensor in) {
    Block w = blocks.get(i);
    LayerActs x = w.acts();
    return new Op[] {
        op(Kernel.MATMUL_FORWARD, "qkv = in · [wq; wk; wv]ᵀ + [bq; bk; bv]: (B, T, C) -> (B, T, 3*C)",
            a(x.qkv), a(in), p(w.qkvw), p(w.qkvb), tokens, dim, dim3),
        op(Kernel.ATTENTION_FORWARD_BIDIRECTIONAL, "atty = attention over each row's first lengths[b] positions, "
            + s.heads() + " heads: (B, T, 3*C) -> (B, T, C)",
            a(x.atty), a(x.preatt), a(x.att), a(x.qkv), new Arg.Lengths(), batch, context, dim, heads),
        op(Kernel.MATMUL_FORWARD, "attproj = atty · woᵀ + bo: (B, T, C) -> (B, T, C)",
            a(x.attproj), a(x.atty), p(w.projw), p(w.projb), tokens, dim, dim)};
  }

  /** The MLP of layer {@code i} over {@code in}: up, exact GELU, down. */
  final Op[] mlp(int i, Tensor in) {
    Block w = blocks.get(i);
    LayerActs x = w.acts();
    return new Op[] {
        op(Kernel.MATMUL_FORWARD, "fch = in · w1ᵀ + b1: (B, T, C) -> (B, T, H)",
            a(x.fch), a(in), p(w.fcw), p(w.fcb), tokens, dim, hidden),
        gelu(x),
        op(Kernel.MATMUL_FORWARD, "fcproj = fch_gelu · w2ᵀ + b2: (B, T, H) -> (B, T, C)",
            a(x.fcproj), a(x.fchGelu), p(w.fcprojw), p(w.fcprojb), tokens, hidden, dim)};
  }

  /**
   * fch_gelu = gelu(fch), exact, into the one layer's scratch that every layer's fch_gelu shares: backward recomputes
   * it (a GELU costs far less than keeping B·T·H floats for every layer).
   */
  private Op gelu(LayerActs x) {
    return op(Kernel.GELU_ERF_FORWARD, "fch_gelu = gelu(fch), exact: (B, T, H)", a(x.fchGelu), a(x.fch),
        tokensHidden);
  }

  /** The MLP's gradient, from dfcproj to {@code in}'s. */
  final Op[] mlpBackward(int i, Tensor in) {
    Block w = blocks.get(i);
    LayerActs x = w.acts();
    return new Op[] {
        recompute(gelu(x)),
        op(Kernel.MATMUL_BACKWARD, "dfch_gelu, dw2, db2 from dfcproj: (B, T, C) -> (B, T, H)",
            d(x.fchGelu), g(w.fcprojw), g(w.fcprojb), d(x.fcproj), a(x.fchGelu), p(w.fcprojw), tokens, hidden, dim),
        op(Kernel.GELU_ERF_BACKWARD, "dfch from dfch_gelu: (B, T, H)", d(x.fch), a(x.fch), d(x.fchGelu),
            tokensHidden),
        op(Kernel.MATMUL_BACKWARD, "din, dw1, db1 from dfch: (B, T, H) -> (B, T, C)",
            d(in), g(w.fcw), g(w.fcb), d(x.fch), a(in), p(w.fcw), tokens, dim, hidden)};
  }

  /** The attention's gradient, from dattproj to {@code in}'s. */
  final Op[] attentionBackward(int i, Tensor in) {
    Block w = blocks.get(i);
    LayerActs x = w.acts();
    return new Op[] {
        op(Kernel.MATMUL_BACKWARD, "datty, dwo, dbo from dattproj: (B, T, C) -> (B, T, C)",
            d(x.atty), g(w.projw), g(w.projb), d(x.attproj), a(x.atty), p(w.projw), tokens, dim, dim),
        op(Kernel.ATTENTION_BACKWARD_BIDIRECTIONAL, "dqkv from datty, through the softmax: (B, T, C) -> (B, T, 3*C)",
            d(x.qkv), d(x.preatt), d(x.att), d(x.atty), a(x.qkv), a(x.att), new Arg.Lengths(), batch, context, dim,
            heads),
        op(Kernel.MATMUL_BACKWARD, "din, dwqkv, dbqkv from dqkv: (B, T, 3*C) -> (B, T, C)",
            d(in), g(w.qkvw), g(w.qkvb), d(x.qkv), a(in), p(w.qkvw), tokens, dim, dim3)};
  }

  /** first = each row's position 0 of {@code from}: (B, T, C) -> (B, C). */
  final Op gatherFirst(Tensor from) {
    return op(Kernel.COPY_ROWS, "first = " + from.constant().toLowerCase(java.util.Locale.ROOT)
        + "[:, 0, :]: (B, T, C) -> (B, C)", a(first), dim, a(from), rowStride, batch, dim);
  }

  /** The gradient of {@link #gatherFirst}: dfirst into position 0 of each row, which nothing else wrote. */
  final Op scatterFirst(Tensor to) {
    return op(Kernel.COPY_ROWS, "d" + to.constant().toLowerCase(java.util.Locale.ROOT)
        + "[:, 0, :] = dfirst: (B, C) -> (B, T, C)", d(to), rowStride, d(first), dim, batch, dim);
  }

  /** logits = in · wcᵀ + bc, then their softmax: the forward's last ops. */
  final Op[] classify(Tensor in, Tensor w, Tensor b) {
    return new Op[] {
        op(Kernel.MATMUL_FORWARD, "logits = in · wcᵀ + bc: (B, C) -> (B, K)",
            a(headLogits), a(in), p(w), p(b), batch, dim, classes),
        op(Kernel.SOFTMAX_FORWARD, "probs = softmax(logits): (B, K)", a(headProbs), a(headLogits), batch, classes,
            classes)};
  }

  /** The mean cross-entropy's gradient at the logits, then the classifier's: the backward's first ops. */
  final Op[] classifyBackward(Tensor in, Tensor w, Tensor b) {
    return new Op[] {
        op(Kernel.CROSS_ENTROPY_SOFTMAX_BACKWARD, "dlogits = (probs - onehot(labels)) / B: (B, K)",
            d(headLogits), a(headProbs), new Arg.Targets(), batch, classes, classes),
        op(Kernel.MATMUL_BACKWARD, "din, dwc, dbc from dlogits: (B, K) -> (B, C)",
            d(in), g(w), g(b), d(headLogits), a(in), p(w), batch, dim, classes)};
  }

  /** Ops in order, from single ops and runs of them. */
  static Op[] ops(Object... parts) {
    List<Op> out = new java.util.ArrayList<>();
    for (Object part : parts) {
      if (part instanceof Op op) {
        out.add(op);
      } else {
        out.addAll(List.of((Op[]) part));
      }
    }
    return out.toArray(Op[]::new);
  }

  /**
   * Layer {@code i}'s attention parameters, named under {@code prefix} ("attention.self." for BERT): the query, key and
   * value weights side by side, then their biases (one (3C, C) matrix and one 3C vector), then the output projection's
   * weight and bias at {@code output} ("attention.output.dense"). Returns qw, qb, projw, projb.
   */
  final Tensor[] attentionParams(int i, String prefix) {
    long c = s.dim();
    String l = "L" + i + "_";
    Tensor qw = param(l + "QW", layerName(i, prefix + "query.weight"), dims(c, c), names("C", "C"));
    param(l + "KW", layerName(i, prefix + "key.weight"), dims(c, c), names("C", "C"));
    param(l + "VW", layerName(i, prefix + "value.weight"), dims(c, c), names("C", "C"));
    Tensor qb = param(l + "QB", layerName(i, prefix + "query.bias"), dims(c), names("C"));
    param(l + "KB", layerName(i, prefix + "key.bias"), dims(c), names("C"));
    param(l + "VB", layerName(i, prefix + "value.bias"), dims(c), names("C"));
    Tensor projw = param(l + "PROJW", layerName(i, "attention.output.dense.weight"), dims(c, c), names("C", "C"));
    Tensor projb = param(l + "PROJB", layerName(i, "attention.output.dense.bias"), dims(c), names("C"));
    return new Tensor[] {qw, qb, projw, projb};
  }

  /** Layer {@code i}'s MLP parameters, Hugging Face's intermediate and output dense: fcw, fcb, fcprojw, fcprojb. */
  final Tensor[] mlpParams(int i) {
    long c = s.dim();
    long h = s.hidden();
    String l = "L" + i + "_";
    Tensor fcw = param(l + "FCW", layerName(i, "intermediate.dense.weight"), dims(h, c), names("H", "C"));
    Tensor fcb = param(l + "FCB", layerName(i, "intermediate.dense.bias"), dims(h), names("H"));
    Tensor fcprojw = param(l + "FCPROJW", layerName(i, "output.dense.weight"), dims(c, h), names("C", "H"));
    Tensor fcprojb = param(l + "FCPROJB", layerName(i, "output.dense.bias"), dims(c), names("C"));
    return new Tensor[] {fcw, fcb, fcprojw, fcprojb};
  }

  /** Layer {@code i}'s LayerNorm {@code constant} (NORM1, NORM2) named {@code name}: its weight and bias. */
  final Tensor[] normParams(int i, String constant, String name) {
    String l = "L" + i + "_";
    return new Tensor[] {param(l + constant + "W", layerName(i, name + ".weight"), dims(s.dim()), names("C")),
        param(l + constant + "B", layerName(i, name + ".bias"), dims(s.dim()), names("C"))};
  }

  /** A block of the parameters above, its activations joined later. */
  static Block block(Tensor[] norm1, Tensor[] attention, Tensor[] norm2, Tensor[] mlp) {
    return new Block(norm1[0], norm1[1], attention[0], attention[1], attention[2], attention[3], norm2[0], norm2[1],
        mlp[0], mlp[1], mlp[2], mlp[3], null);
  }

  /** One layer's activations; NORM1 and NORM2 are the block's two LayerNorms, wherever its family puts them. */
  record LayerActs(Tensor norm1, Tensor norm1Mean, Tensor norm1Rstd, Tensor qkv, Tensor preatt, Tensor att,
      Tensor atty, Tensor attproj, Tensor res1, Tensor norm2, Tensor norm2Mean, Tensor norm2Rstd, Tensor fch,
      Tensor fchGelu, Tensor fcproj, Tensor res2) {}

  /** One layer: its parameters (q, k, v side by side as one (3C, C) matrix) and its activations. */
  record Block(Tensor norm1w, Tensor norm1b, Tensor qkvw, Tensor qkvb, Tensor projw, Tensor projb, Tensor norm2w,
      Tensor norm2b, Tensor fcw, Tensor fcb, Tensor fcprojw, Tensor fcprojb, LayerActs acts) {
    Block with(LayerActs a) {
      return new Block(norm1w, norm1b, qkvw, qkvb, projw, projb, norm2w, norm2b, fcw, fcb, fcprojw, fcprojb, a);
    }
  }
}
