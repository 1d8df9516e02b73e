package dev.unroll.runtime.gpt2;

import dev.unroll.runtime.CausalLm;
import dev.unroll.runtime.ParamTensor;
import dev.unroll.runtime.Parameters;
import dev.unroll.runtime.family.ModelFamily;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/** GPT-2 as the runtime knows it: llm.c's layout and initialisation, Hugging Face's and llm.c's checkpoints. */
public final class Gpt2Family implements ModelFamily<Gpt2Shape> {
  /** The one instance, which generated GPT-2 classes call. */
  public static final Gpt2Family FAMILY = new Gpt2Family();

  private Gpt2Family() {}

  @Override
  public String name() {
    return "GPT-2";
  }

  @Override
  public List<ParamTensor> tensors(Gpt2Shape s) {
    return Gpt2Layout.tensors(s);
  }

  @Override
  public void init(Parameters p, Gpt2Shape s, long seed) {
    Gpt2Init.init(p, s, seed);
  }

  @Override
  public void load(Parameters p, Gpt2Shape s, Path path) throws IOException {
    Gpt2Checkpoints.load(p, s, path);
  }

  @Override
  public void save(Parameters p, Gpt2Shape s, Path path) throws IOException {
    Gpt2Checkpoints.saveSafetensors(p, s, path);
  }

  @Override
  public CausalLm reference(Gpt2Shape s, long seed) {
    return Gpt2Reference.create(s, seed);
  }
}
