package dev.unroll.runtime.llama;

import dev.unroll.runtime.CausalLm;
import dev.unroll.runtime.ParamTensor;
import dev.unroll.runtime.Parameters;
import dev.unroll.runtime.family.ModelFamily;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/** Llama as the runtime knows it: llama2.c's layout and initialisation, Hugging Face's and llama2.c's checkpoints. */
public final class LlamaFamily implements ModelFamily<LlamaShape> {
  /** The one instance, which generated Llama classes call. */
  public static final LlamaFamily FAMILY = new LlamaFamily();

  private LlamaFamily() {}

  @Override
  public String name() {
    return "Llama";
  }

  @Override
  public List<ParamTensor> tensors(LlamaShape s) {
    return LlamaLayout.tensors(s);
  }

  @Override
  public void init(Parameters p, LlamaShape s, long seed) {
    LlamaInit.init(p, s, seed);
  }

  @Override
  public void load(Parameters p, LlamaShape s, Path path) throws IOException {
    LlamaCheckpoints.load(p, s, path);
  }

  @Override
  public void save(Parameters p, LlamaShape s, Path path) throws IOException {
    LlamaCheckpoints.saveSafetensors(p, s, path);
  }

  @Override
  public CausalLm reference(LlamaShape s, long seed) {
    return LlamaReference.create(s, seed);
  }
}
