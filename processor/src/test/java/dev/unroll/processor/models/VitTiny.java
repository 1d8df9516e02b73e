package dev.unroll.processor.models;

import dev.unroll.Family;
import dev.unroll.Transformer;
import dev.unroll.runtime.ImageEncoder;

/** ViT-Tiny/16 at 224x224 (197 positions): compiled to check method sizes; never instantiated in CI. */
@Transformer(family = Family.VIT, channels = 3, height = 224, width = 224, patch = 16, dim = 192, heads = 3,
    layers = 12, batch = 8, classes = 1000)
public interface VitTiny extends ImageEncoder {}
