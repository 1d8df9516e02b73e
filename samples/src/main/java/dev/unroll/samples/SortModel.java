package dev.unroll.samples;

import dev.unroll.Transformer;
import dev.unroll.runtime.CausalLm;

/**
 * minGPT's "gpt-nano" (3 layers, 3 heads, width 48) on its sort task: the model reads eight digits from
 * {0, 1, 2} and writes them back in ascending order. A training row is the eight digits followed by the sorted
 * eight, minus the last (nothing comes after it to predict): fifteen positions, three tokens.
 *
 * <p>minGPT sorts six digits (context 11), but there are only 3<sup>6</sup> = 729 such sequences, so a quarter
 * held out is under 200; with eight there are 6,561 and about 1,600 held out, enough to measure accuracy to a
 * tenth of a percent. {@link SortTask} works for any odd context.
 *
 * <p>The Unroll processor turns this interface into {@code UnrolledSortModel}, with every size below a
 * compile-time constant. {@link SortTask} trains it.
 */
@Transformer(vocab = 3, context = 15, dim = 48, heads = 3, layers = 3, batch = 64)
public interface SortModel extends CausalLm {}
