package dev.unroll.processor.plan;

import dev.unroll.processor.parse.ModelSpec;
import java.util.ArrayList;
import java.util.List;

/**
 * GPT-2: lays out the arenas and writes down the kernel calls of forward, backward and decode in llm.c's order.
 */
final class Gpt2Planner extends PlanBuilder {

  Gpt2Planner(ModelSpec spec) {
    super(spec);
  }

  @Override
  String layerName(int i, String suffix) {
    return "h." + i + "." + suffix;
  }

  @Override
  Plan build() {
    int c = s.dim();
    int h = s.hidden();
    int l = s.layers();
    int t = s.context();
    // Parameters, in llm.c's order: one block per kind, each holding that kind for every layer.
    Tensor wte = param("WTE", "wte.weight", dims(vp, c), names("Vp", "C"));
    Tensor wpe = param("WPE", "wpe.weight", dims(t, c), names("T", "C"));
    Tensor[] ln1w = layerParams("LN1W", "ln_1.weight", dims(c), names("C"));
    Tensor[] ln1b = layerParams("LN1B", "ln_1.bias", dims(c), names("C"));
    Tensor[] qkvw = layerParams("QKVW", "attn.c_attn.weight", dims(3 * c, c), names("3*C", "C"));
    Tensor[] qkvb = layerParams("QKVB", "attn.c_attn.bias", dims(3 * c), names("3*C"));
    Tensor[] attprojw = layerParams("ATTPROJW", "attn.c_proj.weight", dims(c, c), names("C", "C"));
    Tensor[] attprojb = layerParams("ATTPROJB", "attn.c_proj.bias", dims(c), names("C"));
    Tensor[] ln2w = layerParams("LN2W", "ln_2.weight", dims(c), names("C"));
    Tensor[] ln2b = layerParams("LN2B", "ln_2.bias", dims(c), names("C"));
    Tensor[] fcw = layerParams("FCW", "mlp.c_fc.weight", dims(h, c), names("H", "C"));
    Tensor[] fcb = layerParams("FCB", "mlp.c_fc.bias", dims(h), names("H"));
    Tensor[] fcprojw = layerParams("FCPROJW", "mlp.c_proj.weight", dims(c, h), names("C", "H"));
    Tensor[] fcprojb = layerParams("FCPROJB", "mlp.c_proj.bias", dims(c), names("C"));
    Tensor lnfw = param("LNFW", "ln_f.weight", dims(c), names("C"));
    Tensor lnfb = param("LNFB", "ln_f.bias", dims(c), names("C"));

    // Activations, layer by layer, so that one layer's tensors sit together.
    int b = s.batch();
    int nh = s.heads();
    Tensor encoded = act("ENCODED", dims(b, t, c), names("B", "T", "C"));
    LayerActs[] la = new LayerActs[l];
    for (int i = 0; i < l; i++) {
      String p = "L" + i + "_";
      la[i] = new LayerActs(
          act(p + "LN1", dims(b, t, c), names("B", "T", "C")),
          act(p + "LN1_MEAN", dims(b, t), names("B", "T")),
          act(p + "LN1_RSTD", dims(b, t), names("B", "T")),
          act(p + "QKV", dims(b, t, 3 * c), names("B", "T", "3*C")),
          act(p + "ATTY", dims(b, t, c), names("B", "T", "C")),
          act(p + "PREATT", dims(b, nh, t, t), names("B", "NH", "T", "T")),
          act(p + "ATT", dims(b, nh, t, t), names("B", "NH", "T", "T")),
          act(p + "ATTPROJ", dims(b, t, c), names("B", "T", "C")),
          act(p + "RESIDUAL2", dims(b, t, c), names("B", "T", "C")),
          act(p + "LN2", dims(b, t, c), names("B", "T", "C")),
          act(p + "LN2_MEAN", dims(b, t), names("B", "T")),
          act(p + "LN2_RSTD", dims(b, t), names("B", "T")),
          act(p + "FCH", dims(b, t, h), names("B", "T", "H")),
          act(p + "FCH_GELU", dims(b, t, h), names("B", "T", "H")),
          act(p + "FCPROJ", dims(b, t, c), names("B", "T", "C")),
          act(p + "RESIDUAL3", dims(b, t, c), names("B", "T", "C")));
    }
    Tensor lnf = act("LNF", dims(b, t, c), names("B", "T", "C"));
    Tensor lnfMean = act("LNF_MEAN", dims(b, t), names("B", "T"));
    Tensor lnfRstd = act("LNF_RSTD", dims(b, t), names("B", "T"));
    Tensor logits = act("LOGITS", dims(b, t, vp), names("B", "T", "Vp"));
    Tensor probs = act("PROBS", dims(b, t, vp), names("B", "T", "Vp"));
    Tensor losses = act("LOSSES", dims(b, t), names("B", "T"));

    Arg.Size tokens = size("TOKENS", (long) b * t);
    Arg.Size dim = size("DIM", c);
    Arg.Size hidden = size("HIDDEN", h);
    Arg.Size dim3 = size("3 * DIM", 3L * c);
    Arg.Size tokensDim = size("TOKENS * DIM", (long) b * t * c);
    Arg.Size tokensHidden = size("TOKENS * HIDDEN", (long) b * t * h);
    Arg.Size batch = size("BATCH", b);
    Arg.Size context = size("CONTEXT", t);
    Arg.Size heads = size("HEADS", nh);
    Arg.Size vocab = size("VOCAB", s.vocab());
    Arg.Size padded = size("PADDED_VOCAB", vp);

    // Forward.
    List<Stage> forward = new ArrayList<>();
    forward.add(new Stage("forwardEmbedding", "Token and position embeddings.", List.of(
        op("encoderForward", "encoded = wte[inputs] + wpe: (B, T, C)",
            a(encoded), new Arg.Inputs(), p(wte), p(wpe), batch, context, dim))));
    for (int i = 0; i < l; i++) {
      LayerActs x = la[i];
      Tensor residual = i == 0 ? encoded : la[i - 1].residual3;
      forward.add(new Stage("forwardLayer" + i, "Block " + i + ": attention and MLP, each behind a LayerNorm.",
          List.of(
              op("layernormForward", "ln1 = layernorm(residual): (B, T, C)",
                  a(x.ln1), a(x.ln1Mean), a(x.ln1Rstd), a(residual), p(ln1w[i]), p(ln1b[i]), tokens, dim),
              op("matmulForward", "qkv = ln1 · qkvwᵀ + qkvb: (B, T, C) -> (B, T, 3*C)",
                  a(x.qkv), a(x.ln1), p(qkvw[i]), p(qkvb[i]), tokens, dim, dim3),
              op("attentionForward", "atty = causal attention over " + nh + " heads: (B, T, 3*C) -> (B, T, C)",
                  a(x.atty), a(x.preatt), a(x.att), a(x.qkv), batch, context, dim, heads),
              op("matmulForward", "attproj = atty · attprojwᵀ + attprojb: (B, T, C) -> (B, T, C)",
                  a(x.attproj), a(x.atty), p(attprojw[i]), p(attprojb[i]), tokens, dim, dim),
              op("residualForward", "residual2 = residual + attproj: (B, T, C)",
                  a(x.residual2), a(residual), a(x.attproj), tokensDim),
              op("layernormForward", "ln2 = layernorm(residual2): (B, T, C)",
                  a(x.ln2), a(x.ln2Mean), a(x.ln2Rstd), a(x.residual2), p(ln2w[i]), p(ln2b[i]), tokens, dim),
              op("matmulForward", "fch = ln2 · fcwᵀ + fcb: (B, T, C) -> (B, T, H)",
                  a(x.fch), a(x.ln2), p(fcw[i]), p(fcb[i]), tokens, dim, hidden),
              op("geluForward", "fch_gelu = gelu(fch): (B, T, H)",
                  a(x.fchGelu), a(x.fch), tokensHidden),
              op("matmulForward", "fcproj = fch_gelu · fcprojwᵀ + fcprojb: (B, T, H) -> (B, T, C)",
                  a(x.fcproj), a(x.fchGelu), p(fcprojw[i]), p(fcprojb[i]), tokens, hidden, dim),
              op("residualForward", "residual3 = residual2 + fcproj: (B, T, C)",
                  a(x.residual3), a(x.residual2), a(x.fcproj), tokensDim))));
    }
    Tensor last = la[l - 1].residual3;
    forward.add(new Stage("forwardHead", "Final LayerNorm, the classifier tied to wte, and the softmax.", List.of(
        op("layernormForward", "lnf = layernorm(residual): (B, T, C)",
            a(lnf), a(lnfMean), a(lnfRstd), a(last), p(lnfw), p(lnfb), tokens, dim),
        op("matmulForward", "logits = lnf · wteᵀ: (B, T, C) -> (B, T, Vp)",
            a(logits), a(lnf), p(wte), new Arg.None(), tokens, dim, padded),
        op("softmaxForward", "probs = softmax(logits[..., :V]): (B, T, Vp)",
            a(probs), a(logits), tokens, vocab, padded))));

    // Backward: the forward in reverse, each op's gradient accumulated into its inputs' gradients.
    List<Stage> backward = new ArrayList<>();
    backward.add(new Stage("backwardHead", "Loss, classifier and final LayerNorm.", List.of(
        op("crossEntropySoftmaxBackward", "dlogits = (probs - onehot(targets)) / (B*T): (B, T, Vp)",
            d(logits), a(probs), new Arg.Targets(), tokens, vocab, padded),
        op("matmulBackward", "dlnf, dwte from dlogits: (B, T, Vp) -> (B, T, C)",
            d(lnf), g(wte), new Arg.None(), d(logits), a(lnf), p(wte), tokens, dim, padded),
        op("layernormBackward", "dresidual, dlnfw, dlnfb from dlnf: (B, T, C)",
            d(last), g(lnfw), g(lnfb), d(lnf), a(last), p(lnfw), a(lnfMean), a(lnfRstd), tokens, dim))));
    for (int i = l - 1; i >= 0; i--) {
      LayerActs x = la[i];
      Tensor residual = i == 0 ? encoded : la[i - 1].residual3;
      backward.add(new Stage("backwardLayer" + i, "Block " + i + ", in reverse.", List.of(
          op("residualBackward", "dresidual2, dfcproj from dresidual3: (B, T, C)",
              d(x.residual2), d(x.fcproj), d(x.residual3), tokensDim),
          op("matmulBackward", "dfch_gelu, dfcprojw, dfcprojb from dfcproj: (B, T, C) -> (B, T, H)",
              d(x.fchGelu), g(fcprojw[i]), g(fcprojb[i]), d(x.fcproj), a(x.fchGelu), p(fcprojw[i]), tokens,
              hidden, dim),
          op("geluBackward", "dfch from dfch_gelu: (B, T, H)",
              d(x.fch), a(x.fch), d(x.fchGelu), tokensHidden),
          op("matmulBackward", "dln2, dfcw, dfcb from dfch: (B, T, H) -> (B, T, C)",
              d(x.ln2), g(fcw[i]), g(fcb[i]), d(x.fch), a(x.ln2), p(fcw[i]), tokens, dim, hidden),
          op("layernormBackward", "dresidual2, dln2w, dln2b from dln2: (B, T, C)",
              d(x.residual2), g(ln2w[i]), g(ln2b[i]), d(x.ln2), a(x.residual2), p(ln2w[i]), a(x.ln2Mean),
              a(x.ln2Rstd), tokens, dim),
          op("residualBackward", "dresidual, dattproj from dresidual2: (B, T, C)",
              d(residual), d(x.attproj), d(x.residual2), tokensDim),
          op("matmulBackward", "datty, dattprojw, dattprojb from dattproj: (B, T, C) -> (B, T, C)",
              d(x.atty), g(attprojw[i]), g(attprojb[i]), d(x.attproj), a(x.atty), p(attprojw[i]), tokens, dim,
              dim),
          op("attentionBackward", "dqkv from datty, through the softmax: (B, T, C) -> (B, T, 3*C)",
              d(x.qkv), d(x.preatt), d(x.att), d(x.atty), a(x.qkv), a(x.att), batch, context, dim, heads),
          op("matmulBackward", "dln1, dqkvw, dqkvb from dqkv: (B, T, 3*C) -> (B, T, C)",
              d(x.ln1), g(qkvw[i]), g(qkvb[i]), d(x.qkv), a(x.ln1), p(qkvw[i]), tokens, dim, dim3),
          op("layernormBackward", "dresidual, dln1w, dln1b from dln1: (B, T, C)",
              d(residual), g(ln1w[i]), g(ln1b[i]), d(x.ln1), a(residual), p(ln1w[i]), a(x.ln1Mean),
              a(x.ln1Rstd), tokens, dim))));
    }
    backward.add(new Stage("backwardEmbedding", "Token and position embeddings.", List.of(
        op("encoderBackward", "dwte[inputs] += dencoded; dwpe += dencoded: (B, T, C)",
            g(wte), g(wpe), d(encoded), new Arg.Inputs(), batch, context, dim))));

    // Decode: one position against the KV cache, through the same parameters.
    Tensor[] kCache = new Tensor[l];
    Tensor[] vCache = new Tensor[l];
    for (int i = 0; i < l; i++) {
      kCache[i] = cache("L" + i + "_KCACHE", dims(t, c), names("T", "C"));
      vCache[i] = cache("L" + i + "_VCACHE", dims(t, c), names("T", "C"));
    }
    Tensor x = decodeAct("X", dims(c), names("C"));
    Tensor x2 = decodeAct("X2", dims(c), names("C"));
    Tensor ln = decodeAct("LN", dims(c), names("C"));
    Tensor lnMean = decodeAct("LN_MEAN", dims(1), names("1"));
    Tensor lnRstd = decodeAct("LN_RSTD", dims(1), names("1"));
    Tensor qkv = decodeAct("QKV", dims(3 * c), names("3*C"));
    Tensor att = decodeAct("ATT", dims(nh, t), names("NH", "T"));
    Tensor atty = decodeAct("ATTY", dims(c), names("C"));
    Tensor proj = decodeAct("PROJ", dims(c), names("C"));
    Tensor fch = decodeAct("FCH", dims(h), names("H"));
    Tensor fchGelu = decodeAct("FCH_GELU", dims(h), names("H"));
    Tensor decLogits = decodeAct("LOGITS", dims(vp), names("Vp"));
    Arg.Size one = size("1", 1);
    Arg.Size pos = size("pos", -1);
    Arg.Size headSize = size("HEAD_SIZE", c / nh);
    List<Stage> decode = new ArrayList<>();
    decode.add(new Stage("decodeEmbedding", "x = wte[token] + wpe[pos].", List.of(
        op("residualForward", "x = wte[token] + wpe[pos]: (C)",
            dc(x), new Arg.Row(Arena.PARAMS, wte, "token", "DIM"), new Arg.Row(Arena.PARAMS, wpe, "pos", "DIM"),
            dim))));
    for (int i = 0; i < l; i++) {
      decode.add(new Stage("decodeLayer" + i, "Block " + i + " at one position; appends its key and value to the"
          + " cache.", List.of(
              op("layernormForward", "ln = layernorm(x): (C)",
                  dc(ln), dc(lnMean), dc(lnRstd), dc(x), p(ln1w[i]), p(ln1b[i]), one, dim),
              op("matmulForward", "qkv = ln · qkvwᵀ + qkvb: (C) -> (3*C)",
                  dc(qkv), dc(ln), p(qkvw[i]), p(qkvb[i]), one, dim, dim3),
              op("copy", "kcache[pos] = k: (C)",
                  new Arg.Row(Arena.KV, kCache[i], "pos", "DIM"), new Arg.Row(Arena.DEC, qkv, "1", "DIM"), dim),
              op("copy", "vcache[pos] = v: (C)",
                  new Arg.Row(Arena.KV, vCache[i], "pos", "DIM"), new Arg.Row(Arena.DEC, qkv, "2", "DIM"), dim),
              op("attentionDecode", "atty = attention of q over positions 0..pos: (C)",
                  dc(atty), dc(att), dc(qkv), kvRef(kCache[i]), kvRef(vCache[i]), pos, context, heads, heads,
                  headSize),
              op("matmulForward", "proj = atty · attprojwᵀ + attprojb: (C) -> (C)",
                  dc(proj), dc(atty), p(attprojw[i]), p(attprojb[i]), one, dim, dim),
              op("residualForward", "x2 = x + proj: (C)", dc(x2), dc(x), dc(proj), dim),
              op("layernormForward", "ln = layernorm(x2): (C)",
                  dc(ln), dc(lnMean), dc(lnRstd), dc(x2), p(ln2w[i]), p(ln2b[i]), one, dim),
              op("matmulForward", "fch = ln · fcwᵀ + fcb: (C) -> (H)",
                  dc(fch), dc(ln), p(fcw[i]), p(fcb[i]), one, dim, hidden),
              op("geluForward", "fch_gelu = gelu(fch): (H)", dc(fchGelu), dc(fch), hidden),
              op("matmulForward", "proj = fch_gelu · fcprojwᵀ + fcprojb: (H) -> (C)",
                  dc(proj), dc(fchGelu), p(fcprojw[i]), p(fcprojb[i]), one, hidden, dim),
              op("residualForward", "x = x2 + proj: (C)", dc(x), dc(x2), dc(proj), dim))));
    }
    decode.add(new Stage("decodeHead", "Final LayerNorm and the classifier.", List.of(
        op("layernormForward", "ln = layernorm(x): (C)",
            dc(ln), dc(lnMean), dc(lnRstd), dc(x), p(lnfw), p(lnfb), one, dim),
        op("matmulForward", "logits = ln · wteᵀ: (C) -> (Vp)",
            dc(decLogits), dc(ln), p(wte), new Arg.None(), one, dim, padded))));

    return plan(forward, backward, decode);
  }

  private record LayerActs(Tensor ln1, Tensor ln1Mean, Tensor ln1Rstd, Tensor qkv, Tensor atty, Tensor preatt,
      Tensor att, Tensor attproj, Tensor residual2, Tensor ln2, Tensor ln2Mean, Tensor ln2Rstd, Tensor fch,
      Tensor fchGelu, Tensor fcproj, Tensor residual3) {}

}
