package dev.unroll.processor.plan;

import dev.unroll.processor.parse.ModelSpec;
import java.util.ArrayList;
import java.util.List;

/**
 * Llama: lays out the arenas in llama2.c's weight order and writes down forward, backward and decode. q, k and v
 * come from three matmuls and are packed side by side for attention (so that grouped-query attention reads one
 * row per position); RoPE rotates the packed q and k in place, and rotates their gradients back.
 */
final class LlamaPlanner extends PlanBuilder {

  LlamaPlanner(ModelSpec spec) {
    super(spec);
  }

  @Override
  String layerName(int i, String suffix) {
    return "model.layers." + i + "." + suffix;
  }

  @Override
  Plan build() {
    int c = s.dim();
    int h = s.hidden();
    int l = s.layers();
    int t = s.context();
    int b = s.batch();
    int nh = s.heads();
    int hs = c / nh;
    int kvd = s.kvHeads() * hs;
    int width = c + 2 * kvd;
    // Parameters, in llama2.c's order.
    Tensor emb = param("EMB", "model.embed_tokens.weight", dims(vp, c), names("Vp", "C"));
    Tensor[] attnNorm = layerParams("ATTN_NORM", "input_layernorm.weight", dims(c), names("C"));
    Tensor[] wq = layerParams("WQ", "self_attn.q_proj.weight", dims(c, c), names("C", "C"));
    Tensor[] wk = layerParams("WK", "self_attn.k_proj.weight", dims(kvd, c), names("KV", "C"));
    Tensor[] wv = layerParams("WV", "self_attn.v_proj.weight", dims(kvd, c), names("KV", "C"));
    Tensor[] wo = layerParams("WO", "self_attn.o_proj.weight", dims(c, c), names("C", "C"));
    Tensor[] ffnNorm = layerParams("FFN_NORM", "post_attention_layernorm.weight", dims(c), names("C"));
    Tensor[] w1 = layerParams("W1", "mlp.gate_proj.weight", dims(h, c), names("H", "C"));
    Tensor[] w2 = layerParams("W2", "mlp.down_proj.weight", dims(c, h), names("C", "H"));
    Tensor[] w3 = layerParams("W3", "mlp.up_proj.weight", dims(h, c), names("H", "C"));
    Tensor norm = param("NORM", "model.norm.weight", dims(c), names("C"));
    Tensor cls = s.tiedClassifier() ? emb : param("CLS", "lm_head.weight", dims(vp, c), names("Vp", "C"));

    Tensor encoded = act("ENCODED", dims(b, t, c), names("B", "T", "C"));
    Layer[] la = new Layer[l];
    for (int i = 0; i < l; i++) {
      String p = "L" + i + "_";
      la[i] = new Layer(
          act(p + "LN1", dims(b, t, c), names("B", "T", "C")),
          act(p + "LN1_RSTD", dims(b, t), names("B", "T")),
          act(p + "Q", dims(b, t, c), names("B", "T", "C")),
          act(p + "K", dims(b, t, kvd), names("B", "T", "KV")),
          act(p + "V", dims(b, t, kvd), names("B", "T", "KV")),
          act(p + "QKV", dims(b, t, width), names("B", "T", "C+2*KV")),
          act(p + "ATTY", dims(b, t, c), names("B", "T", "C")),
          act(p + "PREATT", dims(b, nh, t, t), names("B", "NH", "T", "T")),
          act(p + "ATT", dims(b, nh, t, t), names("B", "NH", "T", "T")),
          act(p + "ATTPROJ", dims(b, t, c), names("B", "T", "C")),
          act(p + "RESIDUAL2", dims(b, t, c), names("B", "T", "C")),
          act(p + "LN2", dims(b, t, c), names("B", "T", "C")),
          act(p + "LN2_RSTD", dims(b, t), names("B", "T")),
          act(p + "FC1", dims(b, t, h), names("B", "T", "H")),
          act(p + "FC3", dims(b, t, h), names("B", "T", "H")),
          act(p + "SWIGLU", dims(b, t, h), names("B", "T", "H")),
          act(p + "FCPROJ", dims(b, t, c), names("B", "T", "C")),
          act(p + "RESIDUAL3", dims(b, t, c), names("B", "T", "C")));
    }
    Tensor lnf = act("LNF", dims(b, t, c), names("B", "T", "C"));
    Tensor lnfRstd = act("LNF_RSTD", dims(b, t), names("B", "T"));
    Tensor logits = act("LOGITS", dims(b, t, vp), names("B", "T", "Vp"));
    Tensor probs = act("PROBS", dims(b, t, vp), names("B", "T", "Vp"));
    act("LOSSES", dims(b, t), names("B", "T"));

    Arg.Size tokens = size("TOKENS", (long) b * t);
    Arg.Size dim = size("DIM", c);
    Arg.Size kvDim = size("KV_DIM", kvd);
    Arg.Size qkvWidth = size("QKV_WIDTH", width);
    Arg.Size hidden = size("HIDDEN", h);
    Arg.Size tokensDim = size("TOKENS * DIM", (long) b * t * c);
    Arg.Size tokensHidden = size("TOKENS * HIDDEN", (long) b * t * h);
    Arg.Size batch = size("BATCH", b);
    Arg.Size context = size("CONTEXT", t);
    Arg.Size heads = size("HEADS", nh);
    Arg.Size kvHeads = size("KV_HEADS", s.kvHeads());
    Arg.Size headSize = size("HEAD_SIZE", hs);
    Arg.Size vocab = size("VOCAB", s.vocab());
    Arg.Size padded = size("PADDED_VOCAB", vp);
    Arg.Size zero = size("0", 0);
    Arg.Size forwardSign = size("1", 1);
    Arg.Size backSign = size("-1", -1);

    List<Stage> forward = new ArrayList<>();
    forward.add(new Stage("forwardEmbedding", "Token embeddings (positions enter through RoPE).", List.of(
        op("embeddingForward", "encoded = emb[inputs]: (B, T, C)", a(encoded), new Arg.Inputs(), p(emb), tokens,
            dim))));
    for (int i = 0; i < l; i++) {
      Layer x = la[i];
      Tensor residual = i == 0 ? encoded : la[i - 1].residual3;
      forward.add(new Stage("forwardLayer" + i, "Block " + i + ": attention and SwiGLU MLP, each behind an"
          + " RMSNorm.", List.of(
              op("rmsnormForward", "ln1 = rmsnorm(residual): (B, T, C)",
                  a(x.ln1), a(x.ln1Rstd), a(residual), p(attnNorm[i]), tokens, dim),
              op("matmulForward", "q = ln1 · wqᵀ: (B, T, C) -> (B, T, C)",
                  a(x.q), a(x.ln1), p(wq[i]), new Arg.None(), tokens, dim, dim),
              op("matmulForward", "k = ln1 · wkᵀ: (B, T, C) -> (B, T, KV)",
                  a(x.k), a(x.ln1), p(wk[i]), new Arg.None(), tokens, dim, kvDim),
              op("matmulForward", "v = ln1 · wvᵀ: (B, T, C) -> (B, T, KV)",
                  a(x.v), a(x.ln1), p(wv[i]), new Arg.None(), tokens, dim, kvDim),
              op("copyRows", "qkv[..., :C] = q", a(x.qkv), qkvWidth, a(x.q), dim, tokens, dim),
              op("copyRows", "qkv[..., C:C+KV] = k",
                  new Arg.At(Arena.ACTS, x.qkv, "DIM"), qkvWidth, a(x.k), kvDim, tokens, kvDim),
              op("copyRows", "qkv[..., C+KV:] = v",
                  new Arg.At(Arena.ACTS, x.qkv, "DIM + KV_DIM"), qkvWidth, a(x.v), kvDim, tokens, kvDim),
              op("rope", "rotate q by position", a(x.qkv), tokens, qkvWidth, dim, headSize, context, zero,
                  forwardSign),
              op("rope", "rotate k by position", new Arg.At(Arena.ACTS, x.qkv, "DIM"), tokens, qkvWidth, kvDim,
                  headSize, context, zero, forwardSign),
              op("attentionForwardGqa", "atty = causal attention, " + nh + " query heads over " + s.kvHeads()
                  + " kv heads: (B, T, C+2*KV) -> (B, T, C)",
                  a(x.atty), a(x.preatt), a(x.att), a(x.qkv), batch, context, heads, kvHeads, headSize),
              op("matmulForward", "attproj = atty · woᵀ: (B, T, C) -> (B, T, C)",
                  a(x.attproj), a(x.atty), p(wo[i]), new Arg.None(), tokens, dim, dim),
              op("residualForward", "residual2 = residual + attproj: (B, T, C)",
                  a(x.residual2), a(residual), a(x.attproj), tokensDim),
              op("rmsnormForward", "ln2 = rmsnorm(residual2): (B, T, C)",
                  a(x.ln2), a(x.ln2Rstd), a(x.residual2), p(ffnNorm[i]), tokens, dim),
              op("matmulForward", "fc1 = ln2 · w1ᵀ (gate): (B, T, C) -> (B, T, H)",
                  a(x.fc1), a(x.ln2), p(w1[i]), new Arg.None(), tokens, dim, hidden),
              op("matmulForward", "fc3 = ln2 · w3ᵀ (up): (B, T, C) -> (B, T, H)",
                  a(x.fc3), a(x.ln2), p(w3[i]), new Arg.None(), tokens, dim, hidden),
              op("swigluForward", "swiglu = silu(fc1) · fc3: (B, T, H)",
                  a(x.swiglu), a(x.fc1), a(x.fc3), tokensHidden),
              op("matmulForward", "fcproj = swiglu · w2ᵀ (down): (B, T, H) -> (B, T, C)",
                  a(x.fcproj), a(x.swiglu), p(w2[i]), new Arg.None(), tokens, hidden, dim),
              op("residualForward", "residual3 = residual2 + fcproj: (B, T, C)",
                  a(x.residual3), a(x.residual2), a(x.fcproj), tokensDim))));
    }
    Tensor last = la[l - 1].residual3;
    String clsName = s.tiedClassifier() ? "emb" : "cls";
    forward.add(new Stage("forwardHead", "Final RMSNorm, the classifier and the softmax.", List.of(
        op("rmsnormForward", "lnf = rmsnorm(residual): (B, T, C)",
            a(lnf), a(lnfRstd), a(last), p(norm), tokens, dim),
        op("matmulForward", "logits = lnf · " + clsName + "ᵀ: (B, T, C) -> (B, T, Vp)",
            a(logits), a(lnf), p(cls), new Arg.None(), tokens, dim, padded),
        op("softmaxForward", "probs = softmax(logits[..., :V]): (B, T, Vp)",
            a(probs), a(logits), tokens, vocab, padded))));

    List<Stage> backward = new ArrayList<>();
    backward.add(new Stage("backwardHead", "Loss, classifier and final RMSNorm.", List.of(
        op("crossEntropySoftmaxBackward", "dlogits = (probs - onehot(targets)) / (B*T): (B, T, Vp)",
            d(logits), a(probs), new Arg.Targets(), tokens, vocab, padded),
        op("matmulBackward", "dlnf, d" + clsName + " from dlogits: (B, T, Vp) -> (B, T, C)",
            d(lnf), g(cls), new Arg.None(), d(logits), a(lnf), p(cls), tokens, dim, padded),
        op("rmsnormBackward", "dresidual, dnorm from dlnf: (B, T, C)",
            d(last), g(norm), d(lnf), a(last), p(norm), a(lnfRstd), tokens, dim))));
    for (int i = l - 1; i >= 0; i--) {
      Layer x = la[i];
      Tensor residual = i == 0 ? encoded : la[i - 1].residual3;
      backward.add(new Stage("backwardLayer" + i, "Block " + i + ", in reverse.", List.of(
          op("residualBackward", "dresidual2, dfcproj from dresidual3: (B, T, C)",
              d(x.residual2), d(x.fcproj), d(x.residual3), tokensDim),
          op("matmulBackward", "dswiglu, dw2 from dfcproj: (B, T, C) -> (B, T, H)",
              d(x.swiglu), g(w2[i]), new Arg.None(), d(x.fcproj), a(x.swiglu), p(w2[i]), tokens, hidden, dim),
          op("swigluBackward", "dfc1, dfc3 from dswiglu: (B, T, H)",
              d(x.fc1), d(x.fc3), d(x.swiglu), a(x.fc1), a(x.fc3), tokensHidden),
          op("matmulBackward", "dln2, dw1 from dfc1: (B, T, H) -> (B, T, C)",
              d(x.ln2), g(w1[i]), new Arg.None(), d(x.fc1), a(x.ln2), p(w1[i]), tokens, dim, hidden),
          op("matmulBackward", "dln2, dw3 from dfc3: (B, T, H) -> (B, T, C)",
              d(x.ln2), g(w3[i]), new Arg.None(), d(x.fc3), a(x.ln2), p(w3[i]), tokens, dim, hidden),
          op("rmsnormBackward", "dresidual2, dffn_norm from dln2: (B, T, C)",
              d(x.residual2), g(ffnNorm[i]), d(x.ln2), a(x.residual2), p(ffnNorm[i]), a(x.ln2Rstd), tokens, dim),
          op("residualBackward", "dresidual, dattproj from dresidual2: (B, T, C)",
              d(residual), d(x.attproj), d(x.residual2), tokensDim),
          op("matmulBackward", "datty, dwo from dattproj: (B, T, C) -> (B, T, C)",
              d(x.atty), g(wo[i]), new Arg.None(), d(x.attproj), a(x.atty), p(wo[i]), tokens, dim, dim),
          op("attentionBackwardGqa", "dqkv from datty, through the softmax: (B, T, C) -> (B, T, C+2*KV)",
              d(x.qkv), d(x.preatt), d(x.att), d(x.atty), a(x.qkv), a(x.att), batch, context, heads, kvHeads,
              headSize),
          op("rope", "rotate dq back", d(x.qkv), tokens, qkvWidth, dim, headSize, context, zero, backSign),
          op("rope", "rotate dk back", new Arg.At(Arena.DACTS, x.qkv, "DIM"), tokens, qkvWidth, kvDim,
              headSize, context, zero, backSign),
          op("copyRows", "dq = dqkv[..., :C]", d(x.q), dim, d(x.qkv), qkvWidth, tokens, dim),
          op("copyRows", "dk = dqkv[..., C:C+KV]",
              d(x.k), kvDim, new Arg.At(Arena.DACTS, x.qkv, "DIM"), qkvWidth, tokens, kvDim),
          op("copyRows", "dv = dqkv[..., C+KV:]",
              d(x.v), kvDim, new Arg.At(Arena.DACTS, x.qkv, "DIM + KV_DIM"), qkvWidth, tokens, kvDim),
          op("matmulBackward", "dln1, dwq from dq: (B, T, C) -> (B, T, C)",
              d(x.ln1), g(wq[i]), new Arg.None(), d(x.q), a(x.ln1), p(wq[i]), tokens, dim, dim),
          op("matmulBackward", "dln1, dwk from dk: (B, T, KV) -> (B, T, C)",
              d(x.ln1), g(wk[i]), new Arg.None(), d(x.k), a(x.ln1), p(wk[i]), tokens, dim, kvDim),
          op("matmulBackward", "dln1, dwv from dv: (B, T, KV) -> (B, T, C)",
              d(x.ln1), g(wv[i]), new Arg.None(), d(x.v), a(x.ln1), p(wv[i]), tokens, dim, kvDim),
          op("rmsnormBackward", "dresidual, dattn_norm from dln1: (B, T, C)",
              d(residual), g(attnNorm[i]), d(x.ln1), a(residual), p(attnNorm[i]), a(x.ln1Rstd), tokens, dim))));
    }
    backward.add(new Stage("backwardEmbedding", "Token embeddings.", List.of(
        op("embeddingBackward", "demb[inputs] += dencoded: (B, T, C)",
            g(emb), d(encoded), new Arg.Inputs(), tokens, dim))));

    // Decode: one position against the KV cache.
    Tensor[] kCache = new Tensor[l];
    Tensor[] vCache = new Tensor[l];
    for (int i = 0; i < l; i++) {
      kCache[i] = cache("L" + i + "_KCACHE", dims(t, kvd), names("T", "KV"));
      vCache[i] = cache("L" + i + "_VCACHE", dims(t, kvd), names("T", "KV"));
    }
    Tensor x = decodeAct("X", dims(c), names("C"));
    Tensor x2 = decodeAct("X2", dims(c), names("C"));
    Tensor ln = decodeAct("LN", dims(c), names("C"));
    Tensor rstd = decodeAct("RSTD", dims(1), names("1"));
    Tensor q = decodeAct("Q", dims(c), names("C"));
    Tensor k = decodeAct("K", dims(kvd), names("KV"));
    Tensor v = decodeAct("V", dims(kvd), names("KV"));
    Tensor att = decodeAct("ATT", dims(nh, t), names("NH", "T"));
    Tensor atty = decodeAct("ATTY", dims(c), names("C"));
    Tensor proj = decodeAct("PROJ", dims(c), names("C"));
    Tensor fc1 = decodeAct("FC1", dims(h), names("H"));
    Tensor fc3 = decodeAct("FC3", dims(h), names("H"));
    Tensor swiglu = decodeAct("SWIGLU", dims(h), names("H"));
    Tensor decLogits = decodeAct("LOGITS", dims(vp), names("Vp"));
    Arg.Size one = size("1", 1);
    Arg.Size pos = size("pos", -1);
    List<Stage> decode = new ArrayList<>();
    decode.add(new Stage("decodeEmbedding", "x = emb[token].", List.of(
        op("copy", "x = emb[token]: (C)", dc(x), new Arg.Row(Arena.PARAMS, emb, "token", "DIM"), dim))));
    for (int i = 0; i < l; i++) {
      decode.add(new Stage("decodeLayer" + i, "Block " + i + " at one position; appends its key and value to the"
          + " cache.", List.of(
              op("rmsnormForward", "ln = rmsnorm(x): (C)", dc(ln), dc(rstd), dc(x), p(attnNorm[i]), one, dim),
              op("matmulForward", "q = ln · wqᵀ: (C) -> (C)", dc(q), dc(ln), p(wq[i]), new Arg.None(), one, dim,
                  dim),
              op("matmulForward", "k = ln · wkᵀ: (C) -> (KV)", dc(k), dc(ln), p(wk[i]), new Arg.None(), one, dim,
                  kvDim),
              op("matmulForward", "v = ln · wvᵀ: (C) -> (KV)", dc(v), dc(ln), p(wv[i]), new Arg.None(), one, dim,
                  kvDim),
              op("rope", "rotate q to position pos", dc(q), one, dim, dim, headSize, context, pos, forwardSign),
              op("rope", "rotate k to position pos", dc(k), one, kvDim, kvDim, headSize, context, pos,
                  forwardSign),
              op("copy", "kcache[pos] = k: (KV)", new Arg.Row(Arena.KV, kCache[i], "pos", "KV_DIM"), dc(k), kvDim),
              op("copy", "vcache[pos] = v: (KV)", new Arg.Row(Arena.KV, vCache[i], "pos", "KV_DIM"), dc(v), kvDim),
              op("attentionDecode", "atty = attention of q over positions 0..pos: (C)",
                  dc(atty), dc(att), dc(q), kvRef(kCache[i]), kvRef(vCache[i]), pos, context, heads, kvHeads,
                  headSize),
              op("matmulForward", "proj = atty · woᵀ: (C) -> (C)", dc(proj), dc(atty), p(wo[i]), new Arg.None(),
                  one, dim, dim),
              op("residualForward", "x2 = x + proj: (C)", dc(x2), dc(x), dc(proj), dim),
              op("rmsnormForward", "ln = rmsnorm(x2): (C)", dc(ln), dc(rstd), dc(x2), p(ffnNorm[i]), one, dim),
              op("matmulForward", "fc1 = ln · w1ᵀ: (C) -> (H)", dc(fc1), dc(ln), p(w1[i]), new Arg.None(), one,
                  dim, hidden),
              op("matmulForward", "fc3 = ln · w3ᵀ: (C) -> (H)", dc(fc3), dc(ln), p(w3[i]), new Arg.None(), one,
                  dim, hidden),
              op("swigluForward", "swiglu = silu(fc1) · fc3: (H)", dc(swiglu), dc(fc1), dc(fc3), hidden),
              op("matmulForward", "proj = swiglu · w2ᵀ: (H) -> (C)", dc(proj), dc(swiglu), p(w2[i]),
                  new Arg.None(), one, hidden, dim),
              op("residualForward", "x = x2 + proj: (C)", dc(x), dc(x2), dc(proj), dim))));
    }
    decode.add(new Stage("decodeHead", "Final RMSNorm and the classifier.", List.of(
        op("rmsnormForward", "ln = rmsnorm(x): (C)", dc(ln), dc(rstd), dc(x), p(norm), one, dim),
        op("matmulForward", "logits = ln · " + clsName + "ᵀ: (C) -> (Vp)",
            dc(decLogits), dc(ln), p(cls), new Arg.None(), one, dim, padded))));
    return plan(forward, backward, decode);
  }

  private record Layer(Tensor ln1, Tensor ln1Rstd, Tensor q, Tensor k, Tensor v, Tensor qkv, Tensor atty,
      Tensor preatt, Tensor att, Tensor attproj, Tensor residual2, Tensor ln2, Tensor ln2Rstd, Tensor fc1,
      Tensor fc3, Tensor swiglu, Tensor fcproj, Tensor residual3) {}
}
