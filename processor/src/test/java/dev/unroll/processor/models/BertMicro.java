package dev.unroll.processor.models;

import dev.unroll.Family;
import dev.unroll.Transformer;
import dev.unroll.runtime.TextEncoder;

/** BERT, micro, without token types: small enough for finite differences of every tensor. */
@Transformer(family = Family.BERT, vocab = 11, context = 5, dim = 8, heads = 2, layers = 2, batch = 3, classes = 3,
    typeVocab = 0)
public interface BertMicro extends TextEncoder {}
