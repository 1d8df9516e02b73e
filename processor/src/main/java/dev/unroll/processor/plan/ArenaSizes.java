package dev.unroll.processor.plan;

import dev.unroll.processor.parse.ModelSpec;

/**
 * The floats each arena needs, in saturating {@code long} arithmetic so that any spec, however large, can be
 * measured before it is planned. {@link Planner} lays the same tensors out; a test checks the two agree.
 *
 * @param parameters floats of the parameter arena (the gradient arena has the same size)
 * @param activations floats of the activation arena (the activation-gradient arena has the same size)
 */
public record ArenaSizes(long parameters, long activations) {

  public static ArenaSizes of(ModelSpec s) {
    return s.family() == dev.unroll.Family.LLAMA ? llama(s) : gpt2(s);
  }

  private static ArenaSizes llama(ModelSpec s) {
    long v = Planner.paddedVocab(s.vocab());
    long t = s.context();
    long c = s.dim();
    long h = s.hidden();
    long kv = mul(s.kvHeads(), c / s.heads());
    long bt = mul(s.batch(), t);
    // norms (2·C), wq and wo (2·C·C), wk and wv (2·KV·C), w1, w2, w3 (3·H·C).
    long perLayerParams = add(add(mul(2, c), mul(2, mul(c, c))), add(mul(2, mul(kv, c)), mul(3, mul(h, c))));
    long classifiers = s.tiedClassifier() ? 1 : 2;
    long params = add(add(mul(classifiers, mul(v, c)), c), mul(s.layers(), perLayerParams));
    long btc = mul(bt, c);
    long scores = mul(mul(s.batch(), s.heads()), mul(t, t));
    // ln1, q, atty, attproj, residual2, ln2, fcproj, residual3 and qkv's q part (9·BTC); k, v and qkv's k and v
    // parts (4·BT·KV); two rstd (2·BT); fc1, fc3, swiglu (3·BTH); preatt and att (2·B·NH·T·T).
    long perLayerActs = add(add(mul(9, btc), mul(4, mul(bt, kv))), add(add(mul(2, bt), mul(3, mul(bt, h))),
        mul(2, scores)));
    // encoded, lnf (2·BTC), lnf rstd and losses (2·BT), logits and probs (2·BT·Vp).
    long acts = add(add(mul(2, btc), mul(2, bt)), add(mul(2, mul(bt, v)), mul(s.layers(), perLayerActs)));
    return new ArenaSizes(params, acts);
  }

  private static ArenaSizes gpt2(ModelSpec s) {
    long v = Planner.paddedVocab(s.vocab());
    long t = s.context();
    long c = s.dim();
    long h = s.hidden();
    long bt = mul(s.batch(), t);
    long perLayerParams = add(add(mul(2, c), add(mul(3, mul(c, c)), mul(3, c))), add(add(mul(c, c), c),
        add(mul(2, c), add(add(mul(h, c), h), add(mul(c, h), c)))));
    long params = add(add(mul(v, c), mul(t, c)), add(mul(s.layers(), perLayerParams), mul(2, c)));
    long btc = mul(bt, c);
    long bth = mul(bt, h);
    long scores = mul(mul(s.batch(), s.heads()), mul(t, t));
    // ln1, qkv, atty, attproj, residual2, ln2, fcproj, residual3 (10·BTC); two LayerNorms' mean and rstd (4·BT);
    // fch and its GELU (2·BTH); preatt and att (2·B·NH·T·T).
    long perLayerActs = add(add(mul(10, btc), mul(4, bt)), add(mul(2, bth), mul(2, scores)));
    // encoded, lnf (2·BTC), lnf mean and rstd, losses (3·BT), logits and probs (2·BT·Vp).
    long acts = add(add(mul(2, btc), mul(3, bt)), add(mul(2, mul(bt, v)), mul(s.layers(), perLayerActs)));
    return new ArenaSizes(params, acts);
  }

  static long mul(long a, long b) {
    long hi = Math.multiplyHigh(a, b);
    long lo = a * b;
    return (hi == 0 && lo >= 0) ? lo : Long.MAX_VALUE;
  }

  static long add(long a, long b) {
    long r = a + b;
    return r < 0 ? Long.MAX_VALUE : r;
  }
}
