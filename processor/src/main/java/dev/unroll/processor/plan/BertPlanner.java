package dev.unroll.processor.plan;

import dev.unroll.processor.kernel.Kernel;
import dev.unroll.processor.parse.ModelSpec;
import java.util.ArrayList;
import java.util.List;

/**
 * BERT: word, position and token-type embeddings under a LayerNorm, post-LayerNorm blocks (the norms after each
 * residual sum), a tanh pooler on the first token and the classifier on it, as Hugging Face's
 * {@code BertForSequenceClassification} computes them.
 */
final class BertPlanner extends EncoderPlanner {
  private final int typeVocab = s.encoder().typeVocab();

  {
    dimension("TYPE_VOCAB", typeVocab, "Token types (typeVocab); 0 for none.");
  }

  // Parameters, in the runtime's BertLayout order (Hugging Face's names without "bert.").
  private Tensor word;
  private Tensor position;
  private Tensor tokenType;
  private Tensor embNormW;
  private Tensor embNormB;
  private Tensor poolW;
  private Tensor poolB;
  private Tensor classW;
  private Tensor classB;

  // Activations: the embedding sums and their norm, the layers', the pooler's.
  private Tensor wordPos;
  private Tensor typeEmb;
  private Tensor embSum;
  private Tensor embedded;
  private Tensor embMean;
  private Tensor embRstd;
  private Tensor pooledPre;
  private Tensor pooled;

  BertPlanner(ModelSpec spec, Mode mode) {
    super(spec, mode);
  }

  @Override
  Plan.RuntimeShape runtimeShape() {
    return new Plan.RuntimeShape(List.of("VOCAB", "CONTEXT", "DIM", "HEADS", "LAYERS", "BATCH", "HIDDEN",
        "TYPE_VOCAB", "CLASSES", Boolean.toString(s.encoder().meanPooling()),
        Boolean.toString(s.encoder().normalize())), "The shape, for code that works with any model.");
  }

  @Override
  void layoutParameters() {
    long c = s.dim();
    word = param("WORD", "embeddings.word_embeddings.weight", dims(s.vocab(), c), names("V", "C"));
    position = param("POSITION", "embeddings.position_embeddings.weight", dims(s.context(), c), names("T", "C"));
    if (typeVocab > 0) {
      tokenType = param("TOKEN_TYPE", "embeddings.token_type_embeddings.weight", dims(typeVocab, c),
          names("TV", "C"));
    }
    embNormW = param("EMB_NORM_W", "embeddings.LayerNorm.weight", dims(c), names("C"));
    embNormB = param("EMB_NORM_B", "embeddings.LayerNorm.bias", dims(c), names("C"));
    blocks = perLayer(i -> {
      // in the checkpoints' order: attention, its LayerNorm, the MLP, its LayerNorm
      Tensor[] attention = attentionParams(i, "attention.self.");
      Tensor[] norm1 = normParams(i, "NORM1", "attention.output.LayerNorm");
      Tensor[] mlp = mlpParams(i);
      return block(norm1, attention, normParams(i, "NORM2", "output.LayerNorm"), mlp);
    });
    poolW = param("POOL_W", "pooler.dense.weight", dims(c, c), names("C", "C"));
    poolB = param("POOL_B", "pooler.dense.bias", dims(c), names("C"));
    classW = param("CLASS_W", "classifier.weight", dims(s.encoder().classes(), c), names("K", "C"));
    classB = param("CLASS_B", "classifier.bias", dims(s.encoder().classes()), names("K"));
  }

  @Override
  long tableParameters() {
    return ((long) s.vocab() + s.context() + typeVocab) * s.dim();
  }

  @Override
  void layoutActivations() {
    long b = s.batch();
    long t = s.context();
    long c = s.dim();
    wordPos = act("WORD_POS", dims(b, t, c), names("B", "T", "C"));
    if (typeVocab > 0) {
      typeEmb = act("TYPE_EMB", dims(b, t, c), names("B", "T", "C"));
      embSum = act("EMB_SUM", dims(b, t, c), names("B", "T", "C"));
    } else {
      embSum = wordPos;
    }
    embedded = act("EMBEDDED", dims(b, t, c), names("B", "T", "C"));
    embMean = act("EMB_MEAN", dims(b, t), names("B", "T"));
    embRstd = act("EMB_RSTD", dims(b, t), names("B", "T"));
    layoutLayers();
    layoutHead();
  }

  @Override
  void layoutPooler() {
    pooledPre = act("POOLED_PRE", dims(s.batch(), s.dim()), names("B", "C"));
    pooled = act("POOLED", dims(s.batch(), s.dim()), names("B", "C"));
  }

  /** The hidden states entering layer {@code i}: the embeddings' norm, then each layer's output norm. */
  private Tensor input(int i) {
    return i == 0 ? embedded : blocks.get(i - 1).acts().norm2();
  }

  @Override
  Tensor hidden() {
    return input(s.layers());
  }

  @Override
  Stage forwardEmbedding() {
    List<Op> ops = new ArrayList<>();
    ops.add(op(Kernel.ENCODER_FORWARD, "word_pos = word[tokens] + position: (B, T, C)",
        a(wordPos), new Arg.Inputs(), p(word), p(position), batch, context, dim));
    if (typeVocab > 0) {
      ops.add(op(Kernel.EMBEDDING_FORWARD, "type_emb = token_type[types]: (B, T, C)",
          a(typeEmb), new Arg.Types(), p(tokenType), tokens, dim));
      ops.add(op(Kernel.RESIDUAL_FORWARD, "emb_sum = word_pos + type_emb: (B, T, C)",
          a(embSum), a(wordPos), a(typeEmb), tokensDim));
    }
    ops.add(norm("embedded = layernorm(emb_sum): (B, T, C)", embedded, embMean, embRstd, embSum, embNormW,
        embNormB));
    return new Stage("forwardEmbedding", "Word, position" + (typeVocab > 0 ? " and token-type" : "")
        + " embeddings, and their LayerNorm.", ops);
  }

  @Override
  Stage forwardLayer(int i) {
    Block w = blocks.get(i);
    LayerActs x = w.acts();
    Tensor in = input(i);
    return stage("forwardLayer" + i, "Block " + i + ": attention and MLP, each followed by a LayerNorm of its"
        + " residual sum.", ops(
        attention(i, in),
        op(Kernel.RESIDUAL_FORWARD, "res1 = in + attproj: (B, T, C)", a(x.res1()), a(in), a(x.attproj()),
            tokensDim),
        norm("norm1 = layernorm(res1): (B, T, C)", x.norm1(), x.norm1Mean(), x.norm1Rstd(), x.res1(), w.norm1w(),
            w.norm1b()),
        mlp(i, x.norm1()),
        op(Kernel.RESIDUAL_FORWARD, "res2 = norm1 + fcproj: (B, T, C)", a(x.res2()), a(x.norm1()),
            a(x.fcproj()), tokensDim),
        norm("norm2 = layernorm(res2): (B, T, C)", x.norm2(), x.norm2Mean(), x.norm2Rstd(), x.res2(), w.norm2w(),
            w.norm2b())));
  }

  @Override
  Stage forwardHead() {
    return stage("forwardHead", "The pooler on each row's first token, the classifier and the softmax.", ops(
        gatherFirst(hidden()),
        op(Kernel.MATMUL_FORWARD, "pooled_pre = first · wpᵀ + bp: (B, C) -> (B, C)",
            a(pooledPre), a(first), p(poolW), p(poolB), batch, dim, dim),
        op(Kernel.TANH_FORWARD, "pooled = tanh(pooled_pre): (B, C)", a(pooled), a(pooledPre), batchDim),
        classify(pooled, classW, classB)));
  }

  @Override
  Stage backwardHead() {
    return stage("backwardHead", "Loss, classifier and pooler.", ops(
        classifyBackward(pooled, classW, classB),
        op(Kernel.TANH_BACKWARD, "dpooled_pre from dpooled: (B, C)", d(pooledPre), a(pooled), d(pooled), batchDim),
        op(Kernel.MATMUL_BACKWARD, "dfirst, dwp, dbp from dpooled_pre: (B, C) -> (B, C)",
            d(first), g(poolW), g(poolB), d(pooledPre), a(first), p(poolW), batch, dim, dim),
        scatterFirst(hidden())));
  }

  @Override
  Stage backwardLayer(int i) {
    Block w = blocks.get(i);
    LayerActs x = w.acts();
    Tensor in = input(i);
    return stage("backwardLayer" + i, "Block " + i + ", in reverse.", ops(
        normBackward("dres2, dnorm2w, dnorm2b from dnorm2: (B, T, C)", x.norm2(), x.norm2Mean(), x.norm2Rstd(),
            x.res2(), w.norm2w(), w.norm2b()),
        op(Kernel.RESIDUAL_BACKWARD, "dnorm1, dfcproj from dres2: (B, T, C)", d(x.norm1()), d(x.fcproj()),
            d(x.res2()), tokensDim),
        mlpBackward(i, x.norm1()),
        normBackward("dres1, dnorm1w, dnorm1b from dnorm1: (B, T, C)", x.norm1(), x.norm1Mean(), x.norm1Rstd(),
            x.res1(), w.norm1w(), w.norm1b()),
        op(Kernel.RESIDUAL_BACKWARD, "din, dattproj from dres1: (B, T, C)", d(in), d(x.attproj()), d(x.res1()),
            tokensDim),
        attentionBackward(i, in)));
  }

  @Override
  Stage backwardEmbedding() {
    List<Op> ops = new ArrayList<>();
    ops.add(normBackward("demb_sum, dnormw, dnormb from dembedded: (B, T, C)", embedded, embMean, embRstd, embSum,
        embNormW, embNormB));
    if (typeVocab > 0) {
      ops.add(op(Kernel.RESIDUAL_BACKWARD, "dword_pos, dtype_emb from demb_sum: (B, T, C)",
          d(wordPos), d(typeEmb), d(embSum), tokensDim));
      ops.add(op(Kernel.EMBEDDING_BACKWARD, "dtoken_type[types] += dtype_emb: (B, T, C)",
          g(tokenType), d(typeEmb), new Arg.Types(), tokens, dim));
    }
    ops.add(op(Kernel.ENCODER_BACKWARD, "dword[tokens] += dword_pos; dposition += dword_pos: (B, T, C)",
        g(word), g(position), d(wordPos), new Arg.Inputs(), batch, context, dim));
    return new Stage("backwardEmbedding", "The embeddings and their LayerNorm.", ops);
  }
}
