package dev.unroll.samples;

import dev.unroll.Family;
import dev.unroll.Pooling;
import dev.unroll.Transformer;
import dev.unroll.runtime.ImageEncoder;

/**
 * A small Vision Transformer for the UCI handwritten digits: an 8x8 grey image is cut into four 4x4 patches, each
 * projected to width 64, and a class token reads the ten digits off the last layer. Trained from scratch in under
 * a minute on two cores ({@link DigitsTask}): 97.5 to 98.3% of the held-out images right over six seeds, measured.
 * Patches of 2x2 (sixteen of them) cost three and a half times as much a step and were no more accurate (97.8% at
 * the default seed, against 98.3% for these).
 *
 * <p>Its embeddings ({@code embed}) are the mean of the last hidden states over all five positions, scaled to
 * unit length, so that a dot product of two is their cosine similarity: {@code Main --task neighbours} lists the
 * training images nearest to held-out ones. Neither setting changes the classifier, which reads the class token.
 *
 * <p>The Unroll processor turns this interface into {@code UnrolledDigitsModel}.
 */
@Transformer(family = Family.VIT, channels = 1, height = 8, width = 8, patch = 4, classes = 10, dim = 64,
    heads = 4, layers = 2, batch = 32, pooling = Pooling.MEAN, normalize = true)
public interface DigitsModel extends ImageEncoder {}
