package dev.unroll.processor.plan;

import dev.unroll.processor.kernel.Kernel;
import dev.unroll.processor.parse.ModelSpec;
import java.util.List;

/**
 * ViT: the grid cut into patches, each projected to {@code DIM} (the strided convolution as a GEMM), a class token
 * before them and position embeddings added; pre-LayerNorm blocks (the norms before attention and MLP), a final
 * LayerNorm and the classifier on the class token, as Hugging Face's {@code ViTForImageClassification} computes
 * them.
 */
final class VitPlanner extends EncoderPlanner {
  private final Arg.Size channels = dimension("CHANNELS", s.encoder().channels(), "Channels of a grid (channels).");
  private final Arg.Size height = dimension("HEIGHT", s.encoder().height(), "Rows of a grid (height).");
  private final Arg.Size width = dimension("WIDTH", s.encoder().width(), "Columns of a grid (width).");
  private final Arg.Size patchHeight = dimension("PATCH_HEIGHT", s.encoder().patchHeight(), "Rows of a patch.");
  private final Arg.Size patchWidth = dimension("PATCH_WIDTH", s.encoder().patchWidth(), "Columns of a patch.");
  private final Arg.Size patches = dimension("PATCHES", s.encoder().patches(),
      "Patches of a grid: (HEIGHT / PATCH_HEIGHT) * (WIDTH / PATCH_WIDTH); CONTEXT is one more.");
  private final Arg.Size patchSize = dimension("PATCH_SIZE", s.encoder().patchSize(),
      "Floats of a patch: CHANNELS * PATCH_HEIGHT * PATCH_WIDTH.");
  private final Arg.Size batchPatches = size("BATCH * PATCHES", (long) s.batch() * s.encoder().patches());

  // Parameters, in the runtime's VitLayout order (Hugging Face's names without "vit.").
  private Tensor cls;
  private Tensor position;
  private Tensor patchW;
  private Tensor patchB;
  private Tensor normW;
  private Tensor normB;
  private Tensor classW;
  private Tensor classB;

  // Activations: the patches, their projection and the embedded sequence; the layers'; the final norm.
  private Tensor cut;
  private Tensor projected;
  private Tensor embedded;
  private Tensor lnf;
  private Tensor lnfMean;
  private Tensor lnfRstd;

  VitPlanner(ModelSpec spec, Mode mode) {
    super(spec, mode);
    dimension("PIXELS", s.encoder().pixels(), "Floats of a grid: CHANNELS * HEIGHT * WIDTH.");
  }

  @Override
  Plan.RuntimeShape runtimeShape() {
    return new Plan.RuntimeShape(List.of("CHANNELS", "HEIGHT", "WIDTH", "PATCH_HEIGHT", "PATCH_WIDTH", "DIM",
        "HEADS", "LAYERS", "BATCH", "HIDDEN", "CLASSES", Boolean.toString(s.encoder().meanPooling()),
        Boolean.toString(s.encoder().normalize())), "The shape, for code that works with any model.");
  }

  @Override
  void layoutParameters() {
    long c = s.dim();
    cls = param("CLS", "embeddings.cls_token", dims(1, 1, c), names("1", "1", "C"));
    position = param("POSITION", "embeddings.position_embeddings", dims(1, s.context(), c), names("1", "T", "C"));
    patchW = param("PATCH_W", "embeddings.patch_embeddings.projection.weight", dims(c, s.encoder().channels(),
        s.encoder().patchHeight(), s.encoder().patchWidth()), names("C", "CH", "PH", "PW"));
    patchB = param("PATCH_B", "embeddings.patch_embeddings.projection.bias", dims(c), names("C"));
    blocks = perLayer(i -> {
      // in the checkpoints' order: the LayerNorm before attention, attention, the one after, the MLP
      Tensor[] norm1 = normParams(i, "NORM1", "layernorm_before");
      Tensor[] attention = attentionParams(i, "attention.attention.");
      Tensor[] norm2 = normParams(i, "NORM2", "layernorm_after");
      return block(norm1, attention, norm2, mlpParams(i));
    });
    normW = param("NORM_W", "layernorm.weight", dims(c), names("C"));
    normB = param("NORM_B", "layernorm.bias", dims(c), names("C"));
    classW = param("CLASS_W", "classifier.weight", dims(s.encoder().classes(), c), names("K", "C"));
    classB = param("CLASS_B", "classifier.bias", dims(s.encoder().classes()), names("K"));
  }

  @Override
  long tableParameters() {
    return (1L + s.context()) * s.dim();
  }

  @Override
  void layoutActivations() {
    long b = s.batch();
    long t = s.context();
    long c = s.dim();
    long np = s.encoder().patches();
    cut = act("PATCHES_CUT", dims(b, np, s.encoder().patchSize()), names("B", "NP", "K"));
    projected = act("PROJECTED", dims(b, np, c), names("B", "NP", "C"));
    embedded = act("EMBEDDED", dims(b, t, c), names("B", "T", "C"));
    layoutLayers();
    lnf = act("LNF", dims(b, t, c), names("B", "T", "C"));
    lnfMean = act("LNF_MEAN", dims(b, t), names("B", "T"));
    lnfRstd = act("LNF_RSTD", dims(b, t), names("B", "T"));
    layoutHead();
  }

  /** The residual stream entering layer {@code i}. */
  private Tensor input(int i) {
    return i == 0 ? embedded : blocks.get(i - 1).acts().res2();
  }

  @Override
  Tensor hidden() {
    return lnf;
  }

  @Override
  Stage forwardEmbedding() {
    return stage("forwardEmbedding", "Patches, their projection, the class token and the positions.",
        op(Kernel.PATCHES, "patches_cut = the grids' " + s.encoder().patchHeight() + "x" + s.encoder().patchWidth()
            + " patches: (B, CH, H, W) -> (B, NP, K)",
            a(cut), new Arg.Pixels(), batch, channels, height, width, patchHeight, patchWidth),
        op(Kernel.MATMUL_FORWARD, "projected = patches_cut · wpatchᵀ + bpatch (the strided convolution): (B, NP, K)"
            + " -> (B, NP, C)", a(projected), a(cut), p(patchW), p(patchB), batchPatches, patchSize, dim),
        op(Kernel.CLASS_TOKEN_FORWARD, "embedded = [cls; projected] + position: (B, T, C)",
            a(embedded), a(projected), p(cls), p(position), batch, patches, dim));
  }

  @Override
  Stage forwardLayer(int i) {
    Block w = blocks.get(i);
    LayerActs x = w.acts();
    Tensor in = input(i);
    return stage("forwardLayer" + i, "Block " + i + ": attention and MLP, each behind a LayerNorm.", ops(
        norm("norm1 = layernorm_before(in): (B, T, C)", x.norm1(), x.norm1Mean(), x.norm1Rstd(), in, w.norm1w(),
            w.norm1b()),
        attention(i, x.norm1()),
        op(Kernel.RESIDUAL_FORWARD, "res1 = in + attproj: (B, T, C)", a(x.res1()), a(in), a(x.attproj()),
            tokensDim),
        norm("norm2 = layernorm_after(res1): (B, T, C)", x.norm2(), x.norm2Mean(), x.norm2Rstd(), x.res1(),
            w.norm2w(), w.norm2b()),
        mlp(i, x.norm2()),
        op(Kernel.RESIDUAL_FORWARD, "res2 = res1 + fcproj: (B, T, C)", a(x.res2()), a(x.res1()), a(x.fcproj()),
            tokensDim)));
  }

  @Override
  Stage forwardHead() {
    return stage("forwardHead", "The final LayerNorm, the classifier on the class token and the softmax.", ops(
        norm("lnf = layernorm(in): (B, T, C)", lnf, lnfMean, lnfRstd, input(s.layers()), normW, normB),
        gatherFirst(lnf),
        classify(first, classW, classB)));
  }

  @Override
  Stage backwardHead() {
    return stage("backwardHead", "Loss, classifier and the final LayerNorm.", ops(
        classifyBackward(first, classW, classB),
        scatterFirst(lnf),
        normBackward("din, dnormw, dnormb from dlnf: (B, T, C)", lnf, lnfMean, lnfRstd, input(s.layers()), normW,
            normB)));
  }

  @Override
  Stage backwardLayer(int i) {
    Block w = blocks.get(i);
    LayerActs x = w.acts();
    Tensor in = input(i);
    return stage("backwardLayer" + i, "Block " + i + ", in reverse.", ops(
        op(Kernel.RESIDUAL_BACKWARD, "dres1, dfcproj from dres2: (B, T, C)", d(x.res1()), d(x.fcproj()),
            d(x.res2()), tokensDim),
        mlpBackward(i, x.norm2()),
        normBackward("dres1, dnorm2w, dnorm2b from dnorm2: (B, T, C)", x.norm2(), x.norm2Mean(), x.norm2Rstd(),
            x.res1(), w.norm2w(), w.norm2b()),
        op(Kernel.RESIDUAL_BACKWARD, "din, dattproj from dres1: (B, T, C)", d(in), d(x.attproj()), d(x.res1()),
            tokensDim),
        attentionBackward(i, x.norm1()),
        normBackward("din, dnorm1w, dnorm1b from dnorm1: (B, T, C)", x.norm1(), x.norm1Mean(), x.norm1Rstd(), in,
            w.norm1w(), w.norm1b())));
  }

  @Override
  Stage backwardEmbedding() {
    return stage("backwardEmbedding", "The class token, the positions and the patch projection.",
        op(Kernel.CLASS_TOKEN_BACKWARD, "dprojected, dcls, dposition from dembedded: (B, T, C)",
            d(projected), g(cls), g(position), d(embedded), batch, patches, dim),
        op(Kernel.MATMUL_BACKWARD, "dpatches_cut, dwpatch, dbpatch from dprojected: (B, NP, C) -> (B, NP, K)",
            d(cut), g(patchW), g(patchB), d(projected), a(cut), p(patchW), batchPatches, patchSize, dim));
  }
}
