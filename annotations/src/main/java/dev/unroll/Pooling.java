package dev.unroll;

/** How an encoder makes one vector of a row's last hidden states (see {@link Transformer#pooling()}). */
public enum Pooling {
  /** The first position's: BERT's {@code [CLS]} token, ViT's class token. */
  FIRST,
  /** The mean over the row's positions (BERT: the first {@code length} ones): what sentence-embedding models use. */
  MEAN
}
