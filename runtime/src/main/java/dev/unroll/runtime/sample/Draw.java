package dev.unroll.runtime.sample;

/**
 * What the random samplers share: the temperature of their softmax and the seeded generator of their coins (one
 * coin per call), checked and made once.
 */
final class Draw {
  final float temperature;
  final long seed;
  private final Rng rng;

  /** @throws IllegalArgumentException for a temperature that is not positive and finite */
  Draw(float temperature, long seed) {
    SamplingMath.checkTemperature(temperature);
    this.temperature = temperature;
    this.seed = seed;
    this.rng = new Rng(seed);
  }

  /** The next coin, in [0, 1). */
  float coin() {
    return rng.nextFloat();
  }
}
