package dev.unroll.processor.plan;

import dev.unroll.processor.kernel.Kernel;
import dev.unroll.processor.parse.ModelSpec;
import java.util.List;

/**
 * Llama: lays out the arenas in llama2.c's weight order and writes down forward, backward and decode. q, k and v
 * come from three matmuls and are packed side by side for attention (so that grouped-query attention reads one
 * row per position); RoPE rotates the packed q and k in place, and rotates their gradients back.
 */
final class LlamaPlanner extends PlanBuilder {
  private final Arg.Size kvHeads = dimension("KV_HEADS", s.kvHeads(), "Key/value heads (kvHeads).");
  private final Arg.Size kvDim = dimension("KV_DIM", (long) s.kvHeads() * s.headSize(),
      "KV_HEADS * HEAD_SIZE: the width of a key or a value.");
  private final Arg.Size qkvWidth = dimension("QKV_WIDTH", s.dim() + 2 * kvDim.value(),
      "DIM + 2 * KV_DIM: q, k and v side by side.");
  /** RoPE's first position in training (decode passes {@link #pos}). */
  private final Arg.Size zero = size("0", 0);
  /** RoPE's direction: rotate forward, or back (a gradient). */
  private final Arg.Size forwardSign = size("1", 1);
  private final Arg.Size backSign = size("-1", -1);

  // Parameters, in llama2.c's order: one block per kind, each holding that kind for every layer.
  private Tensor emb;
  private Tensor[] attnNorm;
  private Tensor[] wq;
  private Tensor[] wk;
  private Tensor[] wv;
  private Tensor[] wo;
  private Tensor[] ffnNorm;
  private Tensor[] w1;
  private Tensor[] w2;
  private Tensor[] w3;
  private Tensor norm;
  /** The classifier: {@link #emb} when tied. */
  private Tensor cls;

  // Activations: the embedding, each layer's, then the head's.
  private Tensor encoded;
  private List<LayerActs> layers;
  private Tensor lnf;
  private Tensor lnfRstd;

  // Decoding: the one position's activations (the KV cache is the base's).
  private DecodeActs decoded;

  LlamaPlanner(ModelSpec spec, Mode mode) {
    super(spec, mode);
  }

  @Override
  String layerName(int i, String suffix) {
    return "model.layers." + i + "." + suffix;
  }

  @Override
  Plan.RuntimeShape runtimeShape() {
    return new Plan.RuntimeShape(List.of("VOCAB", "PADDED_VOCAB", "CONTEXT", "DIM", "HEADS", "KV_HEADS", "LAYERS",
        "BATCH", "HIDDEN", String.valueOf(s.tiedClassifier())),
        "The shape, with key/value heads and the classifier's tying.");
  }

  @Override
  void layoutParameters() {
    long c = s.dim();
    long h = s.hidden();
    long kv = kvDim.value();
    emb = param("EMB", "model.embed_tokens.weight", dims(vp, c), names("Vp", "C"));
    attnNorm = layerParams("ATTN_NORM", "input_layernorm.weight", dims(c), names("C"));
    wq = layerParams("WQ", "self_attn.q_proj.weight", dims(c, c), names("C", "C"));
    wk = layerParams("WK", "self_attn.k_proj.weight", dims(kv, c), names("KV", "C"));
    wv = layerParams("WV", "self_attn.v_proj.weight", dims(kv, c), names("KV", "C"));
    wo = layerParams("WO", "self_attn.o_proj.weight", dims(c, c), names("C", "C"));
    ffnNorm = layerParams("FFN_NORM", "post_attention_layernorm.weight", dims(c), names("C"));
    w1 = layerParams("W1", "mlp.gate_proj.weight", dims(h, c), names("H", "C"));
    w2 = layerParams("W2", "mlp.down_proj.weight", dims(c, h), names("C", "H"));
    w3 = layerParams("W3", "mlp.up_proj.weight", dims(h, c), names("H", "C"));
    norm = param("NORM", "model.norm.weight", dims(c), names("C"));
    cls = s.tiedClassifier() ? emb : param("CLS", "lm_head.weight", dims(vp, c), names("Vp", "C"));
  }

  @Override
  void layoutActivations() {
    long b = s.batch();
    long t = s.context();
    long c = s.dim();
    long h = s.hidden();
    long nh = s.heads();
    long kv = kvDim.value();
    encoded = act("ENCODED", dims(b, t, c), names("B", "T", "C"));
    layers = perLayer(i -> {
      String p = "L" + i + "_";
      return new LayerActs(
          act(p + "LN1", dims(b, t, c), names("B", "T", "C")),
          act(p + "LN1_RSTD", dims(b, t), names("B", "T")),
          act(p + "Q", dims(b, t, c), names("B", "T", "C")),
          act(p + "K", dims(b, t, kv), names("B", "T", "KV")),
          act(p + "V", dims(b, t, kv), names("B", "T", "KV")),
          act(p + "QKV", dims(b, t, qkvWidth.value()), names("B", "T", "C+2*KV")),
          act(p + "ATTY", dims(b, t, c), names("B", "T", "C")),
          layerScratch(i, "PREATT", dims(b, nh, t, t), names("B", "NH", "T", "T")),
          act(p + "ATT", dims(b, nh, t, t), names("B", "NH", "T", "T")),
          layerScratch(i, "ATTPROJ", dims(b, t, c), names("B", "T", "C")),
          act(p + "RESIDUAL2", dims(b, t, c), names("B", "T", "C")),
          act(p + "LN2", dims(b, t, c), names("B", "T", "C")),
          act(p + "LN2_RSTD", dims(b, t), names("B", "T")),
          act(p + "FC1", dims(b, t, h), names("B", "T", "H")),
          act(p + "FC3", dims(b, t, h), names("B", "T", "H")),
          layerScratch(i, "SWIGLU", dims(b, t, h), names("B", "T", "H")),
          layerScratch(i, "FCPROJ", dims(b, t, c), names("B", "T", "C")),
          act(p + "RESIDUAL3", dims(b, t, c), names("B", "T", "C")));
    });
    lnf = act("LNF", dims(b, t, c), names("B", "T", "C"));
    lnfRstd = act("LNF_RSTD", dims(b, t), names("B", "T"));
    layoutLoss();
  }

  @Override
  void layoutDecode() {
    long c = s.dim();
    long h = s.hidden();
    long kv = kvDim.value();
    layoutKvCache(kv, "KV");
    decoded = new DecodeActs(
        decodeAct("X", dims(c), names("C")),
        decodeAct("X2", dims(c), names("C")),
        decodeAct("LN", dims(c), names("C")),
        decodeAct("RSTD", dims(1), names("1")),
        decodeAct("Q", dims(c), names("C")),
        decodeAct("K", dims(kv), names("KV")),
        decodeAct("V", dims(kv), names("KV")),
        decodeAct("ATT", dims(s.heads(), s.context()), names("NH", "T")),
        decodeAct("ATTY", dims(c), names("C")),
        decodeAct("PROJ", dims(c), names("C")),
        decodeAct("FC1", dims(h), names("H")),
        decodeAct("FC3", dims(h), names("H")),
        decodeAct("SWIGLU", dims(h), names("H")),
        decodeAct("LOGITS", dims(vp), names("Vp")));
  }

  /** The residual stream entering layer {@code i}. */
  private Tensor residual(int i) {
    return i == 0 ? encoded : layers.get(i - 1).residual3;
  }

  /** The classifier's name in comments. */
  private String clsName() {
    return s.tiedClassifier() ? "emb" : "cls";
  }

  @Override
  Stage forwardEmbedding() {
    return stage("forwardEmbedding", "Token embeddings (positions enter through RoPE).",
        op(Kernel.EMBEDDING_FORWARD, "encoded = emb[inputs]: (B, T, C)", a(encoded), new Arg.Inputs(), p(emb), tokens,
            dim));
  }

  @Override
  Stage forwardLayer(int i) {
    LayerActs x = layers.get(i);
    return stage("forwardLayer" + i, "Block " + i + ": attention and SwiGLU MLP, each behind an RMSNorm.",
        op(Kernel.RMSNORM_FORWARD, "ln1 = rmsnorm(residual): (B, T, C)",
            a(x.ln1), a(x.ln1Rstd), a(residual(i)), p(attnNorm[i]), tokens, dim),
        op(Kernel.MATMUL_FORWARD, "q = ln1 · wqᵀ: (B, T, C) -> (B, T, C)",
            a(x.q), a(x.ln1), p(wq[i]), new Arg.None(), tokens, dim, dim),
        op(Kernel.MATMUL_FORWARD, "k = ln1 · wkᵀ: (B, T, C) -> (B, T, KV)",
            a(x.k), a(x.ln1), p(wk[i]), new Arg.None(), tokens, dim, kvDim),
        op(Kernel.MATMUL_FORWARD, "v = ln1 · wvᵀ: (B, T, C) -> (B, T, KV)",
            a(x.v), a(x.ln1), p(wv[i]), new Arg.None(), tokens, dim, kvDim),
        op(Kernel.COPY_ROWS, "qkv[..., :C] = q", a(x.qkv), qkvWidth, a(x.q), dim, tokens, dim),
        op(Kernel.COPY_ROWS, "qkv[..., C:C+KV] = k",
            new Arg.At(Arena.ACTS, x.qkv, "DIM"), qkvWidth, a(x.k), kvDim, tokens, kvDim),
        op(Kernel.COPY_ROWS, "qkv[..., C+KV:] = v",
            new Arg.At(Arena.ACTS, x.qkv, "DIM + KV_DIM"), qkvWidth, a(x.v), kvDim, tokens, kvDim),
        op(Kernel.ROPE, "rotate q by position", a(x.qkv), tokens, qkvWidth, dim, headSize, context, zero,
            forwardSign),
        op(Kernel.ROPE, "rotate k by position", new Arg.At(Arena.ACTS, x.qkv, "DIM"), tokens, qkvWidth, kvDim,
            headSize, context, zero, forwardSign),
        op(Kernel.ATTENTION_FORWARD_GQA, "atty = causal attention, " + s.heads() + " query heads over " + s.kvHeads()
            + " kv heads: (B, T, C+2*KV) -> (B, T, C)",
            a(x.atty), a(x.preatt), a(x.att), a(x.qkv), batch, context, heads, kvHeads, headSize),
        op(Kernel.MATMUL_FORWARD, "attproj = atty · woᵀ: (B, T, C) -> (B, T, C)",
            a(x.attproj), a(x.atty), p(wo[i]), new Arg.None(), tokens, dim, dim),
        op(Kernel.RESIDUAL_FORWARD, "residual2 = residual + attproj: (B, T, C)",
            a(x.residual2), a(residual(i)), a(x.attproj), tokensDim),
        op(Kernel.RMSNORM_FORWARD, "ln2 = rmsnorm(residual2): (B, T, C)",
            a(x.ln2), a(x.ln2Rstd), a(x.residual2), p(ffnNorm[i]), tokens, dim),
        op(Kernel.MATMUL_FORWARD, "fc1 = ln2 · w1ᵀ (gate): (B, T, C) -> (B, T, H)",
            a(x.fc1), a(x.ln2), p(w1[i]), new Arg.None(), tokens, dim, hidden),
        op(Kernel.MATMUL_FORWARD, "fc3 = ln2 · w3ᵀ (up): (B, T, C) -> (B, T, H)",
            a(x.fc3), a(x.ln2), p(w3[i]), new Arg.None(), tokens, dim, hidden),
        swiglu(x),
        op(Kernel.MATMUL_FORWARD, "fcproj = swiglu · w2ᵀ (down): (B, T, H) -> (B, T, C)",
            a(x.fcproj), a(x.swiglu), p(w2[i]), new Arg.None(), tokens, hidden, dim),
        op(Kernel.RESIDUAL_FORWARD, "residual3 = residual2 + fcproj: (B, T, C)",
            a(x.residual3), a(x.residual2), a(x.fcproj), tokensDim));
  }

  /**
   * swiglu = silu(fc1) · fc3, into the one layer's scratch that every layer's swiglu shares: backward recomputes it
   * from fc1 and fc3, which it keeps for SwiGLU's own gradient anyway.
   */
  private Op swiglu(LayerActs x) {
    return op(Kernel.SWIGLU_FORWARD, "swiglu = silu(fc1) · fc3: (B, T, H)", a(x.swiglu), a(x.fc1), a(x.fc3),
        tokensHidden);
  }

  @Override
  Stage forwardHead() {
    Tensor last = residual(s.layers());
    return stage("forwardHead", "Final RMSNorm, the classifier and the softmax.",
        op(Kernel.RMSNORM_FORWARD, "lnf = rmsnorm(residual): (B, T, C)",
            a(lnf), a(lnfRstd), a(last), p(norm), tokens, dim),
        op(Kernel.MATMUL_FORWARD, "logits = lnf · " + clsName() + "ᵀ: (B, T, C) -> (B, T, Vp)",
            a(logits), a(lnf), p(cls), new Arg.None(), tokens, dim, padded),
        softmax());
  }

  @Override
  Stage backwardHead() {
    Tensor last = residual(s.layers());
    return stage("backwardHead", "Loss, classifier and final RMSNorm.",
        crossEntropyBackward(),
        op(Kernel.MATMUL_BACKWARD, "dlnf, d" + clsName() + " from dlogits: (B, T, Vp) -> (B, T, C)",
            d(lnf), g(cls), new Arg.None(), d(logits), a(lnf), p(cls), tokens, dim, padded),
        op(Kernel.RMSNORM_BACKWARD, "dresidual, dnorm from dlnf: (B, T, C)",
            d(last), g(norm), d(lnf), a(last), p(norm), a(lnfRstd), tokens, dim));
  }

  @Override
  Stage backwardLayer(int i) {
    LayerActs x = layers.get(i);
    return stage("backwardLayer" + i, "Block " + i + ", in reverse.",
        op(Kernel.RESIDUAL_BACKWARD, "dresidual2, dfcproj from dresidual3: (B, T, C)",
            d(x.residual2), d(x.fcproj), d(x.residual3), tokensDim),
        recompute(swiglu(x)),
        op(Kernel.MATMUL_BACKWARD, "dswiglu, dw2 from dfcproj: (B, T, C) -> (B, T, H)",
            d(x.swiglu), g(w2[i]), new Arg.None(), d(x.fcproj), a(x.swiglu), p(w2[i]), tokens, hidden, dim),
        op(Kernel.SWIGLU_BACKWARD, "dfc1, dfc3 from dswiglu: (B, T, H)",
            d(x.fc1), d(x.fc3), d(x.swiglu), a(x.fc1), a(x.fc3), tokensHidden),
        op(Kernel.MATMUL_BACKWARD, "dln2, dw1 from dfc1: (B, T, H) -> (B, T, C)",
            d(x.ln2), g(w1[i]), new Arg.None(), d(x.fc1), a(x.ln2), p(w1[i]), tokens, dim, hidden),
        op(Kernel.MATMUL_BACKWARD, "dln2, dw3 from dfc3: (B, T, H) -> (B, T, C)",
            d(x.ln2), g(w3[i]), new Arg.None(), d(x.fc3), a(x.ln2), p(w3[i]), tokens, dim, hidden),
        op(Kernel.RMSNORM_BACKWARD, "dresidual2, dffn_norm from dln2: (B, T, C)",
            d(x.residual2), g(ffnNorm[i]), d(x.ln2), a(x.residual2), p(ffnNorm[i]), a(x.ln2Rstd), tokens, dim),
        op(Kernel.RESIDUAL_BACKWARD, "dresidual, dattproj from dresidual2: (B, T, C)",
            d(residual(i)), d(x.attproj), d(x.residual2), tokensDim),
        op(Kernel.MATMUL_BACKWARD, "datty, dwo from dattproj: (B, T, C) -> (B, T, C)",
            d(x.atty), g(wo[i]), new Arg.None(), d(x.attproj), a(x.atty), p(wo[i]), tokens, dim, dim),
        op(Kernel.ATTENTION_BACKWARD_GQA, "dqkv from datty, through the softmax: (B, T, C) -> (B, T, C+2*KV)",
            d(x.qkv), d(x.preatt), d(x.att), d(x.atty), a(x.qkv), a(x.att), batch, context, heads, kvHeads,
            headSize),
        op(Kernel.ROPE, "rotate dq back", d(x.qkv), tokens, qkvWidth, dim, headSize, context, zero, backSign),
        op(Kernel.ROPE, "rotate dk back", new Arg.At(Arena.DACTS, x.qkv, "DIM"), tokens, qkvWidth, kvDim,
            headSize, context, zero, backSign),
        op(Kernel.COPY_ROWS, "dq = dqkv[..., :C]", d(x.q), dim, d(x.qkv), qkvWidth, tokens, dim),
        op(Kernel.COPY_ROWS, "dk = dqkv[..., C:C+KV]",
            d(x.k), kvDim, new Arg.At(Arena.DACTS, x.qkv, "DIM"), qkvWidth, tokens, kvDim),
        op(Kernel.COPY_ROWS, "dv = dqkv[..., C+KV:]",
            d(x.v), kvDim, new Arg.At(Arena.DACTS, x.qkv, "DIM + KV_DIM"), qkvWidth, tokens, kvDim),
        op(Kernel.MATMUL_BACKWARD, "dln1, dwq from dq: (B, T, C) -> (B, T, C)",
            d(x.ln1), g(wq[i]), new Arg.None(), d(x.q), a(x.ln1), p(wq[i]), tokens, dim, dim),
        op(Kernel.MATMUL_BACKWARD, "dln1, dwk from dk: (B, T, KV) -> (B, T, C)",
            d(x.ln1), g(wk[i]), new Arg.None(), d(x.k), a(x.ln1), p(wk[i]), tokens, dim, kvDim),
        op(Kernel.MATMUL_BACKWARD, "dln1, dwv from dv: (B, T, KV) -> (B, T, C)",
            d(x.ln1), g(wv[i]), new Arg.None(), d(x.v), a(x.ln1), p(wv[i]), tokens, dim, kvDim),
        op(Kernel.RMSNORM_BACKWARD, "dresidual, dattn_norm from dln1: (B, T, C)",
            d(residual(i)), g(attnNorm[i]), d(x.ln1), a(residual(i)), p(attnNorm[i]), a(x.ln1Rstd), tokens, dim));
  }

  @Override
  Stage backwardEmbedding() {
    return stage("backwardEmbedding", "Token embeddings.",
        op(Kernel.EMBEDDING_BACKWARD, "demb[inputs] += dencoded: (B, T, C)",
            g(emb), d(encoded), new Arg.Inputs(), tokens, dim));
  }

  @Override
  Stage decodeEmbedding() {
    return stage("decodeEmbedding", "x = emb[token].",
        op(Kernel.COPY, "x = emb[token]: (C)", dc(decoded.x), new Arg.Row(Arena.PARAMS, emb, "token", "DIM"), dim));
  }

  @Override
  Stage decodeLayer(int i) {
    DecodeActs x = decoded;
    KvCache kv = caches.get(i);
    return stage("decodeLayer" + i, "Block " + i + " at one position; appends its key and value to the cache.",
        op(Kernel.RMSNORM_FORWARD, "ln = rmsnorm(x): (C)", dc(x.ln), dc(x.rstd), dc(x.x), p(attnNorm[i]), one, dim),
        op(Kernel.MATMUL_FORWARD, "q = ln · wqᵀ: (C) -> (C)", dc(x.q), dc(x.ln), p(wq[i]), new Arg.None(), one, dim,
            dim),
        op(Kernel.MATMUL_FORWARD, "k = ln · wkᵀ: (C) -> (KV)", dc(x.k), dc(x.ln), p(wk[i]), new Arg.None(), one, dim,
            kvDim),
        op(Kernel.MATMUL_FORWARD, "v = ln · wvᵀ: (C) -> (KV)", dc(x.v), dc(x.ln), p(wv[i]), new Arg.None(), one, dim,
            kvDim),
        op(Kernel.ROPE, "rotate q to position pos", dc(x.q), one, dim, dim, headSize, context, pos, forwardSign),
        op(Kernel.ROPE, "rotate k to position pos", dc(x.k), one, kvDim, kvDim, headSize, context, pos, forwardSign),
        op(Kernel.COPY, "kcache[pos] = k: (KV)", new Arg.Row(Arena.KV, kv.k(), "pos", "KV_DIM"), dc(x.k), kvDim),
        op(Kernel.COPY, "vcache[pos] = v: (KV)", new Arg.Row(Arena.KV, kv.v(), "pos", "KV_DIM"), dc(x.v), kvDim),
        op(Kernel.ATTENTION_DECODE, "atty = attention of q over positions 0..pos: (C)",
            dc(x.atty), dc(x.att), dc(x.q), kvRef(kv.k()), kvRef(kv.v()), pos, context, heads, kvHeads, headSize),
        op(Kernel.MATMUL_FORWARD, "proj = atty · woᵀ: (C) -> (C)", dc(x.proj), dc(x.atty), p(wo[i]), new Arg.None(),
            one, dim, dim),
        op(Kernel.RESIDUAL_FORWARD, "x2 = x + proj: (C)", dc(x.x2), dc(x.x), dc(x.proj), dim),
        op(Kernel.RMSNORM_FORWARD, "ln = rmsnorm(x2): (C)", dc(x.ln), dc(x.rstd), dc(x.x2), p(ffnNorm[i]), one, dim),
        op(Kernel.MATMUL_FORWARD, "fc1 = ln · w1ᵀ: (C) -> (H)", dc(x.fc1), dc(x.ln), p(w1[i]), new Arg.None(), one,
            dim, hidden),
        op(Kernel.MATMUL_FORWARD, "fc3 = ln · w3ᵀ: (C) -> (H)", dc(x.fc3), dc(x.ln), p(w3[i]), new Arg.None(), one,
            dim, hidden),
        op(Kernel.SWIGLU_FORWARD, "swiglu = silu(fc1) · fc3: (H)", dc(x.swiglu), dc(x.fc1), dc(x.fc3), hidden),
        op(Kernel.MATMUL_FORWARD, "proj = swiglu · w2ᵀ: (H) -> (C)", dc(x.proj), dc(x.swiglu), p(w2[i]),
            new Arg.None(), one, hidden, dim),
        op(Kernel.RESIDUAL_FORWARD, "x = x2 + proj: (C)", dc(x.x), dc(x.x2), dc(x.proj), dim));
  }

  @Override
  Stage decodeHead() {
    DecodeActs x = decoded;
    return stage("decodeHead", "Final RMSNorm and the classifier.",
        op(Kernel.RMSNORM_FORWARD, "ln = rmsnorm(x): (C)", dc(x.ln), dc(x.rstd), dc(x.x), p(norm), one, dim),
        op(Kernel.MATMUL_FORWARD, "logits = ln · " + clsName() + "ᵀ: (C) -> (Vp)",
            dc(x.logits), dc(x.ln), p(cls), new Arg.None(), one, dim, padded));
  }

  /** One layer's activations. */
  private record LayerActs(Tensor ln1, Tensor ln1Rstd, Tensor q, Tensor k, Tensor v, Tensor qkv, Tensor atty,
      Tensor preatt, Tensor att, Tensor attproj, Tensor residual2, Tensor ln2, Tensor ln2Rstd, Tensor fc1,
      Tensor fc3, Tensor swiglu, Tensor fcproj, Tensor residual3) {}

  /** The one decoded position's activations. */
  private record DecodeActs(Tensor x, Tensor x2, Tensor ln, Tensor rstd, Tensor q, Tensor k, Tensor v, Tensor att,
      Tensor atty, Tensor proj, Tensor fc1, Tensor fc3, Tensor swiglu, Tensor logits) {}
}
