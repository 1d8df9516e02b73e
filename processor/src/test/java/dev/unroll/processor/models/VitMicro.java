package dev.unroll.processor.models;

import dev.unroll.Family;
import dev.unroll.Pooling;
import dev.unroll.Transformer;
import dev.unroll.runtime.ImageEncoder;

/** ViT, micro: small enough for finite differences of every tensor; mean pooling. */
@Transformer(family = Family.VIT, channels = 2, height = 4, width = 6, patch = {2, 3}, dim = 8, heads = 2,
    layers = 2, batch = 3, classes = 3, pooling = Pooling.MEAN)
public interface VitMicro extends ImageEncoder {}
