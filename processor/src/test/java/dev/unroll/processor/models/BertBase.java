package dev.unroll.processor.models;

import dev.unroll.Family;
import dev.unroll.Transformer;
import dev.unroll.runtime.TextEncoder;

/** BERT-base (110M) at its full context: compiled to check method sizes; never instantiated in CI. */
@Transformer(family = Family.BERT, vocab = 30522, context = 512, dim = 768, heads = 12, layers = 12, batch = 8,
    classes = 2)
public interface BertBase extends TextEncoder {}
