package dev.unroll.runtime.gpt2;

import dev.unroll.runtime.CausalLm;
import dev.unroll.runtime.family.ModelFamily;

/** GPT-2 as the runtime knows it: llm.c's layout and initialisation, Hugging Face's and llm.c's checkpoints. */
public final class Gpt2Family {
  /** The family, which generated GPT-2 classes call. */
  public static final ModelFamily<Gpt2Shape, CausalLm> FAMILY = new ModelFamily<>("GPT-2", Gpt2Layout::tensors,
      Gpt2Init::init, Gpt2Checkpoints::load, Gpt2Checkpoints::read,
      Gpt2Checkpoints::safetensors, Gpt2Reference::create);

  private Gpt2Family() {}
}
