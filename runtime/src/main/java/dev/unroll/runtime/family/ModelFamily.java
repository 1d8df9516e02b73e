package dev.unroll.runtime.family;

import dev.unroll.runtime.CausalLm;
import dev.unroll.runtime.ModelShape;
import dev.unroll.runtime.ParamTensor;
import dev.unroll.runtime.Parameters;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * What the runtime knows of one model family, in one place: its parameter layout, initialisation, checkpoint mapping
 * and scalar reference model. Each family's package ({@code dev.unroll.runtime.gpt2}, {@code dev.unroll.runtime.llama})
 * holds one instance as {@code FAMILY}; a generated class calls nothing else of its family, and the processor's
 * family registry names that instance, so a new family is one package here and one planner there.
 *
 * @param <S> the family's shape
 */
public interface ModelFamily<S extends ModelShape> {

  /** The family's name in messages and docs ("GPT-2", "Llama"). */
  String name();

  /** The parameter tensors of a model of shape {@code s}, in arena order, with their Hugging Face names. */
  List<ParamTensor> tensors(S s);

  /** Fills {@code p} with the family's initialisation; the same seed gives the same values. */
  void init(Parameters p, S s, long seed);

  /**
   * Reads the weights of {@code path} into {@code p}: safetensors with the family's Hugging Face names, or the
   * family's own checkpoint format, told apart by their first bytes.
   */
  void load(Parameters p, S s, Path path) throws IOException;

  /** Writes {@code p} as safetensors with the family's Hugging Face names, atomically. */
  void save(Parameters p, S s, Path path) throws IOException;

  /** The scalar reference model of shape {@code s}, initialised from {@code seed}: what generated code is tested against. */
  CausalLm reference(S s, long seed);
}
