package dev.unroll.processor.plan;

import java.util.List;

/** A run of ops emitted as one method (one layer's forward, say), so that no method grows past the JIT limit. */
public record Stage(String method, String doc, List<Op> ops) {
  public Stage {
    ops = List.copyOf(ops);
  }
}
