package ${package};

import dev.unroll.Transformer;
import dev.unroll.runtime.CausalLm;

/**
 * A small GPT (minGPT's "gpt-nano": 3 layers, 3 heads, width 48) for minGPT's sort task: it reads six digits
 * from {0, 1, 2} and writes them back in ascending order. A training row is the six digits followed by the
 * sorted six minus the last, so the context is 11 and the vocabulary 3.
 *
 * <p>Compiling this interface makes the Unroll processor write {@code UnrolledSortModel}, which implements it
 * with every size below a compile-time constant, and (because of {@code benchmark = true})
 * {@code UnrolledSortModelBenchmark}, a JMH benchmark of it. Change a number and recompile for another model.
 */
@Transformer(vocab = 3, context = 11, dim = 48, heads = 3, layers = 3, batch = 64, benchmark = true)
public interface SortModel extends CausalLm {}
