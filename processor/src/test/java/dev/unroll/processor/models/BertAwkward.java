package dev.unroll.processor.models;

import dev.unroll.Family;
import dev.unroll.Pooling;
import dev.unroll.Transformer;
import dev.unroll.runtime.TextEncoder;

/** BERT, awkward: vocab 101, context 13, 3 heads of 16, rows of lengths 13, 7 and 1; mean pooling, normalised. */
@Transformer(family = Family.BERT, vocab = 101, context = 13, dim = 48, heads = 3, layers = 2, batch = 3,
    classes = 3, pooling = Pooling.MEAN, normalize = true)
public interface BertAwkward extends TextEncoder {}
