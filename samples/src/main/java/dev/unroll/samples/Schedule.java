package dev.unroll.samples;

/** Learning-rate schedules. */
final class Schedule {
  private Schedule() {}

  /**
   * nanoGPT's schedule: for the first {@code warmup} steps a linear ramp up to {@code peak}, then a cosine from
   * {@code peak} down to {@code peak / 10} at step {@code steps}.
   *
   * @param step the step about to be taken, from 0
   */
  static float cosine(int step, int steps, int warmup, float peak) {
    float min = peak / 10;
    if (step < warmup) {
      return peak * (step + 1) / (warmup + 1);
    }
    if (step >= steps) {
      return min;
    }
    double ratio = (double) (step - warmup) / (steps - warmup);
    return (float) (min + 0.5 * (1 + Math.cos(Math.PI * ratio)) * (peak - min));
  }
}
