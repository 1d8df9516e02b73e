package dev.unroll.runtime.bert;

import dev.unroll.runtime.EncoderShape;

/**
 * The sizes of a BERT model at run time: what a {@code @Transformer(family = BERT)} annotation fixed. Generated
 * BERT classes expose theirs as {@code SHAPE}.
 *
 * @param vocab distinct tokens (V); the word embedding has no padding rows (nothing multiplies by it)
 * @param context maximum sequence length (T): rows of the position embedding
 * @param dim residual width (C)
 * @param heads attention heads (NH)
 * @param layers blocks (L)
 * @param batch rows per step (B)
 * @param hidden MLP hidden width (4·C by default)
 * @param typeVocab token types of the token-type embedding; 0 for none
 * @param classes classes of the head
 * @param meanPooling whether embeddings average a row's positions (else its first)
 * @param normalize whether embeddings are scaled to unit length
 */
public record BertShape(int vocab, int context, int dim, int heads, int layers, int batch, int hidden,
    int typeVocab, int classes, boolean meanPooling, boolean normalize) implements EncoderShape {

  public BertShape {
    if (vocab <= 0 || context <= 0 || dim <= 0 || heads <= 0 || layers <= 0 || batch <= 0 || hidden <= 0) {
      throw new IllegalArgumentException("every size must be positive: " + this);
    }
    if (typeVocab < 0) {
      throw new IllegalArgumentException("typeVocab " + typeVocab + " must be 0 (none) or positive");
    }
    if (classes < 2) {
      throw new IllegalArgumentException("classes " + classes + ": a head needs at least 2");
    }
    if (dim % heads != 0) {
      throw new IllegalArgumentException("dim " + dim + " is not divisible by heads " + heads);
    }
  }

  /** The vocabulary itself: BERT pads nothing. */
  @Override
  public int paddedVocab() {
    return vocab;
  }

  /** "vocab=101 context=13 dim=48 heads=3 layers=2 batch=3 hidden=192 typeVocab=2 classes=3", for messages. */
  @Override
  public String describe() {
    return "vocab=" + vocab + " context=" + context + " dim=" + dim + " heads=" + heads + " layers=" + layers
        + " batch=" + batch + " hidden=" + hidden + " typeVocab=" + typeVocab + " classes=" + classes;
  }
}
