package dev.unroll.runtime.bert;

import dev.unroll.runtime.TextEncoder;
import dev.unroll.runtime.family.ModelFamily;

/** BERT as the runtime knows it: Hugging Face's names, shapes, initialisation and safetensors. */
public final class BertFamily {
  /** The family, which generated BERT classes call. */
  public static final ModelFamily<BertShape, TextEncoder> FAMILY = new ModelFamily<>("BERT", BertLayout::tensors,
      BertInit::init, BertCheckpoints::load, BertCheckpoints::safetensors, BertReference::create);

  private BertFamily() {}
}
