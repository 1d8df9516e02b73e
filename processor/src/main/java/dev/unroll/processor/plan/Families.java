package dev.unroll.processor.plan;

import dev.unroll.Family;
import dev.unroll.processor.parse.ModelSpec;
import java.util.EnumMap;
import java.util.Map;
import java.util.Optional;

/**
 * The registry of families: for each {@link Family} the processor compiles, its planner and the runtime half it
 * links with. This is the one place a family is named; the writers and the validator ask here instead of pasting
 * class names together. A new family adds one entry (see ARCHITECTURE.md for the files behind it).
 */
public final class Families {

  /**
   * One family.
   *
   * @param family the annotation's value
   * @param displayName the family's name in messages and generated docs ("GPT-2")
   * @param runtimeFamily the runtime's {@code ModelFamily} of this family, by binary name: a class holding the
   *     instance as {@code FAMILY}
   * @param runtimeShape the runtime record of this family's shape, by binary name
   * @param reference what the family's numerics follow, for generated docs ("llm.c", "llama2.c")
   * @param checkpointFormat the family's own checkpoint files, for generated docs ("llm.c GPT-2")
   * @param planner makes the family's planner: its layout is the one statement of the family's arenas, which plans
   *     a valid spec and sizes any
   */
  public record Entry(Family family, String displayName, String runtimeFamily, String runtimeShape, String reference,
      String checkpointFormat, PlanBuilder.Factory planner) {

    /** The plan of a valid spec of this family. */
    public Plan plan(ModelSpec spec) {
      return planner.create(spec, PlanBuilder.Mode.PLAN).build();
    }

    /** The arena sizes of any spec of this family, however large: its layout, counted without being placed. */
    public ArenaSizes sizes(ModelSpec spec) {
      return planner.create(spec, PlanBuilder.Mode.SIZE).sizes();
    }
  }

  private static final Map<Family, Entry> ENTRIES = new EnumMap<>(Family.class);

  static {
    add(new Entry(Family.GPT2, "GPT-2", "dev.unroll.runtime.gpt2.Gpt2Family", "dev.unroll.runtime.gpt2.Gpt2Shape",
        "llm.c", "llm.c GPT-2", Gpt2Planner::new));
    add(new Entry(Family.LLAMA, "Llama", "dev.unroll.runtime.llama.LlamaFamily",
        "dev.unroll.runtime.llama.LlamaShape", "llama2.c", "llama2.c", LlamaPlanner::new));
    add(new Entry(Family.BERT, "BERT", "dev.unroll.runtime.bert.BertFamily", "dev.unroll.runtime.bert.BertShape",
        "Hugging Face's BertModel", "Hugging Face BERT", BertPlanner::new));
    add(new Entry(Family.VIT, "ViT", "dev.unroll.runtime.vit.VitFamily", "dev.unroll.runtime.vit.VitShape",
        "Hugging Face's ViTModel", "Hugging Face ViT", VitPlanner::new));
  }

  private Families() {}

  private static void add(Entry entry) {
    ENTRIES.put(entry.family(), entry);
  }

  /** The entry of {@code family}, or empty for a family the processor cannot compile yet. */
  public static Optional<Entry> find(Family family) {
    return Optional.ofNullable(ENTRIES.get(family));
  }

  /**
   * The entry of {@code family}.
   *
   * @throws IllegalArgumentException for a family with no entry (the validator refuses such specs first)
   */
  public static Entry of(Family family) {
    return find(family).orElseThrow(() -> new IllegalArgumentException("no planner for family " + family));
  }

  /** Every registered family, in the enum's order. */
  public static Iterable<Entry> all() {
    return ENTRIES.values();
  }
}
