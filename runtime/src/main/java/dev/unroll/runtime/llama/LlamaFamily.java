package dev.unroll.runtime.llama;

import dev.unroll.runtime.CausalLm;
import dev.unroll.runtime.family.ModelFamily;

/** Llama as the runtime knows it: llama2.c's layout and initialisation, Hugging Face's and llama2.c's checkpoints. */
public final class LlamaFamily {
  /** The family, which generated Llama classes call. */
  public static final ModelFamily<LlamaShape, CausalLm> FAMILY = new ModelFamily<>("Llama", LlamaLayout::tensors,
      LlamaInit::init, LlamaCheckpoints::load, LlamaCheckpoints::read,
      LlamaCheckpoints::safetensors, LlamaReference::create);

  private LlamaFamily() {}
}
