package dev.unroll.runtime.vit;

import dev.unroll.runtime.EncoderShape;

/**
 * The sizes of a ViT model at run time: what a {@code @Transformer(family = VIT)} annotation fixed. Generated ViT
 * classes expose theirs as {@code SHAPE}. Its context is the patches plus the class token; it has no vocabulary
 * ({@link #vocab()} and {@link #paddedVocab()} are 0).
 *
 * @param channels channels of an input grid (CH)
 * @param height rows of an input grid (H)
 * @param width columns of an input grid (W)
 * @param patchHeight rows of a patch (PH); divides height
 * @param patchWidth columns of a patch (PW); divides width
 * @param dim residual width (C)
 * @param heads attention heads (NH)
 * @param layers blocks (L)
 * @param batch grids per step (B)
 * @param hidden MLP hidden width (4·C by default)
 * @param classes classes of the head
 * @param meanPooling whether embeddings average a grid's positions (else the class token's)
 * @param normalize whether embeddings are scaled to unit length
 */
public record VitShape(int channels, int height, int width, int patchHeight, int patchWidth, int dim, int heads,
    int layers, int batch, int hidden, int classes, boolean meanPooling, boolean normalize)
    implements EncoderShape {

  public VitShape {
    if (channels <= 0 || height <= 0 || width <= 0 || patchHeight <= 0 || patchWidth <= 0 || dim <= 0 || heads <= 0
        || layers <= 0 || batch <= 0 || hidden <= 0) {
      throw new IllegalArgumentException("every size must be positive: " + this);
    }
    if (height % patchHeight != 0 || width % patchWidth != 0) {
      throw new IllegalArgumentException("patches " + patchHeight + "x" + patchWidth + " do not tile a " + height
          + "x" + width + " grid");
    }
    if (classes < 2) {
      throw new IllegalArgumentException("classes " + classes + ": a head needs at least 2");
    }
    if (dim % heads != 0) {
      throw new IllegalArgumentException("dim " + dim + " is not divisible by heads " + heads);
    }
  }

  /** Patches of a grid (NP). */
  public int patches() {
    return (height / patchHeight) * (width / patchWidth);
  }

  /** Floats of one patch, {@code channels * patchHeight * patchWidth} (K). */
  public int patchSize() {
    return channels * patchHeight * patchWidth;
  }

  /** Floats of one input grid. */
  public int pixels() {
    return channels * height * width;
  }

  /** The patches and the class token. */
  @Override
  public int context() {
    return patches() + 1;
  }

  /** None: ViT reads floats. */
  @Override
  public int vocab() {
    return 0;
  }

  /** None: ViT reads floats. */
  @Override
  public int paddedVocab() {
    return 0;
  }

  /** "image=3x10x6 patch=2x3 dim=48 heads=3 layers=2 batch=2 hidden=192 classes=5", for messages. */
  @Override
  public String describe() {
    return "image=" + channels + "x" + height + "x" + width + " patch=" + patchHeight + "x" + patchWidth + " dim="
        + dim + " heads=" + heads + " layers=" + layers + " batch=" + batch + " hidden=" + hidden + " classes="
        + classes;
  }
}
