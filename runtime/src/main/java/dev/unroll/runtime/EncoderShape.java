package dev.unroll.runtime;

/**
 * The shape of an encoder (BERT, ViT): a {@link ModelShape} with a classification head and a way of pooling a
 * row's last hidden states into one vector.
 */
public interface EncoderShape extends ModelShape {

  /** Classes of the classification head. */
  int classes();

  /** Whether {@link Encoder#embeddings} averages a row's positions; otherwise it takes the first position's. */
  boolean meanPooling();

  /** Whether {@link Encoder#embeddings} scales each row's vector to unit length (L2). */
  boolean normalize();
}
