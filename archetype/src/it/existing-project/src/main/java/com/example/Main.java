package com.example;

import dev.unroll.runtime.AdamW;
import dev.unroll.runtime.Backend;
import java.util.Locale;
import java.util.Random;

/**
 * Takes one training step of {@link Tiny} on the SIMD backend (so that the run needs the README's JVM flags) and
 * prints its loss, which at initialisation is close to ln(vocabulary): every token about equally likely.
 */
public final class Main {
  private Main() {}

  public static void main(String[] args) {
    Tiny model = UnrolledTiny.create(Backend.SIMD, 1);
    AdamW optimizer = AdamW.of(model);
    Random random = new Random(1);
    int[] inputs = new int[UnrolledTiny.TOKENS];
    int[] targets = new int[UnrolledTiny.TOKENS];
    for (int i = 0; i < UnrolledTiny.TOKENS; i++) {
      inputs[i] = random.nextInt(UnrolledTiny.VOCAB);
      targets[i] = random.nextInt(UnrolledTiny.VOCAB);
    }
    float loss = model.forward(inputs, targets);
    model.zeroGrad();
    model.backward();
    optimizer.step();
    System.out.printf(Locale.ROOT, "first loss %.4f (ln %d = %.4f)%n", loss, UnrolledTiny.VOCAB,
        Math.log(UnrolledTiny.VOCAB));
  }
}
