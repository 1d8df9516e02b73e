package dev.unroll.processor.plan;

import dev.unroll.processor.kernel.Kernel;
import dev.unroll.processor.parse.ModelSpec;
import java.util.List;

/**
 * GPT-2: lays out the arenas and writes down the kernel calls of forward, backward and decode in llm.c's order.
 */
final class Gpt2Planner extends PlanBuilder {
  /** LayerNorm's epsilon: llm.c's. */
  private static final Arg EPS = new Arg.Constant(1e-5f);
  private final Arg.Size dim3 = size("3 * DIM", 3L * s.dim());

  // Parameters, in llm.c's order: one block per kind, each holding that kind for every layer.
  private Tensor wte;
  private Tensor wpe;
  private Tensor[] ln1w;
  private Tensor[] ln1b;
  private Tensor[] qkvw;
  private Tensor[] qkvb;
  private Tensor[] attprojw;
  private Tensor[] attprojb;
  private Tensor[] ln2w;
  private Tensor[] ln2b;
  private Tensor[] fcw;
  private Tensor[] fcb;
  private Tensor[] fcprojw;
  private Tensor[] fcprojb;
  private Tensor lnfw;
  private Tensor lnfb;

  // Activations: the embedding, each layer's, then the head's.
  private Tensor encoded;
  private List<LayerActs> layers;
  private Tensor lnf;
  private Tensor lnfMean;
  private Tensor lnfRstd;

  // Decoding: the one position's activations (the KV cache is the base's).
  private DecodeActs decoded;

  Gpt2Planner(ModelSpec spec, Mode mode) {
    super(spec, mode);
  }

  @Override
  String layerName(int i, String suffix) {
    return "h." + i + "." + suffix;
  }

  @Override
  Plan.RuntimeShape runtimeShape() {
    return new Plan.RuntimeShape(List.of("VOCAB", "PADDED_VOCAB", "CONTEXT", "DIM", "HEADS", "LAYERS", "BATCH",
        "HIDDEN"), "The shape, for code that works with any model.");
  }

  @Override
  void layoutParameters() {
    long c = s.dim();
    long h = s.hidden();
    wte = param("WTE", "wte.weight", dims(vp, c), names("Vp", "C"));
    wpe = param("WPE", "wpe.weight", dims(s.context(), c), names("T", "C"));
    ln1w = layerParams("LN1W", "ln_1.weight", dims(c), names("C"));
    ln1b = layerParams("LN1B", "ln_1.bias", dims(c), names("C"));
    qkvw = layerParams("QKVW", "attn.c_attn.weight", dims(3 * c, c), names("3*C", "C"));
    qkvb = layerParams("QKVB", "attn.c_attn.bias", dims(3 * c), names("3*C"));
    attprojw = layerParams("ATTPROJW", "attn.c_proj.weight", dims(c, c), names("C", "C"));
    attprojb = layerParams("ATTPROJB", "attn.c_proj.bias", dims(c), names("C"));
    ln2w = layerParams("LN2W", "ln_2.weight", dims(c), names("C"));
    ln2b = layerParams("LN2B", "ln_2.bias", dims(c), names("C"));
    fcw = layerParams("FCW", "mlp.c_fc.weight", dims(h, c), names("H", "C"));
    fcb = layerParams("FCB", "mlp.c_fc.bias", dims(h), names("H"));
    fcprojw = layerParams("FCPROJW", "mlp.c_proj.weight", dims(c, h), names("C", "H"));
    fcprojb = layerParams("FCPROJB", "mlp.c_proj.bias", dims(c), names("C"));
    lnfw = param("LNFW", "ln_f.weight", dims(c), names("C"));
    lnfb = param("LNFB", "ln_f.bias", dims(c), names("C"));
  }

  @Override
  void layoutActivations() {
    long b = s.batch();
    long t = s.context();
    long c = s.dim();
    long h = s.hidden();
    long nh = s.heads();
    encoded = act("ENCODED", dims(b, t, c), names("B", "T", "C"));
    layers = perLayer(i -> {
      String p = "L" + i + "_";
      return new LayerActs(
          act(p + "LN1", dims(b, t, c), names("B", "T", "C")),
          act(p + "LN1_MEAN", dims(b, t), names("B", "T")),
          act(p + "LN1_RSTD", dims(b, t), names("B", "T")),
          act(p + "QKV", dims(b, t, 3 * c), names("B", "T", "3*C")),
          act(p + "ATTY", dims(b, t, c), names("B", "T", "C")),
          layerScratch(i, "PREATT", dims(b, nh, t, t), names("B", "NH", "T", "T")),
          act(p + "ATT", dims(b, nh, t, t), names("B", "NH", "T", "T")),
          layerScratch(i, "ATTPROJ", dims(b, t, c), names("B", "T", "C")),
          act(p + "RESIDUAL2", dims(b, t, c), names("B", "T", "C")),
          act(p + "LN2", dims(b, t, c), names("B", "T", "C")),
          act(p + "LN2_MEAN", dims(b, t), names("B", "T")),
          act(p + "LN2_RSTD", dims(b, t), names("B", "T")),
          act(p + "FCH", dims(b, t, h), names("B", "T", "H")),
          layerScratch(i, "FCH_GELU", dims(b, t, h), names("B", "T", "H")),
          layerScratch(i, "FCPROJ", dims(b, t, c), names("B", "T", "C")),
          act(p + "RESIDUAL3", dims(b, t, c), names("B", "T", "C")));
    });
    lnf = act("LNF", dims(b, t, c), names("B", "T", "C"));
    lnfMean = act("LNF_MEAN", dims(b, t), names("B", "T"));
    lnfRstd = act("LNF_RSTD", dims(b, t), names("B", "T"));
    layoutLoss();
  }

  @Override
  void layoutDecode() {
    long c = s.dim();
    long h = s.hidden();
    layoutKvCache(c, "C");
    decoded = new DecodeActs(
        decodeAct("X", dims(c), names("C")),
        decodeAct("X2", dims(c), names("C")),
        decodeAct("LN", dims(c), names("C")),
        decodeAct("LN_MEAN", dims(1), names("1")),
        decodeAct("LN_RSTD", dims(1), names("1")),
        decodeAct("QKV", dims(3 * c), names("3*C")),
        decodeAct("ATT", dims(s.heads(), s.context()), names("NH", "T")),
        decodeAct("ATTY", dims(c), names("C")),
        decodeAct("PROJ", dims(c), names("C")),
        decodeAct("FCH", dims(h), names("H")),
        decodeAct("FCH_GELU", dims(h), names("H")),
        decodeAct("LOGITS", dims(vp), names("Vp")));
  }

  /** The residual stream entering layer {@code i}. */
  private Tensor residual(int i) {
    return i == 0 ? encoded : layers.get(i - 1).residual3;
  }

  @Override
  Stage forwardEmbedding() {
    return stage("forwardEmbedding", "Token and position embeddings.",
        op(Kernel.ENCODER_FORWARD, "encoded = wte[inputs] + wpe: (B, T, C)",
            a(encoded), new Arg.Inputs(), p(wte), p(wpe), batch, context, dim));
  }

  @Override
  Stage forwardLayer(int i) {
    LayerActs x = layers.get(i);
    return stage("forwardLayer" + i, "Block " + i + ": attention and MLP, each behind a LayerNorm.",
        op(Kernel.LAYERNORM_FORWARD, "ln1 = layernorm(residual): (B, T, C)",
            a(x.ln1), a(x.ln1Mean), a(x.ln1Rstd), a(residual(i)), p(ln1w[i]), p(ln1b[i]), tokens, dim, EPS),
        op(Kernel.MATMUL_FORWARD, "qkv = ln1 · qkvwᵀ + qkvb: (B, T, C) -> (B, T, 3*C)",
            a(x.qkv), a(x.ln1), p(qkvw[i]), p(qkvb[i]), tokens, dim, dim3),
        op(Kernel.ATTENTION_FORWARD, "atty = causal attention over " + s.heads() + " heads: (B, T, 3*C) -> (B, T, C)",
            a(x.atty), a(x.preatt), a(x.att), a(x.qkv), batch, context, dim, heads),
        op(Kernel.MATMUL_FORWARD, "attproj = atty · attprojwᵀ + attprojb: (B, T, C) -> (B, T, C)",
            a(x.attproj), a(x.atty), p(attprojw[i]), p(attprojb[i]), tokens, dim, dim),
        op(Kernel.RESIDUAL_FORWARD, "residual2 = residual + attproj: (B, T, C)",
            a(x.residual2), a(residual(i)), a(x.attproj), tokensDim),
        op(Kernel.LAYERNORM_FORWARD, "ln2 = layernorm(residual2): (B, T, C)",
            a(x.ln2), a(x.ln2Mean), a(x.ln2Rstd), a(x.residual2), p(ln2w[i]), p(ln2b[i]), tokens, dim, EPS),
        op(Kernel.MATMUL_FORWARD, "fch = ln2 · fcwᵀ + fcb: (B, T, C) -> (B, T, H)",
            a(x.fch), a(x.ln2), p(fcw[i]), p(fcb[i]), tokens, dim, hidden),
        gelu(x),
        op(Kernel.MATMUL_FORWARD, "fcproj = fch_gelu · fcprojwᵀ + fcprojb: (B, T, H) -> (B, T, C)",
            a(x.fcproj), a(x.fchGelu), p(fcprojw[i]), p(fcprojb[i]), tokens, hidden, dim),
        op(Kernel.RESIDUAL_FORWARD, "residual3 = residual2 + fcproj: (B, T, C)",
            a(x.residual3), a(x.residual2), a(x.fcproj), tokensDim));
  }

  /**
   * fch_gelu = gelu(fch), into the one layer's scratch that every layer's fch_gelu shares: backward recomputes it
   * (a GELU costs far less than keeping B·T·H floats for every layer).
   */
  private Op gelu(LayerActs x) {
    return op(Kernel.GELU_FORWARD, "fch_gelu = gelu(fch): (B, T, H)", a(x.fchGelu), a(x.fch), tokensHidden);
  }

  @Override
  Stage forwardHead() {
    Tensor last = residual(s.layers());
    return stage("forwardHead", "Final LayerNorm, the classifier tied to wte, and the softmax.",
        op(Kernel.LAYERNORM_FORWARD, "lnf = layernorm(residual): (B, T, C)",
            a(lnf), a(lnfMean), a(lnfRstd), a(last), p(lnfw), p(lnfb), tokens, dim, EPS),
        op(Kernel.MATMUL_FORWARD, "logits = lnf · wteᵀ: (B, T, C) -> (B, T, Vp)",
            a(logits), a(lnf), p(wte), new Arg.None(), tokens, dim, padded),
        softmax());
  }

  @Override
  Stage backwardHead() {
    Tensor last = residual(s.layers());
    return stage("backwardHead", "Loss, classifier and final LayerNorm.",
        crossEntropyBackward(),
        op(Kernel.MATMUL_BACKWARD, "dlnf, dwte from dlogits: (B, T, Vp) -> (B, T, C)",
            d(lnf), g(wte), new Arg.None(), d(logits), a(lnf), p(wte), tokens, dim, padded),
        op(Kernel.LAYERNORM_BACKWARD, "dresidual, dlnfw, dlnfb from dlnf: (B, T, C)",
            d(last), g(lnfw), g(lnfb), d(lnf), a(last), p(lnfw), a(lnfMean), a(lnfRstd), tokens, dim));
  }

  @Override
  Stage backwardLayer(int i) {
    LayerActs x = layers.get(i);
    return stage("backwardLayer" + i, "Block " + i + ", in reverse.",
        op(Kernel.RESIDUAL_BACKWARD, "dresidual2, dfcproj from dresidual3: (B, T, C)",
            d(x.residual2), d(x.fcproj), d(x.residual3), tokensDim),
        recompute(gelu(x)),
        op(Kernel.MATMUL_BACKWARD, "dfch_gelu, dfcprojw, dfcprojb from dfcproj: (B, T, C) -> (B, T, H)",
            d(x.fchGelu), g(fcprojw[i]), g(fcprojb[i]), d(x.fcproj), a(x.fchGelu), p(fcprojw[i]), tokens, hidden,
            dim),
        op(Kernel.GELU_BACKWARD, "dfch from dfch_gelu: (B, T, H)",
            d(x.fch), a(x.fch), d(x.fchGelu), tokensHidden),
        op(Kernel.MATMUL_BACKWARD, "dln2, dfcw, dfcb from dfch: (B, T, H) -> (B, T, C)",
            d(x.ln2), g(fcw[i]), g(fcb[i]), d(x.fch), a(x.ln2), p(fcw[i]), tokens, dim, hidden),
        op(Kernel.LAYERNORM_BACKWARD, "dresidual2, dln2w, dln2b from dln2: (B, T, C)",
            d(x.residual2), g(ln2w[i]), g(ln2b[i]), d(x.ln2), a(x.residual2), p(ln2w[i]), a(x.ln2Mean),
            a(x.ln2Rstd), tokens, dim),
        op(Kernel.RESIDUAL_BACKWARD, "dresidual, dattproj from dresidual2: (B, T, C)",
            d(residual(i)), d(x.attproj), d(x.residual2), tokensDim),
        op(Kernel.MATMUL_BACKWARD, "datty, dattprojw, dattprojb from dattproj: (B, T, C) -> (B, T, C)",
            d(x.atty), g(attprojw[i]), g(attprojb[i]), d(x.attproj), a(x.atty), p(attprojw[i]), tokens, dim, dim),
        op(Kernel.ATTENTION_BACKWARD, "dqkv from datty, through the softmax: (B, T, C) -> (B, T, 3*C)",
            d(x.qkv), d(x.preatt), d(x.att), d(x.atty), a(x.qkv), a(x.att), batch, context, dim, heads),
        op(Kernel.MATMUL_BACKWARD, "dln1, dqkvw, dqkvb from dqkv: (B, T, 3*C) -> (B, T, C)",
            d(x.ln1), g(qkvw[i]), g(qkvb[i]), d(x.qkv), a(x.ln1), p(qkvw[i]), tokens, dim, dim3),
        op(Kernel.LAYERNORM_BACKWARD, "dresidual, dln1w, dln1b from dln1: (B, T, C)",
            d(residual(i)), g(ln1w[i]), g(ln1b[i]), d(x.ln1), a(residual(i)), p(ln1w[i]), a(x.ln1Mean), a(x.ln1Rstd),
            tokens, dim));
  }

  @Override
  Stage backwardEmbedding() {
    return stage("backwardEmbedding", "Token and position embeddings.",
        op(Kernel.ENCODER_BACKWARD, "dwte[inputs] += dencoded; dwpe += dencoded: (B, T, C)",
            g(wte), g(wpe), d(encoded), new Arg.Inputs(), batch, context, dim));
  }

  @Override
  Stage decodeEmbedding() {
    return stage("decodeEmbedding", "x = wte[token] + wpe[pos].",
        op(Kernel.RESIDUAL_FORWARD, "x = wte[token] + wpe[pos]: (C)",
            dc(decoded.x), new Arg.Row(Arena.PARAMS, wte, "token", "DIM"), new Arg.Row(Arena.PARAMS, wpe, "pos", "DIM"),
            dim));
  }

  @Override
  Stage decodeLayer(int i) {
    DecodeActs x = decoded;
    KvCache kv = caches.get(i);
    return stage("decodeLayer" + i, "Block " + i + " at one position; appends its key and value to the cache.",
        op(Kernel.LAYERNORM_FORWARD, "ln = layernorm(x): (C)",
            dc(x.ln), dc(x.lnMean), dc(x.lnRstd), dc(x.x), p(ln1w[i]), p(ln1b[i]), one, dim, EPS),
        op(Kernel.MATMUL_FORWARD, "qkv = ln · qkvwᵀ + qkvb: (C) -> (3*C)",
            dc(x.qkv), dc(x.ln), p(qkvw[i]), p(qkvb[i]), one, dim, dim3),
        op(Kernel.COPY, "kcache[pos] = k: (C)",
            new Arg.Row(Arena.KV, kv.k(), "pos", "DIM"), new Arg.Row(Arena.DEC, x.qkv, "1", "DIM"), dim),
        op(Kernel.COPY, "vcache[pos] = v: (C)",
            new Arg.Row(Arena.KV, kv.v(), "pos", "DIM"), new Arg.Row(Arena.DEC, x.qkv, "2", "DIM"), dim),
        op(Kernel.ATTENTION_DECODE, "atty = attention of q over positions 0..pos: (C)",
            dc(x.atty), dc(x.att), dc(x.qkv), kvRef(kv.k()), kvRef(kv.v()), pos, context, heads, heads, headSize),
        op(Kernel.MATMUL_FORWARD, "proj = atty · attprojwᵀ + attprojb: (C) -> (C)",
            dc(x.proj), dc(x.atty), p(attprojw[i]), p(attprojb[i]), one, dim, dim),
        op(Kernel.RESIDUAL_FORWARD, "x2 = x + proj: (C)", dc(x.x2), dc(x.x), dc(x.proj), dim),
        op(Kernel.LAYERNORM_FORWARD, "ln = layernorm(x2): (C)",
            dc(x.ln), dc(x.lnMean), dc(x.lnRstd), dc(x.x2), p(ln2w[i]), p(ln2b[i]), one, dim, EPS),
        op(Kernel.MATMUL_FORWARD, "fch = ln · fcwᵀ + fcb: (C) -> (H)",
            dc(x.fch), dc(x.ln), p(fcw[i]), p(fcb[i]), one, dim, hidden),
        op(Kernel.GELU_FORWARD, "fch_gelu = gelu(fch): (H)", dc(x.fchGelu), dc(x.fch), hidden),
        op(Kernel.MATMUL_FORWARD, "proj = fch_gelu · fcprojwᵀ + fcprojb: (H) -> (C)",
            dc(x.proj), dc(x.fchGelu), p(fcprojw[i]), p(fcprojb[i]), one, hidden, dim),
        op(Kernel.RESIDUAL_FORWARD, "x = x2 + proj: (C)", dc(x.x), dc(x.x2), dc(x.proj), dim));
  }

  @Override
  Stage decodeHead() {
    DecodeActs x = decoded;
    return stage("decodeHead", "Final LayerNorm and the classifier.",
        op(Kernel.LAYERNORM_FORWARD, "ln = layernorm(x): (C)",
            dc(x.ln), dc(x.lnMean), dc(x.lnRstd), dc(x.x), p(lnfw), p(lnfb), one, dim, EPS),
        op(Kernel.MATMUL_FORWARD, "logits = ln · wteᵀ: (C) -> (Vp)",
            dc(x.logits), dc(x.ln), p(wte), new Arg.None(), one, dim, padded));
  }

  /** One layer's activations. */
  private record LayerActs(Tensor ln1, Tensor ln1Mean, Tensor ln1Rstd, Tensor qkv, Tensor atty, Tensor preatt,
      Tensor att, Tensor attproj, Tensor residual2, Tensor ln2, Tensor ln2Mean, Tensor ln2Rstd, Tensor fch,
      Tensor fchGelu, Tensor fcproj, Tensor residual3) {}

  /** The one decoded position's activations. */
  private record DecodeActs(Tensor x, Tensor x2, Tensor ln, Tensor lnMean, Tensor lnRstd, Tensor qkv, Tensor att,
      Tensor atty, Tensor proj, Tensor fch, Tensor fchGelu, Tensor logits) {}
}
