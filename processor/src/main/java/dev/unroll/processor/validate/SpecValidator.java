package dev.unroll.processor.validate;

import dev.unroll.Family;
import dev.unroll.processor.parse.ModelSpec;
import dev.unroll.processor.parse.TransformerDeclaration;
import dev.unroll.processor.plan.Families;
import dev.unroll.processor.plan.ArenaSizes;
import java.util.ArrayList;
import java.util.List;

/**
 * Checks a {@link ModelSpec} before anything is planned: every problem is reported, each on the attribute to
 * change, with what to do instead. An empty list means the spec can be planned and emitted.
 */
public final class SpecValidator {
  /** The most floats one Java array (one arena) can hold. */
  public static final long MAX_ARENA = Integer.MAX_VALUE - 8L;

  private SpecValidator() {}

  public static List<Problem> validate(ModelSpec spec) {
    List<Problem> problems = new ArrayList<>();
    if (Families.find(spec.family()).isEmpty()) {
      problems.add(new Problem("family", "family = " + spec.family() + " is not supported yet; GPT2, LLAMA, BERT"
          + " and VIT are"));
    }
    if (spec.platforms().isEmpty()) {
      problems.add(new Problem("platforms", "platforms lists no platform: a model must run somewhere; list"
          + " Platform.JAVA (the SCALAR and SIMD backends), Platform.OPENCL, or both (the default: remove the value)"));
    }
    if (spec.family() == Family.VIT) {
      vit(problems, spec);
    } else {
      positive(problems, "vocab", spec.vocab());
      positive(problems, "context", spec.context());
    }
    positive(problems, "dim", spec.dim());
    positive(problems, "heads", spec.heads());
    positive(problems, "layers", spec.layers());
    positive(problems, "batch", spec.batch());
    if (spec.dim() > 0) {
      positive(problems, "hidden", spec.hidden());
    }
    if (spec.dim() > 0 && spec.heads() > 0 && spec.dim() % spec.heads() != 0) {
      problems.add(new Problem("heads", "dim = " + spec.dim() + " is not divisible by heads = " + spec.heads()
          + ": choose heads among the divisors of " + spec.dim() + " (" + divisors(spec.dim()) + ")"));
    }
    if (spec.family().encoder()) {
      encoder(problems, spec);
    } else if (spec.encoding() != null) {
      problems.add(new Problem("family", String.join(", ", TransformerDeclaration.ENCODER_ATTRIBUTES)
          + " apply to the encoders (BERT, VIT) only; " + spec.family() + " is a decoder: remove them"));
    }
    if (spec.family() == Family.GPT2) {
      if (spec.kvHeads() != spec.heads()) {
        problems.add(new Problem("kvHeads", "kvHeads = " + spec.kvHeads() + " applies to LLAMA only: GPT2 has as"
            + " many key/value heads as heads; remove kvHeads"));
      }
      if (!spec.tiedClassifier()) {
        problems.add(new Problem("tiedEmbeddings", "GPT2 always ties its classifier to the token embedding;"
            + " remove tiedEmbeddings = false"));
      }
    } else if (spec.family() == Family.LLAMA) {
      positive(problems, "kvHeads", spec.kvHeads());
      if (spec.kvHeads() > 0 && spec.heads() > 0 && spec.heads() % spec.kvHeads() != 0) {
        problems.add(new Problem("kvHeads", "kvHeads = " + spec.kvHeads() + " does not divide heads = "
            + spec.heads() + ": grouped-query attention shares each key/value head among heads / kvHeads query"
            + " heads; choose kvHeads among the divisors of " + spec.heads() + " (" + divisors(spec.heads()) + ")"));
      }
      if (spec.dim() > 0 && spec.heads() > 0 && spec.dim() % spec.heads() == 0 && spec.headSize() % 2 != 0) {
        problems.add(new Problem("heads", "head size dim / heads = " + spec.dim() + " / " + spec.heads() + " = "
            + spec.headSize() + " is odd, but RoPE rotates pairs within each head: choose heads so that"
            + " dim / heads is even"));
      }
    }
    if (problems.isEmpty()) {
      ArenaSizes sizes = ArenaSizes.of(spec);
      if (sizes.parameters() > MAX_ARENA) {
        problems.add(new Problem("dim", "the parameter arena would hold " + sizes.parameters()
            + " floats, more than one Java array can index (" + MAX_ARENA + "): lower dim, hidden, layers or"
            + " vocab"));
      }
      if (sizes.activations() > MAX_ARENA) {
        problems.add(new Problem("batch", "the activation arena would hold " + sizes.activations()
            + " floats, more than one Java array can index (" + MAX_ARENA + "): lower batch or context"));
      }
    }
    return problems;
  }

  /** What BERT and VIT share: a head, and no decoder-only values. */
  private static void encoder(List<Problem> problems, ModelSpec spec) {
    ModelSpec.Encoding e = spec.encoder();
    if (e.classes() < 2) {
      problems.add(new Problem("classes", "classes = " + e.classes() + ": an encoder's classification head needs at"
          + " least 2 classes; set classes to the number of labels"));
    }
    if (spec.kvHeads() != spec.heads()) {
      problems.add(new Problem("kvHeads", "kvHeads = " + spec.kvHeads() + " applies to LLAMA only: "
          + spec.family() + " has as many key/value heads as heads; remove kvHeads"));
    }
    if (!spec.tiedClassifier()) {
      problems.add(new Problem("tiedEmbeddings", "tiedEmbeddings applies to LLAMA only: " + spec.family()
          + " classifies with a head of its own; remove tiedEmbeddings"));
    }
    if (spec.family() == Family.BERT && e.typeVocab() < 0) {
      problems.add(new Problem("typeVocab", "typeVocab = " + e.typeVocab() + " must be 0 (no token types) or"
          + " positive (BERT's own is 2)"));
    }
    if (spec.family() == Family.VIT && e.typeVocab() != 0) {
      problems.add(new Problem("typeVocab", "typeVocab applies to BERT only; remove it"));
    }
    if (spec.family() == Family.BERT) {
      for (String a : List.of("channels", "height", "width")) {
        int v = a.equals("channels") ? e.channels() : a.equals("height") ? e.height() : e.width();
        if (v != 0) {
          problems.add(new Problem(a, a + " applies to VIT only (BERT reads token ids); remove it"));
        }
      }
      if (e.patchHeight() != 0 || e.patchWidth() != 0) {
        problems.add(new Problem("patch", "patch applies to VIT only (BERT reads token ids); remove it"));
      }
    }
  }

  /** ViT's grid and patches; its context follows from them. */
  private static void vit(List<Problem> problems, ModelSpec spec) {
    ModelSpec.Encoding e = spec.encoder();
    if (spec.vocab() != 0) {
      problems.add(new Problem("vocab", "vocab = " + spec.vocab() + " applies to token models; VIT reads a grid of"
          + " floats: remove vocab"));
    }
    positive(problems, "channels", e.channels());
    positive(problems, "height", e.height());
    positive(problems, "width", e.width());
    if (e.patchHeight() <= 0 || e.patchWidth() <= 0) {
      problems.add(new Problem("patch", "patch must be one positive value (square patches, patch = 16) or two"
          + " (height and width, patch = {2, 3})"));
      return;
    }
    if (e.height() > 0 && e.height() % e.patchHeight() != 0) {
      problems.add(new Problem("patch", "patch height " + e.patchHeight() + " does not divide height = "
          + e.height() + ": patches must tile the grid; choose a patch height among the divisors of " + e.height()
          + " (" + divisors(e.height()) + ")"));
    }
    if (e.width() > 0 && e.width() % e.patchWidth() != 0) {
      problems.add(new Problem("patch", "patch width " + e.patchWidth() + " does not divide width = " + e.width()
          + ": patches must tile the grid; choose a patch width among the divisors of " + e.width() + " ("
          + divisors(e.width()) + ")"));
    }
    int patches = e.patches();
    if (patches > 0 && (long) patches + 1 != spec.context()) {
      problems.add(new Problem("context", "context = " + spec.context() + ", but a " + e.height() + "x" + e.width()
          + " grid in " + e.patchHeight() + "x" + e.patchWidth() + " patches makes " + patches + " patches and the"
          + " class token: " + (patches + 1L) + " positions; remove context (VIT derives it)"));
    }
    if (e.pixels() > MAX_ARENA) {
      problems.add(new Problem("height", "a grid of " + e.pixels() + " floats is more than one Java array can"
          + " hold; lower channels, height or width"));
    }
  }

  private static void positive(List<Problem> problems, String attribute, int value) {
    if (value <= 0) {
      problems.add(new Problem(attribute, attribute + " = " + value + " must be positive"));
    }
  }

  private static String divisors(int n) {
    StringBuilder s = new StringBuilder();
    int shown = 0;
    for (int d = 1; d <= n && shown < 8; d++) {
      if (n % d == 0) {
        s.append(shown++ == 0 ? "" : ", ").append(d);
      }
    }
    return shown == 8 && n > 8 ? s.append(", ...").toString() : s.toString();
  }
}
