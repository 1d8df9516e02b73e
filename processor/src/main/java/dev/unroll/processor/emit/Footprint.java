package dev.unroll.processor.emit;

import com.palantir.javapoet.CodeBlock;
import dev.unroll.processor.kernel.Role;
import dev.unroll.processor.parse.ModelSpec;
import dev.unroll.processor.plan.Arena;
import dev.unroll.processor.plan.Arg;
import dev.unroll.processor.plan.GradientLayout;
import dev.unroll.processor.plan.Op;
import dev.unroll.processor.plan.Plan;
import dev.unroll.processor.plan.Stage;
import dev.unroll.processor.plan.Tensor;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The memory a generated model holds, as the processor reports it: one javac note per model at compile time, so that
 * a user sees what a shape costs before running it, and the memory map in the generated class's Javadoc.
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

  /**
   * The class Javadoc's memory map: every tensor with its shape, arena, offset and bytes, which tensors share
   * storage, then the arenas' totals.
   */
  static CodeBlock memoryMap(Plan plan) {
    CodeBlock.Builder doc = CodeBlock.builder();
    ModelSpec spec = plan.spec();
    doc.add("<h2>Memory map</h2>\n<pre>\n");
    doc.add(String.format(Locale.ROOT, "%-28s %-32s %-7s %12s %14s%n", "tensor", "shape", "arena", "offset",
        "bytes"));
    for (Tensor t : plan.parameters()) {
      doc.add(row(t.name(), t, "params"));
    }
    for (Tensor t : plan.activations()) {
      doc.add(row(t.constant().toLowerCase(Locale.ROOT), t, "acts"));
    }
    for (GradientLayout.Gradient g : plan.activationGradients()) {
      doc.add(row(g.tensor().constant().toLowerCase(Locale.ROOT), g.tensor(), "dacts"));
    }
    for (Tensor t : plan.kvCache()) {
      doc.add(row(t.constant().toLowerCase(Locale.ROOT), t, "kv"));
    }
    for (Tensor t : plan.decodeActivations()) {
      doc.add(row(t.constant().toLowerCase(Locale.ROOT), t, "dec"));
    }
    doc.add(spec.family().encoder() ? "grads mirrors params.\n" : "grads mirrors params; kv and dec serve decode().\n");
    sharedActivations(plan, doc);
    sharedGradients(plan, doc);
    doc.add(String.format(Locale.ROOT, "params %,d B, grads %,d B, AdamW moments %,d B, acts %,d B, dacts %,d B:"
        + " %,d B in all (llm.c's layout: %,d B)%n", plan.parameterBytes(), plan.parameterBytes(),
        2 * plan.parameterBytes(), plan.activationBytes(), plan.activationGradientBytes(), plan.totalTrainingBytes(),
        plan.mirroredTrainingBytes()));
    if (!spec.family().encoder()) {
      doc.add(String.format(Locale.ROOT, "decoding: kv %,d B, dec %,d B%n", 4L * plan.kvCount(),
          4L * plan.decodeCount()));
    }
    doc.add("</pre>\n");
    return doc.build();
  }

  /** The widest line of the memory map's prose, so that the generated source stays readable. */
  private static final int MAP_WIDTH = 110;

  /**
   * Which activation gradients share storage: dacts is laid out by liveness ({@code GradientLayout}), so each
   * gradient is listed with when it lives and its heirs: the gradients that next take some of its floats, all born in
   * one stage (theirs list their own heirs, so the list stays as long as the model, not its square).
   */
  private static void sharedGradients(Plan plan, CodeBlock.Builder doc) {
    doc.add("dacts is laid out by liveness: a gradient lives from the first backward op that touches it to the last,"
        + "\nis cleared right before the first, and leaves its floats to the gradients born after it (its heirs, in"
        + " the\nnext stage that reuses them):\n");
    List<GradientLayout.Gradient> all = plan.activationGradients();
    for (GradientLayout.Gradient g : all) {
      List<GradientLayout.Gradient> later = all.stream().filter(o -> o.first() > g.last() && o.overlaps(g)).toList();
      String next = later.stream().min(Comparator.comparingInt(GradientLayout.Gradient::first))
          .map(GradientLayout.Gradient::firstStage).orElse(null);
      List<String> heirs = later.stream().filter(o -> o.firstStage().equals(next))
          .map(o -> o.tensor().constant().toLowerCase(Locale.ROOT)).toList();
      StringBuilder line = new StringBuilder("  " + g.tensor().constant().toLowerCase(Locale.ROOT) + " (" + live(g)
          + ")" + (heirs.isEmpty() ? "" : " ->"));
      for (int i = 0; i < heirs.size(); i++) {
        String heir = " " + heirs.get(i) + (i < heirs.size() - 1 ? "," : "");
        if (line.length() - line.lastIndexOf("\n") + heir.length() > MAP_WIDTH) {
          line.append("\n     ");
        }
        line.append(heir);
      }
      doc.add("$L\n", line);
    }
  }

  /**
   * Which activations share storage: a layer's scratch ({@code PlanBuilder.layerScratch}) sits at the same floats in
   * every layer, either never read by backward or recomputed by backward before it reads it.
   */
  private static void sharedActivations(Plan plan, CodeBlock.Builder doc) {
    Map<Integer, List<Tensor>> byOffset = new LinkedHashMap<>();
    for (Tensor t : plan.activations()) {
      byOffset.computeIfAbsent(t.offset(), o -> new ArrayList<>()).add(t);
    }
    Set<Tensor> rewritten = new HashSet<>();
    for (Stage stage : plan.backward()) {
      for (Op op : stage.ops()) {
        for (int i = 0; i < op.args().size(); i++) {
          if (op.entry().roles().get(i).kind() == Role.Kind.OUTPUT && op.args().get(i) instanceof Arg.TensorRef r
              && r.arena() == Arena.ACTS) {
            rewritten.add(r.tensor());
          }
        }
      }
    }
    for (List<Tensor> group : byOffset.values()) {
      if (group.size() > 1) {
        doc.add("acts: $L..$L share one layer's floats ($L)\n", group.get(0).constant().toLowerCase(Locale.ROOT),
            group.get(group.size() - 1).constant().toLowerCase(Locale.ROOT),
            group.stream().anyMatch(rewritten::contains) ? "backward recomputes each before reading it"
                : "backward never reads them");
      }
    }
  }

  /** When a gradient lives: "backwardLayer1" or "backwardHead..backwardLayer1". */
  static String live(GradientLayout.Gradient g) {
    return g.firstStage().equals(g.lastStage()) ? g.firstStage() : g.firstStage() + ".." + g.lastStage();
  }

  private static String row(String name, Tensor t, String arena) {
    return String.format(Locale.ROOT, "%-28s %-32s %-7s %12d %14d%n", name, t.shapeDoc(), arena, t.offset(),
        4L * t.size());
  }
}
