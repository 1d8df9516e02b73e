package dev.unroll.runtime.vit;

import dev.unroll.runtime.ImageEncoder;
import dev.unroll.runtime.family.ModelFamily;

/** ViT as the runtime knows it: Hugging Face's {@code ViTForImageClassification} names, shapes and numbers. */
public final class VitFamily {
  /** The family, which generated ViT classes call. */
  public static final ModelFamily<VitShape, ImageEncoder> FAMILY = new ModelFamily<>("ViT", VitLayout::tensors,
      VitInit::init, VitCheckpoints::load, VitCheckpoints::safetensors, VitReference::create);

  private VitFamily() {}
}
