package dev.unroll.processor.emit;

import dev.unroll.processor.plan.Plan;
import java.util.Locale;

/**
 * The memory a generated model holds, as the processor reports it at compile time: one javac note per model, so that
 * a user sees what a shape costs before running it.
 */
public final class Footprint {
  private Footprint() {}

  /**
   * "UnrolledTiny: parameters 7.7 kB, gradients 7.7 kB, AdamW moments 15.4 kB, activations 13.2 kB, activation
   * gradients 3.5 kB, KV cache 640 B, decode 624 B; training total 47.5 kB (llm.c's layout: 61.8 kB, this is 77%);
   * made for decoding only (createForDecoding, loadForDecoding) 9.0 kB". An encoder has no KV cache nor decode arena,
   * and is not made for decoding.
   */
  public static String note(Plan plan) {
    StringBuilder s = new StringBuilder(plan.spec().generatedName()).append(": parameters ")
        .append(bytes(plan.parameterBytes()))
        .append(", gradients ").append(bytes(plan.parameterBytes()))
        .append(", AdamW moments ").append(bytes(2 * plan.parameterBytes()))
        .append(", activations ").append(bytes(plan.activationBytes()))
        .append(", activation gradients ").append(bytes(plan.activationGradientBytes()));
    if (plan.encoding() == null) {
      s.append(", KV cache ").append(bytes(4L * plan.kvCount()))
          .append(", decode ").append(bytes(4L * plan.decodeCount()));
    }
    s.append("; training total ").append(bytes(plan.totalTrainingBytes()))
        .append(" (llm.c's layout: ").append(bytes(plan.mirroredTrainingBytes()))
        .append(String.format(Locale.ROOT, ", this is %.0f%%)",
            100.0 * plan.totalTrainingBytes() / plan.mirroredTrainingBytes()));
    if (plan.encoding() == null) {
      s.append("; made for decoding only (createForDecoding, loadForDecoding) ")
          .append(bytes(plan.parameterBytes() + plan.decodeBytes()));
    }
    return s.toString();
  }

  /** Bytes in decimal units with one decimal: "640 B", "7.7 kB", "2.3 GB". */
  static String bytes(long n) {
    String[] units = {"kB", "MB", "GB", "TB"};
    if (n < 1000) {
      return n + " B";
    }
    double v = n;
    int u = -1;
    while (v >= 999.95 && u < units.length - 1) {
      v /= 1000;
      u++;
    }
    return String.format(Locale.ROOT, "%.1f %s", v, units[u]);
  }
}
