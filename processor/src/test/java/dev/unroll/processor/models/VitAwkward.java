package dev.unroll.processor.models;

import dev.unroll.Family;
import dev.unroll.Transformer;
import dev.unroll.runtime.ImageEncoder;

/** ViT, awkward: a 3-channel 10x6 grid in 2x3 patches (10 patches, 11 positions), 3 heads of 16. */
@Transformer(family = Family.VIT, channels = 3, height = 10, width = 6, patch = {2, 3}, dim = 48, heads = 3,
    layers = 2, batch = 2, classes = 5)
public interface VitAwkward extends ImageEncoder {}
