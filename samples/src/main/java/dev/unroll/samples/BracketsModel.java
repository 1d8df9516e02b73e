package dev.unroll.samples;

import dev.unroll.Family;
import dev.unroll.Transformer;
import dev.unroll.runtime.TextEncoder;

/**
 * A small BERT that tells whether a string of brackets, {@code ()[]{}<>}, is balanced: a task that needs context
 * from both sides of a bracket, which is what bidirectional attention gives. Eleven tokens (padding, {@code [CLS]},
 * {@code [SEP]} and the eight brackets, see {@link Brackets}), no token types, strings of up to 16 brackets between
 * {@code [CLS]} and {@code [SEP]} (see {@link BracketsTask#MAX_PAIRS}); rows of different lengths share a batch,
 * padded to the context. Four layers: measured (12,000 steps, seed 1337), two layers reached 92% held-out accuracy
 * on strings of up to six pairs, four layers 96% on the task's eight.
 *
 * <p>The Unroll processor turns this interface into {@code UnrolledBracketsModel}. {@link BracketsTask} trains it.
 */
@Transformer(family = Family.BERT, vocab = Brackets.VOCAB, context = 20, typeVocab = 0, classes = 2, dim = 64,
    heads = 4, layers = 4, batch = 32)
public interface BracketsModel extends TextEncoder {}
